#pragma once
// Shared by the solver tests: presets built from a few fields, runs that stop at any grid node,
// and the error measures the order tests fit.
#include "backend/cpu/cpu_backend.hpp"
#include "engine/run.hpp"
#include "metric/frechet.hpp"
#include "metric/mmd.hpp"

#include <QtTest>
#include <cmath>
#include <string>
#include <vector>

namespace itslab::solver_test {

// "edm" → {"type": "edm"}; a string starting with '{' is used as the process object itself.
inline std::string process_json(const std::string& p) {
  return p.rfind('{', 0) == 0 ? p : R"({"type": ")" + p + R"("})";
}

inline Preset make_preset(const std::string& process, const std::string& schedule, int steps,
                          const std::string& solver, int64_t n,
                          const std::string& model = "gmm/eight-gaussians",
                          const std::string& solver_extra = "") {
  const std::string text =
      R"({"schema": "itslab.preset/1", "seed": 3, "model": {"builtin": ")" + model +
      R"("}, "process": )" + process_json(process) + R"(, "schedule": {"type": ")" + schedule +
      R"(", "steps": )" + std::to_string(steps) + R"(}, "solver": {"type": ")" + solver + "\"" +
      solver_extra + R"(}, "particles": {"count": )" + std::to_string(n) + R"(}, "metrics": []})";
  return parse_checked_preset(text, "test").preset;
}

// Runs steps [0, stop) of the preset's grid from its prior noise; stop = M gives the final
// samples, stop = M − 1 the state at σ_min before the step into σ = 0.
inline RowMatrixXf run_until(const Preset& p, int stop, int* nfe = nullptr) {
  CpuBackend be;
  const Experiment e = build_experiment(p);
  Tensor x = be.alloc(p.particles, e.model().dim());
  be.fill_normal(x, {p.seed, 0, 0, 0});
  be.lincomb(x, {{&x, e.process->prior_scale()}});
  SolverContext ctx{be, e.model(), *e.process, e.grid, p.model_class, p.seed};
  auto solver = make_solver(e.solver);
  int total = 0;
  for (int i = 0; i < stop; ++i)
    total += solver->step(ctx, x, i);
  if (nfe)
    *nfe = total;
  RowMatrixXf out(x.rows(), x.cols());
  be.download(x, out.data());
  return out;
}

inline double rms(const RowMatrixXf& a, const RowMatrixXf& b) {
  return std::sqrt((a - b).cast<double>().squaredNorm() / a.rows());
}

// Least-squares slope of log(error) against log(steps).
inline double slope(const std::vector<int>& steps, const std::vector<double>& err) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < steps.size(); ++i)
    mx += std::log(steps[i]), my += std::log(err[i]);
  mx /= steps.size(), my /= steps.size();
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const double dx = std::log(steps[i]) - mx;
    sxy += dx * (std::log(err[i]) - my), sxx += dx * dx;
  }
  return -sxy / sxx;
}

// FD and MMD² of a run against exact samples (n = 16384 for FD, the first 4096 for MMD²).
inline std::pair<double, double> fd_mmd(const Preset& p, int steps) {
  const Experiment e = build_experiment(p);
  const RowMatrixXf X = run_until(p, steps);
  const RowMatrixXf Y = e.mixture->sample(X.rows(), 99, 2);
  return {frechet_distance(X, Y), mmd2_rbf(X.topRows(std::min<Eigen::Index>(4096, X.rows())),
                                           Y.topRows(std::min<Eigen::Index>(4096, Y.rows())))};
}

// A 200-step run at n = 16384 samples p0 up to the floor of a perfect sampler: FD < 0.01 and
// MMD² (first 4096) < 1e-3; the bounds are justified where the calling tests document them.
inline void expect_at_floor(const QString& process, const QString& schedule, const QString& solver,
                            const QString& extra) {
  const Preset p =
      make_preset(process.toStdString(), schedule.toStdString(), 200, solver.toStdString(), 16384,
                  "gmm/eight-gaussians", extra.toStdString());
  const auto [fd, mmd] = fd_mmd(p, 200);
  qInfo("%s %s%s: FD %.4g, MMD² %.3g", qPrintable(process), qPrintable(solver), qPrintable(extra),
        fd, mmd);
  QVERIFY2(fd < 0.01, qPrintable(QString("FD %1").arg(fd)));
  QVERIFY2(mmd < 1e-3, qPrintable(QString("MMD² %1").arg(mmd)));
}

} // namespace itslab::solver_test
