#include "backend/cpu/cpu_backend.hpp"

#include "backend/cpu/cpu_activation.hpp"

#include "core/error.hpp"
#include "core/philox.hpp"
#include "core/simd_math.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <omp.h>
#include <vector>

namespace itslab {

namespace {

struct HostBuffer final : DeviceBuffer {
  explicit HostBuffer(size_t n) : data(n) {}
  std::vector<float> data;
};

using RowMap = Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// Rows per OpenMP chunk: small enough to balance, large enough that scheduling is free.
constexpr int64_t kRowBlock = 256;

// Posterior mean of x0 for particles [b, e) of a full-covariance mixture, in double with a
// running log-sum-exp so far-away components never underflow into 0/0: ℓ_k = c_k − ½ Σ z²/λ̃
// with z = Q_kᵀ(x − αμ_k), and m_k = μ_k + Q_k (gain ⊙ z).
void gmm_posterior_mean_full(const GmmKernelParams& g, const GmmStepTables& tb, const float* in,
                             double alpha, float* out, int64_t b, int64_t e) {
  const int d = g.d;
  std::vector<double> z(d), acc(d);
  for (int64_t p = b; p < e; ++p) {
    const float* x = in + p * d;
    double m = -std::numeric_limits<double>::infinity(), total = 0.0;
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int k : tb.active) {
      const size_t off = static_cast<size_t>(k) * d;
      const double* mu = &g.mu[off];
      const double* Q = &g.Q[off * d];
      double l = tb.c[k];
      for (int i = 0; i < d; ++i) {
        double zi = 0.0;
        for (int j = 0; j < d; ++j)
          zi += Q[j * d + i] * (x[j] - alpha * mu[j]);
        l -= 0.5 * zi * zi * tb.inv[off + i];
        z[i] = zi * tb.gain[off + i];
      }
      // online softmax: rescale the accumulator when a new maximum appears
      double wk = 1.0;
      if (l > m) {
        const double scale = std::exp(m - l);
        total *= scale;
        for (int i = 0; i < d; ++i)
          acc[i] *= scale;
        m = l;
      } else {
        wk = std::exp(l - m);
      }
      total += wk;
      for (int i = 0; i < d; ++i) {
        double mk = mu[i];
        for (int j = 0; j < d; ++j)
          mk += Q[i * d + j] * z[j];
        acc[i] += wk * mk;
      }
    }
    for (int i = 0; i < d; ++i)
      out[p * d + i] = static_cast<float>(acc[i] / total);
  }
}

// Rows per pass of the isotropic kernel: its arrays (a logit per component and row, x and the
// accumulators per dimension and row) stay in cache, and every loop over rows vectorises.
constexpr int64_t kGmmLanes = 64;

// The isotropic case (Q_k = I, all built-in mixtures) of gmm_posterior_mean_full, restructured
// for SIMD: rows are lanes (x transposed to structure-of-arrays), components the outer loop.
// Pass 1 computes the logits ℓ_k and their maximum m, pass 2 the weights exp(ℓ_k − m) with the
// branch-free simd::exp and the weighted sum of m_k = μ_k + gain ⊙ (x − αμ_k): the same sums as
// the online softmax, without its rescaling. D > 0 fixes the dimension at compile time, so each
// pass is one loop over the lanes; otherwise a loop over the lanes per dimension.
template <int D>
void gmm_posterior_mean_iso(const GmmKernelParams& g, const GmmStepTables& tb, const float* in,
                            double alpha, float* out, int64_t b, int64_t e) {
  constexpr int64_t L = kGmmLanes;
  const int64_t d = D > 0 ? D : g.d;
  const int64_t K = static_cast<int64_t>(tb.active.size());
  thread_local std::vector<double> buf;
  buf.resize(static_cast<size_t>((2 * d + 3 + K) * L));
  double* const x = buf.data();
  double* const acc = x + d * L;
  double* const m = acc + d * L;
  double* const total = m + L;
  double* const w = total + L;
  double* const ell = w + L;
  for (int64_t p0 = b; p0 < e; p0 += L) {
    const int64_t len = std::min(L, e - p0);
    // lanes past the last row repeat it, so every loop runs over all L lanes
    for (int64_t p = 0; p < L; ++p)
      for (int64_t i = 0; i < d; ++i)
        x[i * L + p] = in[(p0 + std::min(p, len - 1)) * d + i];
    std::fill(m, m + L, -std::numeric_limits<double>::infinity());
    for (int64_t q = 0; q < K; ++q) {
      const size_t off = static_cast<size_t>(tb.active[q]) * d;
      const double* mu = &g.mu[off];
      const double* inv = &tb.inv[off];
      const double ck = tb.c[tb.active[q]];
      double* lq = ell + q * L;
      if constexpr (D > 0) { // the dimension loop unrolls: one pass over the lanes
#pragma omp simd
        for (int64_t p = 0; p < L; ++p) {
          double l = ck;
          for (int i = 0; i < D; ++i) {
            const double zi = x[i * L + p] - alpha * mu[i];
            l -= 0.5 * zi * zi * inv[i];
          }
          lq[p] = l;
          m[p] = l > m[p] ? l : m[p];
        }
        continue;
      }
      std::fill(lq, lq + L, ck);
      for (int64_t i = 0; i < d; ++i) {
        const double* xi = x + i * L;
#pragma omp simd
        for (int64_t p = 0; p < L; ++p) {
          const double zi = xi[p] - alpha * mu[i];
          lq[p] -= 0.5 * zi * zi * inv[i];
        }
      }
#pragma omp simd
      for (int64_t p = 0; p < L; ++p)
        m[p] = lq[p] > m[p] ? lq[p] : m[p];
    }
    std::fill(total, total + L, 0.0);
    std::fill(acc, acc + d * L, 0.0);
    for (int64_t q = 0; q < K; ++q) {
      const size_t off = static_cast<size_t>(tb.active[q]) * d;
      const double* mu = &g.mu[off];
      const double* gain = &tb.gain[off];
      const double* lq = ell + q * L;
      if constexpr (D > 0) {
#pragma omp simd
        for (int64_t p = 0; p < L; ++p) {
          const double wp = simd::exp(lq[p] - m[p]);
          total[p] += wp;
          for (int i = 0; i < D; ++i)
            acc[i * L + p] += wp * (mu[i] + (x[i * L + p] - alpha * mu[i]) * gain[i]);
        }
        continue;
      }
#pragma omp simd
      for (int64_t p = 0; p < L; ++p) {
        w[p] = simd::exp(lq[p] - m[p]);
        total[p] += w[p];
      }
      for (int64_t i = 0; i < d; ++i) {
        const double* xi = x + i * L;
        double* acci = acc + i * L;
#pragma omp simd
        for (int64_t p = 0; p < L; ++p)
          acci[p] += w[p] * (mu[i] + (xi[p] - alpha * mu[i]) * gain[i]);
      }
    }
    for (int64_t p = 0; p < len; ++p)
      for (int64_t i = 0; i < d; ++i)
        out[(p0 + p) * d + i] = static_cast<float>(acc[i * L + p] / total[p]);
  }
}

} // namespace

