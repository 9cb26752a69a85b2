// itslab-cli: the headless front end (sample, presets, validate, info, export-preset, bench).
#include "commands.hpp"

#include "core/error.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"ITS Lab: inference-time scaling of diffusion and flow models (headless)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "itslab-cli 0.1.0");
  itslab::cli::add_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const itslab::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return itslab::cli::exit_code();
}
