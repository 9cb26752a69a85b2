#version 450
// Posterior mean E[x0 | x_t = x] of a Gaussian mixture for x_t = αx0 + σε, the same algorithm
// and operation order as the CPU backend (cpu_backend.cpp): a running log-sum-exp over the
// active components with per-call tables computed on the host in double: c_k = log w_k −
// ½ Σ log λ̃, 1/λ̃, gain αλ/λ̃ (λ̃ = α²λ + σ²). F64 variant: double arithmetic like the CPU;
// otherwise float. Spec constants: D (dimension), FULL (Q_k ≠ I), P (particles per
// invocation: each table entry is loaded once for P particles, which matters on CPU-type
// devices where a table load is a per-lane gather).
#include "common.glsl"
#include "real.glsl"

layout(constant_id = 1) const uint D = 2;
layout(constant_id = 2) const bool FULL = false;
layout(constant_id = 3) const uint P = 1;

layout(std430, binding = 0) writeonly buffer O { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Tab { real tab[]; };
layout(std430, binding = 3) readonly buffer Act { uint act_k[]; };
layout(push_constant) uniform PC {
  uint n, n_active, off_c, off_inv, off_gain, off_mu, off_q, off_alpha;
} pc;

void main() {
  const uint p0 = global_id() * P;
  if (p0 >= pc.n) return;
  real xv[P * D], z[P * D], acc[P * D], m[P], total[P];
  for (uint j = 0u; j < P; ++j) {
    const uint p = min(p0 + j, pc.n - 1u); // past the end: recomputed, never stored
    for (uint i = 0u; i < D; ++i) {
      xv[j * D + i] = real(x[p * D + i]);
      acc[j * D + i] = real(0.0);
    }
    m[j] = real_neg_inf();
    total[j] = real(0.0);
  }
  const real alpha = tab[pc.off_alpha];
  for (uint a = 0u; a < pc.n_active; ++a) {
    const uint k = act_k[a];
    const uint off = k * D;
    const real ck = tab[pc.off_c + k];
    real l[P];
    for (uint j = 0u; j < P; ++j) l[j] = ck;
    for (uint i = 0u; i < D; ++i) {
      const real amu = alpha * tab[pc.off_mu + off + i];
      const real inv = tab[pc.off_inv + off + i], gain = tab[pc.off_gain + off + i];
      for (uint j = 0u; j < P; ++j) {
        real zi = real(0.0);
        if (FULL) {
          const uint qb = pc.off_q + off * D;
          for (uint jj = 0u; jj < D; ++jj)
            zi += tab[qb + jj * D + i] * (xv[j * D + jj] - alpha * tab[pc.off_mu + off + jj]);
        } else {
          zi = xv[j * D + i] - amu;
        }
        l[j] -= real(0.5) * zi * zi * inv;
        z[j * D + i] = zi * gain;
      }
    }
    real w[P];
    for (uint j = 0u; j < P; ++j) {
      // online softmax: rescale the accumulator when a new maximum appears
      real wk = real(1.0);
      if (l[j] > m[j]) {
        const real scale = real_exp(m[j] - l[j]);
        total[j] *= scale;
        for (uint i = 0u; i < D; ++i) acc[j * D + i] *= scale;
        m[j] = l[j];
      } else {
        wk = real_exp(l[j] - m[j]);
      }
      total[j] += wk;
      w[j] = wk;
    }
    for (uint i = 0u; i < D; ++i) {
      const real mu = tab[pc.off_mu + off + i];
      for (uint j = 0u; j < P; ++j) {
        real mk = mu;
        if (FULL) {
          const uint qb = pc.off_q + off * D;
          for (uint jj = 0u; jj < D; ++jj) mk += tab[qb + i * D + jj] * z[j * D + jj];
        } else {
          mk += z[j * D + i];
        }
        acc[j * D + i] += w[j] * mk;
      }
    }
  }
  for (uint j = 0u; j < P; ++j)
    if (p0 + j < pc.n)
      for (uint i = 0u; i < D; ++i) o[(p0 + j) * D + i] = float(acc[j * D + i] / total[j]);
}
