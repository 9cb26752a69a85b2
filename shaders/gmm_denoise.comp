#version 450
// Posterior mean E[x0 | x_t = x] of a Gaussian mixture for x_t = αx0 + σε, one invocation per
// particle, the same algorithm and operation order as the CPU backend (cpu_backend.cpp): a
// running log-sum-exp over the active components with per-call tables computed on the host in
// double: c_k = log w_k − ½ Σ log λ̃, 1/λ̃, gain αλ/λ̃ (λ̃ = α²λ + σ²). F64 variant: double
// arithmetic like the CPU; otherwise float. Spec constants: D (dimension), FULL (Q_k ≠ I).
#include "common.glsl"
#include "real.glsl"

layout(constant_id = 1) const uint D = 2;
layout(constant_id = 2) const bool FULL = false;

layout(std430, binding = 0) writeonly buffer O { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Tab { real tab[]; };
layout(std430, binding = 3) readonly buffer Act { uint act_k[]; };
layout(push_constant) uniform PC {
  uint n, n_active, off_c, off_inv, off_gain, off_mu, off_q, off_alpha;
} pc;

void main() {
  const uint p = global_id();
  if (p >= pc.n) return;
  real xv[D], z[D], acc[D];
  for (uint i = 0u; i < D; ++i) {
    xv[i] = real(x[p * D + i]);
    acc[i] = real(0.0);
  }
  const real alpha = tab[pc.off_alpha];
  real m = real_neg_inf(), total = real(0.0);
  for (uint a = 0u; a < pc.n_active; ++a) {
    const uint k = act_k[a];
    const uint off = k * D;
    real l = tab[pc.off_c + k];
    for (uint i = 0u; i < D; ++i) {
      real zi = real(0.0);
      if (FULL) {
        const uint qb = pc.off_q + off * D;
        for (uint j = 0u; j < D; ++j)
          zi += tab[qb + j * D + i] * (xv[j] - alpha * tab[pc.off_mu + off + j]);
      } else {
        zi = xv[i] - alpha * tab[pc.off_mu + off + i];
      }
      l -= real(0.5) * zi * zi * tab[pc.off_inv + off + i];
      z[i] = zi * tab[pc.off_gain + off + i];
    }
    // online softmax: rescale the accumulator when a new maximum appears
    real wk = real(1.0);
    if (l > m) {
      const real scale = real_exp(m - l);
      total *= scale;
      for (uint i = 0u; i < D; ++i) acc[i] *= scale;
      m = l;
    } else {
      wk = real_exp(l - m);
    }
    total += wk;
    for (uint i = 0u; i < D; ++i) {
      real mk = tab[pc.off_mu + off + i];
      if (FULL) {
        const uint qb = pc.off_q + off * D;
        for (uint j = 0u; j < D; ++j) mk += tab[qb + i * D + j] * z[j];
      } else {
        mk += z[i];
      }
      acc[i] += wk * mk;
    }
  }
  for (uint i = 0u; i < D; ++i) o[p * D + i] = float(acc[i] / total);
}
