// Oracles for the sample-based distances FD, MMD² and SW₂ (research note
// gaussian-mixtures-and-metrics.md §4.1, §4.3, §4.4, §5 and §6 items 11–14).
#include "core/error.hpp"
#include "core/host.hpp"
#include "core/philox.hpp"
#include "metric/frechet.hpp"
#include "metric/mmd.hpp"
#include "metric/sliced_wasserstein.hpp"

#include <Eigen/Eigenvalues>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace itslab;
using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

// Independent N(0, I_d) rows; distinct seeds give independent sets.
RowMatrixXf normals(Index n, Index d, uint64_t seed) {
  RowMatrixXf Z(n, d);
  philox_normal_rows(seed, static_cast<uint32_t>(Stream::reference), 0, 0, static_cast<uint32_t>(n),
                     static_cast<uint32_t>(d), Z.data());
  return Z;
}

// Q diag(λ) Qᵀ with Q a fixed random rotation and λ log-spaced from 1 down to 1/cond.
MatrixXd random_spd(Index d, uint64_t seed, double cond) {
  const RowMatrixXf A = normals(d, d, seed);
  const MatrixXd Q = Eigen::HouseholderQR<MatrixXd>(A.cast<double>()).householderQ();
  VectorXd lambda(d);
  for (Index i = 0; i < d; ++i)
    lambda(i) =
        std::pow(cond, -static_cast<double>(i) / static_cast<double>(std::max<Index>(d - 1, 1)));
  return Q * lambda.asDiagonal() * Q.transpose();
}

// Note §4.1: E[FD] of two independent n-samples of one Gaussian with eigenvalues λ.
double fd_two_sample_bias(const VectorXd& lambda, double n) {
  double cross = 0.0;
  for (Index i = 0; i < lambda.size(); ++i)
    for (Index j = 0; j < lambda.size(); ++j)
      if (i != j)
        cross += lambda(i) * lambda(j) / (lambda(i) + lambda(j));
  return 2.0 * lambda.sum() / n + (lambda.sum() + cross) / (n - 1.0);
}

double rbf(const Eigen::RowVectorXd& x, const Eigen::RowVectorXd& y, double l) {
  return std::exp(-(x - y).squaredNorm() / (2.0 * l * l));
}

// Direct double loop over the three sums of the unbiased estimator (Gretton et al. 2012).
double mmd2_direct(const RowMatrixXf& Xf, const RowMatrixXf& Yf, double l) {
  const RowMatrixXd X = Xf.cast<double>(), Y = Yf.cast<double>();
  const auto m = static_cast<double>(X.rows()), n = static_cast<double>(Y.rows());
  double S_XX = 0.0, S_YY = 0.0, S_XY = 0.0;
  for (Index i = 0; i < X.rows(); ++i)
    for (Index j = 0; j < X.rows(); ++j)
      if (i != j)
        S_XX += rbf(X.row(i), X.row(j), l);
  for (Index i = 0; i < Y.rows(); ++i)
    for (Index j = 0; j < Y.rows(); ++j)
      if (i != j)
        S_YY += rbf(Y.row(i), Y.row(j), l);
  for (Index i = 0; i < X.rows(); ++i)
    for (Index j = 0; j < Y.rows(); ++j)
      S_XY += rbf(X.row(i), Y.row(j), l);
  return S_XX / (m * (m - 1.0)) + S_YY / (n * (n - 1.0)) - 2.0 * S_XY / (m * n);
}

double brute_force_median_distance(const RowMatrixXf& Yf) {
  const RowMatrixXd Y = Yf.cast<double>();
  std::vector<double> dist;
  for (Index i = 0; i < Y.rows(); ++i)
    for (Index j = i + 1; j < Y.rows(); ++j)
      dist.push_back((Y.row(i) - Y.row(j)).norm());
  std::sort(dist.begin(), dist.end());
  const size_t k = dist.size();
  return k % 2 == 1 ? dist[k / 2] : 0.5 * (dist[k / 2 - 1] + dist[k / 2]);
}

struct MeanSe {
  double mean, se;
};

MeanSe mean_and_standard_error(const std::vector<double>& v) {
  const auto R = static_cast<double>(v.size());
  double mean = 0.0;
  for (const double x : v)
    mean += x / R;
  double var = 0.0;
  for (const double x : v)
    var += (x - mean) * (x - mean) / (R - 1.0);
  return {mean, std::sqrt(var / R)};
}

