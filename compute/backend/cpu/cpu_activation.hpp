#pragma once
// Activations of the CPU backend, applied to runs of values through Eigen arrays so exp is
// vectorised (Eigen's own polynomial, within a few ulp of expf); GELU keeps the exact erf form
// of nn.GELU.
#include "backend/backend.hpp"

#include <Eigen/Core>
#include <cmath>

namespace itslab::cpu {

inline void apply_activation(float* p, int64_t len, Activation act) {
  Eigen::Map<Eigen::ArrayXf> a(p, len);
  switch (act) {
  case Activation::none:
    break;
  case Activation::silu:
    a = a / (1.0f + (-a).exp());
    break;
  case Activation::gelu:
    for (int64_t i = 0; i < len; ++i)
      p[i] = 0.5f * p[i] * (1.0f + std::erf(p[i] * 0.70710678118654752f));
    break;
  case Activation::relu:
    a = a.max(0.0f);
    break;
  }
}

} // namespace itslab::cpu
