// `itslab-cli bench`: fixed workloads timed on one or more backends in the same run
// (`--backend cpu,vulkan`), with the throughput ratio between them, plus a hand-written
// reference loop of the default workload, so the ratio says how much the Backend abstraction
// costs.
#include "commands.hpp"

#include "backend/backend.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/philox.hpp"
#include "engine/run.hpp"
#include "io/preset.hpp"
#include "model/neural_model.hpp"
#ifdef ITSLAB_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.hpp"
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/resource.h>
#include <vector>

namespace itslab::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct Workload {
  std::string label;
  std::string preset; // empty: the MLP workload
  std::string solver; // empty: the preset's
  int64_t particles;  // 0: the preset's
};

struct Timing {
  double median_ms, min_ms, cpu_ms; // cpu_ms: process CPU time per run (all threads)
};

double process_cpu_ms() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e3 +
         (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e3;
}
double peak_rss_mb() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return r.ru_maxrss / 1024.0; // KiB on Linux
}

template <class F> Timing time_it(int repeat, F&& f) {
  f(); // warm-up: first-touch allocations, thread start, pipeline compilation
  std::vector<double> ms;
  const double c0 = process_cpu_ms();
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = Clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), (process_cpu_ms() - c0) / repeat};
}

// --profile: one more run of `f` with Vulkan timestamp queries around every kernel (which
// serialises them), printed as GPU time per kernel. Nothing on the CPU backend.
template <class F> void print_kernel_profile(Backend& be, F&& f) {
#ifdef ITSLAB_HAVE_VULKAN
  auto* vb = dynamic_cast<VulkanBackend*>(&be);
  if (!vb)
    return;
  vb->set_profiling(true);
  f();
  const auto times = vb->kernel_times();
  vb->set_profiling(false);
  std::vector<std::pair<double, std::string>> rows;
  double total = 0;
  for (const auto& [name, t] : times) {
    total += t.ms;
    rows.push_back({t.ms, name + " ×" + std::to_string(t.calls)});
  }
  if (rows.empty()) {
    std::printf("    (no timestamps on this device)\n");
    return;
  }
  std::sort(rows.rbegin(), rows.rend());
  for (const auto& [ms, what] : rows)
    std::printf("    %-40s %9.3f ms %5.1f%%\n", what.c_str(), ms, 100 * ms / total);
#else
  (void)be;
  (void)f;
#endif
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
              "step, eight-gaussians): median %.3f ms, min %.3f ms, cpu %.1f ms/run, %d "
              "resamplings, NFE total %lld; the plain sampler alone: median %.3f ms, cpu %.1f "
              "ms/run (SMC adds %.0f%%)\n",
              t.median_ms, t.min_ms, t.cpu_ms, last.resamplings,
              static_cast<long long>(last.nfe_total), tp.median_ms, tp.cpu_ms,
              100 * (t.median_ms / tp.median_ms - 1));
}

// The layers of the Fashion-MNIST U-Net (docs/model-format.md) at their real shapes, one call
// each timed on its own (sync after every call), 16 images: what a U-Net step costs per layer.
constexpr const char* kUnetLabel = "U-Net layers";
void bench_unet_layers(Backend& be, int repeat) {
  const int64_t n = 16;
  const auto random = [&](int64_t rows, int64_t cols, uint32_t stream) {
    std::vector<float> v(static_cast<size_t>(rows * cols));
    philox_uniform_rows(5, stream, 0, 0, static_cast<uint32_t>(rows), static_cast<uint32_t>(cols),
                        v.data());
    for (float& x : v)
      x = 2 * x - 1;
    Tensor t = be.alloc(rows, cols);
    be.upload(t, v.data());
    return t;
  };
  const ImageShape s28{32, 28, 28}, s7{128, 7, 7};
  Tensor x28 = random(n, s28.size(), 1), y28 = be.alloc(n, s28.size()),
         y14 = be.alloc(n, 32 * 14 * 14), g32 = random(1, 32, 2), w33 = random(32, 32 * 9, 3),
         e32 = random(n, 32, 4), x7 = random(n, s7.size(), 5), w11 = random(384, 128, 6),
         b384 = random(1, 384, 7), qkv = be.alloc(n, 3 * s7.size()), att = be.alloc(n, s7.size()),
         up = be.alloc(n, 4 * s7.size()), skip = random(n, 64 * 14 * 14, 8),
         cat = be.alloc(n, (128 + 64) * 14 * 14), pool = be.alloc(n, 32 * 14 * 14);
  const std::pair<const char*, std::function<void()>> layers[] = {
      {"group_norm 32x28x28 (8 groups) + SiLU",
       [&] { be.group_norm(y28, x28, s28, 8, g32, g32, 1e-5, Activation::silu); }},
      {"conv3x3 32->32 at 28x28 + time bias",
       [&] { be.conv2d(y28, x28, s28, w33, g32, 3, 1, 1, &e32); }},
      {"conv3x3 stride 2 32->32, 28x28 -> 14x14",
       [&] { be.conv2d(y14, x28, s28, w33, g32, 3, 2, 1, nullptr); }},
      {"conv1x1 128->384 at 7x7 (qkv)",
       [&] { be.conv2d(qkv, x7, s7, w11, b384, 1, 1, 0, nullptr); }},
      {"attention 4 heads x 32 at 7x7", [&] { be.attention(att, qkv, 128, 4, 49); }},
      {"upsample2 128x7x7", [&] { be.upsample2(up, x7, s7); }},
      {"concat_cols 128x14x14 | 64x14x14", [&] { be.concat_cols(cat, up, skip); }},
      {"maxpool2 32x28x28", [&] { be.maxpool2(pool, x28, s28); }},
  };
  std::printf("\n%s (%lld images, one call each, median ms):\n", kUnetLabel,
              static_cast<long long>(n));
  for (const auto& [label, op] : layers) {
    try {
      const Timing t = time_it(repeat, [&] {
        op();
        be.sync();
      });
      std::printf("  %-44s %10.3f\n", label, t.median_ms);
    } catch (const Error& e) { // a backend that does not have the layer yet
      std::printf("  %-44s %s\n", label, e.what());
    }
  }
}

