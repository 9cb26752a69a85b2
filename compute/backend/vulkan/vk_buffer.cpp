// Device buffers: allocation with a memory-type preference, mapping, and cached texel views.
#include "backend/vulkan/vk_context.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <string>

namespace itslab::vk {

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
} // namespace itslab::vk
