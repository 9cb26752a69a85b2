#include "core/error.hpp"
#include "solver/solver.hpp"

#include <cmath>

namespace itslab {

namespace {

// The reverse SDE family dx = [f x − (1+γ²)/2 g² ∇log p_t] dt + γ g dw̄ (solvers note §5.1):
// γ = 0 is the probability-flow ODE, γ = 1 Anderson's reverse SDE; every γ keeps the marginals.
// The step into σ = 0 is always x = D (a noisy step there would be wrong, note §5.2).
class EulerMaruyama final : public Solver {
public:
  EulerMaruyama(double gamma, bool exponential) : gamma_(gamma), exponential_(exponential) {}
  std::string type() const override { return "euler_maruyama"; }
  int step(const SolverContext& c, Tensor& x, int i) override {
    const ProcessPoint& p = c.grid.point[i];
    const ProcessPoint& q = c.grid.point[i + 1];
    Tensor& D = scratch(c.be, D_, x);
    Tensor& z = scratch(c.be, z_, x);
    c.denoise(D, x, i);
    if (q.sigma == 0) {
      c.be.lincomb(x, {{&D, q.alpha}});
      return 1;
    }
    const double g2 = gamma_ * gamma_;
    double cx, cD, cz;
    if (exponential_) {
      // Linear part solved exactly in λ (note §5.3):
      // x' = (σ'/σ) e^{−γ²h} x + α'(1 − e^{−(1+γ²)h}) D + σ' √(1 − e^{−2γ²h}) z
      const double emh = exp_neg_h(p, q);
      cx = q.sigma / p.sigma * std::pow(emh, g2);
      cD = q.alpha * (1 - std::pow(emh, 1 + g2));
      cz = q.sigma * std::sqrt(1 - std::pow(emh, 2 * g2));
    } else {
      // Textbook Euler–Maruyama in process time with s = (αD − x)/σ² (score_sde).
      const double t = c.grid.t[i], dt = c.grid.t[i + 1] - t;
      if (p.alpha <= 0)
        throw Error("solver.form: 'plain' Euler–Maruyama cannot start where α = 0 (flow t = 1); "
                    "use form 'exponential' or process.t_max < 1");
      const double f = c.process.f(t), G2 = c.process.g2(t);
      const double k = 0.5 * (1 + g2) * G2 * dt / (p.sigma * p.sigma);
      cx = 1 + f * dt + k;
      cD = -k * p.alpha;
      cz = gamma_ * std::sqrt(G2 * std::abs(dt));
    }
    if (cz > 0) {
      c.noise(z, i);
      c.be.lincomb(x, {{&x, cx}, {&D, cD}, {&z, cz}});
    } else {
      c.be.lincomb(x, {{&x, cx}, {&D, cD}});
    }
    return 1;
  }

private:
  double gamma_;
  bool exponential_;
  Tensor D_, z_;
};

} // namespace

std::unique_ptr<Solver> make_euler_maruyama(const SolverParams& p) {
  const std::string form = p.get("form", std::string("exponential"));
  if (form != "exponential" && form != "plain")
    throw Error("solver.form: must be 'exponential' or 'plain', got '" + form + "'");
  return std::make_unique<EulerMaruyama>(p.get("diffusion_scale", 1.0), form == "exponential");
}

} // namespace itslab
