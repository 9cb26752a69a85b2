#include "backend/backend.hpp"

#include "backend/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#ifdef ITSLAB_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.hpp"
#endif

#include <atomic>
#include <cstdlib>

namespace itslab {

std::vector<std::string> backend_names() {
  return {"auto", "cpu", "vulkan"};
}

std::string check_backend_spec(const std::string& spec) {
  if (spec == "auto" || spec == "cpu" || spec == "vulkan")
    return "";
  if (spec.rfind("vulkan:", 0) == 0 && spec.size() > 7)
    return "";
  if (spec == "vulkan:")
    return "'vulkan:' needs a device after the colon (an index, a type or part of the name)";
  return "unknown backend '" + spec +
         "' (expected auto, cpu, vulkan or vulkan:<device>, e.g. vulkan:0 or vulkan:nvidia)";
}

namespace {
std::string effective_spec(const std::string& spec) {
  if (spec == "auto")
    if (const char* e = std::getenv("ITSLAB_BACKEND"); e && *e && check_backend_spec(e).empty())
      return e;
  return spec;
}
} // namespace

BackendChoice make_backend(const std::string& requested, const std::string& device) {
  const std::string spec = effective_spec(requested);
  if (const std::string why = check_backend_spec(spec); !why.empty())
    throw Error("backend: " + why);
  if (spec == "cpu")
    return {std::make_unique<CpuBackend>(),
            device.empty() ? "" : "--device '" + device + "' ignored: the cpu backend has none"};
  std::string selector = device;
  if (selector.empty() && spec.size() > 7)
    selector = spec.substr(7);
  std::string reason;
#ifdef ITSLAB_HAVE_VULKAN
  try {
    return {std::make_unique<VulkanBackend>(selector), ""};
  } catch (const Error& e) {
    reason = e.what();
  }
#else
  reason = "this build has no Vulkan backend (configured with ITSLAB_VULKAN=OFF)";
#endif
  return {std::make_unique<CpuBackend>(), "Vulkan unavailable: " + reason + "; using cpu"};
}

std::vector<std::string> backend_report() {
  std::vector<std::string> lines;
  lines.push_back("cpu      " + CpuBackend().device());
#ifdef ITSLAB_HAVE_VULKAN
  const VulkanProbe p = probe_vulkan();
  if (p.devices.empty()) {
    lines.push_back("vulkan   unavailable: " + p.error);
  } else {
    lines.push_back(std::string("vulkan   ") + (p.available ? "" : "unavailable: ") +
                    std::to_string(p.devices.size()) + " device(s)" +
                    (p.validation ? ", validation layer on" : "") +
                    " (select with --device <index|type|name> or preset \"backend\": "
                    "\"vulkan:<device>\")");
    for (const VulkanDeviceSummary& d : p.devices)
      lines.push_back("  [" + std::to_string(d.index) + "] " + d.name + " — " + d.type +
                      ", Vulkan " + d.api + (d.driver.empty() ? "" : ", " + d.driver) + ", " +
                      std::to_string(d.heap_bytes >> 20) + " MiB" +
                      (d.usable ? "" : " — unusable: " + d.reason));
  }
#else
  lines.push_back("vulkan   unavailable: this build has no Vulkan backend (ITSLAB_VULKAN=OFF)");
#endif
  const BackendChoice a = make_backend("auto");
  lines.push_back("auto  -> " + a.backend->name() + " (" + a.backend->device() + ")" +
                  (a.notice.empty() ? "" : "; " + a.notice));
  return lines;
}

void check_reward_args(const Tensor& out, const Tensor& x, const RewardKernelParams& r) {
  using Kind = RewardKernelParams::Kind;
  if (out.rows() != x.rows() || out.cols() != 1)
    throw Error("reward: output must be [n, 1]");
  const int64_t d = x.cols();
  const auto need = [&](const std::vector<double>& v, const char* what) {
    if (static_cast<int64_t>(v.size()) != d)
      throw Error(std::string("reward: ") + what + " has " + std::to_string(v.size()) +
                  " entries, the particles " + std::to_string(d) + " dimensions");
  };
  need(r.a, r.kind == Kind::box ? "lo" : r.kind == Kind::linear ? "a" : "centre");
  if (r.kind == Kind::box)
    need(r.b, "hi");
  if ((r.kind == Kind::box || r.kind == Kind::disc) && !(r.temperature > 0))
    throw Error("reward: temperature must be > 0");
}

uint64_t Backend::next_serial() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

void check_time_embedding_args(const Tensor& y, const Tensor& t, const Tensor& freqs) {
  const int64_t n = t.rows(), half = freqs.size();
  if (t.cols() != 1)
    throw Error("time_embedding: t must be [n, 1]");
  if (half < 1)
    throw Error("time_embedding: no frequencies");
  if (y.rows() != n || y.cols() != 2 * half)
    throw Error("time_embedding: y must be [" + std::to_string(n) + ", " +
                std::to_string(2 * half) + "], is [" + std::to_string(y.rows()) + ", " +
                std::to_string(y.cols()) + "]");
}

} // namespace itslab
