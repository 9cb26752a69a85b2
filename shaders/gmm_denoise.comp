#version 450
// Posterior mean E[x0 | x_t = x] of a Gaussian mixture for x_t = αx0 + σε, the same algorithm
// and operation order as the CPU backend (cpu_backend.cpp). The host computes the per-call
// table in double: α, then one row of RS entries per active component, in order:
// c = log w − ½ Σ log λ̃, 1/λ̃ (D), μ (D), gain αλ/λ̃ (D), Q (D·D, FULL only), with
// λ̃ = α²λ + σ². F64 variant: double arithmetic like the CPU; otherwise float.
// Spec constants: D (dimension), FULL (Q_k ≠ I), P (particles per invocation: each table entry
// serves P particles), TAB_UBO_VECS (> 0: the table is a uniform buffer of that many vec4 /
// dvec2, otherwise a storage buffer; on CPU-type devices a uniform-buffer load is one gather,
// a storage-buffer load a loop over the SIMD lanes), RS (row stride), KU (> 0: n_active, known
// when the pipeline is made, so the component loops unroll and every table offset is a
// constant: lavapipe then loads each entry once as a scalar).
// LINCOMB variant: the denoiser fused with the lincomb that follows it in a solver step. It
// also writes y = Σ_{t<LM} a_t·x_t (binding 3) with term LD the posterior mean just computed
// and the others read as float texels (bindings 14–16), each element summed in lincomb.comp's
// order and rounding, so y has lincomb's bits; one dispatch instead of two.
// DIMS variant (CPU-type devices; isotropic, KU > 0, D too large for its loops to unroll): the
// dimension loop is outermost, reading x as float texels (binding 14; the LINCOMB terms move to
// 15–17), and the components are unrolled inside it, so no per-lane array is indexed by the
// loop counter (lavapipe turns every such access into a gather from the stack) and each logit
// is computed once. Same operation order per output, so the same bits.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "real.glsl"

layout(constant_id = 1) const uint D = 2;
layout(constant_id = 2) const bool FULL = false;
layout(constant_id = 3) const uint P = 1;
layout(constant_id = 4) const uint TAB_UBO_VECS = 0;
layout(constant_id = 5) const uint RS = 1; // 1 + 3D (+ D² when FULL) entries
layout(constant_id = 6) const uint KU = 0; // > 0: the number of components, loops unrolled
const uint E_INV = 1u, E_MU = 1u + D, E_GAIN = 1u + 2u * D, E_Q = 1u + 3u * D;

