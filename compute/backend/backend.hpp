#pragma once
#include "backend/gmm_params.hpp"
#include "core/tensor.hpp"

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace itslab {

// One term a · s_i · x_i of a fused linear combination; s is an optional per-row scale [n, 1].
struct LinTerm {
  const Tensor* x;
  double a;
  const Tensor* row_scale = nullptr;
};

// Philox noise keyed by (seed, stream, step); row i is particle first_particle + i.
struct NoiseKey {
  uint64_t seed = 0;
  uint32_t stream = 0;
  uint32_t step = 0;
  uint32_t first_particle = 0;
};

enum class RowOp { sum, sum_squares, max };

// Activation of gemm_bias_act: SiLU x·sigmoid(x); GELU in its exact erf form (PyTorch's
// nn.GELU default) x·Φ(x); ReLU max(x, 0).
enum class Activation { none, silu, gelu, relu };

// Rewards simple enough to be one kernel; `reward/` builds these from a preset's reward.
//   linear:   r = a·x + offset
//   distance: r = −‖x − c‖²                      (c in `a`)
//   box:      r = sigmoid(m / T), m = min_j min(x_j − lo_j, hi_j − x_j)   (lo in `a`, hi in `b`)
//   disc:     r = sigmoid((radius − ‖x − c‖) / T)                         (c in `a`)
struct RewardKernelParams {
  enum class Kind { linear, distance, box, disc } kind = Kind::linear;
  std::vector<double> a, b;
  double offset = 0, radius = 0, temperature = 1;
};

// The array operations all solver, particle and metric arithmetic is written in.
class Backend {
public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual std::string device() const = 0;

  virtual Tensor alloc(int64_t rows, int64_t cols) = 0;
  virtual void upload(Tensor& t, const float* host) = 0;
  virtual void download(const Tensor& t, float* host) = 0;

  // y = Σ a_i s_i x_i, row by row; y may be one of the x_i.
  virtual void lincomb(Tensor& y, std::initializer_list<LinTerm> terms) = 0;
  virtual void fill_normal(Tensor& y, const NoiseKey& key) = 0;
  virtual void fill_uniform(Tensor& y, const NoiseKey& key) = 0;
  // y[i] = x[index[i]]; y must not alias x.
  virtual void gather_rows(Tensor& y, const Tensor& x, const std::vector<int64_t>& index) = 0;
  // out [n, 1] = op over the columns of x.
  virtual void row_reduce(Tensor& out, const Tensor& x, RowOp op) = 0;
  // x0 = E[x0 | x_t = x] for x_t = alpha·x0 + sigma·eps; cls ≥ 0 restricts to that label's
  // components (the exact class-conditional posterior mean).
  virtual void gmm_denoise(Tensor& x0, const Tensor& x, const GmmKernelParams& gmm, double alpha,
                           double sigma, int cls) = 0;
  // out [n, 1] = r(x_i) for each row.
  virtual void reward(Tensor& out, const Tensor& x, const RewardKernelParams& r) = 0;
  // y [n, out] = act(x [n, in] · Wᵀ + b) with W [out, in] (PyTorch nn.Linear layout) and
  // b [1, out]; y must not alias x.
  virtual void gemm_bias_act(Tensor& y, const Tensor& x, const Tensor& W, const Tensor& b,
                             Activation act) = 0;
  // Sinusoidal embedding of t [n, 1] into y [n, dim] (dim even, half = dim/2):
  // y[i, k] = sin(scale·t_i·f_k), y[i, half + k] = cos(scale·t_i·f_k),
  // f_k = exp(−ln(10000)·k/half), k < half.
  virtual void time_embedding(Tensor& y, const Tensor& t, double scale) = 0;
  // Blocks until all recorded work is done (no-op on synchronous backends).
  virtual void sync() {}
};

// Error unless out is [n, 1] and r's vectors match x's columns (every backend's reward()).
void check_reward_args(const Tensor& out, const Tensor& x, const RewardKernelParams& r);

struct BackendChoice {
  std::unique_ptr<Backend> backend;
  std::string notice; // why the requested backend was not used, if it was not
};

// spec: "auto" | "cpu" | "vulkan" | "vulkan:<device>", where <device> is an index from
// `itslab-cli info`, a type (discrete, integrated, virtual, cpu) or part of the device name;
// `device` (the CLI's --device) overrides the part after the colon. "auto" takes the best Vulkan
// device (discrete > integrated > virtual > cpu, i.e. lavapipe) and else the CPU backend;
// ITSLAB_BACKEND in the environment replaces "auto". When Vulkan cannot be used the CPU
// backend is returned with a one-line notice saying why. Malformed specs are an Error.
BackendChoice make_backend(const std::string& spec, const std::string& device = "");
std::vector<std::string> backend_names();
// "" when spec is valid for make_backend, else what is wrong with it.
std::string check_backend_spec(const std::string& spec);
// Human-readable lines for `itslab-cli info`: the loader, each Vulkan device (usable or why
// not), and what "auto" picks.
std::vector<std::string> backend_report();

} // namespace itslab
