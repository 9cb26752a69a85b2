// The process-wide Vulkan instance, validation messages and the description of each device.
#include "backend/vulkan/vk_context.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace itslab::vk {

namespace {

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

std::string version_string(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) +
         "." + std::to_string(VK_API_VERSION_PATCH(v));
}

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
} // namespace itslab::vk
