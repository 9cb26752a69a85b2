#include "reward/reward.hpp"

#include "core/error.hpp"
#include "model/neural_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace itslab {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

std::vector<float> download(Backend& be, const Tensor& x) {
  std::vector<float> h(static_cast<size_t>(x.size()));
  be.download(x, h.data());
  return h;
}

// linear, distance, region: one backend kernel, [n, 1] floats back to the host.
class KernelReward final : public Reward {
public:
  KernelReward(std::string type, RewardKernelParams p) : type_(std::move(type)), p_(std::move(p)) {}
  std::string type() const override { return type_; }
  void evaluate(Backend& be, const Tensor& x, std::vector<double>& out) const override {
    Tensor r = be.alloc(x.rows(), 1);
    be.reward(r, x, p_);
    const std::vector<float> h = download(be, r);
    out.assign(h.begin(), h.end());
  }

private:
  std::string type_;
  RewardKernelParams p_;
};

class MixtureReward final : public Reward {
public:
  MixtureReward(std::string type, GaussianMixture g, int cls)
      : type_(std::move(type)), g_(std::move(g)), cls_(cls) {}
  std::string type() const override { return type_; }
  void evaluate(Backend& be, const Tensor& x, std::vector<double>& out) const override {
    const std::vector<float> h = download(be, x);
    out.resize(static_cast<size_t>(x.rows()));
    if (type_ == "class_logprob")
      mixture_class_log_posterior(g_.kernel_params(), h.data(), x.rows(), 1, 0, cls_, out.data());
    else
      mixture_log_density(g_.kernel_params(), h.data(), x.rows(), 1, 0, -1, out.data());
  }

private:
  std::string type_;
  GaussianMixture g_;
  int cls_;
};

// log p(c | x) of a trained classifier, evaluated on the backend; x is first mapped from the
// sampled model's normalisation to the classifier's (both affine in the pixel value).
class ClassifierReward final : public Reward {
public:
  ClassifierReward(std::unique_ptr<Classifier> c, int cls, double pixel_scale, double pixel_offset)
      : c_(std::move(c)), cls_(cls) {
    // x_c = (x − offset)/scale · scale_c + offset_c
    a_ = c_->config().pixel_scale / pixel_scale;
    b_ = c_->config().pixel_offset - pixel_offset * a_;
  }
  std::string type() const override { return "classifier_logprob"; }
  void evaluate(Backend& be, const Tensor& x, std::vector<double>& out) const override {
    Tensor r = be.alloc(x.rows(), 1);
    if (a_ == 1 && b_ == 0) {
      c_->log_prob(be, r, x, cls_);
    } else {
      Tensor xc = be.alloc(x.rows(), x.cols()), b = be.alloc(x.rows(), x.cols());
      const std::vector<float> bh(static_cast<size_t>(x.size()), static_cast<float>(b_));
      be.upload(b, bh.data());
      be.lincomb(xc, {{&x, a_}, {&b, 1.0}});
      c_->log_prob(be, r, xc, cls_);
    }
    const std::vector<float> h = download(be, r);
    out.assign(h.begin(), h.end());
  }

private:
  std::unique_ptr<Classifier> c_;
  int cls_;
  double a_ = 1, b_ = 0;
};

class ExpressionReward final : public Reward {
public:
  explicit ExpressionReward(Expression e) : e_(std::move(e)) {}
  std::string type() const override { return "expression"; }
  void evaluate(Backend& be, const Tensor& x, std::vector<double>& out) const override {
    const std::vector<float> h = download(be, x);
    const int64_t n = x.rows(), d = x.cols();
    out.resize(static_cast<size_t>(n));
#pragma omp parallel for schedule(static) if (n > 2048)
    for (int64_t i = 0; i < n; ++i)
      out[i] = e_.eval(h.data() + i * d);
  }

private:
  Expression e_;
};

void need_dim(const std::vector<double>& v, const char* field, int dim) {
  if (static_cast<int>(v.size()) != dim)
    throw Error(std::string(field) + ": has " + std::to_string(v.size()) + " entries, the model " +
                std::to_string(dim) + " dimensions");
}

