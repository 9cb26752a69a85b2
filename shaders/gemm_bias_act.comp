#version 450
// y[n, out] = act(x[n, in]·Wᵀ + b) with W [out, in] (nn.Linear layout), b [1, out], as the tiled
// product C[o, r] = Σ_k W[o, k]·x[r, k] of gemm_tile.glsl with bias and activation (ACT,
// activation.glsl) in the store. The LANES kernel (CPU-type devices) reads x and W as texels,
// float4 ones when K % 4 = 0, and b as float texels (bindings 14, 15 and 16: one gather per
// vector there, where a storage-buffer load is a loop over the SIMD lanes).
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
layout(std430, binding = 3) readonly buffer B { float bias[]; };
#ifdef LANES
layout(binding = 14) uniform samplerBuffer x_texel;
layout(binding = 15) uniform samplerBuffer w_texel;
layout(binding = 16) uniform samplerBuffer bias_texel;
#endif
layout(constant_id = 1) const uint ACT = 0;
layout(push_constant) uniform PC { uint n, in_dim, out_dim; } pc;
#include "activation.glsl"

#define GEMM_M pc.out_dim
#define GEMM_N pc.n
#define GEMM_K pc.in_dim
const bool B_K_CONTIGUOUS = true;
struct BCol { uint row; }; // the offset of x's row
BCol b_col(uint r) { return BCol(r * pc.in_dim); }
#ifdef LANES
float load_a(uint i) { return texelFetch(w_texel, int(i)).x; }
vec4 load_a4(uint i4) { return texelFetch(w_texel, int(i4)); }
float load_b(uint k, BCol c) { return texelFetch(x_texel, int(c.row + k)).x; }
vec4 load_b4(uint k, BCol c) { return texelFetch(x_texel, int((c.row + k) / 4u)); }
#else
float load_b(uint k, BCol c) { return x[c.row + k]; }
#endif
#ifdef LANES
float load_m(uint o) { return texelFetch(bias_texel, int(o)).x; }
#else
float load_m(uint o) { return bias[o]; }
#endif
void store_c(uint o, uint r, float c, float b) { y[r * pc.out_dim + o] = activate(c + b); }
#ifdef LANES
// out_dim % 4 = 0: outputs o .. o + 3 of row r in one float4 store (a storage-buffer store is a
// loop over the lanes, all components of a vector in one visit)
#define HAS_STORE_C4
layout(std430, binding = 0) writeonly buffer Y4 { vec4 y4[]; };
layout(constant_id = 9) const bool STORE_C4 = false;
void store_c4(uint o, uint r, vec4 c, vec4 b) {
  const vec4 v = c + b;
  y4[(r * pc.out_dim + o) / 4u] = vec4(activate(v.x), activate(v.y), activate(v.z), activate(v.w));
}
#endif
#include "gemm_tile.glsl"
