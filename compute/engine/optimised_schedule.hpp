#pragma once
// Schedules optimised for a loaded model, process and solver (processes-schedules note §5):
//   boss   — dynamic programming over a Karras-spaced candidate grid minimising the summed
//            one-step local error of the solver against a fine Heun reference (BOSS, §5.1);
//   search — AutoDiffusion-style evolutionary search over σ placements with a sample-quality
//            fitness (Fréchet distance by default) at fixed noise (§5.3).
// Results are cached in memory per (model, class, guidance, process, solver, schedule params).
#include "engine/experiment.hpp"

#include <string>
#include <vector>

namespace itslab {

bool is_optimised_schedule(const std::string& type);

struct OptimisedSchedule {
  std::vector<double> sigmas;  // positive σ_edm nodes, descending (σ = 0 is implied)
  std::vector<double> history; // search: best fitness after the initial population and each
                               // generation; boss: {DP cost}
  double objective = 0;        // boss: summed local error; search: best fitness
  int64_t search_nfe = 0;      // denoiser calls per particle spent by the optimisation
  bool cached = false;         // this call was answered from the cache
};

// e needs model, process and solver (grid unused); p gives the class and guidance.
OptimisedSchedule optimise_schedule(const Experiment& e, const Preset& p, const ScheduleParams& s);

// The grid an optimised schedule's σ list gives (exactly what a custom schedule with these
// sigmas builds).
StepGrid grid_from_sigmas(const std::vector<double>& sigmas, const Process& P);

// search's fitness of a σ list (positive nodes, descending, first = the process's noise end)
// with the search's fixed noise and reference: what the search minimises.
double schedule_fitness(const Experiment& e, const Preset& p, const ScheduleParams& s,
                        const std::vector<double>& sigmas);

void clear_optimised_schedule_cache();

} // namespace itslab
