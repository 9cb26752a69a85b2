// Trained networks as models of a preset: the model section (nn/ built-ins, model.path), the
// metrics they get, sampling a 2-D network against the mixture it learned (under its own
// process and a foreign one), classifier metrics and the classifier reward on Fashion-MNIST.
#include "core/error.hpp"
#include "engine/experiment.hpp"
#include "engine/run.hpp"
#include "io/preset.hpp"
#include "io/preset_schema.hpp"
#include "model/neural_model.hpp"
#include "reward/reward.hpp"
#include "test_util.hpp"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <numeric>

using namespace itslab;
using itslab::test::error_of;

namespace {

Preset load(const std::string& id) {
  Preset p = load_checked_preset(id).preset;
  p.backend = "cpu";
  return p;
}

double mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

} // namespace

class TestNetworks : public QObject {
  Q_OBJECT

private slots:
  void initTestCase() {
    QVERIFY2(!bundled_models_dir().empty(), "the bundled models were not found");
    const auto ids = bundled_model_ids();
    QCOMPARE(static_cast<int>(ids.size()), 10);
  }

  // nn/<id> names a bundled network; unknown ids and missing folders name the field.
  void modelSection() {
    Preset p = load("two-moons-mlp-flow-euler");
    QVERIFY(preset_is_network(p));
    Experiment e = build_experiment(p);
    QVERIFY(e.network);
    QVERIFY(e.mixture); // the two-moons mixture it learned, for metrics and the density view
    QCOMPARE(QString::fromStdString(e.mixture->id()), QString("gmm/two-moons"));

    p.model_builtin = "nn/no-such-model";
    const std::string unknown = error_of([&] { build_experiment(p); });
    QVERIFY2(unknown.find("model.builtin: unknown bundled network 'nn/no-such-model'") !=
                 std::string::npos,
             unknown.c_str());
    QVERIFY2(unknown.find("nn/two-moons-flow") != std::string::npos, unknown.c_str());

    p.model_builtin.clear();
    p.model_path = "does/not/exist";
    const std::string missing = error_of([&] { build_experiment(p); });
    QVERIFY2(missing.rfind("model.path: ", 0) == 0, missing.c_str());
    QVERIFY2(missing.find("does/not/exist") != std::string::npos, missing.c_str());

    // JSON round trip of model.path
    p.model_path = bundled_models_dir() + "/two-moons-vp";
    const Preset q = parse_preset(preset_to_string(p), "saved").preset;
    QCOMPARE(QString::fromStdString(q.model_path), QString::fromStdString(p.model_path));
    QVERIFY(build_experiment(q).network);

    const std::string both = error_of([] {
      nlohmann::json j = nlohmann::json::parse(preset_to_string(load("two-moons-mlp-flow-euler")));
      j["model"]["path"] = "x";
      parse_preset(j.dump(), "inline");
    });
    QVERIFY2(both.find("model: give exactly one of 'builtin', 'gmm' and 'path'") !=
                 std::string::npos,
             both.c_str());
  }

  // Metrics a model cannot be judged by are refused naming metrics[i]; presets without a
  // metrics list get the model's defaults.
  void metricsFollowTheModel() {
    const std::string fid_on_mixture = error_of([] {
      Preset p = load("default");
      p.metrics = {"frechet", "fid"};
      build_experiment(p);
    });
    QVERIFY2(fid_on_mixture.find("metrics[1]: 'fid' needs an image model") != std::string::npos,
             fid_on_mixture.c_str());
    const std::string mmd_on_images = error_of([] {
      Preset p = load("fmnist-unet-cfg");
      p.metrics = {"mmd"};
      build_experiment(p);
    });
    QVERIFY2(mmd_on_images.find("metrics[0]: 'mmd' compares against an exact mixture") !=
                 std::string::npos,
             mmd_on_images.c_str());

    nlohmann::json j = nlohmann::json::parse(preset_to_string(load("fmnist-unet-cfg")));
    j.erase("metrics");
    const std::string text = j.dump();
    const Preset p = parse_checked_preset(text, "inline").preset;
    QCOMPARE(p.metrics, std::vector<std::string>{"fid"});
    QVERIFY(!p.metrics_defaulted);
  }

  // The flow MLP learned two moons: its samples are close to the exact mixture (W2² of the
  // Fréchet distance well below the 0.5 of the prior), and sampling it under the VP process
  // (λ-matched time map inside the model) gives the same quality as under its own process.
  void twoDimensionalNetworkSamplesItsData() {
    Preset p = load("two-moons-mlp-flow-euler");
    p.particles = 4000;
    p.metrics = {"frechet"};
    const RunResult own = run_preset(p);
    const double fd_own = own.metrics.values.at("frechet");
    qInfo("two moons, flow MLP, Euler 32 steps: Fréchet %.4f", fd_own);
    // the prior N(0, I) against two moons scores ~0.9: the network must be far better
    QVERIFY2(fd_own < 0.05, qPrintable(QString::number(fd_own)));

    Preset v = p;
    v.process = load("swiss-roll-vp-ddim").process; // vp_linear
    v.schedule = {"logsnr", {{"steps", 24}}, {}, {}};
    v.solver = {"dpmpp_2m", {}, {}, {}};
    const RunResult vp = run_preset(parse_checked_preset(preset_to_string(v), "vp").preset);
    const double fd_vp = vp.metrics.values.at("frechet");
    qInfo("the same network under vp_linear, DPM-Solver++(2M) 24 steps: Fréchet %.4f", fd_vp);
    QVERIFY2(fd_vp < 0.05, qPrintable(QString::number(fd_vp)));
  }

