// itslab-cli end to end: runs the built binary and checks its exit codes, messages and files.
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/philox.hpp"
#include "io/npy.hpp"
#include "io/preset.hpp"
#include "model/neural_model.hpp"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>

using itslab::RowMatrixXf;
using nlohmann::json;

namespace {

struct Result {
  bool finished = false;
  QProcess::ExitStatus status = QProcess::CrashExit;
  int code = -1;
  std::string out, err;
  // For QVERIFY2 messages.
  std::string describe() const {
    return "exit " + std::to_string(code) + (status == QProcess::CrashExit ? " (crashed)" : "") +
           "\nstdout:\n" + out + "\nstderr:\n" + err;
  }
};

Result cli(const QStringList& args) {
  QProcess p;
  p.setProgram(QStringLiteral(ITSLAB_CLI));
  p.setArguments(args);
  p.start();
  Result r;
  if (!p.waitForStarted(10000))
    return r;
  r.finished = p.waitForFinished(60000);
  if (!r.finished)
    p.kill(), p.waitForFinished(5000);
  r.status = p.exitStatus();
  r.code = p.exitCode();
  r.out = p.readAllStandardOutput().toStdString();
  r.err = p.readAllStandardError().toStdString();
  return r;
}

bool clean_exit(const Result& r) {
  return r.finished && r.status == QProcess::NormalExit;
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

RowMatrixXf normal_noise(int64_t n, int64_t d, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> N;
  RowMatrixXf z(n, d);
  for (int64_t i = 0; i < z.size(); ++i)
    z.data()[i] = N(gen);
  return z;
}

// The .npy header's dict and the offset of the data (version 1.0 files, as write_npy writes).
std::pair<std::string, size_t> npy_header(const std::string& bytes) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0 || bytes[6] != 1)
    return {"", 0};
  const size_t len = static_cast<unsigned char>(bytes[8]) |
                     (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
  return {bytes.substr(10, len), 10 + len};
}

} // namespace

class TestCli : public QObject {
  Q_OBJECT

private slots:
  void initTestCase();
  void presets_lists_builtins();
  void validate_ok();
  void validate_bad_file();
  void sample_writes_outputs();
  void sample_init_overrides_count();
  void first_particles_do_not_depend_on_count();
  void bad_flags_fail_cleanly_data();
  void bad_flags_fail_cleanly();
  void export_preset_round_trips();
  void info_lists_cpu();
  void bench_neural_report();
  void bench_profile();
  void models_and_check_model();
  void sample_grid_of_images();

private:
  QTemporaryDir dir_;
  std::string path(const char* name) const { return dir_.filePath(name).toStdString(); }
  QString qpath(const char* name) const { return dir_.filePath(name); }
  // The default preset at 4096 particles, run once and shared.
  RowMatrixXf full_;
};

void TestCli::initTestCase() {
  QVERIFY(dir_.isValid());
  QVERIFY2(QFileInfo(QStringLiteral(ITSLAB_CLI)).isExecutable(), ITSLAB_CLI);
}

void TestCli::presets_lists_builtins() {
  const Result r = cli({"presets"});
  QVERIFY2(clean_exit(r) && r.code == 0, r.describe().c_str());
  for (const std::string& id : itslab::builtin_preset_ids())
    QVERIFY2(contains(r.out, id + " "), (id + " not listed:\n" + r.out).c_str());
  // One line per preset, "default" at the start of one.
  QVERIFY2(contains("\n" + r.out, "\ndefault "), r.out.c_str());
  QCOMPARE(std::count(r.out.begin(), r.out.end(), '\n'),
           static_cast<std::ptrdiff_t>(itslab::builtin_preset_ids().size()));
}

void TestCli::validate_ok() {
  const Result r = cli({"validate", "default"});
  QVERIFY2(clean_exit(r) && r.code == 0, r.describe().c_str());
  QVERIFY2(contains(r.out, "default: ok"), r.describe().c_str());
  // A valid file validates too.
  json j = json::parse(itslab::builtin_preset_text("default"));
  spit(path("good.json"), j.dump());
  const Result f = cli({"validate", qpath("good.json")});
  QVERIFY2(clean_exit(f) && f.code == 0 && contains(f.out, "ok"), f.describe().c_str());
}