// A 3×256 MLP denoiser with random weights (until the neural-model issue provides trained
// ones), written in Backend ops exactly as a trained MLP would run: per step
//   e = time_embedding(t), h1 = SiLU(x W0ᵀ + b0) + e, h2 = SiLU(h1 W1ᵀ + b1),
//   h3 = SiLU(h2 W2ᵀ + b2), v = h3 W3ᵀ + b3, x ← x + Δt·v   (an Euler flow step).
class MlpWorkload {
public:
  static constexpr int kWidth = 256, kSteps = 20;
  MlpWorkload(Backend& be, int64_t n) : be_(be), n_(n) {
    const int dims[5] = {2, kWidth, kWidth, kWidth, 2};
    for (int l = 0; l < 4; ++l) {
      const int in = dims[l], out = dims[l + 1];
      // nn.Linear's default init: U(−1/√in, 1/√in) for weights and biases
      std::vector<float> w(static_cast<size_t>(out) * in), b(out);
      philox_uniform_rows(99, 10 + l, 0, 0, out, in, w.data());
      philox_uniform_rows(99, 20 + l, 0, 0, 1, out, b.data());
      const float s = 1.0f / std::sqrt(static_cast<float>(in));
      for (float& v : w)
        v = (2 * v - 1) * s;
      for (float& v : b)
        v = (2 * v - 1) * s;
      W_[l] = be.alloc(out, in);
      b_[l] = be.alloc(1, out);
      be.upload(W_[l], w.data());
      be.upload(b_[l], b.data());
    }
    x_ = be.alloc(n, 2);
    ones_ = be.alloc(n, 1);
    std::vector<float> one(static_cast<size_t>(n), 1.0f);
    be.upload(ones_, one.data());
    e_ = be.alloc(n, kWidth);
    std::vector<float> f(kWidth / 2);
    for (int k = 0; k < kWidth / 2; ++k)
      f[k] = static_cast<float>(std::exp(-std::log(10000.0) * k / (kWidth / 2)));
    freqs_ = be.alloc(1, kWidth / 2);
    be.upload(freqs_, f.data());
    for (Tensor& h : h_)
      h = be.alloc(n, kWidth);
    v_ = be.alloc(n, 2);
  }
  void run() {
    be_.fill_normal(x_, {7, static_cast<uint32_t>(Stream::init_noise), 0, 0});
    for (int i = 0; i < kSteps; ++i) {
      const double t = 1.0 - static_cast<double>(i) / kSteps;
      be_.time_embedding(e_, ones_, 1000 * t, freqs_);
      be_.gemm_bias_act(h_[0], x_, W_[0], b_[0], Activation::silu);
      be_.lincomb(h_[0], {{&h_[0], 1.0}, {&e_, 1.0}});
      be_.gemm_bias_act(h_[1], h_[0], W_[1], b_[1], Activation::silu);
      be_.gemm_bias_act(h_[2], h_[1], W_[2], b_[2], Activation::silu);
      be_.gemm_bias_act(v_, h_[2], W_[3], b_[3], Activation::none);
      be_.lincomb(x_, {{&x_, 1.0}, {&v_, -1.0 / kSteps}});
    }
    std::vector<float> out(static_cast<size_t>(n_) * 2);
    be_.download(x_, out.data());
  }

private:
  Backend& be_;
  int64_t n_;
  Tensor W_[4], b_[4], x_, ones_, freqs_, e_, h_[3], v_;
};

