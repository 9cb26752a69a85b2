#include "engine/run.hpp"
#include "metric/classifier_metrics.hpp"

#include "core/error.hpp"
#include "core/philox.hpp"
#include "guidance/cfg.hpp"
#include "metric/frechet.hpp"
#include "metric/mixture_metrics.hpp"
#include "metric/mmd.hpp"
#include "metric/sliced_wasserstein.hpp"

#include <chrono>
#include <cmath>

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

int denoiser_cost(const Experiment& e) {
  return e.guided ? CfgModel::kCost : 1;
}

// A particle method's step as the app's StepSnapshot: the first k particles' positions,
// normalised log-weights, rewards and ancestors, plus the population diagnostics.
StepSnapshot snapshot_of(const ParticleStepView& v, Backend& be, int snapshot_particles,
                         double wall_ms) {
  StepSnapshot s;
  const ParticleStepStats& st = *v.stats;
  s.step = st.step;
  s.steps = v.steps;
  s.t = st.t;
  s.sigma = v.sigma;
  s.nfe = v.nfe;
  s.wall_ms = wall_ms;
  s.ess = st.ess;
  s.log_w_spread = st.log_w_spread;
  s.has_reward = st.has_reward;
  s.reward_mean = st.reward_mean;
  s.reward_max = st.reward_max;
  s.reward_std = st.reward_std;
  s.resamplings = st.resamplings;
  const int64_t n = v.x ? v.x->rows() : 0;
  const int64_t k = std::min<int64_t>(snapshot_particles, n);
  if (k > 0) {
    RowMatrixXf all(n, v.x->cols());
    be.download(*v.x, all.data());
    s.positions = all.topRows(k);
    if (v.log_w)
      s.log_w.assign(v.log_w->begin(), v.log_w->begin() + k);
    if (v.reward && static_cast<int64_t>(v.reward->size()) >= k)
      s.reward.assign(v.reward->begin(), v.reward->begin() + k);
    if (v.ancestors)
      for (int64_t i = 0; i < k; ++i)
        s.ancestors.push_back(static_cast<int32_t>((*v.ancestors)[i]));
  }
  return s;
}

SampleResult sample_particles(Backend& be, const Experiment& e, const Preset& p,
                              const RunOptions& o) {
  const auto t0 = Clock::now();
  ParticleJob job;
  job.be = &be;
  job.denoiser = &e.denoiser();
  job.model = &e.model();
  job.second = e.second_model.get();
  job.process = e.process.get();
  job.grid = &e.grid;
  job.solver = e.solver;
  job.cls = p.model_class;
  job.seed = p.seed;
  job.reward = e.reward.get();
  job.n = p.particles;
  job.init = o.init;
  job.denoiser_cost = denoiser_cost(e);
  job.trajectory = o.trajectory;
  job.cancel = o.cancel;
  if (o.on_step)
    job.on_step = [&](const ParticleStepView& v) {
      be.sync();
      o.on_step(snapshot_of(v, be, o.snapshot_particles, ms_since(t0)));
    };
  ParticleResult pr = run_particle_method(job, e.particles);
  SampleResult r;
  r.samples = std::move(pr.samples);
  r.trajectory = std::move(pr.trajectory);
  r.nfe = pr.nfe;
  r.method = e.particles.method;
  r.nfe_total = pr.nfe_total;
  r.reward_evals = pr.reward_evals;
  r.resamplings = pr.resamplings;
  r.log_z = pr.log_z;
  r.final_log_w = std::move(pr.final_log_w);
  r.final_reward = std::move(pr.final_reward);
  r.selected = std::move(pr.selected);
  r.steps = std::move(pr.steps);
  r.warnings = std::move(pr.warnings);
  r.wall_ms = ms_since(t0);
  return r;
}

} // namespace

