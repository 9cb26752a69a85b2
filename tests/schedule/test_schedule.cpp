#include "core/error.hpp"
#include "schedule/schedule.hpp"

#include <QtTest>
#include <cmath>

using namespace itslab;

namespace {
std::unique_ptr<Process> process(const std::string& type) {
  ProcessParams p;
  p.type = type;
  if (type == "ve")
    p.sigma_min = 0.01, p.sigma_max = 50;
  return make_process(p);
}
StepGrid grid(const std::string& type, int steps, const Process& P) {
  ScheduleParams s;
  s.type = type;
  s.steps = steps;
  return make_schedule(s, P);
}
} // namespace

class TestSchedule : public QObject {
  Q_OBJECT
private slots:
  // Every schedule on every process: M + 1 nodes, strictly decreasing in noise, ending at the
  // data end (σ = 0, α = 1), starting at the process's noise end.
  void monotoneWithEndpoints() {
    for (const char* pt : {"vp_linear", "vp_cosine", "ve", "edm", "flow_linear"}) {
      const auto P = process(pt);
      for (const char* st : {"uniform", "logsnr", "karras", "cosine", "exponential",
                             "polyexponential", "ays", "time_shift"}) {
        for (int M : {1, 2, 7, 30}) {
          const StepGrid g = grid(st, M, *P);
          const QString what = QString("%1 %2 M=%3").arg(pt, st).arg(M);
          QVERIFY2(g.steps() == M, qPrintable(what));
          for (int i = 0; i < M; ++i) {
            QVERIFY2(g.sigma[i] > g.sigma[i + 1], qPrintable(what));
            QVERIFY2(g.t[i] > g.t[i + 1], qPrintable(what));
            QVERIFY(g.sigma[i] > 0);
          }
          QCOMPARE(g.sigma[M], 0.0);
          QCOMPARE(g.point[M].alpha, 1.0);
          QCOMPARE(g.point[M].sigma, 0.0);
          const bool in_time = std::string(st) == "uniform" || std::string(st) == "time_shift";
          if (in_time) {
            // grids in process time start at t_max (a shift keeps both ends of [0, t_max])
            QVERIFY2(std::abs(g.t[0] - P->t_max()) < 1e-12, qPrintable(what));
            if (M > 1 && P->t_min() > 0 && std::string(st) == "uniform")
              QVERIFY(std::abs(g.t[M - 1] - P->t_min()) < 1e-12);
          } else {
            // σ-space schedules start at σ_edm(t_max) (clipped to t = 0.999 for flow)
            const double top = P->is_flow() ? P->sigma_edm(0.999) : P->sigma_edm(P->t_max());
            QVERIFY2(std::abs(g.sigma[0] - top) <= 1e-9 * top, qPrintable(what));
          }
        }
      }
    }
  }

  // EDM's published 18-step Karras grid (ρ = 7, σ ∈ [0.002, 80]), to its 4-5 printed digits.
  void karrasEdmValues() {
    const auto P = process("edm");
    ScheduleParams s;
    s.type = "karras";
    s.steps = 18;
    const StepGrid g = make_schedule(s, *P);
    const double want[] = {80,     57.586, 40.7856, 28.3746, 19.3525, 12.9101, 8.4009,
                           5.3152, 3.2568, 1.9233,  1.0882,  0.5853,  0.2964,  0.1395,
                           0.0599, 0.0229, 0.0075,  0.002,   0};
    for (int i = 0; i <= 18; ++i)
      QVERIFY2(std::abs(g.sigma[i] - want[i]) < 5e-4 * std::max(1.0, want[i]),
               qPrintable(QString::number(i) + ": " + QString::number(g.sigma[i])));
  }

  // Cosine grid, s = 0.008, σ ∈ [0.002, 80], M = 10 (processes note §3.2), 4 decimals.
  void cosineValues() {
    const auto P = process("edm");
    const StepGrid g = grid("cosine", 10, *P);
    const double want[] = {80,     5.3657, 2.6892, 1.7155, 1.1884, 0.8414,
                           0.5829, 0.3717, 0.1861, 0.002,  0};
    for (int i = 0; i <= 10; ++i)
      QVERIFY2(std::abs(g.sigma[i] - want[i]) < 1e-4 * std::max(1.0, want[i]),
               qPrintable(QString::number(i) + ": " + QString::number(g.sigma[i], 'g', 8)));
  }

  void logsnrIsUniformInLambda() {
    const auto P = process("vp_linear");
    const StepGrid g = grid("logsnr", 12, *P);
    const double h = g.lambda(1) - g.lambda(0);
    for (int i = 0; i + 1 < 12; ++i)
      QVERIFY(std::abs(g.lambda(i + 1) - g.lambda(i) - h) < 1e-9);
    // exponential is the same grid in σ_edm
    const StepGrid e = grid("exponential", 12, *P);
    for (int i = 0; i <= 12; ++i)
      QVERIFY(std::abs(e.sigma[i] - g.sigma[i]) < 1e-9 * std::max(1.0, g.sigma[i]));
  }

  // Flow's uniform grid is linspace(1, 0, M + 1) (Flux / diffusers).
  void flowUniform() {
    const auto P = process("flow_linear");
    const StepGrid g = grid("uniform", 4, *P);
    const double want[] = {1, 0.75, 0.5, 0.25, 0};
    for (int i = 0; i <= 4; ++i)
      QVERIFY(std::abs(g.t[i] - want[i]) < 1e-15);
    QVERIFY(std::isinf(g.sigma[0]));
  }

