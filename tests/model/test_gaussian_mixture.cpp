#include "backend/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#include "model/gaussian_mixture.hpp"

#include <Eigen/Dense>
#include <QtTest>
#include <cmath>

using namespace itslab;

namespace {

// 3-D mixture with full, anisotropic covariances (condition numbers up to ~50) and labels.
GaussianMixture full_mixture() {
  GmmSpec s;
  s.weights = {0.2, 0.5, 0.3};
  s.means = {{1, 0, -1}, {-2, 1, 0.5}, {0, -1.5, 2}};
  s.covariances = {{{1.0, 0.3, 0.0}, {0.3, 0.5, 0.1}, {0.0, 0.1, 0.2}},
                   {{0.05, 0.0, 0.0}, {0.0, 2.0, 0.4}, {0.0, 0.4, 0.3}},
                   {{0.7, -0.2, 0.1}, {-0.2, 0.4, 0.0}, {0.1, 0.0, 1.5}}};
  s.labels = {0, 1, 0};
  return GaussianMixture("test/full3", s);
}

// Single Gaussian N(μ, Σ): under x = αx0 + σε everything is linear-Gaussian.
GaussianMixture single() {
  GmmSpec s;
  s.weights = {1};
  s.means = {{0.5, -1}};
  s.covariances = {{{0.8, 0.3}, {0.3, 0.4}}};
  return GaussianMixture("test/single", s);
}

double rel(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  return (a - b).norm() / std::max(1.0, b.norm());
}

} // namespace

class TestGaussianMixture : public QObject {
  Q_OBJECT
private slots:
  // For one Gaussian the posterior mean is the linear-Gaussian closed form
  // μ + αΣ(α²Σ + σ²I)⁻¹(x − αμ) and log p_t is N(x; αμ, α²Σ + σ²I).
  void singleGaussianClosedForm() {
    const GaussianMixture g = single();
    const Eigen::Vector2d mu(0.5, -1);
    Eigen::Matrix2d S;
    S << 0.8, 0.3, 0.3, 0.4;
    for (auto [a, s] : {std::pair{1.0, 0.3}, std::pair{0.6, 0.8}, std::pair{0.0, 1.0}}) {
      const Eigen::Vector2d x(0.7, 0.2);
      const Eigen::Matrix2d C = a * a * S + s * s * Eigen::Matrix2d::Identity();
      const Eigen::Vector2d m = mu + a * S * C.inverse() * (x - a * mu);
      QVERIFY(rel(g.posterior_mean(x, a, s), m) < 1e-12);
      const Eigen::Vector2d r = x - a * mu;
      const double lp =
          -std::log(2 * M_PI) - 0.5 * std::log(C.determinant()) - 0.5 * r.dot(C.inverse() * r);
      QVERIFY(std::abs(g.log_prob(x, a, s) - lp) < 1e-12);
    }
  }

  // The score is the gradient of log p_t: central differences agree to O(h²) ≈ 1e-8.
  void scoreIsGradientOfLogDensity() {
    const GaussianMixture g = full_mixture();
    const Eigen::Vector3d x(0.3, -0.4, 0.9);
    for (auto [a, s] : {std::pair{1.0, 0.5}, std::pair{0.8, 0.6}, std::pair{0.5, 1.5}}) {
      Eigen::Vector3d fd;
      const double h = 1e-5;
      for (int i = 0; i < 3; ++i) {
        Eigen::Vector3d e = Eigen::Vector3d::Zero();
        e[i] = h;
        fd[i] = (g.log_prob(x + e, a, s) - g.log_prob(x - e, a, s)) / (2 * h);
      }
      QVERIFY2(rel(g.score(x, a, s), fd) < 1e-7, "score differs from ∇ log p_t");
      for (int c = 0; c < 2; ++c) {
        for (int i = 0; i < 3; ++i) {
          Eigen::Vector3d e = Eigen::Vector3d::Zero();
          e[i] = h;
          fd[i] = (g.log_prob(x + e, a, s, c) - g.log_prob(x - e, a, s, c)) / (2 * h);
        }
        QVERIFY(rel(g.score(x, a, s, c), fd) < 1e-7);
      }
    }
  }

