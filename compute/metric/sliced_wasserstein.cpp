#include "metric/sliced_wasserstein.hpp"

#include "core/error.hpp"
#include "core/philox.hpp"
#include "metric/frechet.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

namespace itslab {

namespace {

using Eigen::Index;

constexpr uint64_t kDirectionSeed = 0x5157;

// Columns are unit directions θ_l.
Eigen::MatrixXd directions(Index d, int L) {
  if (d == 1)
    return Eigen::MatrixXd::Ones(1, 1);
  Eigen::MatrixXd theta(d, L);
  for (int l = 0; l < L; ++l) {
    if (d == 2) {
      // Half a circle covers every direction in 2-D, and equal spacing leaves no projection
      // noise (note §4.4).
      const double phi = std::numbers::pi * l / L;
      theta.col(l) << std::cos(phi), std::sin(phi);
    } else {
      for (Index j = 0; j < d; ++j)
        theta(j, l) = philox_normal(kDirectionSeed, static_cast<uint32_t>(Stream::metric), 0,
                                    static_cast<uint32_t>(l), static_cast<uint32_t>(j));
      theta.col(l).normalize();
    }
  }
  return theta;
}

// In 1-D the optimal coupling is monotone (Villani 2003, Topics in Optimal Transportation, §2.2):
// W₂² = ∫₀¹ (F⁻¹(u) − G⁻¹(u))² du between two sorted samples. Both quantile functions are step
// functions with breaks at i/n and j/m; positions are kept in units of 1/(nm) so the merge is
// exact. For n = m this is the mean squared difference of the sorted values.
double w2_squared_sorted(const double* a, Index n, const double* b, Index m) {
  double acc = 0.0;
  Index i = 0, j = 0, t = 0;
  while (i < n && j < m) {
    const Index end_a = (i + 1) * m, end_b = (j + 1) * n, end = std::min(end_a, end_b);
    const double diff = a[i] - b[j];
    acc += static_cast<double>(end - t) * diff * diff;
    t = end;
    i += end_a == end;
    j += end_b == end;
  }
  return acc / (static_cast<double>(n) * static_cast<double>(m));
}

} // namespace

double sliced_wasserstein(const RowMatrixXf& X, const RowMatrixXf& Y, int num_projections) {
  check_sample_pair("sliced_wasserstein", X, Y);
  if (num_projections < 0)
    throw Error("sliced_wasserstein: num_projections must be >= 0, got " +
                std::to_string(num_projections));
  const Index d = X.cols();
  const int L = num_projections > 0 ? num_projections : d == 2 ? 64 : 128;
  const Eigen::MatrixXd theta = directions(d, L);

  // Column-major projections: each slice is contiguous for sorting.
  Eigen::MatrixXd PX = X.cast<double>() * theta;
  Eigen::MatrixXd PY = Y.cast<double>() * theta;
  const Index n = PX.rows(), m = PY.rows(), num_slices = theta.cols();

  // One slot per slice, summed in order afterwards: independent of the thread count.
  std::vector<double> w2(static_cast<size_t>(num_slices));
#pragma omp parallel for schedule(dynamic)
  for (Index l = 0; l < num_slices; ++l) {
    std::sort(PX.col(l).data(), PX.col(l).data() + n);
    std::sort(PY.col(l).data(), PY.col(l).data() + m);
    w2[static_cast<size_t>(l)] = w2_squared_sorted(PX.col(l).data(), n, PY.col(l).data(), m);
  }
  double sum = 0.0;
  for (const double w : w2)
    sum += w;
  // Bonneel et al. 2015; PythonOT ot/sliced.py: mean of the projected W₂², then the square root.
  return std::sqrt(sum / static_cast<double>(num_slices));
}

} // namespace itslab