// Per-row log Σ_k∈mask exp ℓ_k(x) in double with a running maximum (note §1.1 of the
// gaussian-mixtures note): ℓ_k = log w_k − (d/2) log 2π − ½ Σ log λ̃ − ½ Σ z²/λ̃,
// z = Q_kᵀ(x − αμ_k), λ̃ = α²λ + σ².
struct Tables {
  std::vector<double> c, inv;
  Tables(const GmmKernelParams& g, double alpha, double sigma) {
    c.resize(g.K);
    inv.resize(static_cast<size_t>(g.K) * g.d);
    for (int k = 0; k < g.K; ++k) {
      double ck = g.log_w[k] - 0.5 * g.d * std::log(2 * std::numbers::pi);
      for (int i = 0; i < g.d; ++i) {
        const size_t j = static_cast<size_t>(k) * g.d + i;
        const double lt = alpha * alpha * g.lambda[j] + sigma * sigma;
        ck -= 0.5 * std::log(lt);
        inv[j] = 1 / lt;
      }
      c[k] = ck;
    }
  }
};

// Returns (log Σ over all components, log Σ over components of cls) for one row.
std::pair<double, double> row_lse(const GmmKernelParams& g, const Tables& tb, const float* x,
                                  double alpha, int cls) {
  const int d = g.d;
  double m_all = kNegInf, s_all = 0, m_c = kNegInf, s_c = 0;
  for (int k = 0; k < g.K; ++k) {
    if (!std::isfinite(g.log_w[k]))
      continue;
    const size_t off = static_cast<size_t>(k) * d;
    const double* mu = &g.mu[off];
    double l = tb.c[k];
    if (g.full()) {
      const double* Q = &g.Q[off * d];
      for (int i = 0; i < d; ++i) {
        double zi = 0;
        for (int j = 0; j < d; ++j)
          zi += Q[j * d + i] * (x[j] - alpha * mu[j]);
        l -= 0.5 * zi * zi * tb.inv[off + i];
      }
    } else {
      for (int i = 0; i < d; ++i) {
        const double zi = x[i] - alpha * mu[i];
        l -= 0.5 * zi * zi * tb.inv[off + i];
      }
    }
    auto acc = [l](double& m, double& s) {
      if (l > m) {
        s = s * std::exp(m - l) + 1;
        m = l;
      } else {
        s += std::exp(l - m);
      }
    };
    acc(m_all, s_all);
    if (cls >= 0 && g.label[k] == cls)
      acc(m_c, s_c);
  }
  const double all = std::isfinite(m_all) ? m_all + std::log(s_all) : kNegInf;
  const double c = std::isfinite(m_c) ? m_c + std::log(s_c) : kNegInf;
  return {all, c};
}

double class_log_weight(const GmmKernelParams& g, int cls) {
  double W = 0;
  for (int k = 0; k < g.K; ++k)
    if (g.label[k] == cls)
      W += std::exp(g.log_w[k]);
  return std::log(W);
}

} // namespace

std::vector<std::string> reward_types() {
  return {"none",          "linear",      "region",     "distance",
          "class_logprob", "log_density", "expression", "classifier_logprob"};
}

std::vector<double> Reward::evaluate_host(Backend& be, const RowMatrixXf& X) const {
  Tensor t = be.alloc(X.rows(), X.cols());
  be.upload(t, X.data());
  std::vector<double> out;
  evaluate(be, t, out);
  return out;
}

void mixture_log_density(const GmmKernelParams& g, const float* x, int64_t n, double alpha,
                         double sigma, int cls, double* out) {
  const Tables tb(g, alpha, sigma);
  const double lw = cls >= 0 ? class_log_weight(g, cls) : 0;
#pragma omp parallel for schedule(static) if (n > 1024)
  for (int64_t i = 0; i < n; ++i) {
    const auto [all, c] = row_lse(g, tb, x + i * g.d, alpha, cls);
    out[i] = cls >= 0 ? c - lw : all;
  }
}

