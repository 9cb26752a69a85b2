#include "engine/run.hpp"
#include "metric/frechet.hpp"
#include "metric/mmd.hpp"
#include "solver/solver_test_util.hpp"

#include <QtTest>
#include <cmath>

using namespace itslab;
using namespace itslab::solver_test;

// deis (tAB in log ρ, note §7) and unipc (UniP-p + UniC-p, note §8).
class TestSolversMultistep : public QObject {
  Q_OBJECT
private slots:
  void orders_data() {
    QTest::addColumn<QString>("solver");
    QTest::addColumn<QString>("extra");
    QTest::addColumn<double>("order");
    QTest::addColumn<double>("band");
    QTest::addColumn<int>("M0"); // fitted over M0 · {1, 1.5, 2, 3, 4} steps
    QTest::newRow("deis q=1") << "deis"
                              << R"(, "order": 1)" << 1.0 << 0.3 << 32;
    QTest::newRow("deis q=2") << "deis"
                              << R"(, "order": 2)" << 2.0 << 0.3 << 64;
    QTest::newRow("deis q=3") << "deis"
                              << R"(, "order": 3)" << 3.0 << 0.3 << 64;
    QTest::newRow("unipc p=1 bh1")
        << "unipc"
        << R"(, "order": 1, "variant": "bh1", "lower_order_final": 0)" << 2.0 << 0.3 << 64;
    QTest::newRow("unipc p=2 bh2") << "unipc"
                                   << R"(, "order": 2, "lower_order_final": 0)" << 3.0 << 0.3 << 32;
    QTest::newRow("unipc p=3 bh2") << "unipc"
                                   << R"(, "order": 3, "lower_order_final": 0)" << 4.0 << 0.4 << 32;
    QTest::newRow("unipc p=2 corrector off")
        << "unipc"
        << R"(, "order": 2, "corrector": 0, "lower_order_final": 0)" << 2.0 << 0.3 << 32;
  }

  // Global error at σ_min (note §12.2) on edm/Karras against a 3000-step dpmpp_3m run from the
  // same noise, as test_solvers_extra.cpp. The issue asks for "UniPC and DEIS at their order";
  // the note (§8, §12.3) shows that UniPC's order is p + 1 with the corrector on (p without it),
  // DEIS's is q, so those are the bands. The state at σ_min is the last *predictor* output (its
  // corrector comes with the next model call), whose local error O(h^{p+1}) keeps the global
  // order p + 1; lower_order_final is off here because with it that last predictor is UniP-1/2
  // and caps what is visible at σ_min (not what the corrected trajectory has).
  void orders() {
    QFETCH(QString, solver);
    QFETCH(QString, extra);
    QFETCH(double, order);
    QFETCH(double, band);
    QFETCH(int, M0);
    const int n = 256;
    const RowMatrixXf ref = run_until(make_preset("edm", "karras", 3000, "dpmpp_3m", n), 2999);
    const std::vector<int> steps = {M0, 3 * M0 / 2, 2 * M0, 3 * M0, 4 * M0};
    std::vector<double> err;
    for (int M : steps) {
      const Preset p = make_preset("edm", "karras", M, solver.toStdString(), n,
                                   "gmm/eight-gaussians", extra.toStdString());
      err.push_back(rms(run_until(p, M - 1), ref));
    }
    const double s = slope(steps, err);
    qInfo("%s%s: errors %.3g … %.3g, slope %.3f", qPrintable(solver), qPrintable(extra),
          err.front(), err.back(), s);
    QVERIFY2(std::abs(s - order) < band, qPrintable(QString("slope %1").arg(s)));
  }
  // Note §13 item 1: deis(order 1) and unipc(order 1, corrector off) are euler = DDIM(η = 0) on
  // any grid; float32 rounding of values of size ~3 only.
  void identities() {
    for (const char* proc : {"edm", "vp_cosine", "flow_linear"}) {
      const std::string sched = std::string(proc) == "flow_linear" ? "uniform" : "karras";
      const RowMatrixXf ddim = run_until(make_preset(proc, sched, 15, "ddim", 300), 15);
      const RowMatrixXf d1 = run_until(
          make_preset(proc, sched, 15, "deis", 300, "gmm/eight-gaussians", R"(, "order": 1)"), 15);
      const RowMatrixXf u1 =
          run_until(make_preset(proc, sched, 15, "unipc", 300, "gmm/eight-gaussians",
                                R"(, "order": 1, "corrector": 0)"),
                    15);
      QVERIFY2(rms(ddim, d1) < 1e-5, proc);
      QVERIFY2(rms(ddim, u1) < 1e-5, proc);
      if (std::string(proc) != "flow_linear") {
        const RowMatrixXf e = run_until(make_preset(proc, sched, 15, "euler", 300), 15);
        QVERIFY2(rms(e, d1) < 1e-5, proc);
      }
      // the higher orders and the corrector really act
      const RowMatrixXf d3 = run_until(make_preset(proc, sched, 15, "deis", 300), 15);
      const RowMatrixXf u2 = run_until(make_preset(proc, sched, 15, "unipc", 300), 15);
      QVERIFY2(rms(d3, d1) > 1e-4 && rms(u2, u1) > 1e-4, proc);
    }
  }

