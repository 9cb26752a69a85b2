#include "backend/vulkan/vk_api.hpp"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>
#include <vector>

namespace itslab::vk {

namespace {
Api g_api;
void* g_lib = nullptr;
std::string g_error;
std::once_flag g_once;
} // namespace

Api& api() {
  return g_api;
}

bool load_loader(std::string& error) {
  std::call_once(g_once, [] {
    // ITSLAB_VK_LOADER names another loader library (tests use a missing one).
    const char* custom = std::getenv("ITSLAB_VK_LOADER");
    std::vector<std::string> names = {"libvulkan.so.1", "libvulkan.so"};
    if (custom && *custom)
      names = {custom};
    for (const std::string& name : names) {
      g_lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (g_lib)
        break;
    }
    if (!g_lib) {
      g_error = "Vulkan loader not found (" + names.front() + ")";
      return;
    }
    g_api.vkGetInstanceProcAddr =
        reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(g_lib, "vkGetInstanceProcAddr"));
    if (!g_api.vkGetInstanceProcAddr) {
      g_error = "libvulkan.so.1 has no vkGetInstanceProcAddr";
      return;
    }
#define ITSLAB_VK_LOAD(name)                                                                       \
  g_api.name = reinterpret_cast<PFN_##name>(g_api.vkGetInstanceProcAddr(nullptr, #name));
    ITSLAB_VK_GLOBAL_FNS(ITSLAB_VK_LOAD)
#undef ITSLAB_VK_LOAD
    if (!g_api.vkCreateInstance)
      g_error = "the Vulkan loader does not export vkCreateInstance";
  });
  error = g_error;
  return g_error.empty();
}

void load_instance(VkInstance instance) {
#define ITSLAB_VK_LOAD(name)                                                                       \
  g_api.name = reinterpret_cast<PFN_##name>(g_api.vkGetInstanceProcAddr(instance, #name));
  ITSLAB_VK_INSTANCE_FNS(ITSLAB_VK_LOAD)
  ITSLAB_VK_DEBUG_FNS(ITSLAB_VK_LOAD)
#undef ITSLAB_VK_LOAD
}

void load_device(VkInstance instance) {
#define ITSLAB_VK_LOAD(name)                                                                       \
  g_api.name = reinterpret_cast<PFN_##name>(g_api.vkGetInstanceProcAddr(instance, #name));
  ITSLAB_VK_DEVICE_FNS(ITSLAB_VK_LOAD)
#undef ITSLAB_VK_LOAD
}

std::string result_name(VkResult r) {
  switch (r) {
#define C(x)                                                                                       \
  case x:                                                                                          \
    return #x;
    C(VK_SUCCESS)
    C(VK_NOT_READY)
    C(VK_TIMEOUT)
    C(VK_INCOMPLETE)
    C(VK_ERROR_OUT_OF_HOST_MEMORY)
    C(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    C(VK_ERROR_INITIALIZATION_FAILED)
    C(VK_ERROR_DEVICE_LOST)
    C(VK_ERROR_MEMORY_MAP_FAILED)
    C(VK_ERROR_LAYER_NOT_PRESENT)
    C(VK_ERROR_EXTENSION_NOT_PRESENT)
    C(VK_ERROR_FEATURE_NOT_PRESENT)
    C(VK_ERROR_INCOMPATIBLE_DRIVER)
    C(VK_ERROR_TOO_MANY_OBJECTS)
    C(VK_ERROR_FORMAT_NOT_SUPPORTED)
    C(VK_ERROR_FRAGMENTED_POOL)
    C(VK_ERROR_UNKNOWN)
    C(VK_ERROR_OUT_OF_POOL_MEMORY)
    C(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    C(VK_ERROR_FRAGMENTATION)
#undef C
  default:
    return "VkResult " + std::to_string(static_cast<int>(r));
  }
}

} // namespace itslab::vk
