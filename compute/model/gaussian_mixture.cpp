#include "model/gaussian_mixture.hpp"

#include "core/error.hpp"
#include "core/philox.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <set>

namespace itslab {

namespace {

std::string at(const std::string& field, size_t k) {
  return "gmm." + field + "[" + std::to_string(k) + "]";
}

void require_finite(double v, const std::string& where) {
  if (!std::isfinite(v))
    throw Error(where + ": must be a finite number");
}

double log_sum_exp(const Eigen::VectorXd& l, const std::vector<bool>* mask = nullptr) {
  double m = -std::numeric_limits<double>::infinity();
  for (Eigen::Index k = 0; k < l.size(); ++k)
    if (!mask || (*mask)[k])
      m = std::max(m, l[k]);
  if (!std::isfinite(m))
    return m;
  double s = 0;
  for (Eigen::Index k = 0; k < l.size(); ++k)
    if (!mask || (*mask)[k])
      s += std::exp(l[k] - m);
  return m + std::log(s);
}

} // namespace

GaussianMixture::GaussianMixture(std::string id, const GmmSpec& spec)
    : id_(std::move(id)), spec_(spec) {
  K_ = static_cast<int>(spec.weights.size());
  if (K_ == 0)
    throw Error("gmm.weights: needs at least one component");
  if (spec.means.size() != spec.weights.size())
    throw Error("gmm.means: has " + std::to_string(spec.means.size()) + " entries, weights " +
                std::to_string(K_));
  d_ = static_cast<int>(spec.means[0].size());
  if (d_ == 0)
    throw Error("gmm.means[0]: empty mean vector");
  const bool iso = !spec.stds.empty();
  if (iso == !spec.covariances.empty())
    throw Error("gmm: give exactly one of 'stds' and 'covariances'");
  if (iso && spec.stds.size() != spec.weights.size())
    throw Error("gmm.stds: has " + std::to_string(spec.stds.size()) + " entries, weights " +
                std::to_string(K_));
  if (!iso && spec.covariances.size() != spec.weights.size())
    throw Error("gmm.covariances: has " + std::to_string(spec.covariances.size()) +
                " entries, weights " + std::to_string(K_));
  if (!spec.labels.empty() && spec.labels.size() != spec.weights.size())
    throw Error("gmm.labels: has " + std::to_string(spec.labels.size()) + " entries, weights " +
                std::to_string(K_));

  double wsum = 0;
  for (size_t k = 0; k < spec.weights.size(); ++k) {
    require_finite(spec.weights[k], at("weights", k));
    if (spec.weights[k] < 0)
      throw Error(at("weights", k) + ": must be ≥ 0");
    wsum += spec.weights[k];
  }
  if (wsum <= 0)
    throw Error("gmm.weights: must not all be zero");

  params_.K = K_;
  params_.d = d_;
  for (int k = 0; k < K_; ++k) {
    const auto& mu = spec.means[k];
    if (static_cast<int>(mu.size()) != d_)
      throw Error(at("means", k) + ": has " + std::to_string(mu.size()) +
                  " coordinates, expected " + std::to_string(d_));
    for (size_t i = 0; i < mu.size(); ++i)
      require_finite(mu[i], at("means", k) + "[" + std::to_string(i) + "]");
    // A zero weight component contributes nothing but would give log w = −∞ in kernels.
    params_.log_w.push_back(spec.weights[k] > 0 ? std::log(spec.weights[k] / wsum)
                                                : -std::numeric_limits<double>::infinity());
    params_.mu.insert(params_.mu.end(), mu.begin(), mu.end());
    if (iso) {
      require_finite(spec.stds[k], at("stds", k));
      if (spec.stds[k] <= 0)
        throw Error(at("stds", k) + ": must be > 0");
      params_.lambda.insert(params_.lambda.end(), d_, spec.stds[k] * spec.stds[k]);
    } else {
      const auto& C = spec.covariances[k];
      Eigen::MatrixXd S(d_, d_);
      if (static_cast<int>(C.size()) != d_)
        throw Error(at("covariances", k) + ": must be " + std::to_string(d_) + "×" +
                    std::to_string(d_));
      for (int i = 0; i < d_; ++i) {
        if (static_cast<int>(C[i].size()) != d_)
          throw Error(at("covariances", k) + "[" + std::to_string(i) + "]: must have " +
                      std::to_string(d_) + " entries");
        for (int j = 0; j < d_; ++j) {
          require_finite(C[i][j], at("covariances", k) + "[" + std::to_string(i) + "][" +
                                      std::to_string(j) + "]");
          S(i, j) = C[i][j];
        }
      }
      if ((S - S.transpose()).cwiseAbs().maxCoeff() > 1e-9 * (1.0 + S.cwiseAbs().maxCoeff()))
        throw Error(at("covariances", k) + ": not symmetric");
      // One eigendecomposition serves every t: only λ̃ = α²λ + σ² changes (note §1.5).
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(S);
      if (es.eigenvalues().minCoeff() <= 1e-12 * std::max(1.0, es.eigenvalues().maxCoeff()))
        throw Error(at("covariances", k) + ": not positive definite (smallest eigenvalue " +
                    std::to_string(es.eigenvalues().minCoeff()) + ")");
      for (int i = 0; i < d_; ++i)
        params_.lambda.push_back(es.eigenvalues()[i]);
      for (int i = 0; i < d_; ++i)
        for (int j = 0; j < d_; ++j)
          params_.Q.push_back(es.eigenvectors()(i, j));
    }
    const int c = spec.labels.empty() ? -1 : spec.labels[k];
    if (!spec.labels.empty() && c < 0)
      throw Error(at("labels", k) + ": must be ≥ 0");
    params_.label.push_back(c);
  }
  if (!spec.labels.empty())
    num_classes_ = *std::max_element(spec.labels.begin(), spec.labels.end()) + 1;
}

void GaussianMixture::denoise(Backend& be, Tensor& x0, const Tensor& x, double,
                              const ProcessPoint& pt, int cls) const {
  be.gmm_denoise(x0, x, params_, pt.alpha, pt.sigma, cls);
}

Eigen::VectorXd GaussianMixture::component_mean(int k) const {
  return Eigen::Map<const Eigen::VectorXd>(&params_.mu[static_cast<size_t>(k) * d_], d_);
}

Eigen::MatrixXd GaussianMixture::component_covariance(int k) const {
  const Eigen::Map<const Eigen::VectorXd> lam(&params_.lambda[static_cast<size_t>(k) * d_], d_);
  if (!params_.full())
    return lam.asDiagonal();
  const Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>> Q(
      &params_.Q[static_cast<size_t>(k) * d_ * d_], d_, d_);
  return Q * lam.asDiagonal() * Q.transpose();
}

double GaussianMixture::class_weight(int c) const {
  double W = 0;
  for (int k = 0; k < K_; ++k)
    if (params_.label[k] == c)
      W += weight(k);
  return W;
}

GaussianMixture GaussianMixture::class_mixture(int c) const {
  GmmSpec sub;
  for (int k = 0; k < K_; ++k) {
    if (params_.label[k] != c)
      continue;
    sub.weights.push_back(spec_.weights[k]);
    sub.means.push_back(spec_.means[k]);
    if (!spec_.stds.empty())
      sub.stds.push_back(spec_.stds[k]);
    if (!spec_.covariances.empty())
      sub.covariances.push_back(spec_.covariances[k]);
    sub.labels.push_back(c);
  }
  if (sub.weights.empty())
    throw Error("model.class: class " + std::to_string(c) + " has no components");
  return GaussianMixture(id_ + " | class " + std::to_string(c), sub);
}

// ℓ_k = log w_k − (d/2) log 2π − ½ Σ log λ̃ − ½ Σ z²/λ̃ with z = Q_kᵀ(x − αμ_k) (note §1.1).
Eigen::VectorXd GaussianMixture::component_log_terms(const Eigen::VectorXd& x, double alpha,
                                                     double sigma) const {
  Eigen::VectorXd l(K_);
  for (int k = 0; k < K_; ++k) {
    Eigen::VectorXd r = x - alpha * component_mean(k);
    if (params_.full()) {
      const Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>> Q(
          &params_.Q[static_cast<size_t>(k) * d_ * d_], d_, d_);
      r = Q.transpose() * r;
    }
    double v = params_.log_w[k] - 0.5 * d_ * std::log(2.0 * std::numbers::pi);
    for (int i = 0; i < d_; ++i) {
      const double lt =
          alpha * alpha * params_.lambda[static_cast<size_t>(k) * d_ + i] + sigma * sigma;
      v -= 0.5 * (std::log(lt) + r[i] * r[i] / lt);
    }
    l[k] = v;
  }
  return l;
}

double GaussianMixture::log_prob(const Eigen::VectorXd& x, double alpha, double sigma,
                                 int cls) const {
  const Eigen::VectorXd l = component_log_terms(x, alpha, sigma);
  if (cls < 0)
    return log_sum_exp(l);
  std::vector<bool> mask(K_);
  for (int k = 0; k < K_; ++k)
    mask[k] = params_.label[k] == cls;
  return log_sum_exp(l, &mask) - std::log(class_weight(cls));
}

Eigen::VectorXd GaussianMixture::posterior_mean(const Eigen::VectorXd& x, double alpha,
                                                double sigma, int cls) const {
  const Eigen::VectorXd l = component_log_terms(x, alpha, sigma);
  std::vector<bool> mask(K_, true);
  if (cls >= 0)
    for (int k = 0; k < K_; ++k)
      mask[k] = params_.label[k] == cls;
  const double lse = log_sum_exp(l, &mask);
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(d_);
  for (int k = 0; k < K_; ++k) {
    if (!mask[k])
      continue;
    // m_k = μ_k + α Σ_k C_k⁻¹ (x − α μ_k), C_k = α² Σ_k + σ² I (note §1.2)
    const Eigen::MatrixXd S = component_covariance(k);
    const Eigen::MatrixXd C = alpha * alpha * S + sigma * sigma * Eigen::MatrixXd::Identity(d_, d_);
    const Eigen::VectorXd m =
        component_mean(k) + alpha * S * C.ldlt().solve(x - alpha * component_mean(k));
    mean += std::exp(l[k] - lse) * m;
  }
  return mean;
}

Eigen::VectorXd GaussianMixture::score(const Eigen::VectorXd& x, double alpha, double sigma,
                                       int cls) const {
  // Tweedie: ∇ log p_t = (α x̂0 − x)/σ² (note §1.2)
  return (alpha * posterior_mean(x, alpha, sigma, cls) - x) / (sigma * sigma);
}

double GaussianMixture::class_log_prob(const Eigen::VectorXd& x, double alpha, double sigma,
                                       int cls) const {
  const Eigen::VectorXd l = component_log_terms(x, alpha, sigma);
  std::vector<bool> mask(K_);
  for (int k = 0; k < K_; ++k)
    mask[k] = params_.label[k] == cls;
  return log_sum_exp(l, &mask) - log_sum_exp(l);
}

double GaussianMixture::mahalanobis2(const Eigen::VectorXd& x, int k) const {
  Eigen::VectorXd z = x - component_mean(k);
  if (params_.full()) {
    const Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>> Q(
        &params_.Q[static_cast<size_t>(k) * d_ * d_], d_, d_);
    z = Q.transpose() * z;
  }
  double q = 0;
  for (int i = 0; i < d_; ++i)
    q += z[i] * z[i] / params_.lambda[static_cast<size_t>(k) * d_ + i];
  return q;
}

Eigen::VectorXd GaussianMixture::mean() const {
  Eigen::VectorXd m = Eigen::VectorXd::Zero(d_);
  for (int k = 0; k < K_; ++k)
    m += weight(k) * component_mean(k);
  return m;
}

Eigen::MatrixXd GaussianMixture::covariance() const {
  const Eigen::VectorXd m = mean();
  Eigen::MatrixXd S = Eigen::MatrixXd::Zero(d_, d_);
  for (int k = 0; k < K_; ++k) {
    const Eigen::VectorXd mu = component_mean(k);
    S += weight(k) * (component_covariance(k) + mu * mu.transpose());
  }
  return S - m * m.transpose();
}

RowMatrixXf GaussianMixture::sample(int64_t n, uint64_t seed, uint32_t stream, int cls,
                                    std::vector<int>* component) const {
  // Inverse CDF on cumulative weights in double, last entry exactly 1 (note §2).
  std::vector<double> cdf(K_);
  double acc = 0;
  for (int k = 0; k < K_; ++k) {
    if (cls < 0 || params_.label[k] == cls)
      acc += weight(k);
    cdf[k] = acc;
  }
  if (acc <= 0)
    throw Error("sample: class " + std::to_string(cls) + " has no components");
  for (double& c : cdf)
    c /= acc;
  const int last = static_cast<int>(
      std::find_if(cdf.begin(), cdf.end(), [](double c) { return c >= 1.0 - 1e-15; }) -
      cdf.begin());
  cdf[last] = 1.0;

  RowMatrixXf X(n, d_);
  if (component)
    component->resize(static_cast<size_t>(n));
  std::vector<float> z(d_);
  for (int64_t i = 0; i < n; ++i) {
    const auto p = static_cast<uint32_t>(i);
    const double u = philox_uniform(seed, stream, 1, p, 0);
    const int k = std::min<int>(
        last, static_cast<int>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin()));
    if (component)
      (*component)[static_cast<size_t>(i)] = k;
    philox_normal_rows(seed, stream, 0, p, 1, static_cast<uint32_t>(d_), z.data());
    Eigen::VectorXd y(d_);
    for (int j = 0; j < d_; ++j)
      y[j] = std::sqrt(params_.lambda[static_cast<size_t>(k) * d_ + j]) * z[j];
    if (params_.full()) {
      const Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>> Q(
          &params_.Q[static_cast<size_t>(k) * d_ * d_], d_, d_);
      y = Q * y;
    }
    X.row(i) = (component_mean(k) + y).cast<float>().transpose();
  }
  return X;
}

} // namespace itslab
