#include "solver/churn.hpp"
#include "solver/solver.hpp"

namespace itslab {

namespace {

// Heun's method (Karras et al. 2022, Alg. 1; k-diffusion sample_heun). It runs in (σ_edm, x̃)
// for VE/EDM/VP, and in (t, x) with the velocity for flow_linear as diffusers does (the two
// are different second-order methods; solvers note §3). The step into σ = 0 is Euler, so
// NFE = 2M − 1. Optional EDM churn (Alg. 2, churn.hpp) first raises the start node to
// ρ̂ = ρ(1 + γ) with fresh noise; with s_churn = 0 the arithmetic is unchanged.
class Heun final : public Solver {
public:
  explicit Heun(const SolverParams& p) : churn_(p) {}
  std::string type() const override { return "heun"; }
  int step(const SolverContext& c, Tensor& x, int i) override {
    Tensor& D = scratch(c.be, D_, x);
    const double gamma = churn_.gamma(c.grid, i);
    if (gamma > 0) {
      double t_hat, rho_hat;
      ProcessPoint p_hat;
      churn_.apply(c, x, scratch(c.be, z_, x), i, gamma, t_hat, p_hat, rho_hat);
      c.model.denoise(c.be, D, x, t_hat, p_hat, c.cls);
      return finish(c, x, i, t_hat, p_hat, rho_hat);
    }
    c.denoise(D, x, i);
    return finish(c, x, i, c.grid.t[i], c.grid.point[i], c.grid.sigma[i]);
  }

private:
  // The step from (t, p, ρ) — grid node i or its churned version — to node i + 1, with D = D(x)
  // already in D_.
  int finish(const SolverContext& c, Tensor& x, int i, double t, const ProcessPoint& p,
             double rho) {
    const ProcessPoint& q = c.grid.point[i + 1];
    Tensor& D = D_;
    Tensor& x2 = scratch(c.be, x2_, x);
    Tensor& D2 = scratch(c.be, D2_, x);
    const double r = q.sigma / p.sigma;
    // Euler predictor x2 = α' D + σ' ε̂ (also the whole step when σ' = 0)
    c.be.lincomb(x2, {{&x, r}, {&D, q.alpha - r * p.alpha}});
    if (q.sigma == 0) {
      c.be.lincomb(x, {{&x2, 1.0}});
      return 1;
    }
    c.denoise(D2, x2, i + 1);
    if (c.process.is_flow()) {
      // u = (σ̇/σ) x + (α̇ − σ̇α/σ) D; x' = x + (t' − t)(u1 + u2)/2
      const double dt = c.grid.t[i + 1] - t;
      const double a1 = p.dsigma / p.sigma, b1 = p.dalpha - p.dsigma * p.alpha / p.sigma;
      const double a2 = q.dsigma / q.sigma, b2 = q.dalpha - q.dsigma * q.alpha / q.sigma;
      c.be.lincomb(x, {{&x, 1 + 0.5 * dt * a1},
                       {&D, 0.5 * dt * b1},
                       {&x2, 0.5 * dt * a2},
                       {&D2, 0.5 * dt * b2}});
    } else {
      // x̃' = x̃ + (ρ' − ρ)(ε̂1 + ε̂2)/2 with x̃ = x/α, ε̂ = (x − αD)/σ, then x' = α' x̃'
      const double k = 0.5 * q.alpha * (c.grid.sigma[i + 1] - rho);
      c.be.lincomb(x, {{&x, q.alpha / p.alpha + k / p.sigma},
                       {&D, -k * p.alpha / p.sigma},
                       {&x2, k / q.sigma},
                       {&D2, -k * q.alpha / q.sigma}});
    }
    return 2;
  }

  Churn churn_;
  Tensor D_, x2_, D2_, z_;
};

} // namespace

std::unique_ptr<Solver> make_heun(const SolverParams& p) {
  return std::make_unique<Heun>(p);
}

} // namespace itslab
