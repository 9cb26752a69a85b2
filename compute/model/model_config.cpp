// config.json of an itslab.model/1 folder (docs/model-format.md).
#include "core/error.hpp"
#include "model/neural_model.hpp"

#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace itslab {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// Reads one JSON object, remembering which keys were consumed so the rest can be reported as
// unknown; every failure names origin and the dotted path of the field.
class Reader {
public:
  Reader(const json& obj, std::string origin, std::string path, std::vector<std::string>& warnings)
      : obj_(obj), origin_(std::move(origin)), path_(std::move(path)), warnings_(warnings) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(origin_ + ": " + field(key) + ": " + what);
  }
  std::string field(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }

  bool has(const std::string& key) const { return obj_.contains(key); }
  const json& at(const std::string& key) {
    seen_.insert(key);
    if (!obj_.contains(key))
      fail(key, "required field missing");
    return obj_.at(key);
  }
  void skip(const std::string& key) { seen_.insert(key); }

  std::string str(const std::string& key) {
    const json& v = at(key);
    if (!v.is_string())
      fail(key, "must be a string, is " + std::string(v.type_name()));
    return v.get<std::string>();
  }
  std::string one_of(const std::string& key, const std::set<std::string>& allowed) {
    const std::string v = str(key);
    if (!allowed.count(v)) {
      std::string list;
      for (const std::string& a : allowed)
        list += (list.empty() ? "" : ", ") + a;
      fail(key, "'" + v + "' is not supported (expected " + list + ")");
    }
    return v;
  }
  double num(const std::string& key) {
    const json& v = at(key);
    if (!v.is_number())
      fail(key, "must be a number, is " + std::string(v.type_name()));
    const double d = v.get<double>();
    if (!std::isfinite(d))
      fail(key, "must be finite");
    return d;
  }
  int integer(const std::string& key, int lo, int hi) {
    const json& v = at(key);
    if (!v.is_number_integer())
      fail(key, "must be an integer, is " + std::string(v.type_name()));
    const int64_t i = v.get<int64_t>();
    if (i < lo || i > hi)
      fail(key, std::to_string(i) + " is out of range [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "]");
    return static_cast<int>(i);
  }
  std::vector<int> ints(const std::string& key, int lo, int hi) {
    const json& v = at(key);
    if (!v.is_array() || v.empty())
      fail(key, "must be a non-empty array of integers");
    std::vector<int> out;
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_number_integer())
        fail(key, "entry " + std::to_string(i) + " must be an integer");
      const int64_t e = v[i].get<int64_t>();
      if (e < lo || e > hi)
        fail(key, "entry " + std::to_string(i) + " (" + std::to_string(e) + ") is out of range [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "]");
      out.push_back(static_cast<int>(e));
    }
    return out;
  }
  Reader object(const std::string& key) {
    const json& v = at(key);
    if (!v.is_object())
      fail(key, "must be an object, is " + std::string(v.type_name()));
    return Reader(v, origin_, field(key), warnings_);
  }
  // Unknown keys become warnings, not errors: newer writers may add fields.
  void finish() const {
    for (auto it = obj_.begin(); it != obj_.end(); ++it)
      if (!seen_.count(it.key()))
        warnings_.push_back(origin_ + ": " + field(it.key()) + ": unknown field, ignored");
  }

private:
  const json& obj_;
  std::string origin_, path_;
  std::vector<std::string>& warnings_;
  std::set<std::string> seen_;
};

ProcessParams read_process(Reader r) {
  ProcessParams p;
  p.type = r.one_of("type", {"vp_linear", "vp_cosine", "ve", "edm", "flow_linear"});
  const std::pair<const char*, double*> params[] = {
      {"beta_min", &p.beta_min},   {"beta_max", &p.beta_max},   {"s", &p.s},
      {"sigma_min", &p.sigma_min}, {"sigma_max", &p.sigma_max}, {"sigma_data", &p.sigma_data},
      {"t_min", &p.t_min},         {"t_max", &p.t_max}};
  for (const auto& [key, dst] : params)
    if (r.has(key))
      *dst = r.num(key);
  if (p.type == "ve" && !r.has("sigma_min"))
    p.sigma_min = 0.01;
  if (p.type == "ve" && !r.has("sigma_max"))
    p.sigma_max = 50.0;
  r.finish();
  return p;
}

} // namespace

int ModelConfig::dim() const {
  int d = 1;
  for (const int s : data_shape)
    d *= s;
  return d;
}

