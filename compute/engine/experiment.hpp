#pragma once
#include "io/preset.hpp"
#include "model/gaussian_mixture.hpp"
#include "model/neural_model.hpp"
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
  // The exact mixture: the model itself, or the data a 2-D network was trained on (its
  // reference for metrics, rewards and density views); null for image networks.
  std::unique_ptr<GaussianMixture> mixture;
  std::unique_ptr<NeuralModel> network; // when the model is a trained network
  // Image networks: the classifier behind the fid / class_accuracy metrics (bundled
  // Fashion-MNIST classifier), loaded when a metric needs it.
  std::unique_ptr<Classifier> classifier;
  const Model& model() const { return network ? static_cast<const Model&>(*network) : *mixture; }
  std::unique_ptr<Process> process;
  StepGrid grid;
  SolverParams solver;
  std::unique_ptr<Model> guided; // the guided denoiser, when the preset asks for guidance
  const Model& denoiser() const { return guided ? *guided : model(); }
  // Particle method (particles.method) and reward (reward section; null for none).
  ParticleParams particles;
  std::unique_ptr<Reward> reward;
  std::unique_ptr<GaussianMixture> second_model; // fkc product: particles.second_model
};

ProcessParams process_params(const Component& c);
ScheduleParams schedule_params(const Component& c);
SolverParams solver_params(const Component& c);
ParticleParams particle_params(const Component& c);
// The reward section as a spec; `mixture` (may be null) is what class_logprob / log_density
// default to; `network` (may be null) gives classifier_logprob the data normalisation.
RewardSpec reward_spec(const Component& c, const GaussianMixture* mixture,
                       const NeuralModel* network);
Experiment build_experiment(const Preset& p);

// What a run's samples are compared with: the exact mixture, or its class c when the preset
// conditions on model.class (p0(x | c)); Error when the model has no mixture.
GaussianMixture metric_target(const Experiment& e, const Preset& p);
// The metrics a model gets when the preset names none: the mixture metrics for mixtures and
// 2-D networks trained on one, fid for 28×28 image networks, none otherwise.
std::vector<std::string> default_metrics(const Experiment& e);
// The bundled classifier that fid, class_accuracy and classifier_logprob use.
std::string bundled_classifier_folder();

// parse + build: what `itslab-cli validate` and every loader run before any compute; a preset
// without "metrics" gets default_metrics().
PresetLoad load_checked_preset(const std::string& id_or_path);
PresetLoad parse_checked_preset(const std::string& text, const std::string& origin);

} // namespace itslab
