// The CPU backend's neural-network layers against naive loops in double, plus small cases
// computed by hand. Tolerances: the layers work in float32, so sums of K products carry
// relative rounding of about K·6e-8 of the terms' magnitude (K ≤ 300 here: ≤ 2e-5 worst case,
// ~1e-6 typical), and Eigen's vectorised exp is within a few ulp; 1e-5 of max(1, |ref|) covers
// that while a wrong index or formula is off by O(1). Pure data movement (upsampling,
// pooling, concatenation) must be exact.
#include "backend/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#include "test_util.hpp"

#include <QtTest>
#include <cmath>
#include <functional>

using namespace itslab;
using test::act_ref;
using test::get;
using test::make;

namespace {

std::vector<float> random_values(CpuBackend& be, int64_t n, uint32_t seed) {
  Tensor t = be.alloc(1, n);
  be.fill_normal(t, {seed, 3, 0, 0});
  std::vector<float> v(static_cast<size_t>(n));
  be.download(t, v.data());
  return v;
}
// max |a − b| / max(1, |b|) elementwise
double max_rel(const std::vector<float>& a, const std::vector<double>& b) {
  if (a.size() != b.size())
    return 1e30;
  double e = 0;
  for (size_t i = 0; i < a.size(); ++i)
    e = std::max(e, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
  return e;
}
bool throws_naming(const std::function<void()>& f, const char* op) {
  return test::error_of(f).rfind(op, 0) == 0;
}

// PyTorch Conv2d in double: y[i, o, oy, ox] = b_o + rb[i, o] + Σ W[o, c, ky, kx]·x[i, c, iy, ix]
std::vector<double> conv_ref(const std::vector<float>& x, int n, ImageShape s,
                             const std::vector<float>& W, const std::vector<float>& b,
                             const std::vector<float>* rb, int cout, int k, int stride, int pad) {
  const int ho = (s.h + 2 * pad - k) / stride + 1, wo = (s.w + 2 * pad - k) / stride + 1;
  std::vector<double> y(static_cast<size_t>(n) * cout * ho * wo);
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < cout; ++o)
      for (int oy = 0; oy < ho; ++oy)
        for (int ox = 0; ox < wo; ++ox) {
          double v = b[o] + (rb ? (*rb)[i * cout + o] : 0.0);
          for (int c = 0; c < s.c; ++c)
            for (int ky = 0; ky < k; ++ky)
              for (int kx = 0; kx < k; ++kx) {
                const int iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w)
                  continue;
                v += double(W[((o * s.c + c) * k + ky) * k + kx]) *
                     x[((int64_t(i) * s.c + c) * s.h + iy) * s.w + ix];
              }
          y[((int64_t(i) * cout + o) * ho + oy) * wo + ox] = v;
        }
  return y;
}

} // namespace

class TestCpuNn : public QObject {
  Q_OBJECT
private slots:
  void layerNorm_data() {
    QTest::addColumn<int>("act");
    QTest::newRow("none") << int(Activation::none);
    QTest::newRow("silu") << int(Activation::silu);
  }
  void layerNorm() {
    QFETCH(int, act);
    CpuBackend be;
    const int n = 5, d = 37;
    const auto x = random_values(be, n * d, 1), g = random_values(be, d, 2),
               b = random_values(be, d, 3);
    Tensor X = make(be, n, d, x), G = make(be, 1, d, g), B = make(be, 1, d, b), Y = be.alloc(n, d);
    be.layer_norm(Y, X, G, B, 1e-5, Activation(act));
    std::vector<double> ref;
    for (int i = 0; i < n; ++i) {
      double mu = 0, var = 0;
      for (int j = 0; j < d; ++j)
        mu += x[i * d + j] / double(d);
      for (int j = 0; j < d; ++j)
        var += (x[i * d + j] - mu) * (x[i * d + j] - mu) / d;
      for (int j = 0; j < d; ++j)
        ref.push_back(
            act_ref(Activation(act), (x[i * d + j] - mu) / std::sqrt(var + 1e-5) * g[j] + b[j]));
    }
    QVERIFY(max_rel(get(be, Y), ref) <= 1e-5);
  }

  // Row [1, 2, 3, 4]: μ = 2.5, var = 1.25, so x̂ = (x − 2.5)/√1.25 exactly up to eps.
  void layerNormByHand() {
    CpuBackend be;
    Tensor X = make(be, 1, 4, {1, 2, 3, 4}), G = make(be, 1, 4, {1, 1, 2, 1}),
           B = make(be, 1, 4, {0, 0, 0, 10}), Y = be.alloc(1, 4);
    be.layer_norm(Y, X, G, B, 0.0, Activation::none);
    const double r = 1 / std::sqrt(1.25);
    QVERIFY(max_rel(get(be, Y), {-1.5 * r, -0.5 * r, 1.0 * r, 10 + 1.5 * r}) <= 1e-6);
    Tensor bad = be.alloc(1, 3);
    QVERIFY(
        throws_naming([&] { be.layer_norm(Y, X, bad, B, 1e-5, Activation::none); }, "layer_norm"));
    QVERIFY(
        throws_naming([&] { be.layer_norm(X, X, G, B, 1e-5, Activation::none); }, "layer_norm"));
  }

