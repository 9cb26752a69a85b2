#pragma once
#include "backend/backend.hpp"
#include "process/process.hpp"

#include <string>

namespace itslab {

// A denoiser: given x_t it returns the data prediction D(x_t) = x̂0, which every solver is
// written in (solvers note §1.1). Models with another native prediction type convert
// internally (process/process.hpp).
class Model {
public:
  virtual ~Model() = default;
  virtual std::string id() const = 0;
  virtual int dim() const = 0;
  virtual int num_classes() const = 0; // 0: unconditional
  // x0 = D(x) at process time t with coefficients pt; cls ≥ 0 conditions on that class.
  virtual void denoise(Backend& be, Tensor& x0, const Tensor& x, double t, const ProcessPoint& pt,
                       int cls) const = 0;
};

} // namespace itslab
