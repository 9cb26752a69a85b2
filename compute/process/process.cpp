#include "process/process.hpp"

#include "core/error.hpp"

#include <cmath>
#include <limits>
#include <numbers>

namespace itslab {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// log(1 + e^x) without overflow.
double softplus(double x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

// VP family: σ = √(1 − α²), β(t) = −2 d log α / dt, so α̇ = −½βα and σ̇ = ½βα²/σ (note §1.3).
class VpProcess : public Process {
public:
  double sigma(double t) const override { return std::sqrt(-std::expm1(2.0 * log_alpha(t))); }
  double alpha(double t) const override { return std::exp(log_alpha(t)); }
  double dalpha(double t) const override { return -0.5 * beta(t) * alpha(t); }
  double dsigma(double t) const override {
    const double a = alpha(t);
    return 0.5 * beta(t) * a * a / sigma(t);
  }
  double prior_scale() const override { return 1.0; }
  virtual double log_alpha(double t) const = 0;
  virtual double beta(double t) const = 0;
};

// vp_linear: log α = −¼t²(β1−β0) − ½tβ0 (Song et al. 2021; note §1.3).
class VpLinear final : public VpProcess {
public:
  VpLinear(double b0, double b1, double tmin, double tmax)
      : b0_(b0), b1_(b1), tmin_(tmin), tmax_(tmax) {}
  std::string type() const override { return "vp_linear"; }
  double log_alpha(double t) const override { return -0.25 * t * t * (b1_ - b0_) - 0.5 * t * b0_; }
  double beta(double t) const override { return b0_ + t * (b1_ - b0_); }
  // DPM-Solver's NoiseScheduleVP.inverse_lambda: stable for large and small λ.
  double t_of_lambda(double lambda) const override {
    const double L = softplus(-2.0 * lambda);
    const double tmp = 2.0 * (b1_ - b0_) * L;
    return tmp / ((std::sqrt(b0_ * b0_ + tmp) + b0_) * (b1_ - b0_));
  }
  double t_min() const override { return tmin_; }
  double t_max() const override { return tmax_; }

private:
  double b0_, b1_, tmin_, tmax_;
};

// vp_cosine: α = cos φ(t)/cos φ(0), φ = (π/2)(t+s)/(1+s) (Nichol & Dhariwal 2021; note §1.4).
class VpCosine final : public VpProcess {
public:
  VpCosine(double s, double tmin, double tmax) : s_(s), tmin_(tmin), tmax_(tmax) {}
  std::string type() const override { return "vp_cosine"; }
  double phi(double t) const { return 0.5 * std::numbers::pi * (t + s_) / (1.0 + s_); }
  double log_alpha(double t) const override {
    return std::log(std::cos(phi(t))) - std::log(std::cos(phi(0.0)));
  }
  double beta(double t) const override { return std::numbers::pi * std::tan(phi(t)) / (1.0 + s_); }
  double t_of_lambda(double lambda) const override {
    const double log_a = -0.5 * softplus(-2.0 * lambda);
    return 2.0 * (1.0 + s_) / std::numbers::pi *
               std::acos(std::exp(log_a + std::log(std::cos(phi(0.0))))) -
           s_;
  }
  double t_min() const override { return tmin_; }
  double t_max() const override { return tmax_; }

private:
  double s_, tmin_, tmax_;
};

// ve: σ = σmin (σmax/σmin)^t, α = 1 (Song et al. 2021 SMLD; note §1.5).
class Ve final : public Process {
public:
  Ve(double smin, double smax, double tmin, double tmax)
      : smin_(smin), log_ratio_(std::log(smax / smin)), tmin_(tmin), tmax_(tmax) {}
  std::string type() const override { return "ve"; }
  double alpha(double) const override { return 1.0; }
  double sigma(double t) const override { return smin_ * std::exp(t * log_ratio_); }
  double dalpha(double) const override { return 0.0; }
  double dsigma(double t) const override { return sigma(t) * log_ratio_; }
  double t_of_lambda(double lambda) const override {
    return (-lambda - std::log(smin_)) / log_ratio_;
  }
  double t_min() const override { return tmin_; }
  double t_max() const override { return tmax_; }
  double prior_scale() const override { return sigma(tmax_); }

private:
  double smin_, log_ratio_, tmin_, tmax_;
};

// edm: α = 1, σ(t) = t (Karras et al. 2022; note §1.6).
class Edm final : public Process {
public:
  Edm(double smin, double smax) : smin_(smin), smax_(smax) {}
  std::string type() const override { return "edm"; }
  double alpha(double) const override { return 1.0; }
  double sigma(double t) const override { return t; }
  double dalpha(double) const override { return 0.0; }
  double dsigma(double) const override { return 1.0; }
  double t_of_lambda(double lambda) const override { return std::exp(-lambda); }
  double t_min() const override { return smin_; }
  double t_max() const override { return smax_; }
  double prior_scale() const override { return smax_; }

private:
  double smin_, smax_;
};

// flow_linear: x_t = (1−t)x0 + tε, t = 1 is pure noise (note §1.7).
class FlowLinear final : public Process {
public:
  FlowLinear(double tmin, double tmax) : tmin_(tmin), tmax_(tmax) {}
  std::string type() const override { return "flow_linear"; }
  double alpha(double t) const override { return 1.0 - t; }
  double sigma(double t) const override { return t; }
  double dalpha(double) const override { return -1.0; }
  double dsigma(double) const override { return 1.0; }
  double t_of_lambda(double lambda) const override { return 1.0 / (1.0 + std::exp(lambda)); }
  double t_min() const override { return tmin_; }
  double t_max() const override { return tmax_; }
  double prior_scale() const override { return 1.0; }
  bool is_flow() const override { return true; }

private:
  double tmin_, tmax_;
};

double or_default(double v, double def) {
  return v < 0 ? def : v;
}

} // namespace

double Process::lambda(double t) const {
  const double a = alpha(t), s = sigma(t);
  if (s <= 0)
    return kInf;
  if (a <= 0)
    return -kInf;
  return std::log(a) - std::log(s);
}

double Process::sigma_edm(double t) const {
  const double a = alpha(t);
  return a <= 0 ? kInf : sigma(t) / a;
}

double Process::g2(double t) const {
  // g² = dσ²/dt − 2fσ² (note §1.1)
  const double s = sigma(t);
  return 2.0 * s * dsigma(t) - 2.0 * f(t) * s * s;
}

std::unique_ptr<Process> make_process(const ProcessParams& p) {
  if (p.type == "vp_linear")
    return std::make_unique<VpLinear>(p.beta_min, p.beta_max, or_default(p.t_min, 1e-3),
                                      or_default(p.t_max, 1.0));
  if (p.type == "vp_cosine")
    return std::make_unique<VpCosine>(p.s, or_default(p.t_min, 1e-3), or_default(p.t_max, 0.9946));
  if (p.type == "ve")
    return std::make_unique<Ve>(p.sigma_min, p.sigma_max, or_default(p.t_min, 1e-5),
                                or_default(p.t_max, 1.0));
  if (p.type == "edm")
    return std::make_unique<Edm>(p.sigma_min, p.sigma_max);
  if (p.type == "flow_linear")
    return std::make_unique<FlowLinear>(or_default(p.t_min, 0.0), or_default(p.t_max, 1.0));
  throw Error("process.type: unknown process '" + p.type +
              "' (expected vp_linear, vp_cosine, ve, edm or flow_linear)");
}

Prediction prediction_from_string(const std::string& s) {
  if (s == "eps")
    return Prediction::eps;
  if (s == "x0")
    return Prediction::x0;
  if (s == "v")
    return Prediction::v;
  if (s == "score")
    return Prediction::score;
  if (s == "velocity")
    return Prediction::velocity;
  throw Error("unknown prediction type '" + s + "' (expected eps, x0, v, score or velocity)");
}

std::string to_string(Prediction p) {
  switch (p) {
  case Prediction::eps:
    return "eps";
  case Prediction::x0:
    return "x0";
  case Prediction::v:
    return "v";
  case Prediction::score:
    return "score";
  case Prediction::velocity:
    return "velocity";
  }
  return "?";
}

// Table of note §2.1, "from → (x̂0, ε̂)".
std::pair<double, double> x0_coefficients(Prediction type, const ProcessPoint& p) {
  const double a = p.alpha, s = p.sigma;
  switch (type) {
  case Prediction::x0:
    return {0.0, 1.0};
  case Prediction::eps:
    return {1.0 / a, -s / a};
  case Prediction::score:
    return {1.0 / a, s * s / a};
  case Prediction::v: {
    const double r2 = a * a + s * s;
    return {a / r2, -s / std::sqrt(r2)};
  }
  case Prediction::velocity: {
    const double det = a * p.dsigma - s * p.dalpha;
    return {p.dsigma / det, -s / det};
  }
  }
  throw Error("x0_coefficients: bad prediction type");
}

// Table of note §2.1, "(x̂0, ε̂) →", with ε̂ = (x − α x̂0)/σ substituted.
std::pair<double, double> from_x0_coefficients(Prediction type, const ProcessPoint& p) {
  const double a = p.alpha, s = p.sigma;
  switch (type) {
  case Prediction::x0:
    return {0.0, 1.0};
  case Prediction::eps:
    return {1.0 / s, -a / s};
  case Prediction::score:
    return {-1.0 / (s * s), a / (s * s)};
  case Prediction::v: {
    const double r = std::sqrt(a * a + s * s);
    return {a / (r * s), -a * a / (r * s) - s / r};
  }
  case Prediction::velocity:
    return {p.dsigma / s, p.dalpha - p.dsigma * a / s};
  }
  throw Error("from_x0_coefficients: bad prediction type");
}

} // namespace itslab
