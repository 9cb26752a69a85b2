#include "core/error.hpp"
#include "engine/run.hpp"
#include "metric/frechet.hpp"
#include "metric/mmd.hpp"
#include "solver/solver_test_util.hpp"

#include <QtTest>
#include <cmath>

using namespace itslab;
using namespace itslab::solver_test;

class TestSolversExtra : public QObject {
  Q_OBJECT
private slots:
  void orders_data() {
    QTest::addColumn<QString>("process");
    QTest::addColumn<QString>("schedule");
    QTest::addColumn<QString>("solver");
    QTest::addColumn<QString>("extra");
    QTest::addColumn<double>("order");
    QTest::addColumn<double>("band");
    QTest::addColumn<int>("M0"); // fitted over M0 · {1, 1.5, 2, 3, 4} steps
    QTest::newRow("edm/dpmpp_3m") << "edm"
                                  << "karras"
                                  << "dpmpp_3m"
                                  << "" << 3.0 << 0.3 << 64;
    QTest::newRow("vp_linear/dpmpp_3m") << "vp_linear"
                                        << "logsnr"
                                        << "dpmpp_3m"
                                        << "" << 3.0 << 0.3 << 32;
    QTest::newRow("edm/dpmpp_3m_sde η=0") << "edm"
                                          << "karras"
                                          << "dpmpp_3m_sde"
                                          << R"(, "eta": 0)" << 3.0 << 0.3 << 64;
    QTest::newRow("edm/dpmpp_2m_sde η=0") << "edm"
                                          << "karras"
                                          << "dpmpp_2m_sde"
                                          << R"(, "eta": 0)" << 2.0 << 0.3 << 32;
    QTest::newRow("edm/dpmpp_2m_sde η=0 heun")
        << "edm"
        << "karras"
        << "dpmpp_2m_sde"
        << R"(, "eta": 0, "solver_type": "heun")" << 2.0 << 0.3 << 32;
    QTest::newRow("edm/euler churn off") << "edm"
                                         << "karras"
                                         << "euler"
                                         << R"(, "s_churn": 0)" << 1.0 << 0.3 << 32;
    QTest::newRow("edm/heun churn off") << "edm"
                                        << "karras"
                                        << "heun"
                                        << R"(, "s_churn": 0)" << 2.0 << 0.3 << 32;
    QTest::newRow("edm/momentum ghvb 1.8") << "edm"
                                           << "karras"
                                           << "momentum"
                                           << R"(, "momentum": 1.8)" << 2.0 << 0.3 << 32;
    QTest::newRow("edm/momentum hb 1.8")
        << "edm"
        << "karras"
        << "momentum"
        << R"(, "momentum": 1.8, "method": "hb")" << 1.0 << 0.3 << 32;
  }

  // Global error at σ_min (before the step into σ = 0, solvers note §12.2) against a 3000-step
  // dpmpp_3m run from the same noise (its own error ~C/3000³ is far below every error fitted; the
  // float32 rounding floor of either run is ~1e-6 on edm, ~1e-5 on vp_linear). Third order on
  // edm is fitted over 64–256 steps (errors 1.2e-3 … 1.5e-5; 32–128 is still pre-asymptotic there,
  // slope 3.35, as the note's 3.26–3.37 over 20–160), on vp_linear over 32–128 (7e-5 at 128,
  // where the float32 floor stays an order below). The note §12.3 has 3.1–3.4 for exact-D2 3M
  // (the published −φ3 weight falls to 2), 2.0–2.1 for second-order methods, ≈1 for HB (β < 1)
  // and ≈2 for GHVB 1.8 on Karras grids (GHVB 1.8 is 1.7 over 32–128 here, still approaching 2).
  void orders() {
    QFETCH(QString, process);
    QFETCH(QString, schedule);
    QFETCH(QString, solver);
    QFETCH(QString, extra);
    QFETCH(double, order);
    QFETCH(double, band);
    QFETCH(int, M0);
    const int n = 256;
    const RowMatrixXf ref = run_until(
        make_preset(process.toStdString(), schedule.toStdString(), 3000, "dpmpp_3m", n), 2999);
    const std::vector<int> steps = {M0, 3 * M0 / 2, 2 * M0, 3 * M0, 4 * M0};
    std::vector<double> err;
    for (int M : steps) {
      const Preset p =
          make_preset(process.toStdString(), schedule.toStdString(), M, solver.toStdString(), n,
                      "gmm/eight-gaussians", extra.toStdString());
      err.push_back(rms(run_until(p, M - 1), ref));
    }
    const double s = slope(steps, err);
    qInfo("%s %s%s: errors %.3g … %.3g, slope %.3f", qPrintable(process), qPrintable(solver),
          qPrintable(extra), err.front(), err.back(), s);
    QVERIFY2(std::abs(s - order) < band, qPrintable(QString("slope %1").arg(s)));
    QVERIFY(err.back() > 1e-5); // well above the float32 floor
  }

