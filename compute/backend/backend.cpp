#include "backend/backend.hpp"

#include "backend/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#ifdef ITSLAB_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.hpp"
#endif

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <string>

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

GmmStepTables::GmmStepTables(const GmmKernelParams& g, double alpha, double sigma, int cls) {
  const size_t kd = static_cast<size_t>(g.K) * g.d;
  c.resize(g.K);
  inv.resize(kd);
  gain.resize(kd);
  for (int k = 0; k < g.K; ++k) {
    if ((cls >= 0 && g.label[k] != cls) || !std::isfinite(g.log_w[k]))
      continue;
    active.push_back(k);
    double ck = g.log_w[k];
    for (int i = 0; i < g.d; ++i) {
      const size_t j = static_cast<size_t>(k) * g.d + i;
      const double lt = alpha * alpha * g.lambda[j] + sigma * sigma;
      ck -= 0.5 * std::log(lt);
      inv[j] = 1.0 / lt;
      gain[j] = alpha * g.lambda[j] / lt;
    }
    c[k] = ck;
  }
}

uint64_t Backend::next_serial() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  if (a.rows() != b.rows() || a.cols() != b.cols())
    throw Error(std::string(op) + ": shape mismatch [" + std::to_string(a.rows()) + ", " +
                std::to_string(a.cols()) + "] vs [" + std::to_string(b.rows()) + ", " +
                std::to_string(b.cols()) + "]");
}

