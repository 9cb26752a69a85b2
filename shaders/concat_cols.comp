#version 450
// y = [a | b] row by row: y[i, j] = a[i, j] for j < ca, b[i, j − ca] otherwise.
#include "common.glsl"
#ifdef TEXEL
// float texels, or float4 ones when VEC4
layout(binding = 14) uniform samplerBuffer a_texel;
layout(binding = 15) uniform samplerBuffer b_texel;
float a_at(uint i) { return texelFetch(a_texel, int(i)).x; }
float b_at(uint i) { return texelFetch(b_texel, int(i)).x; }
vec4 a4_at(uint i) { return texelFetch(a_texel, int(i / 4u)); }
vec4 b4_at(uint i) { return texelFetch(b_texel, int(i / 4u)); }
#else
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
float a_at(uint i) { return a[i]; }
float b_at(uint i) { return b[i]; }
vec4 a4_at(uint i) { return vec4(a[i], a[i + 1u], a[i + 2u], a[i + 3u]); }
vec4 b4_at(uint i) { return vec4(b[i], b[i + 1u], b[i + 2u], b[i + 3u]); }
#endif
// the column counts: specialization constants, so the index division becomes a multiplication
// (a vector integer division is a scalar one per lane on a CPU)
layout(constant_id = 2) const uint CA = 1;
layout(constant_id = 3) const uint CB = 1;
layout(push_constant) uniform PC { uint total; } pc; // total = n·(CA + CB)
#define TOTAL pc.total

// CA % 4 = 0 and CB % 4 = 0: four outputs from one input, one float4 read
layout(constant_id = 4) const bool VEC4 = false;

float value(uint g) {
  const uint row = g / (CA + CB), col = g - row * (CA + CB);
  return col < CA ? a_at(row * CA + col) : b_at(row * CB + col - CA);
}
#define HAS_VALUE4
vec4 value4(uint g) {
  if (!VEC4) return vec4(value(g), value(g + 1u), value(g + 2u), value(g + 3u));
  const uint row = g / (CA + CB), col = g - row * (CA + CB);
  return col < CA ? a4_at(row * CA + col) : b4_at(row * CB + col - CA);
}
#include "quad_store.glsl"
