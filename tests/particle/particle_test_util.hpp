#pragma once
// Shared by the particle-method tests: the 2-D mixtures of the particle note §9, presets built
// around them, closed-form tilts and grid-normalised targets.
#include "backend/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#include "engine/experiment.hpp"
#include "engine/run.hpp"
#include "io/preset.hpp"
#include "model/gaussian_mixture.hpp"

#include <Eigen/Dense>
#include <QtTest>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ptest {

using itslab::GaussianMixture;
using itslab::RowMatrixXf;
using nlohmann::json;

// Base GMM of the note: π = (0.5, 0.3, 0.2), full covariances; class 1 = components 2 and 3.
inline json base_gmm_json() {
  return json::parse(R"({"weights": [0.5, 0.3, 0.2],
    "means": [[-2, 0], [2, 1], [0, -2.5]],
    "covariances": [[[0.5, 0.2], [0.2, 0.4]], [[0.3, -0.1], [-0.1, 0.6]], [[0.4, 0], [0, 0.2]]],
    "labels": [0, 1, 1]})");
}
// Second GMM of the note (the product expert).
inline json second_gmm_json() {
  return json::parse(R"({"weights": [0.6, 0.4], "means": [[0, 0.5], [1.5, -2]],
    "covariances": [[[1.5, 0], [0, 1]], [[1, 0.3], [0.3, 0.8]]]})");
}

inline itslab::GmmSpec spec_of(const json& g) {
  itslab::GmmSpec s;
  s.weights = g["weights"].get<std::vector<double>>();
  s.means = g["means"].get<std::vector<std::vector<double>>>();
  if (g.contains("covariances"))
    s.covariances = g["covariances"].get<std::vector<std::vector<std::vector<double>>>>();
  if (g.contains("stds"))
    s.stds = g["stds"].get<std::vector<double>>();
  if (g.contains("labels"))
    s.labels = g["labels"].get<std::vector<int>>();
  return s;
}

inline GaussianMixture base_gmm() {
  return GaussianMixture("base", spec_of(base_gmm_json()));
}

// A preset on the base GMM: VP linear, `steps` uniform steps of the exponential Euler–Maruyama
// reverse SDE, no metrics.
inline json base_preset(const json& particles, int steps, uint64_t seed) {
  return json{{"schema", "itslab.preset/1"},
              {"name", "test"},
              {"seed", seed},
              {"model", {{"gmm", base_gmm_json()}}},
              {"process", {{"type", "vp_linear"}}},
              {"schedule", {{"type", "uniform"}, {"steps", steps}}},
              {"solver", {{"type", "euler_maruyama"}}},
              {"particles", particles},
              {"metrics", json::array()}};
}

struct Run {
  itslab::Preset preset;
  itslab::SampleResult result;
};

inline itslab::Experiment experiment_of(const json& j, itslab::Preset* out = nullptr) {
  const itslab::PresetLoad l = itslab::parse_checked_preset(j.dump(), "test");
  if (out)
    *out = l.preset;
  return itslab::build_experiment(l.preset);
}

inline Run run(const json& j, const itslab::RunOptions& o = {}) {
  Run r;
  const itslab::Experiment e = experiment_of(j, &r.preset);
  itslab::CpuBackend be;
  r.result = itslab::sample(be, e, r.preset, o);
  return r;
}

// Weighted mean of the final population (normalised log-weights), or the plain mean.
inline Eigen::Vector2d weighted_mean(const RowMatrixXf& X, const std::vector<double>& log_w) {
  Eigen::Vector2d m = Eigen::Vector2d::Zero();
  double ws = 0;
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    const double w = log_w.empty() ? 1.0 : std::exp(log_w[static_cast<size_t>(i)]);
    m += w * X.row(i).transpose().cast<double>();
    ws += w;
  }
  return m / ws;
}

// Responsibility-weighted component masses of X under g (Rao–Blackwellised mode masses:
// E[r_k(X)] = w_k exactly when X ~ g).
inline Eigen::VectorXd component_masses(const GaussianMixture& g, const RowMatrixXf& X,
                                        const std::vector<double>& log_w) {
  Eigen::VectorXd m = Eigen::VectorXd::Zero(g.num_components());
  double ws = 0;
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    const double w = log_w.empty() ? 1.0 : std::exp(log_w[static_cast<size_t>(i)]);
    const Eigen::VectorXd l = g.component_log_terms(X.row(i).transpose().cast<double>(), 1, 0);
    const Eigen::VectorXd r = (l.array() - l.maxCoeff()).exp();
    m += w * r / r.sum();
    ws += w;
  }
  return m / ws;
}

