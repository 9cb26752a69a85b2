#include "core/error.hpp"
#include "solver/solver.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace itslab {

namespace {

// DEIS tAB in τ = log ρ = −λ (Zhang & Chen 2022, arXiv 2204.13902; diffusers
// DEISMultistepScheduler; solvers note §7), in the general (α, σ) form:
//   x'/α' = x/α − ∫_{λ}^{λ'} e^{−λ} ε̂(λ) dλ,  ε̂ Lagrange in λ through the last q nodes.
// The Lagrange basis sums to 1, so with u = λ − λ_i, ε̂_b = (x_b − α_b D_b)/σ_b and
// K_b = −∫_0^h e^{−u} ℓ_b(u) du, the step is the first-order (DDIM) update plus corrections:
//   x' = (σ'/σ) x + α'(1 − e^{−h}) D0 + α' ρ_i Σ_{b≥1} K_b (ε̂_b − ε̂_0),   ρ_i = σ/α.
// The moments I_k = ∫_0^h u^k e^{−u} du are I0 = −expm1(−h), I_k = k I_{k−1} − h^k e^{−h}.
// q = order warms up as min(order, i + 1); lower_order_final caps q at M − i (note §1.4
// recommendation); the step into σ = 0 (x = α'D0), the first step and any step after an infinite
// h (flow t = 1) are first order. Order 1 is euler/DDIM(η = 0) exactly.
class Deis final : public Solver {
public:
  Deis(int order, bool lower_order_final) : order_(order), lof_(lower_order_final) {}
  std::string type() const override { return "deis"; }
  int step(const SolverContext& c, Tensor& x, int i) override {
    const ProcessPoint& p = c.grid.point[i];
    const ProcessPoint& q = c.grid.point[i + 1];
    Tensor& D = scratch(c.be, D_, x);
    c.denoise(D, x, i);
    hist_.begin(i);
    const double h = c.grid.lambda(i + 1) - c.grid.lambda(i);
    Tensor& E = scratch(c.be, hist_.cur, x);
    if (p.sigma > 0)
      c.be.lincomb(E, {{&x, 1 / p.sigma}, {&D, -p.alpha / p.sigma}}); // ε̂0
    if (q.sigma == 0) {
      c.be.lincomb(x, {{&D, q.alpha}});
    } else {
      const int steps = static_cast<int>(c.grid.t.size()) - 1;
      int hist = std::isfinite(h) ? std::min(hist_.count, order_ - 1) : 0;
      if (lof_)
        hist = std::min(hist, steps - i - 1);
      const double one_m = std::isfinite(h) ? -std::expm1(-h) : 1.0; // 1 − e^{−h}
      if (hist == 0) {
        c.be.lincomb(x, {{&x, q.sigma / p.sigma}, {&D, q.alpha * one_m}});
      } else {
        const double emh = std::exp(-h);
        const double I0 = one_m, I1 = I0 - h * emh, I2 = 2 * I1 - h * h * emh;
        const double s = q.alpha * p.sigma / p.alpha; // α' ρ_i
        const double u1 = -hist_.h[0];
        double k1 = 0, k2 = 0;
        if (hist == 1) {
          k1 = -I1 / u1;
        } else {
          const double u2 = -hist_.h[0] - hist_.h[1];
          k1 = -(I2 - u2 * I1) / (u1 * (u1 - u2));
          k2 = -(I2 - u1 * I1) / (u2 * (u2 - u1));
        }
        // x' = (σ'/σ)x + α'(1 − e^{−h})D0 − s(k1 + k2)ε̂0 + s k1 ε̂_{−1} + s k2 ε̂_{−2}
        c.be.lincomb(x, {{&x, q.sigma / p.sigma},
                         {&D, q.alpha * one_m},
                         {&E, -s * (k1 + k2)},
                         {&hist_.m1, s * k1}});
        if (hist == 2)
          c.be.lincomb(x, {{&x, 1.0}, {&hist_.m2, s * k2}});
      }
    }
    hist_.push(h, i);
    return 1;
  }

private:
  int order_;
  bool lof_;
  Tensor D_;
  MultistepHistory hist_;
};

} // namespace

std::unique_ptr<Solver> make_deis(const SolverParams& p) {
  const double order = p.get("order", 3.0);
  if (order != 1 && order != 2 && order != 3)
    throw Error("solver.order: deis order must be 1, 2 or 3");
  return std::make_unique<Deis>(static_cast<int>(order), p.get("lower_order_final", 1.0) != 0);
}

} // namespace itslab
