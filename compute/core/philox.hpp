#pragma once
#include <array>
#include <cstdint>

namespace itslab {

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11),
// identical to Random123's philox4x32 with 10 rounds.
using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;
PhiloxCounter philox4x32_10(PhiloxCounter ctr, PhiloxKey key);

// Named streams keep independent uses of one seed apart.
enum class Stream : uint32_t {
  init_noise = 0,   // z of x_T
  solver_noise = 1, // per-step noise of stochastic solvers (sub-draws use stream + 16·k)
  reference = 2,    // exact reference samples for metrics
  component = 3,    // component choice of exact GMM samples
  metric = 4,       // random directions / features of metrics
};

// Counter layout shared with the GLSL version: (dim / 4, particle, step, stream); key = seed.
// One Philox block yields 4 uint32, i.e. 4 normals through two Box–Muller pairs, so the value
// for (seed, stream, step, particle, dim) never depends on how many particles are drawn.
uint32_t philox_bits(uint64_t seed, uint32_t stream, uint32_t step, uint32_t particle,
                     uint32_t dim);
float philox_uniform(uint64_t seed, uint32_t stream, uint32_t step, uint32_t particle,
                     uint32_t dim);
float philox_normal(uint64_t seed, uint32_t stream, uint32_t step, uint32_t particle, uint32_t dim);

// Bulk versions over a row block: out[i*d + j] for particles [p0, p0+n), dims [0, d).
void philox_normal_rows(uint64_t seed, uint32_t stream, uint32_t step, uint32_t p0, uint32_t n,
                        uint32_t d, float* out);
void philox_uniform_rows(uint64_t seed, uint32_t stream, uint32_t step, uint32_t p0, uint32_t n,
                         uint32_t d, float* out);

// (x + 0.5)·2⁻³² mapped to float in (0, 1): never 0, so log(u) is finite.
inline float uint_to_unit(uint32_t x) {
  return static_cast<float>((static_cast<double>(x) + 0.5) * (1.0 / 4294967296.0));
}

} // namespace itslab
