#pragma once
// Parity of a backend's forward passes with the PyTorch vectors in tests/data/models, shared by
// the backend suites: every bundled model, run through Backend ops, against
// tools/export_reference_vectors.py's outputs.
#include "backend/backend.hpp"
#include "core/file_io.hpp"
#include "io/npy.hpp"
#include "model/neural_model.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

namespace itslab::test {

struct ParityResult {
  std::string what;     // "two-moons-flow out", "fmnist-classifier features", …
  double max_error = 0; // max |ours − torch|
  double max_ref = 0;   // max |torch|
  bool ok() const { return max_error <= kRelTol * max_ref; }
  // Float32 ports reproduce these networks to ~1e-6 of the output scale (summation order of
  // dot products of up to 1152 terms through ~20 layers; the research note measured 4e-7 for
  // the MLP and 2e-6 for the U-Net); 1e-4 leaves that margin while any wrong layout, order or
  // formula shows up as an O(1) error.
  static constexpr double kRelTol = 1e-4;
};

inline std::string reference_dir(const std::string& id) {
  return std::string(ITSLAB_TEST_DATA) + "/models/" + id;
}

inline Tensor upload_matrix(Backend& be, const RowMatrixXf& m) {
  Tensor t = be.alloc(m.rows(), m.cols());
  be.upload(t, m.data());
  return t;
}

inline ParityResult compare(Backend& be, const Tensor& ours, const RowMatrixXf& ref,
                            const std::string& what) {
  RowMatrixXf got(ours.rows(), ours.cols());
  be.download(ours, got.data());
  ParityResult r{what};
  if (got.rows() != ref.rows() || got.cols() != ref.cols()) {
    r.max_error = std::numeric_limits<double>::infinity();
    return r;
  }
  r.max_error = (got - ref).cwiseAbs().maxCoeff();
  r.max_ref = ref.cwiseAbs().maxCoeff();
  return r;
}

// The bundled model `id` on `be` against its reference vectors: one result for a denoiser
// (out), two for the classifier (logits, features).
inline std::vector<ParityResult> neural_parity(Backend& be, const std::string& models_dir,
                                               const std::string& id) {
  const std::string dir = reference_dir(id);
  const RowMatrixXf x = read_npy(dir + "/x.npy");
  const RowMatrixXf out = read_npy(dir + "/out.npy");
  const Tensor xt = upload_matrix(be, x);
  const ModelConfig cfg =
      parse_model_config(read_file(models_dir + "/" + id + "/config.json"), id + "/config.json");
  if (cfg.architecture == "classifier") {
    const auto clf = Classifier::load(models_dir + "/" + id);
    Tensor logits = be.alloc(x.rows(), clf->num_classes());
    Tensor features = be.alloc(x.rows(), cfg.feature_dim);
    clf->logits(be, logits, xt);
    clf->features(be, features, xt);
    return {compare(be, logits, out, id + " logits"),
            compare(be, features, read_npy(dir + "/features.npy"), id + " features")};
  }
  const auto model = NeuralModel::load(models_dir + "/" + id);
  const Tensor t = upload_matrix(be, read_npy(dir + "/t.npy"));
  std::vector<int64_t> y;
  if (cfg.architecture == "unet") {
    const RowMatrixXf yf = read_npy(dir + "/y.npy");
    for (int64_t i = 0; i < yf.rows(); ++i)
      y.push_back(static_cast<int64_t>(yf(i, 0)));
  }
  Tensor result = be.alloc(x.rows(), model->dim());
  model->forward(be, result, xt, t, y);
  return {compare(be, result, out, id + " out")};
}

} // namespace itslab::test
