#pragma once
#include <CLI/CLI.hpp>

namespace itslab::cli {

// Registers every subcommand on app; each runs from its parse callback.
void add_commands(CLI::App& app);
void add_bench(CLI::App& app);
void add_sweep(CLI::App& app);           // sweep, merge (sweep.cpp)
void add_export_schedule(CLI::App& app); // export-schedule (export_schedule.cpp)
void add_data(CLI::App& app);            // data (data.cpp)
void add_models(CLI::App& app);          // models, check-model (models.cpp)
// The exit status the command that ran asked for (0 unless it reported a failure).
int exit_code();
void set_exit_code(int code);

} // namespace itslab::cli
