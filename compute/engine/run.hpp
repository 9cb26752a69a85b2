#pragma once
#include "backend/backend.hpp"
#include "core/host.hpp"
#include "engine/experiment.hpp"
#include "metric/frechet.hpp"
#include "metric/mmd_rff.hpp"

#include <atomic>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace itslab {

// After each solver step (random/zero-order search: after each iteration, with the best
// samples so far as positions and t = σ = 0).
struct StepSnapshot {
  int step = 0, steps = 0; // step just finished (1-based) of steps
  double t = 0, sigma = 0; // node reached
  int nfe = 0;             // per particle, so far
  double wall_ms = 0;
  // Positions of the first RunOptions::snapshot_particles particles after this step.
  RowMatrixXf positions;
  // Particle-method diagnostics (particle/); ess < 0 when the method carries no weights.
  double ess = -1, log_w_spread = 0; // ESS of all N; max − min log-weight
  double reward_mean = 0, reward_max = 0, reward_std = 0;
  bool has_reward = false;
  int resamplings = 0;            // so far
  std::vector<float> log_w;       // of the snapshot particles
  std::vector<float> reward;      // of the snapshot particles (when has_reward)
  std::vector<int32_t> ancestors; // of the snapshot particles at this step,
                                  // empty when no resampling happened
};

struct RunOptions {
  const RowMatrixXf* init = nullptr; // standard-normal z [n, d]; overrides particles.count
  bool trajectory = false;           // keep every particle at every grid node
  int snapshot_particles = 0;        // rows of StepSnapshot::positions
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const StepSnapshot&)> on_step;
};

struct SampleResult {
  RowMatrixXf samples;
  std::vector<RowMatrixXf> trajectory; // grid nodes 0..M when requested
  int nfe = 0;                         // denoiser calls per particle chain
  double wall_ms = 0;
  // Particle methods (particles.method) and rewards; for "independent" without a reward only
  // method, nfe_total and steps (empty) are set.
  std::string method = "independent";
  int64_t nfe_total = 0; // model evaluations, all particles, search and CFG (×2) included
  int64_t reward_evals = 0;
  int resamplings = 0;
  double log_z = std::numeric_limits<double>::quiet_NaN(); // log Ẑ (fk_steering, fkc)
  std::vector<double> final_log_w;      // normalised log-weights of the final population (or empty)
  std::vector<double> final_reward;     // reward of the final population (or empty: no reward)
  std::vector<int64_t> selected;        // samples row i is final-population particle selected[i]
  std::vector<ParticleStepStats> steps; // per step (search: per iteration) diagnostics
  std::vector<std::string> warnings;
  // model evaluations spent per returned sample
  double nfe_per_sample() const {
    return samples.rows() > 0 ? static_cast<double>(nfe_total) / samples.rows() : 0.0;
  }
};

// Runs the solver over the grid on one backend: x_T = prior_scale·z with z from Philox
// (seed, init_noise) unless options.init gives z. Dispatches on the preset's particles.method;
// "independent" is the plain sampler (bit for bit as before; a reward only adds diagnostics).
SampleResult sample(Backend& be, const Experiment& e, const Preset& p, const RunOptions& o = {});

struct MetricSet {
  std::map<std::string, double> values;
  std::map<std::string, int64_t> sample_sizes; // how many samples each metric used
};

// The preset's metrics of X against the exact model (reference samples from their own stream).
MetricSet compute_metrics(const GaussianMixture& gmm, const RowMatrixXf& X,
                          const std::vector<std::string>& names);

// What the metrics of one (model, n) compare against, built once and reused (sweeps): the exact
// reference samples, their moments, the model's median-heuristic bandwidth and, when rff_mmd,
// the random-feature MMD (metric/mmd_rff.hpp) that then stands in for "mmd".
struct MetricReference {
  RowMatrixXf Y;
  Gaussian moments;
  double bandwidth = 0;
  std::optional<RffMmd> rff;
};
MetricReference make_metric_reference(const GaussianMixture& gmm, int64_t n, bool rff_mmd);
MetricSet compute_metrics(const GaussianMixture& gmm, const RowMatrixXf& X,
                          const std::vector<std::string>& names, const MetricReference& ref);

// The preset's metrics of a run's samples X: against the exact mixture (its class under
// model.class) or, for image networks, through the classifier (fid, class_accuracy). ref, when
// given, is the mixture reference to reuse (sweeps).
MetricSet experiment_metrics(Backend& be, const Experiment& e, const Preset& p,
                             const RowMatrixXf& X, const MetricReference* ref = nullptr);

struct RunResult {
  SampleResult result;
  MetricSet metrics;
  double metrics_ms = 0;
  std::string backend, device, notice;
  nlohmann::json report(const Preset& p) const;
};

// Backend from the preset, sample, then metrics.
RunResult run_preset(const Preset& p, const RunOptions& o = {});

} // namespace itslab
