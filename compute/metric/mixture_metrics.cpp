#include "metric/mixture_metrics.hpp"

#include "core/error.hpp"

#include <cmath>
#include <limits>
#include <vector>

namespace itslab {

namespace {

// Regularised lower incomplete gamma P(a, x) (Numerical Recipes §6.2: series below a + 1,
// Lentz continued fraction above).
double gamma_p(double a, double x) {
  if (x <= 0)
    return 0;
  const double log_pre = a * std::log(x) - x - std::lgamma(a);
  if (x < a + 1) {
    double sum = 1 / a, term = sum;
    for (int n = 1; n < 1000 && std::abs(term) > 1e-16 * std::abs(sum); ++n) {
      term *= x / (a + n);
      sum += term;
    }
    return sum * std::exp(log_pre);
  }
  const double tiny = 1e-300;
  double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (int i = 1; i < 1000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    d = std::abs(d) < tiny ? tiny : d;
    c = b + an / c;
    c = std::abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1) < 1e-16)
      break;
  }
  return 1 - std::exp(log_pre) * h;
}

void check_dims(const GaussianMixture& gmm, const RowMatrixXf& X) {
  if (X.cols() != gmm.dim())
    throw Error("metric: samples have " + std::to_string(X.cols()) + " dimensions, the model " +
                std::to_string(gmm.dim()));
  if (X.rows() == 0)
    throw Error("metric: no samples");
}

} // namespace

double chi2_quantile(int d, double p) {
  // P(d/2, x/2) is increasing in x: bisection to full double precision.
  double lo = 0, hi = d + 20.0 * std::sqrt(2.0 * d) + 20;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (gamma_p(0.5 * d, 0.5 * mid) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double mean_log_density(const GaussianMixture& gmm, const RowMatrixXf& X) {
  check_dims(gmm, X);
  double sum = 0;
#pragma omp parallel for reduction(+ : sum) if (X.rows() > 256)
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    sum += gmm.log_prob(X.row(i).transpose().cast<double>(), 1.0, 0.0);
  return sum / static_cast<double>(X.rows());
}

ModeCoverage mode_coverage(const GaussianMixture& gmm, const RowMatrixXf& X) {
  check_dims(gmm, X);
  const int K = gmm.num_components();
  const double r2 = chi2_quantile(gmm.dim(), 1 - std::exp(-4.5));
  std::vector<int64_t> nearest(K, 0), within(K, 0);
#pragma omp parallel if (X.rows() > 256)
  {
    std::vector<int64_t> near_local(K, 0), within_local(K, 0);
#pragma omp for
    for (Eigen::Index i = 0; i < X.rows(); ++i) {
      const Eigen::VectorXd x = X.row(i).transpose().cast<double>();
      int best = 0;
      double best_q = std::numeric_limits<double>::infinity();
      for (int k = 0; k < K; ++k) {
        const double q = gmm.mahalanobis2(x, k);
        if (q < best_q)
          best_q = q, best = k;
      }
      ++near_local[best];
      if (best_q <= r2)
        ++within_local[best];
    }
#pragma omp critical
    for (int k = 0; k < K; ++k)
      nearest[k] += near_local[k], within[k] += within_local[k];
  }
  ModeCoverage m;
  const double n = static_cast<double>(X.rows());
  int64_t hq = 0;
  for (int k = 0; k < K; ++k) {
    const double w = gmm.weight(k);
    if (within[k] >= w / 4 * n)
      m.covered += 1.0 / K;
    hq += within[k];
    m.mass_tv += 0.5 * std::abs(nearest[k] / n - w);
  }
  m.high_quality = hq / n;
  return m;
}

} // namespace itslab
