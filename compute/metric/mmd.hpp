#pragma once
#include "core/host.hpp"

namespace itslab {

// ℓ = median of the Euclidean distances ‖y_i − y_j‖ over the distinct pairs i < j of the first
// min(n, 1000) rows (numpy's median: mean of the two middle values for an even count). Compute
// it once per model on its reference set and reuse it: a kernel that changes from run to run
// makes runs incomparable (note §4.3). Throws Error for fewer than 2 rows or a non-finite value.
double median_heuristic_bandwidth(const RowMatrixXf& Y);

// Unbiased MMD²_u between the point sets X (m rows) and Y (n rows) with the RBF kernel
// k(x, y) = exp(−‖x − y‖² / (2ℓ²)) (Gretton et al., JMLR 2012); ℓ ≤ 0 means
// median_heuristic_bandwidth(Y). Exact O(nmd), deterministic for any thread count. Zero in
// expectation for equal distributions, so single values can be negative. Throws Error for bad
// input (fewer than 2 rows, dimension mismatch, NaN or Inf, non-finite ℓ, zero median).
double mmd2_rbf(const RowMatrixXf& X, const RowMatrixXf& Y, double bandwidth = -1.0);

} // namespace itslab
