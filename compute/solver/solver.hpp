#pragma once
#include "backend/backend.hpp"
#include "model/model.hpp"
#include "schedule/schedule.hpp"

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
// Returns slot, (re)allocated on like's backend with like's shape when it does not match.
Tensor& scratch(Backend& be, Tensor& slot, const Tensor& like);
} // namespace itslab
