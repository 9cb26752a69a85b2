// Double-precision exp, log and sin/cos from add, mul, div, frexp and ldexp only (GLSL has no
// double transcendentals). The algorithms and coefficients are fdlibm's (__ieee754_exp,
// __ieee754_log, __kernel_sin, __kernel_cos, the medium case of __ieee754_rem_pio2); each is
// accurate to about 1 ulp, so results rounded to float match the CPU's libm results.

// e^x as simd::exp computes it (compute/core/simd_math.hpp), bit for bit and without branches
// (llvmpipe runs both sides of a branch under a mask): 0 below −708, +inf above 709. k is read
// from the low word of x/ln2 + 1.5·2⁵², and 2^k is built from its bits.
double dexp(double x) {
  const double ln2_hi = 6.93147180369123816490e-01LF, ln2_lo = 1.90821492927058770002e-10LF;
  const double inv_ln2 = 1.44269504088896338700e+00LF, round_bias = 6755399441055744.0LF;
  const double P1 = 1.66666666666666019037e-01LF, P2 = -2.77777777770155933842e-03LF,
               P3 = 6.61375632143793436117e-05LF, P4 = -1.65339022054652515390e-06LF,
               P5 = 4.13813679705723846039e-08LF;
  const double xc = clamp(x, -708.0LF, 709.0LF);
  precise const double t = xc * inv_ln2 + round_bias;
  precise const double k = t - round_bias;
  precise const double hi = xc - k * ln2_hi, lo = k * ln2_lo;
  precise const double r = hi - lo;
  precise const double rr = r * r;
  precise const double c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
  precise const double y = 1.0LF - ((lo - (r * c) / (2.0LF - c)) - hi);
  const int ki = int(unpackDouble2x32(t).x);
  const double two_k = packDouble2x32(uvec2(0u, uint(ki + 1023) << 20));
  precise const double v = y * two_k;
  return mix(mix(v, 0.0LF, x < -708.0LF), packDouble2x32(uvec2(0u, 0x7ff00000u)), x > 709.0LF);
}

// x > 0 and finite.
double dlog(double x) {
  const double ln2_hi = 6.93147180369123816490e-01LF, ln2_lo = 1.90821492927058770002e-10LF;
  const double Lg1 = 6.666666666666735130e-01LF, Lg2 = 3.999999999940941908e-01LF,
               Lg3 = 2.857142874366239149e-01LF, Lg4 = 2.222219843214978396e-01LF,
               Lg5 = 1.818357216161805012e-01LF, Lg6 = 1.531383769920937332e-01LF,
               Lg7 = 1.479819860511658591e-01LF;
  int e;
  double m = frexp(x, e); // [0.5, 1)
  if (m < 0.70710678118654752440LF) {
    m = m * 2.0LF;
    e = e - 1;
  }
  const double f = m - 1.0LF;
  const double k = double(e);
  const double s = f / (2.0LF + f);
  const double z = s * s, w = z * z;
  const double t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  const double t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  const double R = t2 + t1;
  const double hfsq = 0.5LF * f * f;
  return k * ln2_hi - ((hfsq - (s * (hfsq + R) + k * ln2_lo)) - f);
}

// sin and cos of x in [-pi/4, pi/4].
double dsin_kernel(double x) {
  const double S1 = -1.66666666666666324348e-01LF, S2 = 8.33333333332248946124e-03LF,
               S3 = -1.98412698298579493134e-04LF, S4 = 2.75573137070700676789e-06LF,
               S5 = -2.50507602534068634195e-08LF, S6 = 1.58969099521155010221e-10LF;
  const double z = x * x, v = z * x;
  const double r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  return x + v * (S1 + z * r);
}
double dcos_kernel(double x) {
  const double C1 = 4.16666666666666019037e-02LF, C2 = -1.38888888888741095749e-03LF,
               C3 = 2.48015872894767294178e-05LF, C4 = -2.75573143513906633035e-07LF,
               C5 = 2.08757232129817482790e-09LF, C6 = -1.13596475577881948265e-11LF;
  const double z = x * x;
  const double r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
  const double hz = 0.5LF * z, w = 1.0LF - hz;
  return w + (((1.0LF - w) - hz) + z * r);
}

// sin and cos of x for |x| < 2^19 pi/2: x = q pi/2 + r with pi/2 split in three 33-bit parts
// (every q·part is exact), then the kernels on r and the quadrant q.
void dsincos(double x, out double s, out double c) {
  const double inv_pio2 = 6.36619772367581382433e-01LF;
  const double p1 = 1.57079632673412561417e+00LF, p2 = 6.07710050630396597660e-11LF,
               p3 = 2.02226624871116645580e-21LF, p3t = 8.47842766036889956997e-32LF;
  const double q = floor(x * inv_pio2 + 0.5LF);
  const double r = (((x - q * p1) - q * p2) - q * p3) - q * p3t;
  const double sr = dsin_kernel(r), cr = dcos_kernel(r);
  const int quad = int(q - 4.0LF * floor(q * 0.25LF));
  if (quad == 0) { s = sr; c = cr; }
  else if (quad == 1) { s = cr; c = -sr; }
  else if (quad == 2) { s = -sr; c = -cr; }
  else { s = -cr; c = sr; }
}
