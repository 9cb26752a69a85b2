#include "io/preset.hpp"
#include "model/neural_model.hpp"

#include "backend/backend.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "io/builtin_presets.hpp"
#include "io/preset_schema.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <tuple>

namespace itslab {

using nlohmann::json;

namespace {

std::string type_name(const json& j) {
  if (j.is_number())
    return "number " + j.dump();
  if (j.is_string())
    return "string " + j.dump();
  return std::string(j.type_name());
}

std::string fmt(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Collects every problem before giving up, so one load reports them all.
class Validator {
public:
  std::vector<std::string> errors, warnings;
  std::vector<std::pair<std::string, json>> unknown;

  void error(const std::string& path, const std::string& msg) {
    errors.push_back(path + ": " + msg);
  }

  // Warns about keys of obj not in known and keeps them for saving.
  void check_keys(const json& obj, const std::string& path, const std::set<std::string>& known) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (known.count(it.key()))
        continue;
      const std::string p = path.empty() ? it.key() : path + "." + it.key();
      warnings.push_back(p + ": unknown field, kept as is");
      unknown.emplace_back(p, it.value());
    }
  }

  std::optional<double> number(const json& j, const std::string& path) {
    if (!j.is_number()) {
      error(path, "must be a number, got " + type_name(j));
      return std::nullopt;
    }
    const double v = j.get<double>();
    if (!std::isfinite(v)) {
      error(path, "must be finite");
      return std::nullopt;
    }
    return v;
  }