// Rounds to multiples of 2⁻¹⁰ so that adding a shift of the same grid is exact in float.
RowMatrixXf on_grid(const RowMatrixXf& X) {
  return (X.array() * 1024.0f).round() / 1024.0f;
}

template <class F> QString error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

} // namespace

class TestDistances : public QObject {
  Q_OBJECT

private slots:
  void sampleMomentsTwoPass();
  void frechetCommutingClosedForm();
  void frechetNonCommuting2x2();
  void frechetMatchesNonSymmetricRoute();
  void frechetSelfZeroAndSymmetric();
  void frechetSampleBiasFloor();
  void frechetSampleMeanShift();
  void mmdTinyMatchesDirectLoop();
  void mmdBlocksMatchDirectLoop();
  void mmdUnbiasedForEqualDistributions();
  void mmdPositiveForShiftedDistributions();
  void medianHeuristicMatchesBruteForce();
  void slicedZeroForIdenticalSets();
  void slicedShift2D();
  void slicedShiftHighDim();
  void slicedUnequalSizes();
  void badInputThrows();
};

void TestDistances::sampleMomentsTwoPass() {
  // Corners of a 2 × 4 rectangle, offset by 10⁴ (exact in float): mean (1, 2) + offset,
  // variances Σ(±1)²/3 = 4/3 and Σ(±2)²/3 = 16/3 with the n − 1 divisor, covariance 0.
  RowMatrixXf X(4, 2);
  X << 0, 0, 2, 0, 0, 4, 2, 4;
  X.array() += 1e4f;
  const Gaussian g = sample_moments(X);
  // Two-pass moments of exact float data are exact up to double round-off (~1e-16 · 10⁴).
  QVERIFY(std::abs(g.mean(0) - 10001.0) < 1e-10 && std::abs(g.mean(1) - 10002.0) < 1e-10);
  QVERIFY(std::abs(g.cov(0, 0) - 4.0 / 3.0) < 1e-12);
  QVERIFY(std::abs(g.cov(1, 1) - 16.0 / 3.0) < 1e-12);
  QVERIFY(std::abs(g.cov(0, 1)) < 1e-12 && g.cov(0, 1) == g.cov(1, 0));

  // More rows than one internal block (4096): same moments as the whole-matrix formula, up to
  // summation-order round-off (~1e-16 · √n relative).
  const RowMatrixXf Z = normals(10000, 3, 1);
  const RowMatrixXd C = Z.cast<double>().rowwise() - Z.cast<double>().colwise().mean();
  const MatrixXd want = C.transpose() * C / 9999.0;
  QVERIFY((sample_moments(Z).cov - want).cwiseAbs().maxCoeff() < 1e-12);
}

void TestDistances::frechetCommutingClosedForm() {
  const Index d = 4;
  const MatrixXd Q =
      Eigen::HouseholderQR<MatrixXd>(normals(d, d, 11).cast<double>()).householderQ();
  VectorXd a(d), b(d);
  a << 1.0, 4.0, 0.25, 2.0;
  b << 9.0, 1.0, 2.0, 2.0;
  const Gaussian ga{VectorXd::LinSpaced(d, 0.0, 1.0), Q * a.asDiagonal() * Q.transpose()};
  const Gaussian gb{VectorXd::LinSpaced(d, 1.0, -1.0), Q * b.asDiagonal() * Q.transpose()};
  // Commuting covariances: W₂² = ‖Δm‖² + Σ(√a_i − √b_i)² (note §4.1).
  const double expected =
      (ga.mean - gb.mean).squaredNorm() + (a.cwiseSqrt() - b.cwiseSqrt()).squaredNorm();
  // The note measured agreement to 1e-12; 1e-10 leaves room for eigensolver round-off.
  QVERIFY2(std::abs(frechet_distance(ga, gb) - expected) < 1e-10,
           qPrintable(QString::number(frechet_distance(ga, gb) - expected)));
}

