#include "solver/solver.hpp"

#include <algorithm>
#include <cmath>

namespace itslab {

namespace {

// DDIM(η) in its general (α, σ) form (Song et al. 2021, eq. 12/16; solvers note §4.1):
//   c = η σ' √(1 − e^{−2h}),  x' = α' D + √(σ'² − c²) ε̂ + s_noise · c · z.
// In (σ_edm, x̃) it is k-diffusion's ancestral Euler step with eta = η, so `euler_ancestral` is
// the same update with η = 1 by default (note §4.3).
class Ancestral final : public Solver {
public:
  Ancestral(std::string type, double eta, double s_noise)
      : type_(std::move(type)), eta_(eta), s_noise_(s_noise) {}
  std::string type() const override { return type_; }
  int step(const SolverContext& cx, Tensor& x, int i) override {
    const ProcessPoint& p = cx.grid.point[i];
    const ProcessPoint& q = cx.grid.point[i + 1];
    Tensor& D = scratch(cx.be, D_, x);
    cx.denoise(D, x, i);
    const double emh = exp_neg_h(p, q);
    // σ_up ≤ σ' as k-diffusion clamps, so η > 1 cannot make the variance negative
    const double c = std::min(q.sigma, eta_ * q.sigma * std::sqrt(-std::expm1(2 * std::log(emh))));
    const double k = std::sqrt(std::max(0.0, q.sigma * q.sigma - c * c));
    if (c > 0) {
      Tensor& z = scratch(cx.be, z_, x);
      cx.noise(z, i);
      cx.be.lincomb(x,
                    {{&x, k / p.sigma}, {&D, q.alpha - k * p.alpha / p.sigma}, {&z, s_noise_ * c}});
    } else {
      cx.be.lincomb(x, {{&x, k / p.sigma}, {&D, q.alpha - k * p.alpha / p.sigma}});
    }
    return 1;
  }

private:
  std::string type_;
  double eta_, s_noise_;
  Tensor D_, z_;
};

} // namespace

std::unique_ptr<Solver> make_ddim(const SolverParams& p) {
  return std::make_unique<Ancestral>("ddim", p.get("eta", 0.0), p.get("s_noise", 1.0));
}

std::unique_ptr<Solver> make_euler_ancestral(const SolverParams& p) {
  return std::make_unique<Ancestral>("euler_ancestral", p.get("eta", 1.0), p.get("s_noise", 1.0));
}

} // namespace itslab
