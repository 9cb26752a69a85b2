// Vulkan backend ops of the samplers: lincomb, Philox noise, gathers, row reductions, the
// Gaussian-mixture denoiser and rewards.
#include "backend/vulkan/vulkan_backend_impl.hpp"

#include <algorithm>
#include <iterator>

namespace itslab {

// ---------------------------------------------------------------- lincomb

namespace {
struct LincombPush {
  uint32_t n, d;
  float a[8];
};
static_assert(sizeof(LincombPush) == 40);
} // namespace

// Where gmm_denoise.comp's LINCOMB constants (ids 7–9: LM, LD, FUSED) sit in its spec list.
constexpr size_t kSpecLincomb = 6;

// The lincomb right after gmm_denoise, when its terms include the denoiser's output: one
// dispatch of gmm_denoise_lincomb in place of the held denoiser. False (nothing done) when the
// terms do not allow it.
static bool fuse_with_denoiser(VulkanBackend* be, VulkanBackend::Impl& I, Tensor& y,
                               const std::vector<LinTerm>& terms) {
  if (I.held_denoise && !I.rec->holding(I.held_denoise->id))
    I.held_denoise.reset(); // recorded on its own already
  if (!I.held_denoise)
    return false;
  const VulkanBackend::Impl::HeldDenoise& h = *I.held_denoise;
  if (terms.size() < 2 || terms.size() > 4 || y.rows() != h.n || y.cols() != h.d ||
      buffer_of(be, y) == h.out)
    return false;
  int ld = -1;
  for (size_t t = 0; t < terms.size(); ++t) {
    if (terms[t].row_scale)
      return false;
    if (buffer_of(be, *terms[t].x) == h.out) {
      if (ld >= 0)
        return false;
      ld = static_cast<int>(t);
    }
  }
  if (ld < 0)
    return false;
  // the denoiser's dispatch, extended: push constants gain the coefficients, bindings y and
  // the other terms, spec constants the terms' count and D's place
  vk::Recorder::Held k = I.rec->take_held();
  const uint64_t range = static_cast<uint64_t>(h.n * h.d) * 4;
  k.binds.push_back({buffer_of(be, y), 0, range, true});
  const uint32_t components = h.vec4 ? 4 : 1;
  std::vector<Bind> texels;
  float a[4] = {};
  for (size_t t = 0; t < terms.size(); ++t) {
    a[t] = static_cast<float>(terms[t].a);
    if (static_cast<int>(t) != ld)
      texels.push_back({buffer_of(be, *terms[t].x), 0, range, false, false, components});
  }
  // the kernel declares three texel inputs, so all three are bound
  while (texels.size() < 3)
    texels.push_back(texels.front());
  k.binds.insert(k.binds.end(), texels.begin(), texels.end());
  const auto* ab = reinterpret_cast<const uint8_t*>(a);
  k.push.insert(k.push.end(), ab, ab + sizeof a);
  k.spec[kSpecLincomb] = static_cast<uint32_t>(terms.size());
  k.spec[kSpecLincomb + 1] = static_cast<uint32_t>(ld);
  k.spec[kSpecLincomb + 2] = kCpuFuses;
  static constexpr std::pair<Shader, Shader> kFused[] = {
      {Shader::gmm_denoise_f32, Shader::gmm_denoise_lincomb_f32},
      {Shader::gmm_denoise_f64, Shader::gmm_denoise_lincomb_f64},
      {Shader::gmm_denoise_dims_f32, Shader::gmm_denoise_dims_lincomb_f32},
      {Shader::gmm_denoise_dims_f64, Shader::gmm_denoise_dims_lincomb_f64}};
  const auto* f = std::find_if(std::begin(kFused), std::end(kFused),
                               [&](const auto& sf) { return sf.first == k.s; });
  if (f == std::end(kFused))
    throw Error("vulkan: the held dispatch is not a mixture denoiser");
  I.rec->dispatch(f->second, k.spec, k.binds, k.push.data(), static_cast<uint32_t>(k.push.size()),
                  k.invocations, k.wg);
  I.held_denoise.reset();
  return true;
}

void VulkanBackend::lincomb(Tensor& y, std::initializer_list<LinTerm> terms) {
  const int64_t n = y.rows(), d = y.cols();
  for (const LinTerm& t : terms) {
    check_same_shape(y, *t.x, "lincomb");
    if (t.row_scale && (t.row_scale->rows() != n || t.row_scale->cols() != 1))
      throw Error("lincomb: row scale must be [n, 1]");
    buffer_of(this, *t.x);
    if (t.row_scale)
      buffer_of(this, *t.row_scale);
  }
  const BufferPtr& yb = buffer_of(this, y);
  if (y.size() == 0)
    return;
  std::vector<LinTerm> all(terms);
  Impl& I = *impl_;
  if (fuse_with_denoiser(this, I, y, all))
    return;
  I.rec->begin_op();
  if (all.empty()) { // y = 0
    I.rec->zero(yb);
    return;
  }
  // One kernel takes 8 terms with at most 4 row scales; longer sums go through a temporary.
  const auto fits = [](const std::vector<LinTerm>& ts) {
    int scaled = 0;
    for (const LinTerm& t : ts)
      scaled += t.row_scale != nullptr;
    return ts.size() <= 8 && scaled <= 4;
  };
  const auto run = [&](const Tensor& out, const std::vector<LinTerm>& ts) {
    const BufferPtr& ob = buffer_of(this, out);
    const bool vec4 = (n * d) % 4 == 0, texel = I.texel_loads;
    I.for_chunks(n, static_cast<uint64_t>(d) * 4, [&](int64_t r0, int64_t rc) {
      const uint64_t off = static_cast<uint64_t>(r0 * d) * 4,
                     range = static_cast<uint64_t>(rc * d) * 4;
      std::vector<Bind> binds{{ob, off, range, true}};
      LincombPush pc{};
      pc.n = static_cast<uint32_t>(vec4 ? rc * d / 4 : rc * d);
      pc.d = static_cast<uint32_t>(d);
      uint32_t slots = 0xFFFFFFFFu;
      std::vector<Bind> scales;
      for (size_t i = 0; i < 8; ++i) {
        const LinTerm& t = ts[std::min(i, ts.size() - 1)];
        const Bind xi{buffer_of(this, *t.x), off, range};
        binds.push_back(texel ? as_texels(xi, vec4 ? 4 : 1) : xi);
        if (i < ts.size()) {
          pc.a[i] = static_cast<float>(t.a);
          if (t.row_scale) {
            const uint32_t slot = static_cast<uint32_t>(scales.size());
            slots &= ~(15u << (4 * i));
            slots |= slot << (4 * i);
            scales.push_back({buffer_of(this, *t.row_scale), static_cast<uint64_t>(r0) * 4,
                              static_cast<uint64_t>(rc) * 4, false});
          }
        }
      }
      while (scales.size() < 4)
        scales.push_back(scales.empty() ? Bind{ob, off, range, false} : scales.front());
      binds.insert(binds.end(), scales.begin(), scales.end());
      const Shader sh =
          texel ? (vec4 ? I.variant(Shader::lincomb_vec4_texel, Shader::lincomb_vec4_texel_f64)
                        : I.variant(Shader::lincomb_texel, Shader::lincomb_texel_f64))
                : (vec4 ? I.variant(Shader::lincomb_vec4, Shader::lincomb_vec4_f64)
                        : I.variant(Shader::lincomb, Shader::lincomb_f64));
      I.rec->dispatch(sh, {static_cast<uint32_t>(ts.size()), slots, kCpuFuses}, binds, &pc,
                      sizeof pc, pc.n);
    });
  };
  if (fits(all)) {
    run(y, all);
    return;
  }
  Tensor acc = alloc(n, d);
  std::vector<LinTerm> part;
  size_t i = 0;
  int scaled = 0;
  bool first = true;
  while (i < all.size()) {
    part.clear();
    scaled = 0;
    if (!first)
      part.push_back({&acc, 1.0, nullptr});
    while (i < all.size() && part.size() < 8 && scaled + (all[i].row_scale != nullptr) <= 4) {
      scaled += all[i].row_scale != nullptr;
      part.push_back(all[i++]);
    }
    run(acc, part);
    first = false;
  }
  run(y, {{&acc, 1.0, nullptr}});
}

// ---------------------------------------------------------------- Philox

namespace {
struct PhiloxPush {
  uint32_t n, d, seed_lo, seed_hi, stream, step, first_particle;
};
} // namespace

static void philox_fill(VulkanBackend* be, VulkanBackend::Impl& I, Tensor& y, const NoiseKey& key,
                        uint32_t mode) {
  const BufferPtr& yb = buffer_of(be, y);
  const int64_t n = y.rows(), d = y.cols();
  if (y.size() == 0)
    return;
  I.rec->begin_op();
  const uint32_t nb = static_cast<uint32_t>((d + 3) / 4);
  I.for_chunks(n, static_cast<uint64_t>(d) * 4, [&](int64_t r0, int64_t rc) {
    PhiloxPush pc{static_cast<uint32_t>(rc),
                  static_cast<uint32_t>(d),
                  static_cast<uint32_t>(key.seed),
                  static_cast<uint32_t>(key.seed >> 32),
                  key.stream,
                  key.step,
                  key.first_particle + static_cast<uint32_t>(r0)};
    I.rec->dispatch(
        I.variant(Shader::philox_f32, Shader::philox_f64),
        {mode, d < 4 ? static_cast<uint32_t>(d) : 0u, d % 4 == 0 ? 1u : 0u},
        {{yb, static_cast<uint64_t>(r0 * d) * 4, static_cast<uint64_t>(rc * d) * 4, true}}, &pc,
        sizeof pc, static_cast<uint64_t>(rc) * nb);
  });
}

void VulkanBackend::fill_normal(Tensor& y, const NoiseKey& key) {
  philox_fill(this, *impl_, y, key, 0);
}
void VulkanBackend::fill_uniform(Tensor& y, const NoiseKey& key) {
  philox_fill(this, *impl_, y, key, 1);
}
void VulkanBackend::fill_bits(Tensor& y, const NoiseKey& key) {
  philox_fill(this, *impl_, y, key, 2);
}

// ---------------------------------------------------------------- gather, reductions

void VulkanBackend::gather_rows(Tensor& y, const Tensor& x, const std::vector<int64_t>& index) {
  if (y.cols() != x.cols() || y.rows() != static_cast<int64_t>(index.size()))
    throw Error("gather_rows: shape mismatch");
  const BufferPtr& yb = buffer_of(this, y);
  const BufferPtr& xb = buffer_of(this, x);
  if (yb == xb)
    throw Error("gather_rows: output aliases input");
  for (int64_t i : index)
    if (i < 0 || i >= x.rows())
      throw Error("gather_rows: index " + std::to_string(i) + " out of range");
  const int64_t n = y.rows(), d = y.cols();
  if (y.size() == 0)
    return;
  Impl& I = *impl_;
  I.rec->begin_op();
  const vk::Param idx = I.rec->param(static_cast<uint64_t>(n) * 4);
  auto* u = static_cast<uint32_t*>(idx.ptr);
  for (int64_t i = 0; i < n; ++i)
    u[i] = static_cast<uint32_t>(index[i]);
  // one pass per binding-sized block of source rows (a single pass unless x is huge)
  const int64_t nx = x.rows();
  I.for_chunks(nx, static_cast<uint64_t>(d) * 4, [&](int64_t s0, int64_t sc) {
    I.for_chunks(n, static_cast<uint64_t>(d) * 4, [&](int64_t r0, int64_t rc) {
      const uint32_t pc[4] = {static_cast<uint32_t>(rc), static_cast<uint32_t>(d),
                              static_cast<uint32_t>(s0), static_cast<uint32_t>(sc)};
      I.rec->dispatch(
          Shader::gather_rows, {},
          {{yb, static_cast<uint64_t>(r0 * d) * 4, static_cast<uint64_t>(rc * d) * 4, true},
           {xb, static_cast<uint64_t>(s0 * d) * 4, static_cast<uint64_t>(sc * d) * 4, false},
           {idx.buf, idx.offset + static_cast<uint64_t>(r0) * 4, static_cast<uint64_t>(rc) * 4,
            false}},
          pc, sizeof pc, static_cast<uint64_t>(rc * d));
    });
  });
}

void VulkanBackend::row_reduce(Tensor& out, const Tensor& x, RowOp op) {
  if (out.rows() != x.rows() || out.cols() != 1)
    throw Error("row_reduce: output must be [n, 1]");
  if (x.cols() < 1)
    throw Error("row_reduce: x has no columns");
  const BufferPtr& ob = buffer_of(this, out);
  const BufferPtr& xb = buffer_of(this, x);
  const int64_t n = x.rows(), d = x.cols();
  if (n == 0)
    return;
  Impl& I = *impl_;
  I.rec->begin_op();
  I.for_chunks(n, static_cast<uint64_t>(d) * 4, [&](int64_t r0, int64_t rc) {
    const uint32_t pc[2] = {static_cast<uint32_t>(rc), static_cast<uint32_t>(d)};
    I.rec->dispatch(
        I.variant(Shader::row_reduce, Shader::row_reduce_f64),
        {static_cast<uint32_t>(op), kCpuFuses},
        {{ob, static_cast<uint64_t>(r0) * 4, static_cast<uint64_t>(rc) * 4, true},
         {xb, static_cast<uint64_t>(r0 * d) * 4, static_cast<uint64_t>(rc * d) * 4, false}},
        pc, sizeof pc, static_cast<uint64_t>(rc), 64);
  });
}

// ---------------------------------------------------------------- GMM denoiser

void VulkanBackend::gmm_denoise(Tensor& x0, const Tensor& x, const GmmKernelParams& g, double alpha,
                                double sigma, int cls) {
  check_same_shape(x0, x, "gmm_denoise");
  if (x.cols() != g.d)
    throw Error("gmm_denoise: particles have " + std::to_string(x.cols()) +
                " dimensions, the mixture " + std::to_string(g.d));
  const BufferPtr& ob = buffer_of(this, x0);
  const BufferPtr& xb = buffer_of(this, x);
  const int64_t n = x.rows(), d = x.cols();
  const GmmStepTables tb(g, alpha, sigma, cls);
  if (tb.active.empty())
    throw Error("gmm_denoise: class " + std::to_string(cls) + " has no components");
  if (n == 0)
    return;
  Impl& I = *impl_;
  constexpr uint32_t kWg = 64;
  const int64_t row_len = 1 + 3 * d + (g.full() ? d * d : 0);
  // α, then one row per active component, in order: c, 1/λ̃, μ, gain, Q
  RealTable tab{I.f64, {}};
  tab.push(alpha);
  for (int k : tb.active) {
    const auto part = [&](const std::vector<double>& v, int64_t len) {
      tab.v.insert(tab.v.end(), v.begin() + k * len, v.begin() + (k + 1) * len);
    };
    tab.push(tb.c[k]);
    part(tb.inv, d);
    part(g.mu, d);
    part(tb.gain, d);
    if (g.full())
      part(g.Q, d * d);
  }
  struct {
    uint32_t n, n_active;
  } pc{0, static_cast<uint32_t>(tb.active.size())};
  I.rec->begin_op();
  const Impl::TableBind tp = I.table_bind(tab);
  // Particles per invocation, so each table entry serves several (on CPU-type devices every
  // table load is a gather across the SIMD lanes; measured on lavapipe, 1M particles of the
  // 2-D mixture, 20 steps, time in this kernel with the loops unrolled: 0.51 s with 1 per
  // invocation, 0.29 s with 4 or 8, 0.27 s with 16, 0.25 s with 32). GPUs keep one particle
  // per invocation.
  const uint32_t per = !I.cpu_tuned ? 1 : d <= 4 ? 32 : d <= 16 ? 8 : 4;
  // Up to 16 components, the component loops are unrolled (one pipeline per count): the table
  // offsets become constants, which lavapipe loads once as scalars instead of gathering them
  // per lane (measured: the 2-D mixture's kernel 0.37 s → 0.25 s for 1M particles × 20 steps).
  const uint32_t unrolled = tb.active.size() <= 16 ? static_cast<uint32_t>(tb.active.size()) : 0u;
  // The DIMS kernel on CPU-type devices (with the texel reads) for isotropic mixtures whose
  // component loops unroll, above 4 dimensions: there the per-particle arrays would be indexed
  // by the dimension loop (measured on lavapipe, the 64-D mixture, 4096 particles × 20 steps:
  // the kernel 107 → 35–41 ms; in 2-D it was no faster)
  const bool dims = I.texel_loads && !g.full() && unrolled > 0 && d > 4;
  // Float4 loads and stores (gmm_denoise.comp's V4) on CPU-type devices: in the DIMS kernel
  // when D % 4 = 0, in the other when every invocation holds whole particles and P·D % 4 = 0
  const auto vec4 = [&](int64_t rows) {
    return I.texel_loads && (dims ? d % 4 == 0 : rows % per == 0 && (per * d) % 4 == 0);
  };
  // constant ids 1–6, then the LINCOMB variant's 7–9 (set by fuse_with_denoiser), then BLOCK4
  const auto spec = [&](int64_t rows) {
    return std::vector<uint32_t>{static_cast<uint32_t>(d),
                                 g.full() ? 1u : 0u,
                                 per,
                                 tp.ubo_vecs,
                                 static_cast<uint32_t>(row_len),
                                 unrolled,
                                 2u,
                                 0u,
                                 kCpuFuses,
                                 !dims && vec4(rows) ? 1u : 0u};
  };
  const uint64_t max_texels = I.dev->props.limits.maxTexelBufferElements;
  const int64_t chunk = I.chunk_rows(n, static_cast<uint64_t>(d) * 4);
  const Shader sh = dims ? I.variant(Shader::gmm_denoise_dims_f32, Shader::gmm_denoise_dims_f64)
                         : I.variant(Shader::gmm_denoise_f32, Shader::gmm_denoise_f64);
  const auto binds = [&](uint64_t off, uint64_t range) {
    std::vector<Bind> b{{ob, off, range, true}, {xb, off, range, false}, tp.storage, tp.uniform};
    if (dims)
      b.push_back(as_texels({xb, off, range}, 1));
    return b;
  };
  if (I.fuse && chunk >= n && static_cast<uint64_t>(n * d) <= max_texels) {
    pc.n = static_cast<uint32_t>(n);
    const uint64_t id = I.rec->hold(sh, spec(n), binds(0, static_cast<uint64_t>(n * d) * 4), &pc,
                                    sizeof pc, static_cast<uint64_t>((n + per - 1) / per), kWg);
    I.held_denoise = Impl::HeldDenoise{id, ob, n, d, vec4(n)};
    return;
  }
  I.for_chunks(n, static_cast<uint64_t>(d) * 4, [&](int64_t r0, int64_t rc) {
    pc.n = static_cast<uint32_t>(rc);
    I.rec->dispatch(sh, spec(rc),
                    binds(static_cast<uint64_t>(r0 * d) * 4, static_cast<uint64_t>(rc * d) * 4),
                    &pc, sizeof pc, static_cast<uint64_t>((rc + per - 1) / per), kWg);
  });
}

// ---------------------------------------------------------------- rewards

void VulkanBackend::reward(Tensor& out, const Tensor& x, const RewardKernelParams& r) {
  using Kind = RewardKernelParams::Kind;
  check_reward_args(out, x, r);
  const int64_t n = x.rows(), d = x.cols();
  const BufferPtr& ob = buffer_of(this, out);
  const BufferPtr& xb = buffer_of(this, x);
  if (n == 0)
    return;
  Impl& I = *impl_;
  RealTable tab{I.f64, {}};
  struct {
    uint32_t n, d, off_a, off_b, off_s;
  } pc{};
  pc.d = static_cast<uint32_t>(d);
  pc.off_s = tab.push(r.offset);
  tab.push(r.radius);
  tab.push(r.temperature);
  pc.off_a = tab.push(r.a);
  pc.off_b = r.kind == Kind::box ? tab.push(r.b) : 0;
  I.rec->begin_op();
  const vk::Param tp = I.table(tab);
  I.for_chunks(n, static_cast<uint64_t>(std::max<int64_t>(d, 1)) * 4, [&](int64_t r0, int64_t rc) {
    pc.n = static_cast<uint32_t>(rc);
    I.rec->dispatch(I.variant(Shader::reward_f32, Shader::reward_f64),
                    {static_cast<uint32_t>(r.kind)},
                    {{ob, static_cast<uint64_t>(r0) * 4, static_cast<uint64_t>(rc) * 4, true},
                     {xb, static_cast<uint64_t>(r0 * d) * 4,
                      static_cast<uint64_t>(std::max<int64_t>(rc * d, 1)) * 4, false},
                     {tp.buf, tp.offset, tab.bytes(), false}},
                    &pc, sizeof pc, static_cast<uint64_t>(rc), 64);
  });
}

} // namespace itslab
