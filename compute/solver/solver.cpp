#include "solver/solver.hpp"

#include "core/philox.hpp"

namespace itslab {

void SolverContext::noise(Tensor& z, int i, int k) const {
  be.fill_normal(z, {seed,
                     static_cast<uint32_t>(Stream::solver_noise) + 16u * static_cast<uint32_t>(k),
                     static_cast<uint32_t>(i), 0});
}

double exp_neg_h(const ProcessPoint& from, const ProcessPoint& to) {
  return (to.sigma * from.alpha) / (from.sigma * to.alpha);
}

} // namespace itslab

namespace itslab {
Tensor& scratch(Backend& be, Tensor& slot, const Tensor& like) {
  if (slot.empty() || slot.backend() != &be || slot.rows() != like.rows() ||
      slot.cols() != like.cols())
    slot = be.alloc(like.rows(), like.cols());
  return slot;
}
} // namespace itslab
