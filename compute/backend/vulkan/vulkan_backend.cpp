#include "backend/vulkan/vulkan_backend.hpp"

#include "backend/vulkan/vk_context.hpp"
#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace itslab {

using vk::Bind;
using vk::BufferPtr;
using vk::Shader;

namespace {

// The CPU backend is compiled with FMA contraction wherever the target has FMA (GCC's default),
// so its `acc += a·x` loops round once per term; the kernels then do the same.
#ifdef __FMA__
constexpr uint32_t kCpuFuses = 1;
#else
constexpr uint32_t kCpuFuses = 0;
#endif

struct VkTensorBuffer final : DeviceBuffer {
  explicit VkTensorBuffer(BufferPtr b) : buf(std::move(b)) {}
  BufferPtr buf;
};

void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  if (a.rows() != b.rows() || a.cols() != b.cols())
    throw Error(std::string(op) + ": shape mismatch [" + std::to_string(a.rows()) + ", " +
                std::to_string(a.cols()) + "] vs [" + std::to_string(b.rows()) + ", " +
                std::to_string(b.cols()) + "]");
}

// The same range bound as a uniform texel buffer of float (1) or float4 (4) texels.
Bind as_texels(Bind b, uint32_t components) {
  b.write = false;
  b.texel = components;
  return b;
}

std::string version_string(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) +
         "." + std::to_string(VK_API_VERSION_PATCH(v));
}

// Writes doubles into a parameter table as double or float (the kernels' `real`).
struct RealTable {
  bool f64;
  std::vector<double> v;
  uint32_t push(double x) {
    v.push_back(x);
    return static_cast<uint32_t>(v.size() - 1);
  }
  uint32_t push(const std::vector<double>& xs) {
    const auto at = static_cast<uint32_t>(v.size());
    v.insert(v.end(), xs.begin(), xs.end());
    return at;
  }
  uint64_t bytes() const { return v.size() * (f64 ? 8 : 4); }
  void write(void* dst) const {
    if (f64) {
      std::memcpy(dst, v.data(), v.size() * 8);
    } else {
      auto* f = static_cast<float*>(dst);
      for (size_t i = 0; i < v.size(); ++i)
        f[i] = static_cast<float>(v[i]);
    }
  }
};

// The kernel and tile of gemm_tile.glsl (gemm_bias_act, conv2d): BM × BN outputs per
// workgroup, TM × TN per invocation, K in BK-deep slabs (shared-memory kernel); spec constants
// 2..7 of both shaders.
struct GemmTile {
  bool lanes;
  uint32_t bm, bn, bk, tm, tn;
  uint32_t wg() const { return (bm / tm) * (bn / tn); }
  Shader shader(Shader shared_tile, Shader subgroup) const {
    return lanes ? subgroup : shared_tile;
  }
  // spec constants: `first` (constant 1), the tile, whether K % 4 = 0, then `more` (8, ...)
  std::vector<uint32_t> spec(uint32_t first, int64_t k,
                             std::initializer_list<uint32_t> more = {}) const {
    std::vector<uint32_t> v{first, bm, bn, bk, tm, tn, k % 4 == 0 ? 1u : 0u};
    v.insert(v.end(), more);
    return v;
  }
  // one workgroup per tile of the M × N product
  uint64_t invocations(int64_t m, int64_t n) const {
    return static_cast<uint64_t>((m + bm - 1) / bm) * static_cast<uint64_t>((n + bn - 1) / bn) *
           wg();
  }
};

} // namespace

struct VulkanBackend::Impl {
  std::shared_ptr<vk::Device> dev;
  std::unique_ptr<vk::Recorder> rec;
  uint64_t max_bind = 0;
  bool f64 = false;
  bool gemm_lanes = false; // gemm_tile.glsl's subgroup kernel
  bool force_staging = false;
  bool texel_loads = false; // the CPU-type device kernels: see set_texel_loads

  Shader variant(Shader f32, Shader f64s) const { return f64 ? f64s : f32; }

