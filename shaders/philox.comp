#version 450
// Philox noise for rows [0, n) of a [n, d] block: MODE 0 standard normals (Box–Muller),
// 1 uniforms in (0, 1), 2 the raw uint32 words (bit patterns, for tests). One invocation per
// (row, 4-dimension block) = one Philox call. F64 variant: Box–Muller in double exactly as the
// CPU computes it, so the floats match bit for bit; otherwise float builtins (~1e-6).
#include "common.glsl"
#include "philox.glsl"
#ifdef F64
#include "math64.glsl"
#endif

// MODE is a specialization constant: llvmpipe would otherwise run all three under masks.
// So are the shape hints: DW = d when d < 4 (each row is one block, of which only the first d
// words are turned into values and stored), 0 otherwise; VEC4 when d % 4 = 0 (each block is
// one float4 store). A storage-buffer store is a loop over the SIMD lanes on llvmpipe, all
// components of a vector in one visit.
layout(constant_id = 1) const uint MODE = 0;
layout(constant_id = 2) const uint DW = 0;
layout(constant_id = 3) const bool VEC4 = false;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 0) writeonly buffer Y2 { vec2 y2[]; };
layout(std430, binding = 0) writeonly buffer Y4 { vec4 y4[]; };
layout(push_constant) uniform PC {
  uint n, d, seed_lo, seed_hi, stream, step, first_particle;
} pc;

void box_muller(uint a, uint b, out float n0, out float n1) {
#ifdef F64
  const double u1 = (double(a) + 0.5LF) * (1.0LF / 4294967296.0LF);
  const double u2 = (double(b) + 0.5LF) * (1.0LF / 4294967296.0LF);
  const double r = sqrt(-2.0LF * dlog(u1));
  const double phi = 6.283185307179586LF * u2; // (2π)·u2 as the CPU's 2.0 * pi * u2
  double s, c;
  dsincos(phi, s, c);
  n0 = float(r * c);
  n1 = float(r * s);
#else
  // log u1 for u1 = (a + ½)·2⁻³²: when u1 ≥ ½ float cannot resolve 1 − u1, so use
  // v = 1 − u1 = (~a + ½)·2⁻³² (exact to float rounding) and log(1 − v) = −2 atanh(v/(2 − v))
  // by its series (s ≤ 1/3, 8 terms: below float rounding), adds and multiplies only.
  float lg;
  if (a >= 0x80000000u) {
    const float v = uint_to_unit(~a);
    const float s = v / (2.0 - v), s2 = s * s;
    const float p = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 +
                    s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0 + s2 * (1.0 / 15.0)))))));
    lg = -2.0 * s * p;
  } else {
    lg = log(uint_to_unit(a));
  }
  const float r = sqrt(-2.0 * lg);
  // cos/sin(2π·u2) = −cos/−sin(2π·v) with v = u2 − ½ = (b − 2³¹ + ½)·2⁻³² ∈ [−½, ½): the
  // builtins then see |φ| ≤ π
  const float v2 = ldexp(float(int(b ^ 0x80000000u)) + 0.5, -32);
  const float phi = 6.2831853 * v2;
  n0 = -r * cos(phi);
  n1 = -r * sin(phi);
#endif
}

void main() {
  const uint nb = (pc.d + 3u) / 4u;
  const uint gid = global_id();
  if (gid >= pc.n * nb) return;
  const uint row = gid / nb, blk = gid - row * nb;
  const uvec4 r = philox4x32_10(uvec4(blk, pc.first_particle + row, pc.step, pc.stream),
                                uvec2(pc.seed_lo, pc.seed_hi));
  float v[4] = float[4](0.0, 0.0, 0.0, 0.0);
  if (MODE == 0u) {
    box_muller(r.x, r.y, v[0], v[1]);
    if (DW == 0u || DW > 2u) box_muller(r.z, r.w, v[2], v[3]);
  } else if (MODE == 1u) {
    v[0] = uint_to_unit(r.x); v[1] = uint_to_unit(r.y);
    v[2] = uint_to_unit(r.z); v[3] = uint_to_unit(r.w);
  } else {
    v[0] = uintBitsToFloat(r.x); v[1] = uintBitsToFloat(r.y);
    v[2] = uintBitsToFloat(r.z); v[3] = uintBitsToFloat(r.w);
  }
  if (VEC4) {
    y4[gid] = vec4(v[0], v[1], v[2], v[3]); // row·d + 4·blk = 4·gid
  } else if (DW == 2u) {
    y2[row] = vec2(v[0], v[1]);
  } else if (DW == 1u) {
    y[row] = v[0];
  } else {
    const uint col = 4u * blk, base = row * pc.d + col;
    for (uint j = 0u; j < 4u; ++j)
      if (col + j < pc.d) y[base + j] = v[j];
  }
}