  void groupNorm() {
    CpuBackend be;
    const int n = 3, G = 4;
    const ImageShape s{8, 5, 3};
    const int64_t d = s.size(), cg = s.c / G, len = cg * s.h * s.w;
    auto x = random_values(be, n * d, 4);
    for (float& v : x)
      v = 3 * v + 7; // an offset mean, which a one-pass variance would lose digits to
    const auto g = random_values(be, s.c, 5), b = random_values(be, s.c, 6);
    Tensor X = make(be, n, d, x), Gm = make(be, 1, s.c, g), B = make(be, 1, s.c, b),
           Y = be.alloc(n, d);
    be.group_norm(Y, X, s, G, Gm, B, 1e-5, Activation::silu);
    std::vector<double> ref(static_cast<size_t>(n * d));
    for (int i = 0; i < n; ++i)
      for (int gi = 0; gi < G; ++gi) {
        const int64_t off = i * d + gi * len;
        double mu = 0, var = 0;
        for (int64_t j = 0; j < len; ++j)
          mu += x[off + j] / double(len);
        for (int64_t j = 0; j < len; ++j)
          var += (x[off + j] - mu) * (x[off + j] - mu) / len;
        for (int64_t j = 0; j < len; ++j) {
          const int64_t c = gi * cg + j / (s.h * s.w);
          ref[off + j] =
              act_ref(Activation::silu, (x[off + j] - mu) / std::sqrt(var + 1e-5) * g[c] + b[c]);
        }
      }
    QVERIFY(max_rel(get(be, Y), ref) <= 1e-5);
    QVERIFY(throws_naming([&] { be.group_norm(Y, X, s, 3, Gm, B, 1e-5, Activation::none); },
                          "group_norm"));
    QVERIFY(throws_naming(
        [&] {
          be.group_norm(Y, X, {8, 5, 4}, G, Gm, B, 1e-5, Activation::none);
        },
        "group_norm"));
  }

  // Every case the U-Net and classifier use: 3×3 pad 1 stride 1 and 2, 1×1, with and without
  // a per-row bias, and batches that fill several samples into one GEMM (small images) with a
  // partial last block.
  void conv2d_data() {
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("cin");
    QTest::addColumn<int>("h");
    QTest::addColumn<int>("w");
    QTest::addColumn<int>("cout");
    QTest::addColumn<int>("k");
    QTest::addColumn<int>("stride");
    QTest::addColumn<int>("pad");
    QTest::addColumn<bool>("rowBias");
    QTest::newRow("3x3 s1") << 2 << 3 << 6 << 7 << 4 << 3 << 1 << 1 << false;
    QTest::newRow("3x3 s1 row bias") << 3 << 2 << 5 << 5 << 3 << 3 << 1 << 1 << true;
    QTest::newRow("3x3 s2 even") << 2 << 3 << 8 << 6 << 5 << 3 << 2 << 1 << false;
    QTest::newRow("3x3 s2 odd (7→4)") << 2 << 2 << 7 << 7 << 3 << 3 << 2 << 1 << true;
    QTest::newRow("1x1") << 2 << 6 << 4 << 3 << 5 << 1 << 1 << 0 << false;
    QTest::newRow("1x1 one sample") << 1 << 6 << 20 << 20 << 5 << 1 << 1 << 0 << true;
    QTest::newRow("1x1 image, 3x3 kernel") << 2 << 2 << 1 << 1 << 3 << 3 << 1 << 1 << false;
    QTest::newRow("2x1 image, stride 2") << 3 << 2 << 2 << 1 << 3 << 3 << 2 << 1 << true;
    QTest::newRow("5x5 kernel, pad 2") << 2 << 2 << 6 << 5 << 3 << 5 << 1 << 2 << false;
    QTest::newRow("3x3 s2 no padding") << 2 << 2 << 7 << 6 << 3 << 3 << 2 << 0 << false;
    QTest::newRow("blocked batch 3x3") << 70 << 3 << 4 << 4 << 4 << 3 << 1 << 1 << true;
    QTest::newRow("blocked batch 1x1") << 45 << 4 << 3 << 3 << 2 << 1 << 1 << 0 << false;
  }
  void conv2d() {
    QFETCH(int, n);
    QFETCH(int, cin);
    QFETCH(int, h);
    QFETCH(int, w);
    QFETCH(int, cout);
    QFETCH(int, k);
    QFETCH(int, stride);
    QFETCH(int, pad);
    QFETCH(bool, rowBias);
    CpuBackend be;
    const ImageShape s{cin, h, w};
    const int ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
    const auto x = random_values(be, n * s.size(), 7), W = random_values(be, cout * cin * k * k, 8),
               b = random_values(be, cout, 9), rb = random_values(be, n * cout, 10);
    Tensor X = make(be, n, s.size(), x), Wt = make(be, cout, cin * k * k, W),
           B = make(be, 1, cout, b), RB = make(be, n, cout, rb),
           Y = be.alloc(n, int64_t(cout) * ho * wo);
    be.conv2d(Y, X, s, Wt, B, k, stride, pad, rowBias ? &RB : nullptr);
    QVERIFY(max_rel(get(be, Y), conv_ref(x, n, s, W, b, rowBias ? &rb : nullptr, cout, k, stride,
                                         pad)) <= 1e-5);
  }

