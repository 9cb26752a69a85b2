// The command recorder: dispatches, copies and barriers batched into few submissions.
#include "backend/vulkan/vk_context.hpp"

#include "core/error.hpp"

#include <algorithm>

namespace itslab::vk {

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
  if (held_)
    return false;
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
                 (profiling && f.timed.size() + 2 >= kMaxQueries))) {
    record_held(); // in the frame that holds its parameters
    submit_frame(false);
  }
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

// No buffer that one of the two dispatches writes is touched by the other, so they may run in
// either order.
static bool independent(const std::vector<Bind>& a, const std::vector<Bind>& b) {
  for (const Bind& x : a)
    for (const Bind& y : b)
      if (x.buf->buf == y.buf->buf && (x.write || y.write))
        return false;
  return true;
}

void Recorder::dispatch(Shader s, const std::vector<uint32_t>& spec, const std::vector<Bind>& binds,
                        const void* push, uint32_t push_bytes, uint64_t invocations, uint32_t wg) {
  // A dispatch independent of the held one goes first and the held one stays held, so that it
  // can still fuse with the op after (a solver step's noise between its denoiser and lincomb)
  if (held_ && !independent(held_->binds, binds))
    record_held();
  record(s, spec, binds, push, push_bytes, invocations, wg);
}

uint64_t Recorder::hold(Shader s, const std::vector<uint32_t>& spec, const std::vector<Bind>& binds,
                        const void* push, uint32_t push_bytes, uint64_t invocations, uint32_t wg) {
  record_held();
  const auto* bytes = static_cast<const uint8_t*>(push);
  held_ = Held{++held_ids_, s, spec, binds, {bytes, bytes + push_bytes}, invocations, wg};
  return held_ids_;
}

void Recorder::record_held() {
  if (!held_)
    return;
  const Held h = std::move(*held_);
  held_.reset();
  record(h.s, h.spec, h.binds, h.push.data(), static_cast<uint32_t>(h.push.size()), h.invocations,
         h.wg);
}

void Recorder::record(Shader s, const std::vector<uint32_t>& spec, const std::vector<Bind>& binds,
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
  record_held();
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
  record_held();
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
  record_held();
  submit_frame(true);
}
} // namespace itslab::vk
