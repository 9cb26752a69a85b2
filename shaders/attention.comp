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

// k and v of position j as D4 float4s over the channels, zero past D: lavapipe reads shared
// memory lane by lane but a whole vector per visit, so the inner loops load float4s
const uint D4 = (D + 3u) / 4u;
shared vec4 ks[P * D4], vs[P * D4];

void main() {
  const uint item = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (item >= pc.n * pc.heads) return; // whole workgroups: no barrier is skipped
  const uint row = item / pc.heads, h = item - row * pc.heads;
  const uint cp = pc.heads * D * P; // C·P
  const uint q0 = row * 3u * cp + h * D * P, k0 = q0 + cp, v0 = q0 + 2u * cp;
  const uint lid = gl_LocalInvocationIndex;
  for (uint e = lid; e < P * D4; e += gl_WorkGroupSize.x) {
    const uint j = e / D4, c = 4u * (e - j * D4);
    vec4 kv = vec4(0.0), vv = vec4(0.0);
    for (uint t = 0u; t < 4u; ++t)
      if (c + t < D) {
        kv[t] = qkv[k0 + (c + t) * P + j];
        vv[t] = qkv[v0 + (c + t) * P + j];
      }
    ks[e] = kv;
    vs[e] = vv;
  }
  barrier();
  const uint o0 = row * cp + h * D * P;
  for (uint i = lid; i < P; i += gl_WorkGroupSize.x) {
    vec4 q[D4];
    for (uint c4 = 0u; c4 < D4; ++c4)
      for (uint t = 0u; t < 4u; ++t) q[c4][t] = 4u * c4 + t < D ? qkv[q0 + (4u * c4 + t) * P + i] : 0.0;
    // the logits twice (their maximum, then the weights) instead of a per-invocation array of
    // P of them, which lavapipe would index lane by lane; the same values both times. Channels
    // past D add 0·0 exactly.
    float m = uintBitsToFloat(0xff800000u); // −∞
    for (uint j = 0u; j < P; ++j) {
      float dot = 0.0;
      for (uint c4 = 0u; c4 < D4; ++c4) {
        const vec4 k = ks[j * D4 + c4];
        for (uint t = 0u; t < 4u; ++t) dot = fma(q[c4][t], k[t], dot);
      }
      m = max(m, dot / pc.sqrt_d);
    }
    float sum = 0.0;
    vec4 o[D4];
    for (uint c4 = 0u; c4 < D4; ++c4) o[c4] = vec4(0.0);
    for (uint j = 0u; j < P; ++j) {
      float dot = 0.0;
      for (uint c4 = 0u; c4 < D4; ++c4) {
        const vec4 k = ks[j * D4 + c4];
        for (uint t = 0u; t < 4u; ++t) dot = fma(q[c4][t], k[t], dot);
      }
      const float e = exp(dot / pc.sqrt_d - m);
      sum += e;
      for (uint c4 = 0u; c4 < D4; ++c4) o[c4] = fma(vec4(e), vs[j * D4 + c4], o[c4]);
    }
    for (uint c4 = 0u; c4 < D4; ++c4)
      for (uint t = 0u; t < 4u; ++t)
        if (4u * c4 + t < D) y[o0 + (4u * c4 + t) * P + i] = o[c4][t] / sum;
  }
}
