#version 450
// 2×2 max pooling, stride 2, floor, of n NCHW images: y[i, c, Y, X] = max of
// x[i, c, 2Y + a, 2X + b] over a, b ∈ {0, 1} (an odd last row or column is dropped).
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform PC { uint total, h, w; } pc; // total = n·C·(H/2)·(W/2)

void main() {
  const uint gid = global_id();
  if (gid >= pc.total) return;
  const uint ho = pc.h / 2u, wo = pc.w / 2u;
  const uint row = gid / wo, X = gid - row * wo, plane = row / ho, Y = row - plane * ho;
  const uint b = (plane * pc.h + 2u * Y) * pc.w + 2u * X;
  y[gid] = max(max(x[b], x[b + 1u]), max(x[b + pc.w], x[b + pc.w + 1u]));
}
