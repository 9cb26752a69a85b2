#version 450
// Nearest-neighbour 2× upsampling of n NCHW images: y[i, c, Y, X] = x[i, c, Y/2, X/2].
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform PC { uint total, h, w; } pc; // total = n·C·2H·2W

void main() {
  const uint gid = global_id();
  if (gid >= pc.total) return;
  const uint w2 = 2u * pc.w, row = gid / w2, X = gid - row * w2; // row = (i·C + c)·2H + Y
  const uint plane = row / (2u * pc.h), Y = row - plane * (2u * pc.h);
  y[gid] = x[(plane * pc.h + Y / 2u) * pc.w + X / 2u];
}
