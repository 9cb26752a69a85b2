#include "particle/resampling.hpp"

#include "core/error.hpp"
#include "core/philox.hpp"
#include "core/simd_math.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>

namespace itslab {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// n uniforms in (0, 1) from Philox: four per block (rows of 4 "dimensions").
std::vector<double> uniforms(int64_t n, uint64_t seed, uint32_t stream, uint32_t step) {
  const int64_t rows = (n + 3) / 4;
  std::vector<float> u(static_cast<size_t>(rows * 4));
  constexpr int64_t kBlock = 4096;
#pragma omp parallel for schedule(static) if (rows > 2 * kBlock)
  for (int64_t b = 0; b < rows; b += kBlock) {
    const int64_t e = std::min(rows, b + kBlock);
    philox_uniform_rows(seed, stream, step, static_cast<uint32_t>(b), static_cast<uint32_t>(e - b),
                        4, u.data() + b * 4);
  }
  return std::vector<double>(u.begin(), u.begin() + n);
}

// Inverse CDF of W at the sorted points u (all in [0, 1)), with the last CDF value forced to 1.
std::vector<int64_t> inverse_cdf(const std::vector<double>& W, const std::vector<double>& u) {
  // the last particle with positive weight takes whatever rounding leaves above Σ W
  int64_t last = static_cast<int64_t>(W.size()) - 1;
  while (last > 0 && !(W[last] > 0))
    --last;
  std::vector<int64_t> a(u.size());
  double c = W[0];
  int64_t i = 0;
  for (size_t j = 0; j < u.size(); ++j) {
    while (i < last && u[j] >= c)
      c += W[++i];
    a[j] = i;
  }
  return a;
}

// m sorted uniforms: normalised partial sums of m + 1 exponentials (uniform spacings).
std::vector<double> sorted_uniforms(int64_t m, uint64_t seed, uint32_t stream, uint32_t step) {
  std::vector<double> e = uniforms(m + 1, seed, stream, step);
  double s = 0;
  for (double& v : e) {
    s += -std::log(v);
    v = s;
  }
  std::vector<double> u(static_cast<size_t>(m));
  for (int64_t j = 0; j < m; ++j)
    u[j] = e[j] / s;
  return u;
}

} // namespace

ResampleScheme resample_scheme_from_string(const std::string& s) {
  if (s == "multinomial")
    return ResampleScheme::multinomial;
  if (s == "systematic")
    return ResampleScheme::systematic;
  if (s == "stratified")
    return ResampleScheme::stratified;
  if (s == "residual")
    return ResampleScheme::residual;
  throw Error("unknown resampling scheme '" + s +
              "' (expected multinomial, systematic, stratified or residual)");
}

std::string to_string(ResampleScheme s) {
  switch (s) {
  case ResampleScheme::multinomial:
    return "multinomial";
  case ResampleScheme::systematic:
    return "systematic";
  case ResampleScheme::stratified:
    return "stratified";
  case ResampleScheme::residual:
    return "residual";
  }
  return "?";
}

std::vector<std::string> resample_scheme_names() {
  return {"multinomial", "systematic", "stratified", "residual"};
}

WeightSummary summarize_log_weights(const std::vector<double>& l, std::vector<double>* W) {
  const Eigen::Index n = static_cast<Eigen::Index>(l.size());
  WeightSummary s;
  double m = kNegInf;
  for (double v : l)
    if (v > m) // NaN compares false
      m = v;
  if (!std::isfinite(m)) {
    // every weight is 0 (or one is +inf): nothing to prefer, so uniform
    s.lse = m == std::numeric_limits<double>::infinity() ? m : kNegInf;
    s.ess = static_cast<double>(n);
    s.finite = false;
    if (W)
      W->assign(l.size(), n ? 1.0 / static_cast<double>(n) : 0.0);
    return s;
  }
  // SMC takes this every step: one vectorised pass (libm's scalar exp cost more than the
  // resampling itself). exp(−inf) = 0; NaN entries are masked to 0.
  std::vector<double> scratch;
  std::vector<double>& e = W ? *W : scratch;
  e.resize(l.size());
  const double* L = l.data();
  double* E = e.data();
  double sum = 0, sq = 0;
#pragma omp simd reduction(+ : sum, sq)
  for (Eigen::Index i = 0; i < n; ++i) {
    E[i] = L[i] == L[i] ? simd::exp(L[i] - m) : 0.0;
    sum += E[i];
    sq += E[i] * E[i];
  }
  s.lse = m + std::log(sum);
  s.ess = sum * sum / sq;
  if (W)
    Eigen::Map<Eigen::ArrayXd>(W->data(), n) /= sum;
  return s;
}