  // log p_t integrates to 1: a 2-D grid quadrature over ±8 std with spacing 0.02 is exact to
  // far below 1e-6 for these smooth densities.
  void densityNormalised() {
    const GaussianMixture g = builtin_gmm("gmm/eight-gaussians");
    for (double s : {0.0, 0.5}) {
      double total = 0;
      const double h = 0.02;
      for (double x = -6; x <= 6; x += h)
        for (double y = -6; y <= 6; y += h)
          total += std::exp(g.log_prob(Eigen::Vector2d(x, y), 1.0, s)) * h * h;
      QVERIFY2(std::abs(total - 1) < 1e-6, qPrintable(QString::number(total, 'g', 12)));
    }
  }

  // Bayes: p(c | x) = W_c p(x | c)/p(x); class posteriors sum to 1.
  void classPosterior() {
    const GaussianMixture g = full_mixture();
    const Eigen::Vector3d x(-0.5, 0.2, 0.4);
    const double a = 0.9, s = 0.5;
    double total = 0;
    for (int c = 0; c < 2; ++c) {
      const double direct =
          std::log(g.class_weight(c)) + g.log_prob(x, a, s, c) - g.log_prob(x, a, s);
      QVERIFY(std::abs(g.class_log_prob(x, a, s, c) - direct) < 1e-12);
      total += std::exp(g.class_log_prob(x, a, s, c));
    }
    QVERIFY(std::abs(total - 1) < 1e-12);
    // E[x0|x] = Σ_c p(c|x) E[x0|x,c]
    Eigen::Vector3d mix = Eigen::Vector3d::Zero();
    for (int c = 0; c < 2; ++c)
      mix += std::exp(g.class_log_prob(x, a, s, c)) * g.posterior_mean(x, a, s, c);
    QVERIFY(rel(mix, g.posterior_mean(x, a, s)) < 1e-12);
  }

  // The backend kernel (float I/O, double inside) matches the host double path to float
  // rounding (relative 1e-6), for full and isotropic mixtures, conditional and not.
  void kernelMatchesHost() {
    CpuBackend be;
    for (const GaussianMixture& g :
         {full_mixture(), builtin_gmm("gmm/high-dim-64"), builtin_gmm("gmm/checkerboard")}) {
      const int d = g.dim(), n = 64;
      Tensor x = be.alloc(n, d), out = be.alloc(n, d);
      be.fill_normal(x, {3, 0, 0, 0});
      be.lincomb(x, {{&x, 2.0}});
      std::vector<float> hx(n * d), ho(n * d);
      be.download(x, hx.data());
      for (int cls : {-1, 1}) {
        for (auto [a, s] : {std::pair{1.0, 0.05}, std::pair{0.7, 0.7}, std::pair{0.01, 3.0}}) {
          be.gmm_denoise(out, x, g.kernel_params(), a, s, cls);
          be.download(out, ho.data());
          for (int i = 0; i < n; ++i) {
            Eigen::VectorXd xi(d), oi(d);
            for (int j = 0; j < d; ++j)
              xi[j] = hx[i * d + j], oi[j] = ho[i * d + j];
            const Eigen::VectorXd want = g.posterior_mean(xi, a, s, cls);
            QVERIFY2(rel(oi, want) < 2e-6, qPrintable(QString::fromStdString(g.id())));
          }
        }
      }
    }
  }

  // Far from every mode the responsibilities underflow in linear space; the log-sum-exp path
  // must still return the nearest component's posterior mean, not NaN.
  void farAwayIsFinite() {
    CpuBackend be;
    const GaussianMixture g = builtin_gmm("gmm/grid-25");
    Tensor x = be.alloc(1, 2), out = be.alloc(1, 2);
    const float far[2] = {300.0f, -250.0f};
    be.upload(x, far);
    for (double sigma : {0.01, 1.0}) {
      be.gmm_denoise(out, x, g.kernel_params(), 1.0, sigma, -1);
      float o[2];
      be.download(out, o);
      QVERIFY(std::isfinite(o[0]) && std::isfinite(o[1]));
      // only the corner component (4, −4) matters there: m = μ + s²/(s² + σ²)(x − μ)
      const double gain = 0.0025 / (0.0025 + sigma * sigma);
      QVERIFY(std::abs(o[0] - (4 + gain * 296)) < 1e-3 * (1 + gain * 296));
      QVERIFY(std::abs(o[1] - (-4 + gain * -246)) < 1e-3 * (1 + gain * 246));
    }
  }