  std::optional<int64_t> integer(const json& j, const std::string& path, int64_t lo, int64_t hi) {
    if (!j.is_number_integer()) {
      error(path, "must be an integer, got " + type_name(j));
      return std::nullopt;
    }
    if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      error(path, "must be ≤ " + std::to_string(hi) + ", got " + j.dump());
      return std::nullopt;
    }
    const int64_t v = j.get<int64_t>();
    if (v < lo) {
      error(path, "must be ≥ " + std::to_string(lo) + ", got " + std::to_string(v));
      return std::nullopt;
    }
    if (v > hi) {
      error(path, "must be ≤ " + std::to_string(hi) + ", got " + std::to_string(v));
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::string> text(const json& j, const std::string& path) {
    if (!j.is_string()) {
      error(path, "must be a string, got " + type_name(j));
      return std::nullopt;
    }
    return j.get<std::string>();
  }

  const json* object(const json& parent, const std::string& key, const std::string& path,
                     bool required) {
    if (!parent.contains(key)) {
      if (required)
        error(path, "missing (required)");
      return nullptr;
    }
    const json& j = parent.at(key);
    if (!j.is_object()) {
      error(path, "must be an object, got " + type_name(j));
      return nullptr;
    }
    return &j;
  }

  std::vector<double> numbers(const json& j, const std::string& path) {
    std::vector<double> out;
    if (!j.is_array()) {
      error(path, "must be an array of numbers, got " + type_name(j));
      return out;
    }
    for (size_t i = 0; i < j.size(); ++i)
      if (auto v = number(j[i], path + "[" + std::to_string(i) + "]"))
        out.push_back(*v);
    return out;
  }

  Component component(const json& root, const std::string& key,
                      const std::vector<TypeSpec>& specs) {
    Component c;
    const json* obj = object(root, key, key, true);
    if (!obj)
      return c;
    if (!obj->contains("type")) {
      error(key + ".type", "missing (required)");
      return c;
    }
    const auto type = text(obj->at("type"), key + ".type");
    if (!type)
      return c;
    const TypeSpec* spec = find_spec(specs, *type);
    if (!spec) {
      std::string known;
      for (const TypeSpec& s : specs)
        known += (known.empty() ? "" : ", ") + s.type;
      error(key + ".type", "unknown " + key + " '" + *type + "' (expected one of: " + known + ")");
      return c;
    }
    c.type = *type;
    std::set<std::string> known = {"type"};
    params(*obj, key, *spec, c, known);
    check_keys(*obj, key, known);
    return c;
  }

  // Reads spec's parameters from obj into c (defaults for the absent ones); adds their names to
  // known. Paths are key.name.
  void params(const json& obj_ref, const std::string& key, const TypeSpec& spec_ref, Component& c,
              std::set<std::string>& known) {
    const json* obj = &obj_ref;
    const TypeSpec* spec = &spec_ref;
    for (const ParamSpec& p : spec->params) {
      known.insert(p.name);
      const std::string path = key + "." + p.name;
      if (!obj->contains(p.name)) {
        if (p.kind == ParamSpec::Kind::text && !p.optional)
          c.str[p.name] = p.def_text;
        else if (!p.optional && p.kind != ParamSpec::Kind::number_list)
          c.num[p.name] = p.def;
        continue;
      }
      const json& v = obj->at(p.name);
      switch (p.kind) {
      case ParamSpec::Kind::number:
        if (auto x = number(v, path))
          in_range(*x, p, path) ? void(c.num[p.name] = *x) : void();
        break;
      case ParamSpec::Kind::integer:
        if (auto x = integer(v, path, static_cast<int64_t>(p.lo), static_cast<int64_t>(p.hi)))
          c.num[p.name] = static_cast<double>(*x);
        break;
      case ParamSpec::Kind::text:
        if (auto s = text(v, path)) {
          if (!p.choices.empty() &&
              std::find(p.choices.begin(), p.choices.end(), *s) == p.choices.end()) {
            std::string list;
            for (const std::string& ch : p.choices)
              list += (list.empty() ? "" : ", ") + ch;
            error(path, "must be one of " + list + ", got '" + *s + "'");
          } else {
            c.str[p.name] = *s;
          }
        }
        break;
      case ParamSpec::Kind::number_list:
        c.lists[p.name] = numbers(v, path);
        break;
      }
    }
  }

  bool in_range(double x, const ParamSpec& p, const std::string& path) {
    if (x < p.lo || (p.lo_open && x == p.lo)) {
      error(path,
            std::string("must be ") + (p.lo_open ? "> " : "≥ ") + fmt(p.lo) + ", got " + fmt(x));
      return false;
    }
    if (x > p.hi) {
      error(path, "must be ≤ " + fmt(p.hi) + ", got " + fmt(x));
      return false;
    }
    return true;
  }
};

GmmSpec parse_gmm(Validator& v, const json& g) {
  GmmSpec s;
  const std::string base = "model.gmm";
  v.check_keys(g, base, {"weights", "means", "stds", "covariances", "labels"});
  if (!g.contains("weights"))
    v.error(base + ".weights", "missing (required)");
  else
    s.weights = v.numbers(g["weights"], base + ".weights");
  if (!g.contains("means")) {
    v.error(base + ".means", "missing (required)");
  } else if (!g["means"].is_array()) {
    v.error(base + ".means", "must be an array of arrays, got " + type_name(g["means"]));
  } else {
    for (size_t k = 0; k < g["means"].size(); ++k)
      s.means.push_back(v.numbers(g["means"][k], base + ".means[" + std::to_string(k) + "]"));
  }
  if (g.contains("stds"))
    s.stds = v.numbers(g["stds"], base + ".stds");
  if (g.contains("covariances")) {
    const json& C = g["covariances"];
    if (!C.is_array()) {
      v.error(base + ".covariances", "must be an array of matrices, got " + type_name(C));
    } else {
      for (size_t k = 0; k < C.size(); ++k) {
        const std::string p = base + ".covariances[" + std::to_string(k) + "]";
        std::vector<std::vector<double>> m;
        if (!C[k].is_array())
          v.error(p, "must be a matrix (array of rows), got " + type_name(C[k]));
        else
          for (size_t i = 0; i < C[k].size(); ++i)
            m.push_back(v.numbers(C[k][i], p + "[" + std::to_string(i) + "]"));
        s.covariances.push_back(m);
      }
    }
  }
  if (g.contains("labels")) {
    const json& L = g["labels"];
    if (!L.is_array())
      v.error(base + ".labels", "must be an array of integers, got " + type_name(L));
    else
      for (size_t k = 0; k < L.size(); ++k)
        if (auto x = v.integer(L[k], base + ".labels[" + std::to_string(k) + "]", 0, 1 << 20))
          s.labels.push_back(static_cast<int>(*x));
  }
  return s;
}

// The reward's required fields and the particle method's needs (dimensions are checked when
// the experiment is built, where the model is known).
void cross_check_particles(Validator& v, const Preset& p) {
  const Component& r = p.reward;
  auto need_list = [&](const char* name, const std::string& why) {
    if (!r.lists.count(name))
      v.error(std::string("reward.") + name, "missing (required" + why + ")");
  };
  if (r.type == "linear")
    need_list("a", "");
  if (r.type == "distance")
    need_list("center", "");
  if (r.type == "region") {
    if (r.str.at("shape") == "box") {
      need_list("lo", " for shape 'box'");
      need_list("hi", " for shape 'box'");
    } else {
      need_list("center", " for shape 'disc'");
    }
  }
  if (r.type == "expression" && (!r.str.count("expr") || r.str.at("expr").empty()))
    v.error("reward.expr", "missing (required)");

  const Component& m = p.particle_method;
  const std::string& method = m.type;
  if ((method == "best_of_n" || method == "random_search" || method == "zero_order_search" ||
       method == "fk_steering") &&
      r.type == "none")
    v.error("reward",
            "particles.method '" + method + "' needs a reward (add a \"reward\" section)");
  if (method == "fkc") {
    const std::string& target = m.str.at("target");
    if (target == "product" && !m.str.count("second_model"))
      v.error("particles.second_model", "missing (required for target 'product')");
    if (target == "cfg" && p.model_class < 0)
      v.error("model.class", "fkc target 'cfg' needs a target class");
    if (p.guidance.type != "none")
      v.error("guidance", "fkc composes the scores itself; remove the guidance section (use "
                          "particles.target 'cfg' and particles.weight)");
  }
}

// Checks that need several fields at once; engine/experiment.cpp then builds the objects.
void cross_check(Validator& v, Preset& p) {
  auto& n = p.process.num;
  if (n.count("sigma_min") && n.count("sigma_max") && !(n["sigma_max"] > n["sigma_min"]))
    v.error("process.sigma_max", "must be > sigma_min (" + fmt(n["sigma_min"]) + ")");
  if (n.count("beta_min") && n.count("beta_max") && !(n["beta_max"] > n["beta_min"]))
    v.error("process.beta_max", "must be > beta_min (" + fmt(n["beta_min"]) + ")");
  if (n.count("t_min") && n.count("t_max") && !(n["t_max"] > n["t_min"]))
    v.error("process.t_max", "must be > t_min (" + fmt(n["t_min"]) + ")");
  if (p.process.type == "vp_cosine" && n.count("t_max") && n["t_max"] >= 1)
    v.error("process.t_max", "must be < 1 for vp_cosine (α(1) = 0 is singular)");
  if (p.guidance.type == "cfg") {
    if (p.model_class < 0)
      v.error("guidance", "cfg needs a target class: set model.class");
    if (auto it = p.guidance.lists.find("interval");
        it != p.guidance.lists.end() &&
        (it->second.size() != 2 || !(it->second[0] < it->second[1])))
      v.error("guidance.interval", "must be [t_lo, t_hi] with t_lo < t_hi");
  }
  if (p.schedule.type == "custom" && p.schedule.lists.size() != 1)
    v.error("schedule", "custom needs exactly one of 'sigmas' and 't'");
  cross_check_particles(v, p);
}

} // namespace

PresetLoad parse_preset(const std::string& text, const std::string& origin) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(origin + ": not valid JSON (byte " + std::to_string(e.byte) +
                "): " + std::string(e.what()).substr(std::string(e.what()).find(':') + 2));
  }
  if (!root.is_object())
    throw Error(origin + ": a preset must be a JSON object, got " + type_name(root));

  Validator v;
  Preset p;
  if (!root.contains("schema"))
    v.error("schema", "missing (required: \"" + std::string(kPresetSchema) + "\")");
  else if (auto s = v.text(root["schema"], "schema"); s && *s != kPresetSchema)
    v.error("schema", "unsupported schema '" + *s + "' (this version reads " + kPresetSchema + ")");
  if (root.contains("name"))
    if (auto s = v.text(root["name"], "name"))
      p.name = *s;
  if (root.contains("seed")) {
    const json& s = root["seed"];
    if (s.is_number_unsigned())
      p.seed = s.get<uint64_t>();
    else if (s.is_number_integer())
      v.error("seed", "must be ≥ 0, got " + s.dump());
    else
      v.error("seed", "must be a non-negative integer, got " + type_name(s));
  }
  if (const json* m = v.object(root, "model", "model", true)) {
    v.check_keys(*m, "model", {"builtin", "gmm", "path", "class"});
    if (m->contains("builtin") + m->contains("gmm") + m->contains("path") != 1)
      v.error("model", "give exactly one of 'builtin', 'gmm' and 'path'");
    else if (m->contains("builtin")) {
      if (auto s = v.text(m->at("builtin"), "model.builtin"))
        p.model_builtin = *s;
    } else if (m->contains("path")) {
      if (auto s = v.text(m->at("path"), "model.path")) {
        if (s->empty())
          v.error("model.path",
                  "empty (give the folder holding config.json and model.safetensors)");
        p.model_path = *s;
      }
    } else if (!m->at("gmm").is_object()) {
      v.error("model.gmm", "must be an object, got " + type_name(m->at("gmm")));
    } else {
      p.model_gmm = parse_gmm(v, m->at("gmm"));
    }
    if (m->contains("class"))
      if (auto c = v.integer(m->at("class"), "model.class", -1, 1 << 20))
        p.model_class = static_cast<int>(*c);
  }
  p.process = v.component(root, "process", process_specs());
  p.schedule = v.component(root, "schedule", schedule_specs());
  p.solver = v.component(root, "solver", solver_specs());
  if (root.contains("guidance"))
    p.guidance = v.component(root, "guidance", guidance_specs());
  if (const json* parts = v.object(root, "particles", "particles", true)) {
    std::set<std::string> known = {"count", "method"};
    if (!parts->contains("count"))
      v.error("particles.count", "missing (required)");
    else if (auto c = v.integer(parts->at("count"), "particles.count", 1, 1 << 24))
      p.particles = *c;
    std::string method = "independent";
    if (parts->contains("method"))
      if (auto m = v.text(parts->at("method"), "particles.method"))
        method = *m;
    if (const TypeSpec* spec = find_spec(particle_method_specs(), method)) {
      p.particle_method.type = method;
      v.params(*parts, "particles", *spec, p.particle_method, known);
    } else {
      std::string names;
      for (const TypeSpec& s : particle_method_specs())
        names += (names.empty() ? "" : ", ") + s.type;
      v.error("particles.method",
              "unknown method '" + method + "' (expected one of: " + names + ")");
    }
    v.check_keys(*parts, "particles", known);
  }
  if (root.contains("reward"))
    p.reward = v.component(root, "reward", reward_specs());
  if (root.contains("backend")) {
    if (auto b = v.text(root["backend"], "backend")) {
      if (const std::string why = check_backend_spec(*b); !why.empty())
        v.error("backend", why);
      else
        p.backend = *b;
    }
  }
  if (root.contains("metrics")) {
    const json& m = root["metrics"];
    if (!m.is_array()) {
      v.error("metrics", "must be an array of metric names, got " + type_name(m));
    } else {
      for (size_t i = 0; i < m.size(); ++i) {
        const std::string path = "metrics[" + std::to_string(i) + "]";
        if (auto s = v.text(m[i], path)) {
          const auto& names = metric_names();
          if (std::find(names.begin(), names.end(), *s) == names.end())
            v.error(path, "unknown metric '" + *s +
                              "' (expected frechet, mmd, sliced_wasserstein, log_density, "
                              "mode_coverage, fid or class_accuracy)");
          else
            p.metrics.push_back(*s);
        }
      }
    }
  } else {
    p.metrics = {"frechet", "mmd", "log_density", "mode_coverage"};
    p.metrics_defaulted = true;
  }
  v.check_keys(root, "",
               {"schema", "name", "seed", "model", "process", "schedule", "solver", "particles",
                "backend", "metrics", "guidance", "reward"});
  if (v.errors.empty())
    cross_check(v, p);
  if (!v.errors.empty()) {
    std::string msg = origin + ": invalid preset";
    for (const std::string& e : v.errors)
      msg += "\n  " + e;
    throw Error(msg);
  }
  p.unknown = std::move(v.unknown);
  return {std::move(p), std::move(v.warnings)};
}

