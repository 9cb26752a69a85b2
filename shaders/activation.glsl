// The activations of Backend's Activation enum, selected by the including shader's
// specialization constant ACT: 0 none, 1 SiLU x·sigmoid(x), 2 GELU in the exact erf form
// (PyTorch's nn.GELU default), 3 ReLU.

// Abramowitz & Stegun 7.1.26, |error| ≤ 1.5e-7.
float erf_approx(float v) {
  const float a = abs(v);
  const float t = 1.0 / (1.0 + 0.3275911 * a);
  const float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const float e = 1.0 - poly * exp(-a * a);
  return v < 0.0 ? -e : e;
}

float activate(float v) {
  if (ACT == 1u) return v / (1.0 + exp(-v));
  if (ACT == 2u) return 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752));
  if (ACT == 3u) return max(v, 0.0);
  return v;
}
