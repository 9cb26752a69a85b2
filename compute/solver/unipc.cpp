#include "core/error.hpp"
#include "solver/solver.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <utility>

namespace itslab {

namespace {

// UniPC, data prediction (Zhao et al. 2023, arXiv 2302.04867; diffusers UniPCMultistepScheduler
// multistep_uni_p_bh_update / multistep_uni_c_bh_update; solvers note §8), general (α, σ) form.
// For a step s → t, h = λ_t − λ_s, hh = −h, hφ1 = expm1(hh), B = hh (bh1) or hφ1 (bh2),
// g_1 = hφ1/hh − 1, g_{k+1} = g_k/hh − 1/(k+1)!, b_k = k! g_k / B, r_k = (λ_{s−k} − λ_s)/h,
// D1_k = (m_{s−k} − m_s)/r_k, R[j][k] = r_k^j:
//   UniP-p: x_t = (σ_t/σ_s)x_s − α_t hφ1 m_s − α_t B Σ_{k<p} ρᵖ_k D1_k,
//           ρᵖ = ½ (p = 2) or R[:p−1, :p−1]⁻¹ b[:p−1]
//   UniC-p: x_t^c = (σ_t/σ_s)x_s − α_t hφ1 m_s − α_t B [Σ_{k<p} ρᶜ_k D1_k + ρᶜ_p (m_t − m_s)],
//           ρᶜ = ½ (p = 1) or R⁻¹ b with r_p = 1.
// Step i evaluates m_i at the predicted x_i, corrects x_i with UniC (order of the predictor that
// produced it), then predicts from the corrected x_i; m_i from the uncorrected point is what the
// history keeps, so NFE = M. The order warms up as min(order, i + 1); lower_order_final caps it
// at M − i (note §1.4). The step into σ = 0 is x = α'm (its UniC would change nothing the output
// depends on, so it is skipped; bh1's B = −∞ there is the diffusers NaN, note §1.3). A step with an
// infinite h (flow t = 1) is UniP-1 and is not corrected; the history restarts after it.
class UniPC final : public Solver {
public:
  UniPC(int order, bool bh1, bool lower_order_final, bool corrector)
      : order_(order), bh1_(bh1), lof_(lower_order_final), corrector_(corrector) {}
  std::string type() const override { return "unipc"; }
  int step(const SolverContext& c, Tensor& x, int i) override {
    const ProcessPoint& q = c.grid.point[i + 1];
    const double lam = c.grid.lambda(i);
    // the new model value goes to slot 3, the free one, and becomes m_s after the correction
    Tensor& m = scratch(c.be, m_[3], x);
    c.denoise(m, x, i);
    if (last_step_ != i - 1)
      n_ = 0;
    else if (corrector_ && q.sigma != 0 && prev_finite_)
      update(c, x, c.grid.point[i - 1], c.grid.point[i], lam_[0], lam, prev_order_, &m);
    // push m: slots 0..2 hold m_s, m_{s−1}, m_{s−2}
    std::rotate(m_, m_ + 3, m_ + 4);
    lam_[2] = lam_[1], lam_[1] = lam_[0], lam_[0] = lam;
    n_ = std::isfinite(lam) ? std::min(n_ + 1, 3) : 0;
    const double lam_t = c.grid.lambda(i + 1);
    if (q.sigma == 0) {
      c.be.lincomb(x, {{&m_[0], q.alpha}});
    } else {
      const int steps = static_cast<int>(c.grid.t.size()) - 1;
      int order = std::isfinite(lam_t - lam) ? std::max(1, std::min(order_, n_)) : 1;
      if (lof_)
        order = std::min(order, steps - i);
      Tensor& xs = scratch(c.be, xs_, x);
      c.be.lincomb(xs, {{&x, 1.0}});
      update(c, x, c.grid.point[i], q, lam, lam_t, order, nullptr);
      prev_order_ = order;
      prev_finite_ = std::isfinite(lam_t - lam);
    }
    last_step_ = i;
    return 1;
  }

private:
  // x ← UniP-p (mt == nullptr) or UniC-p (mt = m_t) of the step s → t from xs_, history m_[0..].
  void update(const SolverContext& c, Tensor& x, const ProcessPoint& s, const ProcessPoint& t,
              double lam_s, double lam_t, int p, const Tensor* mt) {
    const double h = lam_t - lam_s;
    const double hh = -h;
    const double hphi1 = std::isfinite(h) ? std::expm1(hh) : -1.0;
    const double cx = t.sigma / s.sigma;
    Tensor& xs = xs_;
    if (mt == nullptr && p == 1) {
      c.be.lincomb(x, {{&xs, cx}, {&m_[0], -t.alpha * hphi1}});
      return;
    }
    const double B = bh1_ ? hh : hphi1;
    // b_k, k = 1..p
    Eigen::VectorXd b(p);
    double g = hphi1 / hh - 1, fact = 1;
    for (int k = 1; k <= p; ++k) {
      b(k - 1) = g * fact / B;
      fact *= k + 1;
      g = g / hh - 1 / fact;
    }
    const int nk = p - 1; // history differences used
    Eigen::VectorXd r(p);
    for (int k = 1; k <= nk; ++k)
      r(k - 1) = (lam_[k] - lam_s) / h;
    r(p - 1) = 1;
    Eigen::VectorXd rho;
    if (mt == nullptr) {
      if (p == 2) {
        rho = Eigen::VectorXd::Constant(1, 0.5);
      } else {
        Eigen::MatrixXd R(nk, nk);
        for (int j = 0; j < nk; ++j)
          for (int k = 0; k < nk; ++k)
            R(j, k) = std::pow(r(k), j);
        rho = R.partialPivLu().solve(b.head(nk));
      }
    } else if (p == 1) {
      rho = Eigen::VectorXd::Constant(1, 0.5);
    } else {
      Eigen::MatrixXd R(p, p);
      for (int j = 0; j < p; ++j)
        for (int k = 0; k < p; ++k)
          R(j, k) = std::pow(r(k), j);
      rho = R.partialPivLu().solve(b);
    }
    // −α_t B Σ_k ρ_k (m_{s−k} − m_s)/r_k  [+ ρ_p (m_t − m_s)]
    const double a = -t.alpha * B;
    double c0 = -t.alpha * hphi1;
    for (int k = 1; k <= nk; ++k)
      c0 -= a * rho(k - 1) / r(k - 1);
    if (mt)
      c0 -= a * rho(p - 1);
    c.be.lincomb(x, {{&xs, cx}, {&m_[0], c0}});
    for (int k = 1; k <= nk; ++k)
      c.be.lincomb(x, {{&x, 1.0}, {&m_[k], a * rho(k - 1) / r(k - 1)}});
    if (mt)
      c.be.lincomb(x, {{&x, 1.0}, {mt, a * rho(p - 1)}});
  }

  int order_;
  bool bh1_, lof_, corrector_;
  Tensor m_[4], xs_;
  double lam_[3] = {0, 0, 0};
  int n_ = 0;
  int prev_order_ = 1;
  bool prev_finite_ = false;
  int last_step_ = -2;
};

} // namespace

std::unique_ptr<Solver> make_unipc(const SolverParams& p) {
  const double order = p.get("order", 2.0);
  if (order != 1 && order != 2 && order != 3)
    throw Error("solver.order: unipc order must be 1, 2 or 3");
  const std::string v = p.get("variant", std::string("bh2"));
  if (v != "bh1" && v != "bh2")
    throw Error("solver.variant: must be 'bh1' or 'bh2', got '" + v + "'");
  return std::make_unique<UniPC>(static_cast<int>(order), v == "bh1",
                                 p.get("lower_order_final", 1.0) != 0,
                                 p.get("corrector", 1.0) != 0);
}

} // namespace itslab
