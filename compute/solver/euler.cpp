#include "solver/churn.hpp"
#include "solver/solver.hpp"

namespace itslab {

namespace {

// Euler in (σ_edm, x̃) — identical to DDIM(η = 0) and to flow Euler in (t, x) (solvers note §2):
// x' = α' D + σ' ε̂ with ε̂ = (x − α D)/σ, finite at flow t = 1 (α = 0) and returns D at σ' = 0.
// Optional EDM churn (churn.hpp) raises the start node to ρ̂ = ρ(1 + γ) with fresh noise first.
class Euler final : public Solver {
public:
  explicit Euler(const SolverParams& p) : churn_(p) {}
  std::string type() const override { return "euler"; }
  int step(const SolverContext& c, Tensor& x, int i) override {
    const ProcessPoint& q = c.grid.point[i + 1];
    Tensor& D = scratch(c.be, D_, x);
    const double gamma = churn_.gamma(c.grid, i);
    if (gamma > 0) {
      double t_hat, rho_hat;
      ProcessPoint p_hat;
      churn_.apply(c, x, scratch(c.be, z_, x), i, gamma, t_hat, p_hat, rho_hat);
      c.model.denoise(c.be, D, x, t_hat, p_hat, c.cls);
      update(c, x, D, p_hat, q);
    } else {
      c.denoise(D, x, i);
      update(c, x, D, c.grid.point[i], q);
    }
    return 1;
  }

private:
  static void update(const SolverContext& c, Tensor& x, const Tensor& D, const ProcessPoint& p,
                     const ProcessPoint& q) {
    const double r = q.sigma / p.sigma;
    c.be.lincomb(x, {{&x, r}, {&D, q.alpha - r * p.alpha}});
  }
  Churn churn_;
  Tensor D_, z_;
};

} // namespace

std::unique_ptr<Solver> make_euler(const SolverParams& p) {
  return std::make_unique<Euler>(p);
}

} // namespace itslab
