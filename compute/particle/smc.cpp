// Sequential Monte Carlo: Feynman–Kac steering (Singhal et al. 2025; particle note §2) and
// Feynman–Kac correctors (Skreta et al. 2025; note §3) share one loop: denoise, weight,
// resample when the ESS calls for it, move with the preset's solver, select at the end.
#include "core/error.hpp"
#include "particle/detail.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>
#include <numeric>

namespace itslab::particle_detail {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// The FKC target's combined denoiser: with s_i = (α D_i − x)/σ² and S = Σ c_i s_i,
// D_S = (x + σ² S)/α = ((1 − Σc)/α) x + Σ c_i D_i, so any solver written in D follows the
// score S of ρ_t ∝ Π q_i^{c_i} (note §3.1). Keeps each part's D_i for the weights.
class CompositeModel final : public Model {
public:
  struct Part {
    const Model* model;
    int cls;
    double c;
  };
  explicit CompositeModel(std::vector<Part> parts) : parts_(std::move(parts)), D_(parts_.size()) {
    for (const Part& p : parts_)
      csum_ += p.c;
  }
  std::string id() const override { return "fkc composite"; }
  int dim() const override { return parts_[0].model->dim(); }
  int num_classes() const override { return 0; }
  int cost() const { return static_cast<int>(parts_.size()); }
  double csum() const { return csum_; }
  const std::vector<Part>& parts() const { return parts_; }
  const Tensor& part_output(size_t i) const { return D_[i]; }

