// itslab-cli: the headless front end (sample, presets, validate, info, export-preset, bench).
#include "commands.hpp"
#include "core/memory.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

namespace {
int run(int argc, char** argv) {
  CLI::App app{"ITS Lab: inference-time scaling of diffusion and flow models (headless)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "itslab-cli 0.1.0");
  itslab::cli::add_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return itslab::cli::exit_code();
}
} // namespace

int main(int argc, char** argv) {
  itslab::keep_freed_memory();
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // itslab::Error carries the user-facing message; anything else is still reported, not fatal
    std::cerr << "error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "error: unknown failure\n";
  }
  return 1;
}
