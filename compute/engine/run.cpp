#include "engine/run.hpp"

#include "core/error.hpp"
#include "core/philox.hpp"
#include "metric/frechet.hpp"
#include "metric/mixture_metrics.hpp"
#include "metric/mmd.hpp"
#include "metric/sliced_wasserstein.hpp"

#include <chrono>

namespace itslab {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Reference samples come from a fixed seed and their own stream, never the sampler's noise,
// so two-sample metrics are not biased low (gaussian-mixtures note §2).
constexpr uint64_t kReferenceSeed = 0x17'5AB'2024ULL;
// O(n²) MMD and the per-sample mixture scans use at most this many samples.
constexpr int64_t kMmdMax = 4096;
constexpr int64_t kRefMax = 65536;

RowMatrixXf head(const RowMatrixXf& X, int64_t n) {
  return X.topRows(std::min<int64_t>(n, X.rows()));
}

} // namespace

SampleResult sample(Backend& be, const Experiment& e, const Preset& p, const RunOptions& o) {
  const auto t0 = Clock::now();
  const int d = e.model->dim();
  int64_t n = p.particles;
  Tensor x;
  if (o.init) {
    if (o.init->cols() != d)
      throw Error("--init: noise has " + std::to_string(o.init->cols()) + " columns, the model " +
                  std::to_string(d) + " dimensions");
    if (o.init->rows() < 1)
      throw Error("--init: noise has no rows");
    n = o.init->rows();
    x = be.alloc(n, d);
    be.upload(x, o.init->data());
  } else {
    x = be.alloc(n, d);
    be.fill_normal(x, {p.seed, static_cast<uint32_t>(Stream::init_noise), 0, 0});
  }
  // x_T = σ_max·z for VE/EDM, z for VP and flow
  be.lincomb(x, {{&x, e.process->prior_scale()}});

  SampleResult r;
  auto record = [&] {
    RowMatrixXf h(n, d);
    be.download(x, h.data());
    r.trajectory.push_back(std::move(h));
  };
  if (o.trajectory)
    record();
  SolverContext ctx{be, e.denoiser(), *e.process, e.grid, p.model_class, p.seed};
  const auto solver = make_solver(e.solver);
  const int M = e.grid.steps();
  for (int i = 0; i < M; ++i) {
    if (o.cancel && o.cancel->load())
      throw Cancelled();
    r.nfe += solver->step(ctx, x, i);
    if (o.trajectory)
      record();
    if (o.on_step) {
      be.sync();
      StepSnapshot s;
      s.step = i + 1;
      s.steps = M;
      s.t = e.grid.t[i + 1];
      s.sigma = e.grid.sigma[i + 1];
      s.nfe = r.nfe;
      s.wall_ms = ms_since(t0);
      const int64_t k = std::min<int64_t>(o.snapshot_particles, n);
      if (k > 0) {
        // the first k rows of a row-major [n, d] tensor are its first k·d floats
        RowMatrixXf all(n, d);
        be.download(x, all.data());
        s.positions = all.topRows(k);
      }
      o.on_step(s);
    }
  }
  r.samples.resize(n, d);
  be.download(x, r.samples.data());
  r.wall_ms = ms_since(t0);
  return r;
}

MetricReference make_metric_reference(const GaussianMixture& gmm, int64_t n, bool rff_mmd) {
  MetricReference r;
  const int64_t n_ref = std::min<int64_t>(n, kRefMax);
  r.Y = gmm.sample(std::max<int64_t>(n_ref, 2), kReferenceSeed,
                   static_cast<uint32_t>(Stream::reference));
  r.moments = sample_moments(r.Y);
  // first min(n, 1000) rows, which do not depend on n: one bandwidth per model
  r.bandwidth = median_heuristic_bandwidth(head(r.Y, kMmdMax));
  if (rff_mmd)
    r.rff = make_rff_mmd(gmm, r.bandwidth);
  return r;
}

MetricSet compute_metrics(const GaussianMixture& gmm, const RowMatrixXf& X,
                          const std::vector<std::string>& names) {
  if (names.empty())
    return {};
  return compute_metrics(gmm, X, names, make_metric_reference(gmm, X.rows(), false));
}

MetricSet compute_metrics(const GaussianMixture& gmm, const RowMatrixXf& X,
                          const std::vector<std::string>& names, const MetricReference& ref) {
  MetricSet m;
  if (names.empty())
    return m;
  const RowMatrixXf& Y = ref.Y;
  const RowMatrixXf Xs = head(X, kRefMax);
  for (const std::string& name : names) {
    if (name == "frechet") {
      check_sample_pair("frechet", X, Y);
      m.values["frechet"] = frechet_distance(sample_moments(X), ref.moments);
      m.sample_sizes["frechet"] = X.rows();
    } else if (name == "mmd") {
      if (ref.rff) {
        m.values["mmd"] = mmd2_rff(*ref.rff, X);
        m.sample_sizes["mmd"] = X.rows();
      } else {
        const RowMatrixXf Xm = head(X, kMmdMax), Ym = head(Y, kMmdMax);
        m.values["mmd"] = mmd2_rbf(Xm, Ym, ref.bandwidth);
        m.sample_sizes["mmd"] = Xm.rows();
      }
    } else if (name == "sliced_wasserstein") {
      m.values["sliced_wasserstein"] = sliced_wasserstein(Xs, Y);
      m.sample_sizes["sliced_wasserstein"] = Xs.rows();
    } else if (name == "log_density") {
      m.values["log_density"] = mean_log_density(gmm, Xs);
      m.values["log_density_ref"] = mean_log_density(gmm, Y);
      m.sample_sizes["log_density"] = Xs.rows();
    } else if (name == "mode_coverage") {
      const ModeCoverage c = mode_coverage(gmm, Xs);
      m.values["mode_coverage"] = c.covered;
      m.values["mode_high_quality"] = c.high_quality;
      m.values["mode_mass_tv"] = c.mass_tv;
      m.sample_sizes["mode_coverage"] = Xs.rows();
    } else {
      throw Error("metrics: unknown metric '" + name + "'");
    }
  }
  return m;
}

nlohmann::json RunResult::report(const Preset& p) const {
  nlohmann::json j;
  j["nfe"] = result.nfe;
  j["wall_ms"] = result.wall_ms;
  j["metrics_ms"] = metrics_ms;
  j["metrics"] = metrics.values;
  j["metric_sample_sizes"] = metrics.sample_sizes;
  j["particles"] = result.samples.rows();
  j["dim"] = result.samples.cols();
  j["samples_per_second"] =
      result.wall_ms > 0 ? result.samples.rows() / (result.wall_ms / 1000) : 0;
  j["backend"] = backend;
  j["device"] = device;
  if (!notice.empty())
    j["notice"] = notice;
  j["preset"] = preset_to_json(p);
  return j;
}

RunResult run_preset(const Preset& p, const RunOptions& o) {
  const Experiment e = build_experiment(p);
  BackendChoice bc = make_backend(p.backend);
  RunResult r;
  r.backend = bc.backend->name();
  r.device = bc.backend->device();
  r.notice = bc.notice;
  r.result = sample(*bc.backend, e, p, o);
  const auto t0 = Clock::now();
  // A class-conditional run is judged against its own target p0(x | c).
  r.metrics = p.model_class >= 0 ? compute_metrics(e.model->class_mixture(p.model_class),
                                                   r.result.samples, p.metrics)
                                 : compute_metrics(*e.model, r.result.samples, p.metrics);
  r.metrics_ms = ms_since(t0);
  return r;
}

} // namespace itslab
