#pragma once
#include "backend/backend.hpp"
#include "metric/frechet.hpp"
#include "model/model.hpp"
#include "process/process.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace itslab {

class SafetensorsFile;

// config.json of an itslab.model/1 folder (docs/model-format.md), validated.
struct ModelConfig {
  std::string name;
  std::string architecture;    // mlp, unet or classifier
  std::vector<int> data_shape; // [d] or [C, H, W]
  bool is_image() const { return data_shape.size() == 3; }
  int dim() const;                             // product of data_shape
  ProcessParams process;                       // denoisers only
  Prediction prediction = Prediction::eps;     // denoisers only
  int temb_dim = 0;                            // time_embedding.dim
  double temb_scale = 1000;                    // τ = scale·t
  std::string temb_frequencies = "temb.freqs"; // tensor with f_k
  int num_classes = 0, null_class = -1;
  std::vector<std::string> class_names;
  double pixel_scale = 1, pixel_offset = 0; // x = pixel·scale + offset
  // mlp
  int width = 128, blocks = 3;
  Activation activation = Activation::silu;
  double layer_norm_eps = 1e-5;
  // unet
  std::vector<int> channels;
  int groups = 8, embedding = 128, attention_heads = 4;
  double group_norm_eps = 1e-5;
  // classifier: features for the Fréchet distance and the reference statistics' tensors
  int feature_dim = 0;
  std::string reference_mu, reference_sigma, reference_set;
  std::string trained_on;            // built-in mixture a 2-D model learned, or ""
  std::vector<std::string> warnings; // unknown fields, ignored
};

// Parses config.json text; Error names origin and the field ("config.json: unet.channels: …").
ModelConfig parse_model_config(const std::string& text, const std::string& origin);

// A model folder (config.json + model.safetensors) or the config.json path inside it.
struct ModelFiles {
  std::string config, weights;
};
ModelFiles model_files(const std::string& folder_or_config);

// Host copy of a network's weights (checked against the architecture: every expected tensor
// present with its shape, finite; Error names the tensor) and per-backend device copies.
class Weights {
public:
  Weights(const SafetensorsFile& file,
          const std::vector<std::pair<std::string, std::vector<int64_t>>>& expected);
  // The tensor on `be` as [rows, cols] (uploaded on first use; 1-D tensors as [1, n],
  // convolution kernels [Cout, Cin·k·k]).
  const Tensor& on(Backend& be, const std::string& name) const;
  const std::vector<float>& host(const std::string& name) const;

private:
  struct Entry {
    std::vector<float> data;
    int64_t rows, cols;
  };
  std::map<std::string, Entry> host_;
  mutable std::map<std::pair<uint64_t, std::string>, Tensor> device_;
};

// A trained denoiser network (mlp or unet) as a Model. denoise() maps the engine's process
// point to the time of the process the network was trained for with the same half log-SNR λ
// (x scaled by α'/α), runs the network and converts its prediction type to x̂0; so a model can
// be sampled with any process and schedule.
class NeuralModel final : public Model {
public:
  // Error names the file and the field or tensor at fault.
  static std::unique_ptr<NeuralModel> load(const std::string& folder_or_config);

  std::string id() const override;
  int dim() const override;
  int num_classes() const override;
  void denoise(Backend& be, Tensor& x0, const Tensor& x, double t, const ProcessPoint& pt,
               int cls) const override;

  const ModelConfig& config() const;
  const Process& process() const; // the one it was trained for
  const std::string& folder() const;
  // The raw network output at its own time t [n, 1]; y: one class per row (null_class for
  // none), empty for unconditional networks.
  void forward(Backend& be, Tensor& out, const Tensor& x, const Tensor& t,
               const std::vector<int64_t>& y) const;

  ~NeuralModel() override;

private:
  struct Impl;
  explicit NeuralModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The Fashion-MNIST classifier (architecture "classifier"): logits for rewards, penultimate
// features for the Fréchet distance, and the reference statistics shipped in its file.
class Classifier {
public:
  static std::unique_ptr<Classifier> load(const std::string& folder_or_config);

  const ModelConfig& config() const;
  int dim() const;
  int num_classes() const;
  // x [n, C·H·W] in model space (x = pixel·scale + offset) → logits [n, classes].
  void logits(Backend& be, Tensor& out, const Tensor& x) const;
  // → features [n, feature_dim].
  void features(Backend& be, Tensor& out, const Tensor& x) const;
  // → out [n, 1] = log p(c | x) = logits_c − logsumexp(logits).
  void log_prob(Backend& be, Tensor& out, const Tensor& x, int c) const;
  // Mean and covariance of the features of the reference set (e.g. the test set).
  const Gaussian& reference() const;

  ~Classifier();

private:
  struct Impl;
  explicit Classifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Folders of the models shipped in resources/models: found next to the executable's install
// prefix, in the source tree, or via ITSLAB_MODELS; "" when not found.
std::string bundled_models_dir();
// Ids ("two-moons-flow", "fmnist-unet", …) of the bundled models present.
std::vector<std::string> bundled_model_ids();

} // namespace itslab
