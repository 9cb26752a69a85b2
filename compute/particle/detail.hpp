#pragma once
// Helpers shared by the particle methods (not part of the public interface).
#include "particle/particle.hpp"

#include <cmath>
#include <vector>

namespace itslab::particle_detail {

inline Backend& be_of(const ParticleJob& j) {
  return *j.be;
}

// The particle count of a job: init's rows when given.
int64_t job_particles(const ParticleJob& j);

// x_T = scale·prior_scale·z with z from options.init or Philox (seed, init_noise): the same
// start as the plain sampler when scale = 1.
Tensor initial_particles(const ParticleJob& j, double scale);

RowMatrixXf to_host(Backend& be, const Tensor& x);
Tensor to_device(Backend& be, const RowMatrixXf& X);

struct Stats {
  double mean = 0, max = 0, std = 0, min = 0;
  int64_t finite = 0;
};
// Over the finite entries.
Stats stats_of(const std::vector<double>& v);

// Fills the reward fields of s from r.
void put_reward(ParticleStepStats& s, const std::vector<double>& r);

// Solvers that keep no per-particle history between steps (resampling needs no reset).
bool solver_is_single_step(const std::string& type);

// Gathers host values by ancestor index.
template <class T> void gather_host(std::vector<T>& v, const std::vector<int64_t>& a) {
  std::vector<T> out(a.size());
  for (size_t i = 0; i < a.size(); ++i)
    out[i] = v[static_cast<size_t>(a[i])];
  v.swap(out);
}

bool is_identity(const std::vector<int64_t>& a);
int count_unique_sorted(const std::vector<int64_t>& a);

// Indices of v sorted by value, descending; NaN last. Stable.
std::vector<int64_t> order_desc(const std::vector<double>& v, int64_t first, int64_t last);

// The methods, dispatched by run_particle_method.
ParticleResult run_smc(const ParticleJob& job, const ParticleParams& p); // fk_steering, fkc
ParticleResult run_best_of_n(const ParticleJob& job, const ParticleParams& p);
ParticleResult run_search(const ParticleJob& job, const ParticleParams& p); // random, zero-order

} // namespace itslab::particle_detail