CpuBackend::CpuBackend() = default;

std::string CpuBackend::device() const {
  std::string simd = "SSE2";
#if defined(__AVX512F__)
  simd = "AVX-512";
#elif defined(__AVX2__)
  simd = "AVX2";
#elif defined(__AVX__)
  simd = "AVX";
#endif
  return "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." +
         std::to_string(EIGEN_MAJOR_VERSION) + ", " + std::to_string(omp_get_max_threads()) +
         " threads, " + simd;
}

float* CpuBackend::data(const Tensor& t) {
  auto* b = dynamic_cast<HostBuffer*>(t.buffer());
  if (!b)
    throw Error("tensor does not live on the CPU backend");
  return b->data.data();
}

Tensor CpuBackend::alloc(int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0)
    throw Error("alloc: negative shape");
  return Tensor(this, std::make_shared<HostBuffer>(static_cast<size_t>(rows * cols)), rows, cols);
}

void CpuBackend::upload(Tensor& t, const float* host) {
  std::memcpy(data(t), host, sizeof(float) * static_cast<size_t>(t.size()));
}

void CpuBackend::download(const Tensor& t, float* host) {
  std::memcpy(host, data(t), sizeof(float) * static_cast<size_t>(t.size()));
}

void CpuBackend::lincomb(Tensor& y, std::initializer_list<LinTerm> terms) {
  const int64_t n = y.rows(), d = y.cols();
  struct Raw {
    const float* x;
    float a;
    const float* s;
  };
  std::vector<Raw> raw;
  for (const LinTerm& t : terms) {
    check_same_shape(y, *t.x, "lincomb");
    if (t.row_scale && (t.row_scale->rows() != n || t.row_scale->cols() != 1))
      throw Error("lincomb: row scale must be [n, 1]");
    raw.push_back(
        {data(*t.x), static_cast<float>(t.a), t.row_scale ? data(*t.row_scale) : nullptr});
  }
  float* out = data(y);
  // Each chunk is summed into a stack buffer before y is written, so y may alias an input.
  constexpr int64_t kChunk = 1024;
  const int64_t total = n * d;
#pragma omp parallel for schedule(static) if (total > 16384)
  for (int64_t b = 0; b < total; b += kChunk) {
    const int64_t len = std::min(kChunk, total - b);
    float tmp[kChunk];
    std::fill(tmp, tmp + len, 0.0f);
    for (const Raw& r : raw) {
      const float* x = r.x + b;
      if (r.s) {
        for (int64_t i = 0; i < len; ++i)
          tmp[i] += r.a * r.s[(b + i) / d] * x[i];
      } else {
        for (int64_t i = 0; i < len; ++i)
          tmp[i] += r.a * x[i];
      }
    }
    std::copy(tmp, tmp + len, out + b);
  }
}

