#version 450
// y = Σ_{i<M} a_i s_i x_i elementwise over n elements (VEC4: n vec4s) with up to 8 terms;
// term i takes its per-row scale s from slot (SLOTS >> 4i) & 15 (15: none) of s0..s3. y may be
// bound to the same buffer as an x_i: each element is read before it is written. M, SLOTS and
// FUSED are specialization constants, so each pipeline contains only its own terms (llvmpipe
// runs every branch under an execution mask, so dead terms would cost as much as live ones).
// The terms accumulate in order as acc = a_i s_i x_i + acc, rounded once per term when
// FUSED (what the CPU backend's loop compiles to on FMA hardware) and twice otherwise
// (lincomb_term.glsl). TEXEL: the x_i are read as float / float4
// texels (uniform texel buffers at bindings 14–21; CPU-type devices, where that is one gather).
#include "common.glsl"
#ifdef VEC4
#define T vec4
#define TD dvec4
#else
#define T float
#define TD double
#endif

layout(std430, binding = 0) writeonly buffer Y { T y[]; };
#ifdef TEXEL
layout(binding = 14) uniform samplerBuffer x0t;
layout(binding = 15) uniform samplerBuffer x1t;
layout(binding = 16) uniform samplerBuffer x2t;
layout(binding = 17) uniform samplerBuffer x3t;
layout(binding = 18) uniform samplerBuffer x4t;
layout(binding = 19) uniform samplerBuffer x5t;
layout(binding = 20) uniform samplerBuffer x6t;
layout(binding = 21) uniform samplerBuffer x7t;
#ifdef VEC4
#define X(i, g) texelFetch(x##i##t, int(g))
#else
#define X(i, g) texelFetch(x##i##t, int(g)).x
#endif
#define S_BASE 1
#else
layout(std430, binding = 1) readonly buffer X0 { T x0[]; };
layout(std430, binding = 2) readonly buffer X1 { T x1[]; };
layout(std430, binding = 3) readonly buffer X2 { T x2[]; };
layout(std430, binding = 4) readonly buffer X3 { T x3[]; };
layout(std430, binding = 5) readonly buffer X4 { T x4[]; };
layout(std430, binding = 6) readonly buffer X5 { T x5[]; };
layout(std430, binding = 7) readonly buffer X6 { T x6[]; };
layout(std430, binding = 8) readonly buffer X7 { T x7[]; };
#define X(i, g) x##i[g]
#define S_BASE 9
#endif
layout(std430, binding = S_BASE) readonly buffer S0 { float s0[]; };
layout(std430, binding = S_BASE + 1) readonly buffer S1 { float s1[]; };
layout(std430, binding = S_BASE + 2) readonly buffer S2 { float s2[]; };
layout(std430, binding = S_BASE + 3) readonly buffer S3 { float s3[]; };
layout(constant_id = 1) const uint M = 1;
layout(constant_id = 2) const uint SLOTS = 0xFFFFFFFFu;
layout(constant_id = 3) const bool FUSED = true;
layout(push_constant) uniform PC {
  uint n, d;
  float a[8];
} pc;

float row_scale(uint slot, uint row) {
  if (slot == 0u) return s0[row];
  if (slot == 1u) return s1[row];
  if (slot == 2u) return s2[row];
  return s3[row];
}

// a_i·s_i for the element(s) at gid, as the CPU computes a·s before multiplying by x
T coef(uint i, uint gid) {
  const uint slot = (SLOTS >> (4u * i)) & 15u;
  if (slot == 15u) return T(pc.a[i]);
#ifdef VEC4
  const uint e = 4u * gid;
  precise vec4 c = vec4(pc.a[i] * row_scale(slot, e / pc.d), pc.a[i] * row_scale(slot, (e + 1u) / pc.d),
                        pc.a[i] * row_scale(slot, (e + 2u) / pc.d), pc.a[i] * row_scale(slot, (e + 3u) / pc.d));
  return c;
#else
  precise float c = pc.a[i] * row_scale(slot, gid / pc.d);
  return c;
#endif
}

#include "lincomb_term.glsl"

void main() {
  const uint gid = global_id();
  if (gid >= pc.n) return;
  precise T acc = coef(0u, gid) * X(0, gid);
  if (M > 1u) acc = term(acc, coef(1u, gid), X(1, gid));
  if (M > 2u) acc = term(acc, coef(2u, gid), X(2, gid));
  if (M > 3u) acc = term(acc, coef(3u, gid), X(3, gid));
  if (M > 4u) acc = term(acc, coef(4u, gid), X(4, gid));
  if (M > 5u) acc = term(acc, coef(5u, gid), X(5, gid));
  if (M > 6u) acc = term(acc, coef(6u, gid), X(6, gid));
  if (M > 7u) acc = term(acc, coef(7u, gid), X(7, gid));
  y[gid] = acc;
}
