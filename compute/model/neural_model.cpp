#include "model/neural_model.hpp"

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "io/safetensors.hpp"
#include "model/net/nets.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <mutex>

namespace itslab {

namespace fs = std::filesystem;

Weights::Weights(const SafetensorsFile& file,
                 const std::vector<std::pair<std::string, std::vector<int64_t>>>& expected) {
  const std::string& origin = file.origin();
  for (const auto& [name, shape] : expected) {
    const SafetensorsEntry* e = file.find(name);
    if (!e)
      throw Error(origin + ": tensor `" + name + "` is missing (expected shape " +
                  shape_string(shape) + ")");
    if (e->dtype != "F32" && e->dtype != "F16" && e->dtype != "BF16" && e->dtype != "F64")
      throw Error(origin + ": tensor `" + name + "` has dtype " + e->dtype +
                  ", expected a float type (F32, F16, BF16 or F64)");
    if (e->shape != shape)
      throw Error(origin + ": tensor `" + name + "` has shape " + shape_string(e->shape) +
                  ", expected " + shape_string(shape));
    Entry en;
    en.data = file.to_f32(*e);
    for (size_t i = 0; i < en.data.size(); ++i)
      if (!std::isfinite(en.data[i]))
        throw Error(origin + ": tensor `" + name + "` holds " +
                    (std::isnan(en.data[i]) ? "NaN" : "an infinite value") + " at element " +
                    std::to_string(i) + " (byte " +
                    std::to_string(e->begin + i * (e->end - e->begin) / en.data.size()) +
                    " of the data buffer)");
    // [n] as one row; [rows, …] with the rest flattened (convolution kernels [Cout, Cin·k·k])
    en.rows = shape.size() < 2 ? 1 : shape[0];
    en.cols = en.rows == 0 ? 0 : static_cast<int64_t>(en.data.size()) / en.rows;
    host_.emplace(name, std::move(en));
  }
}

const std::vector<float>& Weights::host(const std::string& name) const {
  const auto it = host_.find(name);
  if (it == host_.end())
    throw Error("weights: no tensor `" + name + "`");
  return it->second.data;
}

const Tensor& Weights::on(Backend& be, const std::string& name) const {
  static std::mutex mutex; // device copies may be made from the engine and a metric thread
  const std::lock_guard lock(mutex);
  auto it = device_.find({be.serial(), name});
  if (it != device_.end())
    return it->second;
  const auto h = host_.find(name);
  if (h == host_.end())
    throw Error("weights: no tensor `" + name + "`");
  Tensor t = be.alloc(h->second.rows, h->second.cols);
  be.upload(t, h->second.data.data());
  return device_.emplace(std::make_pair(be.serial(), name), std::move(t)).first->second;
}

namespace {

struct Loaded {
  ModelFiles files;
  ModelConfig cfg;
  std::string folder;
};

Loaded read_config(const std::string& folder_or_config) {
  Loaded l;
  l.files = model_files(folder_or_config);
  l.cfg = parse_model_config(read_file(l.files.config), l.files.config);
  l.folder = fs::path(l.files.config).parent_path().string();
  return l;
}

// Scratch tensors per backend; a backend is used from one thread at a time, the map itself
// from any.
class ScratchSet {
public:
  net::Scratch& of(const Backend& be, int64_t batch) const {
    const std::lock_guard lock(mutex_);
    net::Scratch& s = sets_[be.serial()];
    s.begin(batch);
    return s;
  }

private:
  mutable std::mutex mutex_;
  mutable std::map<uint64_t, net::Scratch> sets_;
};

std::string dims(const Tensor& t) {
  return "[" + std::to_string(t.rows()) + ", " + std::to_string(t.cols()) + "]";
}

} // namespace

struct NeuralModel::Impl {
  ModelConfig cfg;
  std::string folder, id;
  std::unique_ptr<Process> process;
  Weights weights;
  ScratchSet scratch;

  Impl(Loaded l, const SafetensorsFile& file)
      : cfg(std::move(l.cfg)), folder(std::move(l.folder)),
        id(fs::path(folder).filename().string()), process(make_process(cfg.process)),
        weights(file, cfg.architecture == "mlp" ? net::mlp_tensors(cfg) : net::unet_tensors(cfg)) {}