void TestDistances::frechetNonCommuting2x2() {
  Gaussian a{VectorXd(2), MatrixXd(2, 2)}, b{VectorXd(2), MatrixXd(2, 2)};
  a.mean << 0.5, -1.0;
  b.mean << -0.25, 0.75;
  a.cov << 2.0, 0.6, 0.6, 1.0;
  b.cov << 0.5, -0.3, -0.3, 1.5;
  QVERIFY(std::abs((a.cov * b.cov - b.cov * a.cov).norm()) > 0.1);
  // S1^½ S2 S1^½ is similar to S1 S2 (same trace and determinant), and a 2 × 2 SPD M has
  // tr √M = √(tr M + 2√det M) (its eigenvalues' roots r1, r2 satisfy (r1 + r2)² = tr + 2√det).
  const double tr_sqrt = std::sqrt((a.cov * b.cov).trace() +
                                   2.0 * std::sqrt(a.cov.determinant() * b.cov.determinant()));
  const double expected =
      (a.mean - b.mean).squaredNorm() + a.cov.trace() + b.cov.trace() - 2.0 * tr_sqrt;
  // Note §6 item 11: ≤ 1e-9 relative.
  QVERIFY(std::abs(frechet_distance(a, b) - expected) <= 1e-9 * expected);
}

void TestDistances::frechetMatchesNonSymmetricRoute() {
  const Index d = 16;
  const Gaussian a{VectorXd::Constant(d, 0.3), random_spd(d, 21, 100.0)};
  const Gaussian b{VectorXd::LinSpaced(d, -1.0, 1.0), random_spd(d, 22, 100.0)};
  // pytorch-fid's route: tr √(S1 S2) from the (real, positive) eigenvalues of the
  // non-symmetric product.
  const Eigen::EigenSolver<MatrixXd> es(a.cov * b.cov, false);
  const double tr_sqrt = es.eigenvalues().real().cwiseMax(0.0).cwiseSqrt().sum();
  const double expected =
      (a.mean - b.mean).squaredNorm() + a.cov.trace() + b.cov.trace() - 2.0 * tr_sqrt;
  // Note §6 item 11: ≤ 1e-9 relative (condition number ≤ 100 as in the note's check).
  QVERIFY(std::abs(frechet_distance(a, b) - expected) <= 1e-9 * expected);
}

void TestDistances::frechetSelfZeroAndSymmetric() {
  const Gaussian a{VectorXd::Constant(8, 2.0), random_spd(8, 31, 50.0)};
  const Gaussian b{VectorXd::Zero(8), random_spd(8, 32, 10.0)};
  // Mathematically 0; the residual is a few ulps of tr S per eigenvalue, clamped from below.
  const double self = frechet_distance(a, a);
  QVERIFY(self >= 0.0 && self <= 1e-12 * a.cov.trace());
  const double ab = frechet_distance(a, b), ba = frechet_distance(b, a);
  // Symmetric in exact arithmetic; the two routes differ only by eigensolver round-off.
  QVERIFY(std::abs(ab - ba) <= 1e-10 * ab);
}

void TestDistances::frechetSampleBiasFloor() {
  // d = 2, covariance diag(1, 0.25), n = 20 000: one draw below 5× the expected floor. The
  // dominant term ‖Δm‖² = (2/n)(z₁² + 0.25 z₂²) exceeds that with probability ≈ 2e-3.
  const Index n = 20000;
  const Eigen::RowVector2f scale(1.0f, 0.5f);
  const RowMatrixXf X = normals(n, 2, 101).array().rowwise() * scale.array();
  const RowMatrixXf Y = normals(n, 2, 102).array().rowwise() * scale.array();
  const double floor2 = fd_two_sample_bias(VectorXd{{1.0, 0.25}}, static_cast<double>(n));
  const double fd2 = frechet_distance(X, Y);
  QVERIFY2(fd2 > 0.0 && fd2 < 5.0 * floor2,
           qPrintable(QString("FD %1, floor %2").arg(fd2).arg(floor2)));

  // Note §6 item 12: N(0, I₁₆), n = 5 000, 20 seeds: the mean within 15 % of
  // (2d + d(d + 1)/2)/n = 0.0336 (the note measured 0.0334; the 20-seed mean has a standard
  // error of about 3 %, so 15 % is 5 of them).
  std::vector<double> fd16;
  for (uint64_t r = 0; r < 20; ++r)
    fd16.push_back(
        frechet_distance(normals(5000, 16, 1000 + 2 * r), normals(5000, 16, 1001 + 2 * r)));
  const double floor16 = fd_two_sample_bias(VectorXd::Ones(16), 5000.0);
  const MeanSe s = mean_and_standard_error(fd16);
  QVERIFY2(std::abs(s.mean - floor16) < 0.15 * floor16,
           qPrintable(QString("mean FD %1, floor %2").arg(s.mean).arg(floor16)));
}

