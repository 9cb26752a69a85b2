#include "commands.hpp"

#include "backend/backend.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "engine/run.hpp"
#include "image_grid.hpp"
#include "io/npy.hpp"
#include "io/preset.hpp"
#include "model/neural_model.hpp"

#include <QImage>
#include <QString>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

namespace itslab::cli {

namespace {

int g_exit = 0;

void make_parent_dirs(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty())
    std::filesystem::create_directories(parent);
}

// --device picks the Vulkan device: the backend becomes "vulkan:<device>".
std::string with_device(const std::string& backend, const std::string& device) {
  if (device.empty())
    return backend;
  if (const std::string why = check_backend_spec(backend); !why.empty())
    throw Error("--backend: " + why);
  if (backend == "cpu")
    throw Error("--device: applies to the vulkan backend, but the backend is cpu");
  return "vulkan:" + device;
}

void print_warnings(const PresetLoad& l) {
  for (const std::string& w : l.warnings)
    std::cerr << "warning: " << w << "\n";
}

// Particle method and reward lines of `sample` (the report JSON carries the per-step columns).
void print_particle_summary(const RunResult& r, const nlohmann::json& report) {
  const SampleResult& s = r.result;
  for (const std::string& w : s.warnings)
    std::cerr << "warning: " << w << "\n";
  if (s.method != "independent") {
    std::printf("  method      %s: %lld returned, %d resamplings", s.method.c_str(),
                static_cast<long long>(s.samples.rows()), s.resamplings);
    if (std::isfinite(s.log_z))
      std::printf(", log Z %.4g", s.log_z);
    std::printf("\n  NFE total   %lld (%.4g per returned sample)\n",
                static_cast<long long>(s.nfe_total), s.nfe_per_sample());
  }
  if (report.contains("reward")) {
    const auto& rj = report["reward"];
    std::printf("  reward      %s: mean %.6g, max %.6g, std %.6g",
                rj["type"].get<std::string>().c_str(),
                rj["mean"].is_number() ? rj["mean"].get<double>() : NAN,
                rj["max"].is_number() ? rj["max"].get<double>() : NAN,
                rj["std"].is_number() ? rj["std"].get<double>() : NAN);
    if (rj.contains("population_weighted_mean"))
      std::printf(" (population, weighted: %.6g)", rj["population_weighted_mean"].get<double>());
    std::printf("\n");
  }
}

struct SampleArgs {
  std::string preset = "default", init, out, report, trajectory, backend, device, grid;
  int grid_cols = 8;
  int64_t particles = 0;
  int repeat = 1;
  std::string seed;
};

// The config of the preset's image network, checked before any sampling so --grid on a model
// without images fails at once.
ModelConfig grid_model(const Preset& p) {
  const std::string what = "--grid: the model does not make images";
  if (!preset_is_network(p))
    throw Error(what + " (it is a mixture)");
  const ModelFiles f = model_files(preset_network_folder(p));
  ModelConfig c = parse_model_config(read_file(f.config), f.config);
  if (!c.is_image())
    throw Error(what + " (it makes " + std::to_string(c.dim()) + "-dimensional points)");
  return c;
}

// The first rows of image samples as a PNG tile grid, in the model's pixel scale.
void write_grid(const SampleArgs& a, const ModelConfig& c, const RowMatrixXf& samples) {
  ImageGridStyle style;
  style.cols = a.grid_cols;
  style.zoom = 2;
  style.pixel_scale = c.pixel_scale;
  style.pixel_offset = c.pixel_offset;
  const int64_t n = std::min<int64_t>(samples.rows(), int64_t(a.grid_cols) * a.grid_cols);
  make_parent_dirs(a.grid);
  const QImage img =
      image_grid(samples.topRows(n), c.data_shape[0], c.data_shape[1], c.data_shape[2], style);
  if (!img.save(QString::fromStdString(a.grid), "PNG"))
    throw Error("--grid: cannot write " + a.grid);
  std::printf("  wrote %s (%lld images)\n", a.grid.c_str(), static_cast<long long>(n));
}

void run_sample(const SampleArgs& a) {
  PresetLoad l = load_checked_preset(a.preset);
  print_warnings(l);
  Preset& p = l.preset;
  if (!a.backend.empty())
    p.backend = a.backend;
  p.backend = with_device(p.backend, a.device);
  if (a.particles > 0)
    p.particles = a.particles;
  if (!a.seed.empty()) {
    try {
      // stoull accepts a sign and leading spaces ("-1" wraps to 2^64 − 1): digits only.
      if (a.seed.empty() || a.seed[0] < '0' || a.seed[0] > '9')
        throw std::invalid_argument("not a number");
      size_t used = 0;
      p.seed = std::stoull(a.seed, &used);
      if (used != a.seed.size())
        throw std::invalid_argument("trailing characters");
    } catch (const std::exception&) {
      throw Error("--seed: must be a non-negative integer, got '" + a.seed + "'");
    }
  }
  std::optional<ModelConfig> grid_config;
  if (!a.grid.empty())
    grid_config = grid_model(p);
  RunOptions o;
  RowMatrixXf init;
  if (!a.init.empty()) {
    init = read_npy(a.init);
    if (!init.allFinite())
      throw Error(a.init + ": noise contains NaN or infinity");
    o.init = &init;
  }
  o.trajectory = !a.trajectory.empty();
  const RunResult r = run_preset(p, o);
  if (!r.notice.empty())
    std::cerr << "notice: " << r.notice << "\n";
  nlohmann::json report = r.report(p);
  if (a.repeat > 1) {
    // warm timings: the same sampling again in this process (threads started, memory touched)
    BackendChoice bc = make_backend(p.backend);
    const Experiment e = build_experiment(p);
    std::vector<double> ms;
    for (int i = 0; i < a.repeat; ++i)
      ms.push_back(sample(*bc.backend, e, p, o).wall_ms);
    std::sort(ms.begin(), ms.end());
    report["wall_ms_warm_median"] = ms[ms.size() / 2];
    std::printf("  warm        %.3f ms sampling (median of %d repeats)\n", ms[ms.size() / 2],
                a.repeat);
  }

  std::printf("%s\n", p.name.c_str());
  std::printf("  backend     %s (%s)\n", r.backend.c_str(), r.device.c_str());
  std::printf("  particles   %lld × %lld\n", static_cast<long long>(r.result.samples.rows()),
              static_cast<long long>(r.result.samples.cols()));
  std::printf("  steps       %d (%s, %s), NFE %d\n",
              static_cast<int>(p.schedule.num.count("steps") ? p.schedule.num.at("steps") : 0),
              p.schedule.type.c_str(), p.solver.type.c_str(), r.result.nfe);
  std::printf("  wall        %.2f ms sampling, %.2f ms metrics\n", r.result.wall_ms, r.metrics_ms);
  for (const auto& [k, v] : r.metrics.values)
    std::printf("  %-18s %.6g\n", k.c_str(), v);
  print_particle_summary(r, report);

  if (!a.out.empty()) {
    make_parent_dirs(a.out);
    write_npy(a.out, r.result.samples.data(), r.result.samples.rows(), r.result.samples.cols());
    std::printf("  wrote %s\n", a.out.c_str());
  }
  if (!a.trajectory.empty()) {
    make_parent_dirs(a.trajectory);
    const auto& T = r.result.trajectory;
    const int64_t n = r.result.samples.rows(), d = r.result.samples.cols();
    std::vector<float> flat;
    flat.reserve(T.size() * n * d);
    for (const RowMatrixXf& s : T)
      flat.insert(flat.end(), s.data(), s.data() + s.size());
    write_npy_shape(a.trajectory, flat.data(), {static_cast<int64_t>(T.size()), n, d});
    std::printf("  wrote %s [%zu, %lld, %lld]\n", a.trajectory.c_str(), T.size(),
                static_cast<long long>(n), static_cast<long long>(d));
  }
  if (!a.grid.empty())
    write_grid(a, *grid_config, r.result.samples);
  if (!a.report.empty()) {
    make_parent_dirs(a.report);
    write_file_atomic(a.report, report.dump(2) + "\n");
    std::printf("  wrote %s\n", a.report.c_str());
  }
}

} // namespace

