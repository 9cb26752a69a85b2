#include "backend/vulkan/vk_context.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

std::string version_string(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) +
         "." + std::to_string(VK_API_VERSION_PATCH(v));
}

// ---- validation messages ----
std::mutex g_val_mutex;
ValidationCounts g_val;

VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                          VkDebugUtilsMessageTypeFlagsEXT type,
                                          const VkDebugUtilsMessengerCallbackDataEXT* data, void*) {
  const bool error = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  const bool warning = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT;
  // Loader chatter (type GENERAL) about drivers for absent hardware is not a validation result.
  const bool counted =
      (error || warning) && (type & (VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT));
  if (!counted)
    return VK_FALSE;
  const std::string msg = data && data->pMessage ? data->pMessage : "(no message)";
  {
    std::lock_guard<std::mutex> lock(g_val_mutex);
    (error ? g_val.errors : g_val.warnings)++;
    g_val.last = msg;
  }
  std::fprintf(stderr, "vulkan validation %s: %s\n", error ? "error" : "warning", msg.c_str());
  return VK_FALSE;
}

std::mutex g_instance_mutex;
// Like the devices below: created once, never destroyed.
std::shared_ptr<Instance>& g_instance = *new std::shared_ptr<Instance>();
std::string g_instance_error;
std::mutex g_device_mutex;
// Opened devices stay open for the life of the process (the map is never destroyed, so no
// Vulkan object is torn down during static destruction, when the driver may already be gone):
// a new backend, e.g. one per run, then costs no device creation and no pipeline compilation.
std::map<uint32_t, std::shared_ptr<Device>>& g_devices =
    *new std::map<uint32_t, std::shared_ptr<Device>>();

bool has_extension(const std::vector<VkExtensionProperties>& exts, const char* name) {
  return std::any_of(exts.begin(), exts.end(), [&](const VkExtensionProperties& e) {
    return std::strcmp(e.extensionName, name) == 0;
  });
}

DeviceInfo describe(VkPhysicalDevice pd, uint32_t index) {
  Api& a = api();
  DeviceInfo d;
  d.index = index;
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDevicePushDescriptorPropertiesKHR push{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PUSH_DESCRIPTOR_PROPERTIES_KHR};
  VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  VkPhysicalDeviceProperties props{};
  a.vkGetPhysicalDeviceProperties(pd, &props);
  d.name = props.deviceName;
  d.api_version = props.apiVersion;
  switch (props.deviceType) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
    d.type = "discrete", d.rank = 0;
    break;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
    d.type = "integrated", d.rank = 1;
    break;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
    d.type = "virtual", d.rank = 2;
    break;
  case VK_PHYSICAL_DEVICE_TYPE_CPU:
    d.type = "cpu", d.rank = 3;
    break;
  default:
    d.type = "other", d.rank = 4;
  }
  VkPhysicalDeviceMemoryProperties mem{};
  a.vkGetPhysicalDeviceMemoryProperties(pd, &mem);
  for (uint32_t h = 0; h < mem.memoryHeapCount; ++h)
    if (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      d.heap_bytes = std::max<uint64_t>(d.heap_bytes, mem.memoryHeaps[h].size);

  if (props.apiVersion < VK_API_VERSION_1_2) {
    d.reason = "Vulkan " + version_string(props.apiVersion) + " (1.2 required)";
    return d;
  }
  p2.pNext = &driver;
  driver.pNext = &push;
  a.vkGetPhysicalDeviceProperties2(pd, &p2);
  d.driver = std::string(driver.driverName) + (driver.driverInfo[0] ? " " : "") + driver.driverInfo;

  uint32_t n = 0;
  a.vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> exts(n);
  a.vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, exts.data());
  uint32_t nq = 0;
  a.vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> q(nq);
  a.vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, q.data());
  const bool compute = std::any_of(q.begin(), q.end(), [](const VkQueueFamilyProperties& f) {
    return f.queueFlags & VK_QUEUE_COMPUTE_BIT;
  });
  if (!compute)
    d.reason = "no compute queue";
  else if (!has_extension(exts, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME))
    d.reason = "no VK_KHR_push_descriptor";
  else if (push.maxPushDescriptors < Device::kAllBindings)
    d.reason = "fewer than " + std::to_string(Device::kAllBindings) + " push descriptors";
  else if (props.limits.maxPerStageDescriptorStorageBuffers < Device::kMaxBindings ||
           props.limits.maxPerStageDescriptorSampledImages < Device::kTexelBindings)
    d.reason = "fewer than " + std::to_string(Device::kMaxBindings) + " storage buffers or " +
               std::to_string(Device::kTexelBindings) + " texel buffers per shader";
  else if (props.limits.maxPushConstantsSize < 128)
    d.reason = "push constants smaller than 128 bytes";
  else
    d.usable = true;
  return d;
}

} // namespace