  // Exact moments versus 2·10⁵ exact samples: standard errors are ≈ std/450 ≈ 5e-3 for the
  // mean, so 0.03 is a 6-sigma bound for every entry.
  void samplingMatchesMoments() {
    for (const GaussianMixture& g : {full_mixture(), builtin_gmm("gmm/two-moons")}) {
      const RowMatrixXf X = g.sample(200000, 17, 2);
      const Eigen::VectorXd m = X.cast<double>().colwise().mean();
      const Eigen::MatrixXd C = X.cast<double>().rowwise() - m.transpose();
      const Eigen::MatrixXd S = C.transpose() * C / double(X.rows() - 1);
      QVERIFY((m - g.mean()).cwiseAbs().maxCoeff() < 0.03);
      QVERIFY((S - g.covariance()).cwiseAbs().maxCoeff() < 0.05);
    }
    // class-conditional samples come only from that class
    const GaussianMixture g = builtin_gmm("gmm/eight-gaussians");
    const RowMatrixXf X = g.sample(1000, 1, 2, 3);
    // the mode is 3.05 std from the boundary to either neighbour: ≈ 0.2 % of samples cross
    int nearest3 = 0;
    for (int i = 0; i < X.rows(); ++i)
      nearest3 += g.class_log_prob(X.row(i).transpose().cast<double>(), 1, 0, 3) > std::log(0.5);
    QVERIFY(nearest3 >= 985);
    // std error of the mean 0.354/√1000 = 0.011
    QVERIFY((X.cast<double>().colwise().mean().transpose() - g.component_mean(3)).norm() < 0.05);
  }

  void builtins() {
    QCOMPARE(int(builtin_gmm_ids().size()), 7);
    const struct {
      const char* id;
      int K, d, classes;
    } want[] = {{"gmm/eight-gaussians", 8, 2, 8}, {"gmm/grid-25", 25, 2, 25},
                {"gmm/two-moons", 64, 2, 2},      {"gmm/swiss-roll", 96, 2, 2},
                {"gmm/checkerboard", 200, 2, 8},  {"gmm/high-dim-64", 10, 64, 10},
                {"gmm/pinwheel", 120, 2, 5}};
    for (const auto& w : want) {
      const GaussianMixture g = builtin_gmm(w.id);
      QCOMPARE(g.num_components(), w.K);
      QCOMPARE(g.dim(), w.d);
      QCOMPARE(g.num_classes(), w.classes);
    }
    // high-dim-64: orthogonal means of norm 4 (note §3.4)
    const GaussianMixture h = builtin_gmm("gmm/high-dim-64");
    for (int a = 0; a < 10; ++a) {
      QVERIFY(std::abs(h.component_mean(a).norm() - 4) < 1e-12);
      for (int b = a + 1; b < 10; ++b)
        QVERIFY(std::abs(h.component_mean(a).dot(h.component_mean(b))) < 1e-12);
    }
    QVERIFY_THROWS_EXCEPTION(Error, builtin_gmm("gmm/nope"));
  }

  void badSpecs() {
    GmmSpec s;
    s.weights = {1, 1};
    s.means = {{0, 0}, {1}};
    s.stds = {1, 1};
    try {
      GaussianMixture("bad", s);
      QFAIL("expected an error");
    } catch (const Error& e) {
      QVERIFY(QString(e.what()).contains("gmm.means[1]"));
    }
    s.means = {{0, 0}, {1, 1}};
    s.stds = {1, -1};
    QVERIFY_THROWS_EXCEPTION(Error, GaussianMixture("bad", s));
    s.stds.clear();
    s.covariances = {{{1, 0}, {0, 1}}, {{1, 2}, {2, 1}}};
    try {
      GaussianMixture("bad", s);
      QFAIL("expected an error");
    } catch (const Error& e) {
      QVERIFY(QString(e.what()).contains("gmm.covariances[1]: not positive definite"));
    }
  }
};

QTEST_APPLESS_MAIN(TestGaussianMixture)
#include "test_gaussian_mixture.moc"
