// Log-space weights and the four resampling schemes (particle note §4, §12.1–12.2): ESS
// identities, unbiased offspring counts E N_i = N W_i, multinomial variance N W(1 − W),
// systematic counts within {⌊NW⌋, ⌈NW⌉} and minimal variance Σ f(1 − f), equal weights give
// the identity, and the variance ordering against multinomial.
#include "core/error.hpp"
#include "model/gaussian_mixture.hpp"
#include "particle/resampling.hpp"

#include <QtTest>
#include <cmath>
#include <limits>
#include <numeric>

using namespace itslab;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The note's particle set (§4.1): N draws of the base GMM weighted by the λ = 1 linear tilt
// a = (1, 0.5); returns log-weights and the first coordinate.
void tilted_particles(int n, std::vector<double>& logw, std::vector<double>& x1) {
  GmmSpec s;
  s.weights = {0.5, 0.3, 0.2};
  s.means = {{-2, 0}, {2, 1}, {0, -2.5}};
  s.covariances = {{{0.5, 0.2}, {0.2, 0.4}}, {{0.3, -0.1}, {-0.1, 0.6}}, {{0.4, 0}, {0, 0.2}}};
  const GaussianMixture g("base", s);
  const RowMatrixXf X = g.sample(n, 77, 9);
  logw.resize(n);
  x1.resize(n);
  for (int i = 0; i < n; ++i) {
    logw[i] = X(i, 0) + 0.5 * X(i, 1);
    x1[i] = X(i, 0);
  }
}

struct CountStats {
  std::vector<double> mean, var; // per particle over the repetitions
  double var_of_mean = 0;        // of the resampled mean of x1
  bool systematic_bounds = true; // every count in {⌊mW⌋, ⌈mW⌉}
};

CountStats repeat(ResampleScheme s, const std::vector<double>& W, const std::vector<double>& x1,
                  int64_t m, int R) {
  const size_t N = W.size();
  std::vector<double> sum(N, 0), sq(N, 0);
  std::vector<int64_t> count(N);
  double ms = 0, ms2 = 0;
  CountStats c;
  for (int r = 0; r < R; ++r) {
    const std::vector<int64_t> a = resample(s, W, m, 2024, 64, static_cast<uint32_t>(r));
    if (static_cast<int64_t>(a.size()) != m || !std::is_sorted(a.begin(), a.end()))
      qFatal("resample returned %zu unsorted or wrong-sized indices", a.size());
    std::fill(count.begin(), count.end(), 0);
    double mean = 0;
    for (int64_t i : a) {
      ++count[static_cast<size_t>(i)];
      mean += x1[static_cast<size_t>(i)];
    }
    mean /= static_cast<double>(m);
    ms += mean;
    ms2 += mean * mean;
    for (size_t i = 0; i < N; ++i) {
      sum[i] += static_cast<double>(count[i]);
      sq[i] += static_cast<double>(count[i]) * static_cast<double>(count[i]);
      const double mw = static_cast<double>(m) * W[i];
      if (count[i] != static_cast<int64_t>(std::floor(mw)) &&
          count[i] != static_cast<int64_t>(std::ceil(mw)))
        c.systematic_bounds = false;
    }
  }
  c.mean.resize(N);
  c.var.resize(N);
  for (size_t i = 0; i < N; ++i) {
    c.mean[i] = sum[i] / R;
    c.var[i] = sq[i] / R - c.mean[i] * c.mean[i];
  }
  c.var_of_mean = ms2 / R - (ms / R) * (ms / R);
  return c;
}

} // namespace

class TestResampling : public QObject {
  Q_OBJECT
private slots:
  void ess_identities();
  void degenerate_weights();
  void unbiased_counts_data();
  void unbiased_counts();
  void variance_ordering();
  void systematic_equal_weights_is_identity();
  void other_output_sizes();
  void scheme_names();
};