  // A 3×3 box filter on a 1-channel 3×3 image with zero padding: each output is the sum of
  // the pixel's in-image neighbours (corners 4 terms, edges 6, centre 9), plus the bias.
  void conv2dByHand() {
    CpuBackend be;
    Tensor X = make(be, 1, 9, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    Tensor W = make(be, 1, 9, std::vector<float>(9, 1.0f)), B = make(be, 1, 1, {0.5f});
    Tensor Y = be.alloc(1, 9);
    be.conv2d(Y, X, {1, 3, 3}, W, B, 3, 1, 1, nullptr);
    QCOMPARE(get(be, Y),
             (std::vector<float>{12.5f, 21.5f, 16.5f, 27.5f, 45.5f, 33.5f, 24.5f, 39.5f, 28.5f}));
    Tensor Y2 = be.alloc(1, 4);
    be.conv2d(Y2, X, {1, 3, 3}, W, B, 3, 2, 1, nullptr); // stride 2: the corners' windows
    QCOMPARE(get(be, Y2), (std::vector<float>{12.5f, 16.5f, 24.5f, 28.5f}));
    QVERIFY(throws_naming([&] { be.conv2d(Y, X, {1, 3, 3}, W, B, 3, 2, 1, nullptr); }, "conv2d"));
    QVERIFY(throws_naming([&] { be.conv2d(Y, X, {2, 3, 3}, W, B, 3, 1, 1, nullptr); }, "conv2d"));
    Tensor rb = be.alloc(2, 1);
    QVERIFY(throws_naming([&] { be.conv2d(Y, X, {1, 3, 3}, W, B, 3, 1, 1, &rb); }, "conv2d"));
  }

  void upsampleAndPool() {
    CpuBackend be;
    // two channels of 2×2 → 4×4 by pixel replication
    Tensor X = make(be, 1, 8, {1, 2, 3, 4, 5, 6, 7, 8}), U = be.alloc(1, 32);
    be.upsample2(U, X, {2, 2, 2});
    QCOMPARE(get(be, U), (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4,
                                             5, 5, 6, 6, 5, 5, 6, 6, 7, 7, 8, 8, 7, 7, 8, 8}));
    // 5×5 → 2×2 (floor: the last row and column are dropped)
    std::vector<float> v(25);
    for (int i = 0; i < 25; ++i)
      v[i] = float((i * 7) % 11) - 5;
    Tensor P = make(be, 1, 25, v), Y = be.alloc(1, 4);
    be.maxpool2(Y, P, {1, 5, 5});
    std::vector<float> ref;
    for (int oy = 0; oy < 2; ++oy)
      for (int ox = 0; ox < 2; ++ox)
        ref.push_back(std::max({v[(2 * oy) * 5 + 2 * ox], v[(2 * oy) * 5 + 2 * ox + 1],
                                v[(2 * oy + 1) * 5 + 2 * ox], v[(2 * oy + 1) * 5 + 2 * ox + 1]}));
    QCOMPARE(get(be, Y), ref);
    QVERIFY(throws_naming([&] { be.maxpool2(Y, X, {2, 2, 2}); }, "maxpool2"));
    QVERIFY(throws_naming([&] { be.upsample2(Y, X, {2, 2, 2}); }, "upsample2"));
  }

  void concat() {
    CpuBackend be;
    Tensor A = make(be, 2, 2, {1, 2, 3, 4}), B = make(be, 2, 1, {5, 6}), Y = be.alloc(2, 3);
    be.concat_cols(Y, A, B);
    QCOMPARE(get(be, Y), (std::vector<float>{1, 2, 5, 3, 4, 6}));
    Tensor C = be.alloc(3, 1);
    QVERIFY(throws_naming([&] { be.concat_cols(Y, A, C); }, "concat_cols"));
  }

