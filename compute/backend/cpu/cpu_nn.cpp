// Neural-network layers of the CPU backend (docs/model-format.md): OpenMP across particles,
// Eigen for the GEMMs and the vectorised transcendental functions.
#include "backend/cpu/cpu_backend.hpp"

#include "backend/cpu/cpu_activation.hpp"

#include "core/error.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>

namespace itslab {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMap = Eigen::Map<RowMat>;
using ConstRowMap = Eigen::Map<const RowMat>;
using ArrayMap = Eigen::Map<Eigen::ArrayXf>;

using cpu::apply_activation;

// Per-thread scratch that survives between calls (OpenMP keeps its threads), so the im2col
// buffers of a U-Net step are not allocated and page-faulted again at every layer.
float* thread_scratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n)
    buf.resize(n);
  return buf.data();
}

// Columns per GEMM worth batching for: narrower products (a 7×7 image has 49) run far below
// peak, so several samples' columns are concatenated up to this width.
constexpr int64_t kConvColumns = 256;

int floor_div(int a, int b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// col[(c·k + ky)·k + kx][p] (row stride ld) = x[c, oy·stride + ky − pad, ox·stride + kx − pad],
// 0 outside the image, for the output pixels p = oy·wo + ox of one sample. The valid range of
// ox is computed per tap, so the inner loop is a plain strided copy.
void im2col(const float* x, ImageShape s, int k, int stride, int pad, int ho, int wo, float* col,
            int64_t ld) {
  for (int c = 0; c < s.c; ++c)
    for (int ky = 0; ky < k; ++ky)
      for (int kx = 0; kx < k; ++kx) {
        float* dst = col + ((int64_t(c) * k + ky) * k + kx) * ld;
        // ox·stride + kx − pad ∈ [0, W)  ⇔  ox ∈ [lo, hi)
        const int lo = std::clamp(-floor_div(kx - pad, stride), 0, wo);
        const int hi = std::clamp(floor_div(s.w - 1 + pad - kx, stride) + 1, lo, wo);
        for (int oy = 0; oy < ho; ++oy) {
          float* d = dst + int64_t(oy) * wo;
          const int iy = oy * stride + ky - pad;
          if (iy < 0 || iy >= s.h) {
            std::fill(d, d + wo, 0.0f);
            continue;
          }
          const float* src = x + (int64_t(c) * s.h + iy) * s.w + kx - pad;
          std::fill(d, d + lo, 0.0f);
          if (stride == 1)
            std::memcpy(d + lo, src + lo, sizeof(float) * (hi - lo));
          else
            for (int ox = lo; ox < hi; ++ox)
              d[ox] = src[ox * stride];
          std::fill(d + hi, d + wo, 0.0f);
        }
      }
}

} // namespace

void CpuBackend::layer_norm(Tensor& y, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                            double eps, Activation act) {
  check_layer_norm_args(y, x, gamma, beta);
  const int64_t n = x.rows(), d = x.cols();
  const float* in = data(x);
  float* out = data(y);
  const Eigen::Map<const Eigen::ArrayXf> g(data(gamma), d), b(data(beta), d);
#pragma omp parallel for schedule(static) if (n * d > 16384)
  for (int64_t i = 0; i < n; ++i) {
    const Eigen::Map<const Eigen::ArrayXf> xi(in + i * d, d);
    ArrayMap yi(out + i * d, d);
    // two passes in float: the rows are short (the MLP width), so the sum of squared
    // deviations loses nothing that a double accumulator would keep
    const float mu = xi.mean();
    const float var = (xi - mu).square().mean();
    const float rstd = 1.0f / std::sqrt(var + static_cast<float>(eps));
    yi = (xi - mu) * rstd * g + b;
    apply_activation(yi.data(), d, act);
  }
}

