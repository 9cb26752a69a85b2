#pragma once
// What a run produces for the app, as immutable values shared by pointer between the engine
// thread and the GUI (a queued signal copies the pointer, never the payload).
#include "core/host.hpp"
#include "engine/run.hpp"
#include "engine/sweep.hpp"
#include "model/gaussian_mixture.hpp"

#include <QMetaType>
#include <memory>
#include <string>
#include <vector>

namespace itslab::gui {

// One recorded grid node: index 0 is x_T (the initial noise), index i the state after step i.
struct RunFrame {
  int step = 0, steps = 0;
  double t = 0;         // process time of the node
  double sigma_edm = 0; // σ/α of the node
  double alpha = 1, sigma = 0;
  int nfe = 0;
  double wall_ms = 0;
  RowMatrixXf positions; // the first K particles (K = snapshot size), K × d
  // x̂0 = E[x0 | x_t] of those particles at this node (image networks only; else empty)
  RowMatrixXf denoised;
  // Particle-method diagnostics; ess < 0 when the method carries no weights.
  double ess = -1, log_w_spread = 0;
  double reward_mean = 0, reward_max = 0, reward_std = 0;
  bool has_reward = false;
  int resamplings = 0;
  std::vector<float> log_w, reward;
  std::vector<int32_t> ancestors;
  double spread = 0; // RMS distance of the snapshot particles from their mean
  int64_t particles = 0;
};
using FramePtr = std::shared_ptr<const RunFrame>;
using FrameList = std::vector<FramePtr>;

// What the views need before the first step: the target model, the grid and the process curve.
struct RunSetup {
  int generation = 0;
  std::shared_ptr<const GaussianMixture>
      model; // the target p0 (class-conditional if a class is set)
  int dim = 0;
  int64_t particles = 0;
  int steps = 0;
  std::vector<double> grid_t, grid_sigma;   // nodes: process time and σ_edm
  std::vector<double> curve_t, curve_sigma; // σ_edm(t) of the process, dense
  std::string process, schedule, solver;
  std::string backend, device, notice;
  // Trained networks: its name ("" for exact mixtures); `model` is then the mixture a 2-D
  // network was trained on (the density view shows the data, not the network's law).
  std::string network;
  // Image networks: [C, H, W], x = pixel·scale + offset, and the class names of the labels.
  std::vector<int> image_shape;
  double pixel_scale = 1, pixel_offset = 0;
  std::vector<std::string> class_names;
  int model_class = -1;             // the class the run is conditioned on (−1: none)
  std::vector<std::string> metrics; // what the run is measured by (the model's defaults applied)
};
using SetupPtr = std::shared_ptr<const RunSetup>;

struct RunOutput {
  int generation = 0;
  RowMatrixXf samples;
  int nfe = 0;
  int64_t nfe_total = 0; // model evaluations of all particles, search and CFG included
  int64_t particles = 0; // N run (best-of-N and 'keep' return fewer samples)
  double wall_ms = 0;
  std::string backend, device, notice;
};
using OutputPtr = std::shared_ptr<const RunOutput>;

struct MetricsResult {
  int generation = 0;
  std::map<std::string, double> values;
  double ms = 0;
  std::string error;
};

// A quality-versus-NFE sweep as the NfeCurveChart asks for it: solvers × step counts, or
// (budget) particle methods × particle counts of the current preset, compared by reward at
// their total NFE.
struct SweepRequest {
  std::vector<std::string> solvers;
  std::vector<int> steps;
  std::string metric = "frechet";
  int64_t particles = 2048;
  bool budget = false;
  std::vector<std::string> methods;
  std::vector<int64_t> counts;
};

} // namespace itslab::gui

Q_DECLARE_METATYPE(itslab::gui::FramePtr)
Q_DECLARE_METATYPE(itslab::gui::FrameList)
Q_DECLARE_METATYPE(itslab::gui::SetupPtr)
Q_DECLARE_METATYPE(itslab::gui::OutputPtr)
Q_DECLARE_METATYPE(itslab::gui::MetricsResult)
Q_DECLARE_METATYPE(itslab::gui::SweepRequest)
Q_DECLARE_METATYPE(itslab::SweepTable)
