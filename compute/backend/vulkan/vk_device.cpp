// Device choice and creation, submission, and the pipelines of the embedded shaders.
#include "backend/vulkan/vk_context.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace itslab::vk {

#define ITSLAB_VK_EXTERN(name)                                                                     \
  extern const uint32_t spv_##name[];                                                              \
  extern const size_t spv_##name##_bytes;
ITSLAB_VK_SHADERS(ITSLAB_VK_EXTERN)
#undef ITSLAB_VK_EXTERN

namespace {

struct Blob {
  const char* name;
  const uint32_t* code;
  const size_t* bytes;
};
const Blob kBlobs[] = {
#define ITSLAB_VK_BLOB(name) {#name, spv_##name, &spv_##name##_bytes},
    ITSLAB_VK_SHADERS(ITSLAB_VK_BLOB)
#undef ITSLAB_VK_BLOB
};
static_assert(sizeof(kBlobs) / sizeof(kBlobs[0]) == static_cast<size_t>(Shader::count));

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::mutex g_device_mutex;
// Opened devices stay open for the life of the process (the map is never destroyed, so no
// Vulkan object is torn down during static destruction, when the driver may already be gone):
// a new backend, e.g. one per run, then costs no device creation and no pipeline compilation.
std::map<uint32_t, std::shared_ptr<Device>>& g_devices =
    *new std::map<uint32_t, std::shared_ptr<Device>>();

} // namespace

const char* shader_name(Shader s) {
  return kBlobs[static_cast<int>(s)].name;
}

// ---------------------------------------------------------------- Device

