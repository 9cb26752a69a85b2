#pragma once
#include <limits>
#include <string>
#include <vector>

namespace itslab {

// The parameters each process / schedule / solver type takes: validation, defaults, and the
// text the app shows as tooltips all come from this one table.
struct ParamSpec {
  enum class Kind { number, integer, text, number_list };
  std::string name;
  Kind kind = Kind::number;
  double def = 0;
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;             // lo itself not allowed
  std::vector<std::string> choices; // text parameters; empty: any text
  std::string def_text;
  std::string help;
  bool optional = false; // no default: absent is allowed (and not written on save)
};

struct TypeSpec {
  std::string type;
  std::string help;
  std::vector<ParamSpec> params;
};

const std::vector<TypeSpec>& process_specs();
const std::vector<TypeSpec>& schedule_specs();
const std::vector<TypeSpec>& solver_specs();
const std::vector<TypeSpec>& guidance_specs();
// `particles.method` and its parameters (besides `count`), and the top-level `reward` section.
const std::vector<TypeSpec>& particle_method_specs();
const std::vector<TypeSpec>& reward_specs();
const TypeSpec* find_spec(const std::vector<TypeSpec>& specs, const std::string& type);
const std::vector<std::string>& metric_names();

} // namespace itslab
