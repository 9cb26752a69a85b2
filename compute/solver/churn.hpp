#pragma once
#include "solver/solver.hpp"

#include <algorithm>
#include <cmath>

namespace itslab {

// EDM "churn" (Karras et al. 2022, Alg. 2; k-diffusion sample_euler / sample_heun; solvers note
// §3): before step i, γ = min(s_churn/M, √2 − 1) when s_tmin ≤ ρ_i ≤ s_tmax (ρ = σ/α), the
// state is moved to ρ̂ = ρ_i(1 + γ) by x̃ ← x̃ + s_noise √(ρ̂² − ρ_i²) z in x̃ = x/α space, and the
// step then starts from ρ̂. s_churn = 0 (the default) leaves the step untouched.
struct Churn {
  double s_churn = 0, s_tmin = 0, s_tmax = 1e9, s_noise = 1;

  explicit Churn(const SolverParams& p)
      : s_churn(p.get("s_churn", 0.0)), s_tmin(p.get("s_tmin", 0.0)), s_tmax(p.get("s_tmax", 1e9)),
        s_noise(p.get("s_noise", 1.0)) {}

  double gamma(const StepGrid& g, int i) const {
    const double rho = g.sigma[i];
    if (s_churn <= 0 || !std::isfinite(rho) || rho < s_tmin || rho > s_tmax)
      return 0;
    return std::min(s_churn / g.steps(), std::sqrt(2.0) - 1);
  }

  // Adds the churn noise to x (noise sub-draw 0 of step i) and returns the raised node's time and
  // process point; only called with γ > 0.
  void apply(const SolverContext& c, Tensor& x, Tensor& z, int i, double gamma, double& t_hat,
             ProcessPoint& p_hat, double& rho_hat) const {
    const ProcessPoint& p = c.grid.point[i];
    const double rho = c.grid.sigma[i];
    rho_hat = rho * (1 + gamma);
    t_hat = c.process.t_of_sigma_edm(rho_hat);
    p_hat = ProcessPoint::at(c.process, t_hat);
    // x̂ = α̂ (x/α + s_noise √(ρ̂² − ρ²) z)
    c.noise(z, i);
    c.be.lincomb(x, {{&x, p_hat.alpha / p.alpha},
                     {&z, p_hat.alpha * s_noise * std::sqrt(rho_hat * rho_hat - rho * rho)}});
  }
};

} // namespace itslab
