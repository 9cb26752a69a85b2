#include "particle/particle.hpp"

#include "core/error.hpp"
#include "core/philox.hpp"
#include "particle/detail.hpp"

#include <algorithm>
#include <numeric>

namespace itslab {

namespace particle_detail {

int64_t job_particles(const ParticleJob& j) {
  return j.init ? j.init->rows() : j.n;
}

Tensor initial_particles(const ParticleJob& j, double scale) {
  Backend& be = *j.be;
  const int d = j.denoiser->dim();
  Tensor x;
  if (j.init) {
    if (j.init->cols() != d)
      throw Error("--init: noise has " + std::to_string(j.init->cols()) + " columns, the model " +
                  std::to_string(d) + " dimensions");
    if (j.init->rows() < 1)
      throw Error("--init: noise has no rows");
    x = be.alloc(j.init->rows(), d);
    be.upload(x, j.init->data());
  } else {
    if (j.n < 1)
      throw Error("particles.count: must be ≥ 1");
    x = be.alloc(j.n, d);
    be.fill_normal(x, {j.seed, static_cast<uint32_t>(Stream::init_noise), 0, 0});
  }
  be.lincomb(x, {{&x, j.process->prior_scale() * scale}});
  return x;
}

RowMatrixXf to_host(Backend& be, const Tensor& x) {
  RowMatrixXf h(x.rows(), x.cols());
  be.download(x, h.data());
  return h;
}

Tensor to_device(Backend& be, const RowMatrixXf& X) {
  Tensor t = be.alloc(X.rows(), X.cols());
  be.upload(t, X.data());
  return t;
}

Stats stats_of(const std::vector<double>& v) {
  Stats s;
  constexpr double inf = std::numeric_limits<double>::infinity();
  double sum = 0, sq = 0, hi = -inf, lo = inf;
  int64_t finite = 0;
  const double* x = v.data();
  const int64_t n = static_cast<int64_t>(v.size());
  // SMC takes the rewards' statistics every step: branch-free, so the loops vectorise
  // (|x| ≤ max is false for ±inf and NaN)
#pragma omp simd reduction(+ : sum, finite) reduction(max : hi) reduction(min : lo)
  for (int64_t i = 0; i < n; ++i) {
    const bool f = std::abs(x[i]) <= std::numeric_limits<double>::max();
    finite += f;
    sum += f ? x[i] : 0.0;
    hi = std::max(hi, f ? x[i] : -inf);
    lo = std::min(lo, f ? x[i] : inf);
  }
  s.finite = finite;
  s.max = hi;
  s.min = lo;
  if (s.finite == 0)
    return Stats{std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN(),
                 std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN(),
                 0};
  s.mean = sum / static_cast<double>(s.finite);
#pragma omp simd reduction(+ : sq)
  for (int64_t i = 0; i < n; ++i) {
    const bool f = std::abs(x[i]) <= std::numeric_limits<double>::max();
    sq += f ? (x[i] - s.mean) * (x[i] - s.mean) : 0.0;
  }
  s.std = s.finite > 1 ? std::sqrt(sq / static_cast<double>(s.finite - 1)) : 0.0;
  return s;
}

void put_reward(ParticleStepStats& s, const std::vector<double>& r) {
  const Stats st = stats_of(r);
  s.has_reward = true;
  s.reward_mean = st.mean;
  s.reward_max = st.max;
  s.reward_std = st.std;
}

bool solver_is_single_step(const std::string& type) {
  static const char* const single[] = {"euler",          "heun", "ddim",       "euler_ancestral",
                                       "euler_maruyama", "ddpm", "pc_langevin"};
  return std::any_of(std::begin(single), std::end(single),
                     [&](const char* s) { return type == s; });
}

bool is_identity(const std::vector<int64_t>& a) {
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != static_cast<int64_t>(i))
      return false;
  return true;
}

int count_unique_sorted(const std::vector<int64_t>& a) {
  int u = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (i == 0 || a[i] != a[i - 1])
      ++u;
  return u;
}

std::vector<int64_t> order_desc(const std::vector<double>& v, int64_t first, int64_t last) {
  std::vector<int64_t> idx(static_cast<size_t>(last - first));
  std::iota(idx.begin(), idx.end(), first);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    const double va = v[a], vb = v[b];
    if (std::isnan(va))
      return false;
    if (std::isnan(vb))
      return true;
    return va > vb;
  });
  return idx;
}

} // namespace particle_detail

void set_reward_stats(ParticleStepStats& s, const std::vector<double>& r) {
  particle_detail::put_reward(s, r);
}

bool is_particle_method(const std::string& method) {
  const auto m = particle_method_names();
  return std::find(m.begin(), m.end(), method) != m.end();
}

std::vector<std::string> particle_method_names() {
  return {"independent", "best_of_n", "random_search", "zero_order_search", "fk_steering", "fkc"};
}

bool solver_is_stochastic(const SolverParams& s) {
  const std::string& t = s.type;
  const double s_noise = s.get("s_noise", 1.0);
  if (t == "ddim")
    return s.get("eta", 0.0) > 0 && s_noise > 0;
  if (t == "euler_ancestral" || t == "dpmpp_2m_sde" || t == "dpmpp_3m_sde")
    return s.get("eta", 1.0) > 0 && s_noise > 0;
  if (t == "euler_maruyama")
    return s.get("diffusion_scale", 1.0) > 0;
  if (t == "ddpm")
    return s_noise > 0;
  if (t == "pc_langevin")
    return true;
  if (t == "euler" || t == "heun")
    return s.get("s_churn", 0.0) > 0 && s_noise > 0;
  return false;
}

void StepDenoiser::denoise(Backend& be, Tensor& x0, const Tensor& x, double t,
                           const ProcessPoint& pt, int cls) const {
  const bool match = x.buffer() == key_ && t == key_t_;
  const Tensor* primed = primed_;
  Tensor* record = record_;
  primed_ = nullptr;
  record_ = nullptr;
  key_ = nullptr;
  if (match && primed && primed->rows() == x0.rows() && primed->cols() == x0.cols()) {
    be.lincomb(x0, {{primed, 1.0}});
    return;
  }
  ++calls_;
  inner_.denoise(be, x0, x, t, pt, cls);
  if (match && record) {
    if (record->empty() || record->backend() != &be || record->rows() != x0.rows() ||
        record->cols() != x0.cols())
      *record = be.alloc(x0.rows(), x0.cols());
    be.lincomb(*record, {{&x0, 1.0}});
    ++records_;
  }
}

void StepDenoiser::prime(const Tensor& x, double t, const Tensor& D) {
  key_ = x.buffer();
  key_t_ = t;
  primed_ = &D;
  record_ = nullptr;
}

void StepDenoiser::record(const Tensor& x, double t, Tensor* out) {
  key_ = x.buffer();
  key_t_ = t;
  primed_ = nullptr;
  record_ = out;
}

ParticleResult run_particle_method(const ParticleJob& job, const ParticleParams& p) {
  using namespace particle_detail;
  if (!job.be || !job.denoiser || !job.process || !job.grid)
    throw Error("particles: incomplete job");
  if (p.method == "fk_steering" || p.method == "fkc")
    return run_smc(job, p);
  if (p.method == "best_of_n")
    return run_best_of_n(job, p);
  if (p.method == "random_search" || p.method == "zero_order_search")
    return run_search(job, p);
  if (p.method == "independent")
    throw Error("particles.method: 'independent' runs in the plain sampler");
  throw Error("particles.method: unknown method '" + p.method + "'");
}

} // namespace itslab
