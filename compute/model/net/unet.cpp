// FMNIST-UNet-S (docs/model-format.md, tools/itslab_models.py): three levels of channels
// c0, c1, c2 at H, H/2, H/4, one ResBlock per level down and up, attention in the middle.
#include "model/net/nets.hpp"

namespace itslab::net {

namespace {

struct Levels {
  int C, H, W, c0, c1, c2;
  explicit Levels(const ModelConfig& c)
      : C(c.data_shape[0]), H(c.data_shape[1]), W(c.data_shape[2]), c0(c.channels[0]),
        c1(c.channels[1]), c2(c.channels[2]) {}
  ImageShape at(int channels, int level) const { return {channels, H >> level, W >> level}; }
};

void conv_tensors(TensorList& t, const std::string& name, int64_t cout, int64_t cin, int64_t k) {
  t.push_back({name + ".weight", {cout, cin, k, k}});
  t.push_back({name + ".bias", {cout}});
}
void norm_tensors(TensorList& t, const std::string& name, int64_t c) {
  t.push_back({name + ".weight", {c}});
  t.push_back({name + ".bias", {c}});
}
void resblock_tensors(TensorList& t, const std::string& name, int64_t cin, int64_t cout,
                      int64_t E) {
  norm_tensors(t, name + ".n1", cin);
  conv_tensors(t, name + ".c1", cout, cin, 3);
  t.push_back({name + ".emb.weight", {cout, E}});
  t.push_back({name + ".emb.bias", {cout}});
  norm_tensors(t, name + ".n2", cout);
  conv_tensors(t, name + ".c2", cout, cout, 3);
  if (cin != cout)
    conv_tensors(t, name + ".skip", cout, cin, 1);
}

// ResBlock: h = c1(SiLU(n1(x))) + emb(e);  h = c2(SiLU(n2(h)));  out = skip(x) + h.
// e is [m, E] with m = 1 (shared: emb(e) joins c1's bias) or m = n (a bias per row).
void resblock(const Pass& p, const std::string& name, Tensor& out, const Tensor& x, ImageShape s,
              int cout, const Tensor& e) {
  Backend& be = p.be;
  const ModelConfig& c = p.cfg;
  const int64_t n = x.rows(), m = e.rows();
  const ImageShape so{cout, s.h, s.w};
  const auto W = [&](const std::string& t) -> const Tensor& { return p.w.on(be, name + t); };
  Tensor& a = p.tmp("rb.a", n, s.size());
  be.group_norm(a, x, s, c.groups, W(".n1.weight"), W(".n1.bias"), c.group_norm_eps,
                Activation::silu);
  Tensor& eb = p.tmp("rb.eb", m, cout);
  p.linear(eb, e, name + ".emb", Activation::none);
  Tensor& h = p.tmp("rb.h", n, so.size());
  if (m == 1) {
    be.lincomb(eb, {{&eb, 1.0}, {&W(".c1.bias"), 1.0}});
    be.conv2d(h, a, s, W(".c1.weight"), eb, 3, 1, 1, nullptr);
  } else {
    be.conv2d(h, a, s, W(".c1.weight"), W(".c1.bias"), 3, 1, 1, &eb);
  }
  Tensor& a2 = p.tmp("rb.a2", n, so.size());
  be.group_norm(a2, h, so, c.groups, W(".n2.weight"), W(".n2.bias"), c.group_norm_eps,
                Activation::silu);
  Tensor& h2 = p.tmp("rb.h2", n, so.size());
  be.conv2d(h2, a2, so, W(".c2.weight"), W(".c2.bias"), 3, 1, 1, nullptr);
  if (s.c != cout) {
    Tensor& sk = p.tmp("rb.skip", n, so.size());
    be.conv2d(sk, x, s, W(".skip.weight"), W(".skip.bias"), 1, 1, 0, nullptr);
    be.lincomb(out, {{&sk, 1.0}, {&h2, 1.0}});
  } else {
    be.lincomb(out, {{&x, 1.0}, {&h2, 1.0}});
  }
}

void conv3(const Pass& p, Tensor& y, const Tensor& x, ImageShape s, const std::string& name,
           int stride) {
  p.be.conv2d(y, x, s, p.w.on(p.be, name + ".weight"), p.w.on(p.be, name + ".bias"), 3, stride, 1,
              nullptr);
}

// Up-path stage at `level`: a ResBlock of [h | skip] (cin channels) to cout channels, then
// nearest 2× upsampling and the 3×3 conv "up<level>"; returns the result, at level − 1.
Tensor& up_stage(const Pass& p, const Levels& L, int level, const Tensor& h, const Tensor& skip,
                 int cin, int cout, const Tensor& e) {
  const std::string k = std::to_string(level);
  const int64_t n = h.rows();
  const ImageShape cat_s = L.at(cin, level), s = L.at(cout, level), up_s = L.at(cout, level - 1);
  Tensor& cat = p.tmp("cat" + k, n, cat_s.size());
  p.be.concat_cols(cat, h, skip);
  Tensor& u = p.tmp("u" + k, n, s.size());
  resblock(p, "u" + k, u, cat, cat_s, cout, e);
  Tensor& up = p.tmp("up" + k + ".in", n, up_s.size());
  p.be.upsample2(up, u, s);
  Tensor& out = p.tmp("up" + k, n, up_s.size());
  conv3(p, out, up, up_s, "up" + k, 1);
  return out;
}

} // namespace

TensorList unet_tensors(const ModelConfig& c) {
  const Levels L(c);
  const int64_t E = c.embedding, Et = c.temb_dim;
  TensorList t = {{c.temb_frequencies, {Et / 2}}, {"tmlp.0.weight", {E, Et}},
                  {"tmlp.0.bias", {E}},           {"tmlp.2.weight", {E, E}},
                  {"tmlp.2.bias", {E}},           {"cemb.weight", {c.num_classes + 1, E}}};
  conv_tensors(t, "conv_in", L.c0, L.C, 3);
  resblock_tensors(t, "d0.0", L.c0, L.c0, E);
  conv_tensors(t, "down0", L.c0, L.c0, 3);
  resblock_tensors(t, "d1.0", L.c0, L.c1, E);
  conv_tensors(t, "down1", L.c1, L.c1, 3);
  resblock_tensors(t, "d2.0", L.c1, L.c2, E);
  resblock_tensors(t, "m1", L.c2, L.c2, E);
  norm_tensors(t, "mattn.n", L.c2);
  conv_tensors(t, "mattn.qkv", 3 * L.c2, L.c2, 1);
  conv_tensors(t, "mattn.proj", L.c2, L.c2, 1);
  resblock_tensors(t, "m2", L.c2, L.c2, E);
  resblock_tensors(t, "u2", 2 * L.c2, L.c2, E);
  conv_tensors(t, "up2", L.c2, L.c2, 3);
  resblock_tensors(t, "u1", L.c2 + L.c1, L.c1, E);
  conv_tensors(t, "up1", L.c1, L.c1, 3);
  resblock_tensors(t, "u0", L.c1 + L.c0, L.c0, E);
  norm_tensors(t, "n_out", L.c0);
  conv_tensors(t, "conv_out", L.C, L.c0, 3);
  return t;
}

void unet_forward(const Pass& p, Tensor& out, const Tensor& x, const Tensor& t,
                  const std::vector<int64_t>& y) {
  Backend& be = p.be;
  const ModelConfig& c = p.cfg;
  const Levels L(c);
  const int64_t n = x.rows(), m = t.rows(), E = c.embedding;

  // e = SiLU(tmlp.2(SiLU(tmlp.0(emb(t)))) + cemb[y])
  Tensor& emb = p.tmp("temb", m, c.temb_dim);
  be.time_embedding(emb, t, c.temb_scale, p.w.on(be, c.temb_frequencies));
  Tensor& e1 = p.tmp("e1", m, E);
  p.linear(e1, emb, "tmlp.0", Activation::silu);
  Tensor& e = p.tmp("e", m, E);
  p.linear(e, e1, "tmlp.2", Activation::none);
  Tensor& ce = p.tmp("cemb", m, E);
  be.gather_rows(ce, p.w.on(be, "cemb.weight"), y);
  be.lincomb(e, {{&e, 1.0}, {&ce, 1.0}});
  be.activate(e, e, Activation::silu);

  const ImageShape in{L.C, L.H, L.W};
  Tensor& h0 = p.tmp("conv_in", n, L.at(L.c0, 0).size());
  conv3(p, h0, x, in, "conv_in", 1);
  Tensor& s0 = p.tmp("s0", n, L.at(L.c0, 0).size());
  resblock(p, "d0.0", s0, h0, L.at(L.c0, 0), L.c0, e);
  Tensor& d0 = p.tmp("down0", n, L.at(L.c0, 1).size());
  conv3(p, d0, s0, L.at(L.c0, 0), "down0", 2);
  Tensor& s1 = p.tmp("s1", n, L.at(L.c1, 1).size());
  resblock(p, "d1.0", s1, d0, L.at(L.c0, 1), L.c1, e);
  Tensor& d1 = p.tmp("down1", n, L.at(L.c1, 2).size());
  conv3(p, d1, s1, L.at(L.c1, 1), "down1", 2);
  const ImageShape mid = L.at(L.c2, 2);
  Tensor& s2 = p.tmp("s2", n, mid.size());
  resblock(p, "d2.0", s2, d1, L.at(L.c1, 2), L.c2, e);

  Tensor& m1 = p.tmp("m1", n, mid.size());
  resblock(p, "m1", m1, s2, mid, L.c2, e);
  // attention: m1 + proj(attn(qkv(n(m1))))
  Tensor& an = p.tmp("attn.n", n, mid.size());
  be.group_norm(an, m1, mid, c.groups, p.w.on(be, "mattn.n.weight"), p.w.on(be, "mattn.n.bias"),
                c.group_norm_eps, Activation::none);
  Tensor& qkv = p.tmp("attn.qkv", n, 3 * mid.size());
  be.conv2d(qkv, an, mid, p.w.on(be, "mattn.qkv.weight"), p.w.on(be, "mattn.qkv.bias"), 1, 1, 0,
            nullptr);
  Tensor& ao = p.tmp("attn.o", n, mid.size());
  be.attention(ao, qkv, L.c2, c.attention_heads, mid.h * mid.w);
  Tensor& pr = p.tmp("attn.proj", n, mid.size());
  be.conv2d(pr, ao, mid, p.w.on(be, "mattn.proj.weight"), p.w.on(be, "mattn.proj.bias"), 1, 1, 0,
            nullptr);
  Tensor& ma = p.tmp("mattn", n, mid.size());
  be.lincomb(ma, {{&m1, 1.0}, {&pr, 1.0}});
  Tensor& m2 = p.tmp("m2", n, mid.size());
  resblock(p, "m2", m2, ma, mid, L.c2, e);

  const Tensor& h2 = up_stage(p, L, 2, m2, s2, 2 * L.c2, L.c2, e);
  const Tensor& h1 = up_stage(p, L, 1, h2, s1, L.c2 + L.c1, L.c1, e);

  Tensor& cat0 = p.tmp("cat0", n, L.at(L.c1 + L.c0, 0).size());
  be.concat_cols(cat0, h1, s0);
  Tensor& u0 = p.tmp("u0", n, L.at(L.c0, 0).size());
  resblock(p, "u0", u0, cat0, L.at(L.c1 + L.c0, 0), L.c0, e);
  Tensor& no = p.tmp("n_out", n, L.at(L.c0, 0).size());
  be.group_norm(no, u0, L.at(L.c0, 0), c.groups, p.w.on(be, "n_out.weight"),
                p.w.on(be, "n_out.bias"), c.group_norm_eps, Activation::silu);
  conv3(p, out, no, L.at(L.c0, 0), "conv_out", 1);
}

} // namespace itslab::net
