#version 450
// Nearest-neighbour 2× upsampling of n NCHW images: y[i, c, Y, X] = x[i, c, Y/2, X/2].
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
layout(push_constant) uniform PC { uint total; } pc; // total = n·C·2H·2W
#define TOTAL pc.total

float value(uint g) {
  const uint w2 = 2u * W, row = g / w2, X = g - row * w2; // row = (i·C + c)·2H + Y
  const uint plane = row / (2u * H), Y = row - plane * (2u * H);
  return x_at((plane * H + Y / 2u) * W + X / 2u);
}
#include "quad_store.glsl"