void TestDistances::frechetSampleMeanShift() {
  const Index n = 20000;
  const Eigen::RowVector2f mu(1.0f, -0.5f);
  const RowMatrixXf X = normals(n, 2, 201);
  const RowMatrixXf Y = normals(n, 2, 202).rowwise() + mu;
  const double mu2 = mu.cast<double>().squaredNorm();
  // Δm ~ N(μ, (2/n) I), so ‖Δm‖² has variance ≈ 4μᵀ(2/n)μ = 8‖μ‖²/n; the covariance terms add
  // only the O(1/n) floor. Allow the floor plus 5 standard deviations.
  const double sd = std::sqrt(8.0 * mu2 / static_cast<double>(n));
  const double floor = fd_two_sample_bias(VectorXd::Ones(2), static_cast<double>(n));
  const double fd = frechet_distance(X, Y);
  QVERIFY2(std::abs(fd - mu2 - floor) < 5.0 * sd,
           qPrintable(QString("FD %1 vs |mu|^2 %2 (sd %3)").arg(fd).arg(mu2).arg(sd)));
}

void TestDistances::mmdTinyMatchesDirectLoop() {
  RowMatrixXf X(3, 2), Y(2, 2);
  X << 0.0f, 0.0f, 1.0f, 0.5f, -0.5f, 2.0f;
  Y << 0.25f, -1.0f, 1.5f, 1.0f;
  // Both are double sums of a handful of terms: round-off ~1e-16, far below 1e-12.
  QVERIFY(std::abs(mmd2_rbf(X, Y, 0.7) - mmd2_direct(X, Y, 0.7)) < 1e-12);
  // With two points in Y the median heuristic is their distance.
  const double l = (Y.row(0) - Y.row(1)).cast<double>().norm();
  QVERIFY(std::abs(mmd2_rbf(X, Y) - mmd2_direct(X, Y, l)) < 1e-12);
}

void TestDistances::mmdBlocksMatchDirectLoop() {
  // Sizes across several 256-row blocks, so that diagonal, mirrored and partial blocks occur.
  const RowMatrixXf X = normals(600, 3, 301);
  const RowMatrixXf Y = normals(300, 3, 302).array() * 1.5f;
  // Sums of ≤ 3.6·10⁵ terms of size ≤ 1 carry ~√N·ε ≈ 1e-13 round-off (N·ε ≈ 4e-11 worst case);
  // a dropped, doubled or undiagonalled block would move the value by > 1e-4.
  const double got = mmd2_rbf(X, Y, 1.3), want = mmd2_direct(X, Y, 1.3);
  QVERIFY2(std::abs(got - want) < 1e-10, qPrintable(QString::number(got - want)));
}

void TestDistances::mmdUnbiasedForEqualDistributions() {
  // 20 independent pairs of n = 500 from N(0, I₂), ℓ = 1: the U-statistic has mean 0
  // (note §5.1 measured |t| ≤ 1.5); 3 standard errors. The biased V-statistic would sit
  // (2/n)(1 − E k) ≈ 2.7e-3 above 0, about 8 standard errors away.
  std::vector<double> v;
  for (uint64_t r = 0; r < 20; ++r)
    v.push_back(mmd2_rbf(normals(500, 2, 400 + 2 * r), normals(500, 2, 401 + 2 * r), 1.0));
  const MeanSe s = mean_and_standard_error(v);
  QVERIFY2(std::abs(s.mean) < 3.0 * s.se, qPrintable(QString("%1 ± %2").arg(s.mean).arg(s.se)));
}

void TestDistances::mmdPositiveForShiftedDistributions() {
  // N(0, I₂) vs N(μ, I₂), ℓ = 1. Gaussian integrals give E k(x, x') = (ℓ²/(ℓ² + 2))^{d/2} = 1/3
  // and E k(x, y) = (1/3) exp(−‖μ‖²/(2(ℓ² + 2))), so population MMD² = (2/3)(1 − e^{−‖μ‖²/6}).
  const Eigen::RowVector2f mu(0.5f, 0.0f);
  const double population = 2.0 / 3.0 * (1.0 - std::exp(-0.25 / 6.0));
  std::vector<double> v;
  for (uint64_t r = 0; r < 20; ++r)
    v.push_back(mmd2_rbf(normals(500, 2, 500 + 2 * r),
                         RowMatrixXf(normals(500, 2, 501 + 2 * r).rowwise() + mu), 1.0));
  const MeanSe s = mean_and_standard_error(v);
  const QString msg = QString("%1 ± %2 vs %3").arg(s.mean).arg(s.se).arg(population);
  QVERIFY2(s.mean > 10.0 * s.se, qPrintable(msg));
  // Unbiased, so also within 4 standard errors of the closed form.
  QVERIFY2(std::abs(s.mean - population) < 4.0 * s.se, qPrintable(msg));
}

