// Presets: every built-in preset loads and builds, text and file round trips are exact,
// unknown fields warn and survive saving, every bad preset is rejected with the JSON path of
// each problem, and saving is atomic.
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "engine/experiment.hpp"
#include "io/preset.hpp"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

using itslab::Error;
using nlohmann::json;

namespace {

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

json default_json() {
  return json::parse(itslab::builtin_preset_text("default"));
}

// The message parse_checked_preset gives, or "" when the text is accepted.
std::string error_of(const std::string& text) {
  try {
    itslab::parse_checked_preset(text, "test");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool has(const std::vector<std::string>& v, const std::string& needle) {
  return std::any_of(v.begin(), v.end(),
                     [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

const json kGmmIso = json::parse(R"({
  "weights": [0.25, 0.75],
  "means": [[-1.0, 0.0], [1.0, 0.5]],
  "stds": [0.3, 0.5],
  "labels": [0, 1]
})");

const json kGmmCov = json::parse(R"({
  "weights": [1, 1],
  "means": [[-1.0, 0.0], [1.0, 0.5]],
  "covariances": [ [[1.0, 0.2], [0.2, 0.5]], [[0.3, 0.0], [0.0, 0.3]] ]
})");

} // namespace

class TestPreset : public QObject {
  Q_OBJECT

private slots:
  void builtins_parse_and_build();
  void text_round_trip_is_exact();
  void file_round_trip();
  void unknown_fields_warn_and_survive();
  void inline_gmm();
  void inline_gmm_not_positive_definite();
  void bad_presets_data();
  void bad_presets();
  void nan_is_not_json();
  void truncated_file();
  void several_problems_listed();
  void particle_methods_round_trip();
  void save_into_unwritable_path();
  void save_failure_keeps_old_file();
};

void TestPreset::builtins_parse_and_build() {
  const auto ids = itslab::builtin_preset_ids();
  QVERIFY(std::find(ids.begin(), ids.end(), "default") != ids.end());
  // Every resources/presets/*.json file is built in.
  const QDir dir(QDir::cleanPath(QStringLiteral(ITSLAB_TEST_DATA "/../../resources/presets")));
  const QStringList files = dir.entryList({"*.json"}, QDir::Files);
  QVERIFY2(!files.isEmpty(), qPrintable(dir.path()));
  QCOMPARE(ids.size(), static_cast<size_t>(files.size()));
  for (const std::string& id : ids) {
    QVERIFY2(files.contains(QString::fromStdString(id) + ".json"), id.c_str());
    itslab::PresetLoad l;
    try {
      l = itslab::parse_checked_preset(itslab::builtin_preset_text(id), id);
      const itslab::Experiment e = itslab::build_experiment(l.preset);
      QVERIFY2((e.mixture || e.network) && e.process, id.c_str());
      QVERIFY2(e.grid.steps() >= 1, id.c_str());
      QVERIFY2(l.preset.model_class < e.model().num_classes(), id.c_str());
    } catch (const Error& e) {
      QFAIL((id + ": " + e.what()).c_str());
    }
    QVERIFY2(l.warnings.empty(), (id + ": " + (l.warnings.empty() ? "" : l.warnings[0])).c_str());
    QVERIFY2(l.preset.name != "Untitled", id.c_str());
    // load_checked_preset resolves the same id to the same preset.
    QCOMPARE(itslab::preset_to_string(itslab::load_checked_preset(id).preset),
             itslab::preset_to_string(l.preset));
  }
}

void TestPreset::text_round_trip_is_exact() {
  for (const std::string& id : itslab::builtin_preset_ids()) {
    const auto a = itslab::parse_preset(itslab::builtin_preset_text(id), id);
    const std::string s1 = itslab::preset_to_string(a.preset);
    const auto b = itslab::parse_preset(s1, "round trip");
    QVERIFY(b.warnings.empty());
    const std::string s2 = itslab::preset_to_string(b.preset);
    QCOMPARE(s2, s1);
    // Saving writes every value: the default preset's fields come back unchanged.
    if (id == "default") {
      const json j = json::parse(s1);
      const json d = default_json();
      QCOMPARE(j["seed"], d["seed"]);
      QCOMPARE(j["model"], d["model"]);
      QCOMPARE(j["process"], d["process"]);
      QCOMPARE(j["schedule"], d["schedule"]);
      QCOMPARE(j["solver"]["type"], d["solver"]["type"]);
      QCOMPARE(j["particles"], d["particles"]);
      QCOMPARE(j["metrics"], d["metrics"]);
      QCOMPARE(j["schema"].get<std::string>(), std::string(itslab::kPresetSchema));
    }
  }
}

void TestPreset::file_round_trip() {
  QTemporaryDir dir;
  QVERIFY(dir.isValid());
  const std::string path = dir.filePath("p.json").toStdString();
  const auto a = itslab::parse_preset(itslab::builtin_preset_text("default"), "default");
  itslab::save_preset(a.preset, path);
  QVERIFY(!QFile::exists(QString::fromStdString(path + ".tmp")));
  QCOMPARE(itslab::read_file(path), itslab::preset_to_string(a.preset));
  const auto b = itslab::load_preset(path);
  QVERIFY(b.warnings.empty());
  QCOMPARE(itslab::preset_to_json(b.preset), itslab::preset_to_json(a.preset));
  // load_preset_ref falls through to a file path.
  QCOMPARE(itslab::preset_to_json(itslab::load_checked_preset(path).preset),
           itslab::preset_to_json(a.preset));
  // Saving again replaces the file.
  itslab::Preset changed = b.preset;
  changed.particles = 123;
  itslab::save_preset(changed, path);
  QCOMPARE(itslab::load_preset(path).preset.particles, int64_t{123});

  try {
    itslab::load_preset(dir.filePath("missing.json").toStdString());
    QFAIL("loading a missing file did not throw");
  } catch (const Error& e) {
    QVERIFY2(std::string(e.what()).find("missing.json") != std::string::npos, e.what());
  }
}

void TestPreset::unknown_fields_warn_and_survive() {
  json j = default_json();
  j["my_top"] = {{"a", 1}, {"b", {1, 2, 3}}};
  j["solver"]["my_note"] = "keep me";
  j["model"]["origin"] = 42;
  j["particles"]["spare"] = true;
  const auto l = itslab::parse_checked_preset(j.dump(), "test");
  QVERIFY2(has(l.warnings, "my_top: unknown field"),
           l.warnings.empty() ? "" : l.warnings[0].c_str());
  QVERIFY(has(l.warnings, "solver.my_note: unknown field"));
  QVERIFY(has(l.warnings, "model.origin: unknown field"));
  QVERIFY(has(l.warnings, "particles.spare: unknown field"));
  QCOMPARE(l.warnings.size(), size_t{4});
  // Known fields do not warn.
  QVERIFY(!has(l.warnings, "solver.type"));

  const json out = itslab::preset_to_json(l.preset);
  QCOMPARE(out["my_top"], j["my_top"]);
  QCOMPARE(out["solver"]["my_note"], json("keep me"));
  QCOMPARE(out["model"]["origin"], json(42));
  QCOMPARE(out["particles"]["spare"], json(true));

  QTemporaryDir dir;
  QVERIFY(dir.isValid());
  const std::string path = dir.filePath("unknown.json").toStdString();
  itslab::save_preset(l.preset, path);
  const auto back = itslab::load_preset(path);
  QCOMPARE(back.warnings, l.warnings);
  QCOMPARE(itslab::preset_to_json(back.preset), out);
  QCOMPARE(json::parse(itslab::read_file(path))["solver"]["my_note"], json("keep me"));
}

void TestPreset::inline_gmm() {
  for (const json& gmm : {kGmmIso, kGmmCov}) {
    json j = default_json();
    j["model"] = {{"gmm", gmm}};
    itslab::PresetLoad l;
    try {
      l = itslab::parse_checked_preset(j.dump(), "test");
    } catch (const Error& e) {
      QFAIL(e.what());
    }
    QVERIFY(l.warnings.empty());
    QVERIFY(l.preset.model_gmm.has_value());
    QVERIFY(l.preset.model_builtin.empty());
    const itslab::Experiment e = itslab::build_experiment(l.preset);
    QCOMPARE(e.mixture->num_components(), 2);
    QCOMPARE(e.mixture->dim(), 2);
    // Round trip through text keeps the inline model exactly.
    const json out = itslab::preset_to_json(l.preset);
    QCOMPARE(out["model"]["gmm"], gmm);
    QCOMPARE(itslab::preset_to_string(itslab::parse_preset(out.dump(), "rt").preset),
             itslab::preset_to_string(l.preset));
  }
  // Labels make a class-conditional model: class 1 is valid, class 2 is not.
  json j = default_json();
  j["model"] = {{"gmm", kGmmIso}, {"class", 1}};
  QCOMPARE(error_of(j.dump()), std::string());
  j["model"]["class"] = 2;
  const std::string msg = error_of(j.dump());
  QVERIFY2(msg.find("model.class") != std::string::npos, msg.c_str());
}

void TestPreset::inline_gmm_not_positive_definite() {
  json j = default_json();
  json gmm = kGmmCov;
  gmm["covariances"][0] = {{1.0, 2.0}, {2.0, 1.0}}; // eigenvalues 3 and −1
  j["model"] = {{"gmm", gmm}};
  const std::string msg = error_of(j.dump());
  QVERIFY2(msg.find("model.gmm.covariances[0]: not positive definite") != std::string::npos,
           msg.c_str());
  QVERIFY2(msg.rfind("test: invalid preset", 0) == 0, msg.c_str());

  // Other mixture problems found while building carry the full path too.
  gmm = kGmmIso;
  gmm["stds"][1] = -0.5;
  j["model"] = {{"gmm", gmm}};
  const std::string msg2 = error_of(j.dump());
  QVERIFY2(msg2.find("model.gmm.stds[1]: must be > 0") != std::string::npos, msg2.c_str());
  gmm = kGmmIso;
  gmm["means"][1] = {1.0, 2.0, 3.0};
  j["model"] = {{"gmm", gmm}};
  const std::string msg3 = error_of(j.dump());
  QVERIFY2(msg3.find("model.gmm.means[1]") != std::string::npos, msg3.c_str());
  // A type error inside the mixture is reported by the parser with its path.
  gmm = kGmmIso;
  gmm["weights"][0] = "heavy";
  j["model"] = {{"gmm", gmm}};
  const std::string msg4 = error_of(j.dump());
  QVERIFY2(msg4.find("model.gmm.weights[0]: must be a number") != std::string::npos, msg4.c_str());
}

// Each row: a JSON merge patch (RFC 7386, null deletes) applied to the default preset and text
// the error must contain.
void TestPreset::bad_presets_data() {
  QTest::addColumn<QString>("patch");
  QTest::addColumn<QString>("expected");
  QTest::newRow("count wrong type") << R"({"particles": {"count": "many"}})"
                                    << "particles.count: must be an integer";
  QTest::newRow("count fractional") << R"({"particles": {"count": 2.5}})"
                                    << "particles.count: must be an integer";
  QTest::newRow("count negative") << R"({"particles": {"count": -5}})"
                                  << "particles.count: must be ≥ 1, got -5";
  QTest::newRow("count zero") << R"({"particles": {"count": 0}})"
                              << "particles.count: must be ≥ 1, got 0";
  QTest::newRow("count missing") << R"({"particles": {"count": null}})"
                                 << "particles.count: missing";
  QTest::newRow("no solver") << R"({"solver": null})"
                             << "solver: missing";
  QTest::newRow("no model") << R"({"model": null})"
                            << "model: missing";
  QTest::newRow("no solver type") << R"({"solver": {"type": null}})"
                                  << "solver.type: missing";
  QTest::newRow("solver not object") << R"({"solver": "euler"})"
                                     << "solver: must be an object";
  QTest::newRow("unknown solver") << R"({"solver": {"type": "foo"}})"
                                  << "solver.type: unknown solver 'foo'";
  QTest::newRow("unknown schedule") << R"({"schedule": {"type": "zigzag"}})"
                                    << "schedule.type: unknown schedule 'zigzag'";
  QTest::newRow("unknown process") << R"({"process": {"type": "vx"}})"
                                   << "process.type: unknown process 'vx'";
  QTest::newRow("ddim eta too big") << R"({"solver": {"type": "ddim", "eta": 2}})"
                                    << "solver.eta: must be ≤ 1, got 2";
  QTest::newRow("ddim eta negative") << R"({"solver": {"type": "ddim", "eta": -0.5}})"
                                     << "solver.eta: must be ≥ 0, got -0.5";
  QTest::newRow("eta wrong type") << R"({"solver": {"type": "ddim", "eta": "0.5"}})"
                                  << "solver.eta: must be a number";
  QTest::newRow("em form choice") << R"({"solver": {"type": "euler_maruyama", "form": "fancy"}})"
                                  << "solver.form: must be one of exponential, plain, got 'fancy'";
  QTest::newRow("steps zero") << R"({"schedule": {"steps": 0}})"
                              << "schedule.steps: must be ≥ 1";
  QTest::newRow("steps fractional") << R"({"schedule": {"steps": 2.5}})"
                                    << "schedule.steps: must be an integer";
  QTest::newRow("sigma_max below sigma_min") << R"({"process": {"sigma_min": 5, "sigma_max": 1}})"
                                             << "process.sigma_max: must be > sigma_min";
  QTest::newRow("sigma_max equals sigma_min") << R"({"process": {"sigma_min": 1, "sigma_max": 1}})"
                                              << "process.sigma_max: must be > sigma_min";
  QTest::newRow("sigma_min zero") << R"({"process": {"sigma_min": 0}})"
                                  << "process.sigma_min: must be > 0, got 0";
  QTest::newRow("beta_max below beta_min")
      << R"({"process": {"type": "vp_linear", "sigma_min": null, "sigma_max": null,
             "sigma_data": null, "beta_min": 20, "beta_max": 0.1}})"
      << "process.beta_max: must be > beta_min";
  QTest::newRow("cosine t_max 1")
      << R"({"process": {"type": "vp_cosine", "sigma_min": null, "sigma_max": null,
             "sigma_data": null, "t_max": 1}})"
      << "process.t_max: must be < 1 for vp_cosine";
  QTest::newRow("wrong schema") << R"({"schema": "itslab.preset/2"})"
                                << "schema: unsupported schema 'itslab.preset/2'";
  QTest::newRow("no schema") << R"({"schema": null})"
                             << "schema: missing";
  QTest::newRow("negative seed") << R"({"seed": -1})"
                                 << "seed: must be ≥ 0, got -1";
  QTest::newRow("seed string") << R"({"seed": "7"})"
                               << "seed: must be a non-negative integer, got string";
  QTest::newRow("builtin and gmm")
      << QString::fromStdString(json{{"model", {{"gmm", kGmmIso}}}}.dump())
      << "model: give exactly one of 'builtin', 'gmm' and 'path'";
  QTest::newRow("neither builtin nor gmm")
      << R"({"model": {"builtin": null, "class": 1}})"
      << "model: give exactly one of 'builtin', 'gmm' and 'path'";
  QTest::newRow("unknown builtin model") << R"({"model": {"builtin": "gmm/nine-gaussians"}})"
                                         << "model.builtin: unknown model 'gmm/nine-gaussians'";
  QTest::newRow("builtin not string") << R"({"model": {"builtin": 8}})"
                                      << "model.builtin: must be a string";
  QTest::newRow("class too large") << R"({"model": {"class": 99}})"
                                   << "model.class: the model has 8 classes, got class 99";
  QTest::newRow("class below -1") << R"({"model": {"class": -2}})"
                                  << "model.class: must be ≥ -1, got -2";
  QTest::newRow("custom not decreasing")
      << R"({"schedule": {"type": "custom", "steps": null, "rho": null, "sigmas": [10, 20, 1]}})"
      << "schedule: nodes must be strictly decreasing";
  QTest::newRow("custom both lists")
      << R"({"schedule": {"type": "custom", "steps": null, "rho": null, "sigmas": [10, 1],
             "t": [10, 1]}})"
      << "schedule: custom needs exactly one of 'sigmas' and 't'";
  QTest::newRow("custom sigma not number")
      << R"({"schedule": {"type": "custom", "steps": null, "rho": null, "sigmas": [10, "x"]}})"
      << "schedule.sigmas[1]: must be a number";
  QTest::newRow("unknown backend") << R"({"backend": "cuda"})"
                                   << "backend: unknown backend 'cuda'";
  QTest::newRow("unknown metric") << R"({"metrics": ["frechet", "fjd"]})"
                                  << "metrics[1]: unknown metric 'fjd'";
  QTest::newRow("metrics not array") << R"({"metrics": "frechet"})"
                                     << "metrics: must be an array";
  QTest::newRow("name not string") << R"({"name": 3})"
                                   << "name: must be a string";
  // particle methods (particles.method and its parameters) and their needs
  QTest::newRow("unknown method") << R"({"particles": {"method": "annealed_is"}})"
                                  << "particles.method: unknown method 'annealed_is' (expected "
                                     "one of: independent, best_of_n";
  QTest::newRow("method not string") << R"({"particles": {"method": 3}})"
                                     << "particles.method: must be a string";
  QTest::newRow("lambda negative") << R"({"particles": {"method": "fk_steering", "lambda": -1},
             "reward": {"type": "linear", "a": [1, 0]}})"
                                   << "particles.lambda: must be > 0, got -1";
  QTest::newRow("potential choice")
      << R"({"particles": {"method": "fk_steering", "potential": "min"},
             "reward": {"type": "linear", "a": [1, 0]}})"
      << "particles.potential: must be one of difference, max, sum, got 'min'";
  QTest::newRow("scheme choice")
      << R"({"particles": {"method": "fkc", "scheme": "bootstrap"}})"
      << "particles.scheme: must be one of systematic, multinomial, stratified, residual, got "
         "'bootstrap'";
  QTest::newRow("ess threshold above 1")
      << R"({"particles": {"method": "fkc", "ess_threshold": 1.5}})"
      << "particles.ess_threshold: must be ≤ 1, got 1.5";
  QTest::newRow("resample_every zero") << R"({"particles": {"method": "fkc", "resample_every": 0}})"
                                       << "particles.resample_every: must be ≥ 1, got 0";
  QTest::newRow("best_of_n keep zero") << R"({"particles": {"method": "best_of_n", "keep": 0},
             "reward": {"type": "linear", "a": [1, 0]}})"
                                       << "particles.keep: must be ≥ 1, got 0";
  QTest::newRow("radius above 1") << R"({"particles": {"method": "zero_order_search", "radius": 2},
             "reward": {"type": "linear", "a": [1, 0]}})"
                                  << "particles.radius: must be ≤ 1, got 2";
  QTest::newRow("method needs a reward") << R"({"particles": {"method": "fk_steering"}})"
                                         << "reward: particles.method 'fk_steering' needs a "
                                            "reward";
  QTest::newRow("fkc product without second model")
      << R"({"particles": {"method": "fkc", "target": "product"}})"
      << "particles.second_model: missing (required for target 'product')";
  QTest::newRow("fkc unknown second model")
      << R"({"particles": {"method": "fkc", "target": "product", "second_model": "gmm/x"}})"
      << "particles.second_model: unknown built-in mixture 'gmm/x'";
  QTest::newRow("fkc second model of another dimension")
      << R"({"particles": {"method": "fkc", "target": "product",
             "second_model": "gmm/high-dim-64"}})"
      << "particles.second_model: 'gmm/high-dim-64' has 64 dimensions, the model 2";
  QTest::newRow("fkc cfg without class") << R"({"particles": {"method": "fkc", "target": "cfg"}})"
                                         << "model.class: fkc target 'cfg' needs a target class";
  QTest::newRow("fkc with guidance") << R"({"model": {"class": 1}, "guidance": {"type": "cfg"},
             "particles": {"method": "fkc", "target": "cfg"}})"
                                     << "guidance: fkc composes the scores itself";
  QTest::newRow("fkc beta zero") << R"({"particles": {"method": "fkc", "beta": 0}})"
                                 << "particles.beta: must be > 0, got 0";
  QTest::newRow("fkc on a flow at t = 1")
      << R"({"process": {"type": "flow_linear", "sigma_min": null, "sigma_max": null,
             "sigma_data": null}, "schedule": {"type": "uniform", "rho": null},
             "particles": {"method": "fkc"}})"
      << "particles.method: fkc needs α > 0 at the first grid node";
}