namespace {
// Rows are drawn in independent blocks; each row's numbers depend only on its particle index.
template <class RowFill> void fill_rows(Tensor& y, float* out, const NoiseKey& key, RowFill fill) {
  const int64_t n = y.rows(), d = y.cols();
#pragma omp parallel for schedule(static) if (n * d > 4096)
  for (int64_t b = 0; b < n; b += kRowBlock) {
    const int64_t e = std::min(n, b + kRowBlock);
    fill(key.seed, key.stream, key.step, key.first_particle + static_cast<uint32_t>(b),
         static_cast<uint32_t>(e - b), static_cast<uint32_t>(d), out + b * d);
  }
}
} // namespace

void CpuBackend::fill_normal(Tensor& y, const NoiseKey& key) {
  fill_rows(y, data(y), key, philox_normal_rows);
}

void CpuBackend::fill_uniform(Tensor& y, const NoiseKey& key) {
  fill_rows(y, data(y), key, philox_uniform_rows);
}

void CpuBackend::gather_rows(Tensor& y, const Tensor& x, const std::vector<int64_t>& index) {
  if (y.cols() != x.cols() || y.rows() != static_cast<int64_t>(index.size()))
    throw Error("gather_rows: shape mismatch");
  if (y.buffer() == x.buffer())
    throw Error("gather_rows: output aliases input");
  for (int64_t a : index)
    if (a < 0 || a >= x.rows())
      throw Error("gather_rows: index " + std::to_string(a) + " out of range");
  const int64_t n = y.rows(), d = x.cols();
  const float* in = data(x);
  float* out = data(y);
  // SMC gathers 2-D particles every step: two loads and stores per row, not a memcpy call
  if (d == 2) {
#pragma omp parallel for schedule(static) if (n > 8192)
    for (int64_t i = 0; i < n; ++i) {
      out[2 * i] = in[2 * index[i]];
      out[2 * i + 1] = in[2 * index[i] + 1];
    }
    return;
  }
#pragma omp parallel for schedule(static) if (n * d > 16384)
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(out + i * d, in + index[i] * d, sizeof(float) * d);
}

void CpuBackend::row_reduce(Tensor& out, const Tensor& x, RowOp op) {
  if (out.rows() != x.rows() || out.cols() != 1)
    throw Error("row_reduce: output must be [n, 1]");
  if (x.cols() < 1)
    throw Error("row_reduce: x has no columns");
  const int64_t n = x.rows(), d = x.cols();
  RowMap X(data(x), n, d);
  Eigen::Map<Eigen::VectorXf> o(data(out), n);
  switch (op) {
  case RowOp::sum:
    o = X.rowwise().sum();
    break;
  case RowOp::sum_squares:
    o = X.rowwise().squaredNorm();
    break;
  case RowOp::max:
    o = X.rowwise().maxCoeff();
    break;
  }
}

void CpuBackend::gmm_denoise(Tensor& x0, const Tensor& x, const GmmKernelParams& gmm, double alpha,
                             double sigma, int cls) {
  check_same_shape(x0, x, "gmm_denoise");
  if (x.cols() != gmm.d)
    throw Error("gmm_denoise: particles have " + std::to_string(x.cols()) +
                " dimensions, the mixture " + std::to_string(gmm.d));
  const int64_t n = x.rows(), d = x.cols();
  const float* in = data(x);
  float* out = data(x0);
  const GmmStepTables tables(gmm, alpha, sigma, cls);
  if (tables.active.empty())
    throw Error("gmm_denoise: class " + std::to_string(cls) + " has no components");
  auto kernel = gmm.full() ? gmm_posterior_mean_full
                : d == 2   ? gmm_posterior_mean_iso<2>
                           : gmm_posterior_mean_iso<0>;
#pragma omp parallel for schedule(static) if (n > 64)
  for (int64_t b = 0; b < n; b += kRowBlock)
    kernel(gmm, tables, in, alpha, out, b, std::min(n, b + kRowBlock));
}