  // Every bundled denoiser runs with every solver under the process it was trained for (a few
  // steps, a few particles): finite samples of the model's shape, NFE as the solver promises.
  void everySolverOnEveryModel() {
    for (const std::string& id : bundled_model_ids()) {
      if (id == "fmnist-classifier")
        continue;
      const bool image = id.rfind("fmnist", 0) == 0;
      const std::unique_ptr<NeuralModel> net = NeuralModel::load(bundled_models_dir() + "/" + id);
      for (const TypeSpec& solver : solver_specs()) {
        const nlohmann::json j = {{"schema", "itslab.preset/1"},
                                  {"seed", 1},
                                  {"model", {{"builtin", "nn/" + id}}},
                                  {"process", {{"type", net->config().process.type}}},
                                  {"schedule", {{"type", "uniform"}, {"steps", image ? 3 : 6}}},
                                  {"solver", {{"type", solver.type}}},
                                  {"particles", {{"count", image ? 3 : 256}}},
                                  {"backend", "cpu"},
                                  {"metrics", nlohmann::json::array()}};
        const std::string text = j.dump();
        const std::string where = id + " / " + solver.type;
        try {
          const RunResult r = run_preset(parse_checked_preset(text, where).preset);
          QVERIFY2(r.result.samples.allFinite(), where.c_str());
          QCOMPARE(r.result.samples.cols(), static_cast<Eigen::Index>(net->dim()));
          QVERIFY2(r.result.nfe >= 3, where.c_str());
        } catch (const Error& e) {
          QFAIL((where + ": " + e.what()).c_str());
        }
      }
    }
  }

  // Classifier metrics and reward on Fashion-MNIST samples; best-of-N by the classifier reward
  // raises the mean reward of the returned samples over plain sampling at the same seed.
  void classifierRewardAndMetrics() {
    Preset p = load("fmnist-unet-cfg");
    p.particles = 16;
    p.schedule.num["steps"] = 8;
    p.metrics = {"fid", "class_accuracy"};
    const RunResult r = run_preset(p);
    const double acc = r.metrics.values.at("class_accuracy");
    const double fid = r.metrics.values.at("fid");
    qInfo("U-Net, class 7 with CFG w = 2, 8 Heun steps, 16 samples: class accuracy %.3f, "
          "FID (classifier features) %.2f",
          acc, fid);
    QVERIFY(std::isfinite(fid) && fid > 0);
    // guided sneakers are recognised as sneakers by an independent classifier
    QVERIFY2(acc >= 0.75, qPrintable(QString::number(acc)));

    Preset b = load("fmnist-unet-fk-steering");
    b.particles = 32;
    b.schedule.num["steps"] = 8;
    b.particle_method = {"best_of_n", {{"group", 8}, {"keep", 1}}, {}, {}};
    const RunResult best = run_preset(b);
    b.particle_method = {"independent", {}, {}, {}};
    const RunResult plain = run_preset(b);
    Preset fk = load("fmnist-unet-fk-steering");
    fk.particles = 32;
    fk.schedule.num["steps"] = 8;
    const RunResult steered = run_preset(fk);
    const auto returned = [](const SampleResult& s) {
      std::vector<double> v;
      for (size_t i = 0; i < (s.selected.empty() ? s.final_reward.size() : s.selected.size()); ++i)
        v.push_back(s.final_reward[s.selected.empty() ? i : static_cast<size_t>(s.selected[i])]);
      return v;
    };
    const double r_best = mean(returned(best.result)), r_plain = mean(returned(plain.result));
    const double r_fk = mean(returned(steered.result));
    qInfo("log p(bag | x), 32 particles, 8 steps: best of 8 %.3f, FK steering (λ = 2) %.3f, "
          "plain %.3f",
          r_best, r_fk, r_plain);
    // the classifier's log-probabilities of non-bags are −5 … −10: raising the mean by half a
    // nat means several more particles became bags
    QVERIFY2(r_best > r_plain + 0.5, qPrintable(QString("%1 vs %2").arg(r_best).arg(r_plain)));
    QVERIFY2(r_fk > r_plain + 0.5, qPrintable(QString("%1 vs %2").arg(r_fk).arg(r_plain)));
  }
};

QTEST_GUILESS_MAIN(TestNetworks)
#include "test_networks.moc"
