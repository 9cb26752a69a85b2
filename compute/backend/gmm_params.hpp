#pragma once
#include <cstdint>
#include <vector>

namespace itslab {

// A Gaussian mixture packed for denoising kernels. Component k has covariance
// Q_k diag(lambda_k) Q_kᵀ; isotropic mixtures leave Q empty (Q_k = I).
struct GmmKernelParams {
  int K = 0, d = 0;
  std::vector<double> log_w;  // [K], normalised
  std::vector<double> mu;     // [K·d]
  std::vector<double> lambda; // [K·d] covariance eigenvalues
  std::vector<double> Q;      // [K·d·d] row-major eigenvectors (columns), or empty
  std::vector<int> label;     // [K], -1 when unlabelled
  bool full() const { return !Q.empty(); }
};

} // namespace itslab
