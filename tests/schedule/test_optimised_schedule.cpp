#include "backend/backend.hpp"
#include "engine/experiment.hpp"
#include "engine/optimised_schedule.hpp"
#include "engine/run.hpp"

#include <QtTest>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

using namespace itslab;

namespace {
using json = nlohmann::json;
// Eight Gaussians on a VP (linear β) process, CPU backend, seed 11.
Preset preset(const json& schedule, const std::string& solver = "euler", int64_t particles = 2048) {
  const json j = {{"schema", "itslab.preset/1"},
                  {"name", "t"},
                  {"seed", 11},
                  {"model", {{"builtin", "gmm/eight-gaussians"}}},
                  {"process", {{"type", "vp_linear"}}},
                  {"schedule", schedule},
                  {"solver", {{"type", solver}}},
                  {"particles", {{"count", particles}}},
                  {"backend", "cpu"},
                  {"metrics", {"frechet"}}};
  return parse_preset(j.dump(), "test").preset;
}
RowMatrixXf run(const Preset& p) {
  BackendChoice bc = make_backend("cpu");
  return sample(*bc.backend, build_experiment(p), p).samples;
}
double rmse(const RowMatrixXf& a, const RowMatrixXf& b) {
  return std::sqrt((a - b).cast<double>().rowwise().squaredNorm().mean());
}
double frechet(const Preset& p, const RowMatrixXf& X) {
  const Experiment e = build_experiment(p);
  return compute_metrics(*e.mixture, X, {"frechet"}).values.at("frechet");
}
} // namespace

class TestOptimisedSchedule : public QObject {
  Q_OBJECT
private slots:
  // M + 1 nodes, strictly decreasing, from the process's noise end (karras's first node) to 0.
  void bossGridShape() {
    for (int M : {1, 3, 8}) {
      const Preset p =
          preset({{"type", "boss"}, {"steps", M}, {"candidates", 60}, {"particles", 64}});
      const Experiment e = build_experiment(p);
      QCOMPARE(e.grid.steps(), M);
      const Experiment k = build_experiment(preset({{"type", "karras"}, {"steps", 4}}));
      QVERIFY(std::abs(e.grid.sigma[0] - k.grid.sigma[0]) < 1e-9 * k.grid.sigma[0]);
      QCOMPARE(e.grid.sigma[M], 0.0);
      for (int i = 0; i < M; ++i)
        QVERIFY(e.grid.sigma[i] > e.grid.sigma[i + 1]);
    }
  }

  // At equal NFE, euler on boss's grid ends closer to a fine Heun reference (same noise) than
  // on the uniform-in-t grid.
  void bossBeatsUniform() {
    const RowMatrixXf ref = run(preset({{"type", "karras"}, {"steps", 400}}, "heun", 1024));
    for (int M : {4, 6, 10}) {
      const double e_boss = rmse(
          run(preset({{"type", "boss"}, {"steps", M}, {"candidates", 120}}, "euler", 1024)), ref);
      const double e_uni =
          rmse(run(preset({{"type", "uniform"}, {"steps", M}}, "euler", 1024)), ref);
      const double e_kar =
          rmse(run(preset({{"type", "karras"}, {"steps", M}}, "euler", 1024)), ref);
      qInfo("vp_linear euler M=%d RMSE vs reference: boss %.4f uniform %.4f karras %.4f", M, e_boss,
            e_uni, e_kar);
      QVERIFY(e_boss < e_uni);
    }
  }

  // search lowers its fitness below its initial population's best (which holds karras) and
  // so beats or matches karras at 6 steps of euler on eight-gaussians.
  void searchImproves() {
    const Preset p = preset({{"type", "search"}, {"steps", 6}, {"particles", 1024}});
    const Experiment e = build_experiment(p);
    const ScheduleParams s = schedule_params(p.schedule);
    const OptimisedSchedule r = optimise_schedule(e, p, s);
    QVERIFY(r.cached);
    QCOMPARE(static_cast<int>(r.history.size()), s.generations + 1);
    const Experiment k = build_experiment(preset({{"type", "karras"}, {"steps", 6}}));
    const std::vector<double> ks(k.grid.sigma.begin(), k.grid.sigma.end() - 1);
    const double f_kar = schedule_fitness(e, p, s, ks);
    // held out: the preset's own noise seed and a metric reference of its own
    const Preset pk = preset({{"type", "karras"}, {"steps", 6}});
    const double h_search = frechet(p, run(p)), h_kar = frechet(pk, run(pk));
    qInfo("search 6 euler FD: initial best %.5f -> final %.5f (karras %.5f); held-out %.5f vs "
          "karras %.5f; %lld NFE/particle",
          r.history.front(), r.history.back(), f_kar, h_search, h_kar,
          static_cast<long long>(r.search_nfe));
    QVERIFY(r.history.back() < r.history.front());
    QVERIFY(r.objective <= f_kar * (1 + 1e-6));
  }

  // A second build of the same preset is answered from the cache: identical grid, fast.
  void cacheHit() {
    const Preset p = preset({{"type", "boss"}, {"steps", 5}, {"candidates", 80}});
    const Experiment a = build_experiment(p);
    const auto t0 = std::chrono::steady_clock::now();
    const Experiment b = build_experiment(p);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    QVERIFY(a.grid.sigma == b.grid.sigma && a.grid.t == b.grid.t);
    QVERIFY(optimise_schedule(b, p, schedule_params(p.schedule)).cached);
    QVERIFY2(ms < 100, qPrintable(QString::number(ms)));
  }

  // The exported custom schedule (JSON text round trip) reproduces the samples bit for bit.
  void exportReproduces() {
    for (const char* type : {"boss", "search"}) {
      const Preset p = preset(std::string(type) == "boss"
                                  ? json{{"type", type}, {"steps", 6}, {"candidates", 80}}
                                  : json{{"type", type}, {"steps", 6}, {"generations", 2}});
      const Experiment e = build_experiment(p);
      nlohmann::json j{{"type", "custom"},
                       {"sigmas", optimise_schedule(e, p, schedule_params(p.schedule)).sigmas}};
      const Preset c = preset(j);
      const RowMatrixXf a = run(p), b = run(c);
      QVERIFY(build_experiment(c).grid.t == e.grid.t);
      QVERIFY(a.rows() == b.rows() && (a.array() == b.array()).all());
    }
  }
};

QTEST_APPLESS_MAIN(TestOptimisedSchedule)
#include "test_optimised_schedule.moc"