void TestPreset::bad_presets() {
  QFETCH(QString, patch);
  QFETCH(QString, expected);
  json j = default_json();
  j.merge_patch(json::parse(patch.toStdString()));
  const std::string msg = error_of(j.dump(2));
  QVERIFY2(!msg.empty(), "the preset was accepted");
  QVERIFY2(msg.rfind("test: invalid preset", 0) == 0, msg.c_str());
  QVERIFY2(msg.find(expected.toStdString()) != std::string::npos,
           qPrintable("expected '" + expected + "' in:\n" + QString::fromStdString(msg)));
}

void TestPreset::nan_is_not_json() {
  std::string text = itslab::builtin_preset_text("default");
  const size_t at = text.find("\"seed\": 7");
  QVERIFY(at != std::string::npos);
  text.replace(at, 9, "\"seed\": NaN");
  const std::string msg = error_of(text);
  QVERIFY2(msg.rfind("test: not valid JSON (byte ", 0) == 0, msg.c_str());
  // The byte offset points into the NaN literal (nlohmann counts from 1).
  const size_t nan = text.find("NaN") + 1;
  const size_t byte = std::stoul(msg.substr(std::string("test: not valid JSON (byte ").size()));
  QVERIFY2(byte >= nan && byte <= nan + 3, msg.c_str());
}

