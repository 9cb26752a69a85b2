// ToyMLP (docs/model-format.md, tools/itslab_models.py):
//   e = act(tmlp.2(act(tmlp.0(emb(t))))),  h = inp(x)
//   z = blocks.i.fc1(act(blocks.i.norm(h))) + blocks.i.emb(e);  h = h + blocks.i.fc2(act(z))
//   y = out(act(out_norm(h)))
#include "model/net/nets.hpp"

namespace itslab::net {

TensorList mlp_tensors(const ModelConfig& c) {
  const int64_t W = c.width, E = c.temb_dim, d = c.dim();
  TensorList t = {{c.temb_frequencies, {E / 2}},
                  {"tmlp.0.weight", {W, E}},
                  {"tmlp.0.bias", {W}},
                  {"tmlp.2.weight", {W, W}},
                  {"tmlp.2.bias", {W}},
                  {"inp.weight", {W, d}},
                  {"inp.bias", {W}}};
  for (int i = 0; i < c.blocks; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    t.push_back({b + "norm.weight", {W}});
    t.push_back({b + "norm.bias", {W}});
    for (const char* layer : {"fc1", "emb", "fc2"})
      t.push_back({b + layer + ".weight", {W, W}}), t.push_back({b + layer + ".bias", {W}});
  }
  t.insert(t.end(), {{"out_norm.weight", {W}},
                     {"out_norm.bias", {W}},
                     {"out.weight", {d, W}},
                     {"out.bias", {d}}});
  return t;
}

void mlp_forward(const Pass& p, Tensor& out, const Tensor& x, const Tensor& t) {
  Backend& be = p.be;
  const ModelConfig& c = p.cfg;
  const int64_t n = x.rows(), m = t.rows(), W = c.width;
  const Activation act = c.activation;

  Tensor& emb = p.tmp("temb", m, c.temb_dim);
  be.time_embedding(emb, t, c.temb_scale, p.w.on(be, c.temb_frequencies));
  Tensor& e1 = p.tmp("e1", m, W);
  p.linear(e1, emb, "tmlp.0", act);
  Tensor& e = p.tmp("e", m, W);
  p.linear(e, e1, "tmlp.2", act);

  Tensor& h = p.tmp("h", n, W);
  p.linear(h, x, "inp", Activation::none);
  Tensor& a = p.tmp("a", n, W);
  Tensor& z = p.tmp("z", n, W);
  Tensor& u = p.tmp("u", n, W);
  Tensor& eb = p.tmp("eb", m, W);
  for (int i = 0; i < c.blocks; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    be.layer_norm(a, h, p.w.on(be, b + "norm.weight"), p.w.on(be, b + "norm.bias"),
                  c.layer_norm_eps, act);
    p.linear(eb, e, b + "emb", Activation::none);
    if (m == 1) {
      // one time for every row: emb(e) is a constant row, so it joins fc1's bias
      be.lincomb(eb, {{&eb, 1.0}, {&p.w.on(be, b + "fc1.bias"), 1.0}});
      be.gemm_bias_act(z, a, p.w.on(be, b + "fc1.weight"), eb, act);
    } else {
      p.linear(z, a, b + "fc1", Activation::none);
      be.lincomb(z, {{&z, 1.0}, {&eb, 1.0}});
      be.activate(z, z, act);
    }
    p.linear(u, z, b + "fc2", Activation::none);
    be.lincomb(h, {{&h, 1.0}, {&u, 1.0}});
  }
  be.layer_norm(a, h, p.w.on(be, "out_norm.weight"), p.w.on(be, "out_norm.bias"), c.layer_norm_eps,
                act);
  p.linear(out, a, "out", Activation::none);
}

} // namespace itslab::net
