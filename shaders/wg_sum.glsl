// Sum over the workgroup (a power of two in size) in a fixed pairwise order, so results do not
// depend on timing; every invocation of the workgroup must call it and gets the sum.
shared float wg_red[gl_WorkGroupSize.x];

float wg_sum(float v) {
  const uint lid = gl_LocalInvocationIndex;
  wg_red[lid] = v;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1u) {
    if (lid < s) wg_red[lid] += wg_red[lid + s];
    barrier();
  }
  const float r = wg_red[0];
  barrier(); // wg_red is reused by the next call
  return r;
}
