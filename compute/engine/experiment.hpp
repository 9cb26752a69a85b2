#pragma once
#include "io/preset.hpp"
#include "model/gaussian_mixture.hpp"
#include "process/process.hpp"
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
};

ProcessParams process_params(const Component& c);
ScheduleParams schedule_params(const Component& c);
SolverParams solver_params(const Component& c);
Experiment build_experiment(const Preset& p);

// parse + build: what `itslab-cli validate` and every loader run before any compute.
PresetLoad load_checked_preset(const std::string& id_or_path);
PresetLoad parse_checked_preset(const std::string& text, const std::string& origin);

} // namespace itslab
