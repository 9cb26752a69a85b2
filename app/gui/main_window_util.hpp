#pragma once
// Shared by the files that define MainWindow (main_window.cpp, main_window_actions.cpp,
// main_window_presets.cpp): the layout version, the clipboard format and the applied preset.
#include "io/preset.hpp"

#include <nlohmann/json.hpp>

namespace itslab::gui::main_window_util {

inline constexpr int kLayoutVersion = 1;
inline constexpr const char* kMime = "application/x-itslab-preset";

// A preset as the window applies it: without "metrics" when it named none (the model's
// defaults then apply, which preset_to_json would write as an empty list).
inline nlohmann::json preset_json(const Preset& p) {
  nlohmann::json j = preset_to_json(p);
  if (p.metrics_defaulted)
    j.erase("metrics");
  return j;
}

} // namespace itslab::gui::main_window_util
