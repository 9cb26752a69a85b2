#pragma once
// Small helpers shared by the tests.
#include "backend/backend.hpp"
#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace itslab::test {

// The message of the Error f throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Whether s contains part (messages and command output).
inline bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// A tensor [n, d] on be holding v (row-major).
inline Tensor make(Backend& be, int64_t n, int64_t d, const std::vector<float>& v) {
  Tensor t = be.alloc(n, d);
  be.upload(t, v.data());
  return t;
}
inline std::vector<float> get(Backend& be, const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.size()));
  be.download(t, v.data());
  return v;
}

// The activations of gemm_bias_act and the norms, in double (GELU in its exact erf form).
inline double act_ref(Activation a, double v) {
  switch (a) {
  case Activation::none:
    return v;
  case Activation::silu:
    return v / (1 + std::exp(-v));
  case Activation::gelu:
    return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
  case Activation::relu:
    return std::max(v, 0.0);
  }
  return v;
}

} // namespace itslab::test