void TestPreset::truncated_file() {
  const std::string text = itslab::builtin_preset_text("default");
  const std::string msg = error_of(text.substr(0, text.size() / 2));
  QVERIFY2(msg.rfind("test: not valid JSON (byte ", 0) == 0, msg.c_str());
  // The same through a file names the file.
  QTemporaryDir dir;
  QVERIFY(dir.isValid());
  const std::string path = dir.filePath("cut.json").toStdString();
  spit(path, text.substr(0, text.size() / 2));
  try {
    itslab::load_checked_preset(path);
    QFAIL("a truncated file was accepted");
  } catch (const Error& e) {
    QVERIFY2(std::string(e.what()).rfind(path + ": not valid JSON", 0) == 0, e.what());
  }
  // Not an object at all.
  const std::string msg2 = error_of("[1, 2]");
  QVERIFY2(msg2.find("must be a JSON object") != std::string::npos, msg2.c_str());
}

void TestPreset::several_problems_listed() {
  json j = default_json();
  j["particles"]["count"] = 0;
  j["solver"] = {{"type", "ddim"}, {"eta", 5}};
  j["seed"] = "x";
  j["schema"] = "nope";
  const std::string msg = error_of(j.dump());
  QVERIFY2(msg.find("particles.count: must be ≥ 1, got 0") != std::string::npos, msg.c_str());
  QVERIFY2(msg.find("solver.eta: must be ≤ 1, got 5") != std::string::npos, msg.c_str());
  QVERIFY2(msg.find("seed: must be a non-negative integer") != std::string::npos, msg.c_str());
  QVERIFY2(msg.find("schema: unsupported schema 'nope'") != std::string::npos, msg.c_str());
  // One problem per line after the heading.
  QCOMPARE(std::count(msg.begin(), msg.end(), '\n'), std::ptrdiff_t{4});
}