std::shared_ptr<Device> Device::open(const std::string& selector, std::string& error) {
  const char* prec = std::getenv("ITSLAB_VK_PRECISION");
  const std::string precision = prec ? prec : "";
  if (!precision.empty() && precision != "f32" && precision != "f64") {
    error = "ITSLAB_VK_PRECISION: unknown value '" + precision + "' (f32 or f64)";
    return nullptr;
  }
  auto inst = Instance::get(error);
  if (!inst)
    return nullptr;
  // choose
  const auto& devs = inst->devices;
  int pick = -1;
  std::string sel = lower(selector);
  if (sel.empty()) {
    for (const DeviceInfo& d : devs)
      if (d.usable && (pick < 0 || d.rank < devs[pick].rank))
        pick = static_cast<int>(d.index);
    if (pick < 0) {
      error = "no usable Vulkan device:";
      for (const DeviceInfo& d : devs)
        error += " " + d.name + " (" + d.reason + ");";
      error.pop_back();
      return nullptr;
    }
  } else {
    const bool numeric = std::all_of(
        sel.begin(), sel.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (numeric) {
      const unsigned long i = std::stoul(sel);
      if (i >= devs.size()) {
        error = "no Vulkan device " + sel + " (" + std::to_string(devs.size()) + " found)";
        return nullptr;
      }
      pick = static_cast<int>(i);
    } else {
      for (const DeviceInfo& d : devs)
        if (d.type == sel || lower(d.name).find(sel) != std::string::npos) {
          // prefer a usable match
          if (pick < 0 || (!devs[pick].usable && d.usable))
            pick = static_cast<int>(d.index);
        }
      if (pick < 0) {
        error = "no Vulkan device matches '" + selector + "'";
        return nullptr;
      }
    }
    if (!devs[pick].usable) {
      error = "Vulkan device " + std::to_string(pick) + " (" + devs[pick].name +
              ") cannot be used: " + devs[pick].reason;
      return nullptr;
    }
  }

  std::lock_guard<std::mutex> lock(g_device_mutex);
  if (auto it = g_devices.find(static_cast<uint32_t>(pick));
      it != g_devices.end() && !it->second->lost)
    return it->second;

  Api& a = api();
  std::shared_ptr<Device> d(new Device());
  d->instance = inst;
  d->info = devs[pick];
  d->phys = inst->physical[pick];
  a.vkGetPhysicalDeviceProperties(d->phys, &d->props);
  a.vkGetPhysicalDeviceMemoryProperties(d->phys, &d->mem);
  VkPhysicalDeviceMaintenance3Properties m3{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties sg{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  m3.pNext = &sg;
  VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  p2.pNext = &m3;
  a.vkGetPhysicalDeviceProperties2(d->phys, &p2);
  d->max_alloc = m3.maxMemoryAllocationSize;
  d->subgroup_size = sg.subgroupSize;
  d->subgroup_shuffle = (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                        (sg.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);

  uint32_t nq = 0;
  a.vkGetPhysicalDeviceQueueFamilyProperties(d->phys, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> q(nq);
  a.vkGetPhysicalDeviceQueueFamilyProperties(d->phys, &nq, q.data());
  // a compute-only family first (asynchronous compute on GPUs), then any with compute
  int fam = -1;
  for (uint32_t i = 0; i < nq; ++i)
    if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) {
      fam = static_cast<int>(i);
      break;
    }
  if (fam < 0)
    for (uint32_t i = 0; i < nq; ++i)
      if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
        fam = static_cast<int>(i);
        break;
      }
  d->family = static_cast<uint32_t>(fam);
  d->timestamp_bits = q[fam].timestampValidBits;

  VkPhysicalDeviceFeatures feats{};
  a.vkGetPhysicalDeviceFeatures(d->phys, &feats);
  d->f64_supported = feats.shaderFloat64;
  // Double kernels (GMM, Box–Muller, rewards, time embedding) reproduce the CPU backend's
  // double arithmetic, so every device with shaderFloat64 uses them: with float kernels the
  // samplers that correct with Langevin steps, and Euler–Maruyama in 64-D, drift up to 3e-4
  // from the CPU's samples (measured on lavapipe), past the 1e-4 promised. Those kernels are a
  // small part of a GPU's run even at 1/64 rate; ITSLAB_VK_PRECISION=f32 trades the agreement
  // for speed.
  d->f64 = d->f64_supported && precision != "f32";

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = d->family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkPhysicalDeviceFeatures enable{};
  enable.shaderFloat64 = d->f64 ? VK_TRUE : VK_FALSE;
  const char* exts[] = {VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME};
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  dci.enabledExtensionCount = 1;
  dci.ppEnabledExtensionNames = exts;
  dci.pEnabledFeatures = &enable;
  const VkResult r = a.vkCreateDevice(d->phys, &dci, nullptr, &d->dev);
  if (r != VK_SUCCESS) {
    error = "cannot create Vulkan device " + d->info.name + ": " + result_name(r);
    return nullptr;
  }
  a.vkGetDeviceQueue(d->dev, d->family, 0, &d->queue);

  // One layout for every kernel: kMaxBindings push-descriptor storage buffers, one uniform
  // buffer, kTexelBindings uniform texel buffers and 128 bytes of push constants (kernels use a
  // prefix of the storage and texel bindings).
  VkDescriptorSetLayoutBinding b[kAllBindings];
  for (uint32_t i = 0; i < kAllBindings; ++i)
    b[i] = {i,
            i < kMaxBindings       ? VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
            : i == kUniformBinding ? VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER
                                   : VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
            1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo lci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  lci.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR;
  lci.bindingCount = kAllBindings;
  lci.pBindings = b;
  try {
    check(a.vkCreateDescriptorSetLayout(d->dev, &lci, nullptr, &d->set_layout_),
          "vkCreateDescriptorSetLayout");
    VkPushConstantRange pcr{VK_SHADER_STAGE_COMPUTE_BIT, 0, 128};
    VkPipelineLayoutCreateInfo pli{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pli.setLayoutCount = 1;
    pli.pSetLayouts = &d->set_layout_;
    pli.pushConstantRangeCount = 1;
    pli.pPushConstantRanges = &pcr;
    check(a.vkCreatePipelineLayout(d->dev, &pli, nullptr, &d->layout_), "vkCreatePipelineLayout");
  } catch (const Error& e) {
    error = e.what();
    return nullptr;
  }
  g_devices[static_cast<uint32_t>(pick)] = d;
  return d;
}

Device::~Device() {
  Api& a = api();
  if (!dev)
    return;
  a.vkDeviceWaitIdle(dev);
  for (auto& [k, p] : pipes_)
    a.vkDestroyPipeline(dev, p.pipe, nullptr);
  for (auto& [k, m] : modules_)
    a.vkDestroyShaderModule(dev, m, nullptr);
  if (layout_)
    a.vkDestroyPipelineLayout(dev, layout_, nullptr);
  if (set_layout_)
    a.vkDestroyDescriptorSetLayout(dev, set_layout_, nullptr);
  a.vkDestroyDevice(dev, nullptr);
}

void Device::check_alive() const {
  if (lost.load())
    throw Error("vulkan: the device (" + info.name +
                ") was lost earlier; start a new run (it opens the device again) or use "
                "--backend cpu");
}

void Device::submit(VkCommandBuffer cmd, VkFence fence) {
  check_alive();
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  VkResult r;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    r = api().vkQueueSubmit(queue, 1, &si, fence);
  }
  if (r == VK_ERROR_DEVICE_LOST)
    mark_lost("submitting work to");
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
    throw Error("vulkan: out of memory submitting work to " + info.name + " (" + result_name(r) +
                ")");
  check(r, "vkQueueSubmit");
}

void Device::wait(VkFence fence) {
  VkResult r = api().vkWaitForFences(dev, 1, &fence, VK_TRUE, UINT64_MAX);
  if (const char* fault = std::getenv("ITSLAB_VK_FAULT"); fault && *fault) {
    if (std::string(fault) != "device-lost")
      throw Error("ITSLAB_VK_FAULT: unknown fault '" + std::string(fault) +
                  "' (the one there is: device-lost)");
    r = VK_ERROR_DEVICE_LOST;
  }
  if (r == VK_ERROR_DEVICE_LOST)
    mark_lost("running on");
  check(r, "vkWaitForFences");
}

void Device::mark_lost(const char* during) {
  lost = true;
  throw Error(std::string("vulkan: device lost while ") + during + " " + info.name +
              " (run aborted)");
}

const Pipeline& Device::pipeline(Shader s, uint32_t wg, const std::vector<uint32_t>& spec) {
  std::lock_guard<std::mutex> lock(pipe_mutex_);
  std::vector<uint32_t> key{wg};
  key.insert(key.end(), spec.begin(), spec.end());
  auto it = pipes_.find({static_cast<int>(s), key});
  if (it != pipes_.end())
    return it->second;
  Api& a = api();
  VkShaderModule& mod = modules_[static_cast<int>(s)];
  if (!mod) {
    const Blob& b = kBlobs[static_cast<int>(s)];
    VkShaderModuleCreateInfo mci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mci.codeSize = *b.bytes;
    mci.pCode = b.code;
    check(a.vkCreateShaderModule(dev, &mci, nullptr, &mod), "vkCreateShaderModule");
  }
  std::vector<VkSpecializationMapEntry> entries(key.size());
  for (uint32_t i = 0; i < key.size(); ++i)
    entries[i] = {i, static_cast<uint32_t>(i * sizeof(uint32_t)), sizeof(uint32_t)};
  VkSpecializationInfo si{};
  si.mapEntryCount = static_cast<uint32_t>(entries.size());
  si.pMapEntries = entries.data();
  si.dataSize = key.size() * sizeof(uint32_t);
  si.pData = key.data();
  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = mod;
  ci.stage.pName = "main";
  ci.stage.pSpecializationInfo = &si;
  ci.layout = layout_;
  Pipeline p;
  p.layout = layout_;
  p.wg = wg;
  check(a.vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &ci, nullptr, &p.pipe),
        "vkCreateComputePipelines");
  return pipes_[{static_cast<int>(s), key}] = p;
}
} // namespace itslab::vk