// A bundled network sampled with the flow Euler step in x̂0 form under its own process:
// x ← x + (t' − t)/t · (x − x̂0), t from 1 down to 1/steps (t = 0 is never evaluated), so one
// network call per step — the loop of tools/bench_torch.py's --mode mlp in PyTorch.
class NeuralWorkload {
public:
  static constexpr int kSteps = 20;
  NeuralWorkload(Backend& be, const NeuralModel& m, int64_t n, int cls)
      : be_(be), m_(m), n_(n), cls_(cls), x_(be.alloc(n, m.dim())), x0_(be.alloc(n, m.dim())) {}
  void run() {
    be_.fill_normal(x_, {7, static_cast<uint32_t>(Stream::init_noise), 0, 0});
    for (int i = 0; i < kSteps; ++i) {
      const double t = 1.0 - static_cast<double>(i) / kSteps, t1 = t - 1.0 / kSteps;
      m_.denoise(be_, x0_, x_, t, ProcessPoint::at(m_.process(), t), cls_);
      const double h = (t1 - t) / t;
      be_.lincomb(x_, {{&x_, 1 + h}, {&x0_, -h}});
    }
    std::vector<float> out(static_cast<size_t>(x_.size()));
    be_.download(x_, out.data());
  }

private:
  Backend& be_;
  const NeuralModel& m_;
  int64_t n_;
  int cls_;
  Tensor x_, x0_;
};

struct NeuralRow {
  std::string label, model;
  int64_t particles;
  int cls;
  Timing t{};
};

// The neural-model workloads: the two-moons flow MLP at `mlp_particles` and the Fashion-MNIST
// U-Net at batch 64, class-conditional; each 20 Euler steps.
std::vector<NeuralRow> bench_neural(Backend& be, int repeat,
                                    const std::vector<int64_t>& mlp_particles, bool unet,
                                    bool profile) {
  std::vector<NeuralRow> rows;
  for (const int64_t n : mlp_particles)
    rows.push_back({"two-moons-flow MLP, Euler 20", "two-moons-flow", n, -1});
  if (unet)
    rows.push_back({"fmnist-unet class 3, Euler 20", "fmnist-unet", 64, 3});
  std::printf("\nneural models (%s)\n%-36s %9s %10s %10s %10s %12s\n", be.name().c_str(),
              "workload", "particles", "median ms", "min ms", "cpu ms/run", "samples/s");
  std::vector<NeuralRow> done;
  for (NeuralRow& r : rows) {
    try {
      const std::string dir = bundled_models_dir();
      if (dir.empty())
        throw Error("the bundled models were not found (set ITSLAB_MODELS)");
      const auto model = NeuralModel::load(dir + "/" + r.model);
      NeuralWorkload w(be, *model, r.particles, r.cls);
      const int reps =
          r.model == "fmnist-unet" ? std::max(1, repeat / 10) : std::max(3, repeat / 4);
      r.t = time_it(reps, [&] { w.run(); });
      std::printf("%-36s %9lld %10.1f %10.1f %10.1f %12.0f\n", r.label.c_str(),
                  static_cast<long long>(r.particles), r.t.median_ms, r.t.min_ms, r.t.cpu_ms,
                  r.particles / (r.t.median_ms / 1000));
      if (profile)
        print_kernel_profile(be, [&] { w.run(); });
    } catch (const Error& e) {
      std::printf("%-36s %9lld unavailable: %s\n", r.label.c_str(),
                  static_cast<long long>(r.particles), e.what());
      continue;
    }
    std::fflush(stdout);
    done.push_back(r);
  }
  return done;
}

struct Row {
  std::string label;
  int64_t particles = 0;
  Timing t{};
  int nfe = 0;
  double rate = 0; // particle-steps per second (wall)
};

// What `bench` runs besides the fixed workloads.
struct BenchOptions {
  int repeat = 20;
  bool quick = false;
  bool neural_only = false;           // --neural: the neural-model workloads only
  std::vector<int64_t> mlp_particles; // --particles (default 4096, 65536)
  std::string report;                 // --report: the neural rows as JSON
  std::string only;                   // --only: workloads whose label contains this
  bool profile = false;               // --profile: GPU time per kernel (Vulkan)
};

