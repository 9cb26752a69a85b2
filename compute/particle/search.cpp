// Best-of-N and the noise-search methods of Ma et al. 2025 (particle note §1): random search and
// zero-order search over initial noises, with the preset's sampler as the map noise → x0.
#include "core/error.hpp"
#include "core/philox.hpp"
#include "particle/detail.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace itslab {

RowMatrixXf search_neighbours(const RowMatrixXf& Z, const RowMatrixXf& E, int J, double radius,
                              bool sphere) {
  const int64_t S = Z.rows(), d = Z.cols();
  if (E.rows() != S * J || E.cols() != d)
    throw Error("search_neighbours: E must be [" + std::to_string(S * J) + ", " +
                std::to_string(d) + "]");
  const double r = radius, c = std::sqrt(std::max(0.0, 1 - r * r));
  RowMatrixXf Y(S * J, d);
  for (int64_t i = 0; i < S; ++i) {
    const Eigen::VectorXd n = Z.row(i).transpose().cast<double>();
    const double nn = n.norm();
    for (int j = 0; j < J; ++j) {
      const int64_t row = i * J + j;
      const Eigen::VectorXd e = E.row(row).transpose().cast<double>();
      Eigen::VectorXd y;
      if (!sphere) {
        // marginal-preserving: y ~ N(0, I) whenever n and e are
        y = c * n + r * e;
      } else if (nn > 0) {
        // norm-preserving (the reference's rule): ‖y‖ = ‖n‖, cos(y, n) = c
        const Eigen::VectorXd u = n / nn;
        const Eigen::VectorXd w = e - e.dot(u) * u;
        const double wn = w.norm();
        y = wn > 0 ? Eigen::VectorXd(nn * (c * u + r * (w / wn))) : n;
      } else {
        y = e;
      }
      Y.row(row) = y.transpose().cast<float>();
    }
  }
  return Y;
}

} // namespace itslab

