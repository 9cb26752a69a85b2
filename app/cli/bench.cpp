// `itslab-cli bench`: fixed workloads timed on a backend, plus a hand-written reference loop of
// the default workload measured in the same run, so the ratio says how much the Backend
// abstraction costs.
#include "commands.hpp"

#include "backend/backend.hpp"
#include "core/philox.hpp"
#include "engine/run.hpp"
#include "io/preset.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

namespace itslab::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct Workload {
  std::string label;
  std::string preset;
  std::string solver; // empty: the preset's
  int64_t particles;  // 0: the preset's
};

struct Timing {
  double median_ms, min_ms;
};

template <class F> Timing time_it(int repeat, F&& f) {
  f(); // warm-up: first-touch allocations, OpenMP thread start
  std::vector<double> ms;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = Clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front()};
}

// The default workload written directly: isotropic 2-D mixture posterior mean and the
// DPM-Solver++(2M) update (VE form, α = 1) in one loop over particles, no Backend.
RowMatrixXf reference_dpmpp2m(const GaussianMixture& g, const StepGrid& grid, uint64_t seed,
                              int64_t n, double prior_scale) {
  const auto& P = g.kernel_params();
  const int K = P.K;
  RowMatrixXf x(n, 2), Dprev(n, 2);
  philox_normal_rows(seed, static_cast<uint32_t>(Stream::init_noise), 0, 0,
                     static_cast<uint32_t>(n), 2, x.data());
  x *= static_cast<float>(prior_scale);
  const int M = grid.steps();
  std::vector<double> c(K), inv(K), gain(K);
  for (int i = 0; i < M; ++i) {
    const double s = grid.sigma[i], s1 = grid.sigma[i + 1];
    for (size_t k = 0; k < static_cast<size_t>(K); ++k) {
      const double lt = P.lambda[2 * k] + s * s;
      c[k] = P.log_w[k] - std::log(lt);
      inv[k] = 1 / lt;
      gain[k] = P.lambda[2 * k] / lt;
    }
    const double h = std::log(s / s1), phi = -std::expm1(-h);
    const bool second = i > 0 && s1 > 0;
    const double r0 = second ? std::log(grid.sigma[i - 1] / s) / h : 1;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < n; ++p) {
      const double x0 = x(p, 0), x1 = x(p, 1);
      double m = -1e300, tot = 0, a0 = 0, a1 = 0;
      for (size_t k = 0; k < static_cast<size_t>(K); ++k) {
        const double z0 = x0 - P.mu[2 * k], z1 = x1 - P.mu[2 * k + 1];
        const double l = c[k] - 0.5 * (z0 * z0 + z1 * z1) * inv[k];
        const double mk0 = P.mu[2 * k] + gain[k] * z0, mk1 = P.mu[2 * k + 1] + gain[k] * z1;
        if (l > m) {
          const double sc = std::exp(m - l);
          tot = tot * sc + 1, a0 = a0 * sc + mk0, a1 = a1 * sc + mk1, m = l;
        } else {
          const double w = std::exp(l - m);
          tot += w, a0 += w * mk0, a1 += w * mk1;
        }
      }
      const double D0 = a0 / tot, D1 = a1 / tot;
      double n0 = s1 / s * x0 + phi * D0, n1 = s1 / s * x1 + phi * D1;
      if (second) {
        n0 += phi * 0.5 / r0 * (D0 - Dprev(p, 0));
        n1 += phi * 0.5 / r0 * (D1 - Dprev(p, 1));
      }
      x(p, 0) = static_cast<float>(n0), x(p, 1) = static_cast<float>(n1);
      Dprev(p, 0) = static_cast<float>(D0), Dprev(p, 1) = static_cast<float>(D1);
    }
  }
  return x;
}

