#include "core/error.hpp"
#include "solver/solver.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace itslab {

namespace {

// Heavy-ball (HB) and generalised heavy-ball (GHVB) momentum on PLMS (Wizadwongsa et al. 2023,
// arXiv 2307.11118, eqs. 13–19; sWizad/momentum-diffusion PLMSWithHBScheduler / GHVBScheduler;
// solvers note §10), in (ρ, x̃ = x/α) with e = ε̂ = (x − αD)/σ and δ = ρ' − ρ:
//   HB:   v ← (1 − β) v + β AB_c(1; e);            x̃' = x̃ + δ v
//   GHVB: v ← (1 − β) v + β e; store v;            x̃' = x̃ + δ AB_c(β; v)/β
// AB_c are the constant-step PLMS weights of order c = min(order, values stored); v starts at the
// first ε̂. The momentum number m gives order ⌈m⌉ and β = m − ⌈m⌉ + 1 (β = 1 for integer m:
// plain PLMS-m). As the reference, the last step (into σ = 0) applies the update too, so the
// output is not exactly D. A step from α = 0 (flow t = 1) is the Euler step x' = α'D + σ'ε̂,
// which is what the update reduces to there (c = 1, v = ε̂).
class Momentum final : public Solver {
public:
  Momentum(double m, bool ghvb) : ghvb_(ghvb) {
    order_ = std::clamp(static_cast<int>(std::ceil(m - 1e-12)), 1, 4);
    beta_ = std::abs(m - std::round(m)) < 1e-12 ? 1.0 : m - order_ + 1;
  }
  std::string type() const override { return "momentum"; }
  int step(const SolverContext& c, Tensor& x, int i) override {
    const ProcessPoint& p = c.grid.point[i];
    const ProcessPoint& q = c.grid.point[i + 1];
    Tensor& D = scratch(c.be, D_, x);
    c.denoise(D, x, i);
    if (last_step_ != i - 1)
      stored_ = 0;
    last_step_ = i;
    if (!(p.alpha > 0)) { // flow start: x̃ undefined; first-order step, history restarts
      const double r = q.sigma / p.sigma;
      c.be.lincomb(x, {{&x, r}, {&D, q.alpha - r * p.alpha}});
      stored_ = 0;
      return 1;
    }
    // e = ε̂ into the newest history slot (rotate the four slots first)
    for (int k = 3; k > 0; --k)
      std::swap(hist_[k], hist_[k - 1]);
    Tensor& e = scratch(c.be, hist_[0], x);
    c.be.lincomb(e, {{&x, 1 / p.sigma}, {&D, -p.alpha / p.sigma}});
    Tensor& v = scratch(c.be, v_, x);
    const bool first = stored_ == 0;
    stored_ = std::min(stored_ + 1, 4);
    const int cord = std::min(order_, stored_);
    Tensor& u = scratch(c.be, u_, x);
    if (ghvb_) {
      // v ← (1 − β) v + β e, stored in place of e (history of v); update = AB_c(β; v)/β
      if (first)
        c.be.lincomb(v, {{&e, 1.0}});
      else
        c.be.lincomb(v, {{&v, 1 - beta_}, {&e, beta_}});
      c.be.lincomb(e, {{&v, 1.0}});
      ab(c.be, u, cord, beta_);
    } else {
      // w = AB_c(1; e); v ← (1 − β) v + β w
      ab(c.be, u, cord, 1.0);
      if (first)
        c.be.lincomb(v, {{&e, 1.0}});
      c.be.lincomb(v, {{&v, 1 - beta_}, {&u, beta_}});
      c.be.lincomb(u, {{&v, 1.0}});
    }
    // x' = α'(x/α + δ u)
    const double delta = c.grid.sigma[i + 1] - c.grid.sigma[i];
    c.be.lincomb(x, {{&x, q.alpha / p.alpha}, {&u, q.alpha * delta}});
    return 1;
  }

private:
  // u = AB_c(b; hist)/b with hist_[0] the newest value.
  void ab(Backend& be, Tensor& u, int cord, double b) {
    const Tensor *h0 = &hist_[0], *h1 = &hist_[1], *h2 = &hist_[2], *h3 = &hist_[3];
    switch (cord) {
    case 1:
      be.lincomb(u, {{h0, 1.0}});
      break;
    case 2:
      be.lincomb(u, {{h0, (2 + b) / (2 * b)}, {h1, -(2 - b) / (2 * b)}});
      break;
    case 3:
      be.lincomb(u, {{h0, (18 + 5 * b) / (12 * b)},
                     {h1, -(24 - 8 * b) / (12 * b)},
                     {h2, (6 - b) / (12 * b)}});
      break;
    default:
      be.lincomb(u, {{h0, (46 + 9 * b) / (24 * b)},
                     {h1, -(78 - 19 * b) / (24 * b)},
                     {h2, (42 - 5 * b) / (24 * b)},
                     {h3, -(10 - b) / (24 * b)}});
    }
  }

  bool ghvb_;
  int order_ = 1;
  double beta_ = 1;
  Tensor D_, v_, u_, hist_[4];
  int stored_ = 0;
  int last_step_ = -2;
};

} // namespace

std::unique_ptr<Solver> make_momentum(const SolverParams& p) {
  const std::string method = p.get("method", std::string("ghvb"));
  if (method != "ghvb" && method != "hb")
    throw Error("solver.method: must be 'ghvb' or 'hb', got '" + method + "'");
  const double m = p.get("momentum", 1.8);
  if (!(m > 0 && m <= 4))
    throw Error("solver.momentum: must be in (0, 4], got " + std::to_string(m));
  return std::make_unique<Momentum>(m, method == "ghvb");
}

} // namespace itslab
