#pragma once
#include "io/preset.hpp"
#include "model/gaussian_mixture.hpp"
#include "particle/particle.hpp"
#include "process/process.hpp"
#include "reward/reward.hpp"
#include "schedule/schedule.hpp"
#include "solver/solver.hpp"

#include <memory>

namespace itslab {

// The numerical objects a preset describes, built and cross-checked; any Error names the
// preset field it comes from.
struct Experiment {
  std::unique_ptr<GaussianMixture> model;
  std::unique_ptr<Process> process;
  StepGrid grid;
  SolverParams solver;
  std::unique_ptr<Model> guided; // the guided denoiser, when the preset asks for guidance
  const Model& denoiser() const { return guided ? *guided : *model; }
  // Particle method (particles.method) and reward (reward section; null for none).
  ParticleParams particles;
  std::unique_ptr<Reward> reward;
  std::unique_ptr<GaussianMixture> second_model; // fkc product: particles.second_model
};

ProcessParams process_params(const Component& c);
ScheduleParams schedule_params(const Component& c);
SolverParams solver_params(const Component& c);
ParticleParams particle_params(const Component& c);
// The reward section as a spec; `model` is the mixture class_logprob / log_density default to.
RewardSpec reward_spec(const Component& c, const GaussianMixture& model);
Experiment build_experiment(const Preset& p);

// parse + build: what `itslab-cli validate` and every loader run before any compute.
PresetLoad load_checked_preset(const std::string& id_or_path);
PresetLoad parse_checked_preset(const std::string& text, const std::string& origin);

} // namespace itslab
