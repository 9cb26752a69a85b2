// The neural-network layers of the Vulkan backend (layer_norm, group_norm, conv2d, upsample2,
// maxpool2, concat_cols, activate, attention) against naive double-precision loops written
// here, on the shapes of the Fashion-MNIST U-Net and classifier (docs/model-format.md) and on
// odd ones, with the validation layer watching every test.
#include "core/error.hpp"
#include "test_util.hpp"
#include "vulkan/vulkan_test_util.hpp"

#include <tuple>

using namespace itslab;
using namespace itslab::vulkan_test;

namespace {

constexpr double kU = 1.0 / (1 << 24); // float32 unit roundoff

// The activations in float round their input's error up to |act'| ≤ 1.13 (GELU) and add a
// few ulp of exp plus the erf approximation's 1.5e-7 (times |v|/2 in GELU).
double act_tol(double v, Activation a) {
  return a == Activation::none || a == Activation::relu ? 0 : 4e-7 * (1 + std::abs(v));
}

const Activation kActs[] = {Activation::none, Activation::silu, Activation::gelu, Activation::relu};

// Normalisation of each block of `len` values (block b starts at b·len) with the biased
// variance, in double; element j of block b takes γ, β of channel chan(b, j).
template <class Chan>
std::vector<double> norm_ref(const std::vector<float>& x, int64_t len, const std::vector<float>& g,
                             const std::vector<float>& b, double eps, Activation a, Chan chan) {
  std::vector<double> y(x.size());
  for (size_t b0 = 0; b0 < x.size(); b0 += static_cast<size_t>(len)) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < len; ++j)
      mean += x[b0 + j];
    mean /= static_cast<double>(len);
    for (int64_t j = 0; j < len; ++j)
      var += (x[b0 + j] - mean) * (x[b0 + j] - mean);
    var /= static_cast<double>(len);
    const size_t block = b0 / static_cast<size_t>(len);
    for (int64_t j = 0; j < len; ++j) {
      const int64_t c = chan(block, j);
      y[b0 + j] = test::act_ref(a, g[c] * (x[b0 + j] - mean) / std::sqrt(var + eps) + b[c]);
    }
  }
  return y;
}

struct ConvCase {
  int64_t n;
  ImageShape s;
  int cout, k, stride, pad;
  bool row_bias;
};

} // namespace

class TestVulkanNn : public QObject {
  Q_OBJECT
  std::unique_ptr<VulkanBackend> vk_;

  // |got − ref| ≤ tol(i) for every element, reporting the first failure.
  template <class Tol>
  void expect_close(const std::vector<float>& got, const std::vector<double>& ref, Tol tol,
                    const QString& what) {
    QCOMPARE(got.size(), ref.size());
    for (size_t i = 0; i < got.size(); ++i)
      if (!(std::abs(got[i] - ref[i]) <= tol(i)))
        QFAIL(qPrintable(QString("%1: element %2: %3 vs %4 (tolerance %5)")
                             .arg(what)
                             .arg(i)
                             .arg(got[i])
                             .arg(ref[i])
                             .arg(tol(i))));
  }

