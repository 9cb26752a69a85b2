// itslab-cli models / check-model: the bundled networks and a check of any model folder.
#include "commands.hpp"

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "model/neural_model.hpp"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

namespace itslab::cli {

namespace {

std::string shape_text(const std::vector<int>& s) {
  std::string t;
  for (int v : s)
    t += (t.empty() ? "" : "×") + std::to_string(v);
  return t;
}

// One line about a loaded network or classifier.
std::string describe(const ModelConfig& c) {
  std::string line = c.architecture + ", " + shape_text(c.data_shape);
  if (c.architecture != "classifier")
    line += ", " + c.process.type + ", predicts " + to_string(c.prediction);
  if (c.num_classes > 0)
    line += ", " + std::to_string(c.num_classes) + " classes";
  if (!c.trained_on.empty())
    line += ", trained on " + c.trained_on;
  return line;
}

const ModelConfig& load_any(const std::string& folder, std::unique_ptr<NeuralModel>& net,
                            std::unique_ptr<Classifier>& clf) {
  const ModelFiles f = model_files(folder);
  const ModelConfig c = parse_model_config(read_file(f.config), f.config);
  if (c.architecture == "classifier") {
    clf = Classifier::load(folder);
    return clf->config();
  }
  net = NeuralModel::load(folder);
  return net->config();
}

} // namespace

void add_models(CLI::App& app) {
  app.add_subcommand("models", "List the bundled neural models (preset: \"builtin\": \"nn/<id>\")")
      ->callback([] {
        const std::string dir = bundled_models_dir();
        if (dir.empty()) {
          std::cerr << "no bundled models found (set ITSLAB_MODELS to their folder)\n";
          set_exit_code(1);
          return;
        }
        for (const std::string& id : bundled_model_ids()) {
          std::unique_ptr<NeuralModel> net;
          std::unique_ptr<Classifier> clf;
          try {
            const ModelConfig& c = load_any(dir + "/" + id, net, clf);
            std::printf("nn/%-22s %s\n  %-24s %s\n", id.c_str(), c.name.c_str(), "",
                        describe(c).c_str());
          } catch (const Error& e) {
            std::printf("nn/%-22s unusable: %s\n", id.c_str(), e.what());
            set_exit_code(1);
          }
        }
      });

  auto folder = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand(
      "check-model",
      "Load a model folder (config.json + model.safetensors) and check every tensor");
  c->add_option("folder", *folder, "model folder or its config.json")->required();
  c->callback([folder] {
    try {
      std::unique_ptr<NeuralModel> net;
      std::unique_ptr<Classifier> clf;
      const ModelConfig& cfg = load_any(*folder, net, clf);
      for (const std::string& w : cfg.warnings)
        std::cerr << "warning: " << w << "\n";
      std::printf("%s: ok (%s; %s)\n", folder->c_str(), cfg.name.c_str(), describe(cfg).c_str());
    } catch (const Error& e) {
      std::cerr << e.what() << "\n";
      set_exit_code(1);
    }
  });
}

} // namespace itslab::cli
