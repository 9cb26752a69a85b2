#pragma once
#include "backend/gmm_params.hpp"
#include "core/host.hpp"
#include "model/model.hpp"

#include <Eigen/Core>
#include <optional>
#include <vector>

namespace itslab {

// An exact Gaussian mixture in any dimension: the ground truth of ITS Lab. Under any
// affine-Gaussian process its marginals p_t, posterior means, scores and class posteriors are
// closed forms (gaussian-mixtures note §1).
struct GmmSpec {
  std::vector<double> weights;            // [K], ≥ 0, normalised on construction
  std::vector<std::vector<double>> means; // [K][d]
  std::vector<double> stds;               // [K] isotropic, or empty
  std::vector<std::vector<std::vector<double>>> covariances; // [K][d][d], or empty
  std::vector<int> labels;                                   // [K] class per component, or empty
};

class GaussianMixture final : public Model {
public:
  // Validates the spec (shapes, finite values, positive definite covariances); the Error
  // names the offending field, e.g. "gmm.covariances[2]: not positive definite".
  GaussianMixture(std::string id, const GmmSpec& spec);

  std::string id() const override { return id_; }
  int dim() const override { return d_; }
  int num_components() const { return K_; }
  int num_classes() const override { return num_classes_; }
  void denoise(Backend& be, Tensor& x0, const Tensor& x, double t, const ProcessPoint& pt,
               int cls) const override;

  const GmmKernelParams& kernel_params() const { return params_; }
  const GmmSpec& spec() const { return spec_; }
  double weight(int k) const { return std::exp(params_.log_w[k]); }
  Eigen::VectorXd component_mean(int k) const;
  Eigen::MatrixXd component_covariance(int k) const;
  int label(int k) const { return params_.label[k]; }
  double class_weight(int c) const; // W_c = Σ_{k∈c} w_k
  // p0(x | c) as a mixture of its own: the components of class c, renormalised (note §1.3).
  GaussianMixture class_mixture(int c) const;

  // Exact quantities at one point x of x_t = αx0 + σε (double precision, host).
  // cls ≥ 0: the class-conditional mixture (components of that class, renormalised).
  double log_prob(const Eigen::VectorXd& x, double alpha, double sigma, int cls = -1) const;
  Eigen::VectorXd posterior_mean(const Eigen::VectorXd& x, double alpha, double sigma,
                                 int cls = -1) const;
  Eigen::VectorXd score(const Eigen::VectorXd& x, double alpha, double sigma, int cls = -1) const;
  // log p(c | x_t) (note §1.3), the exact classifier.
  double class_log_prob(const Eigen::VectorXd& x, double alpha, double sigma, int cls) const;
  // Per-component log terms ℓ_k(x) (note §1.1), including the 2π constant.
  Eigen::VectorXd component_log_terms(const Eigen::VectorXd& x, double alpha, double sigma) const;
  // Squared Mahalanobis distance of x to component k at t = 0.
  double mahalanobis2(const Eigen::VectorXd& x, int k) const;

  // Exact moments of p0: m = Σ w μ, S = Σ w (Σ + μμᵀ) − mmᵀ.
  Eigen::VectorXd mean() const;
  Eigen::MatrixXd covariance() const;
  // n exact samples of p0 (cls ≥ 0: of p0(·|c)), keyed by (seed, stream) so the set is
  // reproducible and its first rows do not depend on n. component, when given, receives the
  // component each sample was drawn from.
  RowMatrixXf sample(int64_t n, uint64_t seed, uint32_t stream, int cls = -1,
                     std::vector<int>* component = nullptr) const;

private:
  std::string id_;
  GmmSpec spec_;
  int K_ = 0, d_ = 0, num_classes_ = 0;
  GmmKernelParams params_;
};

std::vector<std::string> builtin_gmm_ids();
// Throws Error naming the id when unknown.
GaussianMixture builtin_gmm(const std::string& id);
// A one-line description of a built-in mixture (how it was constructed).
std::string builtin_gmm_description(const std::string& id);

} // namespace itslab
