#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace itslab {

// Log-space weights and resampling (particle note §4). Log-weights live on the host as double;
// W_i = exp(ℓ_i − LSE(ℓ)); −inf and NaN mean weight 0.

enum class ResampleScheme { multinomial, systematic, stratified, residual };
ResampleScheme resample_scheme_from_string(const std::string& s); // throws Error
std::string to_string(ResampleScheme s);
std::vector<std::string> resample_scheme_names();

// One vectorised pass over ℓ: LSE, ESS and (optionally) the normalised weights W. When no entry
// is finite, lse = −inf, ess = N, W uniform and finite = false.
struct WeightSummary {
  double lse = 0, ess = 0;
  bool finite = true;
};
WeightSummary summarize_log_weights(const std::vector<double>& l, std::vector<double>* W);

// LSE(ℓ) = m + log Σ exp(ℓ_i − m); −inf when every entry is −inf or NaN (NaN counts as −inf).
double log_sum_exp(const std::vector<double>& l);
// Normalised weights; when no entry is finite the weights are uniform and false is returned.
bool normalise_log_weights(const std::vector<double>& l, std::vector<double>& W);
// ESS = 1/Σ W² = exp(2 LSE(ℓ) − LSE(2ℓ)) ∈ [1, N]; N when no entry is finite.
double effective_sample_size(const std::vector<double>& l);
// max − min over the finite entries (0 when fewer than one).
double log_weight_spread(const std::vector<double>& l);

// Draws m ancestor indices (non-decreasing) with offspring counts N_i, E[N_i] = m W_i, from the
// normalised weights W. The uniforms come from Philox (seed, stream, step), so the result is a
// function of (W, m, seed, stream, step) only.
//   multinomial  m sorted iid uniforms (O(m) through exponential spacings)
//   stratified   u_j = (j + U_j)/m
//   systematic   u_j = (j + U)/m          N_i ∈ {⌊mW_i⌋, ⌈mW_i⌉}
//   residual     ⌊mW_i⌋ copies, then the remainder multinomially on the residual weights
std::vector<int64_t> resample(ResampleScheme scheme, const std::vector<double>& W, int64_t m,
                              uint64_t seed, uint32_t stream, uint32_t step);

// Philox streams of the particle methods (beyond core/philox.hpp's, which stop at 4).
namespace particle_stream {
inline constexpr uint32_t resample = 64; // resampling uniforms, step = event index
inline constexpr uint32_t select = 65;   // final selection draw
inline constexpr uint32_t search = 66;   // search candidate noises, step = iteration
} // namespace particle_stream

} // namespace itslab