void CpuBackend::group_norm(Tensor& y, const Tensor& x, ImageShape s, int groups,
                            const Tensor& gamma, const Tensor& beta, double eps, Activation act) {
  check_group_norm_args(y, x, s, groups, gamma, beta);
  const int64_t n = x.rows(), d = x.cols(), pix = int64_t(s.h) * s.w, cg = s.c / groups;
  const float* in = data(x);
  const float* g = data(gamma);
  const float* bt = data(beta);
  float* out = data(y);
  const int64_t len = cg * pix;
#pragma omp parallel for collapse(2) schedule(static) if (n * d > 16384)
  for (int64_t i = 0; i < n; ++i)
    for (int gi = 0; gi < groups; ++gi) {
      const int64_t off = i * d + gi * len;
      const Eigen::Map<const Eigen::ArrayXf> xg(in + off, len);
      // a group holds up to thousands of values: accumulate in double (two passes)
      const double mu = xg.cast<double>().mean();
      const double var = (xg.cast<double>() - mu).square().mean();
      const double rstd = 1.0 / std::sqrt(var + eps);
      for (int64_t c = 0; c < cg; ++c) {
        const int64_t ch = gi * cg + c;
        // γ·(x − μ)·rstd + β as one multiply-add per value
        const auto a = static_cast<float>(g[ch] * rstd);
        const auto b = static_cast<float>(bt[ch] - mu * g[ch] * rstd);
        float* yc = out + off + c * pix;
        ArrayMap(yc, pix) = Eigen::Map<const Eigen::ArrayXf>(in + off + c * pix, pix) * a + b;
        apply_activation(yc, pix, act);
      }
    }
}

void CpuBackend::conv2d(Tensor& y, const Tensor& x, ImageShape s, const Tensor& W, const Tensor& b,
                        int k, int stride, int pad, const Tensor* row_bias) {
  const ImageShape os = check_conv2d_args(y, x, s, W, b, k, stride, pad, row_bias);
  const int ho = os.h, wo = os.w;
  const int64_t n = x.rows(), cout = W.rows(), K = int64_t(s.c) * k * k, P = int64_t(ho) * wo;
  if (n == 0)
    return;

  const float* in = data(x);
  const float* bias = data(b);
  const float* rb = row_bias ? data(*row_bias) : nullptr;
  float* out = data(y);
  const ConstRowMap Wm(data(W), cout, K);
  const int64_t pix = int64_t(s.h) * s.w;
  const bool pointwise = k == 1 && stride == 1 && pad == 0;
  const int64_t block = std::clamp<int64_t>((kConvColumns + P - 1) / P, 1, n);
  const int64_t nblocks = (n + block - 1) / block;

  // One block: samples [i0, i0 + nb) as a single GEMM Wm [Cout, K] · col [K, nb·P].
  const auto run_block = [&](int64_t i0, int64_t nb) {
    const int64_t cols = nb * P;
    // col [K, nb·P] and, for several samples, the product [Cout, nb·P] after it
    float* col = thread_scratch(static_cast<size_t>((K + (nb > 1 ? cout : 0)) * cols));
    const float* colp = col;
    if (pointwise && nb == 1) {
      colp = in + i0 * K * P; // the image itself is [Cin, P]
    } else {
      for (int64_t j = 0; j < nb; ++j)
        im2col(in + (i0 + j) * s.c * pix, s, k, stride, pad, ho, wo, col + j * P, cols);
    }
    const ConstRowMap C(colp, K, cols);
    // the product accumulates onto the bias, which spares Eigen's zeroing pass
    if (nb == 1) {
      RowMap Y(out + i0 * cout * P, cout, P);
      for (int64_t o = 0; o < cout; ++o)
        Y.row(o).setConstant(bias[o] + (rb ? rb[i0 * cout + o] : 0.0f));
      Y.noalias() += Wm * C;
      return;
    }
    // several samples: the product [Cout, nb·P] is scattered to their rows
    float* prod = col + K * cols;
    RowMap Y(prod, cout, cols);
    for (int64_t o = 0; o < cout; ++o)
      Y.row(o).setConstant(bias[o]);
    Y.noalias() += Wm * C;
    for (int64_t j = 0; j < nb; ++j)
      for (int64_t o = 0; o < cout; ++o) {
        const float add = rb ? rb[(i0 + j) * cout + o] : 0.0f;
        const float* src = prod + o * cols + j * P;
        float* dst = out + ((i0 + j) * cout + o) * P;
        for (int64_t p = 0; p < P; ++p)
          dst[p] = src[p] + add;
      }
  };
  // With a single block Eigen parallelises the GEMM itself; otherwise blocks go to threads
  // and each GEMM runs on one (Eigen does not nest inside a parallel region).
#pragma omp parallel for schedule(dynamic) if (nblocks > 1)
  for (int64_t bi = 0; bi < nblocks; ++bi) {
    const int64_t i0 = bi * block;
    run_block(i0, std::min(block, n - i0));
  }
}

