#include "engine/optimised_schedule.hpp"

#include "core/error.hpp"
#include "core/philox.hpp"
#include "engine/run.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <set>

namespace itslab {

namespace {

// Fixed seeds: an optimised schedule is a function of its cache key only.
constexpr uint64_t kBossSeed = 0xB055'2024ULL;
constexpr uint64_t kSearchSeed = 0x5EA2C'2023ULL;
constexpr double kRho = 7.0;    // Karras spacing of the candidate grid and of search's genes
constexpr int kRefSubsteps = 4; // fine Heun reference: 4 substeps per candidate interval

std::mutex g_mutex;
std::map<std::string, OptimisedSchedule>& cache() {
  static std::map<std::string, OptimisedSchedule> c;
  return c;
}

std::string cache_key(const Preset& p, bool with_steps = true) {
  const nlohmann::json j = preset_to_json(p);
  nlohmann::json k;
  for (const char* f : {"model", "process", "schedule", "solver", "guidance"})
    if (j.contains(f))
      k[f] = j[f];
  if (!with_steps)
    k["schedule"].erase("steps");
  return k.dump();
}

// boss's candidate σ nodes and local-cost matrix, which do not depend on the step budget:
// another `steps` is one DP away (note §6).
struct BossCosts {
  std::vector<double> sigma; // candidate nodes, the last = 0
  std::vector<double> cost;  // [C × C], row = from
  int64_t nfe = 0;
};
std::map<std::string, BossCosts>& cost_cache() {
  static std::map<std::string, BossCosts> c;
  return c;
}

const Model& denoiser(const Experiment& e) {
  return e.denoiser();
}

StepGrid karras(const Process& P, int steps) {
  ScheduleParams k;
  k.type = "karras";
  k.rho = kRho;
  k.steps = steps;
  return make_schedule(k, P);
}

StepGrid sub_grid(const StepGrid& g, int a, int b) {
  StepGrid s;
  for (int i : {a, b}) {
    s.t.push_back(g.t[i]);
    s.sigma.push_back(g.sigma[i]);
    s.point.push_back(g.point[i]);
  }
  return s;
}

RowMatrixXf download(Backend& be, const Tensor& x, int64_t n, int d) {
  RowMatrixXf h(n, d);
  be.download(x, h.data());
  return h;
}

// z ~ N(0, I) [n, d] from Philox (seed, init_noise).
RowMatrixXf fixed_noise(Backend& be, int64_t n, int d, uint64_t seed) {
  Tensor z = be.alloc(n, d);
  be.fill_normal(z, {seed, static_cast<uint32_t>(Stream::init_noise), 0, 0});
  return download(be, z, n, d);
}

// ---- boss ------------------------------------------------------------------------------------

BossCosts boss_costs(const Experiment& e, const Preset& p, const ScheduleParams& s) {
  const Process& P = *e.process;
  const int Nc = std::max(s.candidates, 2); // positive candidate nodes
  const int64_t n = s.particles;
  const int d = e.model().dim();
  BackendChoice bc = make_backend("cpu");
  Backend& be = *bc.backend;

  // Fine reference: Heun over a Karras grid with kRefSubsteps nodes per candidate interval;
  // every kRefSubsteps-th node of it is a candidate (Karras nodes are linear in σ^{1/ρ}).
  const StepGrid fine = karras(P, (Nc - 1) * kRefSubsteps + 1);
  const int Kf = fine.steps();
  std::vector<int> cand; // indices into fine: Nc positive candidates, then the data end
  cand.reserve(Nc + 1);
  for (int i = 0; i < Nc; ++i)
    cand.push_back(i * kRefSubsteps);
  cand.push_back(Kf);
  const int C = static_cast<int>(cand.size()); // nodes 0..C−1, C−1 = data end

  std::vector<RowMatrixXf> ref(C);
  {
    const RowMatrixXf z = fixed_noise(be, n, d, kBossSeed);
    Tensor x = be.alloc(n, d);
    be.upload(x, z.data());
    be.lincomb(x, {{&x, P.prior_scale()}});
    SolverContext ctx{be, denoiser(e), P, fine, p.model_class, kBossSeed};
    const auto heun = make_solver({"heun", {}, {}});
    int c = 0;
    ref[c++] = download(be, x, n, d);
    for (int i = 0; i < Kf; ++i) {
      heun->step(ctx, x, i);
      if (c < C && cand[c] == i + 1)
        ref[c++] = download(be, x, n, d);
    }
  }
  StepGrid cg; // candidate nodes as a grid
  for (int i : cand) {
    cg.t.push_back(fine.t[i]);
    cg.sigma.push_back(fine.sigma[i]);
    cg.point.push_back(fine.point[i]);
  }

  // c[a][b]: mean ‖step(ref[a]; a → b) − ref[b]‖² of ONE step of the chosen solver started
  // from the reference at a (BOSS's local cost, note §5.1). A fresh solver per step, so
  // multistep solvers (dpmpp_2m, ...) contribute their single-step first-order start error.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> cost(static_cast<size_t>(C) * C, inf);
  Tensor x = be.alloc(n, d);
  for (int a = 0; a + 1 < C; ++a) {
    for (int b = a + 1; b < C; ++b) {
      const StepGrid g = sub_grid(cg, a, b);
      SolverContext ctx{be, denoiser(e), P, g, p.model_class, kBossSeed};
      const auto solver = make_solver(e.solver);
      be.upload(x, ref[a].data());
      solver->step(ctx, x, 0);
      const RowMatrixXf y = download(be, x, n, d);
      cost[static_cast<size_t>(a) * C + b] =
          (y - ref[b]).cast<double>().rowwise().squaredNorm().mean();
    }
  }

  BossCosts bc_out;
  bc_out.sigma = cg.sigma;
  bc_out.cost = std::move(cost);
  bc_out.nfe = 2LL * Kf + static_cast<int64_t>(C) * (C - 1) / 2 * 2;
  return bc_out;
}

OptimisedSchedule boss(const BossCosts& bcost, int M) {
  const int C = static_cast<int>(bcost.sigma.size());
  if (M > C - 1)
    throw Error("schedule.candidates: " + std::to_string(C - 1) + " candidate nodes cannot make " +
                std::to_string(M) + " steps");
  const std::vector<double>& cost = bcost.cost;
  const double inf = std::numeric_limits<double>::infinity();
  // dp[m][b]: least summed cost of reaching node b from node 0 in m steps.
  std::vector<std::vector<double>> dp(M + 1, std::vector<double>(C, inf));
  std::vector<std::vector<int>> from(M + 1, std::vector<int>(C, -1));
  dp[0][0] = 0;
  for (int m = 1; m <= M; ++m)
    for (int b = m; b < C; ++b)
      for (int a = m - 1; a < b; ++a) {
        const double v = dp[m - 1][a] + cost[static_cast<size_t>(a) * C + b];
        if (v < dp[m][b])
          dp[m][b] = v, from[m][b] = a;
      }
  std::vector<int> path{C - 1};
  for (int m = M, b = C - 1; m > 0; --m)
    path.push_back(b = from[m][b]);
  std::reverse(path.begin(), path.end());
  OptimisedSchedule r;
  for (int m = 0; m < M; ++m)
    r.sigmas.push_back(bcost.sigma[path[m]]);
  r.objective = dp[M][C - 1];
  r.history = {r.objective};
  r.search_nfe = bcost.nfe;
  return r;
}

// ---- search ----------------------------------------------------------------------------------

struct Evaluator {
  const Experiment& e;
  const Preset& p;
  const ScheduleParams& s;
  BackendChoice bc = make_backend("cpu");
  RowMatrixXf z;
  GaussianMixture target;
  MetricReference ref;
  int64_t nfe = 0;

