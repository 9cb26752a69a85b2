#version 450
// 2-D cross-correlation with zero padding (PyTorch Conv2d) of n NCHW images as an implicit
// GEMM (gemm_tile.glsl): C[co, p] = Σ_k W[co, k]·B[k, p] with k = (ci·KS + ky)·KS + kx over the
// [Cout, Cin·KS·KS] weights and p = (i·Ho + oy)·Wo + ox over the output pixels of all images;
// B[k, p] = x[i, ci, oy·STRIDE − pad + ky, ox·STRIDE − pad + kx], 0 outside the image, is read
// on the fly. y[i, co, oy, ox] = C[co, p] + b[co] (+ row_bias[i, co] when ROW_BIAS).
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
#ifdef LANES
// the subgroup kernel (CPU-type devices) reads x, W and b as texels: one gather per vector there
layout(binding = 14) uniform samplerBuffer x_texel;
layout(binding = 15) uniform samplerBuffer w_texel;
layout(binding = 16) uniform samplerBuffer bias_texel;
float x_at(uint i) { return texelFetch(x_texel, int(i)).x; }
float load_a(uint i) { return texelFetch(w_texel, int(i)).x; }
vec4 load_a4(uint i4) { return texelFetch(w_texel, int(i4)); }
#else
float x_at(uint i) { return x[i]; }
#endif
layout(std430, binding = 3) readonly buffer B { float bias[]; };
layout(std430, binding = 4) readonly buffer RB { float row_bias[]; };
layout(constant_id = 1) const uint KS = 3;
layout(constant_id = 9) const uint STRIDE = 1;
layout(constant_id = 10) const bool ROW_BIAS = false;
layout(push_constant) uniform PC { uint n, cin, h, w, cout, ho, wo, pad; } pc;

#define GEMM_M pc.cout
#define GEMM_N (pc.n * pc.ho * pc.wo)
#define GEMM_K (pc.cin * KS * KS)
const bool B_K_CONTIGUOUS = false;

// An output pixel: its image's offset in x and the top-left input pixel of its window.
struct BCol { uint image; int iy0, ix0; };
BCol b_col(uint p) {
  const uint hw = pc.ho * pc.wo, i = p / hw, pr = p - i * hw, oy = pr / pc.wo, ox = pr - oy * pc.wo;
  return BCol(i * pc.cin * pc.h * pc.w, int(oy * STRIDE) - int(pc.pad), int(ox * STRIDE) - int(pc.pad));
}

float load_b(uint k, BCol c) {
  const uint ci = k / (KS * KS), kr = k - ci * (KS * KS), ky = kr / KS, kx = kr - ky * KS;
  const int iy = c.iy0 + int(ky), ix = c.ix0 + int(kx);
  if (iy < 0 || ix < 0 || iy >= int(pc.h) || ix >= int(pc.w)) return 0.0;
  return x_at(c.image + (ci * pc.h + uint(iy)) * pc.w + uint(ix));
}

vec4 load_b4(uint k, BCol c) {
  return vec4(load_b(k, c), load_b(k + 1u, c), load_b(k + 2u, c), load_b(k + 3u, c));
}

#ifdef LANES
float load_m(uint co) { return texelFetch(bias_texel, int(co)).x; }
#else
float load_m(uint co) { return bias[co]; }
#endif

void store_c(uint co, uint p, float c, float b) {
  const uint hw = pc.ho * pc.wo, i = p / hw, pr = p - i * hw;
  float v = c + b;
  if (ROW_BIAS) v += row_bias[i * pc.cout + co];
  y[(i * pc.cout + co) * hw + pr] = v;
}
#include "gemm_tile.glsl"