  bool lanes_possible() const {
    return dev->subgroup_shuffle && dev->subgroup_size >= 1 && kLanesWg % dev->subgroup_size == 0;
  }
  // Measured on lavapipe (the bench's 3×256 MLP, process CPU time): the subgroup kernel with
  // 16 × 2 outputs per invocation takes 2.7× less than a plain 4 × 4 register tile per
  // invocation and 7× less than the shared-memory tile; 16 × 1 and 32 × 1 took 20–30% more,
  // 16 × 3 and 32 × 2 (accumulators spilling) 2.6× more; float4 loads (K % 4 = 0) then cut a
  // 4096 × 256 × 256 product from ~190 to ~120 ms. GPUs take the classic 64 × 64 shared tile,
  // 4 × 4 per invocation.
  static constexpr uint32_t kLanesWg = 64;
  GemmTile gemm_tile() const {
    if (gemm_lanes)
      return {true, 16, 2 * kLanesWg, 0, 16, 2};
    // 256 invocations, or 128 (a 32 × 64 tile) where that is the limit (the spec's minimum)
    const VkPhysicalDeviceLimits& l = dev->props.limits;
    if (l.maxComputeWorkGroupInvocations < 256 || l.maxComputeWorkGroupSize[0] < 256)
      return {false, 32, 64, 16, 4, 4};
    return {false, 64, 64, 16, 4, 4};
  }

  // Rows per dispatch so that rows·bytes_per_row fits one binding: all rows, or a multiple of
  // 64 (row offsets then stay multiples of 256 bytes, every device's offset alignment).
  int64_t chunk_rows(int64_t n, uint64_t bytes_per_row) const {
    bytes_per_row = std::max<uint64_t>(bytes_per_row, 4);
    const uint64_t r = max_bind / bytes_per_row;
    if (r >= static_cast<uint64_t>(n))
      return std::max<int64_t>(n, 1);
    const uint64_t r64 = r / 64 * 64;
    if (r64 == 0)
      throw Error("vulkan: a row of " + std::to_string(bytes_per_row) +
                  " bytes is too large for one shader binding on " + dev->info.name);
    return static_cast<int64_t>(r64);
  }
  template <class F> void for_chunks(int64_t n, uint64_t bytes_per_row, F&& f) const {
    const int64_t c = chunk_rows(n, bytes_per_row);
    for (int64_t r0 = 0; r0 < n; r0 += c)
      f(r0, std::min(c, n - r0));
  }
  void whole(const Tensor& t, const char* op) const {
    if (static_cast<uint64_t>(t.size()) * 4 > max_bind)
      throw Error(std::string(op) + ": an input of " + std::to_string(t.size() * 4) +
                  " bytes exceeds the largest shader binding of " + dev->info.name + " (" +
                  std::to_string(max_bind) + " bytes)");
  }
  vk::Param table(const RealTable& t) {
    vk::Param p = rec->param(t.bytes());
    t.write(p.ptr);
    return p;
  }
  // A table bound both as a storage buffer and, when it fits, as a uniform buffer of
  // `ubo_vecs` 16-byte vectors (a power of two, so few pipeline variants; 0 when it does not
  // fit, and the kernel reads the storage buffer). Both are always bound: a shader that declares
  // both uses both statically.
  struct TableBind {
    vk::Bind storage, uniform;
    uint32_t ubo_vecs = 0;
  };
  TableBind table_bind(const RealTable& t) {
    const uint64_t bytes = std::max<uint64_t>(t.bytes(), 16);
    uint64_t vecs = 1;
    while (vecs * 16 < bytes)
      vecs *= 2;
    const bool fits = vecs * 16 <= dev->props.limits.maxUniformBufferRange;
    vk::Param p = rec->param(fits ? vecs * 16 : bytes);
    t.write(p.ptr);
    return {{p.buf, p.offset, bytes, false},
            {p.buf, p.offset, fits ? vecs * 16 : 16, false, true},
            fits ? static_cast<uint32_t>(vecs) : 0u};
  }
};

// ---------------------------------------------------------------- probe

