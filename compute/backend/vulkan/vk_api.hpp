#pragma once
// The Vulkan C API without a link-time dependency on the loader: libvulkan.so.1 is opened at
// run time and every entry point ITS Lab uses is looked up into one table. Only the Vulkan
// backend's .cpp files include this header.
#define VK_NO_PROTOTYPES
#include <vulkan/vulkan_core.h>

#include <string>

namespace itslab::vk {

#define ITSLAB_VK_GLOBAL_FNS(X)                                                                    \
  X(vkCreateInstance)                                                                              \
  X(vkEnumerateInstanceVersion)                                                                    \
  X(vkEnumerateInstanceLayerProperties)                                                            \
  X(vkEnumerateInstanceExtensionProperties)

#define ITSLAB_VK_INSTANCE_FNS(X)                                                                  \
  X(vkDestroyInstance)                                                                             \
  X(vkEnumeratePhysicalDevices)                                                                    \
  X(vkGetPhysicalDeviceProperties)                                                                 \
  X(vkGetPhysicalDeviceProperties2)                                                                \
  X(vkGetPhysicalDeviceFeatures)                                                                   \
  X(vkGetPhysicalDeviceFeatures2)                                                                  \
  X(vkGetPhysicalDeviceQueueFamilyProperties)                                                      \
  X(vkGetPhysicalDeviceMemoryProperties)                                                           \
  X(vkEnumerateDeviceExtensionProperties)                                                          \
  X(vkCreateDevice)                                                                                \
  X(vkGetDeviceProcAddr)

#define ITSLAB_VK_DEBUG_FNS(X)                                                                     \
  X(vkCreateDebugUtilsMessengerEXT)                                                                \
  X(vkDestroyDebugUtilsMessengerEXT)

#define ITSLAB_VK_DEVICE_FNS(X)                                                                    \
  X(vkDestroyDevice)                                                                               \
  X(vkGetDeviceQueue)                                                                              \
  X(vkDeviceWaitIdle)                                                                              \
  X(vkCreateBuffer)                                                                                \
  X(vkDestroyBuffer)                                                                               \
  X(vkCreateBufferView)                                                                            \
  X(vkDestroyBufferView)                                                                           \
  X(vkGetBufferMemoryRequirements)                                                                 \
  X(vkAllocateMemory)                                                                              \
  X(vkFreeMemory)                                                                                  \
  X(vkBindBufferMemory)                                                                            \
  X(vkMapMemory)                                                                                   \
  X(vkUnmapMemory)                                                                                 \
  X(vkFlushMappedMemoryRanges)                                                                     \
  X(vkInvalidateMappedMemoryRanges)                                                                \
  X(vkCreateShaderModule)                                                                          \
  X(vkDestroyShaderModule)                                                                         \
  X(vkCreateDescriptorSetLayout)                                                                   \
  X(vkDestroyDescriptorSetLayout)                                                                  \
  X(vkCreatePipelineLayout)                                                                        \
  X(vkDestroyPipelineLayout)                                                                       \
  X(vkCreateComputePipelines)                                                                      \
  X(vkDestroyPipeline)                                                                             \
  X(vkCreateCommandPool)                                                                           \
  X(vkDestroyCommandPool)                                                                          \
  X(vkAllocateCommandBuffers)                                                                      \
  X(vkBeginCommandBuffer)                                                                          \
  X(vkEndCommandBuffer)                                                                            \
  X(vkResetCommandBuffer)                                                                          \
  X(vkCmdBindPipeline)                                                                             \
  X(vkCmdPushConstants)                                                                            \
  X(vkCmdPushDescriptorSetKHR)                                                                     \
  X(vkCmdDispatch)                                                                                 \
  X(vkCmdPipelineBarrier)                                                                          \
  X(vkCmdCopyBuffer)                                                                               \
  X(vkCmdFillBuffer)                                                                               \
  X(vkCmdWriteTimestamp)                                                                           \
  X(vkCreateQueryPool)                                                                             \
  X(vkDestroyQueryPool)                                                                            \
  X(vkCmdResetQueryPool)                                                                           \
  X(vkGetQueryPoolResults)                                                                         \
  X(vkCreateFence)                                                                                 \
  X(vkDestroyFence)                                                                                \
  X(vkWaitForFences)                                                                               \
  X(vkResetFences)                                                                                 \
  X(vkGetFenceStatus)                                                                              \
  X(vkQueueSubmit)

struct Api {
#define ITSLAB_VK_DECLARE(name) PFN_##name name = nullptr;
  ITSLAB_VK_GLOBAL_FNS(ITSLAB_VK_DECLARE)
  ITSLAB_VK_INSTANCE_FNS(ITSLAB_VK_DECLARE)
  ITSLAB_VK_DEBUG_FNS(ITSLAB_VK_DECLARE)
  ITSLAB_VK_DEVICE_FNS(ITSLAB_VK_DECLARE)
#undef ITSLAB_VK_DECLARE
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
};

// The process-wide table. load_loader() opens libvulkan once (false, with the reason in
// `error`, when it cannot); load_instance / load_device fill in the rest.
Api& api();
bool load_loader(std::string& error);
void load_instance(VkInstance instance);
// Device-level entry points of one device (every ITS Lab device shares one table; the loader's
// instance-level trampolines dispatch to the right driver, this only skips the trampoline).
void load_device(VkInstance instance);

// "VK_ERROR_OUT_OF_DEVICE_MEMORY" etc.
std::string result_name(VkResult r);

} // namespace itslab::vk
