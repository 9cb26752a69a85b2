#include "backend/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#include "test_util.hpp"

#include <QtTest>
#include <bit>
#include <cmath>

using namespace itslab;
using test::get;
using test::make;

class TestCpuBackend : public QObject {
  Q_OBJECT
private slots:
  // y = 2x − 0.5 s⊙z, written in place over x (aliasing is allowed); values are exact in float.
  void lincombWithRowScaleAndAliasing() {
    CpuBackend be;
    Tensor x = make(be, 3, 2, {1, 2, 3, 4, 5, 6});
    Tensor z = make(be, 3, 2, {2, 2, 2, 2, 2, 2});
    Tensor s = make(be, 3, 1, {1, 2, 4});
    be.lincomb(x, {{&x, 2.0}, {&z, -0.5, &s}});
    QCOMPARE(get(be, x), (std::vector<float>{1, 3, 4, 6, 6, 8}));
    Tensor bad = be.alloc(2, 2);
    QVERIFY_THROWS_EXCEPTION(Error, be.lincomb(bad, {{&x, 1.0}}));
  }

  // Larger than one parallel chunk, so the OpenMP path and the chunk edges are exercised.
  void lincombLarge() {
    CpuBackend be;
    const int64_t n = 70001, d = 3;
    Tensor a = be.alloc(n, d), b = be.alloc(n, d), y = be.alloc(n, d);
    be.fill_normal(a, {1, 0, 0, 0});
    be.fill_uniform(b, {1, 0, 0, 0});
    be.lincomb(y, {{&a, 0.25}, {&b, 3.0}});
    const auto va = get(be, a), vb = get(be, b), vy = get(be, y);
    for (size_t i = 0; i < vy.size(); ++i)
      QVERIFY(std::abs(vy[i] - (0.25f * va[i] + 3.0f * vb[i])) <= 1e-6f * (1 + std::abs(vy[i])));
  }

  void gatherRows() {
    CpuBackend be;
    Tensor x = make(be, 3, 2, {1, 2, 3, 4, 5, 6});
    Tensor y = be.alloc(4, 2);
    be.gather_rows(y, x, {2, 0, 2, 1});
    QCOMPARE(get(be, y), (std::vector<float>{5, 6, 1, 2, 5, 6, 3, 4}));
    QVERIFY_THROWS_EXCEPTION(Error, be.gather_rows(y, x, {0, 1, 2, 3}));
    Tensor alias = x;
    Tensor y3 = be.alloc(3, 2);
    QVERIFY_THROWS_EXCEPTION(Error, be.gather_rows(alias, x, {0, 1, 2}));
    be.gather_rows(y3, x, {0, 1, 2});
    QCOMPARE(get(be, y3), get(be, x));
  }

  void rowReduce() {
    CpuBackend be;
    Tensor x = make(be, 2, 3, {1, -2, 3, 4, 0, -1});
    Tensor out = be.alloc(2, 1);
    be.row_reduce(out, x, RowOp::sum);
    QCOMPARE(get(be, out), (std::vector<float>{2, 3}));
    be.row_reduce(out, x, RowOp::sum_squares);
    QCOMPARE(get(be, out), (std::vector<float>{14, 17}));
    be.row_reduce(out, x, RowOp::max);
    QCOMPARE(get(be, out), (std::vector<float>{3, 4}));
  }

  // y = act(x·Wᵀ + b) on a hand-computed 2×3 · (3→2) case, every activation.
  void gemmBiasAct() {
    CpuBackend be;
    Tensor x = make(be, 2, 3, {1, 2, 3, -1, 0, 1});
    Tensor W = make(be, 2, 3, {1, 0, -1, 0.5f, 0.5f, 0.5f}); // [out, in]
    Tensor b = make(be, 1, 2, {0.5f, -4});
    Tensor y = be.alloc(2, 2);
    be.gemm_bias_act(y, x, W, b, Activation::none);
    // row 0: (1 − 3) + 0.5 = −1.5, (0.5 + 1 + 1.5) − 4 = −1; row 1: −2 + 0.5, 0 − 4
    QCOMPARE(get(be, y), (std::vector<float>{-1.5f, -1, -1.5f, -4}));
    be.gemm_bias_act(y, x, W, b, Activation::relu);
    QCOMPARE(get(be, y), (std::vector<float>{0, 0, 0, 0}));
    be.gemm_bias_act(y, x, W, b, Activation::silu);
    const auto silu = get(be, y);
    QVERIFY(std::abs(silu[0] - (-1.5 / (1 + std::exp(1.5)))) < 1e-6);
    be.gemm_bias_act(y, x, W, b, Activation::gelu);
    const auto gelu = get(be, y);
    QVERIFY(std::abs(gelu[3] - (-4 * 0.5 * std::erfc(4 / std::sqrt(2.0)))) < 1e-6);
    Tensor bad = be.alloc(2, 3);
    QVERIFY_THROWS_EXCEPTION(Error, be.gemm_bias_act(bad, x, W, b, Activation::none));
    Tensor w2 = be.alloc(2, 2);
    QVERIFY_THROWS_EXCEPTION(Error, be.gemm_bias_act(y, x, w2, b, Activation::none));
  }

