#pragma once
#include "core/host.hpp"

#include <Eigen/Core>

namespace itslab {

// First two moments of a sample set or of a model: all the Fréchet distance looks at.
struct Gaussian {
  Eigen::VectorXd mean;
  Eigen::MatrixXd cov;
};

// Mean and covariance with the n − 1 divisor (np.cov, pytorch-fid), in double and two-pass so
// that data far from the origin do not cancel. Throws Error for fewer than 2 rows or a
// non-finite value.
Gaussian sample_moments(const RowMatrixXf& X);

// Squared 2-Wasserstein distance between N(a.mean, a.cov) and N(b.mean, b.cov), evaluated with
// symmetric eigendecompositions only (note §4.1) and clamped at 0. Throws Error when the sizes
// disagree, a covariance is not symmetric, or a value is not finite.
double frechet_distance(const Gaussian& a, const Gaussian& b);
// The same between the sample moments of X and Y (rows are points). Biased upward by about
// 2Σλ/n for two samples of one distribution: compare values only at equal n.
double frechet_distance(const RowMatrixXf& X, const RowMatrixXf& Y);

// Input checks shared by the sample-based metrics (FD, MMD², SW). Messages start with the
// metric's name and name the set ("X", "Y") and, for a NaN or Inf, its 0-based row.
void check_sample_set(const char* metric, const char* name, const RowMatrixXf& X);
void check_sample_pair(const char* metric, const RowMatrixXf& X, const RowMatrixXf& Y);

} // namespace itslab
