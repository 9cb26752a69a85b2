#pragma once
#include "model/gaussian_mixture.hpp"

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace itslab {

inline constexpr const char* kPresetSchema = "itslab.preset/1";

// A process, schedule or solver: its type and every parameter, defaults filled in.
struct Component {
  std::string type;
  std::map<std::string, double> num;
  std::map<std::string, std::string> str;
  std::map<std::string, std::vector<double>> lists;
};

// A fully validated experiment; saving it writes every value explicitly so a run is
// reproduced exactly.
struct Preset {
  std::string name = "Untitled";
  uint64_t seed = 0;
  std::string model_builtin;        // e.g. "gmm/eight-gaussians", or "nn/<id>" (a bundled network)
  std::optional<GmmSpec> model_gmm; // inline mixture (exclusive with model_builtin)
  std::string model_path;           // folder of an itslab.model/1 network (exclusive with both)
  int model_class = -1;             // condition on this class; −1 = unconditional
  Component process, schedule, solver;
  Component guidance{"none", {}, {}, {}}; // optional section; "none" is not written
  int64_t particles = 4096;
  // particles.method and its parameters (type = method); "independent" writes no parameters
  Component particle_method{"independent", {}, {}, {}};
  Component reward{"none", {}, {}, {}}; // optional section; "none" is not written
  std::string backend = "auto";
  std::vector<std::string> metrics;
  bool metrics_defaulted = false; // "metrics" was absent: the model's defaults apply (not saved)
  // Fields this version does not know, kept (by JSON pointer) and written back on save.
  std::vector<std::pair<std::string, nlohmann::json>> unknown;
};

struct PresetLoad {
  Preset preset;
  std::vector<std::string> warnings; // unknown fields, by JSON path
};

// Parses and validates; on any problem throws Error listing every problem, one per line, each
// prefixed by its JSON path ("particles.count: must be ≥ 1, got 0"). `origin` names the source
// in messages (a file path or "clipboard").
PresetLoad parse_preset(const std::string& text, const std::string& origin);
PresetLoad load_preset(const std::string& path);
// A built-in preset (resources/presets/<id>.json) or a file path.
PresetLoad load_preset_ref(const std::string& id_or_path);
nlohmann::json preset_to_json(const Preset& p);
std::string preset_to_string(const Preset& p);
// Atomic (core/file_io.hpp): the old file survives any failure.
void save_preset(const Preset& p, const std::string& path);

std::vector<std::string> builtin_preset_ids();
std::string builtin_preset_text(const std::string& id);

// True when the preset's model is a neural network (model.path or a "nn/" built-in).
bool preset_is_network(const Preset& p);
// The folder of the preset's network: model.path, or the bundled model a "nn/<id>" names.
std::string preset_network_folder(const Preset& p);
// The mixture a preset names (built-in or inline), constructed and validated; Error for networks.
GaussianMixture preset_model(const Preset& p);

} // namespace itslab