void TestCli::validate_bad_file() {
  json j = json::parse(itslab::builtin_preset_text("default"));
  j["particles"]["count"] = 0;
  j["solver"] = {{"type", "ddim"}, {"eta", 3}};
  spit(path("bad.json"), j.dump());
  const Result r = cli({"validate", qpath("bad.json")});
  QVERIFY2(clean_exit(r) && r.code == 1, r.describe().c_str());
  QVERIFY2(contains(r.err, path("bad.json") + ": invalid preset"), r.describe().c_str());
  QVERIFY2(contains(r.err, "particles.count: must be ≥ 1, got 0"), r.describe().c_str());
  QVERIFY2(contains(r.err, "solver.eta: must be ≤ 1, got 3"), r.describe().c_str());
  QVERIFY2(!contains(r.out, "ok"), r.describe().c_str());

  // A problem found while building the model names its full path as well.
  j = json::parse(itslab::builtin_preset_text("default"));
  j["model"] = json::parse(R"({"gmm": {"weights": [1], "means": [[0, 0]],
                                       "covariances": [[[1, 2], [2, 1]]]}})");
  spit(path("bad-gmm.json"), j.dump());
  const Result g = cli({"validate", qpath("bad-gmm.json")});
  QVERIFY2(clean_exit(g) && g.code == 1, g.describe().c_str());
  QVERIFY2(contains(g.err, "model.gmm.covariances[0]: not positive definite"),
           g.describe().c_str());

  // A missing file exits 1 naming it.
  const Result m = cli({"validate", qpath("nowhere.json")});
  QVERIFY2(clean_exit(m) && m.code == 1 && contains(m.err, "nowhere.json"), m.describe().c_str());
}

void TestCli::sample_writes_outputs() {
  const Result r = cli({"sample", "--preset", "default", "--out", qpath("x.npy"), "--report",
                        qpath("r.json"), "--trajectory", qpath("t.npy")});
  QVERIFY2(clean_exit(r) && r.code == 0, r.describe().c_str());

  RowMatrixXf X;
  try {
    X = itslab::read_npy(path("x.npy"));
  } catch (const itslab::Error& e) {
    QFAIL(e.what());
  }
  QCOMPARE(X.rows(), Eigen::Index{4096});
  QCOMPARE(X.cols(), Eigen::Index{2});
  QVERIFY(X.allFinite());
  // Eight Gaussians on a circle of radius 2.83 (std 0.354): samples lie near it.
  const double mean_radius = X.rowwise().norm().cast<double>().mean();
  QVERIFY2(std::abs(mean_radius - 2.83) < 0.25, std::to_string(mean_radius).c_str());
  full_ = X;

  json rep;
  try {
    rep = json::parse(itslab::read_file(path("r.json")));
  } catch (const json::exception& e) {
    QFAIL(e.what());
  }
  for (const char* key : {"nfe", "wall_ms", "metrics", "backend", "preset"})
    QVERIFY2(rep.contains(key), key);
  QCOMPARE(rep["nfe"].get<int>(), 20);
  QVERIFY(rep["wall_ms"].is_number() && rep["wall_ms"].get<double>() > 0);
  QVERIFY(rep["metrics"].contains("frechet"));
  const double frechet = rep["metrics"]["frechet"].get<double>();
  QVERIFY2(std::isfinite(frechet) && frechet >= 0 && frechet < 0.1,
           std::to_string(frechet).c_str());
  QVERIFY(rep["backend"].is_string() && !rep["backend"].get<std::string>().empty());
  QCOMPARE(rep["preset"]["schema"].get<std::string>(), std::string(itslab::kPresetSchema));
  QCOMPARE(rep["preset"]["particles"]["count"].get<int64_t>(), int64_t{4096});
  // The report's preset reloads to the preset that ran.
  QCOMPARE(itslab::preset_to_json(itslab::parse_preset(rep["preset"].dump(), "report").preset),
           itslab::preset_to_json(
               itslab::parse_preset(itslab::builtin_preset_text("default"), "default").preset));

  const std::string T = itslab::read_file(path("t.npy"));
  const auto [dict, offset] = npy_header(T);
  QVERIFY2(contains(dict, "'shape': (21, 4096, 2)"), dict.c_str());
  QVERIFY2(contains(dict, "'descr': '<f4'"), dict.c_str());
  const size_t node = 4096 * 2 * sizeof(float);
  QCOMPARE(T.size(), offset + 21 * node);
  // The last node is the final samples.
  QVERIFY(T.compare(offset + 20 * node, node, reinterpret_cast<const char*>(X.data()), node) == 0);
  // The first node is x_T = σ_max·z (EDM, σ_max = 80): far wider than the data.
  Eigen::Map<const RowMatrixXf> first(reinterpret_cast<const float*>(T.data() + offset), 4096, 2);
  const double spread = std::sqrt(first.cast<double>().array().square().mean());
  QVERIFY2(spread > 60 && spread < 100, std::to_string(spread).c_str());
}

