#include "core/error.hpp"
#include "solver/solver.hpp"

#include <cmath>
#include <vector>

namespace itslab {

namespace {

// Predictor–corrector sampling (Song et al. 2021, arXiv 2011.13456; yang-song/score_sde
// get_pc_sampler with LangevinCorrector; solvers note §9). At every grid node i with σ > 0:
//   corrector, corrector_steps times at fixed t_i (Langevin, noise sub-draw j):
//     s = (αD − x)/σ²,  ε = 2a (snr ‖z‖/‖s‖)²,  x ← x + ε s + √(2ε) z
//     a = (α_i/α_{i+1})² (= 1 for VE, 1 − β_i for VP as the reference), a = 1 for flow_linear;
//     step_norm "batch": ‖·‖ is the per-particle L2 norm averaged over the batch (the reference;
//     it couples particles), "sigma": ε = 2a (snr σ_i)² (annealed Langevin, particle-independent)
//   predictor: the exponential reverse-SDE step (euler_maruyama, γ = 1, sub-draw corrector_steps)
//     x' = (σ'/σ) e^{−h} x + α'(1 − e^{−2h}) D + σ'√(1 − e^{−2h}) z;  into σ = 0: x = α'D.
// NFE = M·(corrector_steps + 1).
class PcLangevin final : public Solver {
public:
  PcLangevin(double snr, int steps, bool batch) : snr_(snr), steps_(steps), batch_(batch) {}
  std::string type() const override { return "pc_langevin"; }
  int step(const SolverContext& c, Tensor& x, int i) override {
    const ProcessPoint& p = c.grid.point[i];
    const ProcessPoint& q = c.grid.point[i + 1];
    Tensor& D = scratch(c.be, D_, x);
    Tensor& z = scratch(c.be, z_, x);
    Tensor& s = scratch(c.be, s_, x);
    int nfe = 0;
    const double a =
        c.process.is_flow() || q.alpha <= 0 ? 1.0 : (p.alpha / q.alpha) * (p.alpha / q.alpha);
    for (int j = 0; j < steps_; ++j) {
      c.denoise(D, x, i);
      ++nfe;
      const double inv = 1 / (p.sigma * p.sigma);
      c.be.lincomb(s, {{&D, p.alpha * inv}, {&x, -inv}}); // score
      c.noise(z, i, j);
      double eps;
      if (batch_) {
        const double ns = mean_norm(c.be, s), nz = mean_norm(c.be, z);
        if (!(ns > 0) || !std::isfinite(ns))
          continue;
        eps = 2 * a * (snr_ * nz / ns) * (snr_ * nz / ns);
      } else {
        eps = 2 * a * (snr_ * p.sigma) * (snr_ * p.sigma);
      }
      c.be.lincomb(x, {{&x, 1.0}, {&s, eps}, {&z, std::sqrt(2 * eps)}});
    }
    c.denoise(D, x, i);
    ++nfe;
    if (q.sigma == 0) {
      c.be.lincomb(x, {{&D, q.alpha}});
      return nfe;
    }
    const double emh = exp_neg_h(p, q);
    const double one_m = -std::expm1(2 * std::log(emh)); // 1 − e^{−2h}
    c.noise(z, i, steps_);
    c.be.lincomb(
        x,
        {{&x, q.sigma / p.sigma * emh}, {&D, q.alpha * one_m}, {&z, q.sigma * std::sqrt(one_m)}});
    return nfe;
  }

private:
  // Mean over particles of the per-particle L2 norm.
  double mean_norm(Backend& be, const Tensor& t) {
    if (norm_.empty() || norm_.backend() != &be || norm_.rows() != t.rows())
      norm_ = be.alloc(t.rows(), 1);
    be.row_reduce(norm_, t, RowOp::sum_squares);
    host_.resize(static_cast<size_t>(t.rows()));
    be.download(norm_, host_.data());
    double m = 0;
    for (float v : host_)
      m += std::sqrt(static_cast<double>(v));
    return m / static_cast<double>(host_.size());
  }

  double snr_;
  int steps_;
  bool batch_;
  Tensor D_, z_, s_, norm_;
  std::vector<float> host_;
};

} // namespace

std::unique_ptr<Solver> make_pc_langevin(const SolverParams& p) {
  const std::string norm = p.get("step_norm", std::string("batch"));
  if (norm != "batch" && norm != "sigma")
    throw Error("solver.step_norm: must be 'batch' or 'sigma', got '" + norm + "'");
  return std::make_unique<PcLangevin>(
      p.get("snr", 0.16), static_cast<int>(p.get("corrector_steps", 1.0)), norm == "batch");
}

} // namespace itslab
