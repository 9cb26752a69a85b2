// `itslab-cli export-schedule`: a preset's step grid (an optimised boss / search schedule,
// computed or taken from the cache, or any other schedule) as a custom schedule object that
// can be pasted into a preset's "schedule" section.
#include "commands.hpp"

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "engine/experiment.hpp"
#include "engine/optimised_schedule.hpp"

#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

namespace itslab::cli {

namespace {

struct ExportArgs {
  std::string preset = "default", out;
};

void run_export(const ExportArgs& a) {
  const PresetLoad l = load_checked_preset(a.preset); // computes (and caches) the schedule
  for (const std::string& w : l.warnings)
    std::cerr << "warning: " << w << "\n";
  const Preset& p = l.preset;
  const ScheduleParams s = schedule_params(p.schedule);
  nlohmann::json j;
  j["type"] = "custom";
  if (is_optimised_schedule(s.type)) {
    const Experiment e = build_experiment(p);
    // the optimised σ list itself: a custom schedule with it builds the identical grid
    j["sigmas"] = optimise_schedule(e, p, s).sigmas;
  } else {
    const Experiment e = build_experiment(p);
    std::vector<double> sig(e.grid.sigma.begin(), e.grid.sigma.end() - 1);
    bool finite = true;
    for (double v : sig)
      finite = finite && std::isfinite(v);
    if (finite) {
      j["sigmas"] = sig;
    } else { // e.g. a flow grid starting at t = 1 (σ_edm = ∞): process times instead
      j["t"] = std::vector<double>(e.grid.t.begin(), e.grid.t.end() - 1);
    }
  }
  const std::string text = j.dump(2) + "\n";
  if (a.out.empty()) {
    std::cout << text;
  } else {
    const auto parent = std::filesystem::path(a.out).parent_path();
    if (!parent.empty())
      std::filesystem::create_directories(parent);
    write_file_atomic(a.out, text);
  }
}

} // namespace

void add_export_schedule(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* c = app.add_subcommand(
      "export-schedule",
      "Print a preset's step grid (boss / search: the optimised one) as a custom schedule");
  c->add_option("--preset", a->preset, "built-in preset id or preset file")->capture_default_str();
  c->add_option("--out", a->out, "write the JSON object to this file instead of stdout");
  c->callback([a] { run_export(*a); });
}

} // namespace itslab::cli