  // NFE = M: UniC reuses the model value of the next step, and the last one needs none.
  void nfe() {
    for (const char* extra : {R"(, "order": 1)", R"(, "order": 2)", R"(, "order": 3)"}) {
      for (const char* s : {"deis", "unipc"}) {
        int nfe = 0;
        run_until(make_preset("edm", "karras", 10, s, 8, "gmm/eight-gaussians", extra), 10, &nfe);
        QCOMPARE(nfe, 10);
      }
    }
    int nfe = 0;
    run_until(make_preset("edm", "karras", 10, "unipc", 8, "gmm/eight-gaussians",
                          R"(, "order": 3, "variant": "bh1")"),
              10, &nfe);
    QCOMPARE(nfe, 10);
  }

  void distributions_data() {
    QTest::addColumn<QString>("process");
    QTest::addColumn<QString>("schedule");
    QTest::addColumn<QString>("solver");
    QTest::addColumn<QString>("extra");
    QTest::newRow("edm/deis") << "edm"
                              << "karras"
                              << "deis"
                              << "";
    QTest::newRow("edm/unipc") << "edm"
                               << "karras"
                               << "unipc"
                               << "";
    QTest::newRow("vp_linear/unipc bh1 p=3") << "vp_linear"
                                             << "logsnr"
                                             << "unipc"
                                             << R"(, "order": 3, "variant": "bh1")";
    QTest::newRow("flow/deis") << "flow_linear"
                               << "uniform"
                               << "deis"
                               << "";
  }

  // 200 steps with the exact denoiser sample p0. Bounds as test_solvers.cpp: the floor of a
  // perfect sampler is FD ≈ 0.0025 at n = 16384 (bound 0.01) and MMD² 1.3e-4 ± 1.5e-4 on 4096
  // points (bound 1e-3, ≈ 6 std).
  void distributions() {
    QFETCH(QString, process);
    QFETCH(QString, schedule);
    QFETCH(QString, solver);
    QFETCH(QString, extra);
    expect_at_floor(process, schedule, solver, extra);
  }

  // Flow starts at t = 1 where α = 0 (λ = −∞): the first step is first order and the history
  // restarts after it; bh1 (B = −h) must not produce NaN there nor at σ = 0 (note §1.3).
  void flowStartsAtPureNoise() {
    for (const char* extra : {"", R"(, "order": 3, "variant": "bh1")", R"(, "order": 1)",
                              R"(, "order": 3, "lower_order_final": 0)"}) {
      for (const char* s : {"deis", "unipc"}) {
        const RowMatrixXf X = run_until(
            make_preset("flow_linear", "uniform", 8, s, 64, "gmm/eight-gaussians", extra), 8);
        QVERIFY2(X.allFinite(), s);
      }
    }
  }
};

QTEST_APPLESS_MAIN(TestSolversMultistep)
#include "test_solvers_multistep.moc"
