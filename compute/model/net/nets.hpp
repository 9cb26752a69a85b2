#pragma once
// The forward passes of the architectures of docs/model-format.md, written only in Backend ops
// so they run on every backend. Internal to model/.
#include "model/neural_model.hpp"

#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace itslab::net {

using TensorList = std::vector<std::pair<std::string, std::vector<int64_t>>>;

// Intermediate tensors of one backend, kept between calls so a sampling loop allocates them
// once; a new batch size drops them all.
class Scratch {
public:
  Tensor& get(Backend& be, const std::string& role, int64_t rows, int64_t cols);
  void begin(int64_t batch);

private:
  int64_t batch_ = -1;
  std::map<std::tuple<std::string, int64_t, int64_t>, Tensor> tensors_;
};

// Everything one forward pass reads. The conditioning t [m, 1] and y (m classes, or none for
// the mlp) has m = n, one per row, or m = 1, shared by every row: then it is computed once and
// folded into the layers' biases.
struct Pass {
  Backend& be;
  const ModelConfig& cfg;
  const Weights& w;
  Scratch& scratch;
  Tensor& tmp(const std::string& role, int64_t rows, int64_t cols) const {
    return scratch.get(be, role, rows, cols);
  }
  // y = act(x·Wᵀ + b) with the nn.Linear `name`.
  void linear(Tensor& y, const Tensor& x, const std::string& name, Activation act) const;
};

TensorList mlp_tensors(const ModelConfig& cfg);
void mlp_forward(const Pass& p, Tensor& out, const Tensor& x, const Tensor& t);

TensorList unet_tensors(const ModelConfig& cfg);
void unet_forward(const Pass& p, Tensor& out, const Tensor& x, const Tensor& t,
                  const std::vector<int64_t>& y);

TensorList classifier_tensors(const ModelConfig& cfg);
// features [n, feature_dim]; logits [n, classes] when given.
void classifier_forward(const Pass& p, Tensor& features, Tensor* logits, const Tensor& x);

} // namespace itslab::net