void mixture_class_log_posterior(const GmmKernelParams& g, const float* x, int64_t n, double alpha,
                                 double sigma, int cls, double* out) {
  const Tables tb(g, alpha, sigma);
#pragma omp parallel for schedule(static) if (n > 1024)
  for (int64_t i = 0; i < n; ++i) {
    const auto [all, c] = row_lse(g, tb, x + i * g.d, alpha, cls);
    out[i] = std::isfinite(all) ? c - all : std::numeric_limits<double>::quiet_NaN();
  }
}

std::unique_ptr<Reward> make_reward(const RewardSpec& s, int dim) {
  using Kind = RewardKernelParams::Kind;
  if (s.type == "none")
    return nullptr;
  if (s.type == "linear") {
    need_dim(s.a, "a", dim);
    RewardKernelParams p;
    p.kind = Kind::linear;
    p.a = s.a;
    p.offset = s.b;
    return std::make_unique<KernelReward>("linear", p);
  }
  if (s.type == "distance") {
    need_dim(s.center, "center", dim);
    RewardKernelParams p;
    p.kind = Kind::distance;
    p.a = s.center;
    return std::make_unique<KernelReward>("distance", p);
  }
  if (s.type == "region") {
    if (!(s.temperature > 0))
      throw Error("temperature: must be > 0");
    RewardKernelParams p;
    p.temperature = s.temperature;
    if (s.shape == "box") {
      need_dim(s.lo, "lo", dim);
      need_dim(s.hi, "hi", dim);
      for (int i = 0; i < dim; ++i)
        if (!(s.hi[i] > s.lo[i]))
          throw Error("hi: must be > lo in every coordinate (coordinate " + std::to_string(i) +
                      ")");
      p.kind = Kind::box;
      p.a = s.lo;
      p.b = s.hi;
    } else if (s.shape == "disc") {
      need_dim(s.center, "center", dim);
      if (!(s.radius > 0))
        throw Error("radius: must be > 0");
      p.kind = Kind::disc;
      p.a = s.center;
      p.radius = s.radius;
    } else {
      throw Error("shape: must be 'box' or 'disc', got '" + s.shape + "'");
    }
    return std::make_unique<KernelReward>("region", p);
  }
  if (s.type == "class_logprob" || s.type == "log_density") {
    if (!s.mixture)
      throw Error("mixture: " + s.type + " needs a mixture");
    if (s.mixture->dim() != dim)
      throw Error("mixture: '" + s.mixture->id() + "' has " + std::to_string(s.mixture->dim()) +
                  " dimensions, the model " + std::to_string(dim));
    if (s.type == "class_logprob") {
      if (s.mixture->num_classes() == 0)
        throw Error("mixture: '" + s.mixture->id() + "' has no class labels");
      if (s.cls < 0 || s.cls >= s.mixture->num_classes())
        throw Error("class: '" + s.mixture->id() + "' has " +
                    std::to_string(s.mixture->num_classes()) + " classes, got class " +
                    std::to_string(s.cls));
    }
    return std::make_unique<MixtureReward>(s.type, *s.mixture, s.cls);
  }
  if (s.type == "classifier_logprob") {
    std::unique_ptr<Classifier> c;
    try {
      c = Classifier::load(s.classifier);
    } catch (const Error& e) {
      throw Error(std::string("classifier: ") + e.what());
    }
    if (c->dim() != dim)
      throw Error("classifier: '" + c->config().name + "' reads " + std::to_string(c->dim()) +
                  "-dimensional samples, the model makes " + std::to_string(dim));
    if (s.cls < 0 || s.cls >= c->num_classes())
      throw Error("class: the classifier has " + std::to_string(c->num_classes()) +
                  " classes, got class " + std::to_string(s.cls));
    if (!(s.pixel_scale != 0) || !std::isfinite(s.pixel_scale) || !std::isfinite(s.pixel_offset))
      throw Error("classifier: the model's normalisation is not invertible");
    return std::make_unique<ClassifierReward>(std::move(c), s.cls, s.pixel_scale, s.pixel_offset);
  }
  if (s.type == "expression") {
    try {
      return std::make_unique<ExpressionReward>(Expression(s.expr, dim));
    } catch (const Error& e) {
      throw Error(std::string("expr: ") + e.what());
    }
  }
  throw Error("type: unknown reward '" + s.type + "'");
}

} // namespace itslab
