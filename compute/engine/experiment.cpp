#include "engine/experiment.hpp"

#include "core/error.hpp"
#include "engine/optimised_schedule.hpp"
#include "guidance/cfg.hpp"

namespace itslab {

namespace {
double get(const Component& c, const std::string& k, double def) {
  const auto it = c.num.find(k);
  return it == c.num.end() ? def : it->second;
}

// Prefixes an object's message with the preset section it came from, unless it names one.
// A message naming a field inside the section ("gmm.covariances[0]: …" from the inline model)
// becomes that field's full path ("model.gmm.covariances[0]: …").
[[noreturn]] void rethrow_in(const std::string& section, const Error& e) {
  const std::string w = e.what();
  if (w.rfind(section, 0) == 0)
    throw Error(w);
  if (section == "model" && (w.rfind("gmm.", 0) == 0 || w.rfind("gmm:", 0) == 0))
    throw Error(section + "." + w);
  throw Error(section + ": " + w);
}
} // namespace

ProcessParams process_params(const Component& c) {
  ProcessParams p;
  p.type = c.type;
  p.beta_min = get(c, "beta_min", p.beta_min);
  p.beta_max = get(c, "beta_max", p.beta_max);
  p.s = get(c, "s", p.s);
  p.sigma_min = get(c, "sigma_min", c.type == "ve" ? 0.01 : p.sigma_min);
  p.sigma_max = get(c, "sigma_max", c.type == "ve" ? 50.0 : p.sigma_max);
  p.sigma_data = get(c, "sigma_data", p.sigma_data);
  p.t_min = get(c, "t_min", -1);
  p.t_max = get(c, "t_max", -1);
  return p;
}

ScheduleParams schedule_params(const Component& c) {
  ScheduleParams s;
  s.type = c.type;
  s.steps = static_cast<int>(get(c, "steps", s.steps));
  s.rho = get(c, "rho", s.rho);
  s.s = get(c, "s", s.s);
  s.shift = get(c, "shift", s.shift);
  if (auto it = c.str.find("table"); it != c.str.end())
    s.table = it->second;
  if (auto it = c.str.find("range"); it != c.str.end())
    s.range = it->second;
  if (auto it = c.lists.find("sigmas"); it != c.lists.end())
    s.sigmas = it->second;
  if (auto it = c.lists.find("t"); it != c.lists.end())
    s.times = it->second;
  s.candidates = static_cast<int>(get(c, "candidates", s.candidates));
  s.particles = static_cast<int>(get(c, "particles", c.type == "search" ? 2048 : 256));
  s.population = static_cast<int>(get(c, "population", s.population));
  s.generations = static_cast<int>(get(c, "generations", s.generations));
  if (auto it = c.str.find("metric"); it != c.str.end())
    s.metric = it->second;
  return s;
}

SolverParams solver_params(const Component& c) {
  return {c.type, c.num, c.str};
}

ParticleParams particle_params(const Component& c) {
  ParticleParams p;
  p.method = c.type;
  auto str = [&](const char* k, const std::string& def) {
    const auto it = c.str.find(k);
    return it == c.str.end() ? def : it->second;
  };
  p.group = static_cast<int64_t>(get(c, "group", 0));
  p.keep = static_cast<int64_t>(get(c, "keep", 0));
  p.iterations = static_cast<int>(get(c, "iterations", p.iterations));
  p.neighbors = static_cast<int>(get(c, "neighbors", p.neighbors));
  p.radius = get(c, "radius", p.radius);
  p.neighborhood = str("neighborhood", p.neighborhood);
  p.lambda = get(c, "lambda", p.lambda);
  p.potential = str("potential", p.potential);
  p.resample_every = static_cast<int>(get(c, "resample_every", p.resample_every));
  p.ess_threshold = get(c, "ess_threshold", p.ess_threshold);
  p.scheme = resample_scheme_from_string(str("scheme", "systematic"));
  p.selection = str("selection", p.selection);
  p.target = str("target", p.target);
  p.beta = get(c, "beta", p.beta);
  p.weight = get(c, "weight", p.weight);
  p.exact_init = get(c, "exact_init", 1) != 0;
  return p;
}

RewardSpec reward_spec(const Component& c, const GaussianMixture* mixture,
                       const NeuralModel* network) {
  RewardSpec r;
  r.type = c.type;
  auto list = [&](const char* k) {
    const auto it = c.lists.find(k);
    return it == c.lists.end() ? std::vector<double>{} : it->second;
  };
  r.a = list("a");
  r.b = get(c, "b", 0);
  if (auto it = c.str.find("shape"); it != c.str.end())
    r.shape = it->second;
  r.lo = list("lo");
  r.hi = list("hi");
  r.center = list("center");
  r.radius = get(c, "radius", r.radius);
  r.temperature = get(c, "temperature", r.temperature);
  r.cls = static_cast<int>(get(c, "class", 0));
  if (auto it = c.str.find("expr"); it != c.str.end())
    r.expr = it->second;
  if (r.type == "class_logprob" || r.type == "log_density") {
    const auto it = c.str.find("mixture");
    if (it == c.str.end() || it->second.empty()) {
      if (mixture)
        r.mixture = *mixture;
    } else {
      try {
        r.mixture = builtin_gmm(it->second);
      } catch (const Error&) {
        throw Error("mixture: unknown built-in mixture '" + it->second + "'");
      }
    }
  }
  if (r.type == "classifier_logprob") {
    const auto it = c.str.find("classifier");
    r.classifier =
        it == c.str.end() || it->second.empty() ? bundled_classifier_folder() : it->second;
    if (network) {
      r.pixel_scale = network->config().pixel_scale;
      r.pixel_offset = network->config().pixel_offset;
    }
  }
  return r;
}

std::string bundled_classifier_folder() {
  const std::string dir = bundled_models_dir();
  return dir.empty() ? std::string("fmnist-classifier") : dir + "/fmnist-classifier";
}

GaussianMixture metric_target(const Experiment& e, const Preset& p) {
  if (!e.mixture)
    throw Error("'" + e.model().id() + "' has no exact mixture to compare samples with");
  return p.model_class >= 0 ? e.mixture->class_mixture(p.model_class) : *e.mixture;
}

std::vector<std::string> default_metrics(const Experiment& e) {
  if (e.mixture)
    return {"frechet", "mmd", "log_density", "mode_coverage"};
  if (e.network && e.network->config().data_shape == std::vector<int>{1, 28, 28})
    return {"fid"};
  return {};
}

namespace {

// The model section: a mixture, or a network (with the mixture it was trained on, when it
// names a built-in one, as the reference of metrics and density views).
void build_model(Experiment& e, const Preset& p) {
  if (!preset_is_network(p)) {
    e.mixture = std::make_unique<GaussianMixture>(preset_model(p));
    return;
  }
  const std::string field = p.model_path.empty() ? "model.builtin" : "model.path";
  std::string folder;
  try {
    folder = preset_network_folder(p);
    e.network = NeuralModel::load(folder);
  } catch (const Error& err) {
    const std::string w = err.what();
    throw Error(w.rfind("model.", 0) == 0 ? w : field + ": " + w);
  }
  const std::string& trained_on = e.network->config().trained_on;
  if (!trained_on.empty()) {
    const auto ids = builtin_gmm_ids();
    if (std::find(ids.begin(), ids.end(), trained_on) != ids.end())
      e.mixture = std::make_unique<GaussianMixture>(builtin_gmm(trained_on));
  }
}

// Metrics the model can be judged by: the mixture metrics need an exact mixture, fid and
// class_accuracy a classifier that reads the model's images.
void check_metrics(Experiment& e, const Preset& p, const std::vector<std::string>& metrics) {
  for (size_t i = 0; i < metrics.size(); ++i) {
    const std::string& m = metrics[i];
    const std::string path = "metrics[" + std::to_string(i) + "]";
    if (m == "fid" || m == "class_accuracy") {
      if (!e.network || !e.network->config().is_image())
        throw Error(path + ": '" + m + "' needs an image model (it uses classifier features)");
      if (m == "class_accuracy" && p.model_class < 0)
        throw Error(path + ": 'class_accuracy' needs a target class: set model.class");
      if (!e.classifier) {
        try {
          e.classifier = Classifier::load(bundled_classifier_folder());
        } catch (const Error& err) {
          throw Error(path + ": the bundled classifier cannot be loaded: " + err.what());
        }
        if (e.classifier->dim() != e.model().dim())
          throw Error(path + ": the bundled classifier reads " +
                      std::to_string(e.classifier->dim()) +
                      "-dimensional images, the model makes " + std::to_string(e.model().dim()));
      }
    } else if (!e.mixture) {
      throw Error(path + ": '" + m + "' compares against an exact mixture, which '" +
                  e.model().id() + "' has not" +
                  (e.network && e.network->config().is_image() ? " (use fid)" : ""));
    }
  }
}

} // namespace

Experiment build_experiment(const Preset& p) {
  Experiment e;
  try {
    build_model(e, p);
  } catch (const Error& err) {
    rethrow_in("model", err);
  }
  if (p.model_class >= e.model().num_classes())
    throw Error("model.class: the model has " + std::to_string(e.model().num_classes()) +
                " classes, got class " + std::to_string(p.model_class));
  check_metrics(e, p, p.metrics_defaulted ? default_metrics(e) : p.metrics);
  try {
    e.process = make_process(process_params(p.process));
  } catch (const Error& err) {
    rethrow_in("process", err);
  }
  const ScheduleParams sp = schedule_params(p.schedule);
  const bool optimised = is_optimised_schedule(sp.type);
  if (!optimised) {
    try {
      e.grid = make_schedule(sp, *e.process);
    } catch (const Error& err) {
      rethrow_in("schedule", err);
    }
  }
  if (p.guidance.type == "cfg") {
    if (e.model().num_classes() == 0)
      throw Error("guidance: cfg needs a model with class labels");
    CfgModel::Params g;
    g.scale = get(p.guidance, "scale", g.scale);
    g.rescale = get(p.guidance, "rescale", g.rescale);
    if (auto it = p.guidance.lists.find("interval"); it != p.guidance.lists.end())
      g.t_lo = it->second.at(0), g.t_hi = it->second.at(1);
    e.guided = std::make_unique<CfgModel>(e.model(), g);
  }
  e.solver = solver_params(p.solver);
  try {
    make_solver(e.solver);
  } catch (const Error& err) {
    rethrow_in("solver", err);
  }
  try {
    e.reward =
        make_reward(reward_spec(p.reward, e.mixture.get(), e.network.get()), e.model().dim());
  } catch (const Error& err) {
    throw Error("reward." + std::string(err.what()));
  }
  e.particles = particle_params(p.particle_method);
  if (e.particles.method == "fkc") {
    const ParticleParams& pp = e.particles;
    if (pp.target == "product") {
      const std::string id = p.particle_method.str.count("second_model")
                                 ? p.particle_method.str.at("second_model")
                                 : std::string();
      try {
        e.second_model = std::make_unique<GaussianMixture>(builtin_gmm(id));
      } catch (const Error&) {
        std::string known;
        for (const std::string& b : builtin_gmm_ids())
          known += (known.empty() ? "" : ", ") + b;
        throw Error("particles.second_model: unknown built-in mixture '" + id +
                    "' (built-ins: " + known + ")");
      }
      if (e.second_model->dim() != e.model().dim())
        throw Error("particles.second_model: '" + id + "' has " +
                    std::to_string(e.second_model->dim()) + " dimensions, the model " +
                    std::to_string(e.model().dim()));
    }
    if (pp.target == "cfg" && e.model().num_classes() == 0)
      throw Error("particles.target: 'cfg' needs a model with class labels");
    if (e.grid.point.size() > 0 && !(e.grid.point[0].alpha > 0) && !optimised)
      throw Error("particles.method: fkc needs α > 0 at the first grid node (flow_linear: set "
                  "process.t_max < 1)");
  }
  if (optimised) {
    // boss / search need the model, process and solver: computed (or cached) here
    try {
      e.grid = grid_from_sigmas(optimise_schedule(e, p, sp).sigmas, *e.process);
    } catch (const Error& err) {
      rethrow_in("schedule", err);
    }
  }
  return e;
}

namespace {
PresetLoad checked(PresetLoad l, const std::string& origin) {
  try {
    const Experiment e = build_experiment(l.preset);
    if (l.preset.metrics_defaulted)
      l.preset.metrics = default_metrics(e);
    l.preset.metrics_defaulted = false;
  } catch (const Error& e) {
    throw Error(origin + ": invalid preset\n  " + e.what());
  }
  return l;
}
} // namespace

PresetLoad parse_checked_preset(const std::string& text, const std::string& origin) {
  return checked(parse_preset(text, origin), origin);
}

PresetLoad load_checked_preset(const std::string& id_or_path) {
  return checked(load_preset_ref(id_or_path), id_or_path);
}

} // namespace itslab