  void denoise(Backend& be, Tensor& x0, const Tensor& x, double t, const ProcessPoint& pt,
               int) const override {
    if (!(pt.alpha > 0))
      throw Error("particles.method: fkc needs α > 0 at every grid node (flow_linear: set "
                  "process.t_max < 1)");
    for (size_t i = 0; i < parts_.size(); ++i) {
      Tensor& D = D_[i];
      if (D.empty() || D.backend() != &be || D.rows() != x.rows() || D.cols() != x.cols())
        D = be.alloc(x.rows(), x.cols());
      parts_[i].model->denoise(be, D, x, t, pt, parts_[i].cls);
    }
    const double cx = (1 - csum_) / pt.alpha;
    if (parts_.size() == 1)
      be.lincomb(x0, {{&x, cx}, {&D_[0], parts_[0].c}});
    else
      be.lincomb(x0, {{&x, cx}, {&D_[0], parts_[0].c}, {&D_[1], parts_[1].c}});
  }

private:
  std::vector<Part> parts_;
  double csum_ = 0;
  mutable std::vector<Tensor> D_;
};

std::unique_ptr<CompositeModel> fkc_target(const ParticleJob& job, const ParticleParams& p) {
  if (!job.model)
    throw Error("particles.method: fkc needs the model");
  const Model* m = job.model;
  if (p.target == "anneal") {
    if (!(p.beta > 0))
      throw Error("particles.beta: must be > 0");
    return std::make_unique<CompositeModel>(
        std::vector<CompositeModel::Part>{{m, job.cls, p.beta}});
  }
  if (p.target == "product") {
    if (!job.second)
      throw Error("particles.second_model: fkc target 'product' needs a second model");
    if (job.second->dim() != m->dim())
      throw Error("particles.second_model: '" + job.second->id() + "' has " +
                  std::to_string(job.second->dim()) + " dimensions, the model " +
                  std::to_string(m->dim()));
    return std::make_unique<CompositeModel>(
        std::vector<CompositeModel::Part>{{m, job.cls, 1.0}, {job.second, -1, 1.0}});
  }
  if (p.target == "cfg") {
    if (job.cls < 0)
      throw Error("model.class: fkc target 'cfg' needs a target class");
    return std::make_unique<CompositeModel>(
        std::vector<CompositeModel::Part>{{m, job.cls, p.weight}, {m, -1, 1 - p.weight}});
  }
  throw Error("particles.target: unknown fkc target '" + p.target +
              "' (expected anneal, product or cfg)");
}

// Exact initial weights (note §3.4): ℓ0 = Σ c_i log q_i,T(x) − log N(x; 0, v I), v = s²/Σc.
void fkc_initial_weights(Backend& be, const CompositeModel& comp, const ParticleJob& job,
                         const Tensor& x, std::vector<double>& logw) {
  const RowMatrixXf X = to_host(be, x);
  const int64_t n = X.rows();
  const int d = static_cast<int>(X.cols());
  const ProcessPoint& pt = job.grid->point[0];
  std::vector<double> lq(static_cast<size_t>(n));
  for (const CompositeModel::Part& part : comp.parts()) {
    const auto* g = dynamic_cast<const GaussianMixture*>(part.model);
    if (!g)
      return; // not a mixture: no exact log q, keep ℓ0 = 0
    mixture_log_density(g->kernel_params(), X.data(), n, pt.alpha, pt.sigma, part.cls, lq.data());
    for (int64_t i = 0; i < n; ++i)
      logw[i] += part.c * lq[i];
  }
  const double s = job.process->prior_scale();
  const double v = s * s / comp.csum();
  const double c0 = -0.5 * d * std::log(2 * std::numbers::pi * v);
  for (int64_t i = 0; i < n; ++i) {
    const double q = X.row(i).cast<double>().squaredNorm();
    logw[i] -= c0 - 0.5 * q / v;
    if (std::isnan(logw[i]))
      logw[i] = kNegInf;
  }
}

// FKC weight increment over one step, left point (note §3.2–3.5):
//   Δℓ = (g²(t_k)/2)(‖Σ c_i s_i‖² − Σ c_i ‖s_i‖²)·(t_k − t_{k+1}).
void fkc_increment(Backend& be, const CompositeModel& comp, const ParticleJob& job, int k,
                   const Tensor& x, std::vector<double>& logw) {
  const StepGrid& grid = *job.grid;
  const ProcessPoint& pt = grid.point[k];
  const double g2 = job.process->g2(grid.t[k]);
  const double dt = grid.t[k] - grid.t[k + 1];
  if (!std::isfinite(g2) || !(pt.sigma > 0))
    throw Error("particles.method: fkc needs a finite diffusion g² at t = " +
                std::to_string(grid.t[k]) + " (flow_linear: set process.t_max < 1)");
  const int64_t n = x.rows(), d = x.cols();
  std::vector<float> X(static_cast<size_t>(n * d));
  be.download(x, X.data());
  const size_t P = comp.parts().size();
  std::vector<std::vector<float>> D(P, std::vector<float>(X.size()));
  for (size_t j = 0; j < P; ++j)
    be.download(comp.part_output(j), D[j].data());
  const double a = pt.alpha, inv = 1 / (pt.sigma * pt.sigma), scale = 0.5 * g2 * dt;
  double c[2] = {comp.parts()[0].c, P > 1 ? comp.parts()[1].c : 0.0};
#pragma omp parallel for schedule(static) if (n > 4096)
  for (int64_t i = 0; i < n; ++i) {
    double S2 = 0, sum_c_s2 = 0;
    for (int64_t q = 0; q < d; ++q) {
      const double xi = X[i * d + q];
      double S = 0;
      for (size_t j = 0; j < P; ++j) {
        const double s = (a * D[j][i * d + q] - xi) * inv;
        S += c[j] * s;
        sum_c_s2 += c[j] * s * s;
      }
      S2 += S * S;
    }
    const double inc = scale * (S2 - sum_c_s2);
    logw[i] = std::isnan(inc) ? kNegInf : logw[i] + inc;
  }
}

void finite_or_neg_inf(double& v) {
  if (std::isnan(v))
    v = kNegInf;
}

} // namespace