  // Churn off must not change a bit: the default path of euler/heun is the old arithmetic, and
  // a churn whose [s_tmin, s_tmax] window holds no node is off too.
  void churnOffIsBitIdentical() {
    for (const char* s : {"euler", "heun"}) {
      const RowMatrixXf base = run_until(make_preset("edm", "karras", 12, s, 64), 12);
      const RowMatrixXf off =
          run_until(make_preset("edm", "karras", 12, s, 64, "gmm/eight-gaussians",
                                R"(, "s_churn": 0, "s_noise": 1.003)"),
                    12);
      const RowMatrixXf window =
          run_until(make_preset("edm", "karras", 12, s, 64, "gmm/eight-gaussians",
                                R"(, "s_churn": 40, "s_tmin": 100, "s_tmax": 200)"),
                    12);
      QVERIFY2((base.array() == off.array()).all(), s);
      QVERIFY2((base.array() == window.array()).all(), s);
      const RowMatrixXf on = run_until(
          make_preset("edm", "karras", 12, s, 64, "gmm/eight-gaussians", R"(, "s_churn": 40)"), 12);
      QVERIFY2(rms(base, on) > 1e-3, s); // and churn on does change the result
    }
  }

  // Identities from the note (§4.2, §6, §13 item 1): ddpm(posterior) = ddim(η = 1) =
  // exponential euler_maruyama(γ = 1) on any process; its first step is the first step of
  // dpmpp_2m_sde(η = 1); the SDE multistep solvers with η = 0 are the ODE ones. Differences are
  // float32 rounding of values of size ~3 only.
  void identities() {
    for (const char* proc : {"edm", "vp_cosine", "flow_linear"}) {
      const std::string sched = std::string(proc) == "flow_linear" ? "uniform" : "karras";
      const RowMatrixXf ddpm = run_until(make_preset(proc, sched, 15, "ddpm", 300), 15);
      const RowMatrixXf ddim1 = run_until(
          make_preset(proc, sched, 15, "ddim", 300, "gmm/eight-gaussians", R"(, "eta": 1)"), 15);
      const RowMatrixXf em1 = run_until(make_preset(proc, sched, 15, "euler_maruyama", 300), 15);
      QVERIFY2(rms(ddpm, ddim1) < 1e-5, proc);
      QVERIFY2(rms(ddpm, em1) < 1e-5, proc);
      const RowMatrixXf ddpm1 = run_until(make_preset(proc, sched, 15, "ddpm", 300), 1);
      const RowMatrixXf sde1 = run_until(make_preset(proc, sched, 15, "dpmpp_2m_sde", 300), 1);
      QVERIFY2(rms(ddpm1, sde1) < 1e-5, proc);
      const RowMatrixXf beta =
          run_until(make_preset(proc, sched, 15, "ddpm", 300, "gmm/eight-gaussians",
                                R"(, "variance": "beta")"),
                    15);
      QVERIFY2(beta.allFinite() && rms(beta, ddpm) > 1e-3, proc);
      const RowMatrixXf m2 = run_until(make_preset(proc, sched, 15, "dpmpp_2m", 300), 15);
      const RowMatrixXf s2 = run_until(
          make_preset(proc, sched, 15, "dpmpp_2m_sde", 300, "gmm/eight-gaussians", R"(, "eta": 0)"),
          15);
      QVERIFY2(rms(m2, s2) < 1e-5, proc);
      const RowMatrixXf m3 = run_until(make_preset(proc, sched, 15, "dpmpp_3m", 300), 15);
      const RowMatrixXf s3 = run_until(
          make_preset(proc, sched, 15, "dpmpp_3m_sde", 300, "gmm/eight-gaussians", R"(, "eta": 0)"),
          15);
      QVERIFY2(rms(m3, s3) < 1e-5, proc);
      QVERIFY2(rms(m3, m2) > 1e-4, proc); // the third-order terms really act
    }
  }

  // NFE: M for every new one-evaluation solver, 2M − 1 for heun with churn, M·(corrector_steps + 1)
  // for pc_langevin (note §13 item 3).
  void nfe() {
    const std::pair<const char*, const char*> cases[] = {{"dpmpp_2m_sde", ""},
                                                         {"dpmpp_3m", ""},
                                                         {"dpmpp_3m_sde", ""},
                                                         {"ddpm", ""},
                                                         {"ddpm", R"(, "variance": "beta")"},
                                                         {"momentum", ""},
                                                         {"euler", R"(, "s_churn": 40)"}};
    for (const auto& [s, extra] : cases) {
      int nfe = 0;
      run_until(make_preset("edm", "karras", 10, s, 8, "gmm/eight-gaussians", extra), 10, &nfe);
      QCOMPARE(nfe, 10);
    }
    int nfe = 0;
    run_until(
        make_preset("edm", "karras", 10, "heun", 8, "gmm/eight-gaussians", R"(, "s_churn": 40)"),
        10, &nfe);
    QCOMPARE(nfe, 19);
    run_until(make_preset("edm", "karras", 10, "pc_langevin", 8), 10, &nfe);
    QCOMPARE(nfe, 20);
    run_until(make_preset("edm", "karras", 10, "pc_langevin", 8, "gmm/eight-gaussians",
                          R"(, "corrector_steps": 3)"),
              10, &nfe);
    QCOMPARE(nfe, 40);
  }

