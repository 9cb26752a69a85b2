#include "solver/solver.hpp"

namespace itslab {

namespace {

// Euler in (σ_edm, x̃) — identical to DDIM(η = 0) and to flow Euler in (t, x) (solvers note §2):
// x' = α' D + σ' ε̂ with ε̂ = (x − α D)/σ, finite at flow t = 1 (α = 0) and returns D at σ' = 0.
class Euler final : public Solver {
public:
  std::string type() const override { return "euler"; }
  int step(const SolverContext& c, Tensor& x, int i) override {
    const ProcessPoint& p = c.grid.point[i];
    const ProcessPoint& q = c.grid.point[i + 1];
    Tensor& D = scratch(c.be, D_, x);
    c.denoise(D, x, i);
    const double r = q.sigma / p.sigma;
    c.be.lincomb(x, {{&x, r}, {&D, q.alpha - r * p.alpha}});
    return 1;
  }

private:
  Tensor D_;
};

} // namespace

std::unique_ptr<Solver> make_euler() {
  return std::make_unique<Euler>();
}

} // namespace itslab
