#version 450
// Reward kernels (KIND, a specialization constant), one invocation per particle (backend.hpp RewardKernelParams):
//   0 linear r = a·x + offset, 1 distance r = −‖x − c‖², 2 box sigmoid(min_j min(x−lo, hi−x)/T),
//   3 disc sigmoid((radius − ‖x − c‖)/T). Parameters in tab: a (or c, lo) at off_a, b (hi) at
//   off_b, then offset, radius, temperature at off_s. F64 variant: double like the CPU.
#include "common.glsl"
#include "real.glsl"

layout(std430, binding = 0) writeonly buffer O { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Tab { real tab[]; };
layout(constant_id = 1) const uint KIND = 0;
layout(push_constant) uniform PC { uint n, d, off_a, off_b, off_s; } pc;

void main() {
  const uint p = global_id();
  if (p >= pc.n) return;
  const uint b = p * pc.d;
  real v = real(0.0);
  if (KIND == 0u) {
    v = tab[pc.off_s];
    for (uint j = 0u; j < pc.d; ++j) v += tab[pc.off_a + j] * real(x[b + j]);
  } else if (KIND == 1u) {
    for (uint j = 0u; j < pc.d; ++j) {
      const real e = real(x[b + j]) - tab[pc.off_a + j];
      v -= e * e;
    }
  } else if (KIND == 2u) {
    real m = -real_neg_inf();
    for (uint j = 0u; j < pc.d; ++j) {
      const real xj = real(x[b + j]);
      m = min(m, min(xj - tab[pc.off_a + j], tab[pc.off_b + j] - xj));
    }
    v = real(1.0) / (real(1.0) + real_exp(-m / tab[pc.off_s + 2u]));
  } else {
    real q = real(0.0);
    for (uint j = 0u; j < pc.d; ++j) {
      const real e = real(x[b + j]) - tab[pc.off_a + j];
      q += e * e;
    }
    v = real(1.0) / (real(1.0) + real_exp(-(tab[pc.off_s + 1u] - real_sqrt(q)) / tab[pc.off_s + 2u]));
  }
  o[p] = float(v);
}