  void distributions_data() {
    QTest::addColumn<QString>("process");
    QTest::addColumn<QString>("schedule");
    QTest::addColumn<QString>("solver");
    QTest::addColumn<QString>("extra");
    for (const char* proc : {"edm", "vp_linear"}) {
      const char* sched = std::string(proc) == "edm" ? "karras" : "logsnr";
      const auto row = [&](const char* s, const char* extra, const char* tag) {
        QTest::newRow((std::string(proc) + "/" + s + tag).c_str()) << proc << sched << s << extra;
      };
      const bool edm = std::string(proc) == "edm"; // vp_linear: a subset, to bound the run time
      row("dpmpp_2m_sde", "", "");
      if (edm)
        row("dpmpp_2m_sde", R"(, "solver_type": "heun", "eta": 0.5)", " heun η=0.5");
      row("dpmpp_3m_sde", "", "");
      if (edm)
        row("ddpm", "", "");
      row("ddpm", R"(, "variance": "beta")", " beta");
      row("heun", R"(, "s_churn": 40, "s_tmin": 0.05, "s_tmax": 50, "s_noise": 1.003)", " churn");
      if (edm)
        row("euler", R"(, "s_churn": 40, "s_tmin": 0.05, "s_tmax": 50)", " churn");
      row("pc_langevin", "", "");
      if (edm)
        row("pc_langevin", R"(, "step_norm": "sigma")", " sigma");
    }
    QTest::newRow("flow/dpmpp_3m_sde") << "flow_linear"
                                       << "uniform"
                                       << "dpmpp_3m_sde"
                                       << "";
    QTest::newRow("flow/ddpm beta") << "flow_linear"
                                    << "uniform"
                                    << "ddpm"
                                    << R"(, "variance": "beta")";
  }

  // With the exact denoiser and 200 steps the stochastic solvers sample p0. The bounds are those
  // of test_solvers.cpp: the floor of a perfect sampler against this reference (exact samples vs
  // exact samples, 8 seeds) is FD 0.009 ± 0.004 at n = 4096, hence ≈ 0.0025 at n = 16384 (the FD
  // bias ∝ 1/n), bound 0.01; MMD² on 4096 points 1.3e-4 ± 1.5e-4, bound 1e-3 (≈ 6 std). Measured
  // here: FD 1.9e-4 … 1.8e-3, MMD² below 1.5e-4 (churn, whose noise is injected over only part
  // of the grid, is the largest). That convergence is real, not a bound too loose to see a
  // coarse run, is checked by converge() and by the identities with already-tested solvers.
  void distributions() {
    QFETCH(QString, process);
    QFETCH(QString, schedule);
    QFETCH(QString, solver);
    QFETCH(QString, extra);
    expect_at_floor(process, schedule, solver, extra);
  }

  // The samplers without a pathwise order converge in distribution: FD against exact samples
  // falls from 8 to 32 to 128 steps (n = 8192; the FD floor there, ≈ 0.005, is below the
  // 128-step values only for well-converged runs, so the last comparison allows that floor).
  void converge() {
    const std::pair<const char*, const char*> cases[] = {
        {"pc_langevin", ""},
        {"pc_langevin", R"(, "step_norm": "sigma", "corrector_steps": 2)"},
        {"momentum", ""},
        {"momentum", R"(, "method": "hb", "momentum": 0.8)"},
        {"momentum", R"(, "momentum": 3)"}};
    for (const auto& [s, extra] : cases) {
      std::vector<double> fds;
      for (int M : {8, 32, 128})
        fds.push_back(
            fd_mmd(make_preset("edm", "karras", M, s, 8192, "gmm/eight-gaussians", extra), M)
                .first);
      qInfo("%s%s: FD %.4g, %.4g, %.4g at 8/32/128 steps", s, extra, fds[0], fds[1], fds[2]);
      QVERIFY2(fds[1] < fds[0], s);
      QVERIFY2(fds[2] < std::max(fds[1], 0.005), s);
      QVERIFY2(fds[2] < 0.02, s);
    }
  }

  // Flow starts at t = 1 where α = 0: every new solver stays finite there.
  void flowStartsAtPureNoise() {
    for (const char* s :
         {"dpmpp_2m_sde", "dpmpp_3m", "dpmpp_3m_sde", "ddpm", "pc_langevin", "momentum"}) {
      const RowMatrixXf X = run_until(make_preset("flow_linear", "uniform", 8, s, 64), 8);
      QVERIFY2(X.allFinite(), s);
    }
    const RowMatrixXf X = run_until(make_preset("flow_linear", "uniform", 8, "ddpm", 64,
                                                "gmm/eight-gaussians", R"(, "variance": "beta")"),
                                    8);
    QVERIFY(X.allFinite());
  }
};

QTEST_APPLESS_MAIN(TestSolversExtra)
#include "test_solvers_extra.moc"