  // conv2d on the device against a direct double convolution: each output sums Cin·k·k
  // products in float with one rounding per fused multiply-add, so |Δ| ≤ (K + 2)·u·Σ|x w|
  // (+ the bias terms' roundings).
  void check_conv(const ConvCase& c, uint32_t seed) {
    const ImageShape s = c.s;
    const int64_t kk = int64_t(s.c) * c.k * c.k;
    const int64_t ho = (s.h + 2 * c.pad - c.k) / c.stride + 1,
                  wo = (s.w + 2 * c.pad - c.k) / c.stride + 1;
    const auto X = data(c.n * s.size(), seed), Wv = data(c.cout * kk, seed + 1, -0.3f, 0.3f),
               B = data(c.cout, seed + 2, -1, 1), R = data(c.n * c.cout, seed + 3, -1, 1);
    Tensor x = put(*vk_, c.n, s.size(), X), w = put(*vk_, c.cout, kk, Wv),
           b = put(*vk_, 1, c.cout, B), r = put(*vk_, c.n, c.cout, R);
    Tensor y = vk_->alloc(c.n, c.cout * ho * wo);
    vk_->conv2d(y, x, s, w, b, c.k, c.stride, c.pad, c.row_bias ? &r : nullptr);
    const auto g = get(*vk_, y);
    std::vector<double> ref(g.size()), mag(g.size());
    for (int64_t i = 0; i < c.n; ++i)
      for (int64_t o = 0; o < c.cout; ++o)
        for (int64_t oy = 0; oy < ho; ++oy)
          for (int64_t ox = 0; ox < wo; ++ox) {
            double v = 0, m = 0;
            for (int64_t ci = 0; ci < s.c; ++ci)
              for (int64_t ky = 0; ky < c.k; ++ky)
                for (int64_t kx = 0; kx < c.k; ++kx) {
                  const int64_t iy = oy * c.stride - c.pad + ky, ix = ox * c.stride - c.pad + kx;
                  if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w)
                    continue;
                  const double p = double(X[((i * s.c + ci) * s.h + iy) * s.w + ix]) *
                                   Wv[o * kk + (ci * c.k + ky) * c.k + kx];
                  v += p;
                  m += std::abs(p);
                }
            const double bias = B[o] + (c.row_bias ? R[i * c.cout + o] : 0.0);
            const size_t j = static_cast<size_t>(((i * c.cout + o) * ho + oy) * wo + ox);
            ref[j] = v + bias;
            mag[j] = (kk + 2) * kU * m + 2 * kU * (std::abs(v) + std::abs(bias));
          }
    expect_close(
        g, ref, [&](size_t j) { return mag[j] + 1e-30; },
        QString("conv2d n=%1 %2x%3x%4 -> %5 k=%6 stride=%7 pad=%8%9")
            .arg(c.n)
            .arg(s.c)
            .arg(s.h)
            .arg(s.w)
            .arg(c.cout)
            .arg(c.k)
            .arg(c.stride)
            .arg(c.pad)
            .arg(c.row_bias ? " row_bias" : ""));
  }

  // Attention in double: per head softmax_j(q_i·k_j/√D) v_j. Float error: the D-term score
  // dots (≤ (D + 2)·u·Σ|q k| each) move the weights by that much relative, exp adds a few ulp,
  // and the P-term weighted sum and the division add (P + 2)·u; all relative to max|v|.
  void check_attention(int64_t n, int channels, int heads, int positions, float qk_scale,
                       uint32_t seed) {
    const int64_t cp = int64_t(channels) * positions, hd = channels / heads;
    auto Q = data(n * 3 * cp, seed);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < 2 * cp; ++j)
        Q[i * 3 * cp + j] *= qk_scale;
    Tensor qkv = put(*vk_, n, 3 * cp, Q), y = vk_->alloc(n, cp);
    vk_->attention(y, qkv, channels, heads, positions);
    const auto g = get(*vk_, y);
    std::vector<double> ref(g.size()), tol(g.size());
    for (int64_t r = 0; r < n; ++r)
      for (int64_t h = 0; h < heads; ++h) {
        const float* q = &Q[r * 3 * cp + h * hd * positions];
        const float* k = q + cp;
        const float* v = q + 2 * cp;
        double vmax = 0;
        for (int64_t e = 0; e < hd * positions; ++e)
          vmax = std::max(vmax, std::abs(double(v[e])));
        for (int64_t i = 0; i < positions; ++i) {
          std::vector<double> s(positions);
          double m = -INFINITY, smag = 0;
          for (int64_t j = 0; j < positions; ++j) {
            double dot = 0, mag = 0;
            for (int64_t c = 0; c < hd; ++c) {
              dot += double(q[c * positions + i]) * k[c * positions + j];
              mag += std::abs(double(q[c * positions + i]) * k[c * positions + j]);
            }
            s[j] = dot / std::sqrt(double(hd));
            smag = std::max(smag, mag / std::sqrt(double(hd)));
            m = std::max(m, s[j]);
          }
          double sum = 0;
          for (double& e : s)
            sum += (e = std::exp(e - m));
          for (int64_t c = 0; c < hd; ++c) {
            double o = 0;
            for (int64_t j = 0; j < positions; ++j)
              o += s[j] * v[c * positions + j];
            const size_t at = static_cast<size_t>(r * cp + (h * hd + c) * positions + i);
            ref[at] = o / sum;
            tol[at] = (2 * (hd + 2) * smag + positions + 16) * kU * vmax;
          }
        }
      }
    expect_close(
        g, ref, [&](size_t j) { return tol[j]; },
        QString("attention n=%1 C=%2 heads=%3 P=%4 scale=%5")
            .arg(n)
            .arg(channels)
            .arg(heads)
            .arg(positions)
            .arg(qk_scale));
  }

  // The GEMM kernels this device runs (gemm_bias_act, conv2d), each selected in turn by
  // for_each_gemm_kernel, which restores the default afterwards.
  template <class F> void for_each_gemm_kernel(F&& f) {
    using K = VulkanBackend::GemmKernel;
    for (K k : {K::shared_tile, K::subgroup}) {
      if (!vk_->set_gemm_kernel(k)) {
        qInfo("the device has no subgroup shuffles: only the shared-memory GEMM kernel tested");
        continue;
      }
      f(k == K::shared_tile ? QString("shared tile") : QString("subgroup"));
    }
    vk_->set_gemm_kernel(K::automatic);
  }

  // The same op with rows bound whole and in chunks of 64 rows (the binding limit lowered to
  // 64 of its largest rows): the same bits.
  template <class F>
  void same_bits_when_chunked(uint64_t largest_row_bytes, F&& f, const QString& what) {
    const std::vector<float> whole = f();
    vk_->set_max_binding_bytes(64 * largest_row_bytes);
    const std::vector<float> chunked = f();
    vk_->set_max_binding_bytes(~0ull);
    expect_bits(chunked, whole, what + " in row chunks");
  }

