#pragma once
// Vulkan plumbing of the Vulkan backend: the process-wide instance (with validation when asked,
// vk_instance.cpp), device choice and creation with its pipelines (vk_device.cpp), buffers
// (vk_buffer.cpp) and the command recorder that batches dispatches into as few submissions as
// possible (vk_recorder.cpp). Only the backend's own files use it.
#include "backend/vulkan/vk_api.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace itslab::vk {

// Throws itslab::Error "vulkan: <what>: <VkResult>" when r is not VK_SUCCESS.
void check(VkResult r, const char* what);
// "major.minor.patch" of a VK_MAKE_API_VERSION value.
std::string version_string(uint32_t v);

struct DeviceInfo {
  uint32_t index = 0;
  std::string name, type, driver;
  uint32_t api_version = 0;
  uint64_t heap_bytes = 0; // the largest device-local heap
  int rank = 4;            // 0 discrete, 1 integrated, 2 virtual, 3 cpu, 4 other
  bool usable = false;
  std::string reason; // why it cannot be used
};

// ITSLAB_VK_VALIDATION=1 (read at the first Vulkan use in the process; the default in Debug
// builds) enables the Khronos validation layer with synchronization validation; every
// warning and error is printed and counted.
bool validation_requested();
struct ValidationCounts {
  int errors = 0, warnings = 0;
  std::string last;
};
ValidationCounts validation_counts();
// Subtracts errors a test provoked on purpose.
void forget_validation_errors(int n);

class Instance {
public:
  // The process-wide instance, created on first use; nullptr and `error` (one line: no loader,
  // no driver, ...) when Vulkan cannot be used at all.
  static std::shared_ptr<Instance> get(std::string& error);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  VkInstance handle = VK_NULL_HANDLE;
  bool validation = false;       // the layer is active
  std::string validation_notice; // why it is not, when it was requested
  std::vector<VkPhysicalDevice> physical;
  std::vector<DeviceInfo> devices; // same order as physical

private:
  Instance() = default;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
};

// Every compiled shader variant (shaders/CMakeLists.txt builds spv_<name> for each).
#define ITSLAB_VK_SHADERS(X)                                                                       \
  X(lincomb)                                                                                       \
  X(lincomb_vec4)                                                                                  \
  X(lincomb_f64)                                                                                   \
  X(lincomb_vec4_f64)                                                                              \
  X(lincomb_texel)                                                                                 \
  X(lincomb_vec4_texel)                                                                            \
  X(lincomb_texel_f64)                                                                             \
  X(lincomb_vec4_texel_f64)                                                                        \
  X(philox_f32)                                                                                    \
  X(philox_f64)                                                                                    \
  X(gather_rows)                                                                                   \
  X(row_reduce)                                                                                    \
  X(row_reduce_f64)                                                                                \
  X(gmm_denoise_f32)                                                                               \
  X(gmm_denoise_f64)                                                                               \
  X(gmm_denoise_lincomb_f32)                                                                       \
  X(gmm_denoise_lincomb_f64)                                                                       \
  X(gmm_denoise_dims_f32)                                                                          \
  X(gmm_denoise_dims_f64)                                                                          \
  X(gmm_denoise_dims_lincomb_f32)                                                                  \
  X(gmm_denoise_dims_lincomb_f64)                                                                  \
  X(reward_f32)                                                                                    \
  X(reward_f64)                                                                                    \
  X(gemm_bias_act)                                                                                 \
  X(gemm_bias_act_lanes)                                                                           \
  X(time_embedding_f32)                                                                            \
  X(time_embedding_f64)                                                                            \
  X(layer_norm)                                                                                    \
  X(layer_norm_rows)                                                                               \
  X(group_norm)                                                                                    \
  X(group_norm_rows)                                                                               \
  X(conv2d)                                                                                        \
  X(conv2d_lanes)                                                                                  \
  X(upsample2)                                                                                     \
  X(upsample2_texel)                                                                               \
  X(maxpool2)                                                                                      \
  X(maxpool2_texel)                                                                                \
  X(concat_cols)                                                                                   \
  X(concat_cols_texel)                                                                             \
  X(activate)                                                                                      \
  X(attention)

enum class Shader : int {
#define ITSLAB_VK_ENUM(name) name,
  ITSLAB_VK_SHADERS(ITSLAB_VK_ENUM)
#undef ITSLAB_VK_ENUM
      count
};
const char* shader_name(Shader s);

