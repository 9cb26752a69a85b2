#include "metric/classifier_metrics.hpp"

#include "core/error.hpp"

#include <algorithm>

namespace itslab {

namespace {
constexpr int64_t kBatch = 512; // bounds device memory of the activations

// Runs f(rows r0.., batch tensor) over X in batches.
template <class F> void batched(Backend& be, const RowMatrixXf& X, F&& f) {
  for (int64_t r0 = 0; r0 < X.rows(); r0 += kBatch) {
    const int64_t m = std::min(kBatch, X.rows() - r0);
    Tensor x = be.alloc(m, X.cols());
    be.upload(x, X.data() + r0 * X.cols());
    f(r0, m, x);
  }
}
} // namespace

RowMatrixXf classifier_features(Backend& be, const Classifier& c, const RowMatrixXf& X) {
  if (X.cols() != c.dim())
    throw Error("classifier: samples have " + std::to_string(X.cols()) +
                " dimensions, the classifier reads " + std::to_string(c.dim()));
  const int64_t fd = c.config().feature_dim;
  RowMatrixXf F(X.rows(), fd);
  batched(be, X, [&](int64_t r0, int64_t m, const Tensor& x) {
    Tensor f = be.alloc(m, fd);
    c.features(be, f, x);
    be.download(f, F.data() + r0 * fd);
  });
  return F;
}

std::map<std::string, double> classifier_metrics(Backend& be, const Classifier& c,
                                                 const RowMatrixXf& X,
                                                 const std::vector<std::string>& names, int cls) {
  std::map<std::string, double> out;
  for (const std::string& name : names) {
    if (name == "fid") {
      check_sample_set("fid", "X", X);
      out["fid"] = frechet_distance(sample_moments(classifier_features(be, c, X)), c.reference());
    } else if (name == "class_accuracy") {
      if (cls < 0 || cls >= c.num_classes())
        throw Error("class_accuracy: class " + std::to_string(cls) + " is not one of the " +
                    std::to_string(c.num_classes()) + " classes");
      const int k = c.num_classes();
      int64_t hits = 0;
      batched(be, X, [&](int64_t, int64_t m, const Tensor& x) {
        Tensor l = be.alloc(m, k);
        c.logits(be, l, x);
        RowMatrixXf L(m, k);
        be.download(l, L.data());
        for (int64_t i = 0; i < m; ++i) {
          Eigen::Index arg = 0;
          L.row(i).maxCoeff(&arg);
          hits += arg == cls;
        }
      });
      out["class_accuracy"] = X.rows() > 0 ? static_cast<double>(hits) / X.rows() : 0.0;
    } else {
      throw Error("metrics: '" + name + "' is not a classifier metric");
    }
  }
  return out;
}

} // namespace itslab