SampleResult sample(Backend& be, const Experiment& e, const Preset& p, const RunOptions& o) {
  if (e.particles.method != "independent")
    return sample_particles(be, e, p, o);
  const auto t0 = Clock::now();
  const int d = e.model().dim();
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
  // With a reward, the solver's own x̂0 of each step is copied out for the reward diagnostics
  // (StepDenoiser passes every call through unchanged, so the samples are the same bit for bit).
  StepDenoiser snoop(e.denoiser());
  const bool snooping = e.reward && o.on_step;
  Tensor xhat;
  std::vector<double> rew;
  SolverContext ctx{be,
                    snooping ? static_cast<const Model&>(snoop) : e.denoiser(),
                    *e.process,
                    e.grid,
                    p.model_class,
                    p.seed};
  const auto solver = make_solver(e.solver);
  const int M = e.grid.steps();
  for (int i = 0; i < M; ++i) {
    if (o.cancel && o.cancel->load())
      throw Cancelled();
    const int64_t recorded = snoop.records();
    if (snooping)
      snoop.record(x, e.grid.t[i], &xhat);
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
      if (snooping && (i == M - 1 || snoop.records() > recorded)) {
        // reward of x̂0 at the step's start node; of the final samples after the last step
        e.reward->evaluate(be, i == M - 1 ? x : xhat, rew);
        r.reward_evals += n;
        ParticleStepStats st;
        set_reward_stats(st, rew);
        s.has_reward = true;
        s.reward_mean = st.reward_mean;
        s.reward_max = st.reward_max;
        s.reward_std = st.reward_std;
        s.reward.assign(rew.begin(), rew.begin() + k);
      }
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
  r.nfe_total = static_cast<int64_t>(r.nfe) * n * denoiser_cost(e);
  if (e.reward) {
    if (!snooping || rew.size() != static_cast<size_t>(n)) {
      e.reward->evaluate(be, x, rew);
      r.reward_evals += n;
    }
    r.final_reward = rew;
  }
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

MetricSet experiment_metrics(Backend& be, const Experiment& e, const Preset& p,
                             const RowMatrixXf& X, const MetricReference* ref) {
  std::vector<std::string> mixture_names, image_names;
  for (const std::string& m : p.metrics_defaulted ? default_metrics(e) : p.metrics)
    (m == "fid" || m == "class_accuracy" ? image_names : mixture_names).push_back(m);
  MetricSet m;
  if (!mixture_names.empty()) {
    const GaussianMixture target = metric_target(e, p);
    m = ref ? compute_metrics(target, X, mixture_names, *ref)
            : compute_metrics(target, X, mixture_names);
  }
  if (!image_names.empty()) {
    if (!e.classifier || !e.network)
      throw Error("metrics: fid and class_accuracy need an image network and its classifier");
    // Images are judged as images: pixels clipped to [0, 255] (samples overshoot a little),
    // then put in the classifier's normalisation x_c = pixel·scale_c + offset_c.
    const ModelConfig &mc = e.network->config(), &cc = e.classifier->config();
    const RowMatrixXf pixels =
        ((X.array() - static_cast<float>(mc.pixel_offset)) / static_cast<float>(mc.pixel_scale))
            .cwiseMax(0.0f)
            .cwiseMin(255.0f);
    const RowMatrixXf Xc =
        (pixels.array() * static_cast<float>(cc.pixel_scale) + static_cast<float>(cc.pixel_offset))
            .matrix();
    for (const auto& [k, v] :
         classifier_metrics(be, *e.classifier, Xc, image_names, p.model_class)) {
      m.values[k] = v;
      m.sample_sizes[k] = X.rows();
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
  const SampleResult& s = result;
  j["method"] = s.method;
  j["nfe_total"] = s.nfe_total;
  j["nfe_per_sample"] = s.nfe_per_sample();
  if (!s.final_reward.empty()) {
    // over the returned samples, and over the final population (weighted when it has weights)
    std::vector<double> sel;
    if (s.selected.empty())
      sel = s.final_reward;
    else
      for (int64_t i : s.selected)
        sel.push_back(s.final_reward[static_cast<size_t>(i)]);
    const ParticleStepStats rs = [&] {
      ParticleStepStats t;
      set_reward_stats(t, sel);
      return t;
    }();
    nlohmann::json rj{{"type", p.reward.type},
                      {"mean", rs.reward_mean},
                      {"max", rs.reward_max},
                      {"std", rs.reward_std},
                      {"evaluations", s.reward_evals}};
    if (!s.final_log_w.empty()) {
      double wm = 0, wsum = 0;
      for (size_t i = 0; i < s.final_reward.size(); ++i)
        if (std::isfinite(s.final_reward[i]) && std::isfinite(s.final_log_w[i])) {
          const double w = std::exp(s.final_log_w[i]);
          wm += w * s.final_reward[i];
          wsum += w;
        }
      if (wsum > 0)
        rj["population_weighted_mean"] = wm / wsum;
    }
    j["reward"] = rj;
  }
  if (s.method != "independent") {
    nlohmann::json pm{{"method", s.method}, {"resamplings", s.resamplings}};
    if (std::isfinite(s.log_z))
      pm["log_z"] = s.log_z;
    if (!s.final_log_w.empty()) {
      double s2 = 0;
      for (double l : s.final_log_w)
        s2 += std::isfinite(l) ? std::exp(2 * l) : 0.0;
      pm["final_ess"] = s2 > 0 ? 1 / s2 : 0.0;
      pm["final_population"] = s.final_log_w.size();
    }
    pm["returned"] = s.samples.rows();
    // per step (search methods: per iteration), column by column
    nlohmann::json cols;
    std::vector<int> step, resampled, anc;
    std::vector<double> t, ess, spread, rmean, rmax, rstd;
    std::vector<int64_t> nfe;
    for (const ParticleStepStats& st : s.steps) {
      step.push_back(st.step);
      t.push_back(st.t);
      ess.push_back(st.ess);
      spread.push_back(st.log_w_spread);
      rmean.push_back(st.has_reward ? st.reward_mean : std::nan(""));
      rmax.push_back(st.has_reward ? st.reward_max : std::nan(""));
      rstd.push_back(st.has_reward ? st.reward_std : std::nan(""));
      resampled.push_back(st.resampled ? 1 : 0);
      anc.push_back(st.unique_ancestors);
      nfe.push_back(st.nfe_total);
    }
    cols["step"] = step;
    cols["t"] = t;
    cols["ess"] = ess;
    cols["log_w_spread"] = spread;
    cols["reward_mean"] = rmean; // NaN (written as null) where the step had no reward
    cols["reward_max"] = rmax;
    cols["reward_std"] = rstd;
    cols["resampled"] = resampled;
    cols["unique_ancestors"] = anc;
    cols["nfe_total"] = nfe;
    pm["steps"] = cols;
    if (!s.warnings.empty())
      pm["warnings"] = s.warnings;
    j["particle_method"] = pm;
  }
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
  if (r.result.samples.rows() < 2 &&
      !(p.metrics_defaulted ? default_metrics(e) : p.metrics).empty()) {
    // best-of-N with one group, argmax with keep = 1, ...: nothing to compare a distribution of
    r.notice += std::string(r.notice.empty() ? "" : "; ") +
                "metrics skipped: the method returned " + std::to_string(r.result.samples.rows()) +
                " sample(s)";
  } else {
    // A class-conditional run is judged against its own target p0(x | c).
    r.metrics = experiment_metrics(*bc.backend, e, p, r.result.samples);
  }
  r.metrics_ms = ms_since(t0);
  return r;
}

} // namespace itslab