struct Pipeline {
  VkPipeline pipe = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  uint32_t wg = 0;
};

class Device {
public:
  // selector: "" the best device (discrete > integrated > virtual > cpu), a number (index in
  // `itslab-cli info`), a type ("discrete", "integrated", "virtual", "cpu") or a
  // case-insensitive substring of the device name. Devices are shared within the process; after
  // a device loss the next open creates a new logical device (backends still holding the lost
  // one keep failing clearly). nullptr and `error` when nothing usable matches.
  static std::shared_ptr<Device> open(const std::string& selector, std::string& error);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // Throws Error after a device loss so every later call fails the same clear way.
  void check_alive() const;
  // Submits under the queue lock; VK_ERROR_DEVICE_LOST marks the device lost and throws.
  void submit(VkCommandBuffer cmd, VkFence fence);
  // Waits for a submission; VK_ERROR_DEVICE_LOST marks the device lost and throws. While
  // ITSLAB_VK_FAULT=device-lost is set (tests), every wait reports a loss, as a driver reset
  // would.
  void wait(VkFence fence);
  // Lazily created pipeline for (shader, spec constants 1..); constant 0 is the workgroup size.
  const Pipeline& pipeline(Shader s, uint32_t wg, const std::vector<uint32_t>& spec);
  static constexpr uint32_t kMaxBindings = 13;
  // Binding kMaxBindings is a uniform buffer: small tables read at one address by every
  // invocation (on CPU-type devices one gather instead of a loop over the lanes, one scalar
  // load where the offset is a constant; a broadcast from the constant cache on GPUs).
  static constexpr uint32_t kUniformBinding = kMaxBindings;
  // Bindings kFirstTexelBinding … + kTexelBindings − 1 are uniform texel buffers (float or
  // float4 texels): on CPU-type devices a texel fetch is one vector gather, where a
  // storage-buffer load is a loop over the SIMD lanes.
  static constexpr uint32_t kTexelBindings = 8;
  static constexpr uint32_t kFirstTexelBinding = kUniformBinding + 1;
  static constexpr uint32_t kAllBindings = kFirstTexelBinding + kTexelBindings;

  std::shared_ptr<Instance> instance;
  DeviceInfo info;
  VkPhysicalDevice phys = VK_NULL_HANDLE;
  VkDevice dev = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t family = 0;
  VkPhysicalDeviceProperties props{};
  VkPhysicalDeviceMemoryProperties mem{};
  uint64_t max_alloc = 0;      // maxMemoryAllocationSize
  bool f64 = false;            // double-precision variants of the kernels are used
  bool f64_supported = false;  // shaderFloat64
  uint32_t timestamp_bits = 0; // 0: no timestamps on the queue
  uint32_t subgroup_size = 0;
  bool subgroup_shuffle = false; // subgroupShuffle in compute shaders
  std::atomic<bool> lost{false};

private:
  Device() = default;
  [[noreturn]] void mark_lost(const char* during);
  std::mutex queue_mutex_, pipe_mutex_;
  std::map<std::pair<int, std::vector<uint32_t>>, Pipeline> pipes_;
  std::map<int, VkShaderModule> modules_;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
};

// One VkBuffer with its own memory; `host` asks for host-visible memory (parameters, staging).
// Tensor buffers are device-local, and host-visible too on unified-memory devices (lavapipe,
// integrated GPUs), where they are mapped and read without staging.
struct Buffer {
  // map = false leaves host-visible memory unmapped, so the staging path that GPUs with
  // device-local memory take is used (tests exercise it on lavapipe).
  Buffer(std::shared_ptr<Device> device, uint64_t bytes, bool host, bool map = true);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  std::shared_ptr<Device> device;
  VkBuffer buf = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  uint64_t size = 0;
  void* mapped = nullptr; // when host-visible
  bool coherent = true;
  // A view of [offset, offset + range) as float (components 1) or float4 (4) texels, created
  // on first use and kept for the buffer's life.
  VkBufferView view(uint64_t offset, uint64_t range, uint32_t components);

private:
  std::mutex views_mutex_;
  std::map<std::tuple<uint64_t, uint64_t, uint32_t>, VkBufferView> views_;
};
using BufferPtr = std::shared_ptr<Buffer>;