  void run(Backend& be, Tensor& out, const Tensor& x, const Tensor& t,
           const std::vector<int64_t>& y) const {
    const net::Pass p{be, cfg, weights, scratch.of(be, x.rows())};
    if (cfg.architecture == "mlp")
      net::mlp_forward(p, out, x, t);
    else
      net::unet_forward(p, out, x, t, y);
  }
};

NeuralModel::NeuralModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NeuralModel::~NeuralModel() = default;

std::unique_ptr<NeuralModel> NeuralModel::load(const std::string& folder_or_config) {
  Loaded l = read_config(folder_or_config);
  if (l.cfg.architecture == "classifier")
    throw Error(l.files.config + ": architecture: a classifier is not a denoiser");
  const SafetensorsFile file = SafetensorsFile::open(l.files.weights);
  return std::unique_ptr<NeuralModel>(new NeuralModel(std::make_unique<Impl>(std::move(l), file)));
}

std::string NeuralModel::id() const {
  return impl_->id;
}
int NeuralModel::dim() const {
  return impl_->cfg.dim();
}
int NeuralModel::num_classes() const {
  return impl_->cfg.num_classes;
}
const ModelConfig& NeuralModel::config() const {
  return impl_->cfg;
}
const Process& NeuralModel::process() const {
  return *impl_->process;
}
const std::string& NeuralModel::folder() const {
  return impl_->folder;
}

void NeuralModel::forward(Backend& be, Tensor& out, const Tensor& x, const Tensor& t,
                          const std::vector<int64_t>& y) const {
  const ModelConfig& c = impl_->cfg;
  const int64_t n = x.rows();
  const std::string who = "model " + impl_->id + ": forward: ";
  if (x.cols() != c.dim() || out.rows() != n || out.cols() != c.dim())
    throw Error(who + "x and out must be [n, " + std::to_string(c.dim()) + "], are " + dims(x) +
                " and " + dims(out));
  if (t.rows() != n || t.cols() != 1)
    throw Error(who + "t must be [" + std::to_string(n) + ", 1], is " + dims(t));
  if (c.architecture == "mlp") {
    if (!y.empty())
      throw Error(who + "the network is unconditional, y must be empty");
    impl_->run(be, out, x, t, y);
    return;
  }
  if (y.empty()) {
    impl_->run(be, out, x, t, std::vector<int64_t>(static_cast<size_t>(n), c.null_class));
    return;
  }
  if (static_cast<int64_t>(y.size()) != n)
    throw Error(who + "y has " + std::to_string(y.size()) + " classes for " + std::to_string(n) +
                " rows");
  for (const int64_t k : y)
    if (k < 0 || k > c.num_classes)
      throw Error(who + "class " + std::to_string(k) + " is out of range [0, " +
                  std::to_string(c.num_classes) + "]");
  impl_->run(be, out, x, t, y);
}

void NeuralModel::denoise(Backend& be, Tensor& x0, const Tensor& x, double, const ProcessPoint& pt,
                          int cls) const {
  const ModelConfig& c = impl_->cfg;
  const Process& own = *impl_->process;
  const int64_t n = x.rows();
  if (x.cols() != c.dim() || x0.rows() != n || x0.cols() != c.dim())
    throw Error("model " + impl_->id + ": denoise: x and x0 must be [n, " +
                std::to_string(c.dim()) + "], are " + dims(x) + " and " + dims(x0));
  if (cls >= c.num_classes)
    throw Error("model " + impl_->id + ": class " + std::to_string(cls) +
                (c.num_classes == 0
                     ? " requested of an unconditional model"
                     : " is out of range [0, " + std::to_string(c.num_classes) + ")"));
  // The engine's point (α, σ) and the network's time t' share λ = log(α/σ), so
  // x' = (α'/α)·x = α'x0 + σ'ε is exactly a sample of the network's own process at t'.
  const double a = pt.alpha, s = pt.sigma;
  const double inf = std::numeric_limits<double>::infinity();
  const double lambda = s <= 0 ? inf : a <= 0 ? -inf : std::log(a) - std::log(s);
  // The network was trained on t' ∈ [0, 1]; noisier points (e.g. a VP network at a flow's
  // t = 1) are clamped to t' = 1 and matched by noise level σ'/σ instead of exactly.
  const bool beyond = lambda < own.lambda(1.0);
  const double tn = beyond ? 1.0 : std::clamp(own.t_of_lambda(lambda), 0.0, 1.0);
  const ProcessPoint mp = ProcessPoint::at(own, tn);
  // α'/α = σ'/σ when λ matches; the larger denominator is the better conditioned
  const double scale = !beyond && a >= s ? mp.alpha / a : mp.sigma / s;

  net::Scratch& sc = impl_->scratch.of(be, n);
  Tensor& xs = sc.get(be, "denoise.x", n, c.dim());
  Tensor& tt = sc.get(be, "denoise.t", 1, 1);
  Tensor& pred = sc.get(be, "denoise.pred", n, c.dim());
  const float tf = static_cast<float>(tn);
  be.upload(tt, &tf);
  be.lincomb(xs, {{&x, scale}});
  const std::vector<int64_t> y = c.architecture == "mlp" ? std::vector<int64_t>{}
                                 : cls < 0               ? std::vector<int64_t>{c.null_class}
                                                         : std::vector<int64_t>{cls};
  impl_->run(be, pred, xs, tt, y);
  // x̂0 = cx·x' + cy·prediction at the network's own point
  const auto [cx, cy] = x0_coefficients(c.prediction, mp);
  be.lincomb(x0, {{&x, cx * scale}, {&pred, cy}});
}

struct Classifier::Impl {
  ModelConfig cfg;
  Weights weights;
  Gaussian reference;
  ScratchSet scratch;