ModelConfig parse_model_config(const std::string& text, const std::string& origin) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(origin + ": invalid JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  }
  if (!root.is_object())
    throw Error(origin + ": must be a JSON object");
  ModelConfig c;
  Reader r(root, origin, "", c.warnings);
  const std::string format = r.str("format");
  if (format != "itslab.model/1")
    r.fail("format", "'" + format + "' is not supported (expected \"itslab.model/1\")");
  c.name = r.str("name");
  c.architecture = r.one_of("architecture", {"mlp", "unet", "classifier"});
  c.data_shape = r.ints("data_shape", 1, 1 << 16);
  if (c.data_shape.size() != 1 && c.data_shape.size() != 3)
    r.fail("data_shape", "must be [d] or [C, H, W]");
  const bool denoiser = c.architecture != "classifier";
  if (c.architecture != "mlp" && !c.is_image())
    r.fail("data_shape", "a " + c.architecture + " needs an image shape [C, H, W]");

  if (c.architecture == "mlp") {
    Reader m = r.object("mlp");
    c.width = m.integer("width", 1, 1 << 16);
    c.blocks = m.integer("blocks", 0, 1024);
    const std::string act = m.one_of("activation", {"silu", "gelu", "relu"});
    c.activation = act == "silu"   ? Activation::silu
                   : act == "gelu" ? Activation::gelu
                                   : Activation::relu;
    m.one_of("norm", {"layernorm"});
    c.layer_norm_eps = m.num("layer_norm_eps");
    if (!(c.layer_norm_eps > 0))
      m.fail("layer_norm_eps", "must be > 0");
    m.finish();
  } else if (c.architecture == "unet") {
    Reader u = r.object("unet");
    c.channels = u.ints("channels", 1, 1 << 14);
    if (c.channels.size() != 3)
      u.fail("channels", "the U-Net has three levels: give three channel counts");
    c.groups = u.integer("groups", 1, 1 << 14);
    for (const int ch : c.channels)
      if (ch % c.groups != 0)
        u.fail("groups", std::to_string(ch) + " channels do not split into " +
                             std::to_string(c.groups) + " groups");
    c.embedding = u.integer("embedding", 1, 1 << 16);
    c.attention_heads = u.integer("attention_heads", 1, 1 << 14);
    if (c.channels[2] % c.attention_heads != 0)
      u.fail("attention_heads", std::to_string(c.channels[2]) + " channels do not split into " +
                                    std::to_string(c.attention_heads) + " heads");
    c.group_norm_eps = u.num("group_norm_eps");
    if (!(c.group_norm_eps > 0))
      u.fail("group_norm_eps", "must be > 0");
    u.finish();
    if (c.data_shape[1] % 4 != 0 || c.data_shape[2] % 4 != 0)
      r.fail("data_shape", "the U-Net halves the image twice: H and W must be multiples of 4");
  }

  if (denoiser) {
    c.process = read_process(r.object("process"));
    try {
      make_process(c.process);
    } catch (const Error& e) {
      throw Error(origin + ": process: " + e.what());
    }
    const std::string pred = r.one_of("prediction", {"eps", "x0", "v", "velocity"});
    c.prediction = prediction_from_string(pred);
    Reader t = r.object("time_embedding");
    t.one_of("kind", {"sinusoidal"});
    t.one_of("order", {"cos_sin"});
    c.temb_dim = t.integer("dim", 2, 1 << 16);
    if (c.temb_dim % 2 != 0)
      t.fail("dim", "must be even (cos and sin halves)");
    c.temb_scale = t.num("scale");
    c.temb_frequencies = t.str("frequencies");
    t.finish();
  }

  c.num_classes = r.integer("num_classes", 0, 1 << 20);
  if (c.architecture == "mlp" && c.num_classes != 0)
    r.fail("num_classes", "the mlp architecture takes no class input: must be 0");
  if (c.architecture == "classifier" && c.num_classes < 2)
    r.fail("num_classes", "a classifier needs at least 2 classes");
  if (c.architecture == "unet") {
    // the class embedding has num_classes + 1 rows, one of them the null class
    c.null_class = r.integer("null_class", 0, c.num_classes);
  } else if (r.has("null_class")) {
    c.null_class = r.integer("null_class", -1, c.num_classes);
  }
  if (r.has("class_names")) {
    const json& v = r.at("class_names");
    if (!v.is_array() || static_cast<int>(v.size()) != c.num_classes)
      r.fail("class_names",
             "must be an array of num_classes (" + std::to_string(c.num_classes) + ") strings");
    for (const json& s : v) {
      if (!s.is_string())
        r.fail("class_names", "must hold strings only");
      c.class_names.push_back(s.get<std::string>());
    }
  }
  if (r.has("normalization")) {
    Reader nrm = r.object("normalization");
    if (nrm.has("pixel_scale"))
      c.pixel_scale = nrm.num("pixel_scale");
    if (nrm.has("pixel_offset"))
      c.pixel_offset = nrm.num("pixel_offset");
    if (nrm.has("note"))
      nrm.str("note");
    nrm.finish();
  }
  if (c.architecture == "classifier") {
    Reader f = r.object("features");
    f.str("layer");
    c.feature_dim = f.integer("dim", 1, 1 << 16);
    Reader ref = f.object("reference");
    c.reference_mu = ref.str("mu");
    c.reference_sigma = ref.str("sigma");
    ref.integer("n", 2, std::numeric_limits<int>::max());
    ref.one_of("cov_divisor", {"N-1"});
    c.reference_set = ref.str("set");
    ref.finish();
    f.finish();
  }
  if (r.has("trained_on"))
    c.trained_on = r.str("trained_on");
  if (r.has("training") && !r.at("training").is_object())
    r.fail("training", "must be an object");
  r.skip("training");
  r.finish();
  return c;
}

ModelFiles model_files(const std::string& folder_or_config) {
  const fs::path p(folder_or_config);
  std::error_code ec;
  if (fs::is_directory(p, ec))
    return {(p / "config.json").string(), (p / "model.safetensors").string()};
  if (!fs::exists(p, ec))
    throw Error("model: '" + folder_or_config + "' is neither a model folder nor a config.json");
  return {p.string(), (p.parent_path() / "model.safetensors").string()};
}

} // namespace itslab