ParticleResult run_smc(const ParticleJob& job, const ParticleParams& p) {
  Backend& be = *job.be;
  const StepGrid& grid = *job.grid;
  const int M = grid.steps();
  const bool fkc = p.method == "fkc";
  ParticleResult res;
  if (!fkc && !job.reward)
    throw Error("reward: fk_steering needs a reward (add a \"reward\" section)");
  if (p.resample_every < 1)
    throw Error("particles.resample_every: must be ≥ 1");
  if (!solver_is_stochastic(job.solver))
    res.warnings.push_back("solver '" + job.solver.type +
                           "' adds no noise: resampled copies of a particle never separate; use "
                           "a stochastic solver (ddim with eta > 0, euler_ancestral, "
                           "euler_maruyama, ddpm, dpmpp_2m_sde)");

  std::unique_ptr<CompositeModel> comp;
  if (fkc) {
    comp = fkc_target(job, p);
    if (job.solver.type != "euler_maruyama" || job.solver.get("form", std::string()) != "plain")
      res.warnings.push_back(
          "fkc: the weights are those of the Euler–Maruyama step; with solver '" + job.solver.type +
          "' the target is reached more slowly as steps grow (use "
          "euler_maruyama with form 'plain')");
  }
  const Model& base = fkc ? static_cast<const Model&>(*comp) : *job.denoiser;
  const int cost = fkc ? comp->cost() : job.denoiser_cost;
  StepDenoiser sd(base);

  Tensor x = initial_particles(job, fkc ? 1 / std::sqrt(comp->csum()) : 1.0);
  const int64_t N = x.rows();
  const int64_t d = x.cols();
  const double logN = std::log(static_cast<double>(N));
  std::vector<double> logw(static_cast<size_t>(N), 0.0);
  if (fkc && p.exact_init)
    fkc_initial_weights(be, *comp, job, x, logw);

  Tensor D = be.alloc(N, d), x2 = be.alloc(N, d), D2 = be.alloc(N, d);
  std::vector<double> r, rprev(N, 0.0), acc(N, p.potential == "max" ? kNegInf : 0.0),
      logprod(N, 0.0), W;
  const int cls = fkc ? -1 : job.cls;
  SolverContext ctx{be, sd, *job.process, grid, cls, job.seed};
  std::unique_ptr<Solver> solver = make_solver(job.solver);
  const bool single_step = solver_is_single_step(job.solver.type);
  double log_z = 0;
  const double lambda = p.lambda;
  if (job.trajectory)
    res.trajectory.push_back(to_host(be, x));

  // potential bookkeeping (note §2.2): difference telescopes; max/sum divide out the product of
  // the potentials along the ancestral line at the end.
  if (!fkc && p.potential != "difference" && p.potential != "max" && p.potential != "sum")
    throw Error("particles.potential: unknown potential '" + p.potential +
                "' (expected difference, max or sum)");
  const bool diff = p.potential == "difference", pmax = p.potential == "max";
  auto potential = [&](const std::vector<double>& rk) {
    for (int64_t i = 0; i < N; ++i) {
      double inc;
      if (diff) {
        inc = lambda * (rk[i] - rprev[i]);
        rprev[i] = rk[i];
      } else {
        acc[i] = pmax ? std::max(acc[i], rk[i]) : acc[i] + rk[i];
        inc = lambda * acc[i];
        logprod[i] += inc;
      }
      finite_or_neg_inf(inc);
      logw[i] += inc;
    }
  };

  for (int k = 0; k < M; ++k) {
    if (job.cancel && job.cancel->load())
      throw Cancelled();
    ParticleStepStats st;
    st.step = k + 1;
    st.t = grid.t[k + 1];
    // x̂0 of every particle at node k: the solver reuses it (primed below), so it is free
    sd.denoise(be, D, x, grid.t[k], grid.point[k], cls);
    if (fkc)
      fkc_increment(be, *comp, job, k, x, logw);
    // potentials and resampling at k = 0, every, 2·every, … (the reference's resampling
    // indices); rewards every step for the diagnostics
    const bool due = k % p.resample_every == 0;
    if (job.reward) {
      job.reward->evaluate(be, D, r);
      res.reward_evals += N;
      put_reward(st, r);
      if (!fkc && due)
        potential(r);
    }
    const WeightSummary ws = summarize_log_weights(logw, &W);
    st.ess = ws.ess;
    st.log_w_spread = log_weight_spread(logw);
    std::vector<int64_t> a;
    if (due && (p.ess_threshold >= 1 || st.ess < p.ess_threshold * static_cast<double>(N))) {
      log_z += ws.lse - logN;
      if (!ws.finite)
        res.warnings.push_back("step " + std::to_string(k + 1) +
                               ": every particle has weight 0 (reward NaN or −inf); resampled "
                               "uniformly");
      a = resample(p.scheme, W, N, job.seed, particle_stream::resample, static_cast<uint32_t>(k));
      ++res.resamplings;
      st.resampled = true;
      st.unique_ancestors = count_unique_sorted(a);
      if (!is_identity(a)) {
        be.gather_rows(x2, x, a);
        std::swap(x, x2);
        be.gather_rows(D2, D, a);
        std::swap(D, D2);
        if (job.reward && job.on_step) // only the snapshot shows the current rewards
          gather_host(r, a);
        if (!fkc && diff)
          gather_host(rprev, a);
        if (!fkc && !diff) {
          gather_host(acc, a);
          gather_host(logprod, a);
        }
        // multistep history belongs to the old particles: restart it
        if (!single_step)
          solver = make_solver(job.solver);
      }
      std::fill(logw.begin(), logw.end(), 0.0);
    }
    st.resamplings = res.resamplings;
    sd.prime(x, grid.t[k], D);
    solver->step(ctx, x, k);
    res.nfe = static_cast<int>(sd.calls());
    st.nfe_total = sd.calls() * N * cost;

    if (k == M - 1) {
      // x is the final sample x0: its reward closes the potentials
      if (job.reward) {
        job.reward->evaluate(be, x, r);
        res.reward_evals += N;
        put_reward(st, r);
        if (!fkc)
          for (int64_t i = 0; i < N; ++i) {
            double inc = diff ? lambda * (r[i] - rprev[i]) : lambda * r[i] - logprod[i];
            finite_or_neg_inf(inc);
            logw[i] += inc;
          }
      }
      st.ess = effective_sample_size(logw);
      st.log_w_spread = log_weight_spread(logw);
    }
    if (job.trajectory)
      res.trajectory.push_back(to_host(be, x));
    res.steps.push_back(st);
    if (job.on_step) {
      std::vector<double> lw(logw.size());
      const double lse = log_sum_exp(logw);
      for (size_t i = 0; i < lw.size(); ++i)
        lw[i] = std::isfinite(lse) ? logw[i] - lse : -logN;
      ParticleStepView v;
      v.stats = &st;
      v.steps = M;
      v.nfe = res.nfe;
      v.sigma = grid.sigma[k + 1];
      v.x = &x;
      v.log_w = &lw;
      v.reward = job.reward ? &r : nullptr;
      v.ancestors = st.resampled ? &a : nullptr;
      job.on_step(v);
    }
  }
  log_z += log_sum_exp(logw) - logN;
  res.log_z = log_z;
  res.nfe_total = sd.calls() * N * cost;

  // final selection (note §2.6)
  const RowMatrixXf X0 = to_host(be, x);
  const double lse = log_sum_exp(logw);
  res.final_log_w.resize(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i)
    res.final_log_w[i] = std::isfinite(lse) ? logw[i] - lse : -logN;
  if (job.reward)
    res.final_reward = r;
  const int64_t m = p.keep > 0 ? p.keep : N;
  if (p.selection == "weighted") {
    res.selected.resize(static_cast<size_t>(N));
    std::iota(res.selected.begin(), res.selected.end(), 0);
  } else if (p.selection == "sample") {
    if (!normalise_log_weights(logw, W))
      res.warnings.push_back("final selection: every particle has weight 0; drew uniformly");
    res.selected = resample(p.scheme, W, m, job.seed, particle_stream::select, 0);
  } else if (p.selection == "argmax") {
    std::vector<int64_t> o = order_desc(job.reward ? r : logw, 0, N);
    o.resize(static_cast<size_t>(std::min(m, N)));
    res.selected = std::move(o);
  } else {
    throw Error("particles.selection: unknown selection '" + p.selection +
                "' (expected sample, argmax or weighted)");
  }
  res.samples.resize(static_cast<int64_t>(res.selected.size()), d);
  for (size_t i = 0; i < res.selected.size(); ++i)
    res.samples.row(static_cast<int64_t>(i)) = X0.row(res.selected[i]);
  return res;
}

} // namespace itslab::particle_detail