void TestCli::sample_init_overrides_count() {
  const RowMatrixXf z = normal_noise(100, 2, 1234);
  itslab::write_npy(path("z.npy"), z.data(), z.rows(), z.cols());
  const Result a = cli({"sample", "--init", qpath("z.npy"), "--out", qpath("a.npy")});
  QVERIFY2(clean_exit(a) && a.code == 0, a.describe().c_str());
  const Result b =
      cli({"sample", "--init", qpath("z.npy"), "--out", qpath("b.npy"), "--seed", "7"});
  QVERIFY2(clean_exit(b) && b.code == 0, b.describe().c_str());
  const RowMatrixXf A = itslab::read_npy(path("a.npy"));
  QCOMPARE(A.rows(), Eigen::Index{100});
  QCOMPARE(A.cols(), Eigen::Index{2});
  QVERIFY(A.allFinite());
  QCOMPARE(itslab::read_file(path("a.npy")), itslab::read_file(path("b.npy")));

  // Other noise gives other samples.
  const RowMatrixXf z2 = normal_noise(100, 2, 99);
  itslab::write_npy(path("z2.npy"), z2.data(), z2.rows(), z2.cols());
  const Result c = cli({"sample", "--init", qpath("z2.npy"), "--out", qpath("c.npy")});
  QVERIFY2(clean_exit(c) && c.code == 0, c.describe().c_str());
  QVERIFY(itslab::read_file(path("a.npy")) != itslab::read_file(path("c.npy")));

  // --init is z itself: the preset's own Philox noise given explicitly reproduces its run.
  RowMatrixXf zp(100, 2);
  itslab::philox_normal_rows(7, static_cast<uint32_t>(itslab::Stream::init_noise), 0, 0, 100, 2,
                             zp.data());
  itslab::write_npy(path("zp.npy"), zp.data(), zp.rows(), zp.cols());
  const Result p = cli({"sample", "--init", qpath("zp.npy"), "--out", qpath("p.npy")});
  QVERIFY2(clean_exit(p) && p.code == 0, p.describe().c_str());
  const Result q = cli({"sample", "--particles", "100", "--out", qpath("q.npy")});
  QVERIFY2(clean_exit(q) && q.code == 0, q.describe().c_str());
  QVERIFY(itslab::read_npy(path("p.npy")).isApprox(itslab::read_npy(path("q.npy")), 1e-5f));
}

void TestCli::first_particles_do_not_depend_on_count() {
  QVERIFY2(full_.rows() == 4096, "needs sample_writes_outputs");
  const Result r =
      cli({"sample", "--preset", "default", "--particles", "100", "--out", qpath("x100.npy")});
  QVERIFY2(clean_exit(r) && r.code == 0, r.describe().c_str());
  const RowMatrixXf X = itslab::read_npy(path("x100.npy"));
  QCOMPARE(X.rows(), Eigen::Index{100});
  const float diff = (X - full_.topRows(100)).cwiseAbs().maxCoeff();
  QVERIFY2(diff <= 1e-6f, std::to_string(diff).c_str());
  // Another seed gives other particles.
  const Result s = cli({"sample", "--particles", "100", "--seed", "8", "--out", qpath("s8.npy")});
  QVERIFY2(clean_exit(s) && s.code == 0, s.describe().c_str());
  QVERIFY((itslab::read_npy(path("s8.npy")) - X).cwiseAbs().maxCoeff() > 1e-3f);
}

