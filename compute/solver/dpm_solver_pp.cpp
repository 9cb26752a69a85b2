#include "solver/solver.hpp"

#include <cmath>
#include <utility>

namespace itslab {

namespace {

// DPM-Solver++(2M), midpoint variant (Lu et al. 2022, arXiv 2211.01095, Alg. 2; k-diffusion
// sample_dpmpp_2m), in the general (α, σ) form:
//   x' = (σ'/σ) x − α'(e^{−h} − 1) D0 − ½ α'(e^{−h} − 1) D1,  D1 = (D0 − D_{−1})/r0, r0 = h_{−1}/h.
// The first step, the step into σ = 0 and any step after an infinite h are first order.
class DpmSolverPP2M final : public Solver {
public:
  std::string type() const override { return "dpmpp_2m"; }
  int step(const SolverContext& c, Tensor& x, int i) override {
    const ProcessPoint& p = c.grid.point[i];
    const ProcessPoint& q = c.grid.point[i + 1];
    Tensor& D = scratch(c.be, D_, x);
    c.denoise(D, x, i);
    const double h = c.grid.lambda(i + 1) - c.grid.lambda(i);
    const double phi = q.alpha * -std::expm1(-h); // α'(1 − e^{−h})
    const bool second = i > 0 && last_step_ == i - 1 && std::isfinite(h) && std::isfinite(h_prev_);
    if (second) {
      const double r0 = h_prev_ / h;
      c.be.lincomb(
          x, {{&x, q.sigma / p.sigma}, {&D, phi * (1 + 0.5 / r0)}, {&D_prev_, -phi * 0.5 / r0}});
    } else {
      c.be.lincomb(x, {{&x, q.sigma / p.sigma}, {&D, phi}});
    }
    std::swap(D_, D_prev_);
    h_prev_ = h;
    last_step_ = i;
    return 1;
  }

private:
  Tensor D_, D_prev_;
  double h_prev_ = 0;
  int last_step_ = -2;
};

} // namespace

std::unique_ptr<Solver> make_dpmpp_2m() {
  return std::make_unique<DpmSolverPP2M>();
}

} // namespace itslab