// A slice of a host-visible parameter chunk, valid until the submission that uses it ends.
struct Param {
  BufferPtr buf;
  uint64_t offset = 0;
  void* ptr = nullptr;
};

struct Bind {
  BufferPtr buf;
  uint64_t offset = 0, range = 0;
  bool write = false;
  bool uniform = false; // bound at Device::kUniformBinding; storage binds take 0, 1, … in order
  // > 0: a uniform texel buffer of float (1) or float4 (4) texels, at kFirstTexelBinding + its
  // place among the texel binds
  uint32_t texel = 0;
};

// Records dispatches, copies and the barriers between dependent ones into a command buffer and
// submits only when the host needs results (download, sync) or the buffer is full, so a whole
// solver step, or a whole run, is one submission. Two frames alternate so recording continues
// while the previous submission runs.
class Recorder {
public:
  explicit Recorder(std::shared_ptr<Device> device);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Called at the start of each backend operation: starts a new submission when the current
  // one is full.
  void begin_op();
  Param param(uint64_t bytes);
  void dispatch(Shader s, const std::vector<uint32_t>& spec, const std::vector<Bind>& binds,
                const void* push, uint32_t push_bytes, uint64_t invocations, uint32_t wg = 256);
  void copy(const BufferPtr& src, uint64_t src_off, const BufferPtr& dst, uint64_t dst_off,
            uint64_t bytes);
  void zero(const BufferPtr& dst);
  // Keeps a dispatch back instead of recording it, so the backend can replace it with a fused
  // kernel (take_held). A later dispatch that shares no written buffer with it is recorded
  // before it; anything else the recorder is asked to do (a dependent dispatch, a copy, a
  // submission) records it first, in the frame that holds its parameters. Returns its id.
  uint64_t hold(Shader s, const std::vector<uint32_t>& spec, const std::vector<Bind>& binds,
                const void* push, uint32_t push_bytes, uint64_t invocations, uint32_t wg);
  struct Held {
    uint64_t id;
    Shader s;
    std::vector<uint32_t> spec;
    std::vector<Bind> binds;
    std::vector<uint8_t> push;
    uint64_t invocations;
    uint32_t wg;
  };
  // Dispatch `id` is still held (only independent dispatches were recorded since it was).
  bool holding(uint64_t id) const { return held_ && held_->id == id; }
  // Hands over the held dispatch without recording it (the backend records a fused kernel in
  // its place); call only while holding().
  Held take_held() {
    Held h = std::move(*held_);
    held_.reset();
    return h;
  }
  // Submit what is recorded and wait for everything submitted.
  void sync();
  // Nothing recorded, held or in flight: host-visible memory may be touched directly.
  bool idle() const;

  bool profiling = false;
  bool hazard_tracking = true; // off only to provoke a validation error in tests
  struct KernelTime {
    int64_t calls = 0;
    double ms = 0;
  };
  std::map<std::string, KernelTime> kernel_times;
  int64_t submissions = 0;

private:
  struct Chunk {
    BufferPtr buf;
    uint64_t used = 0;
  };
  struct Frame {
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    VkQueryPool queries = VK_NULL_HANDLE;
    bool open = false, pending = false;
    uint32_t commands = 0;
    std::vector<BufferPtr> keep;
    std::vector<Chunk> chunks;
    uint64_t param_bytes = 0;
    std::vector<VkBuffer> written, read; // since the last barrier
    std::vector<Shader> timed;           // kernel of query i + 1
  };
  Frame& frame() { return frames_[cur_]; }
  void record_held();
  void record(Shader s, const std::vector<uint32_t>& spec, const std::vector<Bind>& binds,
              const void* push, uint32_t push_bytes, uint64_t invocations, uint32_t wg);
  void open_frame();
  void submit_frame(bool wait);
  void complete(Frame& f);
  void hazard(const std::vector<std::pair<VkBuffer, bool>>& access);
  void barrier(Frame& f);

  std::shared_ptr<Device> dev_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  Frame frames_[2];
  int cur_ = 0;
  std::optional<Held> held_;
  uint64_t held_ids_ = 0;
  static constexpr uint32_t kMaxCommands = 4096, kMaxQueries = 1024;
  static constexpr uint64_t kChunkBytes = 1 << 20, kMaxParamBytes = 64ull << 20;
};

} // namespace itslab::vk