void TestCli::bad_flags_fail_cleanly_data() {
  QTest::addColumn<QStringList>("args");
  QTest::addColumn<QString>("expected");
  QTest::newRow("particles 0") << QStringList{"sample", "--particles", "0"} << "--particles";
  QTest::newRow("particles -3") << QStringList{"sample", "--particles", "-3"} << "--particles";
  QTest::newRow("particles huge") << QStringList{"sample", "--particles", "99999999999"}
                                  << "--particles";
  QTest::newRow("seed abc") << QStringList{"sample", "--seed", "abc"} << "--seed";
  QTest::newRow("seed negative") << QStringList{"sample", "--seed", "-1"} << "--seed";
  QTest::newRow("seed trailing") << QStringList{"sample", "--seed", "12x"} << "--seed";
  QTest::newRow("init missing") << QStringList{"sample", "--init", "missing.npy"} << "missing.npy";
  QTest::newRow("init 3 columns") << QStringList{"sample", "--init", "@three.npy"} << "--init";
  QTest::newRow("init not npy") << QStringList{"sample", "--init", "@junk.npy"} << "junk.npy";
  QTest::newRow("init NaN") << QStringList{"sample", "--init", "@nan.npy"} << "nan.npy";
  QTest::newRow("unknown preset") << QStringList{"sample", "--preset", "no-such"} << "no-such";
  QTest::newRow("unknown backend") << QStringList{"sample", "--backend", "cuda"} << "backend";
  QTest::newRow("no subcommand") << QStringList{} << "subcommand";
  QTest::newRow("unknown flag") << QStringList{"sample", "--frobnicate"} << "--frobnicate";
  QTest::newRow("export unknown id") << QStringList{"export-preset", "nope"} << "nope";
}

void TestCli::bad_flags_fail_cleanly() {
  QFETCH(QStringList, args);
  QFETCH(QString, expected);
  // "@name" is a file in the temporary directory, made here.
  const RowMatrixXf three = normal_noise(10, 3, 5);
  itslab::write_npy(path("three.npy"), three.data(), three.rows(), three.cols());
  spit(path("junk.npy"), "this is not an npy file");
  RowMatrixXf nan = normal_noise(10, 2, 5);
  nan(3, 1) = std::nanf("");
  itslab::write_npy(path("nan.npy"), nan.data(), nan.rows(), nan.cols());
  for (QString& a : args)
    if (a.startsWith('@'))
      a = dir_.filePath(a.mid(1));
  const Result r = cli(args);
  QVERIFY2(clean_exit(r), r.describe().c_str());
  QVERIFY2(r.code != 0 && r.code < 128, r.describe().c_str());
  QVERIFY2(contains(r.err, expected.toStdString()), r.describe().c_str());
  QVERIFY2(!contains(r.out, "wrote"), r.describe().c_str());
  if (QTest::currentDataTag() == QByteArray("init 3 columns"))
    QVERIFY2(contains(r.err, "3 columns"), r.describe().c_str());
}

void TestCli::export_preset_round_trips() {
  const Result r = cli({"export-preset", "default"});
  QVERIFY2(clean_exit(r) && r.code == 0, r.describe().c_str());
  itslab::PresetLoad l;
  try {
    l = itslab::parse_preset(r.out, "export");
  } catch (const itslab::Error& e) {
    QFAIL(e.what());
  }
  QVERIFY(l.warnings.empty());
  const auto builtin = itslab::parse_preset(itslab::builtin_preset_text("default"), "default");
  QCOMPARE(r.out, itslab::preset_to_string(builtin.preset));
  QCOMPARE(l.preset.seed, builtin.preset.seed);
  QCOMPARE(l.preset.particles, int64_t{4096});

  // --out writes the same text to a file.
  const Result f = cli({"export-preset", "default", "--out", qpath("exported.json")});
  QVERIFY2(clean_exit(f) && f.code == 0, f.describe().c_str());
  QCOMPARE(itslab::read_file(path("exported.json")), r.out);
}

void TestCli::info_lists_cpu() {
  const Result r = cli({"info"});
  QVERIFY2(clean_exit(r) && r.code == 0, r.describe().c_str());
  QVERIFY2(contains("\n" + r.out, "\ncpu "), r.out.c_str());
  QVERIFY2(contains(r.out, "auto"), r.out.c_str());
}