void CpuBackend::reward(Tensor& out, const Tensor& x, const RewardKernelParams& r) {
  using Kind = RewardKernelParams::Kind;
  check_reward_args(out, x, r);
  const int64_t n = x.rows(), d = x.cols();
  const float* X = data(x);
  float* o = data(out);
  const double* a = r.a.data();
  const double* b = r.b.data();
  // one loop per kind (SMC evaluates a reward every step), so the row loop has no branch
  const auto rows = [&](auto f) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i)
      o[i] = static_cast<float>(f(X + i * d));
  };
  switch (r.kind) {
  case Kind::linear:
    rows([&](const float* xi) {
      double v = r.offset;
      for (int64_t j = 0; j < d; ++j)
        v += a[j] * xi[j];
      return v;
    });
    break;
  case Kind::distance:
    rows([&](const float* xi) {
      double v = 0;
      for (int64_t j = 0; j < d; ++j)
        v -= (xi[j] - a[j]) * (xi[j] - a[j]);
      return v;
    });
    break;
  case Kind::box:
    rows([&](const float* xi) {
      double m = std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < d; ++j)
        m = std::min({m, xi[j] - a[j], b[j] - xi[j]});
      return 1 / (1 + std::exp(-m / r.temperature));
    });
    break;
  case Kind::disc:
    rows([&](const float* xi) {
      double q = 0;
      for (int64_t j = 0; j < d; ++j)
        q += (xi[j] - a[j]) * (xi[j] - a[j]);
      return 1 / (1 + std::exp(-(r.radius - std::sqrt(q)) / r.temperature));
    });
    break;
  }
}

void CpuBackend::gemm_bias_act(Tensor& y, const Tensor& x, const Tensor& W, const Tensor& b,
                               Activation act) {
  const int64_t n = x.rows(), in = x.cols(), out = W.rows();
  check_gemm_bias_act_args(y, x, W, b);
  if (n == 0 || out == 0)
    return;
  if (in == 0)
    throw Error("gemm_bias_act: x has no columns");
  const float* X = data(x);
  float* Y = data(y);
  RowMap Wm(data(W), out, in);
  Eigen::Map<Eigen::RowVectorXf> B(data(b), out);
  // Blocks of rows, each multiplied and finished (bias, vectorised activation) while it is
  // still in cache; one block leaves the threads to Eigen's own parallel GEMM.
  constexpr int64_t kGemmRows = 256;
  const int64_t nblocks = (n + kGemmRows - 1) / kGemmRows;
#pragma omp parallel for schedule(static) if (nblocks > 1 && n * in * out > (1 << 18))
  for (int64_t bi = 0; bi < nblocks; ++bi) {
    const int64_t r0 = bi * kGemmRows, rows = std::min(kGemmRows, n - r0);
    const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>
        Xb(X + r0 * in, rows, in);
    RowMap Yb(Y + r0 * out, rows, out);
    // starting from the bias spares the product's own zeroing pass
    Yb.rowwise() = B;
    Yb.noalias() += Xb * Wm.transpose();
    cpu::apply_activation(Yb.data(), rows * out, act);
  }
}

void CpuBackend::time_embedding(Tensor& y, const Tensor& t, double scale, const Tensor& freqs) {
  check_time_embedding_args(y, t, freqs);
  const int64_t n = t.rows(), half = freqs.size(), dim = 2 * half;
  const float* tv = data(t);
  const float* f = data(freqs);
  float* o = data(y);
  const auto s = static_cast<float>(scale);
  // libm's cos and sin in double, rounded to float. They are computed with the vectorisable
  // fdlibm ones (≤ 1 ulp of double from libm's; 10× faster on the bench's MLP, where libm's took
  // a third of the run) and redone with libm where the range, |a| < 2¹⁹·π/2, is left or a value
  // lies within 2⁻⁴⁰ relative of a float rounding boundary, so the floats are libm's bit for bit
  // (as in box_muller_lanes).
  constexpr double kRange = 0x1p19 * std::numbers::pi / 2, lo = 1.0 - 0x1p-40, hi = 1.0 + 0x1p-40;
#pragma omp parallel if (n * half > 16384)
  {
    std::vector<unsigned char> redo(static_cast<size_t>(half));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float tau = s * tv[i];
      float* cos_row = o + i * dim;
      float* sin_row = cos_row + half;
#pragma omp simd
      for (int64_t k = 0; k < half; ++k) {
        const auto a = static_cast<double>(tau * f[k]); // rounded to float, as PyTorch does
        double sv, cv;
        simd::sincos(a, sv, cv);
        cos_row[k] = static_cast<float>(cv);
        sin_row[k] = static_cast<float>(sv);
        redo[k] = !(std::abs(a) < kRange) |
                  (static_cast<float>(cv * lo) != static_cast<float>(cv * hi)) |
                  (static_cast<float>(sv * lo) != static_cast<float>(sv * hi));
      }
      for (int64_t k = 0; k < half; ++k)
        if (redo[k]) {
          const auto a = static_cast<double>(tau * f[k]);
          cos_row[k] = static_cast<float>(std::cos(a));
          sin_row[k] = static_cast<float>(std::sin(a));
        }
    }
  }
}

} // namespace itslab