layout(std430, binding = 0) writeonly buffer O { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Tab { real tab_ssbo[]; };
#ifdef F64
layout(std140, binding = 13) uniform TabU { dvec2 tab_ubo[TAB_UBO_VECS > 0 ? TAB_UBO_VECS : 1]; };
real tab(uint i) { return TAB_UBO_VECS > 0 ? tab_ubo[i >> 1][i & 1u] : tab_ssbo[i]; }
#else
layout(std140, binding = 13) uniform TabU { vec4 tab_ubo[TAB_UBO_VECS > 0 ? TAB_UBO_VECS : 1]; };
real tab(uint i) { return TAB_UBO_VECS > 0 ? tab_ubo[i >> 2][i & 3u] : tab_ssbo[i]; }
#endif
layout(push_constant) uniform PC {
  uint n, n_active;
#ifdef LINCOMB
  float a[4]; // the lincomb coefficients
#endif
} pc;

#ifdef LINCOMB
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
#ifdef DIMS
const int LIN_BINDING = 15;
#else
const int LIN_BINDING = 14;
#endif
layout(binding = LIN_BINDING) uniform samplerBuffer lin0;
layout(binding = LIN_BINDING + 1) uniform samplerBuffer lin1;
layout(binding = LIN_BINDING + 2) uniform samplerBuffer lin2;
layout(constant_id = 7) const uint LM = 2;        // lincomb terms
layout(constant_id = 8) const uint LD = 0;        // the term that is this kernel's output
layout(constant_id = 9) const bool FUSED = true;  // lincomb_term.glsl
#define T float
#define TD double
#include "lincomb_term.glsl"

// term t's value at element g, where the posterior mean there is x0
float lin_x(uint t, uint g, float x0) {
  if (t == LD) return x0;
  const uint k = t < LD ? t : t - 1u;
  if (k == 0u) return texelFetch(lin0, int(g)).x;
  if (k == 1u) return texelFetch(lin1, int(g)).x;
  return texelFetch(lin2, int(g)).x;
}
#endif

// entry e of component a's row
real entry(uint a, uint e) { return tab(1u + a * RS + e); }

// output element g: the posterior mean x0 (and, fused, the lincomb's y)
void store_x0(uint g, float x0) {
  o[g] = x0;
#ifdef LINCOMB
  precise float s = pc.a[0] * lin_x(0u, g, x0);
  for (uint t = 1u; t < LM; ++t) s = term(s, pc.a[t], lin_x(t, g, x0));
  y[g] = s;
#endif
}

// Float4 stores (a storage-buffer access is a loop over the SIMD lanes, all components of a
// vector in one visit), with the fused lincomb's terms read as float4 texels (bound as such by
// the host): the DIMS kernel when D % 4 = 0 (four dimensions of a particle), the other kernel
// when BLOCK4 (spec constant 10: every invocation holds P whole particles and P·D % 4 = 0, so
// its P·D inputs and outputs are whole float4s from p0·D; it loads x as float4s too).
layout(constant_id = 10) const bool BLOCK4 = false;
#ifdef DIMS
const bool V4 = D % 4u == 0u;
#else
const bool V4 = BLOCK4;
#endif
layout(std430, binding = 0) writeonly buffer O4 { vec4 o4[]; };
layout(std430, binding = 1) readonly buffer X4 { vec4 x4[]; };
#ifdef LINCOMB
layout(std430, binding = 3) writeonly buffer Y4 { vec4 y4[]; };
#undef T
#undef TD
#define T vec4
#define TD dvec4
#include "lincomb_term.glsl"

// term t's float4 at elements 4·g4 .. 4·g4 + 3, where the posterior means there are x0
vec4 lin_x4(uint t, uint g4, vec4 x0) {
  if (t == LD) return x0;
  const uint k = t < LD ? t : t - 1u;
  if (k == 0u) return texelFetch(lin0, int(g4));
  if (k == 1u) return texelFetch(lin1, int(g4));
  return texelFetch(lin2, int(g4));
}
#endif

// output elements g .. g + 3 (g % 4 = 0), each as store_x0 computes it
void store_x0_4(uint g, vec4 x0) {
  o4[g / 4u] = x0;
#ifdef LINCOMB
  precise vec4 s = vec4(pc.a[0]) * lin_x4(0u, g / 4u, x0);
  for (uint t = 1u; t < LM; ++t) s = term(s, vec4(pc.a[t]), lin_x4(t, g / 4u, x0));
  y4[g / 4u] = s;
#endif
}

#ifdef DIMS
layout(binding = 14) uniform samplerBuffer x_texel;
real la[(KU > 0u ? KU : 1u) * P]; // ℓ_a, then e^(ℓ_a − m), of component a, particle j at a·P + j

void main() {
  const uint p0 = global_id() * P;
  if (p0 >= pc.n) return;
  uint row[P]; // past the end: recomputed, never stored
  for (uint j = 0u; j < P; ++j) row[j] = min(p0 + j, pc.n - 1u) * D;
  const real alpha = tab(0u);
  [[unroll]] for (uint a = 0u; a < KU; ++a)
    for (uint j = 0u; j < P; ++j) la[a * P + j] = entry(a, 0u);
  real xi[P];
  for (uint i = 0u; i < D; ++i) {
    for (uint j = 0u; j < P; ++j) xi[j] = real(texelFetch(x_texel, int(row[j] + i)).x);
    [[unroll]] for (uint a = 0u; a < KU; ++a) {
      const real inv = entry(a, E_INV + i);
      const real amu = alpha * entry(a, E_MU + i);
      for (uint j = 0u; j < P; ++j) {
        const real zi = xi[j] - amu;
        la[a * P + j] -= real(0.5) * zi * zi * inv;
      }
    }
  }
  real m[P], total[P];
  for (uint j = 0u; j < P; ++j) {
    m[j] = real_neg_inf();
    total[j] = real(0.0);
  }
  [[unroll]] for (uint a = 0u; a < KU; ++a)
    for (uint j = 0u; j < P; ++j) m[j] = max(la[a * P + j], m[j]);
  [[unroll]] for (uint a = 0u; a < KU; ++a)
    for (uint j = 0u; j < P; ++j) {
      la[a * P + j] = real_exp(la[a * P + j] - m[j]);
      total[j] += la[a * P + j];
    }
  const uint W = V4 ? 4u : 1u; // dimensions stored together
  for (uint i0 = 0u; i0 < D; i0 += W) {
    real acc[P * 4u]; // dimension i0 + q of particle j at 4j + q
    [[unroll]] for (uint q = 0u; q < W; ++q) {
      const uint i = i0 + q;
      for (uint j = 0u; j < P; ++j) {
        xi[j] = real(texelFetch(x_texel, int(row[j] + i)).x);
        acc[j * 4u + q] = real(0.0);
      }
      [[unroll]] for (uint a = 0u; a < KU; ++a) {
        const real mu = entry(a, E_MU + i), gain = entry(a, E_GAIN + i);
        const real amu = alpha * mu;
        for (uint j = 0u; j < P; ++j)
          acc[j * 4u + q] += la[a * P + j] * (mu + (xi[j] - amu) * gain);
      }
    }
    for (uint j = 0u; j < P; ++j) {
      if (p0 + j >= pc.n) continue;
      if (V4)
        store_x0_4((p0 + j) * D + i0,
                   vec4(float(acc[j * 4u] / total[j]), float(acc[j * 4u + 1u] / total[j]),
                        float(acc[j * 4u + 2u] / total[j]), float(acc[j * 4u + 3u] / total[j])));
      else
        store_x0((p0 + j) * D + i0, float(acc[j * 4u] / total[j]));
    }
  }
}
#else
real xv[P * D], z[P * D], acc[P * D], m[P], total[P], l[P];

// ℓ_a of the P particles (and, for FULL, z = Q_aᵀ(x − αμ_a) ⊙ gain in z)
void logits(uint a, real alpha) {
  for (uint j = 0u; j < P; ++j) l[j] = entry(a, 0u);
  for (uint i = 0u; i < D; ++i) {
    const real inv = entry(a, E_INV + i);
    const real amu = alpha * entry(a, E_MU + i);
    for (uint j = 0u; j < P; ++j) {
      real zi = real(0.0);
      if (FULL) {
        for (uint jj = 0u; jj < D; ++jj)
          zi += entry(a, E_Q + jj * D + i) * (xv[j * D + jj] - alpha * entry(a, E_MU + jj));
        z[j * D + i] = zi * entry(a, E_GAIN + i);
      } else {
        zi = xv[j * D + i] - amu;
      }
      l[j] -= real(0.5) * zi * zi * inv;
    }
  }
}

void main() {
  const uint p0 = global_id() * P;
  if (p0 >= pc.n) return;
  if (V4)
    [[unroll]] for (uint e4 = 0u; e4 < P * D / 4u; ++e4) {
      const vec4 v = x4[p0 * D / 4u + e4];
      [[unroll]] for (uint c = 0u; c < 4u; ++c) xv[4u * e4 + c] = real(v[c]);
    }
  for (uint j = 0u; j < P; ++j) {
    const uint p = min(p0 + j, pc.n - 1u); // past the end: recomputed, never stored
    for (uint i = 0u; i < D; ++i) {
      if (!V4) xv[j * D + i] = real(x[p * D + i]);
      acc[j * D + i] = real(0.0);
    }
    m[j] = real_neg_inf();
    total[j] = real(0.0);
  }
  const real alpha = tab(0u);
  if (FULL) {
    for (uint a = 0u; a < pc.n_active; ++a) {
      logits(a, alpha);
      for (uint j = 0u; j < P; ++j) {
        // online softmax (as the CPU's full-covariance kernel): rescale on a new maximum
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
        for (uint i = 0u; i < D; ++i) {
          real mk = entry(a, E_MU + i);
          for (uint jj = 0u; jj < D; ++jj) mk += entry(a, E_Q + i * D + jj) * z[j * D + jj];
          acc[j * D + i] += wk * mk;
        }
      }
    }
  } else {
    // two passes, as the CPU's isotropic kernel: the maximum logit m, then Σ e^(ℓ_a − m)·m_a
    // with m_a = μ_a + gain ⊙ (x − αμ_a); one exp per component and no branch
    [[unroll]] for (uint a = 0u; a < (KU > 0u ? KU : pc.n_active); ++a) {
      logits(a, alpha);
      for (uint j = 0u; j < P; ++j) m[j] = max(l[j], m[j]);
    }
    [[unroll]] for (uint a = 0u; a < (KU > 0u ? KU : pc.n_active); ++a) {
      logits(a, alpha);
      for (uint j = 0u; j < P; ++j) {
        l[j] = real_exp(l[j] - m[j]);
        total[j] += l[j];
      }
      for (uint i = 0u; i < D; ++i) {
        const real mu = entry(a, E_MU + i), gain = entry(a, E_GAIN + i);
        const real amu = alpha * mu;
        for (uint j = 0u; j < P; ++j) acc[j * D + i] += l[j] * (mu + (xv[j * D + i] - amu) * gain);
      }
    }
  }
  if (V4) {
    [[unroll]] for (uint e4 = 0u; e4 < P * D / 4u; ++e4) {
      vec4 v;
      [[unroll]] for (uint c = 0u; c < 4u; ++c) {
        const uint e = 4u * e4 + c;
        v[c] = float(acc[e] / total[e / D]);
      }
      store_x0_4(p0 * D + 4u * e4, v);
    }
    return;
  }
  for (uint j = 0u; j < P; ++j)
    if (p0 + j < pc.n)
      for (uint i = 0u; i < D; ++i) store_x0((p0 + j) * D + i, float(acc[j * D + i] / total[j]));
}
#endif
