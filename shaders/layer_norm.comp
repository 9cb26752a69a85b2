#version 450
// LayerNorm over the d columns of each row, one workgroup per row: μ, then the biased variance
// as the mean of (x − μ)² (two passes, no E[x²] − μ² cancellation), each a strided per-invocation
// sum reduced in a fixed order; y = act(γ_j·((x_j − μ)/√(var + eps)) + β_j) (activation.glsl).
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer G { float gamma[]; };
layout(std430, binding = 3) readonly buffer Bt { float beta[]; };
layout(constant_id = 1) const uint ACT = 0;
layout(push_constant) uniform PC { uint n, d; float eps; } pc;
#include "activation.glsl"
#include "wg_sum.glsl"

void main() {
  const uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (row >= pc.n) return; // whole workgroups: no barrier is skipped by part of one
  const uint lid = gl_LocalInvocationIndex, base = row * pc.d;
  float s = 0.0;
  for (uint j = lid; j < pc.d; j += gl_WorkGroupSize.x) s += x[base + j];
  const float mean = wg_sum(s) / float(pc.d);
  float q = 0.0;
  for (uint j = lid; j < pc.d; j += gl_WorkGroupSize.x) {
    const float e = x[base + j] - mean;
    q = fma(e, e, q);
  }
  const float inv = 1.0 / sqrt(wg_sum(q) / float(pc.d) + pc.eps);
  for (uint j = lid; j < pc.d; j += gl_WorkGroupSize.x)
    y[base + j] = activate(gamma[j] * ((x[base + j] - mean) * inv) + beta[j]);
}
