#include "model/net/nets.hpp"

namespace itslab::net {

Tensor& Scratch::get(Backend& be, const std::string& role, int64_t rows, int64_t cols) {
  Tensor& t = tensors_[{role, rows, cols}];
  if (t.empty())
    t = be.alloc(rows, cols);
  return t;
}

void Scratch::begin(int64_t batch) {
  if (batch != batch_)
    tensors_.clear();
  batch_ = batch;
}

void Pass::linear(Tensor& y, const Tensor& x, const std::string& name, Activation act) const {
  be.gemm_bias_act(y, x, w.on(be, name + ".weight"), w.on(be, name + ".bias"), act);
}

} // namespace itslab::net
