#pragma once
#include "core/host.hpp"
#include "model/gaussian_mixture.hpp"

namespace itslab {

// Mean exact log-density (1/n) Σ log p0(x_i) of samples under the mixture (gaussian-mixtures
// note §4.6): a perfect sampler scores −H(p0) in expectation.
double mean_log_density(const GaussianMixture& gmm, const RowMatrixXf& X);

struct ModeCoverage {
  double covered = 0;      // share of components holding ≥ w_k/4 of the samples within r_d
  double high_quality = 0; // share of samples within r_d of their nearest component
  double mass_tv = 0;      // ½ Σ_k |n_k/n − w_k| with samples assigned to the nearest component
};

// Note §4.7: nearest component by Mahalanobis distance; "within 3 std" in the chi-square sense
// (q ≤ χ²_d quantile at 1 − e^{−4.5}, = 9 in 2-D), so the rule means the same in 64-D.
ModeCoverage mode_coverage(const GaussianMixture& gmm, const RowMatrixXf& X);

// Quantile of the chi-square distribution with d degrees of freedom.
double chi2_quantile(int d, double p);

} // namespace itslab
