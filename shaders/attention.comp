#version 450
// Multi-head self-attention, one workgroup per (row, head). A row of qkv is q, k, v, each
// [heads, D, P]; the head's k and v are staged in shared memory, then each invocation takes
// query positions i and computes s_j = (Σ_c q[c, i]·k[c, j]) / √D, the softmax weights
// e_j = exp(s_j − max_j s_j) (no overflow for any logits) and y[h, c, i] = Σ_j e_j·v[c, j] / Σ_j e_j.
// P (positions) and D (head dimension) are specialization constants.
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer QKV { float qkv[]; };
layout(constant_id = 1) const uint P = 49;
layout(constant_id = 2) const uint D = 32;
layout(push_constant) uniform PC { uint n, heads; float sqrt_d; } pc;

shared float ks[D * P], vs[D * P];

void main() {
  const uint item = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (item >= pc.n * pc.heads) return; // whole workgroups: no barrier is skipped
  const uint row = item / pc.heads, h = item - row * pc.heads;
  const uint cp = pc.heads * D * P; // C·P
  const uint q0 = row * 3u * cp + h * D * P, k0 = q0 + cp, v0 = q0 + 2u * cp;
  const uint lid = gl_LocalInvocationIndex;
  for (uint e = lid; e < D * P; e += gl_WorkGroupSize.x) {
    ks[e] = qkv[k0 + e];
    vs[e] = qkv[v0 + e];
  }
  barrier();
  const uint o0 = row * cp + h * D * P;
  for (uint i = lid; i < P; i += gl_WorkGroupSize.x) {
    float q[D];
    for (uint c = 0u; c < D; ++c) q[c] = qkv[q0 + c * P + i];
    // the logits twice (their maximum, then the weights) instead of a per-invocation array of
    // P of them, which lavapipe would index lane by lane; the same values both times
    float m = uintBitsToFloat(0xff800000u); // −∞
    for (uint j = 0u; j < P; ++j) {
      float dot = 0.0;
      for (uint c = 0u; c < D; ++c) dot = fma(q[c], ks[c * P + j], dot);
      m = max(m, dot / pc.sqrt_d);
    }
    float sum = 0.0, o[D];
    for (uint c = 0u; c < D; ++c) o[c] = 0.0;
    for (uint j = 0u; j < P; ++j) {
      float dot = 0.0;
      for (uint c = 0u; c < D; ++c) dot = fma(q[c], ks[c * P + j], dot);
      const float e = exp(dot / pc.sqrt_d - m);
      sum += e;
      for (uint c = 0u; c < D; ++c) o[c] = fma(e, vs[c * P + j], o[c]);
    }
    for (uint c = 0u; c < D; ++c) y[o0 + c * P + i] = o[c] / sum;
  }
}
