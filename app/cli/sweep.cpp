// `itslab-cli sweep` and `itslab-cli merge`: a grid of preset variations, run whole or as one
// shard of a job array, and the merge of the shards' tables.
#include "commands.hpp"

#include "core/error.hpp"
#include "engine/experiment.hpp"
#include "engine/sweep.hpp"
#include "io/preset.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

namespace itslab::cli {

namespace {

struct SweepArgs {
  std::string preset = "default", out, shard = "0/1", backend, metrics;
  std::vector<std::string> vary;
  int64_t particles = 0;
  bool quiet = false;
};

void make_parent_dirs(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty())
    std::filesystem::create_directories(parent);
}

void run_sweep_command(const SweepArgs& a) {
  if (a.out.size() < 5 || (a.out.substr(a.out.size() - 4) != ".csv" &&
                           (a.out.size() < 6 || a.out.substr(a.out.size() - 5) != ".json")))
    throw Error("--out '" + a.out + "': must end in .csv or .json");
  const PresetLoad l = load_checked_preset(a.preset);
  for (const std::string& w : l.warnings)
    std::cerr << "warning: " << w << "\n";
  Preset p = l.preset;
  if (!a.backend.empty())
    p.backend = a.backend;
  if (a.particles > 0)
    p.particles = a.particles;
  Sweep s;
  s.base = preset_to_json(p);
  for (const std::string& v : a.vary) {
    SweepAxis axis = parse_vary(v);
    for (const SweepAxis& other : s.axes)
      if (other.path == axis.path)
        throw Error("--vary " + axis.path + ": given twice");
    // The field's parent must exist in the preset; the field itself may be a default left out.
    const nlohmann::json* cur = &s.base;
    std::string at;
    size_t start = 0;
    for (size_t dot; (dot = axis.path.find('.', start)) != std::string::npos; start = dot + 1) {
      const std::string seg = axis.path.substr(start, dot - start);
      at += (at.empty() ? "" : ".") + seg;
      if (!cur->contains(seg) || !(*cur)[seg].is_object())
        throw Error("--vary " + axis.path + ": the preset has no object '" + at +
                    "' (fields are dotted paths such as solver.type, schedule.steps, "
                    "particles.count)");
      cur = &(*cur)[seg];
    }
    s.axes.push_back(std::move(axis));
  }
  if (!a.metrics.empty()) {
    size_t start = 0;
    while (true) {
      const size_t c = a.metrics.find(',', start);
      s.metrics.push_back(a.metrics.substr(start, c == std::string::npos ? c : c - start));
      if (c == std::string::npos)
        break;
      start = c + 1;
    }
  }
  std::tie(s.shard, s.shards) = parse_shard(a.shard);

  const auto t0 = std::chrono::steady_clock::now();
  SweepOptions o;
  if (!a.quiet)
    o.on_progress = [](int64_t done, int64_t total) {
      std::fprintf(stderr, "\rsweep: %lld / %lld rows", static_cast<long long>(done),
                   static_cast<long long>(total));
      if (done == total)
        std::fputc('\n', stderr);
    };
  const SweepTable t = run_sweep(s, o);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  int errors = 0;
  for (const SweepRow& r : t.rows)
    if (!r.error.empty()) {
      ++errors;
      std::cerr << "row " << r.index << ": " << r.error << "\n";
    }
  make_parent_dirs(a.out);
  write_sweep_file(t, a.out);
  std::printf("sweep %s: grid %lld, shard %s, %zu rows (%d errors) in %.0f ms; wrote %s\n",
              t.id.c_str(), static_cast<long long>(t.grid), t.shard.c_str(), t.rows.size(), errors,
              ms, a.out.c_str());
}

} // namespace

void add_sweep(CLI::App& app) {
  auto sa = std::make_shared<SweepArgs>();
  CLI::App* s = app.add_subcommand(
      "sweep", "Run a grid of preset variations (row-major over --vary) and write a table");
  s->add_option("--preset", sa->preset, "built-in preset id or preset file")->capture_default_str();
  s->add_option("--vary", sa->vary,
                "path=v1,v2,... (repeatable); values are JSON when they parse, else strings, "
                "e.g. solver.type=euler,heun or schedule.steps=4,8,16")
      ->required()
      ->allow_extra_args(false);
  s->add_option("--out", sa->out, "table to write: .csv or .json")->required();
  s->add_option("--shard", sa->shard,
                "i/n, 0-based: run the grid rows with index % n == i (e.g. "
                "$SLURM_ARRAY_TASK_ID/10)")
      ->capture_default_str();
  s->add_option("--metrics", sa->metrics,
                "comma-separated metrics instead of the preset's (mmd = random-feature MMD²)");
  s->add_option("--particles", sa->particles, "override particles.count")
      ->check(CLI::Range(1, 1 << 24));
  s->add_option("--backend", sa->backend, "override the preset's backend (auto, cpu, vulkan)");
  s->add_flag("--quiet", sa->quiet, "no progress line");
  s->callback([sa] { run_sweep_command(*sa); });

  auto ma = std::make_shared<std::pair<std::vector<std::string>, std::string>>();
  CLI::App* m = app.add_subcommand("merge", "Join the shards of one sweep, sorted by row index");
  m->add_option("tables", ma->first, "shard tables (.csv or .json)")->required();
  m->add_option("--out", ma->second, "merged table: .csv or .json")->required();
  m->callback([ma] {
    std::vector<SweepTable> parts;
    for (const std::string& f : ma->first)
      parts.push_back(read_sweep_file(f));
    std::vector<int64_t> missing;
    const SweepTable t = merge_sweeps(parts, ma->first, &missing);
    make_parent_dirs(ma->second);
    write_sweep_file(t, ma->second);
    std::printf("merged %zu tables: %zu of %lld rows; wrote %s\n", parts.size(), t.rows.size(),
                static_cast<long long>(t.grid), ma->second.c_str());
    if (!missing.empty()) {
      std::cerr << "warning: " << missing.size() << " rows missing (first: " << missing[0] << ")\n";
    }
  });
}

} // namespace itslab::cli
