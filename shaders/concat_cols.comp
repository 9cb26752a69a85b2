#version 450
// y = [a | b] row by row: y[i, j] = a[i, j] for j < ca, b[i, j − ca] otherwise.
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
layout(push_constant) uniform PC { uint n, ca, cb; } pc;

void main() {
  const uint gid = global_id();
  const uint d = pc.ca + pc.cb;
  if (gid >= pc.n * d) return;
  const uint row = gid / d, col = gid - row * d;
  y[gid] = col < pc.ca ? a[row * pc.ca + col] : b[row * pc.cb + col - pc.ca];
}