void check_gemm_bias_act_args(const Tensor& y, const Tensor& x, const Tensor& W, const Tensor& b) {
  const int64_t n = x.rows(), in = x.cols(), out = W.rows();
  if (W.cols() != in)
    throw Error("gemm_bias_act: W is [" + std::to_string(W.rows()) + ", " +
                std::to_string(W.cols()) + "], x has " + std::to_string(in) + " columns");
  if (b.rows() != 1 || b.cols() != out)
    throw Error("gemm_bias_act: b must be [1, " + std::to_string(out) + "]");
  if (y.rows() != n || y.cols() != out)
    throw Error("gemm_bias_act: y must be [" + std::to_string(n) + ", " + std::to_string(out) +
                "]");
  if (y.buffer() == x.buffer() || y.buffer() == W.buffer() || y.buffer() == b.buffer())
    throw Error("gemm_bias_act: y aliases an input");
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

// ---------------------------------------------------------------- neural-network layers

namespace {

std::string dims(int64_t rows, int64_t cols) {
  return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}

std::string image(ImageShape s) {
  return std::to_string(s.c) + "×" + std::to_string(s.h) + "×" + std::to_string(s.w);
}

void need_shape(const Tensor& t, int64_t rows, int64_t cols, const char* op, const char* name) {
  if (t.rows() != rows || t.cols() != cols)
    throw Error(std::string(op) + ": " + name + " must be " + dims(rows, cols) + ", is " +
                dims(t.rows(), t.cols()));
}

void need_distinct(const Tensor& y, const Tensor& x, const char* op, const char* name) {
  if (y.buffer() == x.buffer())
    throw Error(std::string(op) + ": the output aliases " + name);
}

void need_image(const Tensor& x, ImageShape s, const char* op) {
  if (s.c < 1 || s.h < 1 || s.w < 1)
    throw Error(std::string(op) + ": image shape " + image(s) + " is empty");
  if (x.cols() != s.size())
    throw Error(std::string(op) + ": rows of " + std::to_string(x.cols()) +
                " values do not hold a " + image(s) + " image");
}

} // namespace

void check_layer_norm_args(const Tensor& y, const Tensor& x, const Tensor& gamma,
                           const Tensor& beta) {
  const int64_t n = x.rows(), d = x.cols();
  if (d < 1)
    throw Error("layer_norm: x has no columns");
  need_shape(y, n, d, "layer_norm", "y");
  need_shape(gamma, 1, d, "layer_norm", "gamma");
  need_shape(beta, 1, d, "layer_norm", "beta");
  need_distinct(y, x, "layer_norm", "x");
}

void check_group_norm_args(const Tensor& y, const Tensor& x, ImageShape s, int groups,
                           const Tensor& gamma, const Tensor& beta) {
  need_image(x, s, "group_norm");
  if (groups < 1 || s.c % groups != 0)
    throw Error("group_norm: " + std::to_string(s.c) + " channels do not split into " +
                std::to_string(groups) + " groups");
  need_shape(y, x.rows(), x.cols(), "group_norm", "y");
  need_shape(gamma, 1, s.c, "group_norm", "gamma");
  need_shape(beta, 1, s.c, "group_norm", "beta");
  need_distinct(y, x, "group_norm", "x");
}

ImageShape check_conv2d_args(const Tensor& y, const Tensor& x, ImageShape s, const Tensor& W,
                             const Tensor& b, int k, int stride, int pad, const Tensor* row_bias) {
  need_image(x, s, "conv2d");
  if (k < 1 || stride < 1 || pad < 0)
    throw Error("conv2d: kernel " + std::to_string(k) + ", stride " + std::to_string(stride) +
                ", padding " + std::to_string(pad) + " (need k ≥ 1, stride ≥ 1, padding ≥ 0)");
  if (s.h + 2 * pad < k || s.w + 2 * pad < k)
    throw Error("conv2d: a " + std::to_string(k) + "×" + std::to_string(k) +
                " kernel does not fit a padded " + std::to_string(s.h) + "×" + std::to_string(s.w) +
                " image");
  const ImageShape o{static_cast<int>(W.rows()), (s.h + 2 * pad - k) / stride + 1,
                     (s.w + 2 * pad - k) / stride + 1};
  const int64_t n = x.rows(), K = int64_t(s.c) * k * k;
  if (W.cols() != K)
    throw Error("conv2d: W is " + dims(W.rows(), W.cols()) + ", a " + std::to_string(k) + "×" +
                std::to_string(k) + " kernel over " + std::to_string(s.c) + " channels needs " +
                std::to_string(K) + " columns");
  need_shape(b, 1, W.rows(), "conv2d", "b");
  need_shape(y, n, W.rows() * o.h * o.w, "conv2d", "y");
  if (row_bias)
    need_shape(*row_bias, n, W.rows(), "conv2d", "row_bias");
  need_distinct(y, x, "conv2d", "x");
  need_distinct(y, W, "conv2d", "W");
  need_distinct(y, b, "conv2d", "b");
  if (row_bias)
    need_distinct(y, *row_bias, "conv2d", "row_bias");
  return o;
}

void check_upsample2_args(const Tensor& y, const Tensor& x, ImageShape s) {
  need_image(x, s, "upsample2");
  need_shape(y, x.rows(), 4 * s.size(), "upsample2", "y");
  need_distinct(y, x, "upsample2", "x");
}

void check_maxpool2_args(const Tensor& y, const Tensor& x, ImageShape s) {
  need_image(x, s, "maxpool2");
  need_shape(y, x.rows(), int64_t(s.c) * (s.h / 2) * (s.w / 2), "maxpool2", "y");
  need_distinct(y, x, "maxpool2", "x");
}

void check_concat_cols_args(const Tensor& y, const Tensor& a, const Tensor& b) {
  const int64_t n = a.rows();
  if (b.rows() != n)
    throw Error("concat_cols: a has " + std::to_string(n) + " rows, b " + std::to_string(b.rows()));
  need_shape(y, n, a.cols() + b.cols(), "concat_cols", "y");
  need_distinct(y, a, "concat_cols", "a");
  need_distinct(y, b, "concat_cols", "b");
}

void check_activate_args(const Tensor& y, const Tensor& x) {
  need_shape(y, x.rows(), x.cols(), "activate", "y");
}

void check_attention_args(const Tensor& y, const Tensor& qkv, int channels, int heads,
                          int positions) {
  if (channels < 1 || heads < 1 || positions < 1 || channels % heads != 0)
    throw Error("attention: " + std::to_string(channels) + " channels do not split into " +
                std::to_string(heads) + " heads (or a count is < 1)");
  const int64_t n = qkv.rows(), cp = int64_t(channels) * positions;
  need_shape(qkv, n, 3 * cp, "attention", "qkv");
  need_shape(y, n, cp, "attention", "y");
  need_distinct(y, qkv, "attention", "qkv");
}

} // namespace itslab
