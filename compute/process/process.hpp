#pragma once
#include <cmath>
#include <memory>
#include <string>

namespace itslab {

// An affine-Gaussian forward process x_t = α(t)·x0 + σ(t)·ε (processes-schedules note §1).
// Sampling runs from t_max (noise) down to t = 0 (data); σ_edm = σ/α = e^{−λ} is the common
// currency of schedules and σ-space solvers.
class Process {
public:
  virtual ~Process() = default;
  virtual std::string type() const = 0;
  virtual double alpha(double t) const = 0;
  virtual double sigma(double t) const = 0;
  virtual double dalpha(double t) const = 0;
  virtual double dsigma(double t) const = 0;
  // λ(t) = log(α/σ), the half log-SNR; +∞ at t = 0, −∞ where α = 0.
  virtual double lambda(double t) const;
  // Inverse of λ(t): the process time with the given half log-SNR.
  virtual double t_of_lambda(double lambda) const = 0;
  // Sampling range [t_min, t_max] of the process time; the grid ends with an extra t = 0 node.
  virtual double t_min() const = 0;
  virtual double t_max() const = 0;
  // The prior scale: x_T = prior_scale·z (σ_max for VE/EDM, 1 for VP and flow).
  virtual double prior_scale() const = 0;
  virtual bool is_flow() const { return false; }

  double sigma_edm(double t) const; // σ/α, +∞ where α = 0
  double t_of_sigma_edm(double s) const { return s <= 0 ? 0.0 : t_of_lambda(-std::log(s)); }
  // Forward SDE dx = f x dt + g dW: f = α̇/α, g² = −2σ² λ̇ (note §1.1).
  double f(double t) const { return dalpha(t) / alpha(t); }
  double g2(double t) const;
};

struct ProcessParams {
  std::string type;
  double beta_min = 0.1, beta_max = 20.0;                       // vp_linear
  double s = 0.008;                                             // vp_cosine offset
  double sigma_min = 0.002, sigma_max = 80.0, sigma_data = 0.5; // ve / edm
  double t_min = -1, t_max = -1;                                // < 0: the process's default range
};

std::unique_ptr<Process> make_process(const ProcessParams& p);

// Conversions between prediction types through the canonical pair (x̂0, ε̂) with
// x = α x̂0 + σ ε̂ (note §2.1), one scalar coordinate at a time; all are affine.
enum class Prediction { eps, x0, v, score, velocity };
Prediction prediction_from_string(const std::string& s);
std::string to_string(Prediction p);

struct ProcessPoint {
  double alpha, sigma, dalpha, dsigma;
  static ProcessPoint at(const Process& p, double t) {
    return {p.alpha(t), p.sigma(t), p.dalpha(t), p.dsigma(t)};
  }
};
// Coefficients (cx, cy) with x0 = cx·x + cy·y for a prediction y of the given type.
std::pair<double, double> x0_coefficients(Prediction type, const ProcessPoint& pt);
// Coefficients (cx, c0) with y = cx·x + c0·x̂0 for the given output type.
std::pair<double, double> from_x0_coefficients(Prediction type, const ProcessPoint& pt);

} // namespace itslab
