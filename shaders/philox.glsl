// Philox4x32-10 (Salmon et al. SC'11; Random123 philox4x32 with 10 rounds), bit-identical to
// compute/core/philox.cpp: counter (dim/4, particle, step, stream), key = seed.
uvec4 philox4x32_10(uvec4 c, uvec2 k) {
  for (int round = 0; round < 10; ++round) {
    uint hi0, lo0, hi1, lo1;
    umulExtended(0xD2511F53u, c.x, hi0, lo0);
    umulExtended(0xCD9E8D57u, c.z, hi1, lo1);
    c = uvec4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k += uvec2(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

// float((x + 0.5)·2⁻³²) rounded to nearest even, as the CPU's uint_to_unit computes it in
// double, but with integer operations only: exact on every device. v = (2x + 1)/2³³; when
// 2x + 1 has more than 24 significant bits the dropped ones are rounded by hand.
float uint_to_unit(uint x) {
  const int hb = findMSB(x); // −1 for 0
  if (hb + 2 <= 24)
    return ldexp(float(2u * x + 1u), -33);
  const int shift = hb - 22; // 1..9 bits of 2x + 1 dropped
  uint mant = x >> uint(shift - 1);
  const uint dropped = ((x & ((1u << uint(shift - 1)) - 1u)) << 1u) | 1u;
  const uint half_ = 1u << uint(shift - 1);
  if (dropped > half_ || (dropped == half_ && (mant & 1u) != 0u))
    mant += 1u;
  return ldexp(float(mant), shift - 33);
}
