#include "core/error.hpp"
#include "solver/solver.hpp"

#include <cmath>

namespace itslab {

namespace {

// DDPM ancestral sampling (Ho et al. 2020; diffusers DDPMScheduler; solvers note §4.2), between
// grid nodes t → t' in the general (α, σ) form with the posterior mean
//   x' = (σ'/σ) e^{−h} x + α'(1 − e^{−2h}) D + √var · z
//   variance "posterior" (β̃, fixed_small): var = σ'²(1 − e^{−2h})   — identical to DDIM(η = 1)
//   variance "beta" (β, fixed_large):       var = (α'² + σ'²) σ²/(α² + σ²) (1 − e^{−2h})
// For VP (α² + σ² = 1) "beta" is β_{t,t'} = 1 − ᾱ/ᾱ'; other processes use the VP-equivalent
// ᾱ = 1/(1 + ρ²) in x/α space as the note prescribes. No noise on the step into σ = 0 (x = D).
class Ddpm final : public Solver {
public:
  Ddpm(bool beta, double s_noise) : beta_(beta), s_noise_(s_noise) {}
  std::string type() const override { return "ddpm"; }
  int step(const SolverContext& c, Tensor& x, int i) override {
    const ProcessPoint& p = c.grid.point[i];
    const ProcessPoint& q = c.grid.point[i + 1];
    Tensor& D = scratch(c.be, D_, x);
    c.denoise(D, x, i);
    const double emh = exp_neg_h(p, q);
    const double one_m = -std::expm1(2 * std::log(emh)); // 1 − e^{−2h}
    // same arithmetic as ddim(η = 1) so that the two agree to rounding
    const double k = q.sigma * emh; // √(σ'² − c²) with c = σ'√(1 − e^{−2h})
    const double cx = k / p.sigma, cD = q.alpha - k * p.alpha / p.sigma;
    double sd = q.sigma * std::sqrt(one_m);
    if (beta_)
      sd = std::sqrt((q.alpha * q.alpha + q.sigma * q.sigma) * p.sigma * p.sigma /
                     (p.alpha * p.alpha + p.sigma * p.sigma) * one_m);
    if (q.sigma > 0 && sd > 0) {
      Tensor& z = scratch(c.be, z_, x);
      c.noise(z, i);
      c.be.lincomb(x, {{&x, cx}, {&D, cD}, {&z, s_noise_ * sd}});
    } else {
      c.be.lincomb(x, {{&x, cx}, {&D, cD}});
    }
    return 1;
  }

private:
  bool beta_;
  double s_noise_;
  Tensor D_, z_;
};

} // namespace

std::unique_ptr<Solver> make_ddpm(const SolverParams& p) {
  const std::string v = p.get("variance", std::string("posterior"));
  if (v != "posterior" && v != "beta")
    throw Error("solver.variance: must be 'posterior' or 'beta', got '" + v + "'");
  return std::make_unique<Ddpm>(v == "beta", p.get("s_noise", 1.0));
}

} // namespace itslab
