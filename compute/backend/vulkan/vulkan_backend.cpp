// The Vulkan backend: device probing and opening, settings, tensors and their transfers.
#include "backend/vulkan/vulkan_backend_impl.hpp"

namespace itslab {

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
    s.api = vk::version_string(d.api_version);
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
  // Measured on lavapipe, where every dispatch costs 40–60 µs of thread wake-ups: fusing the
  // denoiser with the next lincomb halves the dispatches of a mixture run (see set_fusion).
  impl_->fuse = impl_->dev->info.rank == 3;
  impl_->cpu_tuned = impl_->dev->info.rank == 3;
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
         vk::version_string(d.info.api_version) + ", " + (impl_->f64 ? "double" : "float") +
         " kernels";
}

bool VulkanBackend::usable() const {
  return !impl_->dev->lost;
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
  if (on)
    impl_->rec->kernel_times.clear();
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
void VulkanBackend::use_gpu_choices() {
  Impl& I = *impl_;
  I.rec->sync();
  I.f64 = I.dev->f64;
  I.gemm_lanes = false;
  I.texel_loads = false;
  I.fuse = false;
  I.force_staging = true;
  I.cpu_tuned = false;
}
void VulkanBackend::set_force_staging(bool on) {
  impl_->force_staging = on;
}
void VulkanBackend::set_texel_loads(bool on) {
  impl_->texel_loads = on;
}
void VulkanBackend::set_fusion(bool on) {
  impl_->fuse = on;
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

} // namespace itslab