// smc-64k (particle methods issue): FK steering with 65 536 particles, 50 steps, resampling at
// every step, on the 2-D eight-gaussians mixture (linear reward, systematic resampling).
void bench_smc_64k(Backend& be, int repeat) {
  const char* text = R"({"schema": "itslab.preset/1", "name": "smc-64k", "seed": 1,
    "model": {"builtin": "gmm/eight-gaussians"},
    "process": {"type": "vp_linear"}, "schedule": {"type": "uniform", "steps": 50},
    "solver": {"type": "ddim", "eta": 1},
    "particles": {"count": 65536, "method": "fk_steering", "lambda": 1, "resample_every": 1,
                  "ess_threshold": 1, "scheme": "systematic", "selection": "weighted"},
    "reward": {"type": "linear", "a": [1, 0.5]}, "metrics": []})";
  const Preset p = parse_checked_preset(text, "smc-64k").preset;
  const Experiment e = build_experiment(p);
  SampleResult last;
  const int reps = std::max(3, repeat / 4);
  const Timing t = time_it(reps, [&] { last = sample(be, e, p); });
  // the same sampler without the particle method: what SMC adds on top
  Preset plain = p;
  plain.particle_method = Component{"independent", {}, {}, {}};
  plain.reward = Component{"none", {}, {}, {}};
  const Experiment ep = build_experiment(plain);
  const Timing tp = time_it(reps, [&] { sample(be, ep, plain); });
  std::printf("\nsmc-64k (fk_steering, 65536 particles, 50 steps ddim eta=1, resampling every "
              "step, eight-gaussians): median %.3f ms, min %.3f ms, %d resamplings, NFE total "
              "%lld; the plain sampler alone: median %.3f ms (SMC adds %.0f%%)\n",
              t.median_ms, t.min_ms, last.resamplings, static_cast<long long>(last.nfe_total),
              tp.median_ms, 100 * (t.median_ms / tp.median_ms - 1));
}

void run_bench(int repeat, const std::string& backend_name) {
  const std::vector<Workload> workloads = {
      {"eight-gaussians dpmpp_2m 20 (default)", "default", "", 0},
      {"eight-gaussians heun 20", "default", "heun", 0},
      {"eight-gaussians euler_ancestral 20", "default", "euler_ancestral", 0},
      {"eight-gaussians dpmpp_2m 20, 64k", "default", "", 65536},
      {"eight-gaussians dpmpp_2m 20, 1M", "default", "", 1 << 20},
      {"checkerboard (K=200) dpmpp_2m 20", "checkerboard-karras-dpmpp2m", "", 0},
      {"high-dim-64 dpmpp_2m 20", "high-dim-64-dpmpp2m", "", 0},
  };
  BackendChoice bc = make_backend(backend_name);
  Backend& be = *bc.backend;
  std::printf("backend: %s (%s)%s\n", be.name().c_str(), be.device().c_str(),
              bc.notice.empty() ? "" : (" — " + bc.notice).c_str());
  std::printf("%-40s %9s %10s %10s %6s %14s\n", "workload", "particles", "median ms", "min ms",
              "NFE", "particle-steps/s");
  for (const Workload& w : workloads) {
    Preset p = load_checked_preset(w.preset).preset;
    if (!w.solver.empty())
      p.solver = Component{w.solver, {}, {}, {}};
    if (w.particles > 0)
      p.particles = w.particles;
    const Experiment e = build_experiment(p);
    int nfe = 0;
    const int reps = p.particles > 100000 ? std::max(3, repeat / 10) : repeat;
    const Timing t = time_it(reps, [&] { nfe = sample(be, e, p).nfe; });
    const double rate = p.particles * e.grid.steps() / (t.median_ms / 1000);
    std::printf("%-40s %9lld %10.3f %10.3f %6d %14.3g\n", w.label.c_str(),
                static_cast<long long>(p.particles), t.median_ms, t.min_ms, nfe, rate);
  }

  // Same job, hand-written: the ratio is what the Backend abstraction costs.
  const Preset p = load_checked_preset("default").preset;
  const Experiment e = build_experiment(p);
  RowMatrixXf ref;
  const Timing tr = time_it(repeat, [&] {
    ref = reference_dpmpp2m(*e.model, e.grid, p.seed, p.particles, e.process->prior_scale());
  });
  const Timing ti = time_it(repeat, [&] { sample(be, e, p); });
  const RowMatrixXf ours = sample(be, e, p).samples;
  std::printf("\nreference loop (hand-written, same job): %.3f ms; ITS Lab %s: %.3f ms; "
              "ratio %.2fx; max |difference| %.2g\n",
              tr.median_ms, be.name().c_str(), ti.median_ms, ti.median_ms / tr.median_ms,
              static_cast<double>((ours - ref).cwiseAbs().maxCoeff()));
  bench_smc_64k(be, repeat);
}

} // namespace

void add_bench(CLI::App& app) {
  auto repeat = std::make_shared<int>(20);
  auto backend = std::make_shared<std::string>("cpu");
  CLI::App* b = app.add_subcommand("bench", "Time fixed sampling workloads");
  b->add_option("--repeat", *repeat, "timed repetitions per workload (median reported)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  b->add_option("--backend", *backend, "backend to time")->capture_default_str();
  b->callback([repeat, backend] { run_bench(*repeat, *backend); });
}

} // namespace itslab::cli