// particles.method: old presets stay independent (nothing new written), a method writes every
// default, and text round trips are exact.
void TestPreset::particle_methods_round_trip() {
  const auto d = itslab::parse_preset(itslab::builtin_preset_text("default"), "default");
  QCOMPARE(d.preset.particle_method.type, std::string("independent"));
  QCOMPARE(d.preset.reward.type, std::string("none"));
  QCOMPARE(itslab::preset_to_json(d.preset)["particles"], json({{"count", 4096}}));

  json j = default_json();
  j["particles"] = {{"count", 100}, {"method", "fk_steering"}};
  j["reward"] = {{"type", "linear"}, {"a", {1, 0.5}}};
  const auto l = itslab::parse_checked_preset(j.dump(), "test");
  QVERIFY(l.warnings.empty());
  const json out = itslab::preset_to_json(l.preset);
  const json& p = out["particles"];
  QCOMPARE(p["method"], json("fk_steering"));
  QCOMPARE(p["lambda"], json(1.0));
  QCOMPARE(p["potential"], json("difference"));
  QCOMPARE(p["resample_every"], json(1));
  QVERIFY(p["resample_every"].is_number_integer());
  QCOMPARE(p["ess_threshold"], json(0.5));
  QCOMPARE(p["scheme"], json("systematic"));
  QCOMPARE(p["selection"], json("sample"));
  QCOMPARE(p["keep"], json(0));
  QCOMPARE(out["reward"]["b"], json(0.0));
  const std::string s1 = itslab::preset_to_string(l.preset);
  QCOMPARE(itslab::preset_to_string(itslab::parse_preset(s1, "rt").preset), s1);
  const itslab::Experiment e = itslab::build_experiment(l.preset);
  QCOMPARE(e.particles.method, std::string("fk_steering"));
  QVERIFY(e.reward != nullptr);

  // another method's parameter is an unknown field: a warning, kept on save
  j["particles"] = {{"count", 100}, {"method", "best_of_n"}, {"lambda", 2}};
  const auto w = itslab::parse_checked_preset(j.dump(), "test");
  QVERIFY(has(w.warnings, "particles.lambda: unknown field"));
  QCOMPARE(itslab::preset_to_json(w.preset)["particles"]["lambda"], json(2));

  // fkc keeps its optional second_model only when given
  j = default_json();
  j["particles"] = {{"count", 100}, {"method", "fkc"}};
  const json f = itslab::preset_to_json(itslab::parse_checked_preset(j.dump(), "t").preset);
  QVERIFY(!f["particles"].contains("second_model"));
  QCOMPARE(f["particles"]["target"], json("anneal"));
  QCOMPARE(f["particles"]["exact_init"], json(1));
  j["particles"]["target"] = "product";
  j["particles"]["second_model"] = "gmm/grid-25";
  const auto pr = itslab::parse_checked_preset(j.dump(), "t");
  QCOMPARE(itslab::preset_to_json(pr.preset)["particles"]["second_model"], json("gmm/grid-25"));
  QVERIFY(itslab::build_experiment(pr.preset).second_model != nullptr);
}