std::vector<Row> run_backend(const std::string& spec, const std::string& device,
                             const BenchOptions& o, const std::vector<Workload>& workloads,
                             nlohmann::json& report, bool extras, bool unet) {
  const int repeat = o.repeat;
  BackendChoice bc = make_backend(spec, device);
  Backend& be = *bc.backend;
  std::printf("\nbackend: %s (%s)%s\n", be.name().c_str(), be.device().c_str(),
              bc.notice.empty() ? "" : ("; " + bc.notice).c_str());
  const auto neural = [&] {
    for (const NeuralRow& r : bench_neural(be, repeat, o.mlp_particles, !o.quick, o.profile))
      report.push_back({{"backend", be.name()},
                        {"model", r.model},
                        {"particles", r.particles},
                        {"steps", NeuralWorkload::kSteps},
                        {"median_ms", r.t.median_ms},
                        {"min_ms", r.t.min_ms},
                        {"device", be.device()}});
  };
  if (o.neural_only) {
    neural();
    return {};
  }
  if (!workloads.empty())
    std::printf("%-44s %9s %10s %10s %10s %5s %16s %8s\n", "workload", "particles", "median ms",
                "min ms", "cpu ms/run", "NFE", "particle-steps/s", "peak MB");
  std::vector<Row> rows;
  for (const Workload& w : workloads) {
    Row r;
    r.label = w.label;
    // one run of the workload; its particle count, steps and NFE
    std::function<void()> run;
    int steps = 0;
    std::unique_ptr<MlpWorkload> mlp;
    Preset p;
    std::unique_ptr<Experiment> e;
    if (w.preset.empty()) {
      r.particles = w.particles;
      mlp = std::make_unique<MlpWorkload>(be, w.particles);
      run = [&] { mlp->run(); };
      steps = r.nfe = MlpWorkload::kSteps;
    } else {
      p = load_checked_preset(w.preset).preset;
      if (!w.solver.empty())
        p.solver = Component{w.solver, {}, {}, {}};
      if (w.particles > 0)
        p.particles = w.particles;
      r.particles = p.particles;
      e = std::make_unique<Experiment>(build_experiment(p));
      run = [&] { r.nfe = sample(be, *e, p).nfe; };
      steps = e->grid.steps();
    }
    const int reps = w.preset.empty()       ? std::max(1, repeat / 10)
                     : r.particles > 100000 ? std::max(3, repeat / 10)
                                            : repeat;
    r.t = time_it(reps, run);
    r.rate = r.particles * steps / (r.t.median_ms / 1000);
    std::printf("%-44s %9lld %10.3f %10.3f %10.3f %5d %16.3g %8.0f\n", r.label.c_str(),
                static_cast<long long>(r.particles), r.t.median_ms, r.t.min_ms, r.t.cpu_ms, r.nfe,
                r.rate, peak_rss_mb());
    if (o.profile)
      print_kernel_profile(be, run);
    std::fflush(stdout);
    rows.push_back(r);
  }
  if (unet)
    bench_unet_layers(be, repeat);
  if (!extras)
    return rows;

  // Same job, hand-written: the ratio is what the Backend abstraction costs.
  const Preset p = load_checked_preset("default").preset;
  const Experiment e = build_experiment(p);
  RowMatrixXf ref;
  const Timing tr = time_it(repeat, [&] {
    ref = reference_dpmpp2m(*e.mixture, e.grid, p.seed, p.particles, e.process->prior_scale());
  });
  const Timing ti = time_it(repeat, [&] { sample(be, e, p); });
  const RowMatrixXf ours = sample(be, e, p).samples;
  std::printf("reference loop (hand-written, same job): %.3f ms; ITS Lab %s: %.3f ms; "
              "ratio %.2fx; max |difference| %.2g\n",
              tr.median_ms, be.name().c_str(), ti.median_ms, ti.median_ms / tr.median_ms,
              static_cast<double>((ours - ref).cwiseAbs().maxCoeff()));
  bench_smc_64k(be, repeat);
  neural();
  return rows;
}

