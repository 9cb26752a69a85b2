#include "metric/frechet.hpp"

#include "core/error.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <string>

namespace itslab {

namespace {

Gaussian moments(const RowMatrixXf& X) {
  Gaussian g;
  g.mean = X.cast<double>().colwise().mean().transpose();
  // Centring before the product avoids the cancellation of Σxxᵀ − n m mᵀ; going through row
  // blocks keeps the double copy small for large feature sets (50 000 × 2048 would take 800 MB).
  constexpr Eigen::Index kRows = 4096;
  const double scale = 1.0 / static_cast<double>(X.rows() - 1);
  Eigen::MatrixXd lower = Eigen::MatrixXd::Zero(X.cols(), X.cols());
  for (Eigen::Index r0 = 0; r0 < X.rows(); r0 += kRows) {
    const RowMatrixXd C =
        X.middleRows(r0, std::min(kRows, X.rows() - r0)).cast<double>().rowwise() -
        g.mean.transpose();
    lower.selfadjointView<Eigen::Lower>().rankUpdate(C.transpose(), scale);
  }
  g.cov = lower.selfadjointView<Eigen::Lower>();
  return g;
}

void check_gaussian(const Gaussian& g, const char* name) {
  const std::string who = std::string("frechet_distance: ") + name;
  if (g.mean.size() == 0)
    throw Error(who + ".mean is empty");
  if (g.cov.rows() != g.mean.size() || g.cov.cols() != g.mean.size())
    throw Error(who + ".cov is " + std::to_string(g.cov.rows()) + "x" +
                std::to_string(g.cov.cols()) + " but " + name + ".mean has " +
                std::to_string(g.mean.size()) + " entries");
  if (!g.mean.allFinite())
    throw Error(who + ".mean contains a NaN or infinite value");
  if (!g.cov.allFinite())
    throw Error(who + ".cov contains a NaN or infinite value");
  // A transposed factor or a wrong-layout buffer shows up here; round-off asymmetry is ~1e-16.
  if ((g.cov - g.cov.transpose()).cwiseAbs().maxCoeff() > 1e-8 * g.cov.cwiseAbs().maxCoeff())
    throw Error(who + ".cov is not symmetric");
}

} // namespace

void check_sample_set(const char* metric, const char* name, const RowMatrixXf& X) {
  const std::string who = std::string(metric) + ": " + name;
  if (X.rows() < 2)
    throw Error(who + " needs at least 2 rows (points), got " + std::to_string(X.rows()));
  if (X.cols() < 1)
    throw Error(who + " has no columns");
  if (X.allFinite())
    return;
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    if (!X.row(i).allFinite())
      throw Error(who + " row " + std::to_string(i) + " contains a NaN or infinite value");
}

void check_sample_pair(const char* metric, const RowMatrixXf& X, const RowMatrixXf& Y) {
  check_sample_set(metric, "X", X);
  check_sample_set(metric, "Y", Y);
  if (X.cols() != Y.cols())
    throw Error(std::string(metric) + ": dimension mismatch: X has " + std::to_string(X.cols()) +
                " columns, Y has " + std::to_string(Y.cols()));
}

Gaussian sample_moments(const RowMatrixXf& X) {
  check_sample_set("sample_moments", "X", X);
  return moments(X);
}

double frechet_distance(const Gaussian& a, const Gaussian& b) {
  check_gaussian(a, "a");
  check_gaussian(b, "b");
  if (a.mean.size() != b.mean.size())
    throw Error("frechet_distance: dimension mismatch: a has " + std::to_string(a.mean.size()) +
                ", b has " + std::to_string(b.mean.size()));

  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig_a(a.cov);
  if (eig_a.info() != Eigen::Success)
    throw Error("frechet_distance: eigendecomposition of a.cov failed");
  // Round-off can leave eigenvalues of a PSD matrix at −1e-17; clamping keeps the root real.
  const Eigen::MatrixXd S1_half = eig_a.eigenvectors() *
                                  eig_a.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal() *
                                  eig_a.eigenvectors().transpose();
  const Eigen::MatrixXd P = S1_half * b.cov * S1_half;
  // Symmetric in exact arithmetic; symmetrising lets the real symmetric solver replace sqrtm.
  const Eigen::MatrixXd M = 0.5 * (P + P.transpose());
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig_M(M, Eigen::EigenvaluesOnly);
  if (eig_M.info() != Eigen::Success)
    throw Error("frechet_distance: eigendecomposition of S1^1/2 S2 S1^1/2 failed");
  const double tr_sqrt = eig_M.eigenvalues().cwiseMax(0.0).cwiseSqrt().sum();

  // Dowson & Landau 1982: W₂² = ‖m1 − m2‖² + tr S1 + tr S2 − 2 tr (S1^½ S2 S1^½)^½.
  const double FD = (a.mean - b.mean).squaredNorm() + a.cov.trace() + b.cov.trace() - 2.0 * tr_sqrt;
  // Equal inputs give about −1e-13 from round-off (note §4.1); a distance is never negative.
  return std::max(FD, 0.0);
}

double frechet_distance(const RowMatrixXf& X, const RowMatrixXf& Y) {
  check_sample_pair("frechet_distance", X, Y);
  return frechet_distance(moments(X), moments(Y));
}

} // namespace itslab
