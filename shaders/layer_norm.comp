#version 450
// LayerNorm over the d columns of each row, one workgroup per row: μ, then the biased variance
// as the mean of (x − μ)² (two passes, no E[x²] − μ² cancellation), each a strided per-invocation
// sum reduced in a fixed order; y = act(γ_j·((x_j − μ)/√(var + eps)) + β_j) (activation.glsl).
// ROWS (CPU-type devices, whose barriers and shared memory are slow): one invocation per row,
// summing in column order, with x, γ and β read as texels (bindings 14–16: one vector gather
// each), float4 ones when VEC4.
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 0) writeonly buffer Y4 { vec4 y4[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 2) readonly buffer G { float gamma[]; };
layout(std430, binding = 2) readonly buffer G4 { vec4 gamma4[]; };
layout(std430, binding = 3) readonly buffer Bt { float beta[]; };
layout(std430, binding = 3) readonly buffer Bt4 { vec4 beta4[]; };
layout(constant_id = 1) const uint ACT = 0;
// d % 4 = 0: float4 loads and stores (lavapipe visits each lane once per load, whatever its width)
layout(constant_id = 2) const bool VEC4 = false;
layout(push_constant) uniform PC { uint n, d; float eps; } pc;
#include "activation.glsl"

#ifdef ROWS
layout(binding = 14) uniform samplerBuffer x_texel;
layout(binding = 15) uniform samplerBuffer gamma_texel;
layout(binding = 16) uniform samplerBuffer beta_texel;

void main() {
  const uint row = global_id();
  if (row >= pc.n) return;
  const uint base = row * pc.d;
  float mean, inv;
  if (VEC4) {
    const uint b4 = base / 4u, d4 = pc.d / 4u;
    vec4 s4 = vec4(0.0);
    for (uint j = 0u; j < d4; ++j) s4 += texelFetch(x_texel, int(b4 + j));
    mean = ((s4.x + s4.y) + (s4.z + s4.w)) / float(pc.d);
    vec4 q4 = vec4(0.0);
    for (uint j = 0u; j < d4; ++j) {
      const vec4 e = texelFetch(x_texel, int(b4 + j)) - mean;
      q4 = fma(e, e, q4);
    }
    inv = 1.0 / sqrt(((q4.x + q4.y) + (q4.z + q4.w)) / float(pc.d) + pc.eps);
    for (uint j = 0u; j < d4; ++j) {
      const vec4 v = texelFetch(gamma_texel, int(j)) * ((texelFetch(x_texel, int(b4 + j)) - mean) * inv) +
                     texelFetch(beta_texel, int(j));
      y4[b4 + j] = vec4(activate(v.x), activate(v.y), activate(v.z), activate(v.w));
    }
  } else {
    float s = 0.0;
    for (uint j = 0u; j < pc.d; ++j) s += texelFetch(x_texel, int(base + j)).x;
    mean = s / float(pc.d);
    float q = 0.0;
    for (uint j = 0u; j < pc.d; ++j) {
      const float e = texelFetch(x_texel, int(base + j)).x - mean;
      q = fma(e, e, q);
    }
    inv = 1.0 / sqrt(q / float(pc.d) + pc.eps);
    for (uint j = 0u; j < pc.d; ++j)
      y[base + j] = activate(texelFetch(gamma_texel, int(j)).x * ((texelFetch(x_texel, int(base + j)).x - mean) * inv) +
                             texelFetch(beta_texel, int(j)).x);
  }
}
#else
#include "wg_sum.glsl"

void main() {
  const uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (row >= pc.n) return; // whole workgroups: no barrier is skipped by part of one
  const uint lid = gl_LocalInvocationIndex, base = row * pc.d;
  const uint WG = gl_WorkGroupSize.x;
  float s = 0.0;
  if (VEC4) {
    vec4 s4 = vec4(0.0);
    for (uint j = lid; j < pc.d / 4u; j += WG) s4 += x4[base / 4u + j];
    s = (s4.x + s4.y) + (s4.z + s4.w);
  } else {
    for (uint j = lid; j < pc.d; j += WG) s += x[base + j];
  }
  const float mean = wg_sum(s) / float(pc.d);
  float q = 0.0;
  if (VEC4) {
    vec4 q4 = vec4(0.0);
    for (uint j = lid; j < pc.d / 4u; j += WG) {
      const vec4 e = x4[base / 4u + j] - mean;
      q4 = fma(e, e, q4);
    }
    q = (q4.x + q4.y) + (q4.z + q4.w);
  } else {
    for (uint j = lid; j < pc.d; j += WG) {
      const float e = x[base + j] - mean;
      q = fma(e, e, q);
    }
  }
  const float inv = 1.0 / sqrt(wg_sum(q) / float(pc.d) + pc.eps);
  if (VEC4) {
    for (uint j = lid; j < pc.d / 4u; j += WG) {
      const vec4 v = gamma4[j] * ((x4[base / 4u + j] - mean) * inv) + beta4[j];
      y4[base / 4u + j] = vec4(activate(v.x), activate(v.y), activate(v.z), activate(v.w));
    }
  } else {
    for (uint j = lid; j < pc.d; j += WG)
      y[base + j] = activate(gamma[j] * ((x[base + j] - mean) * inv) + beta[j]);
  }
}
#endif
