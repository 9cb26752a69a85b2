#include "core/philox.hpp"

#include "core/simd_math.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>

namespace itslab {

namespace {
constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

inline void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

inline PhiloxCounter block(uint64_t seed, uint32_t stream, uint32_t step, uint32_t particle,
                           uint32_t dim_block) {
  return philox4x32_10({dim_block, particle, step, stream},
                       {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
}

// Box–Muller on the pair (u1, u2); r·cos and r·sin give the two normals.
inline void box_muller(uint32_t a, uint32_t b, float& n0, float& n1) {
  const double u1 = (static_cast<double>(a) + 0.5) * (1.0 / 4294967296.0);
  const double u2 = (static_cast<double>(b) + 0.5) * (1.0 / 4294967296.0);
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double phi = 2.0 * std::numbers::pi * u2;
  n0 = static_cast<float>(r * std::cos(phi));
  n1 = static_cast<float>(r * std::sin(phi));
}

inline void normals4(const PhiloxCounter& r, float out[4]) {
  box_muller(r[0], r[1], out[0], out[1]);
  box_muller(r[2], r[3], out[2], out[3]);
}
} // namespace

PhiloxCounter philox4x32_10(PhiloxCounter c, PhiloxKey k) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kMul0, c[0], hi0, lo0);
    mulhilo(kMul1, c[2], hi1, lo1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k[0] += kWeyl0;
    k[1] += kWeyl1;
  }
  return c;
}

uint32_t philox_bits(uint64_t seed, uint32_t stream, uint32_t step, uint32_t particle,
                     uint32_t dim) {
  return block(seed, stream, step, particle, dim / 4)[dim % 4];
}

float philox_uniform(uint64_t seed, uint32_t stream, uint32_t step, uint32_t particle,
                     uint32_t dim) {
  return uint_to_unit(philox_bits(seed, stream, step, particle, dim));
}

float philox_normal(uint64_t seed, uint32_t stream, uint32_t step, uint32_t particle,
                    uint32_t dim) {
  float n[4];
  normals4(block(seed, stream, step, particle, dim / 4), n);
  return n[dim % 4];
}

namespace {
// Philox blocks computed together: the lane loops below vectorise across blocks.
constexpr uint32_t kLanes = 64;

// Philox4x32-10 of kLanes counters, word w of lane l in ctr[w][l] (structure of arrays).
void philox_lanes(const uint32_t (&ctr)[4][kLanes], PhiloxKey key, uint32_t (&out)[4][kLanes]) {
#pragma omp simd
  for (uint32_t l = 0; l < kLanes; ++l) {
    uint32_t c0 = ctr[0][l], c1 = ctr[1][l], c2 = ctr[2][l], c3 = ctr[3][l];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; ++round) {
      const uint64_t p0 = static_cast<uint64_t>(kMul0) * c0;
      const uint64_t p1 = static_cast<uint64_t>(kMul1) * c2;
      c0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
      c1 = static_cast<uint32_t>(p1);
      c2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
      c3 = static_cast<uint32_t>(p0);
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    out[0][l] = c0;
    out[1][l] = c1;
    out[2][l] = c2;
    out[3][l] = c3;
  }
}

// (x + 0.5)·2⁻³² in double, exactly as box_muller() computes it: 2⁵² + x − 2⁵² is x without a
// uint32 → double conversion instruction (AVX2 has none).
inline double unit_double(uint32_t x) {
  return (std::bit_cast<double>(0x4330000000000000ULL | x) - 0x1p52 + 0.5) * (1.0 / 4294967296.0);
}

// box_muller() over kLanes pairs (a, b) with the vectorisable log and sin/cos, giving the same
// floats. Those functions differ from glibc's by at most 1 ulp of double (checked on every 257th
// of the 2³² inputs, and on all inputs within 2²⁰ of the quarter turns, where sin or cos crosses
// 0, and of u = 0 and 1), so r·cos φ and r·sin φ agree with libm's to about 2⁻⁵⁰ relative. Where
// a value lies within 2⁻⁴⁰ relative of a float rounding boundary (about one value in 2¹⁵), the
// pair is redone with libm, so the float normals are bit-identical to the scalar path.
void box_muller_lanes(const uint32_t* a, const uint32_t* b, float* n0, float* n1) {
  constexpr double lo = 1.0 - 0x1p-40, hi = 1.0 + 0x1p-40;
  bool redo[kLanes];
#pragma omp simd
  for (uint32_t l = 0; l < kLanes; ++l) {
    const double u1 = unit_double(a[l]), u2 = unit_double(b[l]);
    const double r = std::sqrt(-2.0 * simd::log(u1));
    double s, c;
    simd::sincos(2.0 * std::numbers::pi * u2, s, c);
    const double v0 = r * c, v1 = r * s;
    n0[l] = static_cast<float>(v0);
    n1[l] = static_cast<float>(v1);
    redo[l] = (static_cast<float>(v0 * lo) != static_cast<float>(v0 * hi)) |
              (static_cast<float>(v1 * lo) != static_cast<float>(v1 * hi));
  }
  for (uint32_t l = 0; l < kLanes; ++l)
    if (redo[l])
      box_muller(a[l], b[l], n0[l], n1[l]);
}

// The Philox blocks of every (row, 4-dim block) of particles [p0, p0 + n), in batches: calls
// emit(ctr, words, m) with lane l < m holding block ctr[0][l] of particle ctr[1][l] and its
// four words in words[·][l].
template <class Emit>
void philox_row_blocks(uint64_t seed, uint32_t stream, uint32_t step, uint32_t p0, uint32_t n,
                       uint32_t d, Emit emit) {
  const PhiloxKey key{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  const uint32_t blocks = (d + 3) / 4;
  uint32_t ctr[4][kLanes] = {}, words[4][kLanes];
  std::fill_n(ctr[2], kLanes, step);
  std::fill_n(ctr[3], kLanes, stream);
  uint32_t i = 0, j = 0; // row and block of the next counter
  while (i < n && blocks > 0) {
    uint32_t m = 0;
    if (blocks == 1) { // d ≤ 4: one block per row, lane l is row i + l
      m = std::min(kLanes, n - i);
      for (uint32_t l = 0; l < kLanes; ++l)
        ctr[1][l] = p0 + i + l;
      i += m;
    } else {
      for (; m < kLanes && i < n; ++m) {
        ctr[0][m] = j;
        ctr[1][m] = p0 + i;
        if (++j == blocks)
          j = 0, ++i;
      }
    }
    philox_lanes(ctr, key, words);
    emit(ctr, words, m);
  }
}
} // namespace

void philox_normal_rows(uint64_t seed, uint32_t stream, uint32_t step, uint32_t p0, uint32_t n,
                        uint32_t d, float* out) {
  // a block's second pair feeds dims 4j+2, 4j+3: not needed when every row is one block of
  // at most two dims (d ≤ 2), and then skipped
  const bool second_pair = d > 2;
  philox_row_blocks(
      seed, stream, step, p0, n, d,
      [&](const uint32_t(&ctr)[4][kLanes], const uint32_t(&w)[4][kLanes], uint32_t m) {
        float v[4][kLanes];
        box_muller_lanes(w[0], w[1], v[0], v[1]);
        if (second_pair)
          box_muller_lanes(w[2], w[3], v[2], v[3]);
        if (d == 2) { // consecutive rows: interleaved stores that vectorise
          float* o = out + static_cast<size_t>(ctr[1][0] - p0) * 2;
          for (uint32_t l = 0; l < m; ++l) {
            o[2 * l] = v[0][l];
            o[2 * l + 1] = v[1][l];
          }
          return;
        }
        for (uint32_t l = 0; l < m; ++l) {
          const uint32_t j0 = 4 * ctr[0][l];
          float* o = out + static_cast<size_t>(ctr[1][l] - p0) * d + j0;
          for (uint32_t q = 0; q < 4 && j0 + q < d; ++q)
            o[q] = v[q][l];
        }
      });
}

void philox_uniform_rows(uint64_t seed, uint32_t stream, uint32_t step, uint32_t p0, uint32_t n,
                         uint32_t d, float* out) {
  philox_row_blocks(
      seed, stream, step, p0, n, d,
      [&](const uint32_t(&ctr)[4][kLanes], const uint32_t(&w)[4][kLanes], uint32_t m) {
        for (uint32_t l = 0; l < m; ++l) {
          const uint32_t j0 = 4 * ctr[0][l];
          float* o = out + static_cast<size_t>(ctr[1][l] - p0) * d + j0;
          for (uint32_t q = 0; q < 4 && j0 + q < d; ++q)
            o[q] = uint_to_unit(w[q][l]);
        }
      });
}

} // namespace itslab
