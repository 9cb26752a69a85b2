#pragma once
#include "core/host.hpp"
#include "model/gaussian_mixture.hpp"

#include <Eigen/Core>
#include <cstdint>

namespace itslab {

// MMD² against an exact Gaussian mixture by random Fourier features (Rahimi & Recht, NIPS
// 2007; gaussian-mixtures note §4.3): φ(x) = √(2/D) cos(Wᵀx + b), W ~ N(0, ℓ⁻² I),
// b ~ U[0, 2π), drawn once from Philox (seed, Stream::metric) so every run of a model uses the
// same features. The reference mean feature is exact,
//   E cos(ωᵀy + b) = Σ_k w_k exp(−½ ωᵀΣ_k ω) cos(ωᵀμ_k + b),
// so no reference sample is needed. Cost O(m D d) instead of O(m² d).
struct RffMmd {
  double bandwidth = 0;           // ℓ of k(x, y) = exp(−‖x − y‖² / (2ℓ²))
  Eigen::MatrixXf W;              // [d, D], columns ω ~ N(0, ℓ⁻² I)
  Eigen::RowVectorXf b;           // [D], U[0, 2π)
  Eigen::RowVectorXd ref_feature; // [D], E φ(y) under the mixture (√(2/D) included)
  double ref_norm2 = 0;           // ‖E φ(y)‖², the Y–Y term
};

inline constexpr int kRffFeatures = 1024;
inline constexpr uint64_t kRffSeed = 0x52FF'2024ULL;

// Throws Error for ℓ ≤ 0 or non-finite, or D < 1.
RffMmd make_rff_mmd(const GaussianMixture& gmm, double bandwidth, int features = kRffFeatures,
                    uint64_t seed = kRffSeed);

// Unbiased-in-features MMD² of the sample X [m ≥ 2, d] against the mixture:
//   (‖Σφ(x_i)‖² − Σ‖φ(x_i)‖²) / (m(m−1)) − 2 φ̄_X · Eφ(y) + ‖Eφ(y)‖².
// Deterministic for any thread count (fixed blocks, summed in order). Throws Error for a
// dimension mismatch, fewer than 2 rows, or NaN / Inf.
double mmd2_rff(const RffMmd& f, const RowMatrixXf& X);

} // namespace itslab
