#pragma once
// Internals of the Vulkan backend, shared by its files: vulkan_backend.cpp (device, memory,
// settings), vulkan_sampling_ops.cpp (lincomb, Philox, gathers, reductions, the mixture denoiser,
// rewards) and vulkan_nn_ops.cpp (neural-network layers). Nothing else includes it.
#include "backend/vulkan/vk_context.hpp"
#include "backend/vulkan/vulkan_backend.hpp"
#include "core/error.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace itslab {

using vk::Bind;
using vk::BufferPtr;
using vk::Shader;

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

// The same range bound as a uniform texel buffer of float (1) or float4 (4) texels.
inline Bind as_texels(Bind b, uint32_t components) {
  b.write = false;
  b.texel = components;
  return b;
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
// workgroup, TM × TN per invocation, K in BK-deep slabs (shared-memory kernel), the subgroup size
// (subgroup kernel); spec constants 2..8 of both shaders.
struct GemmTile {
  bool lanes;
  uint32_t bm, bn, bk, tm, tn, sg = 1;
  uint32_t wg() const { return (bm / tm) * (bn / tn); }
  Shader shader(Shader shared_tile, Shader subgroup) const {
    return lanes ? subgroup : shared_tile;
  }
  // spec constants: `first` (constant 1), the tile, whether K % 4 = 0, the subgroup size, then
  // `more` (9, ...)
  std::vector<uint32_t> spec(uint32_t first, int64_t k,
                             std::initializer_list<uint32_t> more = {}) const {
    std::vector<uint32_t> v{first, bm, bn, bk, tm, tn, k % 4 == 0 ? 1u : 0u, sg};
    v.insert(v.end(), more);
    return v;
  }
  // one workgroup per tile of the M × N product
  uint64_t invocations(int64_t m, int64_t n) const {
    return static_cast<uint64_t>((m + bm - 1) / bm) * static_cast<uint64_t>((n + bn - 1) / bn) *
           wg();
  }
};

struct VulkanBackend::Impl {
  std::shared_ptr<vk::Device> dev;
  std::unique_ptr<vk::Recorder> rec;
  uint64_t max_bind = 0;
  bool f64 = false;
  bool gemm_lanes = false; // gemm_tile.glsl's subgroup kernel
  bool force_staging = false;
  bool texel_loads = false; // the CPU-type device kernels: see set_texel_loads
  bool fuse = false;        // see set_fusion
  bool cpu_tuned = false;   // a CPU-type device's choices where no setter covers them
  // The mixture denoiser's dispatch (recorder id), held back in the recorder so that a lincomb
  // reading its output `out` [n, d] can run fused with it (gmm_denoise_lincomb); recorded as it
  // is otherwise. vec4: the kernel reads the lincomb's terms as float4 texels.
  struct HeldDenoise {
    uint64_t id;
    BufferPtr out;
    int64_t n, d;
    bool vec4;
  };
  std::optional<HeldDenoise> held_denoise;

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
      return {true, 16, 2 * kLanesWg, 0, 16, 2, dev->subgroup_size};
    // 256 invocations, or 128 (a 32 × 64 tile) where that is the limit (the spec's minimum)
    const VkPhysicalDeviceLimits& l = dev->props.limits;
    if (l.maxComputeWorkGroupInvocations < 256 || l.maxComputeWorkGroupSize[0] < 256)
      return {false, 32, 64, 16, 4, 4};
    return {false, 64, 64, 16, 4, 4};
  }

  // Rows per dispatch so that rows·bytes_per_row fits one binding, and one texel view of
  // floats when the kernels read texels: all rows, or a multiple of 64 (row offsets then stay
  // multiples of 256 bytes, every device's offset alignment).
  int64_t chunk_rows(int64_t n, uint64_t bytes_per_row) const {
    bytes_per_row = std::max<uint64_t>(bytes_per_row, 4);
    const uint64_t bind =
        texel_loads ? std::min<uint64_t>(max_bind, 4ull * dev->props.limits.maxTexelBufferElements)
                    : max_bind;
    const uint64_t r = bind / bytes_per_row;
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

inline const BufferPtr& buffer_of(const VulkanBackend* be, const Tensor& t) {
  if (t.backend() != be || !t.buffer())
    throw Error("tensor does not live on this Vulkan backend");
  return static_cast<VkTensorBuffer*>(t.buffer())->buf;
}

} // namespace itslab
