#include "core/error.hpp"
#include "solver/solver.hpp"

#include <cmath>
#include <utility>

namespace itslab {

namespace {

// Multistep DPM-Solver++ with optional SDE noise (k-diffusion sample_dpmpp_2m_sde /
// sample_dpmpp_3m_sde; Lu et al. 2022, arXiv 2211.01095; solvers note §6.2–6.3), in the general
// (α, σ) form with h = λ' − λ, H = (1 + η) h:
//   x' = (σ'/σ) e^{−ηh} x + α'(1 − e^{−H}) D0 + α'·[higher-order terms] + s_noise σ'√(1 − e^{−2ηh})
//   z
// η = 0 is the ODE (dpmpp_3m), η = 1 the reverse SDE. Higher-order terms with r0 = h_{−1}/h,
// r1 = h_{−2}/h, φ2 = expm1(−H)/H + 1, φ3 = φ2/H − ½:
//   2M midpoint: ½(1 − e^{−H}) D1,  2M heun / 3M warm-up: φ2 D1,  D1 = (D0 − D_{−1})/r0
//   3M: φ2 D1 − 2 φ3 D2 with D1 = d10 + (d10 − d11) r0/(r0 + r1), D2 = (d10 − d11)/(r0 + r1).
// The factor 2 on φ3 is NOT in the published code (k-diffusion, diffusers, dpm-solver use −φ3):
// −2φ3 is the exact weight of the quadratic interpolant's D2 term, which makes 3M truly third
// order; the published weight leaves an O(h³) local error and global order 2 (note §6.3). The
// first step, a step after an infinite h (flow t = 1) and the step into σ = 0 (x = α'D0, no
// noise) are first order; the second 3M step is second order (φ2 form, as k-diffusion).
class DpmSolverPPMultistep final : public Solver {
public:
  DpmSolverPPMultistep(std::string type, int order, double eta, double s_noise, bool midpoint)
      : type_(std::move(type)), order_(order), eta_(eta), s_noise_(s_noise), midpoint_(midpoint) {}
  std::string type() const override { return type_; }
  int step(const SolverContext& c, Tensor& x, int i) override {
    const ProcessPoint& p = c.grid.point[i];
    const ProcessPoint& q = c.grid.point[i + 1];
    Tensor& D = scratch(c.be, hist_.cur, x);
    c.denoise(D, x, i);
    hist_.begin(i);
    const double h = c.grid.lambda(i + 1) - c.grid.lambda(i);
    if (q.sigma == 0) {
      c.be.lincomb(x, {{&D, q.alpha}});
    } else {
      const double emh = exp_neg_h(p, q); // e^{−h}, 0 where h = ∞ (flow start)
      const double H = (1 + eta_) * h;
      const double cx = q.sigma / p.sigma * std::pow(emh, eta_);
      const double one_m = std::isfinite(h) ? -std::expm1(-H) : 1.0; // 1 − e^{−H}
      const double cz = eta_ <= 0
                            ? 0.0
                            : s_noise_ * q.sigma *
                                  (std::isfinite(h) ? std::sqrt(-std::expm1(-2 * eta_ * h)) : 1.0);
      const int hist = std::isfinite(h) ? std::min(hist_.count, order_ - 1) : 0;
      double c0 = one_m, c1 = 0, c2 = 0; // weights of D0, D_{−1}, D_{−2} (times α')
      if (hist >= 1) {
        const double phi2 = std::expm1(-H) / H + 1;
        const double r0 = hist_.h[0] / h;
        if (hist == 1) {
          const double w = (order_ == 2 && midpoint_) ? 0.5 * one_m : phi2; // weight of D1
          c0 += w / r0, c1 -= w / r0;
        } else {
          const double r1 = hist_.h[1] / h;
          const double phi3 = phi2 / H - 0.5;
          // d10 = (D0 − D1')/r0, d11 = (D1' − D2')/r1 with D1' = D_{−1}, D2' = D_{−2}
          const double a10 = 1 / r0, a11 = 1 / r1;
          // D1 = d10 + (d10 − d11)·k1,  D2 = (d10 − d11)·k2
          const double k1 = r0 / (r0 + r1), k2 = 1 / (r0 + r1);
          const double w1 = phi2, w2 = -2 * phi3; // exact third-order D2 weight (see above)
          // d10 − d11 = a10 D0 − (a10 + a11) D_{−1} + a11 D_{−2}
          const double e0 = a10, e1 = -(a10 + a11), e2 = a11;
          c0 += w1 * (a10 + k1 * e0) + w2 * k2 * e0;
          c1 += w1 * (-a10 + k1 * e1) + w2 * k2 * e1;
          c2 += w1 * (k1 * e2) + w2 * k2 * e2;
        }
      }
      Tensor* z = nullptr;
      if (cz > 0) {
        z = &scratch(c.be, z_, x);
        c.noise(*z, i);
      }
      const double a = q.alpha;
      if (hist == 0)
        z ? c.be.lincomb(x, {{&x, cx}, {&D, a * c0}, {z, cz}})
          : c.be.lincomb(x, {{&x, cx}, {&D, a * c0}});
      else if (hist == 1)
        z ? c.be.lincomb(x, {{&x, cx}, {&D, a * c0}, {&hist_.m1, a * c1}, {z, cz}})
          : c.be.lincomb(x, {{&x, cx}, {&D, a * c0}, {&hist_.m1, a * c1}});
      else
        z ? c.be.lincomb(
                x, {{&x, cx}, {&D, a * c0}, {&hist_.m1, a * c1}, {&hist_.m2, a * c2}, {z, cz}})
          : c.be.lincomb(x, {{&x, cx}, {&D, a * c0}, {&hist_.m1, a * c1}, {&hist_.m2, a * c2}});
    }
    hist_.push(h, i);
    return 1;
  }

private:
  std::string type_;
  int order_;
  double eta_, s_noise_;
  bool midpoint_;
  Tensor z_;
  MultistepHistory hist_;
};

bool midpoint_type(const SolverParams& p) {
  const std::string t = p.get("solver_type", std::string("midpoint"));
  if (t != "midpoint" && t != "heun")
    throw Error("solver.solver_type: must be 'midpoint' or 'heun', got '" + t + "'");
  return t == "midpoint";
}

} // namespace

std::unique_ptr<Solver> make_dpmpp_2m_sde(const SolverParams& p) {
  return std::make_unique<DpmSolverPPMultistep>("dpmpp_2m_sde", 2, p.get("eta", 1.0),
                                                p.get("s_noise", 1.0), midpoint_type(p));
}

std::unique_ptr<Solver> make_dpmpp_3m(const SolverParams&) {
  return std::make_unique<DpmSolverPPMultistep>("dpmpp_3m", 3, 0.0, 1.0, false);
}

std::unique_ptr<Solver> make_dpmpp_3m_sde(const SolverParams& p) {
  return std::make_unique<DpmSolverPPMultistep>("dpmpp_3m_sde", 3, p.get("eta", 1.0),
                                                p.get("s_noise", 1.0), false);
}

} // namespace itslab
