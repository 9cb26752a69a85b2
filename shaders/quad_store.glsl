// main() of the element-wise layers: output g of TOTAL is value(g), which the including shader
// defines, with y at binding 0. QUAD (spec constant 1, when TOTAL % 4 = 0): each invocation
// computes 4 consecutive outputs and stores them as one float4 (lavapipe runs a storage-buffer
// store as a loop over the SIMD lanes, one visit per lane whatever the width); a shader that
// defines HAS_VALUE4 computes them with vec4 value4(g), g % 4 = 0. The TEXEL variants read their
// inputs as texels (bindings 14, 15: one vector gather each there).
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 0) writeonly buffer Y4 { vec4 y4[]; };
layout(constant_id = 1) const bool QUAD = false;

void main() {
  const uint gid = global_id();
  if (QUAD) {
    const uint g = 4u * gid;
    if (g >= TOTAL) return;
#ifdef HAS_VALUE4
    y4[gid] = value4(g);
#else
    y4[gid] = vec4(value(g), value(g + 1u), value(g + 2u), value(g + 3u));
#endif
  } else {
    if (gid >= TOTAL) return;
    y[gid] = value(gid);
  }
}