void CpuBackend::upsample2(Tensor& y, const Tensor& x, ImageShape s) {
  check_upsample2_args(y, x, s);
  const int64_t n = x.rows(), wo = 2 * int64_t(s.w);
  const float* in = data(x);
  float* out = data(y);
#pragma omp parallel for schedule(static) if (n * s.size() > 16384)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t cy = 0; cy < int64_t(s.c) * s.h; ++cy) {
      const float* src = in + i * s.size() + cy * s.w;
      float* d0 = out + i * 4 * s.size() + 2 * cy * wo;
      for (int64_t xx = 0; xx < s.w; ++xx)
        d0[2 * xx] = d0[2 * xx + 1] = src[xx];
      std::memcpy(d0 + wo, d0, sizeof(float) * wo);
    }
}

void CpuBackend::maxpool2(Tensor& y, const Tensor& x, ImageShape s) {
  check_maxpool2_args(y, x, s);
  const int64_t n = x.rows(), ho = s.h / 2, wo = s.w / 2, osize = int64_t(s.c) * ho * wo;
  // stricter than the shared check, which lets the Vulkan backend return an empty image
  if (ho < 1 || wo < 1)
    throw Error("maxpool2: a " + std::to_string(s.h) + "×" + std::to_string(s.w) +
                " image is smaller than the 2×2 window");
  const float* in = data(x);
  float* out = data(y);
#pragma omp parallel for schedule(static) if (n * s.size() > 16384)
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < s.c; ++c)
      for (int64_t oy = 0; oy < ho; ++oy) {
        const float* r0 = in + i * s.size() + (int64_t(c) * s.h + 2 * oy) * s.w;
        const float* r1 = r0 + s.w;
        float* o = out + i * osize + (int64_t(c) * ho + oy) * wo;
        for (int64_t ox = 0; ox < wo; ++ox)
          o[ox] =
              std::max(std::max(r0[2 * ox], r0[2 * ox + 1]), std::max(r1[2 * ox], r1[2 * ox + 1]));
      }
}

void CpuBackend::concat_cols(Tensor& y, const Tensor& a, const Tensor& b) {
  check_concat_cols_args(y, a, b);
  const int64_t n = a.rows(), da = a.cols(), db = b.cols();
  const float* pa = data(a);
  const float* pb = data(b);
  float* out = data(y);
#pragma omp parallel for schedule(static) if (n * (da + db) > 16384)
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(out + i * (da + db), pa + i * da, sizeof(float) * da);
    std::memcpy(out + i * (da + db) + da, pb + i * db, sizeof(float) * db);
  }
}

void CpuBackend::activate(Tensor& y, const Tensor& x, Activation act) {
  check_activate_args(y, x);
  const float* in = data(x);
  float* out = data(y);
  const int64_t total = x.size();
  constexpr int64_t kChunk = 4096;
#pragma omp parallel for schedule(static) if (total > 16384)
  for (int64_t b = 0; b < total; b += kChunk) {
    const int64_t len = std::min(kChunk, total - b);
    if (out != in)
      std::memcpy(out + b, in + b, sizeof(float) * len);
    apply_activation(out + b, len, act);
  }
}

void CpuBackend::attention(Tensor& y, const Tensor& qkv, int channels, int heads, int positions) {
  check_attention_args(y, qkv, channels, heads, positions);
  const int64_t n = qkv.rows(), P = positions, dh = channels / heads, cp = int64_t(channels) * P;
  const float* in = data(qkv);
  float* out = data(y);
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
#pragma omp parallel for collapse(2) schedule(static) if (n * heads > 1)
  for (int64_t i = 0; i < n; ++i)
    for (int h = 0; h < heads; ++h) {
      const int64_t off = i * 3 * cp + h * dh * P;
      const ConstRowMap Q(in + off, dh, P), K(in + off + cp, dh, P), V(in + off + 2 * cp, dh, P);
      // S[a, j] = q_a·k_j/√dh; softmax over j with the row maximum subtracted first
      RowMat S = (Q.transpose() * K) * scale;
      for (int64_t a = 0; a < P; ++a) {
        auto r = S.row(a).array();
        r = (r - r.maxCoeff()).exp();
        r /= r.sum();
      }
      RowMap O(out + i * cp + h * dh * P, dh, P);
      O.noalias() = V * S.transpose();
    }
}

} // namespace itslab
