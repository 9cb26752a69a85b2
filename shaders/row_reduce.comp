#version 450
// out[i] = OP over the d columns of row i: 0 sum, 1 sum of squares, 2 max, in column order
// (Eigen's order for rows shorter than a SIMD packet). Sums of squares accumulate as
// acc = x·x + acc, fused like the CPU when FUSED (exactly, in double, in the F64 variant).
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer O { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(constant_id = 1) const uint OP = 0;
layout(constant_id = 2) const bool FUSED = true;
layout(push_constant) uniform PC { uint n, d; } pc;

void main() {
  const uint row = global_id();
  if (row >= pc.n) return;
  const uint b = row * pc.d;
  precise float acc = x[b];
  if (OP == 1u) acc = acc * acc;
  for (uint j = 1u; j < pc.d; ++j) {
    const float v = x[b + j];
    if (OP == 0u) {
      acc = acc + v;
    } else if (OP == 1u) {
      if (FUSED) {
#ifdef F64
        precise double e = double(v) * double(v) + double(acc);
        acc = float(e);
#else
        acc = fma(v, v, acc);
#endif
      } else {
        precise float p = v * v;
        acc = acc + p;
      }
    } else {
      acc = max(acc, v);
    }
  }
  o[row] = acc;
}