void TestDistances::medianHeuristicMatchesBruteForce() {
  // 7 points give 21 pairs (odd count), 8 points 28 (even: mean of the middle two); same
  // arithmetic on both sides, so only a few ulps can differ.
  for (const Index p : {Index(7), Index(8)}) {
    const RowMatrixXf Y = normals(p, 3, 600 + p);
    QVERIFY(std::abs(median_heuristic_bandwidth(Y) - brute_force_median_distance(Y)) <
            1e-14 * brute_force_median_distance(Y));
  }
  // Only the first 1 000 rows count: rows beyond them, far away, must not move the median.
  RowMatrixXf Y = normals(1200, 2, 610);
  const double want = brute_force_median_distance(Y.topRows(1000));
  Y.bottomRows(200).array() += 1e3f;
  QVERIFY(std::abs(median_heuristic_bandwidth(Y) - want) < 1e-14 * want);
}

void TestDistances::slicedZeroForIdenticalSets() {
  for (const Index d : {Index(1), Index(2), Index(8)}) {
    const RowMatrixXf X = normals(500, d, 700 + d);
    // Identical sorted projections: every difference is exactly 0.
    QCOMPARE(sliced_wasserstein(X, X), 0.0);
  }
}

void TestDistances::slicedShift2D() {
  // X = Y + c e₁ on a 2⁻¹⁰ grid is exact in float, so each slice's sorted differences are
  // exactly c cos θ_l up to double round-off, and SW² = c² mean(cos² θ_l) = c²/2 for L ≥ 2
  // equally spaced angles on [0, π) (note §6 item 14); 1e-12 covers the round-off.
  const float c = 0.75f;
  const RowMatrixXf Y = on_grid(normals(1000, 2, 801));
  const RowMatrixXf X = Y.rowwise() + Eigen::RowVector2f(c, 0.0f);
  for (const int L : {0, 2, 5}) {
    const double sw = sliced_wasserstein(X, Y, L);
    QVERIFY2(std::abs(sw * sw - 0.5 * c * c) < 1e-12, qPrintable(QString::number(sw * sw)));
  }
}

void TestDistances::slicedShiftHighDim() {
  // d = 8, shift c: SW² = (1/L) Σ (θ_lᵀc)². For θ uniform on S^{d−1}, (θᵀu)² ~ Beta(½, (d−1)/2)
  // with mean 1/d and variance 2(d − 1)/(d²(d + 2)), so with the fixed L = 128 directions
  // SW² ≈ ‖c‖²/d within 4 standard errors ‖c‖² √(var/128); unnormalised directions would give
  // ≈ ‖c‖², d times more.
  const Index d = 8;
  Eigen::RowVectorXf c(d);
  c << 0.5f, -0.25f, 1.0f, 0.0f, 0.75f, 0.125f, -0.5f, 0.25f;
  const RowMatrixXf Y = on_grid(normals(800, d, 901));
  const RowMatrixXf X = Y.rowwise() + c;
  const double c2 = c.cast<double>().squaredNorm(), dd = static_cast<double>(d);
  const double se = c2 * std::sqrt(2.0 * (dd - 1.0) / (dd * dd * (dd + 2.0)) / 128.0);
  const double sw = sliced_wasserstein(X, Y);
  QVERIFY2(std::abs(sw * sw - c2 / dd) < 4.0 * se,
           qPrintable(QString("%1 vs %2 ± %3").arg(sw * sw).arg(c2 / dd).arg(se)));
  // Fixed directions: repeated calls agree bit for bit.
  QCOMPARE(sliced_wasserstein(X, Y), sw);
}