PresetLoad load_preset(const std::string& path) {
  return parse_preset(read_file(path), path);
}

std::vector<std::string> builtin_preset_ids() {
  std::vector<std::string> ids;
  for (const auto& b : builtin_preset_texts())
    ids.push_back(b.id);
  return ids;
}

std::string builtin_preset_text(const std::string& id) {
  for (const auto& b : builtin_preset_texts())
    if (b.id == id)
      return b.json;
  throw Error("unknown built-in preset '" + id + "' (see itslab-cli presets)");
}

PresetLoad load_preset_ref(const std::string& id_or_path) {
  for (const auto& b : builtin_preset_texts())
    if (b.id == id_or_path)
      return parse_preset(b.json, "preset " + b.id);
  return load_preset(id_or_path);
}

json preset_to_json(const Preset& p) {
  json j;
  j["schema"] = kPresetSchema;
  j["name"] = p.name;
  j["seed"] = p.seed;
  json m;
  if (p.model_gmm) {
    const GmmSpec& g = *p.model_gmm;
    json gj{{"weights", g.weights}, {"means", g.means}};
    if (!g.stds.empty())
      gj["stds"] = g.stds;
    if (!g.covariances.empty())
      gj["covariances"] = g.covariances;
    if (!g.labels.empty())
      gj["labels"] = g.labels;
    m["gmm"] = gj;
  } else if (!p.model_path.empty()) {
    m["path"] = p.model_path;
  } else {
    m["builtin"] = p.model_builtin;
  }
  if (p.model_class >= 0)
    m["class"] = p.model_class;
  j["model"] = m;
  for (const auto& [key, c, specs] : {std::tuple{"process", &p.process, &process_specs()},
                                      std::tuple{"schedule", &p.schedule, &schedule_specs()},
                                      std::tuple{"solver", &p.solver, &solver_specs()},
                                      std::tuple{"guidance", &p.guidance, &guidance_specs()},
                                      std::tuple{"reward", &p.reward, &reward_specs()}}) {
    if (c->type == "none" && (key == std::string("guidance") || key == std::string("reward")))
      continue;
    json cj{{"type", c->type}};
    for (const auto& [k, v] : c->num)
      cj[k] = v;
    // integer parameters are written as JSON integers
    if (const TypeSpec* spec = find_spec(*specs, c->type))
      for (const ParamSpec& s : spec->params)
        if (s.kind == ParamSpec::Kind::integer && c->num.count(s.name))
          cj[s.name] = static_cast<int64_t>(c->num.at(s.name));
    for (const auto& [k, v] : c->str)
      cj[k] = v;
    for (const auto& [k, v] : c->lists)
      cj[k] = v;
    j[key] = cj;
  }
  json parts{{"count", p.particles}};
  if (p.particle_method.type != "independent") {
    const Component& c = p.particle_method;
    parts["method"] = c.type;
    for (const auto& [k, v] : c.num)
      parts[k] = v;
    if (const TypeSpec* spec = find_spec(particle_method_specs(), c.type))
      for (const ParamSpec& s : spec->params)
        if (s.kind == ParamSpec::Kind::integer && c.num.count(s.name))
          parts[s.name] = static_cast<int64_t>(c.num.at(s.name));
    for (const auto& [k, v] : c.str)
      parts[k] = v;
    for (const auto& [k, v] : c.lists)
      parts[k] = v;
  }
  j["particles"] = parts;
  j["backend"] = p.backend;
  j["metrics"] = p.metrics;
  for (const auto& [path, value] : p.unknown) {
    std::string ptr = "/" + path;
    std::replace(ptr.begin(), ptr.end(), '.', '/');
    j[json::json_pointer(ptr)] = value;
  }
  return j;
}