VulkanProbe probe_vulkan() {
  VulkanProbe p;
  auto inst = vk::Instance::get(p.error);
  if (!inst)
    return p;
  p.validation = inst->validation;
  for (const vk::DeviceInfo& d : inst->devices) {
    VulkanDeviceSummary s;
    s.index = static_cast<int>(d.index);
    s.name = d.name;
    s.type = d.type;
    s.api = version_string(d.api_version);
    s.driver = d.driver;
    s.heap_bytes = d.heap_bytes;
    s.usable = d.usable;
    s.reason = d.reason;
    p.available = p.available || d.usable;
    p.devices.push_back(s);
  }
  if (!p.available)
    p.error = "no usable Vulkan device";
  return p;
}

// ---------------------------------------------------------------- backend

VulkanBackend::VulkanBackend(const std::string& device) : impl_(std::make_shared<Impl>()) {
  std::string error;
  impl_->dev = vk::Device::open(device, error);
  if (!impl_->dev)
    throw Error(error);
  impl_->rec = std::make_unique<vk::Recorder>(impl_->dev);
  impl_->max_bind = impl_->dev->props.limits.maxStorageBufferRange;
  impl_->f64 = impl_->dev->f64;
  impl_->gemm_lanes = impl_->dev->info.rank == 3 && impl_->lanes_possible();
  // Measured on lavapipe: inputs read as texels (one AVX2 gather per vector) made lincomb
  // 1.6–2x faster than storage-buffer loads (a loop over the lanes). GPUs read storage buffers
  // well.
  impl_->texel_loads = impl_->dev->info.rank == 3;
}

VulkanBackend::~VulkanBackend() {
  try {
    if (impl_ && impl_->rec && !impl_->dev->lost)
      impl_->rec->sync();
  } catch (...) { // destructors never throw; a lost device has been reported already
  }
}

std::string VulkanBackend::device() const {
  const vk::Device& d = *impl_->dev;
  return d.info.name + ", " + d.info.type + " device, Vulkan " +
         version_string(d.info.api_version) + ", " + (impl_->f64 ? "double" : "float") + " kernels";
}

bool VulkanBackend::double_precision() const {
  return impl_->f64;
}
bool VulkanBackend::set_double_precision(bool on) {
  impl_->rec->sync();
  if (on && !impl_->dev->f64)
    return false;
  impl_->f64 = on;
  return true;
}
bool VulkanBackend::validation_active() const {
  return impl_->dev->instance->validation;
}
int VulkanBackend::provoke_sync_hazard_for_testing() {
  Impl& I = *impl_;
  I.rec->sync();
  const int before = validation_errors();
  Tensor y = alloc(64, 4);
  I.rec->hazard_tracking = false;
  try {
    lincomb(y, {{&y, 2.0}});
    lincomb(y, {{&y, 3.0}});
  } catch (...) {
    I.rec->hazard_tracking = true;
    throw;
  }
  I.rec->hazard_tracking = true;
  I.rec->sync();
  const int provoked = validation_errors() - before;
  vk::forget_validation_errors(provoked);
  return provoked;
}
void VulkanBackend::set_profiling(bool on) {
  impl_->rec->sync();
  impl_->rec->profiling = on && impl_->dev->timestamp_bits > 0;
}
std::map<std::string, VulkanBackend::KernelTime> VulkanBackend::kernel_times() const {
  impl_->rec->sync();
  std::map<std::string, KernelTime> out;
  for (const auto& [k, v] : impl_->rec->kernel_times)
    out[k] = {v.calls, v.ms};
  return out;
}
int64_t VulkanBackend::submissions() const {
  return impl_->rec->submissions;
}
bool VulkanBackend::set_gemm_kernel(GemmKernel k) {
  Impl& I = *impl_;
  if (k == GemmKernel::subgroup && !I.lanes_possible())
    return false;
  I.gemm_lanes = k == GemmKernel::automatic ? I.dev->info.rank == 3 && I.lanes_possible()
                                            : k == GemmKernel::subgroup;
  return true;
}
void VulkanBackend::set_force_staging(bool on) {
  impl_->force_staging = on;
}
void VulkanBackend::set_texel_loads(bool on) {
  impl_->texel_loads = on;
}
void VulkanBackend::set_max_binding_bytes(uint64_t bytes) {
  impl_->max_bind = std::min<uint64_t>(std::max<uint64_t>(bytes, 256),
                                       impl_->dev->props.limits.maxStorageBufferRange);
}
int VulkanBackend::validation_errors() {
  return vk::validation_counts().errors;
}
int VulkanBackend::validation_warnings() {
  return vk::validation_counts().warnings;
}
std::string VulkanBackend::last_validation_message() {
  return vk::validation_counts().last;
}

