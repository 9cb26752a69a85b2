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

// An image of C channels, H rows and W columns, stored in one tensor row (NCHW).
struct ImageShape {
  int c = 1, h = 1, w = 1;
  int64_t size() const { return int64_t(c) * h * w; }
};

// The array operations all solver, particle and metric arithmetic is written in.
class Backend {
public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual std::string device() const = 0;
  // false once the device is gone (a lost GPU): every later call fails, so callers that keep
  // backends make a new one
  virtual bool usable() const { return true; }

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
  // Sinusoidal embedding of t [n, 1] into y [n, 2·half] with the frequencies f [1, half] a model
  // file carries, cos first (guided-diffusion's timestep_embedding): τ_i = float(scale·t_i),
  // y[i, k] = cos(τ_i·f_k), y[i, half + k] = sin(τ_i·f_k), products rounded to float32 first.
  virtual void time_embedding(Tensor& y, const Tensor& t, double scale, const Tensor& freqs) = 0;

  // Neural-network layers (docs/model-format.md). An image row is NCHW flattened: column
  // (c·H + y)·W + x. Outputs must not alias inputs unless the comment says so.
  //
  // y = act(γ ⊙ (x − μ)/√(var + eps) + β) over the columns of each row (LayerNorm, biased var);
  // γ, β [1, cols].
  virtual void layer_norm(Tensor& y, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                          double eps, Activation act) = 0;
  // GroupNorm of each row's image s: statistics over the C/groups channels of a group and all
  // their pixels (biased var), then act(γ_c·x̂ + β_c); γ, β [1, C].
  virtual void group_norm(Tensor& y, const Tensor& x, ImageShape s, int groups, const Tensor& gamma,
                          const Tensor& beta, double eps, Activation act) = 0;
  // 2-D cross-correlation (PyTorch Conv2d) with zero padding: W [Cout, Cin·k·k] (the
  // [Cout, Cin, k, k] tensor flattened), b [1, Cout], y [n, Cout·Ho·Wo] with
  // Ho = (H + 2·pad − k)/stride + 1. row_bias [n, Cout], when given, is added to channel c of
  // row i (a ResBlock's time embedding).
  virtual void conv2d(Tensor& y, const Tensor& x, ImageShape s, const Tensor& W, const Tensor& b,
                      int k, int stride, int pad, const Tensor* row_bias) = 0;
  // Nearest-neighbour 2× upsampling: y [n, C·2H·2W].
  virtual void upsample2(Tensor& y, const Tensor& x, ImageShape s) = 0;
  // 2×2 max pooling, stride 2, floor (7 → 3): y [n, C·(H/2)·(W/2)].
  virtual void maxpool2(Tensor& y, const Tensor& x, ImageShape s) = 0;
  // y = [a | b] row by row (channel concatenation of NCHW rows).
  virtual void concat_cols(Tensor& y, const Tensor& a, const Tensor& b) = 0;
  // y = act(x) elementwise; y may be x.
  virtual void activate(Tensor& y, const Tensor& x, Activation act) = 0;
  // Multi-head self-attention over P positions: each row of qkv [n, 3·C·P] is q, k, v, each
  // [heads, C/heads, P]; y [n, C·P] = per head softmax_j(q_iᵀk_j/√(C/heads)) v_j in the same
  // [heads, C/heads, P] layout.
  virtual void attention(Tensor& y, const Tensor& qkv, int channels, int heads, int positions) = 0;

  // Blocks until all recorded work is done (no-op on synchronous backends).
  virtual void sync() {}

  // Distinct for every backend object ever created: device copies of model weights are keyed
  // by it, so a new backend at a freed address never sees stale buffers.
  uint64_t serial() const { return serial_; }

private:
  const uint64_t serial_ = next_serial();
  static uint64_t next_serial();
};

// Error "<op>: shape mismatch [r, c] vs [r, c]" unless a and b have the same shape.
void check_same_shape(const Tensor& a, const Tensor& b, const char* op);
// Error unless t is [n, 1], freqs has half ≥ 1 entries and y is [n, 2·half].
void check_time_embedding_args(const Tensor& y, const Tensor& t, const Tensor& freqs);
// Error unless W is [out, in] for x [n, in], b is [1, out], y is [n, out] and y aliases no input.
void check_gemm_bias_act_args(const Tensor& y, const Tensor& x, const Tensor& W, const Tensor& b);
// Error unless out is [n, 1] and r's vectors match x's columns (every backend's reward()).
void check_reward_args(const Tensor& out, const Tensor& x, const RewardKernelParams& r);

// Argument checks of the neural-network layers, shared by every backend: an Error starting
// with the op's name unless the shapes are as Backend's comments say and the output is a
// different buffer from the inputs named (by Tensor::buffer()).
//
// y, γ, β shapes for x [n, d ≥ 1]; y must not alias x.
void check_layer_norm_args(const Tensor& y, const Tensor& x, const Tensor& gamma,
                           const Tensor& beta);
// s non-empty and matching x's rows, C divisible by groups, y like x, γ, β [1, C]; y ≠ x.
void check_group_norm_args(const Tensor& y, const Tensor& x, ImageShape s, int groups,
                           const Tensor& gamma, const Tensor& beta);
// Returns the output image {Cout, Ho, Wo}; y must alias none of x, W, b, row_bias.
ImageShape check_conv2d_args(const Tensor& y, const Tensor& x, ImageShape s, const Tensor& W,
                             const Tensor& b, int k, int stride, int pad, const Tensor* row_bias);
void check_upsample2_args(const Tensor& y, const Tensor& x, ImageShape s);
// y [n, C·(H/2)·(W/2)] (empty for a one-row or one-column image); y ≠ x.
void check_maxpool2_args(const Tensor& y, const Tensor& x, ImageShape s);
void check_concat_cols_args(const Tensor& y, const Tensor& a, const Tensor& b);
// y shaped like x; y may be x.
void check_activate_args(const Tensor& y, const Tensor& x);
void check_attention_args(const Tensor& y, const Tensor& qkv, int channels, int heads,
                          int positions);

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