void TestResampling::ess_identities() {
  const std::vector<double> uniform(1000, -3.25);
  QVERIFY(std::abs(effective_sample_size(uniform) - 1000) < 1e-9);
  std::vector<double> one_hot(1000, -kInf);
  one_hot[17] = 2.0;
  QCOMPARE(effective_sample_size(one_hot), 1.0);
  // exp(2 LSE(ℓ) − LSE(2ℓ)) equals 1/Σ W² computed directly, shifted far from 0
  std::vector<double> l, x1;
  tilted_particles(1000, l, x1);
  for (double& v : l)
    v += 800; // exp(ℓ) alone would overflow
  double lse = -kInf, m = *std::max_element(l.begin(), l.end()), s = 0, s2 = 0;
  for (double v : l) {
    s += std::exp(v - m);
    s2 += std::exp(2 * (v - m));
  }
  lse = m + std::log(s);
  const double direct = s * s / s2;
  QVERIFY(std::abs(effective_sample_size(l) - direct) < 1e-9 * direct);
  QVERIFY(std::abs(log_sum_exp(l) - lse) < 1e-12 * std::abs(lse));
  const WeightSummary w = summarize_log_weights(l, nullptr);
  QVERIFY(w.finite);
  qDebug("ESS of the note's tilted particle set (N = 1000): %.1f (note: 249.4)", w.ess);
  QVERIFY(std::abs(w.ess - 249.4) < 60); // same construction, another random draw
  QCOMPARE(log_weight_spread(std::vector<double>{-kInf, 1, -2, NAN}), 3.0);
}

// NaN and −inf mean weight 0; all of them: uniform weights and `finite` false.
void TestResampling::degenerate_weights() {
  std::vector<double> W;
  QVERIFY(normalise_log_weights({0.0, NAN, -kInf, std::log(3.0)}, W));
  QCOMPARE(W.size(), size_t{4});
  QVERIFY(std::abs(W[0] - 0.25) < 1e-15 && W[1] == 0 && W[2] == 0 && std::abs(W[3] - 0.75) < 1e-15);
  QVERIFY(!normalise_log_weights({-kInf, NAN, -kInf}, W));
  for (double w : W)
    QCOMPARE(w, 1.0 / 3);
  QCOMPARE(effective_sample_size({-kInf, -kInf}), 2.0);
  // zero-weight particles are never drawn, even the last one
  for (ResampleScheme s : {ResampleScheme::multinomial, ResampleScheme::systematic,
                           ResampleScheme::stratified, ResampleScheme::residual}) {
    const std::vector<int64_t> a = resample(s, {0.5, 0.5, 0.0, 0.0}, 1000, 1, 64, 0);
    QVERIFY(std::all_of(a.begin(), a.end(), [](int64_t i) { return i == 0 || i == 1; }));
  }
  QVERIFY_THROWS_EXCEPTION(Error, resample(ResampleScheme::systematic, {}, 3, 1, 64, 0));
}

void TestResampling::unbiased_counts_data() {
  QTest::addColumn<int>("scheme");
  QTest::newRow("multinomial") << static_cast<int>(ResampleScheme::multinomial);
  QTest::newRow("systematic") << static_cast<int>(ResampleScheme::systematic);
  QTest::newRow("stratified") << static_cast<int>(ResampleScheme::stratified);
  QTest::newRow("residual") << static_cast<int>(ResampleScheme::residual);
}

// |E N_i − N W_i| ≤ 5 √(Var N_i / R) for every particle (R = 20 000 repetitions).
void TestResampling::unbiased_counts() {
  QFETCH(int, scheme);
  const auto s = static_cast<ResampleScheme>(scheme);
  std::vector<double> l, x1, W;
  tilted_particles(1000, l, x1);
  normalise_log_weights(l, W);
  const int R = 20000, N = 1000;
  const CountStats c = repeat(s, W, x1, N, R);
  double worst = 0, total_var = 0;
  for (int i = 0; i < N; ++i) {
    const double nw = N * W[i];
    const double f = nw - std::floor(nw);
    // the per-particle variance can be ~0 (systematic): floor it at f(1 − f)/R-scale rounding
    const double sd = std::sqrt(std::max(c.var[i], f * (1 - f)) / R) + 1e-12;
    worst = std::max(worst, std::abs(c.mean[i] - nw) / sd);
    total_var += c.var[i];
  }
  double sum_w2 = 0, sum_f = 0;
  for (double w : W) {
    sum_w2 += w * w;
    const double f = N * w - std::floor(N * w);
    sum_f += f * (1 - f);
  }
  qDebug("%-12s max |E N_i − N W_i| / se = %.2f, Σ Var N_i = %.1f, Var(resampled mean x1) = "
         "%.3g",
         to_string(s).c_str(), worst, total_var, c.var_of_mean);
  QVERIFY2(worst <= 5, qPrintable(QString::number(worst)));
  if (s == ResampleScheme::multinomial) {
    const double theory = N * (1 - sum_w2);
    qDebug("multinomial Σ Var N_i theory N(1 − Σ W²) = %.1f", theory);
    QVERIFY(std::abs(total_var - theory) < 0.05 * theory);
  }
  if (s == ResampleScheme::systematic) {
    QVERIFY(c.systematic_bounds);
    qDebug("systematic Σ f(1 − f) = %.1f (the minimum possible)", sum_f);
    QVERIFY(std::abs(total_var - sum_f) < 0.05 * sum_f);
  }
}