void TestDistances::slicedUnequalSizes() {
  // 1-D by hand: F⁻¹ of {0, 1} and G⁻¹ of {0, 1, 2} differ by 1 on (1/3, 1/2] and (2/3, 1], so
  // W₂² = 1/6 + 1/3 = 1/2 (exact in binary up to the final rounding).
  RowMatrixXf a(2, 1), b(3, 1);
  a << 0.0f, 1.0f;
  b << 0.0f, 1.0f, 2.0f;
  QVERIFY(std::abs(sliced_wasserstein(a, b) - std::sqrt(0.5)) < 1e-15);

  // Duplicating every point of Y leaves its empirical distribution unchanged, so the
  // unequal-size merge (n vs 2n) must reproduce the equal-size value; only the summation
  // order differs (round-off ~1e-16 relative).
  for (const Index d : {Index(2), Index(8)}) {
    const RowMatrixXf X = normals(300, d, 1001 + d);
    const RowMatrixXf Y = normals(300, d, 1101 + d).array() + 0.3f;
    RowMatrixXf Y2(600, d);
    Y2 << Y, Y;
    const double equal = sliced_wasserstein(X, Y), merged = sliced_wasserstein(X, Y2);
    QVERIFY2(std::abs(equal - merged) < 1e-12 * equal,
             qPrintable(QString("%1 vs %2").arg(equal).arg(merged)));
  }
}

void TestDistances::badInputThrows() {
  const RowMatrixXf X = normals(10, 2, 1201);
  const RowMatrixXf Y3 = normals(10, 3, 1202);
  const RowMatrixXf one = normals(1, 2, 1203);
  RowMatrixXf Ynan = normals(10, 2, 1204);
  Ynan(3, 1) = std::numeric_limits<float>::quiet_NaN();

  const auto expect = [](const QString& msg, const QStringList& parts) {
    QVERIFY2(!msg.isEmpty(), "no Error thrown");
    for (const QString& part : parts)
      QVERIFY2(msg.contains(part), qPrintable(msg + " lacks " + part));
  };
  expect(error_of([&] { frechet_distance(X, Y3); }), {"frechet_distance", "dimension mismatch"});
  expect(error_of([&] { mmd2_rbf(X, Y3, 1.0); }), {"mmd2_rbf", "dimension mismatch"});
  expect(error_of([&] { sliced_wasserstein(X, Y3); }), {"sliced_wasserstein", "dimension"});
  expect(error_of([&] { frechet_distance(one, X); }), {"X", "at least 2 rows"});
  expect(error_of([&] { mmd2_rbf(X, one); }), {"Y", "at least 2 rows"});
  expect(error_of([&] { sliced_wasserstein(one, X); }), {"X", "at least 2 rows"});
  expect(error_of([&] { sample_moments(one); }), {"sample_moments", "at least 2 rows"});
  expect(error_of([&] { median_heuristic_bandwidth(one); }), {"at least 2 rows"});
  expect(error_of([&] { frechet_distance(X, Ynan); }), {"Y row 3", "NaN"});
  expect(error_of([&] { mmd2_rbf(X, Ynan); }), {"Y row 3", "NaN"});
  expect(error_of([&] { sliced_wasserstein(Ynan, X); }), {"X row 3", "NaN"});

  const Gaussian g2{VectorXd::Zero(2), MatrixXd::Identity(2, 2)};
  const Gaussian g3{VectorXd::Zero(3), MatrixXd::Identity(3, 3)};
  expect(error_of([&] { frechet_distance(g2, g3); }), {"dimension mismatch"});
  expect(error_of([&] {
           frechet_distance(Gaussian{VectorXd::Zero(2), MatrixXd::Identity(3, 3)}, g3);
         }),
         {"a.cov", "3x3"});
  MatrixXd skew = MatrixXd::Identity(2, 2);
  skew(0, 1) = 0.5;
  expect(error_of([&] {
           frechet_distance(g2, Gaussian{VectorXd::Zero(2), skew});
         }),
         {"b.cov", "not symmetric"});

  expect(error_of([&] { mmd2_rbf(X, X, std::nan("")); }), {"bandwidth"});
  expect(error_of([&] { mmd2_rbf(X, RowMatrixXf::Ones(5, 2)); }), {"median", "bandwidth"});
  expect(error_of([&] { sliced_wasserstein(X, X, -1); }), {"num_projections"});
}

QTEST_APPLESS_MAIN(TestDistances)
#include "test_distances.moc"
