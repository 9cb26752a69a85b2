// Vulkan backend ops of the neural networks: GEMM with bias and activation, time embedding,
// normalisations, convolutions, attention and the resampling layers.
#include "backend/vulkan/vulkan_backend_impl.hpp"

#include <cmath>

namespace itslab {

// ---------------------------------------------------------------- neural building blocks

void VulkanBackend::gemm_bias_act(Tensor& y, const Tensor& x, const Tensor& W, const Tensor& b,
                                  Activation act) {
  const int64_t n = x.rows(), in = x.cols(), out = W.rows();
  check_gemm_bias_act_args(y, x, W, b);
  const BufferPtr& yb = buffer_of(this, y);
  const BufferPtr& xb = buffer_of(this, x);
  const BufferPtr& wb = buffer_of(this, W);
  const BufferPtr& bb = buffer_of(this, b);
  if (n == 0 || out == 0)
    return;
  if (in == 0)
    throw Error("gemm_bias_act: x has no columns");
  Impl& I = *impl_;
  I.whole(W, "gemm_bias_act");
  const GemmTile tile = I.gemm_tile();
  I.rec->begin_op();
  I.for_chunks(n, static_cast<uint64_t>(std::max(in, out)) * 4, [&](int64_t r0, int64_t rc) {
    const uint32_t pc[3] = {static_cast<uint32_t>(rc), static_cast<uint32_t>(in),
                            static_cast<uint32_t>(out)};
    const Bind xbind{xb, static_cast<uint64_t>(r0 * in) * 4, static_cast<uint64_t>(rc * in) * 4};
    std::vector<Bind> binds{
        {yb, static_cast<uint64_t>(r0 * out) * 4, static_cast<uint64_t>(rc * out) * 4, true},
        xbind,
        {wb, 0, 0, false},
        {bb, 0, 0, false}};
    if (tile.lanes) { // the subgroup kernel reads x and W as texels (float4 ones when K % 4 = 0)
      const uint32_t texel = in % 4 == 0 ? 4 : 1;
      binds.push_back(as_texels(xbind, texel));
      binds.push_back(as_texels({wb, 0, static_cast<uint64_t>(W.size()) * 4}, texel));
      binds.push_back(as_texels({bb, 0, static_cast<uint64_t>(out) * 4}, 1));
    }
    I.rec->dispatch(tile.shader(Shader::gemm_bias_act, Shader::gemm_bias_act_lanes),
                    tile.spec(static_cast<uint32_t>(act), in, {out % 4 == 0 ? 1u : 0u}), binds, pc,
                    sizeof pc, tile.invocations(out, rc), tile.wg());
  });
}

void VulkanBackend::time_embedding(Tensor& y, const Tensor& t, double scale, const Tensor& freqs) {
  const int64_t n = t.rows(), half = freqs.size();
  check_time_embedding_args(y, t, freqs);
  const BufferPtr& yb = buffer_of(this, y);
  const BufferPtr& tb = buffer_of(this, t);
  const BufferPtr& fb = buffer_of(this, freqs);
  if (n == 0)
    return;
  Impl& I = *impl_;
  const int64_t dim = 2 * half;
  I.rec->begin_op();
  I.for_chunks(n, static_cast<uint64_t>(dim) * 4, [&](int64_t r0, int64_t rc) {
    struct {
      uint32_t n, half;
      float scale;
    } pc{static_cast<uint32_t>(rc), static_cast<uint32_t>(half), static_cast<float>(scale)};
    const uint32_t per = half % 4 == 0 ? 4 : 1; // frequencies per invocation
    I.rec->dispatch(
        I.variant(Shader::time_embedding_f32, Shader::time_embedding_f64), {per},
        {{yb, static_cast<uint64_t>(r0 * dim) * 4, static_cast<uint64_t>(rc * dim) * 4, true},
         {tb, static_cast<uint64_t>(r0) * 4, static_cast<uint64_t>(rc) * 4, false},
         {fb, 0, static_cast<uint64_t>(half) * 4, false}},
        &pc, sizeof pc, static_cast<uint64_t>(rc * half / per));
  });
}

// ---------------------------------------------------------------- neural-network layers

namespace {
uint32_t u32(int64_t v) {
  return static_cast<uint32_t>(v);
}
uint64_t bytes(int64_t floats) {
  return static_cast<uint64_t>(floats) * 4;
}
// Rows r0 .. r0 + rc of an [n, cols] tensor as a binding.
Bind rows_of(const BufferPtr& b, int64_t r0, int64_t rc, int64_t cols, bool write = false) {
  return {b, bytes(r0 * cols), bytes(std::max<int64_t>(rc * cols, 1)), write};
}
void no_alias(const BufferPtr& y, std::initializer_list<const BufferPtr*> inputs, const char* op) {
  for (const BufferPtr* in : inputs)
    if (in && *in == y)
      throw Error(std::string(op) + ": y aliases an input");
}
} // namespace

void VulkanBackend::layer_norm(Tensor& y, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                               double eps, Activation act) {
  check_layer_norm_args(y, x, gamma, beta);
  const int64_t n = x.rows(), d = x.cols();
  const BufferPtr& yb = buffer_of(this, y);
  const BufferPtr& xb = buffer_of(this, x);
  const BufferPtr& gb = buffer_of(this, gamma);
  const BufferPtr& bb = buffer_of(this, beta);
  no_alias(yb, {&gb, &bb}, "layer_norm");
  if (n == 0)
    return;
  Impl& I = *impl_;
  I.rec->begin_op();
  // CPU-type devices: one row per invocation (measured on lavapipe, the two-moons MLP's
  // 4096 × 128 LayerNorm: 13 ms per call with a workgroup per row, whose barriers are costly
  // there)
  const bool rows = I.texel_loads;
  const uint32_t wg = 64;
  I.for_chunks(n, bytes(d), [&](int64_t r0, int64_t rc) {
    const struct {
      uint32_t n, d;
      float eps;
    } pc{u32(rc), u32(d), static_cast<float>(eps)};
    const uint32_t vec4 = d % 4 == 0 ? 1u : 0u;
    std::vector<Bind> binds{
        rows_of(yb, r0, rc, d, true), rows_of(xb, r0, rc, d), {gb, 0, bytes(d)}, {bb, 0, bytes(d)}};
    if (rows) {
      for (size_t i = 1; i <= 3; ++i) // x, γ, β
        binds.push_back(as_texels(binds[i], vec4 ? 4 : 1));
    }
    I.rec->dispatch(rows ? Shader::layer_norm_rows : Shader::layer_norm,
                    {static_cast<uint32_t>(act), vec4}, binds, &pc, sizeof pc,
                    static_cast<uint64_t>(rc) * (rows ? 1 : wg), wg);
  });
}

void VulkanBackend::group_norm(Tensor& y, const Tensor& x, ImageShape s, int groups,
                               const Tensor& gamma, const Tensor& beta, double eps,
                               Activation act) {
  check_group_norm_args(y, x, s, groups, gamma, beta);
  const int64_t n = x.rows(), d = s.size();
  const BufferPtr& yb = buffer_of(this, y);
  const BufferPtr& xb = buffer_of(this, x);
  const BufferPtr& gb = buffer_of(this, gamma);
  const BufferPtr& bb = buffer_of(this, beta);
  no_alias(yb, {&gb, &bb}, "group_norm");
  if (n == 0)
    return;
  Impl& I = *impl_;
  I.rec->begin_op();
  const int64_t hw = int64_t(s.h) * s.w, len = d / groups;
  // one workgroup per (image, group), large groups (a U-Net's 28×28 planes) taking more hands;
  // on CPU-type devices one invocation per (image, group) (measured on lavapipe, 16 images of
  // 32×28×28 in 8 groups: 4.0 → 0.9 ms; the U-Net's 20-step run at batch 64: 3.8 → 0.9 s)
  const bool rows = I.texel_loads;
  const uint32_t wg = rows || len < 2048 ? 64 : 256;
  I.for_chunks(n, bytes(d), [&](int64_t r0, int64_t rc) {
    const struct {
      uint32_t n, groups, cg, hw;
      float eps;
    } pc{u32(rc), u32(groups), u32(s.c / groups), u32(hw), static_cast<float>(eps)};
    std::vector<Bind> binds{rows_of(yb, r0, rc, d, true),
                            rows_of(xb, r0, rc, d),
                            {gb, 0, bytes(s.c)},
                            {bb, 0, bytes(s.c)}};
    if (rows) {
      binds.push_back(as_texels(binds[1], hw % 4 == 0 ? 4 : 1));
      binds.push_back(as_texels(binds[2], 1));
      binds.push_back(as_texels(binds[3], 1));
    }
    const uint64_t items = static_cast<uint64_t>(rc) * groups;
    I.rec->dispatch(rows ? Shader::group_norm_rows : Shader::group_norm,
                    {static_cast<uint32_t>(act), len % 4 == 0 ? 1u : 0u, hw % 4 == 0 ? 1u : 0u},
                    binds, &pc, sizeof pc, rows ? items : items * wg, wg);
  });
}

void VulkanBackend::conv2d(Tensor& y, const Tensor& x, ImageShape s, const Tensor& W,
                           const Tensor& b, int k, int stride, int pad, const Tensor* row_bias) {
  const ImageShape os = check_conv2d_args(y, x, s, W, b, k, stride, pad, row_bias);
  const int64_t n = x.rows(), cout = W.rows(), kk = int64_t(s.c) * k * k;
  const int64_t ho = os.h, wo = os.w, din = s.size(), dout = cout * ho * wo;
  const BufferPtr& yb = buffer_of(this, y);
  const BufferPtr& xb = buffer_of(this, x);
  const BufferPtr& wb = buffer_of(this, W);
  const BufferPtr& bb = buffer_of(this, b);
  const BufferPtr* rb = row_bias ? &buffer_of(this, *row_bias) : nullptr;
  if (n == 0 || cout == 0)
    return;
  Impl& I = *impl_;
  I.whole(W, "conv2d");
  const GemmTile tile = I.gemm_tile();
  const std::vector<uint32_t> spec = tile.spec(u32(k), kk, {u32(stride), row_bias ? 1u : 0u});
  I.rec->begin_op();
  I.for_chunks(n, bytes(std::max(din, dout)), [&](int64_t r0, int64_t rc) {
    const uint32_t pc[8] = {u32(rc),   u32(s.c), u32(s.h), u32(s.w),
                            u32(cout), u32(ho),  u32(wo),  u32(pad)};
    std::vector<Bind> binds{rows_of(yb, r0, rc, dout, true),
                            rows_of(xb, r0, rc, din),
                            {wb, 0, 0},
                            {bb, 0, bytes(cout)},
                            rb ? rows_of(*rb, r0, rc, cout) : Bind{bb, 0, bytes(cout)}};
    // the subgroup kernel reads x, W and b as texels (W as float4s when K % 4 = 0)
    if (tile.lanes) {
      binds.push_back(as_texels(binds[1], 1));
      binds.push_back(as_texels({wb, 0, bytes(W.size())}, kk % 4 == 0 ? 4 : 1));
      binds.push_back(as_texels({bb, 0, bytes(cout)}, 1));
    }
    I.rec->dispatch(tile.shader(Shader::conv2d, Shader::conv2d_lanes), spec, binds, pc, sizeof pc,
                    tile.invocations(cout, rc * ho * wo), tile.wg());
  });
}

namespace {
// A dispatch of an element-wise layer (quad_store.glsl): `total` outputs into binds[0], four
// per invocation when total % 4 = 0; on CPU-type devices the inputs binds[1..] as float texels.
// size0 and size1 are the shader's shape constants (spec constants 2 and 3), vec4 its spec
// constant 4 (the texels then float4s); the push constant is the count of outputs.
// Measured on lavapipe, 16 images (before: one output per invocation, storage loads, runtime
// shapes): upsample2 of 128×7×7 2.0–2.8 → 0.44–0.66 ms, concat_cols of 128|64 × 14×14
// 2.1–3.0 → 0.52 ms, maxpool2 of 32×28×28 0.8–1.1 → 0.3 ms.
void elementwise(VulkanBackend::Impl& I, Shader plain, Shader texel, std::vector<Bind> binds,
                 uint32_t total, uint32_t size0, uint32_t size1, bool vec4 = false) {
  const bool quad = total % 4 == 0;
  if (I.texel_loads)
    for (size_t i = 1; i < binds.size(); ++i)
      binds[i] = as_texels(binds[i], vec4 ? 4 : 1);
  I.rec->dispatch(I.texel_loads ? texel : plain, {quad ? 1u : 0u, size0, size1, vec4 ? 1u : 0u},
                  binds, &total, sizeof total, quad ? total / 4 : total);
}
} // namespace

void VulkanBackend::upsample2(Tensor& y, const Tensor& x, ImageShape s) {
  check_upsample2_args(y, x, s);
  const int64_t n = x.rows(), din = s.size(), dout = 4 * din;
  const BufferPtr& yb = buffer_of(this, y);
  const BufferPtr& xb = buffer_of(this, x);
  if (n == 0)
    return;
  Impl& I = *impl_;
  I.rec->begin_op();
  I.for_chunks(n, bytes(dout), [&](int64_t r0, int64_t rc) {
    elementwise(I, Shader::upsample2, Shader::upsample2_texel,
                {rows_of(yb, r0, rc, dout, true), rows_of(xb, r0, rc, din)}, u32(rc * dout),
                u32(s.h), u32(s.w));
  });
}

void VulkanBackend::maxpool2(Tensor& y, const Tensor& x, ImageShape s) {
  check_maxpool2_args(y, x, s);
  const int64_t n = x.rows(), din = s.size(), dout = int64_t(s.c) * (s.h / 2) * (s.w / 2);
  const BufferPtr& yb = buffer_of(this, y);
  const BufferPtr& xb = buffer_of(this, x);
  if (n == 0 || dout == 0)
    return;
  Impl& I = *impl_;
  I.rec->begin_op();
  I.for_chunks(n, bytes(din), [&](int64_t r0, int64_t rc) {
    elementwise(I, Shader::maxpool2, Shader::maxpool2_texel,
                {rows_of(yb, r0, rc, dout, true), rows_of(xb, r0, rc, din)}, u32(rc * dout),
                u32(s.h), u32(s.w));
  });
}

void VulkanBackend::concat_cols(Tensor& y, const Tensor& a, const Tensor& b) {
  check_concat_cols_args(y, a, b);
  const int64_t n = a.rows(), ca = a.cols(), cb = b.cols(), d = ca + cb;
  const BufferPtr& yb = buffer_of(this, y);
  const BufferPtr& ab = buffer_of(this, a);
  const BufferPtr& bb = buffer_of(this, b);
  if (n == 0 || d == 0)
    return;
  Impl& I = *impl_;
  I.rec->begin_op();
  I.for_chunks(n, bytes(d), [&](int64_t r0, int64_t rc) {
    elementwise(I, Shader::concat_cols, Shader::concat_cols_texel,
                {rows_of(yb, r0, rc, d, true), rows_of(ab, r0, rc, ca), rows_of(bb, r0, rc, cb)},
                u32(rc * d), u32(ca), u32(cb), ca > 0 && cb > 0 && ca % 4 == 0 && cb % 4 == 0);
  });
}

void VulkanBackend::activate(Tensor& y, const Tensor& x, Activation act) {
  check_activate_args(y, x);
  const BufferPtr& yb = buffer_of(this, y);
  const BufferPtr& xb = buffer_of(this, x);
  const int64_t n = x.rows(), d = x.cols();
  if (x.size() == 0)
    return;
  Impl& I = *impl_;
  I.rec->begin_op();
  I.for_chunks(n, bytes(d), [&](int64_t r0, int64_t rc) {
    const uint32_t pc = u32(rc * d);
    I.rec->dispatch(Shader::activate, {static_cast<uint32_t>(act)},
                    {rows_of(yb, r0, rc, d, true), rows_of(xb, r0, rc, d)}, &pc, sizeof pc,
                    static_cast<uint64_t>(rc * d));
  });
}

void VulkanBackend::attention(Tensor& y, const Tensor& qkv, int channels, int heads,
                              int positions) {
  check_attention_args(y, qkv, channels, heads, positions);
  const int64_t n = qkv.rows(), cp = int64_t(channels) * positions;
  const BufferPtr& yb = buffer_of(this, y);
  const BufferPtr& qb = buffer_of(this, qkv);
  Impl& I = *impl_;
  const uint32_t hd = u32(channels / heads);
  // a head's keys and values are staged in shared memory
  const uint64_t shared = 2 * 16 * static_cast<uint64_t>((hd + 3) / 4) * positions;
  if (shared > I.dev->props.limits.maxComputeSharedMemorySize)
    throw Error("attention: " + std::to_string(positions) + " positions × head dimension " +
                std::to_string(hd) + " need " + std::to_string(shared) +
                " bytes of shared memory, " + I.dev->info.name + " has " +
                std::to_string(I.dev->props.limits.maxComputeSharedMemorySize));
  if (n == 0)
    return;
  const uint32_t wg = positions <= 32 ? 32 : positions <= 64 ? 64 : 128;
  I.rec->begin_op();
  I.for_chunks(n, bytes(3 * cp), [&](int64_t r0, int64_t rc) {
    const struct {
      uint32_t n, heads;
      float sqrt_d;
    } pc{u32(rc), u32(heads), static_cast<float>(std::sqrt(static_cast<double>(hd)))};
    I.rec->dispatch(Shader::attention, {u32(positions), hd},
                    {rows_of(yb, r0, rc, cp, true), rows_of(qb, r0, rc, 3 * cp)}, &pc, sizeof pc,
                    static_cast<uint64_t>(rc) * heads * wg, wg);
  });
}

} // namespace itslab