private slots:
  ITSLAB_VULKAN_FIXTURE

  // LayerNorm over ToyMLP widths and odd ones, every fused activation, in both kernels: a
  // workgroup per row (GPUs) and an invocation per row (CPU-type devices, chosen with the texel
  // reads). Float statistics: the workgroup kernel's invocations sum ≤ ⌈d/64⌉ values, then a
  // 6-level tree; the row kernel sums 4 interleaved partial sums of d/4 values (d % 4 = 0) or
  // d in order. For these d and data the rounding of μ and var, which x̂ = (x − μ)/σ turns into
  // an error of x̂, stays ≈ 1e-6·(1 + |x̂|).
  void layerNormMatchesReference() {
    const struct { int64_t n, d; } cases[] = {{257, 128}, {1, 3}, {33, 1000}, {5, 1}};
    for (bool rows : {false, true}) {
      vk_->set_texel_loads(rows);
      for (const auto& c : cases)
        for (Activation a : kActs) {
          const auto X = data(c.n * c.d, 11 + c.d, -3, 5), G = data(c.d, 12, 0.5f, 1.5f),
                     B = data(c.d, 13, -0.5f, 0.5f);
          Tensor x = put(*vk_, c.n, c.d, X), g = put(*vk_, 1, c.d, G), b = put(*vk_, 1, c.d, B),
                 y = vk_->alloc(c.n, c.d);
          vk_->layer_norm(y, x, g, b, 1e-5, a);
          const auto ref = norm_ref(X, c.d, G, B, 1e-5, a, [](size_t, int64_t j) { return j; });
          expect_close(
              get(*vk_, y), ref,
              [&](size_t j) { return 4e-6 * (1 + std::abs(ref[j])) + act_tol(ref[j], a); },
              QString("layer_norm n=%1 d=%2 act=%3 rows %4")
                  .arg(c.n)
                  .arg(c.d)
                  .arg(int(a))
                  .arg(rows));
        }
    }
    vk_->set_texel_loads(cpu_type(*vk_));
    Tensor x = vk_->alloc(4, 6), g = vk_->alloc(1, 6), b = vk_->alloc(1, 5), y = vk_->alloc(4, 6);
    QVERIFY_THROWS_EXCEPTION(Error, vk_->layer_norm(y, x, g, b, 1e-5, Activation::none));
    QVERIFY_THROWS_EXCEPTION(Error, vk_->layer_norm(x, x, g, g, 1e-5, Activation::none));
  }

  // GroupNorm(8) on the U-Net's feature maps (32×28×28, 64×14×14, 128×7×7, the 256-channel
  // concat) and odd shapes, in both kernels: a workgroup per (image, group) (GPUs) and an
  // invocation per (image, group) (CPU-type devices, chosen with the texel reads). A group of L
  // values: the workgroup kernel's invocations sum ≤ ⌈L/256⌉ values, then an 8-level tree, so
  // ≤ (L/256 + 10)·u relative in μ and var; the invocation kernel sums each channel plane of
  // hw values (4 interleaved partial sums of hw/4 when hw % 4 = 0), then the cg planes in order:
  // ≤ (hw/4 + cg + 2)·u, and far less for these data. Either way ≈ 1e-6·(1 + |x̂|).
  void groupNormMatchesReference() {
    const struct {
      int64_t n;
      ImageShape s;
      int groups;
    } cases[] = {{3, {32, 28, 28}, 8}, {2, {64, 14, 14}, 8}, {3, {128, 7, 7}, 8},
                 {1, {256, 7, 7}, 8},  {5, {6, 5, 7}, 3},    {2, {3, 1, 1}, 1}};
    for (bool rows : {false, true}) {
      vk_->set_texel_loads(rows);
      for (const auto& c : cases)
        for (Activation a : {Activation::none, Activation::silu}) {
          const int64_t d = c.s.size(), hw = int64_t(c.s.h) * c.s.w, cg = c.s.c / c.groups;
          const auto X = data(c.n * d, 21 + c.s.c, -2, 6), G = data(c.s.c, 22, 0.5f, 1.5f),
                     B = data(c.s.c, 23, -0.5f, 0.5f);
          Tensor x = put(*vk_, c.n, d, X), g = put(*vk_, 1, c.s.c, G), b = put(*vk_, 1, c.s.c, B),
                 y = vk_->alloc(c.n, d);
          vk_->group_norm(y, x, c.s, c.groups, g, b, 1e-5, a);
          const auto ref = norm_ref(X, cg * hw, G, B, 1e-5, a, [&](size_t block, int64_t j) {
            return static_cast<int64_t>(block % c.groups) * cg + j / hw;
          });
          expect_close(
              get(*vk_, y), ref,
              [&](size_t j) { return 4e-6 * (1 + std::abs(ref[j])) + act_tol(ref[j], a); },
              QString("group_norm n=%1 %2x%3x%4 groups=%5 act=%6 rows %7")
                  .arg(c.n)
                  .arg(c.s.c)
                  .arg(c.s.h)
                  .arg(c.s.w)
                  .arg(c.groups)
                  .arg(int(a))
                  .arg(rows));
        }
    }
    vk_->set_texel_loads(cpu_type(*vk_));
    Tensor x = vk_->alloc(2, 6 * 4), g = vk_->alloc(1, 6), y = vk_->alloc(2, 6 * 4);
    QVERIFY_THROWS_EXCEPTION(Error, vk_->group_norm(y, x, {6, 2, 2}, 4, g, g, 1e-5,
                                                    Activation::none)); // 6 % 4 ≠ 0
    QVERIFY_THROWS_EXCEPTION(Error, vk_->group_norm(y, x, {6, 2, 3}, 3, g, g, 1e-5,
                                                    Activation::none)); // 24 ≠ 36 columns
  }

  // conv2d: every convolution of the U-Net and the classifier (3×3 stride 1 and 2, 1×1 skip
  // and qkv, one input channel in, one out, with and without a ResBlock's row bias) and odd
  // shapes that are not multiples of the 64×64 tile.
  void conv2dMatchesReference() {
    const ConvCase cases[] = {
        {3, {1, 28, 28}, 32, 3, 1, 1, false},  // conv_in
        {3, {32, 28, 28}, 32, 3, 1, 1, true},  // ResBlock c1 with the time embedding
        {3, {32, 28, 28}, 32, 3, 2, 1, false}, // down0: 28 → 14
        {2, {64, 14, 14}, 64, 3, 2, 1, false}, // down1: 14 → 7
        {3, {128, 7, 7}, 384, 1, 1, 0, false}, // attention qkv
        {2, {96, 28, 28}, 32, 1, 1, 0, false}, // u0 skip
        {2, {32, 28, 28}, 1, 3, 1, 1, false},  // conv_out
        {2, {3, 5, 7}, 5, 3, 2, 1, true},      // odd sizes, stride 2
        {1, {5, 9, 6}, 7, 3, 1, 0, false},     // no padding
        {4, {2, 4, 4}, 3, 3, 1, 2, true},      // padding wider than the kernel's reach
    };
    for_each_gemm_kernel([&](const QString& kernel) {
      qInfo("GEMM kernel: %s", qPrintable(kernel));
      uint32_t seed = 100;
      for (const ConvCase& c : cases)
        check_conv(c, seed += 10);
    });
    Tensor x = vk_->alloc(2, 3 * 16), w = vk_->alloc(4, 3 * 9), b = vk_->alloc(1, 4),
           y = vk_->alloc(2, 4 * 16), bad = vk_->alloc(1, 4);
    vk_->conv2d(y, x, {3, 4, 4}, w, b, 3, 1, 1, nullptr);
    QVERIFY_THROWS_EXCEPTION(Error, vk_->conv2d(y, x, {3, 4, 4}, w, b, 3, 2, 1, nullptr));
    QVERIFY_THROWS_EXCEPTION(Error, vk_->conv2d(y, x, {3, 4, 4}, w, b, 1, 1, 0, nullptr));
    QVERIFY_THROWS_EXCEPTION(Error, vk_->conv2d(y, x, {3, 4, 4}, w, b, 3, 1, 1, &bad));
    Tensor w3 = vk_->alloc(3, 3 * 9), b3 = vk_->alloc(1, 3); // y would have x's shape
    QVERIFY_THROWS_EXCEPTION(Error, vk_->conv2d(x, x, {3, 4, 4}, w3, b3, 3, 1, 1, nullptr));
  }

  // Pure data movement is exact: upsampling, 2×2 max pooling (floor: 7 → 3), concatenation,
  // reading storage buffers (GPUs) or texels (CPU-type devices), four outputs per invocation
  // (output counts that are multiples of 4) or one (the others).
  void upsampleMaxpoolConcatAreExact() {
    for (bool texel : {false, true}) {
      vk_->set_texel_loads(texel);
      for (const auto& [n, s] :
           {std::pair<int64_t, ImageShape>{3, {128, 7, 7}}, {2, {64, 14, 14}}, {1, {3, 5, 3}}}) {
        const auto X = data(n * s.size(), 31 + s.c);
        Tensor x = put(*vk_, n, s.size(), X), y = vk_->alloc(n, 4 * s.size());
        vk_->upsample2(y, x, s);
        std::vector<float> want(static_cast<size_t>(4 * n * s.size()));
        for (int64_t i = 0; i < n * s.c; ++i)
          for (int64_t Y = 0; Y < 2 * s.h; ++Y)
            for (int64_t X2 = 0; X2 < 2 * s.w; ++X2)
              want[(i * 2 * s.h + Y) * 2 * s.w + X2] = X[(i * s.h + Y / 2) * s.w + X2 / 2];
        expect_bits(get(*vk_, y), want,
                    QString("upsample2 %1x%2x%3 texel %4").arg(s.c).arg(s.h).arg(s.w).arg(texel));
      }
      for (const auto& [n, s] : {std::pair<int64_t, ImageShape>{3, {32, 28, 28}},
                                 {2, {64, 7, 7}},
                                 {2, {3, 5, 4}},
                                 {1, {3, 5, 6}}}) {
        const int64_t ho = s.h / 2, wo = s.w / 2;
        const auto X = data(n * s.size(), 41 + s.c);
        Tensor x = put(*vk_, n, s.size(), X), y = vk_->alloc(n, s.c * ho * wo);
        vk_->maxpool2(y, x, s);
        std::vector<float> want(static_cast<size_t>(n * s.c * ho * wo));
        for (int64_t i = 0; i < n * s.c; ++i)
          for (int64_t Y = 0; Y < ho; ++Y)
            for (int64_t X2 = 0; X2 < wo; ++X2) {
              const float* p = &X[(i * s.h + 2 * Y) * s.w + 2 * X2];
              want[(i * ho + Y) * wo + X2] = std::max({p[0], p[1], p[s.w], p[s.w + 1]});
            }
        expect_bits(get(*vk_, y), want,
                    QString("maxpool2 %1x%2x%3 texel %4").arg(s.c).arg(s.h).arg(s.w).arg(texel));
      }
      for (const auto& [n, ca, cb] : {std::tuple<int64_t, int64_t, int64_t>{3, 128 * 49, 128 * 49},
                                      {2, 64 * 196, 128 * 196},
                                      {7, 3, 5},
                                      {4, 2, 0},
                                      {3, 3, 2}}) {
        const auto A = data(n * ca, 51), B = data(n * cb, 52);
        Tensor a = put(*vk_, n, ca, A), b = put(*vk_, n, cb, B), y = vk_->alloc(n, ca + cb);
        vk_->concat_cols(y, a, b);
        std::vector<float> want;
        for (int64_t i = 0; i < n; ++i) {
          want.insert(want.end(), A.begin() + i * ca, A.begin() + (i + 1) * ca);
          want.insert(want.end(), B.begin() + i * cb, B.begin() + (i + 1) * cb);
        }
        expect_bits(get(*vk_, y), want,
                    QString("concat_cols %1 + %2 texel %3").arg(ca).arg(cb).arg(texel));
      }
    }
    vk_->set_texel_loads(cpu_type(*vk_));
    Tensor x = vk_->alloc(2, 12), y = vk_->alloc(2, 48), small = vk_->alloc(2, 3);
    QVERIFY_THROWS_EXCEPTION(Error, vk_->upsample2(y, x, {3, 2, 3}));
    QVERIFY_THROWS_EXCEPTION(Error, vk_->maxpool2(y, x, {3, 2, 2}));
    QVERIFY_THROWS_EXCEPTION(Error, vk_->concat_cols(small, x, x));
  }

  // Both GEMM kernels sum every output's products in the same order: gemm_bias_act on the
  // MLP's layer shapes and odd ones (36 outputs: float4 stores with a partial row tile), and
  // conv2d on U-Net layers, give the same bits with either.
  void gemmKernelsGiveTheSameBits() {
    const struct {
      int64_t n, in, out;
    } gemms[] = {{257, 256, 256}, {300, 2, 256}, {129, 256, 2},
                 {65, 64, 36},    {7, 129, 65},  {1, 3, 1}};
    for (const auto& g : gemms) {
      const auto X = data(g.n * g.in, 91), Wv = data(g.out * g.in, 92, -0.3f, 0.3f),
                 B = data(g.out, 93);
      std::vector<std::vector<float>> outs;
      for_each_gemm_kernel([&](const QString&) {
        Tensor x = put(*vk_, g.n, g.in, X), w = put(*vk_, g.out, g.in, Wv),
               b = put(*vk_, 1, g.out, B), y = vk_->alloc(g.n, g.out);
        vk_->gemm_bias_act(y, x, w, b, Activation::silu);
        outs.push_back(get(*vk_, y));
      });
      for (size_t i = 1; i < outs.size(); ++i)
        expect_bits(outs[i], outs[0],
                    QString("gemm_bias_act %1x%2 -> %3").arg(g.n).arg(g.in).arg(g.out));
    }
    const ConvCase convs[] = {{3, {32, 28, 28}, 64, 3, 1, 1, true},
                              {2, {64, 14, 14}, 64, 3, 2, 1, false},
                              {3, {7, 9, 5}, 11, 1, 1, 0, false}};
    for (const ConvCase& c : convs) {
      const int64_t kk = int64_t(c.s.c) * c.k * c.k;
      const int64_t ho = (c.s.h + 2 * c.pad - c.k) / c.stride + 1,
                    wo = (c.s.w + 2 * c.pad - c.k) / c.stride + 1;
      const auto X = data(c.n * c.s.size(), 94), Wv = data(c.cout * kk, 95, -0.3f, 0.3f),
                 B = data(c.cout, 96), R = data(c.n * c.cout, 97);
      std::vector<std::vector<float>> outs;
      for_each_gemm_kernel([&](const QString&) {
        Tensor x = put(*vk_, c.n, c.s.size(), X), w = put(*vk_, c.cout, kk, Wv),
               b = put(*vk_, 1, c.cout, B), r = put(*vk_, c.n, c.cout, R),
               y = vk_->alloc(c.n, c.cout * ho * wo);
        vk_->conv2d(y, x, c.s, w, b, c.k, c.stride, c.pad, c.row_bias ? &r : nullptr);
        outs.push_back(get(*vk_, y));
      });
      for (size_t i = 1; i < outs.size(); ++i)
        expect_bits(outs[i], outs[0], QString("conv2d %1 channels").arg(c.s.c));
    }
  }

  // activate, out of place and in place (y = x), every activation.
  void activateMatchesReference() {
    const int64_t n = 37, d = 101;
    const auto X = data(n * d, 61, -6, 6);
    for (Activation a : kActs)
      for (bool in_place : {false, true}) {
        Tensor x = put(*vk_, n, d, X), y = vk_->alloc(n, d);
        Tensor& out = in_place ? x : y;
        vk_->activate(out, x, a);
        std::vector<double> ref(X.size());
        for (size_t i = 0; i < X.size(); ++i)
          ref[i] = test::act_ref(a, X[i]);
        expect_close(
            get(*vk_, out), ref, [&](size_t i) { return kU * std::abs(ref[i]) + act_tol(X[i], a); },
            QString("activate act=%1%2").arg(int(a)).arg(in_place ? " in place" : ""));
      }
    Tensor x = vk_->alloc(2, 3), y = vk_->alloc(3, 2);
    QVERIFY_THROWS_EXCEPTION(Error, vk_->activate(y, x, Activation::relu));
  }

  // The U-Net's attention (4 heads of 32 channels at 7×7 positions), odd head counts, head
  // dimensions and positions, and logits in the thousands, where a softmax without its maximum
  // subtracted overflows to inf/NaN.
  void attentionMatchesReference() {
    check_attention(3, 128, 4, 49, 1.0f, 71);
    check_attention(2, 12, 3, 5, 1.0f, 72);
    check_attention(1, 8, 1, 70, 1.0f, 73);
    check_attention(3, 10, 2, 7, 1.0f, 75); // head dimension 5: not a multiple of 4
    check_attention(2, 128, 4, 49, 30.0f, 74);
    Tensor qkv = vk_->alloc(2, 3 * 8 * 4), y = vk_->alloc(2, 8 * 4);
    QVERIFY_THROWS_EXCEPTION(Error, vk_->attention(y, qkv, 8, 3, 4)); // 8 % 3 ≠ 0
    QVERIFY_THROWS_EXCEPTION(Error, vk_->attention(y, qkv, 8, 2, 5)); // 3·8·5 columns
  }

  // Tensors larger than one binding run in row chunks: every layer gives the same bits.
  void rowChunksGiveTheSameResult() {
    const int64_t n = 150; // chunks of 64, 64 and 22 rows
    const ImageShape s{8, 6, 5};
    const int64_t d = s.size();
    const auto X = data(n * d, 81), G = data(s.c, 82, 0.5f, 1.5f), B = data(s.c, 83);
    const auto run = [&](auto&& op) {
      return [&, op] {
        Tensor x = put(*vk_, n, d, X);
        return get(*vk_, op(x));
      };
    };
    same_bits_when_chunked(d * 4, run([&](Tensor& x) {
                             Tensor g = put(*vk_, 1, d, data(d, 84)),
                                    b = put(*vk_, 1, d, data(d, 85)), y = vk_->alloc(n, d);
                             vk_->layer_norm(y, x, g, b, 1e-5, Activation::gelu);
                             return y;
                           }),
                           "layer_norm");
    same_bits_when_chunked(d * 4, run([&](Tensor& x) {
                             Tensor g = put(*vk_, 1, s.c, G), b = put(*vk_, 1, s.c, B),
                                    y = vk_->alloc(n, d);
                             vk_->group_norm(y, x, s, 4, g, b, 1e-5, Activation::silu);
                             return y;
                           }),
                           "group_norm");
    for (int stride : {1, 2})
      for_each_gemm_kernel([&](const QString& kernel) {
        const int64_t cout = 16, ho = (s.h - 1) / stride + 1, wo = (s.w - 1) / stride + 1;
        same_bits_when_chunked(
            std::max(d, cout * ho * wo) * 4, run([&](Tensor& x) {
              Tensor w = put(*vk_, cout, s.c * 9, data(cout * s.c * 9, 86, -0.3f, 0.3f)),
                     b = put(*vk_, 1, cout, data(cout, 87)),
                     r = put(*vk_, n, cout, data(n * cout, 88)), y = vk_->alloc(n, cout * ho * wo);
              vk_->conv2d(y, x, s, w, b, 3, stride, 1, &r);
              return y;
            }),
            QString("conv2d stride %1, %2 kernel").arg(stride).arg(kernel));
      });
    for_each_gemm_kernel([&](const QString& kernel) {
      const int64_t out = 48; // 240 inputs: the float4 loads of the subgroup kernel
      same_bits_when_chunked(d * 4, run([&](Tensor& x) {
                               Tensor w = put(*vk_, out, d, data(out * d, 90, -0.1f, 0.1f)),
                                      b = put(*vk_, 1, out, data(out, 91)), y = vk_->alloc(n, out);
                               vk_->gemm_bias_act(y, x, w, b, Activation::gelu);
                               return y;
                             }),
                             "gemm_bias_act, " + kernel + " kernel");
    });
    same_bits_when_chunked(4 * d * 4, run([&](Tensor& x) {
                             Tensor y = vk_->alloc(n, 4 * d);
                             vk_->upsample2(y, x, s);
                             return y;
                           }),
                           "upsample2");
    same_bits_when_chunked(d * 4, run([&](Tensor& x) {
                             Tensor y = vk_->alloc(n, s.c * (s.h / 2) * (s.w / 2));
                             vk_->maxpool2(y, x, s);
                             return y;
                           }),
                           "maxpool2");
    same_bits_when_chunked((d + 7) * 4, run([&](Tensor& x) {
                             Tensor b = put(*vk_, n, 7, data(n * 7, 89)), y = vk_->alloc(n, d + 7);
                             vk_->concat_cols(y, x, b);
                             return y;
                           }),
                           "concat_cols");
    same_bits_when_chunked(d * 4, run([&](Tensor& x) {
                             vk_->activate(x, x, Activation::gelu);
                             return x;
                           }),
                           "activate");
    // 3·C·P = 240 columns: 2 heads of 4 channels at 10 positions
    same_bits_when_chunked(d * 4, run([&](Tensor& x) {
                             Tensor y = vk_->alloc(n, d / 3);
                             vk_->attention(y, x, 8, 2, 10);
                             return y;
                           }),
                           "attention");
  }
};

QTEST_APPLESS_MAIN(TestVulkanNn)
#include "test_vulkan_nn.moc"