// The exactly tilted mixture p(x)·exp(λ a·x)/Z (note §9a): means μ_k + λΣ_k a, weights
// ∝ π_k exp(λ a·μ_k + λ² aᵀΣ_k a / 2); log Z = LSE of the log weights.
inline GaussianMixture linear_tilt(const GaussianMixture& g, const Eigen::Vector2d& a,
                                   double lambda, double* log_z = nullptr) {
  itslab::GmmSpec s = g.spec();
  std::vector<double> lw;
  for (int k = 0; k < g.num_components(); ++k) {
    const Eigen::VectorXd mu = g.component_mean(k);
    const Eigen::MatrixXd S = g.component_covariance(k);
    lw.push_back(std::log(g.weight(k)) + lambda * a.dot(mu) + 0.5 * lambda * lambda * a.dot(S * a));
    const Eigen::VectorXd m = mu + lambda * S * a;
    s.means[static_cast<size_t>(k)] = {m[0], m[1]};
  }
  const double mx = *std::max_element(lw.begin(), lw.end());
  double z = 0;
  for (double v : lw)
    z += std::exp(v - mx);
  for (size_t k = 0; k < lw.size(); ++k)
    s.weights[k] = std::exp(lw[k] - mx) / z;
  if (log_z)
    *log_z = mx + std::log(z);
  return GaussianMixture("tilted", s);
}

// A density on a square grid, normalised there: its mean and per-region masses.
struct Grid {
  int n = 0;
  double L = 0, h = 0;
  std::vector<double> p; // normalised cell masses, row-major (i: x, j: y)
  Eigen::Vector2d point(int i, int j) const { return {-L + i * h, -L + j * h}; }
  Eigen::Vector2d mean() const {
    Eigen::Vector2d m = Eigen::Vector2d::Zero();
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        m += p[static_cast<size_t>(i) * n + j] * point(i, j);
    return m;
  }
  Eigen::Matrix2d covariance() const {
    const Eigen::Vector2d m = mean();
    Eigen::Matrix2d C = Eigen::Matrix2d::Zero();
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const Eigen::Vector2d d = point(i, j) - m;
        C += p[static_cast<size_t>(i) * n + j] * d * d.transpose();
      }
    return C;
  }
};

// log_density(x) on an n×n grid over [−L, L]², normalised (trapezoid = midpoint here: the
// densities decay to 0 well inside the box, so the sum is spectrally accurate; note §9).
template <class F> Grid grid_density(F log_density, int n = 401, double L = 9) {
  Grid g;
  g.n = n;
  g.L = L;
  g.h = 2 * L / (n - 1);
  g.p.resize(static_cast<size_t>(n) * n);
  double mx = -INFINITY;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const double v = log_density(g.point(i, j));
      g.p[static_cast<size_t>(i) * n + j] = v;
      mx = std::max(mx, v);
    }
  double s = 0;
  for (double& v : g.p)
    s += (v = std::exp(v - mx));
  for (double& v : g.p)
    v /= s;
  return g;
}

// Masses of the grid density per argmax-responsibility region of g.
inline Eigen::VectorXd grid_region_masses(const Grid& grid, const GaussianMixture& g) {
  Eigen::VectorXd m = Eigen::VectorXd::Zero(g.num_components());
  for (int i = 0; i < grid.n; ++i)
    for (int j = 0; j < grid.n; ++j) {
      Eigen::Index k;
      g.component_log_terms(grid.point(i, j), 1, 0).maxCoeff(&k);
      m[k] += grid.p[static_cast<size_t>(i) * grid.n + j];
    }
  return m;
}

// The same regions for weighted samples.
inline Eigen::VectorXd sample_region_masses(const RowMatrixXf& X, const std::vector<double>& log_w,
                                            const GaussianMixture& g) {
  Eigen::VectorXd m = Eigen::VectorXd::Zero(g.num_components());
  double ws = 0;
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    const double w = log_w.empty() ? 1.0 : std::exp(log_w[static_cast<size_t>(i)]);
    Eigen::Index k;
    g.component_log_terms(X.row(i).transpose().cast<double>(), 1, 0).maxCoeff(&k);
    m[k] += w;
    ws += w;
  }
  return m / ws;
}

// Least-squares slope of log y against log x.
inline double log_log_slope(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i)
    mx += std::log(x[i]), my += std::log(y[i]);
  mx /= x.size(), my /= y.size();
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (std::log(x[i]) - mx) * (std::log(y[i]) - my);
    sxx += (std::log(x[i]) - mx) * (std::log(x[i]) - mx);
  }
  return sxy / sxx;
}

} // namespace ptest