std::string preset_to_string(const Preset& p) {
  return preset_to_json(p).dump(2) + "\n";
}

void save_preset(const Preset& p, const std::string& path) {
  write_file_atomic(path, preset_to_string(p));
}

bool preset_is_network(const Preset& p) {
  return !p.model_path.empty() || p.model_builtin.rfind("nn/", 0) == 0;
}

std::string preset_network_folder(const Preset& p) {
  if (!p.model_path.empty())
    return p.model_path;
  const std::string id = p.model_builtin.substr(3);
  const auto ids = bundled_model_ids();
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
    std::string known;
    for (const std::string& b : ids)
      known += (known.empty() ? "" : ", ") + std::string("nn/") + b;
    throw Error("model.builtin: unknown bundled network '" + p.model_builtin + "' (" +
                (known.empty() ? "no bundled models were found; set ITSLAB_MODELS to their folder"
                               : "bundled: " + known) +
                ")");
  }
  return bundled_models_dir() + "/" + id;
}

GaussianMixture preset_model(const Preset& p) {
  if (preset_is_network(p))
    throw Error("model: '" + (p.model_path.empty() ? p.model_builtin : p.model_path) +
                "' is a neural network, not a mixture");
  if (p.model_gmm)
    return GaussianMixture("inline", *p.model_gmm);
  return builtin_gmm(p.model_builtin);
}

} // namespace itslab
