#include "schedule/schedule.hpp"

#include "core/error.hpp"

#include <cmath>
#include <limits>
#include <numbers>

namespace itslab {

namespace {

std::vector<double> linspace(double a, double b, int n) {
  std::vector<double> v(n);
  for (int i = 0; i < n; ++i)
    v[i] = n == 1 ? a : a + (b - a) * i / (n - 1);
  if (n > 1)
    v.back() = b;
  return v;
}

// σ-space schedules need finite, positive ends; where the process reaches σ_edm = 0 or ∞
// inside its range (flow_linear at t = 0 and t = 1) we clip to t ∈ [1e-3, 0.999].
std::pair<double, double> sigma_range(const Process& P) {
  double lo = P.sigma_edm(P.t_min()), hi = P.sigma_edm(P.t_max());
  if (!(lo > 0))
    lo = P.sigma_edm(1e-3);
  if (!std::isfinite(hi))
    hi = P.sigma_edm(0.999);
  return {lo, hi};
}

// σ_edm of the vp_cosine process with offset s: α = cos φ(t)/cos φ(0), σ = √(1 − α²).
double cosine_sigma(double t, double s) {
  const double phi0 = 0.5 * std::numbers::pi * s / (1 + s);
  const double a = std::cos(0.5 * std::numbers::pi * (t + s) / (1 + s)) / std::cos(phi0);
  return std::sqrt(1 - a * a) / a;
}

double cosine_t(double sigma, double s) {
  // α = 1/√(1+σ²) inverts σ_edm = √(1−α²)/α
  const double phi0 = 0.5 * std::numbers::pi * s / (1 + s);
  const double a = 1 / std::sqrt(1 + sigma * sigma);
  return 2 * (1 + s) / std::numbers::pi * std::acos(a * std::cos(phi0)) - s;
}

std::vector<double> sigmas_for(const ScheduleParams& p, const Process& P) {
  const int M = p.steps;
  const auto [smin, smax] = sigma_range(P);
  std::vector<double> sig;
  if (p.type == "karras") {
    // Karras et al. 2022 eq. 5 (k-diffusion get_sigmas_karras)
    const double a = std::pow(smax, 1 / p.rho), b = std::pow(smin, 1 / p.rho);
    for (double ramp : linspace(0, 1, M))
      sig.push_back(std::pow(a + ramp * (b - a), p.rho));
  } else if (p.type == "exponential") {
    for (double l : linspace(std::log(smax), std::log(smin), M))
      sig.push_back(std::exp(l));
  } else if (p.type == "logsnr") {
    // uniform in λ over the process's own range (DPM-Solver skip_type='logSNR')
    for (double l : linspace(-std::log(smax), -std::log(smin), M))
      sig.push_back(std::exp(-l));
  } else if (p.type == "polyexponential") {
    // k-diffusion get_sigmas_polyexponential: ramp = linspace(1, 0, M)^ρ
    for (double r : linspace(1, 0, M))
      sig.push_back(
          std::exp(std::pow(r, p.rho) * (std::log(smax) - std::log(smin)) + std::log(smin)));
  } else if (p.type == "ays") {
    // ComfyUI's convention: M + 1 interpolated levels, the last replaced by the data end
    sig = ays_sigmas(p.table, M);
    sig.pop_back();
    if (p.range == "process") {
      // log-linear map of the table's [σ_min, σ_max] onto the process's
      const std::vector<double> ends = ays_sigmas(p.table, 10);
      const double a = std::log(ends.back()), b = std::log(ends.front());
      for (double& v : sig)
        v = std::exp(std::log(smin) +
                     (std::log(v) - a) / (b - a) * (std::log(smax) - std::log(smin)));
    }
  } else if (p.type == "cosine") {
    // uniform time of a vp_cosine process between the same σ ends (note §3.2)
    for (double t : linspace(cosine_t(smax, p.s), cosine_t(smin, p.s), M))
      sig.push_back(cosine_sigma(t, p.s));
    // pin the ends against acos/tan round-off; a one-step grid is just σ_max
    sig.back() = smin;
    sig.front() = smax;
  }
  return sig;
}

// Published 10-step tables, σ descending (ComfyUI nodes_align_your_steps.py NOISE_LEVELS for
// SD 1.5 and SDXL; the project page for SVD).
const std::vector<double>& ays_table(const std::string& name) {
  static const std::vector<double> sd15 = {14.6146412293, 6.4745760956, 3.8636745985, 2.6946151520,
                                           1.8841921177,  1.3943805092, 0.9642583904, 0.6523686016,
                                           0.3977456272,  0.1515232662, 0.0291671582};
  static const std::vector<double> sdxl = {14.6146412293, 6.3184485287, 3.7681790315, 2.1811480769,
                                           1.3405244945,  0.8620721141, 0.5550693289, 0.3798540708,
                                           0.2332364134,  0.1114188177, 0.0291671582};
  static const std::vector<double> svd = {700.00, 54.5,  15.886, 7.977, 4.248, 1.789,
                                          0.981,  0.403, 0.173,  0.034, 0.002};
  if (name == "sd15")
    return sd15;
  if (name == "sdxl")
    return sdxl;
  if (name == "svd")
    return svd;
  throw Error("schedule.table: unknown Align Your Steps table '" + name +
              "' (expected sd15, sdxl or svd)");
}

} // namespace

std::vector<double> ays_sigmas(const std::string& table, int steps) {
  // AYS how-to: interpolate log σ linearly in the node index, reversed to ascending
  const std::vector<double>& T = ays_table(table);
  const int L = static_cast<int>(T.size());
  std::vector<double> out;
  for (double u : linspace(0, 1, steps + 1)) {
    const double pos = u * (L - 1);
    const int i = std::min(L - 2, static_cast<int>(pos));
    const double f = pos - i;
    out.push_back(std::exp((1 - f) * std::log(T[i]) + f * std::log(T[i + 1])));
  }
  return out;
}

double StepGrid::lambda(int i) const {
  if (sigma[i] <= 0)
    return std::numeric_limits<double>::infinity();
  return -std::log(sigma[i]);
}

std::vector<std::string> schedule_types() {
  return {"uniform", "logsnr",          "karras", "cosine",    "exponential",
          "custom",  "polyexponential", "ays",    "time_shift"};
}

StepGrid make_schedule(const ScheduleParams& p, const Process& P) {
  std::vector<double> ts; // positive-noise nodes in process time, descending
  if (p.type == "custom") {
    if (p.sigmas.empty() == p.times.empty())
      throw Error("schedule: custom needs exactly one of 'sigmas' and 't'");
    if (!p.times.empty()) {
      ts = p.times;
    } else {
      for (double s : p.sigmas)
        ts.push_back(s <= 0 ? 0.0 : P.t_of_sigma_edm(s));
    }
    if (ts.back() <= 0)
      ts.pop_back(); // the data end is appended below
    if (ts.empty())
      throw Error("schedule.sigmas: needs at least one positive noise level");
  } else {
    if (p.steps < 1)
      throw Error("schedule.steps: must be ≥ 1, got " + std::to_string(p.steps));
    if (p.type == "boss" || p.type == "search")
      throw Error("schedule.type: '" + p.type +
                  "' is optimised for a model and solver: built by build_experiment() "
                  "(engine/optimised_schedule.hpp), not make_schedule()");
    if (p.type == "uniform" || p.type == "time_shift") {
      if (P.t_min() > 0)
        ts = linspace(P.t_max(), P.t_min(), p.steps);
      else
        ts = linspace(P.t_max(), 0.0, p.steps + 1), ts.pop_back();
      if (p.type == "time_shift") {
        if (!(p.shift > 0))
          throw Error("schedule.shift: must be > 0");
        // SD3 / Flux shift t' = s·t/(1 + (s−1)t) on u = t/t_max (λ' = λ − log s for flows)
        for (double& t : ts) {
          const double u = t / P.t_max();
          t = P.t_max() * p.shift * u / (1 + (p.shift - 1) * u);
        }
      }
    } else {
      const std::vector<double> sig = sigmas_for(p, P);
      if (sig.empty())
        throw Error("schedule.type: unknown schedule '" + p.type +
                    "' (expected uniform, logsnr, karras, cosine, exponential or custom)");
      for (double s : sig)
        ts.push_back(P.t_of_sigma_edm(s));
    }
  }

  StepGrid g;
  for (size_t i = 0; i < ts.size(); ++i) {
    const double t = ts[i];
    if (!std::isfinite(t) || t <= 0)
      throw Error("schedule: node " + std::to_string(i) + " has invalid time " + std::to_string(t));
    if (i > 0 && !(t < ts[i - 1]))
      throw Error("schedule: nodes must be strictly decreasing in noise (node " +
                  std::to_string(i) + ")");
    g.t.push_back(t);
    g.sigma.push_back(P.sigma_edm(t));
    g.point.push_back(ProcessPoint::at(P, t));
  }
  g.t.push_back(0.0);
  g.sigma.push_back(0.0);
  g.point.push_back({1.0, 0.0, P.dalpha(0.0), P.dsigma(0.0)});
  return g;
}

} // namespace itslab
