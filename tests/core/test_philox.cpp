#include "backend/cpu/cpu_backend.hpp"
#include "core/philox.hpp"

#include <QtTest>
#include <bit>
#include <cmath>

using namespace itslab;

class TestPhilox : public QObject {
  Q_OBJECT
private slots:
  // Random123 kat_vectors, the three "philox4x32 10" lines: counter, key → output.
  void knownAnswers() {
    const struct {
      PhiloxCounter ctr;
      PhiloxKey key;
      PhiloxCounter want;
    } cases[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (const auto& c : cases)
      QCOMPARE(philox4x32_10(c.ctr, c.key), c.want);
  }

  // The counter layout is (dim/4, particle, step, stream) with key = seed.
  void counterLayout() {
    const uint64_t seed = 0x0123456789abcdefULL;
    const PhiloxCounter r = philox4x32_10({1, 77, 5, 3}, {0x89abcdefu, 0x01234567u});
    QCOMPARE(philox_bits(seed, 3, 5, 77, 6), r[2]);
  }

  // Moments of 10⁶ normals: the standard error of the mean is 1e-3 and of the variance
  // √2·1e-3, so 5e-3 is a 5-sigma bound; the fourth moment (3) has standard error ≈ 1e-2.
  void normalMoments() {
    const uint32_t n = 250000, d = 4;
    std::vector<float> z(static_cast<size_t>(n) * d);
    philox_normal_rows(42, 1, 0, 0, n, d, z.data());
    double m1 = 0, m2 = 0, m4 = 0;
    for (float v : z)
      m1 += v, m2 += double(v) * v, m4 += std::pow(double(v), 4);
    const double N = double(z.size());
    QVERIFY(std::abs(m1 / N) < 5e-3);
    QVERIFY(std::abs(m2 / N - 1) < 5e-3);
    QVERIFY(std::abs(m4 / N - 3) < 5e-2);
    // correlation of the Box–Muller pair (dims 0 and 1) vanishes: standard error 2e-3
    double c = 0;
    for (uint32_t i = 0; i < n; ++i)
      c += double(z[i * d]) * z[i * d + 1];
    QVERIFY(std::abs(c / n) < 1e-2);
  }

  // The bulk path (Philox and Box–Muller vectorised across blocks) gives the scalar path's floats
  // bit for bit: for every d (d ≤ 2 skips a block's second pair), rows starting anywhere, and
  // the few normals near a float rounding boundary that it recomputes with libm (≈ 2⁻¹⁵ of them,
  // so some dozens among these 1.3·10⁶).
  void bulkMatchesScalar() {
    for (uint32_t d : {1u, 2u, 3u, 4u, 5u, 7u, 8u, 9u}) {
      const uint32_t n = d <= 2 ? 400000 : 20000, p0 = 4000000000u;
      std::vector<float> z(static_cast<size_t>(n) * d), u(z.size());
      philox_normal_rows(11, 1, 7, p0, n, d, z.data());
      philox_uniform_rows(11, 1, 7, p0, n, d, u.data());
      int64_t bad = 0;
      for (uint32_t i = 0; i < n; ++i)
        for (uint32_t j = 0; j < d; ++j) {
          const size_t at = static_cast<size_t>(i) * d + j;
          bad += std::bit_cast<uint32_t>(z[at]) !=
                 std::bit_cast<uint32_t>(philox_normal(11, 1, 7, p0 + i, j));
          bad += std::bit_cast<uint32_t>(u[at]) !=
                 std::bit_cast<uint32_t>(philox_uniform(11, 1, 7, p0 + i, j));
        }
      QCOMPARE(bad, int64_t{0});
    }
  }

  void uniformRange() {
    std::vector<float> u(100000);
    philox_uniform_rows(9, 0, 0, 0, 100000, 1, u.data());
    double mean = 0;
    for (float v : u) {
      QVERIFY(v > 0.0f && v < 1.0f);
      mean += v;
    }
    QVERIFY(std::abs(mean / u.size() - 0.5) < 5e-3); // std error 9e-4
  }

  // A particle's noise does not depend on how many particles are drawn, nor on the row block
  // the backend splits the work into.
  void noiseIndependentOfCount() {
    CpuBackend be;
    Tensor a = be.alloc(10, 3), b = be.alloc(1000, 3);
    be.fill_normal(a, {5, 1, 2, 0});
    be.fill_normal(b, {5, 1, 2, 0});
    std::vector<float> ha(30), hb(3000);
    be.download(a, ha.data());
    be.download(b, hb.data());
    for (int i = 0; i < 30; ++i)
      QCOMPARE(ha[i], hb[i]);
    QCOMPARE(ha[3 * 7 + 2], philox_normal(5, 1, 2, 7, 2));
    // different streams and steps give different numbers
    QVERIFY(philox_normal(5, 1, 2, 7, 2) != philox_normal(5, 2, 2, 7, 2));
    QVERIFY(philox_normal(5, 1, 2, 7, 2) != philox_normal(5, 1, 3, 7, 2));
  }
};

QTEST_APPLESS_MAIN(TestPhilox)
#include "test_philox.moc"