  void custom() {
    const auto P = process("edm");
    ScheduleParams s;
    s.type = "custom";
    s.sigmas = {10, 1, 0.1};
    const StepGrid g = make_schedule(s, *P);
    QCOMPARE(g.steps(), 3);
    QCOMPARE(g.sigma[1], 1.0);
    s.sigmas = {10, 1, 0.1, 0};
    QCOMPARE(make_schedule(s, *P).steps(), 3);
    s.sigmas = {1, 10};
    QVERIFY_THROWS_EXCEPTION(Error, make_schedule(s, *P));
    s.sigmas = {};
    s.times = {0.9, 0.5};
    const auto V = process("vp_linear");
    QVERIFY(std::abs(make_schedule(s, *V).t[1] - 0.5) < 1e-15);
  }

  // Published references (processes note §3.5): AYS(SD1, 20), AYS(SD1, 5), AYS(SDXL, 5), to the
  // 4 decimals printed; at M = 10 the interpolation returns the table itself.
  void alignYourSteps() {
    const double sd1_20[] = {14.6146, 9.7275, 6.4746, 5.0016, 3.8637, 3.2266, 2.6946,
                             2.2533,  1.8842, 1.6209, 1.3944, 1.1595, 0.9643, 0.7931,
                             0.6524,  0.5094, 0.3977, 0.2455, 0.1515, 0.0665};
    const std::vector<double> a = ays_sigmas("sd15", 20);
    for (int i = 0; i < 20; ++i)
      QVERIFY2(std::abs(a[i] - sd1_20[i]) < 6e-5 * std::max(1.0, sd1_20[i]),
               qPrintable(QString::number(i)));
    const double sd1_5[] = {14.6146, 3.8637, 1.8842, 0.9643, 0.3977};
    const double sdxl_5[] = {14.6146, 3.7682, 1.3405, 0.5551, 0.2332};
    const auto P = process("edm");
    ScheduleParams s;
    s.type = "ays";
    s.steps = 5;
    s.range = "table";
    StepGrid g = make_schedule(s, *P);
    for (int i = 0; i < 5; ++i)
      QVERIFY(std::abs(g.sigma[i] - sd1_5[i]) < 6e-5 * std::max(1.0, sd1_5[i]));
    QCOMPARE(g.sigma[5], 0.0); // ComfyUI: the last level is replaced by the data end
    s.table = "sdxl";
    g = make_schedule(s, *P);
    for (int i = 0; i < 5; ++i)
      QVERIFY(std::abs(g.sigma[i] - sdxl_5[i]) < 6e-5 * std::max(1.0, sdxl_5[i]));
    QCOMPARE(ays_sigmas("sdxl", 10)[3], 2.1811480769);
    // rescaled to the process: starts at σ_max
    s.range = "process";
    s.steps = 12;
    g = make_schedule(s, *P);
    QVERIFY(std::abs(g.sigma[0] - 80) < 1e-9);
    QVERIFY(g.sigma[11] > 0.002 && g.sigma[11] < g.sigma[10]);
    s.table = "sd3";
    QVERIFY_THROWS_EXCEPTION(Error, make_schedule(s, *P));
  }

  // SD3 shift s = 3 on a 10-step flow grid (processes note §3.4), 4 decimals; s = 1 is uniform.
  void timeShift() {
    const auto P = process("flow_linear");
    ScheduleParams s;
    s.type = "time_shift";
    s.steps = 10;
    s.shift = 3;
    const double want[] = {1, 0.9643, 0.9231, 0.875, 0.8182, 0.75, 0.6667, 0.5625, 0.4286, 0.25, 0};
    const StepGrid g = make_schedule(s, *P);
    for (int i = 0; i <= 10; ++i)
      QVERIFY(std::abs(g.t[i] - want[i]) < 5e-5);
    // in log-SNR the shift is λ' = λ − log s
    const StepGrid u = grid("uniform", 10, *P);
    for (int i = 1; i < 10; ++i)
      QVERIFY(std::abs(g.lambda(i) - (u.lambda(i) - std::log(3.0))) < 1e-12);
    s.shift = 1;
    const StepGrid same = make_schedule(s, *P);
    for (int i = 0; i <= 10; ++i)
      QVERIFY(std::abs(same.t[i] - u.t[i]) < 1e-15);
  }

  void polyexponential() {
    const auto P = process("edm");
    ScheduleParams s;
    s.type = "polyexponential";
    s.steps = 9;
    s.rho = 1;
    const StepGrid g = make_schedule(s, *P), e = grid("exponential", 9, *P);
    for (int i = 0; i <= 9; ++i)
      QVERIFY(std::abs(g.sigma[i] - e.sigma[i]) < 1e-9 * std::max(1.0, e.sigma[i]));
    s.rho = 2; // more steps near σ_min: the middle node is lower than the exponential one
    QVERIFY(make_schedule(s, *P).sigma[4] < e.sigma[4]);
  }

  void errors() {
    const auto P = process("edm");
    ScheduleParams s;
    s.type = "bogus";
    QVERIFY_THROWS_EXCEPTION(Error, make_schedule(s, *P));
    s.type = "karras";
    s.steps = 0;
    try {
      make_schedule(s, *P);
      QFAIL("expected an error");
    } catch (const Error& e) {
      QVERIFY(QString(e.what()).startsWith("schedule.steps: must be ≥ 1"));
    }
  }
};

QTEST_APPLESS_MAIN(TestSchedule)
#include "test_schedule.moc"
