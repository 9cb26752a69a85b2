// itslab-cli sample with particle methods: the report JSON carries the method's per-step
// diagnostics and the final reward statistics; the built-in particle presets run; bad particle
// fields fail validation with their JSON paths.
#include "io/preset.hpp"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

using nlohmann::json;

namespace {

struct Result {
  int code = -1;
  std::string out, err;
};

Result cli(const QStringList& args) {
  QProcess p;
  p.start(QStringLiteral(ITSLAB_CLI), args);
  Result r;
  if (!p.waitForStarted(10000) || !p.waitForFinished(120000)) {
    p.kill();
    p.waitForFinished(5000);
    return r;
  }
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = p.readAllStandardOutput().toStdString();
  r.err = p.readAllStandardError().toStdString();
  return r;
}

json read_json(const QString& path) {
  std::ifstream f(path.toStdString());
  std::stringstream s;
  s << f.rdbuf();
  return json::parse(s.str());
}

} // namespace

class TestParticleCli : public QObject {
  Q_OBJECT
private slots:
  void report_carries_diagnostics();
  void builtin_particle_presets_run();
  void validate_reports_particle_fields();
};

void TestParticleCli::report_carries_diagnostics() {
  QTemporaryDir dir;
  const QString report = dir.filePath("r.json");
  const Result r = cli({"sample", "--preset", "eight-gaussians-fk-steering-region", "--particles",
                        "512", "--report", report});
  QVERIFY2(r.code == 0, r.err.c_str());
  QVERIFY2(r.out.find("method      fk_steering") != std::string::npos, r.out.c_str());
  QVERIFY2(r.out.find("reward      region: mean") != std::string::npos, r.out.c_str());
  const json j = read_json(report);
  QCOMPARE(j["method"].get<std::string>(), std::string("fk_steering"));
  QCOMPARE(j["nfe_total"].get<int64_t>(), int64_t{512} * 50);
  const json& pm = j["particle_method"];
  const json& steps = pm["steps"];
  for (const char* col : {"step", "t", "ess", "log_w_spread", "reward_mean", "reward_max",
                          "reward_std", "resampled", "unique_ancestors", "nfe_total"})
    QVERIFY2(steps.contains(col) && steps[col].size() == 50, col);
  QVERIFY(pm["resamplings"].get<int>() > 0);
  QVERIFY(pm["log_z"].is_number());
  QVERIFY(j["reward"]["mean"].get<double>() > 0.5); // steered into the disc
  QCOMPARE(j["preset"]["particles"]["method"].get<std::string>(), std::string("fk_steering"));
}

// Every built-in preset with a particle method runs end to end (small particle counts).
void TestParticleCli::builtin_particle_presets_run() {
  int n = 0;
  for (const std::string& id : itslab::builtin_preset_ids()) {
    const itslab::PresetLoad l = itslab::parse_preset(itslab::builtin_preset_text(id), id);
    if (l.preset.particle_method.type == "independent")
      continue;
    ++n;
    QTemporaryDir dir;
    const QString out = dir.filePath("x.npy");
    // networks cost far more per particle than mixtures: a handful of particles on the CPU
    const bool network = itslab::preset_is_network(l.preset);
    const Result r =
        cli({"sample", "--preset", QString::fromStdString(id), "--particles", network ? "8" : "256",
             "--backend", network ? "cpu" : "auto", "--out", out});
    QVERIFY2(r.code == 0, (id + ": " + r.err).c_str());
    QVERIFY2(r.err.find("warning") == std::string::npos, (id + ": " + r.err).c_str());
    QVERIFY2(QFileInfo::exists(out), id.c_str());
  }
  QVERIFY(n >= 2);
}

void TestParticleCli::validate_reports_particle_fields() {
  QTemporaryDir dir;
  json j = json::parse(itslab::builtin_preset_text("eight-gaussians-fk-steering-region"));
  j["particles"]["lambda"] = -1;
  j["reward"]["center"] = {1, 2, 3};
  const QString path = dir.filePath("bad.json");
  std::ofstream(path.toStdString()) << j.dump(2);
  const Result r = cli({"validate", path});
  QCOMPARE(r.code, 1);
  QVERIFY2(r.err.find("particles.lambda: must be > 0, got -1") != std::string::npos, r.err.c_str());
  j["particles"]["lambda"] = 2;
  std::ofstream(path.toStdString()) << j.dump(2);
  const Result r2 = cli({"validate", path});
  QCOMPARE(r2.code, 1);
  QVERIFY2(r2.err.find("reward.center: has 3 entries, the model 2 dimensions") != std::string::npos,
           r2.err.c_str());
}

QTEST_APPLESS_MAIN(TestParticleCli)
#include "test_particle_cli.moc"
