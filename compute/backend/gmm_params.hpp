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

// Per-call tables of the time-dependent terms, so the per-particle loop does no log():
// λ̃ = α²λ + σ², c_k = log w_k − ½ Σ log λ̃, 1/λ̃, gain αλ/λ̃ (gaussian-mixtures note §1.1–1.2).
// active: the components used (those of class cls when cls ≥ 0, and of finite weight). Every
// backend's denoiser starts from these, so they agree to the bit on them.
struct GmmStepTables {
  std::vector<double> c, inv, gain;
  std::vector<int> active;
  GmmStepTables(const GmmKernelParams& g, double alpha, double sigma, int cls);
};

} // namespace itslab