  // y[i] = [cos(τ_i f_k) | sin(τ_i f_k)], τ_i = s t_i, with the given frequencies.
  void timeEmbedding() {
    CpuBackend be;
    Tensor t = make(be, 2, 1, {0, 0.5f});
    Tensor f = make(be, 1, 3, {1.0f, 0.1f, 0.01f});
    Tensor y = be.alloc(2, 6);
    be.time_embedding(y, t, 2.0, f);
    const auto v = get(be, y);
    const double fk[3] = {1.0f, 0.1f, 0.01f};
    for (int k = 0; k < 3; ++k) {
      QCOMPARE(v[k], 1.0f);
      QCOMPARE(v[3 + k], 0.0f);
      QVERIFY(std::abs(v[6 + k] - std::cos(1.0 * fk[k])) < 1e-7);
      QVERIFY(std::abs(v[9 + k] - std::sin(1.0 * fk[k])) < 1e-7);
    }
    Tensor odd = be.alloc(2, 5);
    QVERIFY_THROWS_EXCEPTION(Error, be.time_embedding(odd, t, 1.0, f));
  }

  // libm's cos and sin in double, rounded to float, bit for bit: the vectorised path agrees with
  // them on every float argument in its range (checked exhaustively on this glibc) and hands
  // larger ones (scale 1e16 here) back to libm.
  void timeEmbeddingIsLibmBitForBit() {
    CpuBackend be;
    const int64_t n = 3000, half = 64;
    std::vector<float> tv(n), fv(half);
    for (int64_t i = 0; i < n; ++i)
      tv[i] = static_cast<float>(i) / static_cast<float>(n);
    for (int64_t k = 0; k < half; ++k)
      fv[k] = static_cast<float>(std::exp(-std::log(10000.0) * static_cast<double>(k) / half));
    Tensor t = make(be, n, 1, tv), f = make(be, 1, half, fv), y = be.alloc(n, 2 * half);
    for (const double scale : {1.0, 1000.0, 1e16}) {
      be.time_embedding(y, t, scale, f);
      const auto v = get(be, y);
      int64_t differ = 0;
      QString first;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < half; ++k) {
          const float a = static_cast<float>(scale) * tv[i] * fv[k];
          const auto c = static_cast<float>(std::cos(static_cast<double>(a)));
          const auto sn = static_cast<float>(std::sin(static_cast<double>(a)));
          const float gc = v[i * 2 * half + k], gs = v[i * 2 * half + half + k];
          if (std::bit_cast<uint32_t>(gc) != std::bit_cast<uint32_t>(c) ||
              std::bit_cast<uint32_t>(gs) != std::bit_cast<uint32_t>(sn)) {
            if (differ++ == 0)
              first = QString("a = %1: %2, %3 against libm's %4, %5")
                          .arg(a, 0, 'g', 9)
                          .arg(gc, 0, 'g', 9)
                          .arg(gs, 0, 'g', 9)
                          .arg(c, 0, 'g', 9)
                          .arg(sn, 0, 'g', 9);
          }
        }
      QVERIFY2(
          differ == 0,
          qPrintable(QString("scale %1: %2 values differ; %3").arg(scale).arg(differ).arg(first)));
    }
  }

  // "cpu" is the CPU backend; "vulkan" and "auto" give Vulkan when a device exists and else
  // the CPU backend with a notice; malformed names are errors.
  void backendChoice() {
    QCOMPARE(QString::fromStdString(make_backend("cpu").backend->name()), QString("cpu"));
    QVERIFY(make_backend("cpu").notice.empty());
    for (const char* spec : {"auto", "vulkan", "vulkan:0"}) {
      const BackendChoice c = make_backend(spec);
      QVERIFY(c.backend->name() == "vulkan" || !c.notice.empty());
    }
    QVERIFY(!make_backend("vulkan:no-such-device").notice.empty());
    QVERIFY_THROWS_EXCEPTION(Error, make_backend("tpu"));
    QVERIFY_THROWS_EXCEPTION(Error, make_backend("vulkan:"));
    QVERIFY(check_backend_spec("vulkan:1").empty());
    QVERIFY(!check_backend_spec("gpu").empty());
  }
};

QTEST_APPLESS_MAIN(TestCpuBackend)
#include "test_cpu_backend.moc"
