#pragma once
#include "model/model.hpp"

#include <limits>

namespace itslab {

// Classifier-free guidance as a denoiser (Ho & Salimans 2022): D = D_u + w (D_c − D_u), the
// same in every prediction type because the conversions are affine (processes note §2.1).
// Outside [t_lo, t_hi] it is the conditional model (guidance interval, Kynkäänniemi et al.
// 2024). rescale φ blends with ε_cfg·std(ε_c)/std(ε_cfg) per sample (Lin et al. 2024, eq. 15).
class CfgModel final : public Model {
public:
  struct Params {
    double scale = 3.0;
    double t_lo = -std::numeric_limits<double>::infinity();
    double t_hi = std::numeric_limits<double>::infinity();
    double rescale = 0.0;
  };
  CfgModel(const Model& inner, Params p) : inner_(inner), p_(p) {}
  std::string id() const override { return inner_.id() + " + cfg"; }
  int dim() const override { return inner_.dim(); }
  int num_classes() const override { return inner_.num_classes(); }
  // Denoiser calls per guided evaluation (conditional + unconditional).
  static constexpr int kCost = 2;
  bool active(double t) const { return p_.scale != 1.0 && t >= p_.t_lo && t <= p_.t_hi; }
  void denoise(Backend& be, Tensor& x0, const Tensor& x, double t, const ProcessPoint& pt,
               int cls) const override;

private:
  const Model& inner_;
  Params p_;
  mutable Tensor Du_, eps_c_, eps_g_, stats_, ratio_;
};

} // namespace itslab