double log_sum_exp(const std::vector<double>& l) {
  return summarize_log_weights(l, nullptr).lse;
}

bool normalise_log_weights(const std::vector<double>& l, std::vector<double>& W) {
  return summarize_log_weights(l, &W).finite;
}

double effective_sample_size(const std::vector<double>& l) {
  return summarize_log_weights(l, nullptr).ess;
}

double log_weight_spread(const std::vector<double>& l) {
  double lo = std::numeric_limits<double>::infinity(), hi = kNegInf;
  for (double v : l)
    if (std::isfinite(v))
      lo = std::min(lo, v), hi = std::max(hi, v);
  return hi >= lo ? hi - lo : 0.0;
}

std::vector<int64_t> resample(ResampleScheme scheme, const std::vector<double>& W, int64_t m,
                              uint64_t seed, uint32_t stream, uint32_t step) {
  const int64_t N = static_cast<int64_t>(W.size());
  if (N < 1)
    throw Error("resample: no particles");
  if (m < 1)
    return {};
  switch (scheme) {
  case ResampleScheme::multinomial:
    return inverse_cdf(W, sorted_uniforms(m, seed, stream, step));
  case ResampleScheme::stratified: {
    std::vector<double> u = uniforms(m, seed, stream, step);
    for (int64_t j = 0; j < m; ++j)
      u[j] = (static_cast<double>(j) + u[j]) / static_cast<double>(m);
    return inverse_cdf(W, u);
  }
  case ResampleScheme::systematic: {
    const double U = uniforms(1, seed, stream, step)[0];
    std::vector<double> u(static_cast<size_t>(m));
    for (int64_t j = 0; j < m; ++j)
      u[j] = (static_cast<double>(j) + U) / static_cast<double>(m);
    return inverse_cdf(W, u);
  }
  case ResampleScheme::residual: {
    std::vector<int64_t> a;
    a.reserve(static_cast<size_t>(m));
    std::vector<double> res(static_cast<size_t>(N));
    double rsum = 0;
    for (int64_t i = 0; i < N; ++i) {
      const double mw = static_cast<double>(m) * W[i];
      const double f = std::floor(mw);
      // guard against rounding above m in total
      const int64_t k =
          std::min<int64_t>(static_cast<int64_t>(f), m - static_cast<int64_t>(a.size()));
      for (int64_t c = 0; c < k; ++c)
        a.push_back(i);
      res[i] = std::max(0.0, mw - f);
      rsum += res[i];
    }
    const int64_t R = m - static_cast<int64_t>(a.size());
    if (R > 0) {
      if (!(rsum > 0)) {
        std::fill(res.begin(), res.end(), 1.0);
        rsum = static_cast<double>(N);
      }
      for (double& r : res)
        r /= rsum;
      const std::vector<int64_t> extra = inverse_cdf(res, sorted_uniforms(R, seed, stream, step));
      std::vector<int64_t> merged(a.size() + extra.size());
      std::merge(a.begin(), a.end(), extra.begin(), extra.end(), merged.begin());
      return merged;
    }
    return a;
  }
  }
  throw Error("resample: bad scheme");
}

} // namespace itslab
