#version 450
// 2×2 max pooling, stride 2, floor, of n NCHW images: y[i, c, Y, X] = max of
// x[i, c, 2Y + a, 2X + b] over a, b ∈ {0, 1} (an odd last row or column is dropped).
#include "common.glsl"
#ifdef TEXEL
layout(binding = 14) uniform samplerBuffer x_texel;
float x_at(uint i) { return texelFetch(x_texel, int(i)).x; }
#else
layout(std430, binding = 1) readonly buffer X { float x[]; };
float x_at(uint i) { return x[i]; }
#endif
// the image's height and width: specialization constants, so the index divisions become
// multiplications (a vector integer division is a scalar one per lane on a CPU)
layout(constant_id = 2) const uint H = 1;
layout(constant_id = 3) const uint W = 1;
layout(push_constant) uniform PC { uint total; } pc; // total = n·C·(H/2)·(W/2)
#define TOTAL pc.total

float value(uint g) {
  const uint ho = H / 2u, wo = W / 2u;
  const uint row = g / wo, X = g - row * wo, plane = row / ho, Y = row - plane * ho;
  const uint b = (plane * H + 2u * Y) * W + 2u * X;
  return max(max(x_at(b), x_at(b + 1u)), max(x_at(b + W), x_at(b + W + 1u)));
}
#include "quad_store.glsl"
