#pragma once
// Double exp, log and sin/cos without branches or calls, so that a loop over arrays that uses
// them vectorises (`#pragma omp simd`; AVX2 and AVX-512 lanes with -march=native, SSE2
// otherwise). The algorithms and coefficients are fdlibm's, as in shaders/math64.glsl: each is
// accurate to about 1 ulp of double. Integer work is done on the 64-bit patterns (no
// double↔int64 conversions, which AVX2 lacks).
#include <bit>
#include <cstdint>
#include <limits>

namespace itslab::simd {

// 1.5·2⁵²: x + kRound rounds x to an integer held in the low bits of the pattern (|x| < 2³¹).
inline constexpr double kRound = 0x1.8p52;

// eˣ; 0 below −708 (instead of a subnormal), +inf above 709, NaN for NaN.
inline double exp(double x) {
  constexpr double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  constexpr double inv_ln2 = 1.44269504088896338700e+00;
  constexpr double P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03,
                   P3 = 6.61375632143793436117e-05, P4 = -1.65339022054652515390e-06,
                   P5 = 4.13813679705723846039e-08;
  // clamping keeps 2^k a normal double; NaN fails both comparisons and stays NaN
  const double xc = x < -708.0 ? -708.0 : x > 709.0 ? 709.0 : x;
  const double t = xc * inv_ln2 + kRound;
  const double k = t - kRound;
  const double hi = xc - k * ln2_hi, lo = k * ln2_lo;
  const double r = hi - lo;
  const double rr = r * r;
  const double c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
  const double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
  const int64_t ki = std::bit_cast<int64_t>(t) - std::bit_cast<int64_t>(kRound);
  const double two_k = std::bit_cast<double>(static_cast<uint64_t>(ki + 1023) << 52);
  const double v = y * two_k;
  return x < -708.0 ? 0.0 : x > 709.0 ? std::numeric_limits<double>::infinity() : v;
}

// log x for a positive normal x.
inline double log(double x) {
  constexpr double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  constexpr double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
                   Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
                   Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                   Lg7 = 1.479819860511658591e-01;
  const uint64_t bits = std::bit_cast<uint64_t>(x);
  // x = m·2^e with m in [0.5, 1) (frexp), then m in [√½, √2) so f = m − 1 is small
  const double m0 = std::bit_cast<double>((bits & 0x000fffffffffffffULL) | 0x3fe0000000000000ULL);
  // the biased exponent as a double, exactly: 2⁵² + e − 2⁵²
  const double eb = std::bit_cast<double>(0x4330000000000000ULL | (bits >> 52)) - 0x1p52;
  const bool low = m0 < 0.70710678118654752440;
  const double m = low ? m0 * 2.0 : m0;
  const double k = eb - (low ? 1023.0 : 1022.0);
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s, w = z * z;
  const double t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  const double t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  const double R = t2 + t1;
  const double hfsq = 0.5 * f * f;
  return k * ln2_hi - ((hfsq - (s * (hfsq + R) + k * ln2_lo)) - f);
}

// sin and cos of x for |x| < 2¹⁹·π/2: x = q·π/2 + r with π/2 split in three 33-bit parts
// (every q·part is exact), the kernels on r, and the quadrant q applied to the sign bits.
inline void sincos(double x, double& s, double& c) {
  constexpr double inv_pio2 = 6.36619772367581382433e-01;
  constexpr double p1 = 1.57079632673412561417e+00, p2 = 6.07710050630396597660e-11,
                   p3 = 2.02226624871116645580e-21, p3t = 8.47842766036889956997e-32;
  constexpr double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                   S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                   S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
  constexpr double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                   C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                   C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
  const double t = x * inv_pio2 + kRound;
  const double q = t - kRound;
  const double r = (((x - q * p1) - q * p2) - q * p3) - q * p3t;
  const double z = r * r;
  const double sr = r + z * r * (S1 + z * (S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)))));
  const double cz = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
  const double hz = 0.5 * z, w = 1.0 - hz;
  const double cr = w + (((1.0 - w) - hz) + z * cz);
  // quadrant q mod 4: odd swaps sin and cos; sin is negated in 2, 3, cos in 1, 2
  const uint64_t quad = std::bit_cast<uint64_t>(t);
  const bool odd = quad & 1;
  const double s0 = odd ? cr : sr, c0 = odd ? sr : cr;
  s = std::bit_cast<double>(std::bit_cast<uint64_t>(s0) ^ ((quad & 2) << 62));
  c = std::bit_cast<double>(std::bit_cast<uint64_t>(c0) ^ (((quad + 1) & 2) << 62));
}

} // namespace itslab::simd
