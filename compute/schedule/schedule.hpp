#pragma once
#include "process/process.hpp"

#include <string>
#include <vector>

namespace itslab {

struct ScheduleParams {
  std::string type = "karras";
  int steps = 20;
  double rho = 7.0;              // karras exponent
  double s = 0.008;              // cosine offset
  double shift = 3.0;            // time_shift s
  std::string table = "sd15";    // ays: published table (sd15, sdxl, svd)
  std::string range = "process"; // ays: "process" rescales the table to the process's σ range
  std::vector<double> sigmas;    // custom: descending σ_edm values
  std::vector<double> times;     // custom: descending process times (alternative to sigmas)
  // boss / search (engine/optimised_schedule.hpp): they need the model and solver, so
  // make_schedule() rejects them and build_experiment() computes them.
  int candidates = 200;           // boss: Karras-spaced candidate σ nodes
  int particles = 256;            // boss: reference batch; search: fitness batch (default 2048)
  int population = 16;            // search
  int generations = 10;           // search
  std::string metric = "frechet"; // search fitness: frechet, mmd or sliced_wasserstein
};

// M steps as M+1 nodes descending in noise; node M is always the data end (σ = 0, α = 1).
// Stored in the process's time, as σ_edm = σ/α, and as the process's (α, σ, α̇, σ̇).
struct StepGrid {
  std::vector<double> t;
  std::vector<double> sigma; // σ_edm
  std::vector<ProcessPoint> point;
  int steps() const { return static_cast<int>(t.size()) - 1; }
  double lambda(int i) const; // −log σ_edm, +∞ at the end and −∞ where α = 0
};

StepGrid make_schedule(const ScheduleParams& p, const Process& process);
// Align Your Steps σ levels (M + 1 values, descending) by log-linear interpolation of a
// published 10-step table (Sabour et al. 2024).
std::vector<double> ays_sigmas(const std::string& table, int steps);
std::vector<std::string> schedule_types();

} // namespace itslab