  Impl(Loaded l, const SafetensorsFile& file)
      : cfg(std::move(l.cfg)), weights(file, net::classifier_tensors(cfg)) {
    // Fréchet statistics in the double precision they were computed in
    const int F = cfg.feature_dim;
    const std::vector<double> mu = file.to_f64(*file.find(cfg.reference_mu));
    const std::vector<double> sigma = file.to_f64(*file.find(cfg.reference_sigma));
    reference.mean = Eigen::Map<const Eigen::VectorXd>(mu.data(), F);
    reference.cov = Eigen::Map<const RowMatrixXd>(sigma.data(), F, F);
    if (!reference.cov.isApprox(reference.cov.transpose(), 1e-9))
      throw Error(file.origin() + ": tensor `" + cfg.reference_sigma +
                  "` is not a symmetric covariance");
  }

  void check(const Tensor& x, const char* op) const {
    if (x.cols() != cfg.dim())
      throw Error("classifier: " + std::string(op) + ": x must be [n, " +
                  std::to_string(cfg.dim()) + "], is " + dims(x));
  }
};

Classifier::Classifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Classifier::~Classifier() = default;

std::unique_ptr<Classifier> Classifier::load(const std::string& folder_or_config) {
  Loaded l = read_config(folder_or_config);
  if (l.cfg.architecture != "classifier")
    throw Error(l.files.config + ": architecture: '" + l.cfg.architecture +
                "' is not a classifier");
  const SafetensorsFile file = SafetensorsFile::open(l.files.weights);
  return std::unique_ptr<Classifier>(new Classifier(std::make_unique<Impl>(std::move(l), file)));
}

const ModelConfig& Classifier::config() const {
  return impl_->cfg;
}
int Classifier::dim() const {
  return impl_->cfg.dim();
}
int Classifier::num_classes() const {
  return impl_->cfg.num_classes;
}
const Gaussian& Classifier::reference() const {
  return impl_->reference;
}

void Classifier::features(Backend& be, Tensor& out, const Tensor& x) const {
  impl_->check(x, "features");
  const net::Pass p{be, impl_->cfg, impl_->weights, impl_->scratch.of(be, x.rows())};
  net::classifier_forward(p, out, nullptr, x);
}

void Classifier::logits(Backend& be, Tensor& out, const Tensor& x) const {
  impl_->check(x, "logits");
  const net::Pass p{be, impl_->cfg, impl_->weights, impl_->scratch.of(be, x.rows())};
  Tensor& f = p.tmp("features", x.rows(), impl_->cfg.feature_dim);
  net::classifier_forward(p, f, &out, x);
}

void Classifier::log_prob(Backend& be, Tensor& out, const Tensor& x, int c) const {
  const int64_t n = x.rows(), K = impl_->cfg.num_classes;
  if (c < 0 || c >= K)
    throw Error("classifier: log_prob: class " + std::to_string(c) + " is out of range [0, " +
                std::to_string(K) + ")");
  if (out.rows() != n || out.cols() != 1)
    throw Error("classifier: log_prob: out must be [" + std::to_string(n) + ", 1], is " +
                dims(out));
  Tensor& lg = impl_->scratch.of(be, n).get(be, "log_prob.logits", n, K);
  logits(be, lg, x);
  // n × classes values: the log-sum-exp is done on the host in double
  std::vector<float> l(static_cast<size_t>(n * K)), r(static_cast<size_t>(n));
  be.download(lg, l.data());
  for (int64_t i = 0; i < n; ++i) {
    const float* li = l.data() + i * K;
    const double m = *std::max_element(li, li + K);
    double sum = 0;
    for (int64_t k = 0; k < K; ++k)
      sum += std::exp(li[k] - m);
    r[i] = static_cast<float>(li[c] - m - std::log(sum));
  }
  be.upload(out, r.data());
}

std::string bundled_models_dir() {
  const auto usable = [](const fs::path& p) {
    std::error_code ec;
    return !p.empty() && fs::is_directory(p, ec);
  };
  if (const char* env = std::getenv("ITSLAB_MODELS"); env && *env && usable(env))
    return env;
#ifdef ITSLAB_SOURCE_MODELS_DIR
  if (usable(ITSLAB_SOURCE_MODELS_DIR))
    return ITSLAB_SOURCE_MODELS_DIR;
#endif
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / "share" / "itslab" / "models";
    if (usable(installed))
      return installed.string();
  }
  return "";
}

std::vector<std::string> bundled_model_ids() {
  std::vector<std::string> ids;
  const std::string dir = bundled_models_dir();
  if (dir.empty())
    return ids;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec))
    if (e.is_directory() && fs::exists(e.path() / "config.json"))
      ids.push_back(e.path().filename().string());
  std::sort(ids.begin(), ids.end());
  return ids;
}

} // namespace itslab
