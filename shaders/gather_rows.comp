#version 450
// y[i, :] = x[index[i], :] for the n rows of y (indices checked on the host). x is bound from
// row src0 on and holds src_n rows; rows whose index lies outside are left for another pass
// (sources larger than one binding are gathered in several passes).
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer I { uint index[]; };
layout(push_constant) uniform PC { uint n, d, src0, src_n; } pc;

void main() {
  const uint gid = global_id();
  if (gid >= pc.n * pc.d) return;
  const uint row = gid / pc.d, col = gid - row * pc.d;
  const uint src = index[row] - pc.src0; // wraps to a huge value below src0
  if (src < pc.src_n) y[gid] = x[src * pc.d + col];
}
