#pragma once
#include <string>
#include <vector>

namespace itslab {

struct BuiltinPresetText {
  std::string id;   // file stem in resources/presets/
  std::string json; // file contents
};

// Generated at build time from resources/presets/*.json, sorted by id.
const std::vector<BuiltinPresetText>& builtin_preset_texts();

} // namespace itslab
