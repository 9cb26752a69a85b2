#pragma once
#include "backend/backend.hpp"
#include "model/gaussian_mixture.hpp"
#include "reward/expression.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace itslab {

// A reward r(x) of a sample (particle note §1.2: the "verifier"). Particle methods evaluate it
// on final samples x0 and, at intermediate steps, on the denoised estimate x̂0(x_t).
//   linear         r = a·x + b                                      (backend kernel)
//   region         soft indicator of a box or a disc, temperature T: sigmoid(margin / T)
//   distance       r = −‖x − c‖²                                     (backend kernel)
//   class_logprob  r = log p(class | x) under a labelled mixture (exact, host)
//   log_density    r = log p(x) under a mixture (exact, host)
//   classifier_logprob  r = log p(class | x) under a trained image classifier (network)
//   expression     r = a parsed arithmetic expression of the coordinates (host)
struct RewardSpec {
  std::string type = "none";
  std::vector<double> a;                  // linear: weights
  double b = 0;                           // linear: offset
  std::string shape = "disc";             // region: "box" | "disc"
  std::vector<double> lo, hi;             // region box corners
  std::vector<double> center;             // region disc centre; distance centre
  double radius = 1;                      // region disc radius
  double temperature = 0.1;               // region softness (in x units)
  int cls = 0;                            // class_logprob
  std::string expr;                       // expression
  std::optional<GaussianMixture> mixture; // class_logprob / log_density: the mixture to use
  std::string classifier;                 // classifier_logprob: the classifier's folder
  // classifier_logprob: the sampled model's data normalisation x = pixel·scale + offset, mapped
  // to the classifier's own before it sees x.
  double pixel_scale = 1, pixel_offset = 0;
};

class Reward {
public:
  virtual ~Reward() = default;
  virtual std::string type() const = 0;
  // out[i] = r(row i of x); NaN where the reward is undefined (methods give it weight 0).
  virtual void evaluate(Backend& be, const Tensor& x, std::vector<double>& out) const = 0;
  // The same on host rows (tests, reports): X [n, d].
  std::vector<double> evaluate_host(Backend& be, const RowMatrixXf& X) const;
};

// Builds and checks a reward for dim-dimensional samples; an Error names the field
// ("a: has 3 entries, the model 2 dimensions", "expr: column 4: …"). Returns null for "none".
std::unique_ptr<Reward> make_reward(const RewardSpec& s, int dim);
std::vector<std::string> reward_types();

// Exact mixture log densities of host rows x [n, d] (double; OpenMP over rows) under
// x_t = α x0 + σ ε: log p_t(x), and with cls ≥ 0 log p_t(x | cls). class_log_posterior gives
// log p(cls | x_t) = log Σ_{k∈cls} − log Σ_k.
void mixture_log_density(const GmmKernelParams& g, const float* x, int64_t n, double alpha,
                         double sigma, int cls, double* out);
void mixture_class_log_posterior(const GmmKernelParams& g, const float* x, int64_t n, double alpha,
                                 double sigma, int cls, double* out);

} // namespace itslab
