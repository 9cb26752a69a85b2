#version 450
// Sinusoidal time embedding y[i] = [cos(τ_i·f_k) | sin(τ_i·f_k)], k < half, τ_i = s·t_i, with
// the frequencies f_k of the model file; τ and τ·f_k are rounded to float as PyTorch computes
// them. F64 variant: fdlibm sin/cos in double (matches the CPU's libm to float rounding);
// otherwise float with a three-part Cody–Waite reduction so large arguments keep their accuracy.
#include "common.glsl"
#include "real.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 0) writeonly buffer Y4 { vec4 y4[]; };
layout(std430, binding = 1) readonly buffer Tv { float t[]; };
layout(std430, binding = 2) readonly buffer Freqs { float f[]; };
layout(std430, binding = 2) readonly buffer Freqs4 { vec4 f4[]; };
// Frequencies per invocation: 4 when half % 4 = 0, read and written as float4s (on CPU-type
// devices a storage-buffer access is a loop over the lanes, one visit per vector).
layout(constant_id = 1) const uint KPER = 1;
layout(push_constant) uniform PC { uint n, half_dim; float scale; } pc;

// cos and sin of arg = τ·f_k (arg already rounded to float, as PyTorch computes it)
void embed(const float arg, out float s, out float c) {
#ifdef F64
  double ds, dc;
  dsincos(double(arg), ds, dc);
  s = float(ds);
  c = float(dc);
#else
  const float q = floor(arg * 0.63661977 + 0.5);
  const float r = ((arg - q * 1.5703125) - q * 4.8375129699707031e-04) - q * 7.5497899548918821e-08;
  const float sr = sin(r), cr = cos(r);
  const int quad = int(q - 4.0 * floor(q * 0.25));
  if (quad == 0) { s = sr; c = cr; }
  else if (quad == 1) { s = cr; c = -sr; }
  else if (quad == 2) { s = -sr; c = -cr; }
  else { s = -cr; c = sr; }
#endif
}

void main() {
  const uint gid = global_id(), per_row = pc.half_dim / KPER;
  if (gid >= pc.n * per_row) return;
  const uint row = gid / per_row, k = (gid - row * per_row) * KPER;
  const float tau = pc.scale * t[row];
  const uint b = row * 2u * pc.half_dim;
  if (KPER == 4u) {
    const vec4 arg = tau * f4[k / 4u];
    vec4 s, c;
    for (uint q = 0u; q < 4u; ++q) embed(arg[q], s[q], c[q]);
    y4[(b + k) / 4u] = c;
    y4[(b + pc.half_dim + k) / 4u] = s;
  } else {
    float s, c;
    embed(tau * f[k], s, c);
    y[b + k] = c;
    y[b + pc.half_dim + k] = s;
  }
}
