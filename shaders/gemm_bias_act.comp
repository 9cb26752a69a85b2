#version 450
// y[n, out] = act(x[n, in]·Wᵀ + b) with W [out, in] (nn.Linear layout), b [1, out];
// ACT (specialization constant) 0 none, 1 SiLU, 2 GELU (erf form, PyTorch's default), 3 ReLU. Each invocation computes
// a tile of up to TR rows × TC outputs (spec constants) with the inner loop over `in` in
// float: TR + TC loads per TR·TC multiply-adds.
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
layout(std430, binding = 3) readonly buffer B { float bias[]; };
layout(constant_id = 1) const uint ACT = 0;
layout(constant_id = 2) const uint TR = 4; // rows per invocation
layout(constant_id = 3) const uint TC = 4; // outputs per invocation
layout(push_constant) uniform PC { uint n, in_dim, out_dim; } pc;

// Abramowitz & Stegun 7.1.26, |error| ≤ 1.5e-7.
float erf_approx(float v) {
  const float a = abs(v);
  const float t = 1.0 / (1.0 + 0.3275911 * a);
  const float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const float e = 1.0 - poly * exp(-a * a);
  return v < 0.0 ? -e : e;
}

float activate(float v) {
  if (ACT == 1u) return v / (1.0 + exp(-v));
  if (ACT == 2u) return 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752));
  if (ACT == 3u) return max(v, 0.0);
  return v;
}

void main() {
  const uint tiles_out = (pc.out_dim + TC - 1u) / TC;
  const uint gid = global_id();
  if (gid >= ((pc.n + TR - 1u) / TR) * tiles_out) return;
  const uint tr = gid / tiles_out, to = gid - tr * tiles_out;
  const uint r0 = TR * tr, o0 = TC * to;
  // rows/outputs past the edge repeat the last valid one (computed, never stored)
  uint rows[TR], outs[TC];
  for (uint i = 0u; i < TR; ++i) rows[i] = min(r0 + i, pc.n - 1u) * pc.in_dim;
  for (uint i = 0u; i < TC; ++i) outs[i] = min(o0 + i, pc.out_dim - 1u) * pc.in_dim;
  float acc[TR * TC];
  for (uint i = 0u; i < TR * TC; ++i) acc[i] = 0.0;
  for (uint k = 0u; k < pc.in_dim; ++k) {
    float xv[TR], wv[TC];
    for (uint i = 0u; i < TR; ++i) xv[i] = x[rows[i] + k];
    for (uint j = 0u; j < TC; ++j) wv[j] = w[outs[j] + k];
    for (uint i = 0u; i < TR; ++i)
      for (uint j = 0u; j < TC; ++j) acc[i * TC + j] += xv[i] * wv[j];
  }
  for (uint i = 0u; i < TR; ++i) {
    const uint r = r0 + i;
    if (r >= pc.n) break;
    for (uint j = 0u; j < TC; ++j) {
      const uint o = o0 + j;
      if (o >= pc.out_dim) break;
      y[r * pc.out_dim + o] = activate(acc[i * TC + j] + bias[o]);
    }
  }
}