void run_bench(BenchOptions o, const std::string& backends, const std::string& device) {
  const bool quick = o.quick;
  const std::string& only = o.only;
  if (o.mlp_particles.empty())
    o.mlp_particles = quick ? std::vector<int64_t>{1024} : std::vector<int64_t>{4096, 65536};
  std::vector<Workload> workloads = {
      {"eight-gaussians dpmpp_2m 20 (default)", "default", "", 0},
      {"eight-gaussians heun 20", "default", "heun", 0},
      {"eight-gaussians euler_ancestral 20", "default", "euler_ancestral", 0},
      {"eight-gaussians dpmpp_2m 20, 64k", "default", "", 65536},
      {"eight-gaussians dpmpp_2m 20, 1M", "default", "", 1 << 20},
      {"checkerboard (K=200) dpmpp_2m 20", "checkerboard-karras-dpmpp2m", "", 0},
      {"high-dim-64 dpmpp_2m 20", "high-dim-64-dpmpp2m", "", 0},
      {"MLP 3x256 (random weights), Euler 20", "", "", 4096},
  };
  if (quick)
    workloads = {
        workloads[0], workloads[3], {"MLP 3x256 (random weights), Euler 20", "", "", 1024}};
  if (!only.empty()) {
    std::erase_if(workloads,
                  [&](const Workload& w) { return w.label.find(only) == std::string::npos; });
    if (workloads.empty() && std::string(kUnetLabel).find(only) == std::string::npos)
      throw Error("--only: no workload label contains '" + only + "'");
  }
  std::vector<std::string> specs;
  std::stringstream ss(backends);
  for (std::string s; std::getline(ss, s, ',');)
    if (!s.empty()) {
      if (const std::string why = check_backend_spec(s); !why.empty())
        throw Error("--backend: " + why);
      specs.push_back(s);
    }
  if (specs.empty())
    throw Error("--backend: no backend given");
  std::map<std::string, std::vector<Row>> results;
  nlohmann::json report = nlohmann::json::array();
  for (const std::string& s : specs) {
    // one backend alive at a time: no backend's threads compete with the one being timed
    results[s] = run_backend(s, device, o, workloads, report, only.empty(),
                             std::string(kUnetLabel).find(only) != std::string::npos);
  }
  if (!o.report.empty())
    write_file_atomic(o.report, report.dump(2) + "\n");
  if (specs.size() < 2 || o.neural_only || workloads.empty())
    return;
  std::printf("\nthroughput relative to %s (particle-steps/s ratio, > 1 is faster)\n",
              specs[0].c_str());
  std::printf("%-44s %9s", "workload", "particles");
  for (size_t b = 1; b < specs.size(); ++b)
    std::printf(" %14s", (specs[b] + "/" + specs[0]).c_str());
  std::printf("\n");
  for (size_t w = 0; w < workloads.size(); ++w) {
    std::printf("%-44s %9lld", workloads[w].label.c_str(),
                static_cast<long long>(results[specs[0]][w].particles));
    for (size_t b = 1; b < specs.size(); ++b)
      std::printf(" %13.2fx", results[specs[b]][w].rate / results[specs[0]][w].rate);
    std::printf("\n");
  }
}

} // namespace

void add_bench(CLI::App& app) {
  auto repeat = std::make_shared<int>(20);
  auto backend = std::make_shared<std::string>("cpu");
  auto device = std::make_shared<std::string>();
  auto quick = std::make_shared<bool>(false);
  auto only = std::make_shared<std::string>();
  auto neural = std::make_shared<bool>(false);
  auto particles = std::make_shared<std::vector<int64_t>>();
  auto report = std::make_shared<std::string>();
  auto profile = std::make_shared<bool>(false);
  CLI::App* b = app.add_subcommand("bench", "Time fixed sampling workloads");
  b->add_option("--repeat", *repeat, "timed repetitions per workload (median reported)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  b->add_option("--backend", *backend,
                "backends to time, comma-separated (e.g. cpu,vulkan); with two or more, the "
                "throughput ratios to the first")
      ->capture_default_str();
  b->add_option("--device", *device, "Vulkan device (index, type or part of the name)");
  b->add_flag("--quick", *quick, "three small workloads only (smoke test)");
  b->add_option("--only", *only,
                "only the workloads whose label contains this text (e.g. MLP); skips the "
                "reference loop and smc-64k");
  b->add_flag("--neural", *neural,
              "the neural-model workloads only (two-moons-flow MLP, fmnist-unet; 20 Euler steps)");
  b->add_option("--particles", *particles,
                "particle counts of the MLP workload (default 4096 65536)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  b->add_option("--report", *report, "write the neural-model timings to this JSON file");
  b->add_flag("--profile", *profile,
              "after each workload on a Vulkan backend, one more run with GPU timestamps around "
              "every kernel: time per kernel (serialised, so the sum exceeds the run)");
  b->callback([=] {
    BenchOptions o;
    o.repeat = *repeat;
    o.quick = *quick;
    o.neural_only = *neural;
    o.mlp_particles = *particles;
    o.report = *report;
    o.only = *only;
    o.profile = *profile;
    run_bench(o, *backend, *device);
  });
}

} // namespace itslab::cli