namespace {
const BufferPtr& buffer_of(const VulkanBackend* be, const Tensor& t) {
  if (t.backend() != be || !t.buffer())
    throw Error("tensor does not live on this Vulkan backend");
  return static_cast<VkTensorBuffer*>(t.buffer())->buf;
}
} // namespace

Tensor VulkanBackend::alloc(int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0)
    throw Error("alloc: negative shape");
  const uint64_t bytes = static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) * 4;
  auto b = std::make_shared<vk::Buffer>(impl_->dev, bytes, false, !impl_->force_staging);
  // zero, as the CPU backend's arrays are
  if (b->mapped && b->coherent && impl_->rec->idle()) {
    std::memset(b->mapped, 0, b->size);
  } else {
    impl_->rec->begin_op();
    impl_->rec->zero(b);
  }
  return Tensor(this, std::make_shared<VkTensorBuffer>(std::move(b)), rows, cols);
}

void VulkanBackend::upload(Tensor& t, const float* host) {
  const BufferPtr& b = buffer_of(this, t);
  const uint64_t bytes = static_cast<uint64_t>(t.size()) * 4;
  if (bytes == 0)
    return;
  vk::Recorder& rec = *impl_->rec;
  if (b->mapped && rec.idle()) {
    std::memcpy(b->mapped, host, bytes);
    if (!b->coherent) {
      VkMappedMemoryRange r{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, nullptr, b->memory, 0,
                            VK_WHOLE_SIZE};
      vk::check(vk::api().vkFlushMappedMemoryRanges(b->device->dev, 1, &r),
                "vkFlushMappedMemoryRanges");
    }
    return;
  }
  // in stream order with the recorded work: staged through parameter memory
  rec.begin_op();
  const vk::Param p = rec.param(bytes);
  std::memcpy(p.ptr, host, bytes);
  rec.copy(p.buf, p.offset, b, 0, bytes);
}

void VulkanBackend::download(const Tensor& t, float* host) {
  const BufferPtr& b = buffer_of(this, t);
  const uint64_t bytes = static_cast<uint64_t>(t.size()) * 4;
  if (bytes == 0)
    return;
  vk::Recorder& rec = *impl_->rec;
  if (b->mapped) {
    rec.sync();
    if (!b->coherent) {
      VkMappedMemoryRange r{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, nullptr, b->memory, 0,
                            VK_WHOLE_SIZE};
      vk::check(vk::api().vkInvalidateMappedMemoryRanges(b->device->dev, 1, &r),
                "vkInvalidateMappedMemoryRanges");
    }
    std::memcpy(host, b->mapped, bytes);
    return;
  }
  rec.begin_op();
  const vk::Param p = rec.param(bytes);
  rec.copy(b, 0, p.buf, p.offset, bytes);
  rec.sync();
  std::memcpy(host, p.ptr, bytes);
}

void VulkanBackend::sync() {
  impl_->rec->sync();
}

// ---------------------------------------------------------------- lincomb

