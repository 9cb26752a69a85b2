#include "core/philox.hpp"
#include "metric/mixture_metrics.hpp"

#include <Eigen/Dense>
#include <QtTest>
#include <cmath>

using namespace itslab;

class TestMixtureMetrics : public QObject {
  Q_OBJECT
private slots:
  // The "3 std" radius in the chi-square sense: exactly 9 in 2-D (P = 1 − e^{−4.5} is the 2-D
  // CDF at 9); 19.80 (8-D) and 92.64 (64-D) from the gaussian-mixtures note §4.7.
  void chiSquareQuantile() {
    const double p = 1 - std::exp(-4.5);
    QVERIFY(std::abs(chi2_quantile(2, p) - 9) < 1e-9);
    QVERIFY(std::abs(chi2_quantile(8, p) - 19.80) < 0.01);
    QVERIFY(std::abs(chi2_quantile(64, p) - 92.64) < 0.01);
    QVERIFY(std::abs(chi2_quantile(1, 0.9544997361) - 4) < 1e-6); // P(|z| ≤ 2)
  }

  // Exact samples: every mode covered, high-quality share 0.98889 plus a little overlap
  // (note §4.7: 0.990–0.991 on eight-gaussians), standard error at n = 20000 is 7e-4; the
  // mode-mass TV floor is ½ Σ √(2w(1−w)/(πn)) ≈ 0.015 at this n.
  void exactSamples() {
    for (const char* id : {"gmm/eight-gaussians", "gmm/high-dim-64"}) {
      const GaussianMixture g = builtin_gmm(id);
      const ModeCoverage m = mode_coverage(g, g.sample(20000, 4, 9));
      QCOMPARE(m.covered, 1.0);
      QVERIFY2(m.high_quality > 0.985 && m.high_quality < 0.995,
               qPrintable(QString::number(m.high_quality)));
      QVERIFY(m.mass_tv < 0.03);
    }
  }

  // A missing mode is uncovered and moves its mass to the others: TV = w_missing = 1/8.
  void missingMode() {
    const GaussianMixture g = builtin_gmm("gmm/eight-gaussians");
    const RowMatrixXf X = g.sample(16000, 4, 9);
    std::vector<int> keep;
    for (int i = 0; i < X.rows(); ++i)
      if (g.class_log_prob(X.row(i).transpose().cast<double>(), 1, 0, 0) < std::log(0.5))
        keep.push_back(i);
    RowMatrixXf Y(keep.size(), 2);
    for (size_t i = 0; i < keep.size(); ++i)
      Y.row(i) = X.row(keep[i]);
    const ModeCoverage m = mode_coverage(g, Y);
    QVERIFY(std::abs(m.covered - 7.0 / 8) < 1e-12);
    QVERIFY(std::abs(m.mass_tv - 1.0 / 8) < 0.02);
  }

  // The note's blind spot: one broad Gaussian with the mixture's moments "covers" all eight
  // modes but its high-quality share is ≈ 0.41.
  void broadGaussianHasLowQuality() {
    const GaussianMixture g = builtin_gmm("gmm/eight-gaussians");
    const Eigen::LLT<Eigen::MatrixXd> L(g.covariance());
    RowMatrixXf X(20000, 2);
    for (int i = 0; i < X.rows(); ++i) {
      const Eigen::Vector2d z(philox_normal(1, 0, 0, i, 0), philox_normal(1, 0, 0, i, 1));
      X.row(i) = (g.mean() + L.matrixL() * z).cast<float>().transpose();
    }
    const ModeCoverage m = mode_coverage(g, X);
    QCOMPARE(m.covered, 1.0);
    QVERIFY(m.high_quality > 0.35 && m.high_quality < 0.47);
  }

  // For one Gaussian, E[log p0] = −H = −½ log((2πe)^d det Σ); log p0 has variance d/2, so the
  // standard error at n = 10⁵ is 0.003 (2-D) — bound 0.015.
  void logDensityIsNegativeEntropy() {
    GmmSpec s;
    s.weights = {1};
    s.means = {{1, 2}};
    s.covariances = {{{0.5, 0.2}, {0.2, 0.3}}};
    const GaussianMixture g("single", s);
    const double det = 0.5 * 0.3 - 0.2 * 0.2;
    const double H = 0.5 * std::log(std::pow(2 * M_PI * std::exp(1.0), 2) * det);
    QVERIFY(std::abs(mean_log_density(g, g.sample(100000, 3, 1)) + H) < 0.015);
  }
};

QTEST_APPLESS_MAIN(TestMixtureMetrics)
#include "test_mixture_metrics.moc"
