// FMNIST-Clf with BatchNorm folded into the convolutions (docs/model-format.md):
//   h = maxpool2(ReLU(c_i(h))) for i = 1..3,  f = ReLU(fc1(flatten(h))),  logits = fc2(f)
#include "model/net/nets.hpp"

namespace itslab::net {

namespace {
constexpr int kChannels[3] = {32, 64, 64};
}

TensorList classifier_tensors(const ModelConfig& c) {
  const int64_t C = c.data_shape[0], H = c.data_shape[1] / 8, W = c.data_shape[2] / 8;
  const int64_t F = c.feature_dim;
  return {{"c1.weight", {kChannels[0], C, 3, 3}},
          {"c1.bias", {kChannels[0]}},
          {"c2.weight", {kChannels[1], kChannels[0], 3, 3}},
          {"c2.bias", {kChannels[1]}},
          {"c3.weight", {kChannels[2], kChannels[1], 3, 3}},
          {"c3.bias", {kChannels[2]}},
          {"fc1.weight", {F, kChannels[2] * H * W}},
          {"fc1.bias", {F}},
          {"fc2.weight", {c.num_classes, F}},
          {"fc2.bias", {c.num_classes}},
          {c.reference_mu, {F}},
          {c.reference_sigma, {F, F}}};
}

void classifier_forward(const Pass& p, Tensor& features, Tensor* logits, const Tensor& x) {
  Backend& be = p.be;
  const int64_t n = x.rows();
  ImageShape s{p.cfg.data_shape[0], p.cfg.data_shape[1], p.cfg.data_shape[2]};
  const Tensor* h = &x;
  for (int i = 0; i < 3; ++i) {
    // append, not "c" + …: GCC 12 gives a false -Wrestrict warning on the latter (PR 105329)
    const std::string name = std::string("c").append(std::to_string(i + 1));
    const ImageShape so{kChannels[i], s.h, s.w};
    Tensor& c = p.tmp(name, n, so.size());
    be.conv2d(c, *h, s, p.w.on(be, name + ".weight"), p.w.on(be, name + ".bias"), 3, 1, 1, nullptr);
    be.activate(c, c, Activation::relu);
    s = {so.c, so.h / 2, so.w / 2};
    Tensor& pooled = p.tmp(name + ".pool", n, s.size());
    be.maxpool2(pooled, c, so);
    h = &pooled;
  }
  p.linear(features, *h, "fc1", Activation::relu);
  if (logits)
    p.linear(*logits, features, "fc2", Activation::none);
}

} // namespace itslab::net