void check(VkResult r, const char* what) {
  if (r != VK_SUCCESS)
    throw Error(std::string("vulkan: ") + what + " failed: " + result_name(r));
}

bool validation_requested() {
  const char* v = std::getenv("ITSLAB_VK_VALIDATION");
  if (!v || !*v) {
#ifdef ITSLAB_VK_DEBUG_VALIDATION
    return true; // Debug builds validate unless ITSLAB_VK_VALIDATION=0
#else
    return false;
#endif
  }
  return std::strcmp(v, "0") != 0;
}

ValidationCounts validation_counts() {
  std::lock_guard<std::mutex> lock(g_val_mutex);
  return g_val;
}

void forget_validation_errors(int n) {
  std::lock_guard<std::mutex> lock(g_val_mutex);
  g_val.errors -= n;
}

const char* shader_name(Shader s) {
  return kBlobs[static_cast<int>(s)].name;
}

// ---------------------------------------------------------------- Instance

std::shared_ptr<Instance> Instance::get(std::string& error) {
  std::lock_guard<std::mutex> lock(g_instance_mutex);
  if (g_instance)
    return g_instance;
  if (!g_instance_error.empty()) { // failures are final for the process
    error = g_instance_error;
    return nullptr;
  }
  auto fail = [&](std::string why) -> std::shared_ptr<Instance> {
    g_instance_error = error = std::move(why);
    return nullptr;
  };
  std::string lerr;
  if (!load_loader(lerr))
    return fail(lerr);
  Api& a = api();
  uint32_t version = VK_API_VERSION_1_0;
  if (a.vkEnumerateInstanceVersion)
    a.vkEnumerateInstanceVersion(&version);
  if (version < VK_API_VERSION_1_2)
    return fail("the Vulkan loader is version " + version_string(version) + " (1.2 required)");

  std::shared_ptr<Instance> inst(new Instance());
  std::vector<const char*> layers, extensions;
  VkValidationFeatureEnableEXT enables[] = {
      VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = enables;
  VkDebugUtilsMessengerCreateInfoEXT mci{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                        VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  mci.pfnUserCallback = on_message;
  if (validation_requested()) {
    uint32_t n = 0;
    a.vkEnumerateInstanceLayerProperties(&n, nullptr);
    std::vector<VkLayerProperties> props(n);
    a.vkEnumerateInstanceLayerProperties(&n, props.data());
    const bool found = std::any_of(props.begin(), props.end(), [](const VkLayerProperties& l) {
      return std::strcmp(l.layerName, "VK_LAYER_KHRONOS_validation") == 0;
    });
    if (found) {
      layers.push_back("VK_LAYER_KHRONOS_validation");
      extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
      extensions.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
      inst->validation = true;
      features.pNext = &mci;
    } else {
      inst->validation_notice =
          "validation requested but VK_LAYER_KHRONOS_validation is not installed "
          "(apt install vulkan-validationlayers)";
    }
  }
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "ITS Lab";
  app.pEngineName = "itslab";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  ci.enabledLayerCount = static_cast<uint32_t>(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  ci.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  ci.ppEnabledExtensionNames = extensions.data();
  if (inst->validation)
    ci.pNext = &features;
  const VkResult r = a.vkCreateInstance(&ci, nullptr, &inst->handle);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
    return fail("no Vulkan driver installed (VK_ERROR_INCOMPATIBLE_DRIVER)");
  if (r != VK_SUCCESS)
    return fail("vkCreateInstance failed: " + result_name(r));
  load_instance(inst->handle);
  load_device(inst->handle);
  if (inst->validation && a.vkCreateDebugUtilsMessengerEXT)
    a.vkCreateDebugUtilsMessengerEXT(inst->handle, &mci, nullptr, &inst->messenger_);

  uint32_t n = 0;
  a.vkEnumeratePhysicalDevices(inst->handle, &n, nullptr);
  inst->physical.resize(n);
  if (n)
    a.vkEnumeratePhysicalDevices(inst->handle, &n, inst->physical.data());
  inst->physical.resize(n);
  if (n == 0)
    return fail("no Vulkan device found");
  for (uint32_t i = 0; i < n; ++i)
    inst->devices.push_back(describe(inst->physical[i], i));
  g_instance = inst;
  return inst;
}

Instance::~Instance() {
  Api& a = api();
  if (messenger_)
    a.vkDestroyDebugUtilsMessengerEXT(handle, messenger_, nullptr);
  if (handle)
    a.vkDestroyInstance(handle, nullptr);
}

// ---------------------------------------------------------------- Device

std::shared_ptr<Device> Device::open(const std::string& selector, std::string& error) {
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
  if (auto it = g_devices.find(static_cast<uint32_t>(pick)); it != g_devices.end())
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
  // double arithmetic; GPUs run double at 1/2–1/64 rate, so by default only CPU-type devices
  // (lavapipe) use them. ITSLAB_VK_PRECISION=f32|f64 overrides.
  const char* prec = std::getenv("ITSLAB_VK_PRECISION");
  const std::string want = prec ? prec : "";
  d->f64 = d->f64_supported && (want == "f64" || (want != "f32" && d->info.rank == 3));

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
                ") was lost earlier in this process; use --backend cpu or restart");
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
  if (r == VK_ERROR_DEVICE_LOST) {
    lost = true;
    throw Error("vulkan: device lost while submitting work to " + info.name + " (run aborted)");
  }
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
    throw Error("vulkan: out of memory submitting work to " + info.name + " (" + result_name(r) +
                ")");
  check(r, "vkQueueSubmit");
}

void Device::wait(VkFence fence) {
  const VkResult r = api().vkWaitForFences(dev, 1, &fence, VK_TRUE, UINT64_MAX);
  if (r == VK_ERROR_DEVICE_LOST) {
    lost = true;
    throw Error("vulkan: device lost while running on " + info.name + " (run aborted)");
  }
  check(r, "vkWaitForFences");
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

// ---------------------------------------------------------------- Buffer

Buffer::Buffer(std::shared_ptr<Device> d, uint64_t bytes, bool host, bool map)
    : device(std::move(d)) {
  device->check_alive();
  Api& a = api();
  size = std::max<uint64_t>(bytes, 16);
  const auto mib = [](uint64_t b) { return std::to_string((b + (1 << 20) - 1) >> 20) + " MiB"; };
  if (device->max_alloc && size > device->max_alloc)
    throw Error("vulkan: out of device memory: " + mib(size) + " requested in one array, " +
                device->info.name + " allows at most " + mib(device->max_alloc));
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = size;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT |
              VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
              VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(a.vkCreateBuffer(device->dev, &bci, nullptr, &buf), "vkCreateBuffer");
  VkMemoryRequirements req{};
  a.vkGetBufferMemoryRequirements(device->dev, buf, &req);
  // memory type preference lists
  const VkMemoryPropertyFlags DL = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
                              HV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                              HC = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                              CA = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
  std::vector<VkMemoryPropertyFlags> prefs;
  const bool uma = device->info.rank == 1 || device->info.rank == 3;
  if (host)
    prefs = {HV | HC | CA, HV | HC};
  else if (uma)
    prefs = {DL | HV | HC, DL | HV, DL, HV | HC};
  else
    prefs = {DL, DL | HV, HV | HC};
  int type = -1;
  for (VkMemoryPropertyFlags want : prefs) {
    for (uint32_t i = 0; i < device->mem.memoryTypeCount && type < 0; ++i)
      if ((req.memoryTypeBits & (1u << i)) &&
          (device->mem.memoryTypes[i].propertyFlags & want) == want)
        type = static_cast<int>(i);
    if (type >= 0)
      break;
  }
  if (type < 0) {
    a.vkDestroyBuffer(device->dev, buf, nullptr);
    buf = VK_NULL_HANDLE;
    throw Error("vulkan: no suitable memory type on " + device->info.name);
  }
  const VkMemoryType& mt = device->mem.memoryTypes[type];
  const uint64_t heap = device->mem.memoryHeaps[mt.heapIndex].size;
  VkResult r = VK_ERROR_OUT_OF_DEVICE_MEMORY;
  if (req.size <= heap) {
    VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    mai.allocationSize = req.size;
    mai.memoryTypeIndex = static_cast<uint32_t>(type);
    r = a.vkAllocateMemory(device->dev, &mai, nullptr, &memory);
  }
  if (r != VK_SUCCESS) {
    a.vkDestroyBuffer(device->dev, buf, nullptr);
    buf = VK_NULL_HANDLE;
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
      throw Error("vulkan: out of device memory: could not allocate " + mib(req.size) + " on " +
                  device->info.name + " (heap " + mib(heap) + ")");
    check(r, "vkAllocateMemory");
  }
  check(a.vkBindBufferMemory(device->dev, buf, memory, 0), "vkBindBufferMemory");
  if ((mt.propertyFlags & HV) && (map || host)) {
    coherent = mt.propertyFlags & HC;
    const VkResult mr = a.vkMapMemory(device->dev, memory, 0, VK_WHOLE_SIZE, 0, &mapped);
    if (mr != VK_SUCCESS)
      mapped = nullptr; // falls back to staging
  }
}

VkBufferView Buffer::view(uint64_t offset, uint64_t range, uint32_t components) {
  std::lock_guard<std::mutex> lock(views_mutex_);
  const auto key = std::make_tuple(offset, range, components);
  if (const auto it = views_.find(key); it != views_.end())
    return it->second;
  VkBufferViewCreateInfo vci{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
  vci.buffer = buf;
  vci.format = components == 4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT;
  vci.offset = offset;
  vci.range = range;
  VkBufferView v = VK_NULL_HANDLE;
  check(api().vkCreateBufferView(device->dev, &vci, nullptr, &v), "vkCreateBufferView");
  views_.emplace(key, v);
  return v;
}

Buffer::~Buffer() {
  Api& a = api();
  for (const auto& [key, v] : views_)
    a.vkDestroyBufferView(device->dev, v, nullptr);
  if (mapped)
    a.vkUnmapMemory(device->dev, memory);
  if (buf)
    a.vkDestroyBuffer(device->dev, buf, nullptr);
  if (memory)
    a.vkFreeMemory(device->dev, memory, nullptr);
}

// ---------------------------------------------------------------- Recorder

Recorder::Recorder(std::shared_ptr<Device> device) : dev_(std::move(device)) {
  Api& a = api();
  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = dev_->family;
  check(a.vkCreateCommandPool(dev_->dev, &pci, nullptr, &pool_), "vkCreateCommandPool");
  for (Frame& f : frames_) {
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = pool_;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    check(a.vkAllocateCommandBuffers(dev_->dev, &ai, &f.cmd), "vkAllocateCommandBuffers");
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    check(a.vkCreateFence(dev_->dev, &fci, nullptr, &f.fence), "vkCreateFence");
    if (dev_->timestamp_bits) {
      VkQueryPoolCreateInfo qci{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
      qci.queryType = VK_QUERY_TYPE_TIMESTAMP;
      qci.queryCount = kMaxQueries + 1;
      check(a.vkCreateQueryPool(dev_->dev, &qci, nullptr, &f.queries), "vkCreateQueryPool");
    }
  }
}

Recorder::~Recorder() {
  Api& a = api();
  for (Frame& f : frames_)
    if (f.pending)
      a.vkWaitForFences(dev_->dev, 1, &f.fence, VK_TRUE, UINT64_MAX);
  for (Frame& f : frames_) {
    if (f.queries)
      a.vkDestroyQueryPool(dev_->dev, f.queries, nullptr);
    a.vkDestroyFence(dev_->dev, f.fence, nullptr);
  }
  a.vkDestroyCommandPool(dev_->dev, pool_, nullptr);
}

bool Recorder::idle() const {
  for (const Frame& f : frames_)
    if (f.pending || f.commands)
      return false;
  return true;
}

void Recorder::complete(Frame& f) {
  dev_->wait(f.fence);
  f.pending = false;
  if (!f.timed.empty()) {
    std::vector<uint64_t> ts(f.timed.size() + 1);
    const VkResult r = api().vkGetQueryPoolResults(
        dev_->dev, f.queries, 0, static_cast<uint32_t>(ts.size()), ts.size() * sizeof(uint64_t),
        ts.data(), sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r == VK_SUCCESS) {
      const uint64_t mask =
          dev_->timestamp_bits >= 64 ? ~0ull : ((1ull << dev_->timestamp_bits) - 1);
      for (size_t i = 0; i < f.timed.size(); ++i) {
        KernelTime& k = kernel_times[shader_name(f.timed[i])];
        k.calls++;
        k.ms += static_cast<double>((ts[i + 1] - ts[i]) & mask) *
                dev_->props.limits.timestampPeriod * 1e-6;
      }
    }
    f.timed.clear();
  }
  f.keep.clear();
  // oversized chunks (a large upload) are not kept for reuse
  f.chunks.erase(std::remove_if(f.chunks.begin(), f.chunks.end(),
                                [](const Chunk& c) { return c.buf->size > 4 * kChunkBytes; }),
                 f.chunks.end());
  for (Chunk& c : f.chunks)
    c.used = 0;
  f.param_bytes = 0;
}

void Recorder::open_frame() {
  Frame& f = frame();
  if (f.open)
    return;
  dev_->check_alive();
  if (f.pending)
    complete(f);
  Api& a = api();
  check(a.vkResetFences(dev_->dev, 1, &f.fence), "vkResetFences");
  check(a.vkResetCommandBuffer(f.cmd, 0), "vkResetCommandBuffer");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(a.vkBeginCommandBuffer(f.cmd, &bi), "vkBeginCommandBuffer");
  f.open = true;
  f.commands = 0;
  f.written.clear();
  f.read.clear();
  // Order against the previous submission on this queue, which may still be running.
  barrier(f);
  if (profiling && f.queries) {
    a.vkCmdResetQueryPool(f.cmd, f.queries, 0, kMaxQueries + 1);
    a.vkCmdWriteTimestamp(f.cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, f.queries, 0);
  }
}

void Recorder::barrier(Frame& f) {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                     VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  const VkPipelineStageFlags st =
      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  api().vkCmdPipelineBarrier(f.cmd, st, st, 0, 1, &mb, 0, nullptr, 0, nullptr);
  f.written.clear();
  f.read.clear();
}

// A barrier before a command that reads or writes what an earlier command since the last
// barrier wrote, or writes what one read (RAW, WAW, WAR); independent commands run unordered.
void Recorder::hazard(const std::vector<std::pair<VkBuffer, bool>>& access) {
  Frame& f = frame();
  const auto in = [](const std::vector<VkBuffer>& v, VkBuffer b) {
    return std::find(v.begin(), v.end(), b) != v.end();
  };
  if (!hazard_tracking)
    return;
  bool need = profiling; // timed kernels must not overlap
  for (const auto& [b, w] : access)
    if (in(f.written, b) || (w && in(f.read, b)))
      need = true;
  if (need && f.commands)
    barrier(f);
  for (const auto& [b, w] : access)
    (w ? f.written : f.read).push_back(b);
}

void Recorder::begin_op() {
  Frame& f = frame();
  if (f.open && (f.commands >= kMaxCommands || f.param_bytes >= kMaxParamBytes ||
                 (profiling && f.timed.size() + 2 >= kMaxQueries)))
    submit_frame(false);
  open_frame();
}

Param Recorder::param(uint64_t bytes) {
  open_frame();
  Frame& f = frame();
  const uint64_t align =
      std::max({uint64_t{256}, dev_->props.limits.minStorageBufferOffsetAlignment,
                dev_->props.limits.minUniformBufferOffsetAlignment});
  bytes = (bytes + align - 1) / align * align;
  for (Chunk& c : f.chunks)
    if (c.used + bytes <= c.buf->size) {
      Param p{c.buf, c.used, static_cast<char*>(c.buf->mapped) + c.used};
      c.used += bytes;
      f.param_bytes += bytes;
      return p;
    }
  Chunk c{std::make_shared<Buffer>(dev_, std::max(kChunkBytes, bytes), true), bytes};
  if (!c.buf->mapped)
    throw Error("vulkan: cannot map parameter memory on " + dev_->info.name);
  f.chunks.push_back(c);
  f.param_bytes += bytes;
  return {c.buf, 0, c.buf->mapped};
}

void Recorder::dispatch(Shader s, const std::vector<uint32_t>& spec, const std::vector<Bind>& binds,
                        const void* push, uint32_t push_bytes, uint64_t invocations, uint32_t wg) {
  if (invocations == 0)
    return;
  open_frame();
  Frame& f = frame();
  Api& a = api();
  const Pipeline& p = dev_->pipeline(s, wg, spec);
  std::vector<std::pair<VkBuffer, bool>> access;
  access.reserve(binds.size());
  for (const Bind& b : binds)
    access.emplace_back(b.buf->buf, b.write);
  hazard(access);
  a.vkCmdBindPipeline(f.cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipe);
  VkDescriptorBufferInfo info[Device::kAllBindings];
  VkBufferView views[Device::kAllBindings];
  VkWriteDescriptorSet w[Device::kAllBindings];
  const uint32_t nb = static_cast<uint32_t>(binds.size());
  if (nb > Device::kAllBindings)
    throw Error("vulkan: too many bindings for one kernel");
  uint32_t storage = 0, texel = 0;
  for (uint32_t i = 0; i < nb; ++i) {
    const Bind& bd = binds[i];
    info[i] = {bd.buf->buf, bd.offset, bd.range ? bd.range : VK_WHOLE_SIZE};
    w[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    w[i].descriptorCount = 1;
    if (bd.texel) {
      views[i] = bd.buf->view(bd.offset, bd.range ? bd.range : bd.buf->size - bd.offset, bd.texel);
      w[i].dstBinding = Device::kFirstTexelBinding + texel++;
      w[i].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
      w[i].pTexelBufferView = &views[i];
    } else {
      w[i].dstBinding = bd.uniform ? Device::kUniformBinding : storage++;
      w[i].descriptorType =
          bd.uniform ? VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      w[i].pBufferInfo = &info[i];
    }
  }
  a.vkCmdPushDescriptorSetKHR(f.cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, nb, w);
  if (push_bytes)
    a.vkCmdPushConstants(f.cmd, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  const uint64_t groups = (invocations + wg - 1) / wg;
  const uint64_t gx = std::min<uint64_t>(groups, 65535);
  const uint64_t gy = (groups + gx - 1) / gx;
  if (gy > 65535)
    throw Error("vulkan: dispatch of " + std::to_string(invocations) + " invocations is too large");
  a.vkCmdDispatch(f.cmd, static_cast<uint32_t>(gx), static_cast<uint32_t>(gy), 1);
  for (const Bind& b : binds)
    f.keep.push_back(b.buf);
  f.commands++;
  if (profiling && f.queries) {
    f.timed.push_back(s);
    a.vkCmdWriteTimestamp(f.cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, f.queries,
                          static_cast<uint32_t>(f.timed.size()));
  }
}

void Recorder::copy(const BufferPtr& src, uint64_t src_off, const BufferPtr& dst, uint64_t dst_off,
                    uint64_t bytes) {
  if (bytes == 0)
    return;
  open_frame();
  Frame& f = frame();
  hazard({{src->buf, false}, {dst->buf, true}});
  VkBufferCopy region{src_off, dst_off, bytes};
  api().vkCmdCopyBuffer(f.cmd, src->buf, dst->buf, 1, &region);
  f.keep.push_back(src);
  f.keep.push_back(dst);
  f.commands++;
}

void Recorder::zero(const BufferPtr& dst) {
  open_frame();
  Frame& f = frame();
  hazard({{dst->buf, true}});
  api().vkCmdFillBuffer(f.cmd, dst->buf, 0, VK_WHOLE_SIZE, 0);
  f.keep.push_back(dst);
  f.commands++;
}

void Recorder::submit_frame(bool wait) {
  Frame& f = frame();
  if (f.open) {
    Api& a = api();
    // results become visible to the host once the fence signals
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    a.vkCmdPipelineBarrier(f.cmd,
                           VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                           VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
    check(a.vkEndCommandBuffer(f.cmd), "vkEndCommandBuffer");
    f.open = false;
    if (f.commands == 0) {
      // nothing to run: the buffer is simply re-begun next time
      f.keep.clear();
      for (Chunk& c : f.chunks)
        c.used = 0;
      f.param_bytes = 0;
      f.timed.clear();
    } else {
      f.commands = 0;
      try {
        dev_->submit(f.cmd, f.fence);
      } catch (...) {
        f.keep.clear();
        f.timed.clear();
        throw;
      }
      f.pending = true;
      submissions++;
    }
  }
  if (wait) {
    for (Frame& g : frames_)
      if (g.pending)
        complete(g);
  } else {
    cur_ = 1 - cur_;
  }
}

void Recorder::sync() {
  submit_frame(true);
}

} // namespace itslab::vk