  // In place and out of place, over a range covering exp's overflow on both sides.
  void activations() {
    CpuBackend be;
    std::vector<float> v;
    for (int i = -400; i <= 400; ++i)
      v.push_back(i * 0.25f);
    for (Activation a : {Activation::none, Activation::silu, Activation::gelu, Activation::relu}) {
      Tensor X = make(be, 1, int64_t(v.size()), v), Y = be.alloc(1, int64_t(v.size()));
      be.activate(Y, X, a);
      std::vector<double> ref;
      for (float x : v)
        ref.push_back(act_ref(a, x));
      QVERIFY(max_rel(get(be, Y), ref) <= 1e-6);
      be.activate(X, X, a);
      QCOMPARE(get(be, X), get(be, Y));
    }
  }

  // gemm_bias_act in row blocks (several full ones and a partial one, run in parallel) against
  // double: |Δ| ≤ (in + 2)·2⁻²⁴·Σ|x·w| for the dot product plus 1e-6 relative for the
  // vectorised activation.
  void gemmBiasActInBlocks() {
    CpuBackend be;
    const int64_t n = 1000, in = 129, out = 65;
    const auto x = random_values(be, n * in, 12), W = random_values(be, out * in, 13),
               b = random_values(be, out, 14);
    Tensor X = make(be, n, in, x), Wt = make(be, out, in, W), B = make(be, 1, out, b),
           Y = be.alloc(n, out);
    for (Activation a : {Activation::none, Activation::silu, Activation::gelu, Activation::relu}) {
      be.gemm_bias_act(Y, X, Wt, B, a);
      const auto y = get(be, Y);
      double worst = 0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t o = 0; o < out; ++o) {
          double v = b[o], mag = std::abs(b[o]);
          for (int64_t k = 0; k < in; ++k) {
            v += double(x[i * in + k]) * W[o * in + k];
            mag += std::abs(double(x[i * in + k]) * W[o * in + k]);
          }
          const double ref = act_ref(a, v);
          const double tol = (in + 2) * std::ldexp(mag, -24) + 1e-6 * (1 + std::abs(ref));
          worst = std::max(worst, std::abs(y[i * out + o] - ref) / tol);
        }
      QVERIFY2(worst <= 1,
               qPrintable(QString("activation %1: error %2 of the bound").arg(int(a)).arg(worst)));
    }
  }

  void attention() {
    CpuBackend be;
    const int n = 3, C = 8, heads = 2, P = 6, dh = C / heads;
    const auto qkv = random_values(be, n * 3 * C * P, 11);
    Tensor Q = make(be, n, 3 * C * P, qkv), Y = be.alloc(n, C * P);
    be.attention(Y, Q, C, heads, P);
    std::vector<double> ref(static_cast<size_t>(n * C * P));
    for (int i = 0; i < n; ++i)
      for (int h = 0; h < heads; ++h) {
        const auto at = [&](int part, int c, int p) {
          return double(qkv[i * 3 * C * P + part * C * P + (h * dh + c) * P + p]);
        };
        for (int a = 0; a < P; ++a) {
          std::vector<double> s(P);
          double m = -1e300, z = 0;
          for (int j = 0; j < P; ++j) {
            for (int c = 0; c < dh; ++c)
              s[j] += at(0, c, a) * at(1, c, j) / std::sqrt(double(dh));
            m = std::max(m, s[j]);
          }
          for (int j = 0; j < P; ++j)
            z += s[j] = std::exp(s[j] - m);
          for (int c = 0; c < dh; ++c) {
            double o = 0;
            for (int j = 0; j < P; ++j)
              o += s[j] / z * at(2, c, j);
            ref[i * C * P + (h * dh + c) * P + a] = o;
          }
        }
      }
    QVERIFY(max_rel(get(be, Y), ref) <= 1e-5);
    QVERIFY(throws_naming([&] { be.attention(Y, Q, C, 3, P); }, "attention"));
  }

  // One position: the softmax is 1, so the output is v whatever q and k are.
  void attentionOnePositionIsValue() {
    CpuBackend be;
    Tensor Q = make(be, 1, 6, {100, -3, 7, 8, 0.5f, -2}), Y = be.alloc(1, 2);
    be.attention(Y, Q, 2, 1, 1);
    QCOMPARE(get(be, Y), (std::vector<float>{0.5f, -2}));
  }
};

QTEST_APPLESS_MAIN(TestCpuNn)
#include "test_cpu_nn.moc"