// Douc et al. 2005: stratified and residual never worse than multinomial for the conditional
// variance; systematic in practice (note §4.1: 2.6e-4, 3.0e-4, 3.1e-4 vs 6.2e-4).
void TestResampling::variance_ordering() {
  std::vector<double> l, x1, W;
  tilted_particles(1000, l, x1);
  normalise_log_weights(l, W);
  const int R = 20000;
  double v[4];
  const ResampleScheme order[] = {ResampleScheme::multinomial, ResampleScheme::stratified,
                                  ResampleScheme::residual, ResampleScheme::systematic};
  for (int i = 0; i < 4; ++i) {
    v[i] = repeat(order[i], W, x1, 1000, R).var_of_mean;
    qDebug("Var(resampled mean of x1), %-12s %.3g", to_string(order[i]).c_str(), v[i]);
  }
  // theory for multinomial: Var_W(x1)/N
  double m = 0, m2 = 0;
  for (size_t i = 0; i < W.size(); ++i)
    m += W[i] * x1[i], m2 += W[i] * x1[i] * x1[i];
  const double theory = (m2 - m * m) / 1000;
  qDebug("multinomial theory Var_W(x1)/N = %.3g", theory);
  QVERIFY(std::abs(v[0] - theory) < 0.05 * theory);
  QVERIFY(v[1] < 0.8 * v[0]);
  QVERIFY(v[2] < 0.8 * v[0]);
  QVERIFY(v[3] < 0.8 * v[0]);
}

void TestResampling::systematic_equal_weights_is_identity() {
  for (int n : {1, 2, 7, 1000, 65536}) {
    const std::vector<double> W(static_cast<size_t>(n), 1.0 / n);
    for (uint32_t step = 0; step < 20; ++step) {
      const std::vector<int64_t> a = resample(ResampleScheme::systematic, W, n, 5, 64, step);
      std::vector<int64_t> id(static_cast<size_t>(n));
      std::iota(id.begin(), id.end(), 0);
      QVERIFY2(a == id, qPrintable(QString("n = %1, step %2").arg(n).arg(step)));
    }
  }
}

// Drawing m ≠ N offspring (final selection): E N_i = m W_i, and the same key gives the same draw.
void TestResampling::other_output_sizes() {
  std::vector<double> l, x1, W;
  tilted_particles(200, l, x1);
  normalise_log_weights(l, W);
  for (ResampleScheme s : {ResampleScheme::multinomial, ResampleScheme::systematic,
                           ResampleScheme::stratified, ResampleScheme::residual}) {
    const CountStats c = repeat(s, W, x1, 50, 20000);
    double worst = 0;
    for (size_t i = 0; i < W.size(); ++i) {
      const double mw = 50 * W[i], f = mw - std::floor(mw);
      worst = std::max(worst, std::abs(c.mean[i] - mw) /
                                  (std::sqrt(std::max(c.var[i], f * (1 - f)) / 20000) + 1e-12));
    }
    QVERIFY2(worst <= 5, qPrintable(to_string(s).c_str() + QString(" %1").arg(worst)));
    QCOMPARE(resample(s, W, 50, 3, 64, 8), resample(s, W, 50, 3, 64, 8));
    QVERIFY(resample(s, W, 0, 3, 64, 8).empty());
  }
}

void TestResampling::scheme_names() {
  for (const std::string& n : resample_scheme_names())
    QCOMPARE(to_string(resample_scheme_from_string(n)), n);
  QVERIFY_THROWS_EXCEPTION(Error, resample_scheme_from_string("bootstrap"));
}

QTEST_APPLESS_MAIN(TestResampling)
#include "test_resampling.moc"
