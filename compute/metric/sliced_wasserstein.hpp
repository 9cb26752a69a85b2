#pragma once
#include "core/host.hpp"

namespace itslab {

// SW₂(X, Y) = ((1/L) Σ_l W₂²(θ_lᵀX, θ_lᵀY))^½ (PythonOT's sliced_wasserstein_distance, p = 2).
// Directions are fixed so that every run sees the same slices: in 2-D the angles π l / L,
// l = 0..L−1 (L = 64 by default); in d > 2 the first L philox normal vectors (seed 0x5157,
// Stream::metric, particle l), normalised (L = 128 by default); in 1-D the single axis.
// num_projections = 0 selects the default L. Unequal set sizes are handled exactly through the
// empirical quantile functions. Biased upward by sampling noise ∝ n^−½ (note §4.4). Throws
// Error for bad input (fewer than 2 rows, dimension mismatch, NaN or Inf, negative L).
double sliced_wasserstein(const RowMatrixXf& X, const RowMatrixXf& Y, int num_projections = 0);

} // namespace itslab
