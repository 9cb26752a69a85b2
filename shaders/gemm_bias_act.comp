#version 450
// y[n, out] = act(x[n, in]·Wᵀ + b) with W [out, in] (nn.Linear layout), b [1, out];
// ACT (specialization constant) 0 none, 1 SiLU, 2 GELU (erf form, PyTorch's default), 3 ReLU. Each invocation computes
// a tile of up to 4 rows × 4 outputs with the inner loop over `in` in float.
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
layout(std430, binding = 3) readonly buffer B { float bias[]; };
layout(constant_id = 1) const uint ACT = 0;
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
  const uint tiles_out = (pc.out_dim + 3u) / 4u;
  const uint gid = global_id();
  if (gid >= ((pc.n + 3u) / 4u) * tiles_out) return;
  const uint tr = gid / tiles_out, to = gid - tr * tiles_out;
  const uint r0 = 4u * tr, o0 = 4u * to;
  // rows/outputs past the edge repeat the last valid one (computed, never stored)
  uint rows[4], outs[4];
  for (uint i = 0u; i < 4u; ++i) {
    rows[i] = min(r0 + i, pc.n - 1u) * pc.in_dim;
    outs[i] = min(o0 + i, pc.out_dim - 1u) * pc.in_dim;
  }
  mat4 acc = mat4(0.0); // acc[o][r]
  for (uint k = 0u; k < pc.in_dim; ++k) {
    const vec4 xv = vec4(x[rows[0] + k], x[rows[1] + k], x[rows[2] + k], x[rows[3] + k]);
    acc[0] += xv * w[outs[0] + k];
    acc[1] += xv * w[outs[1] + k];
    acc[2] += xv * w[outs[2] + k];
    acc[3] += xv * w[outs[3] + k];
  }
  for (uint oi = 0u; oi < 4u; ++oi) {
    const uint o = o0 + oi;
    if (o >= pc.out_dim) break;
    for (uint ri = 0u; ri < 4u; ++ri) {
      const uint r = r0 + ri;
      if (r >= pc.n) break;
      y[r * pc.out_dim + o] = activate(acc[oi][ri] + bias[o]);
    }
  }
}
