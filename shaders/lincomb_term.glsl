// One term of lincomb's sum, acc + c·x, rounded as the CPU backend's loop rounds it: once when
// FUSED (FMA contraction), twice otherwise. The F64 variant forms the fused value exactly (a
// float product is exact in double), so it rounds like the CPU whatever the device does with
// fma(). The includer defines T (float or vec4), TD (its double type) and the specialization
// constant FUSED.
T term(T acc, T c, T x) {
  precise T r;
  if (FUSED) {
#ifdef F64
    precise TD e = TD(c) * TD(x) + TD(acc);
    r = T(e);
#else
    r = fma(c, x, acc);
#endif
  } else {
    precise T p = c * x;
    r = acc + p;
  }
  return r;
}
