#pragma once
#include "backend/backend.hpp"
#include "core/host.hpp"
#include "model/gaussian_mixture.hpp"
#include "particle/resampling.hpp"
#include "process/process.hpp"
#include "reward/reward.hpp"
#include "schedule/schedule.hpp"
#include "solver/solver.hpp"

#include <atomic>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace itslab {

// Particle methods (particle note §1–4): they wrap the solver loop, propose with the preset's
// solver, weight in log space, resample, and select. Preset field `particles.method`.
struct ParticleParams {
  std::string method = "independent"; // independent, best_of_n, random_search,
                                      // zero_order_search, fk_steering, fkc
  // best_of_n: particles split into groups of `group` (0: one group), top `keep` of each
  int64_t group = 0;
  int64_t keep = 0; // best_of_n: per group (default 1); fk/fkc: samples returned (0 = N)
  // random_search / zero_order_search
  int iterations = 8;
  int neighbors = 4;
  double radius = 0.3;                   // y = √(1 − r²) n + r ε ("marginal")
  std::string neighborhood = "marginal"; // or "sphere": ‖y‖ = ‖n‖, cos(y, n) = √(1 − r²)
  // fk_steering
  double lambda = 1;
  std::string potential = "difference"; // difference, max, sum
  // fk_steering and fkc: resampling and final selection
  int resample_every = 1;
  double ess_threshold = 0.5; // resample when ESS < threshold·N; ≥ 1: at every resampling step
  ResampleScheme scheme = ResampleScheme::systematic;
  std::string selection = "sample"; // sample (∝ W), argmax (by reward, else weight), weighted
  // fkc
  std::string target = "anneal"; // anneal (p^β), product (p·q), cfg (p(x|c)^w p(x)^{1−w})
  double beta = 2;
  double weight = 3;
  bool exact_init = true; // initial weights log ρ_T − log N(0, v/Σc) with exact mixture log q_T
};

bool is_particle_method(const std::string& method);
std::vector<std::string> particle_method_names();
// Whether the solver adds fresh noise each step (resampled copies must diverge).
bool solver_is_stochastic(const SolverParams& s);

// One step of a particle method, as the diagnostics report and the app draw it.
struct ParticleStepStats {
  int step = 0;    // 1-based step (search: iteration) just finished
  double t = 0;    // process time reached (search: 0)
  double ess = -1; // of all N before any resampling at this step; −1: no weights
  double log_w_spread = 0;
  double reward_mean = 0, reward_max = 0, reward_std = 0;
  bool has_reward = false;
  bool resampled = false;
  int resamplings = 0;       // so far
  int unique_ancestors = -1; // distinct parents at this step's resampling, −1: none
  int64_t nfe_total = 0;     // model evaluations so far, all particles
};

// Fills has_reward and the reward mean / max / std (over the finite entries) of s from r.
void set_reward_stats(ParticleStepStats& s, const std::vector<double>& r);

// What an observer sees after each step; pointers are valid during the call only.
struct ParticleStepView {
  const ParticleStepStats* stats = nullptr;
  int steps = 0;                                   // total steps (search: iterations)
  int nfe = 0;                                     // per particle so far
  double sigma = 0;                                // σ_edm reached
  const Tensor* x = nullptr;                       // current particles [N, d] (search: best)
  const std::vector<double>* log_w = nullptr;      // normalised log-weights, or null
  const std::vector<double>* reward = nullptr;     // current rewards, or null
  const std::vector<int64_t>* ancestors = nullptr; // this step's resampling, or null
};

struct ParticleJob {
  Backend* be = nullptr;
  const Model* denoiser = nullptr; // the sampler's denoiser (guided when the preset has CFG)
  const Model* model = nullptr;    // the unguided model (fkc composes its scores)
  const GaussianMixture* second = nullptr; // fkc product
  const Process* process = nullptr;
  const StepGrid* grid = nullptr;
  SolverParams solver;
  int cls = -1;
  uint64_t seed = 0;
  const Reward* reward = nullptr;
  int64_t n = 0;
  const RowMatrixXf* init = nullptr; // standard-normal z [n, d]; overrides n
  int denoiser_cost = 1;             // model evaluations per denoiser call (2 with CFG)
  bool trajectory = false;
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const ParticleStepView&)> on_step;
};

struct ParticleResult {
  RowMatrixXf samples; // the selected particles
  std::vector<RowMatrixXf> trajectory;
  int nfe = 0;           // denoiser calls per particle chain (as the plain sampler counts)
  int64_t nfe_total = 0; // model evaluations, all particles, search and CFG included
  int64_t reward_evals = 0;
  int resamplings = 0;
  double log_z = std::numeric_limits<double>::quiet_NaN(); // log Ẑ (fk_steering, fkc)
  std::vector<double> final_log_w;  // normalised, of the final population; empty: unweighted
  std::vector<double> final_reward; // of the final population; empty: no reward
  std::vector<int64_t> selected;    // samples row i is final population particle selected[i]
  std::vector<ParticleStepStats> steps;
  std::vector<std::string> warnings;
};

// Runs params.method (anything but "independent"); throws Error naming the field at fault.
ParticleResult run_particle_method(const ParticleJob& job, const ParticleParams& params);

// Zero-order search neighbours (note §1.4): row i·J + j of the result is neighbour j of pivot
// Z.row(i), from the standard normal row E.row(i·J + j). "marginal" (sphere = false):
// y = √(1 − r²) n + r ε, which keeps N(0, I) in any dimension; "sphere": ‖y‖ = ‖n‖ and
// cos(y, n) = √(1 − r²) (the reference implementation; in 2-D it never changes ‖n‖).
RowMatrixXf search_neighbours(const RowMatrixXf& Z, const RowMatrixXf& E, int J, double radius,
                              bool sphere);

// A denoiser wrapper that lets the particle methods see x̂0 without paying for it twice:
// prime(x, t, D) makes the next call at (x, t) return a copy of D instead of evaluating the
// model; record(x, t, out) copies the output of the next call at (x, t) into out. Either
// applies to the next call only (a miss disarms it), so a solver that changes x in place and
// calls again is never served a stale value. calls() counts real evaluations.
class StepDenoiser final : public Model {
public:
  explicit StepDenoiser(const Model& inner) : inner_(inner) {}
  std::string id() const override { return inner_.id(); }
  int dim() const override { return inner_.dim(); }
  int num_classes() const override { return inner_.num_classes(); }
  void denoise(Backend& be, Tensor& x0, const Tensor& x, double t, const ProcessPoint& pt,
               int cls) const override;
  void prime(const Tensor& x, double t, const Tensor& D);
  void record(const Tensor& x, double t, Tensor* out);
  int64_t calls() const { return calls_; }
  int64_t records() const { return records_; } // how many record() requests were served

private:
  const Model& inner_;
  mutable const DeviceBuffer* key_ = nullptr;
  mutable double key_t_ = 0;
  mutable const Tensor* primed_ = nullptr;
  mutable Tensor* record_ = nullptr;
  mutable int64_t calls_ = 0, records_ = 0;
};

} // namespace itslab