namespace itslab::particle_detail {

namespace {

// A different solver-noise seed per search iteration (iteration 0 keeps the preset's seed, so
// it reproduces the plain sampler).
uint64_t iteration_seed(uint64_t seed, int it) {
  return it == 0 ? seed : seed ^ (0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(it));
}

// Runs the solver over the whole grid on x in place. When xhat is given, x̂0 at node k (the
// solver's own first denoiser call of the step) is copied into it and after(k, true) is told.
template <class After>
void run_chain(const ParticleJob& job, Tensor& x, uint64_t solver_seed, StepDenoiser& sd,
               Tensor* xhat, After after) {
  const StepGrid& grid = *job.grid;
  SolverContext ctx{*job.be, sd, *job.process, grid, job.cls, solver_seed};
  std::unique_ptr<Solver> solver = make_solver(job.solver);
  for (int k = 0; k < grid.steps(); ++k) {
    if (job.cancel && job.cancel->load())
      throw Cancelled();
    const int64_t before = sd.records();
    if (xhat)
      sd.record(x, grid.t[k], xhat);
    solver->step(ctx, x, k);
    after(k, sd.records() > before);
  }
}

void no_step(int, bool) {}

Tensor standard_normal(Backend& be, int64_t n, int64_t d, uint64_t seed, uint32_t stream,
                       uint32_t step) {
  Tensor z = be.alloc(n, d);
  be.fill_normal(z, {seed, stream, step, 0});
  return z;
}

} // namespace

ParticleResult run_best_of_n(const ParticleJob& job, const ParticleParams& p) {
  if (!job.reward)
    throw Error("reward: best_of_n needs a reward (add a \"reward\" section)");
  Backend& be = *job.be;
  const StepGrid& grid = *job.grid;
  ParticleResult res;
  Tensor x = initial_particles(job, 1.0);
  const int64_t N = x.rows(), d = x.cols();
  StepDenoiser sd(*job.denoiser);
  Tensor xhat;
  std::vector<double> r;
  if (job.trajectory)
    res.trajectory.push_back(to_host(be, x));
  run_chain(job, x, job.seed, sd, &xhat, [&](int k, bool have_xhat) {
    ParticleStepStats st;
    st.step = k + 1;
    st.t = grid.t[k + 1];
    const bool last = k == grid.steps() - 1;
    // intermediate steps: reward of x̂0 (a diagnostic; best-of-N only selects at the end)
    if (last || have_xhat) {
      job.reward->evaluate(be, last ? x : xhat, r);
      res.reward_evals += N;
      put_reward(st, r);
    }
    st.nfe_total = sd.calls() * N * job.denoiser_cost;
    res.steps.push_back(st);
    if (job.trajectory)
      res.trajectory.push_back(to_host(be, x));
    if (job.on_step) {
      ParticleStepView v;
      v.stats = &res.steps.back();
      v.steps = grid.steps();
      v.nfe = static_cast<int>(sd.calls());
      v.sigma = grid.sigma[k + 1];
      v.x = &x;
      v.reward = st.has_reward ? &r : nullptr;
      job.on_step(v);
    }
  });
  res.nfe = static_cast<int>(sd.calls());
  res.nfe_total = sd.calls() * N * job.denoiser_cost;
  res.final_reward = r;
  const int64_t G = p.group > 0 ? std::min(p.group, N) : N;
  const int64_t keep = p.keep > 0 ? p.keep : 1;
  for (int64_t g = 0; g < N; g += G) {
    std::vector<int64_t> o = order_desc(r, g, std::min(N, g + G));
    o.resize(static_cast<size_t>(std::min<int64_t>(keep, static_cast<int64_t>(o.size()))));
    res.selected.insert(res.selected.end(), o.begin(), o.end());
  }
  const RowMatrixXf X0 = to_host(be, x);
  res.samples.resize(static_cast<int64_t>(res.selected.size()), d);
  for (size_t i = 0; i < res.selected.size(); ++i)
    res.samples.row(static_cast<int64_t>(i)) = X0.row(res.selected[i]);
  return res;
}

ParticleResult run_search(const ParticleJob& job, const ParticleParams& p) {
  const bool zo = p.method == "zero_order_search";
  if (!job.reward)
    throw Error("reward: " + p.method + " needs a reward (add a \"reward\" section)");
  if (p.iterations < 1)
    throw Error("particles.iterations: must be ≥ 1");
  if (zo && p.neighbors < 1)
    throw Error("particles.neighbors: must be ≥ 1");
  if (zo && !(p.radius > 0 && p.radius <= 1))
    throw Error("particles.radius: must be in (0, 1]");
  Backend& be = *job.be;
  const double scale = job.process->prior_scale();
  ParticleResult res;
  if (job.trajectory)
    throw Error("--trajectory: not available for " + p.method +
                " (it runs many sampler passes; the report carries per-iteration rewards)");

  // iteration 0: the plain sampler's own start (options.init or Philox init noise)
  Tensor x = initial_particles(job, 1.0);
  const int64_t S = x.rows(), d = x.cols();
  RowMatrixXf Z = to_host(be, x) / static_cast<float>(scale); // the pivots' standard noise
  StepDenoiser sd(*job.denoiser);
  int64_t calls = 0; // model calls × rows
  auto run = [&](Tensor& xs, int it) {
    const int64_t c0 = sd.calls();
    run_chain(job, xs, iteration_seed(job.seed, it), sd, nullptr, no_step);
    calls += (sd.calls() - c0) * xs.rows();
  };
  run(x, 0);
  std::vector<double> best_r;
  job.reward->evaluate(be, x, best_r);
  res.reward_evals += S;
  RowMatrixXf best = to_host(be, x);

  auto report = [&](int it) {
    ParticleStepStats st;
    st.step = it + 1;
    put_reward(st, best_r);
    st.nfe_total = calls * job.denoiser_cost;
    res.steps.push_back(st);
    if (job.on_step) {
      Tensor bx = to_device(be, best);
      ParticleStepView v;
      v.stats = &res.steps.back();
      v.steps = p.iterations;
      v.nfe = static_cast<int>(calls / S);
      v.x = &bx;
      v.reward = &best_r;
      job.on_step(v);
    }
  };
  report(0);

  const int J = zo ? p.neighbors : 1;
  std::vector<double> rc;
  for (int it = 1; it < p.iterations; ++it) {
    if (job.cancel && job.cancel->load())
      throw Cancelled();
    Tensor cand;
    RowMatrixXf Y;
    if (!zo) {
      cand =
          standard_normal(be, S, d, job.seed, particle_stream::search, static_cast<uint32_t>(it));
      Y = to_host(be, cand);
    } else {
      // J neighbours of each pivot (note §1.4)
      const RowMatrixXf E =
          to_host(be, standard_normal(be, S * J, d, job.seed, particle_stream::search,
                                      static_cast<uint32_t>(it)));
      Y = search_neighbours(Z, E, J, p.radius, p.neighborhood == "sphere");
    }
    Tensor xs = to_device(be, Y);
    be.lincomb(xs, {{&xs, scale}});
    run(xs, it);
    job.reward->evaluate(be, xs, rc);
    res.reward_evals += xs.rows();
    const RowMatrixXf X0 = to_host(be, xs);
    for (int64_t i = 0; i < S; ++i) {
      int64_t arg = -1;
      double v = best_r[i];
      for (int j = 0; j < J; ++j) {
        const int64_t row = i * J + j;
        if (rc[row] > v || (std::isnan(v) && !std::isnan(rc[row]))) // NaN never wins
          v = rc[row], arg = row;
      }
      if (arg >= 0) {
        best_r[i] = v;
        best.row(i) = X0.row(arg);
        Z.row(i) = Y.row(arg);
      }
    }
    report(it);
  }
  res.nfe = static_cast<int>(calls / S);
  res.nfe_total = calls * job.denoiser_cost;
  res.final_reward = best_r;
  res.selected.resize(static_cast<size_t>(S));
  std::iota(res.selected.begin(), res.selected.end(), 0);
  res.samples = best;
  return res;
}

} // namespace itslab::particle_detail