namespace {
struct LincombPush {
  uint32_t n, d;
  float a[8];
};
static_assert(sizeof(LincombPush) == 40);
} // namespace

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
        I.variant(Shader::philox_f32, Shader::philox_f64), {mode},
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
  const uint32_t per = I.dev->info.rank != 3 ? 1 : d <= 4 ? 32 : d <= 16 ? 8 : 4;
  // Up to 16 components, the component loops are unrolled (one pipeline per count): the table
  // offsets become constants, which lavapipe loads once as scalars instead of gathering them
  // per lane (measured: the 2-D mixture's kernel 0.37 s → 0.25 s for 1M particles × 20 steps).
  const uint32_t unrolled = tb.active.size() <= 16 ? static_cast<uint32_t>(tb.active.size()) : 0u;
  const std::vector<uint32_t> spec{static_cast<uint32_t>(d),
                                   g.full() ? 1u : 0u,
                                   per,
                                   tp.ubo_vecs,
                                   static_cast<uint32_t>(row_len),
                                   unrolled};
  I.for_chunks(n, static_cast<uint64_t>(d) * 4, [&](int64_t r0, int64_t rc) {
    pc.n = static_cast<uint32_t>(rc);
    const uint64_t off = static_cast<uint64_t>(r0 * d) * 4,
                   range = static_cast<uint64_t>(rc * d) * 4;
    I.rec->dispatch(I.variant(Shader::gmm_denoise_f32, Shader::gmm_denoise_f64), spec,
                    {{ob, off, range, true}, {xb, off, range, false}, tp.storage, tp.uniform}, &pc,
                    sizeof pc, static_cast<uint64_t>((rc + per - 1) / per), kWg);
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
    }
    I.rec->dispatch(tile.shader(Shader::gemm_bias_act, Shader::gemm_bias_act_lanes),
                    tile.spec(static_cast<uint32_t>(act), in), binds, pc, sizeof pc,
                    tile.invocations(out, rc), tile.wg());
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
    I.rec->dispatch(
        I.variant(Shader::time_embedding_f32, Shader::time_embedding_f64), {},
        {{yb, static_cast<uint64_t>(r0 * dim) * 4, static_cast<uint64_t>(rc * dim) * 4, true},
         {tb, static_cast<uint64_t>(r0) * 4, static_cast<uint64_t>(rc) * 4, false},
         {fb, 0, static_cast<uint64_t>(half) * 4, false}},
        &pc, sizeof pc, static_cast<uint64_t>(rc * half));
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
  // one workgroup per (image, group); large groups (a U-Net's 28×28 planes) take more hands
  const uint32_t wg = len >= 2048 ? 256 : 64;
  I.for_chunks(n, bytes(d), [&](int64_t r0, int64_t rc) {
    const struct {
      uint32_t n, groups, cg, hw;
      float eps;
    } pc{u32(rc), u32(groups), u32(s.c / groups), u32(hw), static_cast<float>(eps)};
    I.rec->dispatch(Shader::group_norm,
                    {static_cast<uint32_t>(act), len % 4 == 0 ? 1u : 0u, hw % 4 == 0 ? 1u : 0u},
                    {rows_of(yb, r0, rc, d, true),
                     rows_of(xb, r0, rc, d),
                     {gb, 0, bytes(s.c)},
                     {bb, 0, bytes(s.c)}},
                    &pc, sizeof pc, static_cast<uint64_t>(rc) * groups * wg, wg);
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
    if (tile.lanes) { // the subgroup kernel reads x and W as texels (W as float4s when K % 4 = 0)
      binds.push_back(as_texels(binds[1], 1));
      binds.push_back(as_texels({wb, 0, bytes(W.size())}, kk % 4 == 0 ? 4 : 1));
    }
    I.rec->dispatch(tile.shader(Shader::conv2d, Shader::conv2d_lanes), spec, binds, pc, sizeof pc,
                    tile.invocations(cout, rc * ho * wo), tile.wg());
  });
}

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
    const uint32_t pc[3] = {u32(rc * dout), u32(s.h), u32(s.w)};
    I.rec->dispatch(Shader::upsample2, {},
                    {rows_of(yb, r0, rc, dout, true), rows_of(xb, r0, rc, din)}, pc, sizeof pc,
                    static_cast<uint64_t>(rc * dout));
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
    const uint32_t pc[3] = {u32(rc * dout), u32(s.h), u32(s.w)};
    I.rec->dispatch(Shader::maxpool2, {},
                    {rows_of(yb, r0, rc, dout, true), rows_of(xb, r0, rc, din)}, pc, sizeof pc,
                    static_cast<uint64_t>(rc * dout));
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
    const uint32_t pc[3] = {u32(rc), u32(ca), u32(cb)};
    I.rec->dispatch(
        Shader::concat_cols, {},
        {rows_of(yb, r0, rc, d, true), rows_of(ab, r0, rc, ca), rows_of(bb, r0, rc, cb)}, pc,
        sizeof pc, static_cast<uint64_t>(rc * d));
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
