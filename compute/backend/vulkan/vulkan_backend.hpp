#pragma once
// The Vulkan compute backend: every Backend operation is a GLSL compute shader (shaders/),
// recorded into command buffers and submitted only when the host needs a result, so a solver
// step, or a whole run, is one submission. This header has no Vulkan types.
#include "backend/backend.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace itslab {

struct VulkanDeviceSummary {
  int index = 0;
  std::string name, type, api, driver;
  uint64_t heap_bytes = 0;
  bool usable = false;
  std::string reason; // why it cannot be used
};
struct VulkanProbe {
  bool available = false; // loader, driver and at least one device
  std::string error;      // why not
  std::vector<VulkanDeviceSummary> devices;
  bool validation = false; // the validation layer is active in this process
};
// Loader and devices as this process sees them (creates the process-wide instance).
VulkanProbe probe_vulkan();

class VulkanBackend final : public Backend {
public:
  // device: see make_backend ("" picks the best). Throws Error with the reason when no usable
  // Vulkan device matches.
  explicit VulkanBackend(const std::string& device = "");
  ~VulkanBackend() override;

  std::string name() const override { return "vulkan"; }
  std::string device() const override;
  bool usable() const override;

  Tensor alloc(int64_t rows, int64_t cols) override;
  void upload(Tensor& t, const float* host) override;
  void download(const Tensor& t, float* host) override;
  void lincomb(Tensor& y, std::initializer_list<LinTerm> terms) override;
  void fill_normal(Tensor& y, const NoiseKey& key) override;
  void fill_uniform(Tensor& y, const NoiseKey& key) override;
  void gather_rows(Tensor& y, const Tensor& x, const std::vector<int64_t>& index) override;
  void row_reduce(Tensor& out, const Tensor& x, RowOp op) override;
  void gmm_denoise(Tensor& x0, const Tensor& x, const GmmKernelParams& gmm, double alpha,
                   double sigma, int cls) override;
  void reward(Tensor& out, const Tensor& x, const RewardKernelParams& r) override;
  void gemm_bias_act(Tensor& y, const Tensor& x, const Tensor& W, const Tensor& b,
                     Activation act) override;
  void time_embedding(Tensor& y, const Tensor& t, double scale, const Tensor& freqs) override;
  void layer_norm(Tensor& y, const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                  Activation act) override;
  void group_norm(Tensor& y, const Tensor& x, ImageShape s, int groups, const Tensor& gamma,
                  const Tensor& beta, double eps, Activation act) override;
  void conv2d(Tensor& y, const Tensor& x, ImageShape s, const Tensor& W, const Tensor& b, int k,
              int stride, int pad, const Tensor* row_bias) override;
  void upsample2(Tensor& y, const Tensor& x, ImageShape s) override;
  void maxpool2(Tensor& y, const Tensor& x, ImageShape s) override;
  void concat_cols(Tensor& y, const Tensor& a, const Tensor& b) override;
  void activate(Tensor& y, const Tensor& x, Activation act) override;
  void attention(Tensor& y, const Tensor& qkv, int channels, int heads, int positions) override;
  void sync() override;

  // The raw Philox uint32 words of fill_uniform's counters, stored as float bit patterns.
  void fill_bits(Tensor& y, const NoiseKey& key);
  // Kernels run in double where the CPU backend uses double (devices with shaderFloat64,
  // unless ITSLAB_VK_PRECISION=f32).
  bool double_precision() const;
  // Switches between the double and float kernels (false when double is not available).
  bool set_double_precision(bool on);
  // Per-kernel GPU time from timestamp queries (each timed kernel is serialised); turning it
  // on starts a new profile, kernel_times() then holds the kernels recorded since.
  void set_profiling(bool on);
  struct KernelTime {
    int64_t calls = 0;
    double ms = 0;
  };
  std::map<std::string, KernelTime> kernel_times() const;
  int64_t submissions() const;
  // Largest range bound to one shader binding; arrays above it are processed in row chunks
  // (the device's maxStorageBufferRange; tests lower it to exercise chunking).
  void set_max_binding_bytes(uint64_t bytes);
  // Arrays allocated from now on are never mapped: uploads, downloads and zeroing go through
  // staging copies, as on GPUs whose device-local memory the host cannot see (tests use it on
  // lavapipe, where all memory is host-visible).
  void set_force_staging(bool on);
  // The CPU-type device kernels (the default on lavapipe, where a texel fetch is one vector
  // gather, a storage-buffer load a loop over the lanes and a barrier costly): lincomb,
  // upsample2, maxpool2 and concat_cols read their inputs as texels, LayerNorm takes a row and
  // GroupNorm an (image, group) per invocation, and the mixture denoiser above 4 dimensions
  // runs its dimension loop outermost. Off: storage buffers and a workgroup per LayerNorm row
  // or GroupNorm group (GPUs). The element-wise kernels and the denoiser give the same bits
  // either way, the norms sum in another order; tests run both.
  void set_texel_loads(bool on);
  // On (the default on CPU-type devices, where each dispatch costs tens of µs): a lincomb whose
  // terms include the output of the mixture denoiser just before it, with at most 4 terms and
  // no row scales, runs in the denoiser's dispatch (gmm_denoise_lincomb). Same bits either way;
  // tests run both.
  void set_fusion(bool on);

  // The kernel of gemm_bias_act and conv2d: a shared-memory tile (GPUs) or register tiles fed
  // by subgroup shuffles (the default on CPU-type devices, whose shared memory is slow). Both
  // give the same bits; tests run each. False when the device cannot run the one asked for.
  enum class GemmKernel { automatic, shared_tile, subgroup };
  bool set_gemm_kernel(GemmKernel k);

  // Every choice a discrete GPU gets, whatever this device is: storage-buffer loads, no
  // denoiser fusion, the shared-memory GEMM, one particle per denoiser invocation, staging
  // copies for arrays allocated from now on, and the device's default precision. Tests use it
  // on lavapipe to check the path a GPU runs.
  void use_gpu_choices();

  // Validation messages (ITSLAB_VK_VALIDATION=1) seen in this process so far.
  static int validation_errors();
  static int validation_warnings();
  static std::string last_validation_message();
  // The validation layer is active in this process.
  bool validation_active() const;
  // Records two dependent dispatches without the barrier between them and returns how many
  // validation errors that caused (then forgets them): > 0 proves synchronization validation
  // is watching.
  int provoke_sync_hazard_for_testing();

  struct Impl;

private:
  std::shared_ptr<Impl> impl_;
};

} // namespace itslab