// The neural-model workload alone (the bundled two-moons MLP, small) and its JSON report.
void TestCli::bench_neural_report() {
  const Result r = cli({"bench", "--neural", "--quick", "--particles", "64", "--repeat", "1",
                        "--report", qpath("bench.json")});
  QVERIFY2(clean_exit(r) && r.code == 0, r.describe().c_str());
  QVERIFY2(contains(r.out, "two-moons-flow MLP, Euler 20"), r.out.c_str());
  const json j = json::parse(itslab::read_file(path("bench.json")));
  QCOMPARE(j.size(), size_t{1});
  QCOMPARE(j[0]["model"].get<std::string>(), std::string("two-moons-flow"));
  QCOMPARE(j[0]["particles"].get<int>(), 64);
  QVERIFY(j[0]["median_ms"].get<double>() > 0);
}

// --profile: after a workload on a Vulkan device, one line per kernel with its GPU time and
// share; the kernels of a DPM-Solver++ run are the mixture denoiser and lincomb.
void TestCli::bench_profile() {
  const Result r =
      cli({"bench", "--backend", "vulkan", "--only", "(default)", "--repeat", "1", "--profile"});
  QVERIFY2(clean_exit(r) && r.code == 0, r.describe().c_str());
  if (contains(r.out, "Vulkan unavailable"))
    QSKIP("no Vulkan device: --profile has no kernels to time");
  for (const char* kernel : {"gmm_denoise", "lincomb"}) {
    const size_t at = r.out.find(kernel);
    QVERIFY2(at != std::string::npos, r.out.c_str());
    const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
    QVERIFY2(contains(line, " ms ") && contains(line, "%"), line.c_str());
  }
}

// `models` lists every bundled network; `check-model` accepts a good folder and names the byte
// offset of a truncated file with exit 1.
void TestCli::models_and_check_model() {
  const Result r = cli({"models"});
  QVERIFY2(clean_exit(r) && r.code == 0, r.describe().c_str());
  for (const std::string& id : itslab::bundled_model_ids())
    QVERIFY2(contains(r.out, "nn/" + id), (id + " not listed:\n" + r.out).c_str());
  const std::string good = itslab::bundled_models_dir() + "/two-moons-vp";
  const Result ok = cli({"check-model", QString::fromStdString(good)});
  QVERIFY2(clean_exit(ok) && ok.code == 0 && contains(ok.out, ": ok ("), ok.describe().c_str());
  QDir().mkpath(qpath("broken"));
  QFile::copy(QString::fromStdString(good + "/config.json"), qpath("broken/config.json"));
  spit(path("broken/model.safetensors"),
       itslab::read_file(good + "/model.safetensors").substr(0, 1000));
  const Result bad = cli({"check-model", qpath("broken")});
  QVERIFY2(clean_exit(bad) && bad.code == 1, bad.describe().c_str());
  QVERIFY2(contains(bad.err, "model.safetensors: byte 0: header length"), bad.err.c_str());
}

// --grid writes image samples as a PNG of tiles; on a model without images it fails before
// sampling, naming the flag.
void TestCli::sample_grid_of_images() {
  // the Euler preset: 20 network calls where the CFG preset's Heun steps take 78, so the run
  // stays far inside the time limit on a loaded machine
  const Result r = cli({"sample", "--preset", "fmnist-unet-euler", "--particles", "2", "--backend",
                        "cpu", "--grid", qpath("grid.png"), "--grid-cols", "2"});
  QVERIFY2(clean_exit(r) && r.code == 0, r.describe().c_str());
  const QImage img(qpath("grid.png"));
  // 2 tiles of 28×28 at zoom 2 with 2-pixel gaps: 2 + 2·(56 + 2) wide, 2 + 56 + 2 high
  QCOMPARE(img.width(), 118);
  QCOMPARE(img.height(), 60);
  const Result bad =
      cli({"sample", "--preset", "default", "--grid", qpath("none.png"), "--out", qpath("n.npy")});
  QVERIFY2(clean_exit(bad) && bad.code == 1, bad.describe().c_str());
  QVERIFY2(contains(bad.err, "--grid: the model does not make images"), bad.err.c_str());
  QVERIFY(!QFileInfo::exists(qpath("n.npy")));
}

QTEST_APPLESS_MAIN(TestCli)
#include "test_cli.moc"