void TestPreset::save_into_unwritable_path() {
  QTemporaryDir dir;
  QVERIFY(dir.isValid());
  const std::string blocker = dir.filePath("plain-file").toStdString();
  spit(blocker, "not a directory");
  const std::string path = blocker + "/preset.json";
  const auto l = itslab::parse_preset(itslab::builtin_preset_text("default"), "default");
  try {
    itslab::save_preset(l.preset, path);
    QFAIL("saving under a regular file did not throw");
  } catch (const Error& e) {
    QVERIFY2(std::string(e.what()).rfind(path + ": ", 0) == 0, e.what());
  }
  QCOMPARE(itslab::read_file(blocker), std::string("not a directory"));
  QCOMPARE(QDir(dir.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot),
           QStringList{"plain-file"});
}

void TestPreset::save_failure_keeps_old_file() {
  QTemporaryDir dir;
  QVERIFY(dir.isValid());
  const std::string path = dir.filePath("keep.json").toStdString();
  const auto l = itslab::parse_preset(itslab::builtin_preset_text("default"), "default");
  itslab::save_preset(l.preset, path);
  const std::string before = itslab::read_file(path);
  // A directory where the temporary would go makes the write fail before the rename.
  QVERIFY(QDir().mkdir(QString::fromStdString(path + ".tmp")));
  itslab::Preset changed = l.preset;
  changed.particles = 7;
  try {
    itslab::save_preset(changed, path);
    QFAIL("saving over a blocked temporary did not throw");
  } catch (const Error& e) {
    QVERIFY2(std::string(e.what()).rfind(path + ": ", 0) == 0, e.what());
  }
  QCOMPARE(itslab::read_file(path), before);
  QCOMPARE(itslab::load_preset(path).preset.particles, int64_t{4096});
}

QTEST_APPLESS_MAIN(TestPreset)
#include "test_preset.moc"