int exit_code() {
  return g_exit;
}
void set_exit_code(int code) {
  g_exit = code;
}

void add_commands(CLI::App& app) {
  auto sa = std::make_shared<SampleArgs>();
  CLI::App* s = app.add_subcommand("sample", "Run a preset and report its metrics");
  s->add_option("--preset", sa->preset, "built-in preset id or preset file")->capture_default_str();
  s->add_option("--init", sa->init,
                "standard-normal noise z [n, d] (.npy f4/f8); overrides "
                "particles.count; x_T = sigma_max·z (ve/edm) or z (vp/flow)");
  s->add_option("--out", sa->out, "write the final samples [n, d] as .npy");
  s->add_option("--report", sa->report,
                "write the JSON report (nfe, wall_ms, metrics, backend, preset)");
  s->add_option("--trajectory", sa->trajectory,
                "write every grid node's particles [M+1, n, d] as .npy");
  s->add_option("--backend", sa->backend,
                "override the preset's backend (auto, cpu, vulkan, vulkan:<device>)");
  s->add_option("--device", sa->device,
                "Vulkan device: index from `info`, type (discrete, integrated, cpu) or part of "
                "its name");
  s->add_option("--particles", sa->particles, "override particles.count")
      ->check(CLI::Range(1, 1 << 24));
  s->add_option("--seed", sa->seed, "override the preset's seed");
  s->add_option("--grid", sa->grid, "image models: write the first samples as a PNG tile grid");
  s->add_option("--grid-cols", sa->grid_cols, "tiles per row of --grid (it shows cols² samples)")
      ->check(CLI::Range(1, 64));
  s->add_option("--repeat", sa->repeat,
                "also time N warm repeats of the sampling; the report gains wall_ms_warm_median")
      ->check(CLI::Range(1, 10000));
  s->callback([sa] { run_sample(*sa); });

  app.add_subcommand("presets", "List the built-in presets")->callback([] {
    for (const std::string& id : builtin_preset_ids()) {
      const PresetLoad l = parse_preset(builtin_preset_text(id), id);
      std::printf("%-34s %s\n", id.c_str(), l.preset.name.c_str());
    }
  });

  auto vpath = std::make_shared<std::string>();
  CLI::App* v = app.add_subcommand("validate", "Check a preset file or id; list every problem");
  v->add_option("preset", *vpath, "preset file or built-in id")->required();
  v->callback([vpath] {
    try {
      const PresetLoad l = load_checked_preset(*vpath);
      print_warnings(l);
      std::printf("%s: ok (%s)\n", vpath->c_str(), l.preset.name.c_str());
    } catch (const Error& e) {
      std::cerr << e.what() << "\n";
      set_exit_code(1);
    }
  });

  auto idev = std::make_shared<std::string>();
  CLI::App* info = app.add_subcommand("info", "Backends and devices");
  info->add_option("--device", *idev, "also show what this Vulkan device selection gives");
  info->callback([idev] {
    for (const std::string& line : backend_report())
      std::printf("%s\n", line.c_str());
    if (!idev->empty()) {
      const BackendChoice c = make_backend("vulkan", *idev);
      std::printf("--device %s -> %s (%s)%s\n", idev->c_str(), c.backend->name().c_str(),
                  c.backend->device().c_str(), c.notice.empty() ? "" : ("; " + c.notice).c_str());
    }
  });

  auto ex = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* e = app.add_subcommand("export-preset", "Write a built-in preset as a JSON file");
  e->add_option("id", ex->first, "built-in preset id (see presets)")->required();
  e->add_option("--out", ex->second, "file to write (default: standard output)");
  e->callback([ex] {
    const PresetLoad l = parse_preset(builtin_preset_text(ex->first), ex->first);
    if (ex->second.empty())
      std::fputs(preset_to_string(l.preset).c_str(), stdout);
    else
      save_preset(l.preset, ex->second);
  });

  add_bench(app);
  add_sweep(app);
  add_export_schedule(app);
  add_data(app);
  add_models(app);
}

} // namespace itslab::cli
