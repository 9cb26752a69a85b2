#version 450
// GroupNorm of n NCHW images, one workgroup per (image, group): the group's cg channels of hw
// pixels are one contiguous block of L = cg·hw values; μ, then the biased variance as the mean
// of (x − μ)² (two passes), each a strided per-invocation sum reduced in a fixed order;
// y = act(γ_c·((x − μ)/√(var + eps)) + β_c) (activation.glsl).
// ROWS (CPU-type devices, whose barriers and shared memory are slow): one invocation per
// (image, group), summing channel plane by channel plane in order, with x, γ and β read as
// texels (bindings 14–16: one vector gather each), x as float4 ones when VEC4_OUT.
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 0) writeonly buffer Y4 { vec4 y4[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 2) readonly buffer G { float gamma[]; };
layout(std430, binding = 3) readonly buffer Bt { float beta[]; };
layout(constant_id = 1) const uint ACT = 0;
// float4 loads and stores (lavapipe visits each lane once per load, whatever its width):
// VEC4 when the group's length cg·hw is a multiple of 4, VEC4_OUT when each channel's hw is
layout(constant_id = 2) const bool VEC4 = false;
layout(constant_id = 3) const bool VEC4_OUT = false;
layout(push_constant) uniform PC { uint n, groups, cg, hw; float eps; } pc;
#include "activation.glsl"

vec4 activate4(vec4 v) { return vec4(activate(v.x), activate(v.y), activate(v.z), activate(v.w)); }

#ifdef ROWS
layout(binding = 14) uniform samplerBuffer x_texel;
layout(binding = 15) uniform samplerBuffer gamma_texel;
layout(binding = 16) uniform samplerBuffer beta_texel;

// Σ x and Σ (x − μ)² over the plane of hw values at cb (float4 partial sums when VEC4_OUT)
float plane_sum(uint cb) {
  if (VEC4_OUT) {
    vec4 s4 = vec4(0.0);
    for (uint j = 0u; j < pc.hw / 4u; ++j) s4 += texelFetch(x_texel, int(cb / 4u + j));
    return (s4.x + s4.y) + (s4.z + s4.w);
  }
  float s = 0.0;
  for (uint j = 0u; j < pc.hw; ++j) s += texelFetch(x_texel, int(cb + j)).x;
  return s;
}
float plane_squares(uint cb, float mean) {
  if (VEC4_OUT) {
    vec4 q4 = vec4(0.0);
    for (uint j = 0u; j < pc.hw / 4u; ++j) {
      const vec4 e = texelFetch(x_texel, int(cb / 4u + j)) - mean;
      q4 = fma(e, e, q4);
    }
    return (q4.x + q4.y) + (q4.z + q4.w);
  }
  float q = 0.0;
  for (uint j = 0u; j < pc.hw; ++j) {
    const float e = texelFetch(x_texel, int(cb + j)).x - mean;
    q = fma(e, e, q);
  }
  return q;
}

void main() {
  const uint item = global_id();
  if (item >= pc.n * pc.groups) return;
  const uint len = pc.cg * pc.hw, base = item * len;
  const uint c0 = (item % pc.groups) * pc.cg; // first channel of the group
  float s = 0.0;
  for (uint c = 0u; c < pc.cg; ++c) s += plane_sum(base + c * pc.hw);
  const float mean = s / float(len);
  float q = 0.0;
  for (uint c = 0u; c < pc.cg; ++c) q += plane_squares(base + c * pc.hw, mean);
  const float inv = 1.0 / sqrt(q / float(len) + pc.eps);
  for (uint c = 0u; c < pc.cg; ++c) {
    const float g = texelFetch(gamma_texel, int(c0 + c)).x, b = texelFetch(beta_texel, int(c0 + c)).x;
    const uint cb = base + c * pc.hw;
    if (VEC4_OUT) {
      for (uint j = 0u; j < pc.hw / 4u; ++j)
        y4[cb / 4u + j] = activate4(g * ((texelFetch(x_texel, int(cb / 4u + j)) - mean) * inv) + b);
    } else {
      for (uint j = 0u; j < pc.hw; ++j)
        y[cb + j] = activate(g * ((texelFetch(x_texel, int(cb + j)).x - mean) * inv) + b);
    }
  }
}
#else
#include "wg_sum.glsl"

void main() {
  const uint item = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (item >= pc.n * pc.groups) return; // whole workgroups: no barrier is skipped
  const uint lid = gl_LocalInvocationIndex, len = pc.cg * pc.hw, base = item * len;
  const uint c0 = (item % pc.groups) * pc.cg; // first channel of the group
  const uint WG = gl_WorkGroupSize.x;
  float s = 0.0;
  if (VEC4) {
    vec4 s4 = vec4(0.0);
    for (uint j = lid; j < len / 4u; j += WG) s4 += x4[base / 4u + j];
    s = (s4.x + s4.y) + (s4.z + s4.w);
  } else {
    for (uint j = lid; j < len; j += WG) s += x[base + j];
  }
  const float mean = wg_sum(s) / float(len);
  float q = 0.0;
  if (VEC4) {
    vec4 q4 = vec4(0.0);
    for (uint j = lid; j < len / 4u; j += WG) {
      const vec4 e = x4[base / 4u + j] - mean;
      q4 = fma(e, e, q4);
    }
    q = (q4.x + q4.y) + (q4.z + q4.w);
  } else {
    for (uint j = lid; j < len; j += WG) {
      const float e = x[base + j] - mean;
      q = fma(e, e, q);
    }
  }
  const float inv = 1.0 / sqrt(wg_sum(q) / float(len) + pc.eps);
  for (uint c = 0u; c < pc.cg; ++c) {
    const float g = gamma[c0 + c], b = beta[c0 + c];
    const uint cb = base + c * pc.hw;
    if (VEC4_OUT) {
      for (uint j = lid; j < pc.hw / 4u; j += WG) {
        y4[cb / 4u + j] = activate4(g * ((x4[cb / 4u + j] - mean) * inv) + b);
      }
    } else {
      for (uint j = lid; j < pc.hw; j += WG)
        y[cb + j] = activate(g * ((x[cb + j] - mean) * inv) + b);
    }
  }
}
#endif