  Evaluator(const Experiment& e_, const Preset& p_, const ScheduleParams& s_)
      : e(e_), p(p_), s(s_), target(metric_target(e_, p_)) {
    if (s.metric != "frechet" && s.metric != "mmd" && s.metric != "sliced_wasserstein")
      throw Error("schedule.metric: expected frechet, mmd or sliced_wasserstein, got '" + s.metric +
                  "'");
    z = fixed_noise(*bc.backend, s.particles, e.model().dim(), kSearchSeed);
    ref = make_metric_reference(target, s.particles, false);
  }

  double operator()(const std::vector<double>& sigmas) {
    Backend& be = *bc.backend;
    const StepGrid g = grid_from_sigmas(sigmas, *e.process);
    Tensor x = be.alloc(z.rows(), z.cols());
    be.upload(x, z.data());
    be.lincomb(x, {{&x, e.process->prior_scale()}});
    SolverContext ctx{be, denoiser(e), *e.process, g, p.model_class, kSearchSeed};
    const auto solver = make_solver(e.solver);
    for (int i = 0; i < g.steps(); ++i)
      nfe += solver->step(ctx, x, i);
    const RowMatrixXf X = download(be, x, z.rows(), z.cols());
    if (!X.allFinite())
      return std::numeric_limits<double>::infinity();
    const double v = compute_metrics(target, X, {s.metric}, ref).values.at(s.metric);
    return std::isfinite(v) ? v : std::numeric_limits<double>::infinity();
  }
};

OptimisedSchedule search(const Experiment& e, const Preset& p, const ScheduleParams& s) {
  const Process& P = *e.process;
  const int M = s.steps;
  const StepGrid kg = karras(P, M);
  const double hi = kg.sigma[0], lo = kg.sigma[M - 1];
  Evaluator fit(e, p, s);
  OptimisedSchedule r;
  if (M == 1) {
    r.sigmas = {hi};
    r.objective = fit(r.sigmas);
    r.history = {r.objective};
    r.search_nfe = fit.nfe;
    return r;
  }
  // Genome: the M − 1 free positive nodes as r = σ^{1/ρ}, descending, strictly inside
  // (r_lo − ε, r_hi); the first node (the process's noise end) and σ = 0 are fixed.
  const double r_hi = std::pow(hi, 1 / kRho), r_lo = std::pow(lo, 1 / kRho);
  const double span = r_hi - r_lo, min_gap = 1e-6 * span;
  using Genome = std::vector<double>;
  auto valid = [&](Genome& g) {
    std::sort(g.begin(), g.end(), std::greater<>());
    if (!(g.front() < r_hi - min_gap) || !(g.back() >= r_lo - 1e-12))
      return false;
    for (size_t i = 1; i < g.size(); ++i)
      if (!(g[i - 1] - g[i] > min_gap))
        return false;
    return true;
  };
  auto to_sigmas = [&](const Genome& g) {
    std::vector<double> sig{hi};
    for (double v : g)
      sig.push_back(std::pow(v, kRho));
    return sig;
  };
  auto from_grid = [&](const StepGrid& g) {
    Genome out;
    for (int i = 1; i < g.steps(); ++i)
      out.push_back(std::clamp(std::pow(g.sigma[i], 1 / kRho), r_lo, r_hi - 2 * min_gap));
    return out;
  };

  std::mt19937_64 rng(kSearchSeed);
  std::uniform_real_distribution<double> U(0, 1);
  std::normal_distribution<double> N(0, 1);
  auto mutate = [&](Genome g, double prob) {
    for (double& v : g)
      if (U(rng) < prob)
        v = U(rng) < 0.3 ? r_lo + U(rng) * span
                         : std::clamp(v + 0.5 * span / M * N(rng), r_lo, r_hi - 2 * min_gap);
    return g;
  };
  auto crossover = [&](const Genome& a, const Genome& b) {
    Genome g(a.size());
    for (size_t i = 0; i < g.size(); ++i)
      g[i] = U(rng) < 0.5 ? a[i] : b[i];
    return g;
  };

  std::map<Genome, double> visited;
  std::vector<std::pair<double, Genome>> evaluated;
  auto evaluate = [&](Genome g) {
    if (!valid(g) || visited.count(g))
      return false;
    const double f = fit(to_sigmas(g));
    visited[g] = f;
    evaluated.push_back({f, g});
    return true;
  };

  // Initial population: karras, uniform in t, log-SNR, mutations of karras, random grids.
  const int pop = std::max(2, s.population);
  const Genome kgen = from_grid(kg);
  evaluate(kgen);
  for (const char* type : {"uniform", "logsnr"}) {
    ScheduleParams u;
    u.type = type;
    u.steps = M;
    try {
      evaluate(from_grid(make_schedule(u, P)));
    } catch (const Error&) {
    }
  }
  for (int tries = 0; static_cast<int>(evaluated.size()) < pop && tries < 50 * pop; ++tries) {
    if (static_cast<int>(evaluated.size()) < pop / 2 + 1) {
      evaluate(mutate(kgen, 0.25));
    } else {
      Genome g(M - 1);
      for (double& v : g)
        v = r_lo + U(rng) * span;
      evaluate(g);
    }
  }
  auto best = [&] { return std::min_element(evaluated.begin(), evaluated.end())->first; };
  r.history.push_back(best());

  // Elitist generations: the top quarter parents `population` new children, half mutations
  // and half crossovers (then lightly mutated); duplicates and invalid grids are redrawn.
  const int n_top = std::max(2, pop / 4);
  for (int gen = 0; gen < s.generations; ++gen) {
    std::sort(evaluated.begin(), evaluated.end());
    const std::vector<std::pair<double, Genome>> top(
        evaluated.begin(), evaluated.begin() + std::min<size_t>(n_top, evaluated.size()));
    std::uniform_int_distribution<size_t> pick(0, top.size() - 1);
    int made = 0;
    for (int tries = 0; made < pop && tries < 50 * pop; ++tries) {
      Genome child = made < pop / 2
                         ? mutate(top[pick(rng)].second, 0.25)
                         : mutate(crossover(top[pick(rng)].second, top[pick(rng)].second), 0.1);
      made += evaluate(child);
    }
    r.history.push_back(best());
  }
  const auto it = std::min_element(evaluated.begin(), evaluated.end());
  r.sigmas = to_sigmas(it->second);
  r.objective = it->first;
  r.search_nfe = fit.nfe;
  return r;
}

} // namespace

bool is_optimised_schedule(const std::string& type) {
  return type == "boss" || type == "search";
}

StepGrid grid_from_sigmas(const std::vector<double>& sigmas, const Process& P) {
  ScheduleParams c;
  c.type = "custom";
  c.sigmas = sigmas;
  return make_schedule(c, P);
}

double schedule_fitness(const Experiment& e, const Preset& p, const ScheduleParams& s,
                        const std::vector<double>& sigmas) {
  Evaluator fit(e, p, s);
  return fit(sigmas);
}

OptimisedSchedule optimise_schedule(const Experiment& e, const Preset& p, const ScheduleParams& s) {
  if (!is_optimised_schedule(s.type))
    throw Error("schedule.type: '" + s.type + "' is not an optimised schedule");
  if (s.steps < 1)
    throw Error("schedule.steps: must be ≥ 1, got " + std::to_string(s.steps));
  if (s.particles < 2)
    throw Error("schedule.particles: must be ≥ 2");
  const std::string key = cache_key(p);
  // One optimisation at a time: a second caller for the same key waits for the first.
  std::lock_guard<std::mutex> lock(g_mutex);
  if (auto it = cache().find(key); it != cache().end()) {
    OptimisedSchedule r = it->second;
    r.cached = true;
    return r;
  }
  OptimisedSchedule r;
  if (s.type == "boss") {
    const std::string ck = cache_key(p, false);
    auto it = cost_cache().find(ck);
    if (it == cost_cache().end())
      it = cost_cache().emplace(ck, boss_costs(e, p, s)).first;
    r = boss(it->second, s.steps);
  } else {
    r = search(e, p, s);
  }
  cache()[key] = r;
  return r;
}

void clear_optimised_schedule_cache() {
  std::lock_guard<std::mutex> lock(g_mutex);
  cache().clear();
  cost_cache().clear();
}

} // namespace itslab
