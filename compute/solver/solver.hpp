#pragma once
#include "backend/backend.hpp"
#include "model/model.hpp"
#include "schedule/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>

namespace itslab {

// Everything a step needs; solvers keep only their own history.
struct SolverContext {
  Backend& be;
  const Model& model;
  const Process& process;
  const StepGrid& grid;
  int cls = -1;      // class to condition on, −1 for unconditional
  uint64_t seed = 0; // noise of stochastic solvers: Philox (seed, solver_noise + 16·k, step)

  // D(x) at grid node i (the data prediction every solver is written in).
  void denoise(Tensor& x0, const Tensor& x, int i) const {
    model.denoise(be, x0, x, grid.t[i], grid.point[i], cls);
  }
  // Standard normal noise for sub-draw k of step i.
  void noise(Tensor& z, int i, int k = 0) const;
};

class Solver {
public:
  virtual ~Solver() = default;
  virtual std::string type() const = 0;
  // Advances x in place from grid node i to node i + 1; returns the denoiser calls (NFE) spent.
  virtual int step(const SolverContext& ctx, Tensor& x, int i) = 0;
};

struct SolverParams {
  std::string type = "euler";
  std::map<std::string, double> num;      // eta, s_noise, diffusion_scale, ...
  std::map<std::string, std::string> str; // form, ...
  double get(const std::string& k, double def) const {
    const auto it = num.find(k);
    return it == num.end() ? def : it->second;
  }
  std::string get(const std::string& k, const std::string& def) const {
    const auto it = str.find(k);
    return it == str.end() ? def : it->second;
  }
};

std::unique_ptr<Solver> make_solver(const SolverParams& p);
std::vector<std::string> solver_types();

// e^{−h} = σ'α/(σα') for h = λ' − λ, finite at both singular ends (α = 0, σ' = 0).
double exp_neg_h(const ProcessPoint& from, const ProcessPoint& to);

} // namespace itslab

namespace itslab {
// The two previous model outputs of a multistep solver and their step lengths h. History is
// dropped when steps are not consecutive and restarted after an infinite h (flow t = 1), which
// cannot enter a ratio or an interpolation.
struct MultistepHistory {
  Tensor cur, m1, m2;   // this step's output; the previous one; the one before
  double h[2] = {0, 0}; // h of the previous step and of the one before
  int count = 0;        // how many of (m1, h[0]), (m2, h[1]) are valid
  int last_step = -2;

  void begin(int i) {
    if (last_step != i - 1)
      count = 0;
  }
  // After step i of length h_now: cur becomes m1.
  void push(double h_now, int i) {
    std::swap(m2, m1);
    std::swap(m1, cur);
    h[1] = h[0];
    h[0] = h_now;
    count = std::isfinite(h_now) ? std::min(count + 1, 2) : 0;
    last_step = i;
  }
};

// Returns slot, (re)allocated on like's backend with like's shape when it does not match.
Tensor& scratch(Backend& be, Tensor& slot, const Tensor& like);
} // namespace itslab
