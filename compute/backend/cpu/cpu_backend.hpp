#pragma once
#include "backend/backend.hpp"

namespace itslab {

// Host memory, Eigen arithmetic, OpenMP across particles.
class CpuBackend final : public Backend {
public:
  CpuBackend();
  std::string name() const override { return "cpu"; }
  std::string device() const override;

  Tensor alloc(int64_t rows, int64_t cols) override;
  void upload(Tensor& t, const float* host) override;
  void download(const Tensor& t, float* host) override;
  void lincomb(Tensor& y, std::initializer_list<LinTerm> terms) override;
  void fill_normal(Tensor& y, const NoiseKey& key) override;
  void fill_uniform(Tensor& y, const NoiseKey& key) override;
  void gather_rows(Tensor& y, const Tensor& x, const std::vector<int64_t>& index) override;
  void row_reduce(Tensor& out, const Tensor& x, RowOp op) override;
  void gmm_denoise(Tensor& x0, const Tensor& x, const GmmKernelParams& gmm, double alpha,
                   double sigma, int cls) override;
  void reward(Tensor& out, const Tensor& x, const RewardKernelParams& r) override;
  void gemm_bias_act(Tensor& y, const Tensor& x, const Tensor& W, const Tensor& b,
                     Activation act) override;
  void time_embedding(Tensor& y, const Tensor& t, double scale, const Tensor& freqs) override;
  // Neural-network layers (cpu_nn.cpp).
  void layer_norm(Tensor& y, const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                  Activation act) override;
  void group_norm(Tensor& y, const Tensor& x, ImageShape s, int groups, const Tensor& gamma,
                  const Tensor& beta, double eps, Activation act) override;
  void conv2d(Tensor& y, const Tensor& x, ImageShape s, const Tensor& W, const Tensor& b, int k,
              int stride, int pad, const Tensor* row_bias) override;
  void upsample2(Tensor& y, const Tensor& x, ImageShape s) override;
  void maxpool2(Tensor& y, const Tensor& x, ImageShape s) override;
  void concat_cols(Tensor& y, const Tensor& a, const Tensor& b) override;
  void activate(Tensor& y, const Tensor& x, Activation act) override;
  void attention(Tensor& y, const Tensor& qkv, int channels, int heads, int positions) override;

  // Direct host access for code that runs only on this backend (tests, metrics).
  static float* data(const Tensor& t);
};

} // namespace itslab
