#include "backend/cpu/cpu_backend.hpp"
#include "core/error.hpp"

#include <QtTest>

using namespace itslab;

namespace {
Tensor make(CpuBackend& be, int64_t n, int64_t d, std::vector<float> v) {
  Tensor t = be.alloc(n, d);
  be.upload(t, v.data());
  return t;
}
std::vector<float> get(CpuBackend& be, const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.size()));
  be.download(t, v.data());
  return v;
}
} // namespace

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

  void backendChoice() {
    QCOMPARE(QString::fromStdString(make_backend("auto").backend->name()), QString("cpu"));
    QVERIFY(!make_backend("vulkan").notice.empty()); // not built yet: falls back and says so
    QVERIFY_THROWS_EXCEPTION(Error, make_backend("tpu"));
  }
};

QTEST_APPLESS_MAIN(TestCpuBackend)
#include "test_cpu_backend.moc"
