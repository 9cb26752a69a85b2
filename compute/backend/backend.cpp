#include "backend/backend.hpp"

#include "backend/cpu/cpu_backend.hpp"
#include "core/error.hpp"

namespace itslab {

std::vector<std::string> backend_names() {
  return {"auto", "cpu", "vulkan"};
}

BackendChoice make_backend(const std::string& name) {
  if (name == "auto" || name == "cpu")
    return {std::make_unique<CpuBackend>(), ""};
  if (name == "vulkan")
    return {std::make_unique<CpuBackend>(),
            "vulkan backend is not built in this version; using cpu"};
  throw Error("backend: unknown backend '" + name + "' (expected auto, cpu or vulkan)");
}

} // namespace itslab
