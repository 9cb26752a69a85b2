// `real` is double in the F64 variant of a shader (devices with shaderFloat64) and float
// otherwise; real_exp / real_sqrt follow it. GLSL has no double exp/log/sin/cos, so the
// double versions come from math64.glsl (fdlibm algorithms, < 1 ulp).
#ifdef F64
#include "math64.glsl"
#define real double
#define real_exp(x) dexp(x)
#define real_sqrt(x) sqrt(x)
real real_neg_inf() { return packDouble2x32(uvec2(0u, 0xfff00000u)); }
#else
#define real float
#define real_exp(x) exp(x)
#define real_sqrt(x) sqrt(x)
real real_neg_inf() { return uintBitsToFloat(0xff800000u); }
#endif
