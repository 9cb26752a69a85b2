#include "core/philox.hpp"

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

void philox_normal_rows(uint64_t seed, uint32_t stream, uint32_t step, uint32_t p0, uint32_t n,
                        uint32_t d, float* out) {
  for (uint32_t i = 0; i < n; ++i) {
    float* row = out + static_cast<size_t>(i) * d;
    for (uint32_t j = 0; j < d; j += 4) {
      float v[4];
      normals4(block(seed, stream, step, p0 + i, j / 4), v);
      for (uint32_t q = 0; q < 4 && j + q < d; ++q)
        row[j + q] = v[q];
    }
  }
}

void philox_uniform_rows(uint64_t seed, uint32_t stream, uint32_t step, uint32_t p0, uint32_t n,
                         uint32_t d, float* out) {
  for (uint32_t i = 0; i < n; ++i) {
    float* row = out + static_cast<size_t>(i) * d;
    for (uint32_t j = 0; j < d; j += 4) {
      const PhiloxCounter r = block(seed, stream, step, p0 + i, j / 4);
      for (uint32_t q = 0; q < 4 && j + q < d; ++q)
        row[j + q] = uint_to_unit(r[q]);
    }
  }
}

} // namespace itslab
