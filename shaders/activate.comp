#version 450
// y = act(x) elementwise (activation.glsl); y may be bound to the same memory as x, as each
// invocation reads only the element it writes.
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(constant_id = 1) const uint ACT = 0;
layout(push_constant) uniform PC { uint total; } pc;
#include "activation.glsl"

void main() {
  const uint gid = global_id();
  if (gid < pc.total) y[gid] = activate(x[gid]);
}
