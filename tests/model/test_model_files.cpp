// Bad model folders, built in a temporary directory from the shipped ones: every problem is an
// Error whose message names the file and the tensor, field or byte offset at fault.
#include "backend/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "io/safetensors.hpp"
#include "model/neural_model.hpp"
#include "test_util.hpp"

#include <QtTest>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>

using namespace itslab;
using itslab::test::error_of;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

class Folder {
public:
  // A copy of the bundled model `id`.
  explicit Folder(const std::string& id) : dir_(tmp_.path().toStdString() + "/" + id) {
    fs::copy(bundled_models_dir() + "/" + id, dir_, fs::copy_options::recursive);
  }
  const std::string& dir() const { return dir_; }
  std::string config() const { return dir_ + "/config.json"; }
  std::string weights() const { return dir_ + "/model.safetensors"; }

  void edit_config(const std::function<void(json&)>& f) const {
    json j = json::parse(read_file(config()));
    f(j);
    write_file_atomic(config(), j.dump(2));
  }
  // Rewrites the safetensors header (data untouched), padded with spaces to 8 bytes.
  void edit_header(const std::function<void(json&)>& f) const {
    const std::string bytes = read_file(weights());
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    json h = json::parse(bytes.substr(8, n));
    f(h);
    std::string text = h.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    const uint64_t n2 = text.size();
    std::string out(8, '\0');
    std::memcpy(out.data(), &n2, 8);
    write_file_atomic(weights(), out + text + bytes.substr(8 + n));
  }
  // Writes the tensors back through the reference writer after f may drop (return false) or
  // change them.
  void edit_tensors(const std::function<bool(const std::string&, std::vector<float>&)>& f) const {
    const SafetensorsFile file = SafetensorsFile::open(weights());
    std::vector<std::vector<float>> data;
    std::vector<SafetensorsTensorIn> kept;
    data.reserve(file.entries().size());
    for (const SafetensorsEntry& e : file.entries()) {
      data.push_back(file.to_f32(e));
      if (f(e.name, data.back()))
        kept.push_back({e.name, e.shape, data.back().data()});
    }
    write_safetensors(weights(), kept);
  }

private:
  QTemporaryDir tmp_;
  std::string dir_;
};

bool contains_all(const std::string& s, std::initializer_list<const char*> parts) {
  for (const char* p : parts)
    if (s.find(p) == std::string::npos)
      return false;
  return true;
}

#define EXPECT_ERROR(call, ...)                                                                    \
  do {                                                                                             \
    const std::string msg = error_of([&] { call; });                                               \
    QVERIFY2(!msg.empty(), "no error");                                                            \
    QVERIFY2(contains_all(msg, {__VA_ARGS__}), msg.c_str());                                       \
  } while (0)

void load_denoiser(const Folder& f) {
  NeuralModel::load(f.dir());
}

} // namespace

class TestModelFiles : public QObject {
  Q_OBJECT
private slots:
  void realFoldersLoad() {
    const Folder f("two-moons-flow");
    const auto m = NeuralModel::load(f.dir());
    QCOMPARE(m->id(), std::string("two-moons-flow"));
    QVERIFY(m->config().warnings.empty());
    // the config.json path inside the folder names the same model
    QCOMPARE(NeuralModel::load(f.config())->dim(), 2);
    EXPECT_ERROR(NeuralModel::load(f.dir() + "/nothing-here"), "nothing-here");
  }

  void truncatedWeights() {
    const Folder f("two-moons-flow");
    const std::string bytes = read_file(f.weights());
    write_file_atomic(f.weights(), bytes.substr(0, bytes.size() - 100));
    EXPECT_ERROR(load_denoiser(f), "model.safetensors", "truncated");
  }

  void headerLengthPastTheEnd() {
    const Folder f("two-moons-flow");
    std::string bytes = read_file(f.weights());
    const uint64_t n = bytes.size(); // fits the limit, but 8 + n runs past the end
    std::memcpy(bytes.data(), &n, 8);
    write_file_atomic(f.weights(), bytes);
    EXPECT_ERROR(load_denoiser(f), "model.safetensors", "byte 0", "past the end");
  }

  // Two tensors of one size on the same bytes (the weight's own bytes, after them, become the
  // gap the overlap is found before).
  void overlappingOffsets() {
    const Folder f("two-moons-flow");
    f.edit_header([](json& h) {
      h["blocks.0.norm.weight"]["data_offsets"] = h["blocks.0.norm.bias"]["data_offsets"];
    });
    EXPECT_ERROR(load_denoiser(f), "model.safetensors", "overlap");
  }

  // I32 has the width of F32, so the file is consistent; the model refuses the integer type.
  void wrongDtype() {
    const Folder f("two-moons-flow");
    f.edit_header([](json& h) { h["out.bias"]["dtype"] = "I32"; });
    EXPECT_ERROR(load_denoiser(f), "model.safetensors", "`out.bias`", "I32", "F32");
  }

  // Same number of values, transposed: only the shape check can see it.
  void wrongShape() {
    const Folder f("two-moons-flow");
    f.edit_header([](json& h) { h["inp.weight"]["shape"] = {2, 128}; });
    EXPECT_ERROR(load_denoiser(f), "model.safetensors", "`inp.weight`", "[2, 128]", "[128, 2]");
  }

  void missingTensor() {
    const Folder f("two-moons-flow");
    f.edit_tensors(
        [](const std::string& name, std::vector<float>&) { return name != "blocks.1.fc2.bias"; });
    EXPECT_ERROR(load_denoiser(f), "model.safetensors", "`blocks.1.fc2.bias`", "missing");
  }

  void nonFiniteWeights_data() {
    QTest::addColumn<float>("value");
    QTest::addColumn<QString>("word");
    QTest::newRow("NaN") << std::numeric_limits<float>::quiet_NaN() << "NaN";
    QTest::newRow("Inf") << -std::numeric_limits<float>::infinity() << "infinite";
  }
  void nonFiniteWeights() {
    QFETCH(float, value);
    QFETCH(QString, word);
    const Folder f("two-moons-flow");
    f.edit_tensors([&](const std::string& name, std::vector<float>& v) {
      if (name == "blocks.0.fc1.weight")
        v[5] = value;
      return true;
    });
    const std::string w = word.toStdString();
    EXPECT_ERROR(load_denoiser(f), "model.safetensors", "`blocks.0.fc1.weight`", w.c_str(),
                 "element 5");
  }

  void missingConfig() {
    const Folder f("two-moons-flow");
    fs::remove(f.config());
    EXPECT_ERROR(load_denoiser(f), "config.json");
  }

  void invalidConfigJson() {
    const Folder f("two-moons-flow");
    write_file_atomic(f.config(), "{\"format\": \"itslab.model/1\",");
    EXPECT_ERROR(load_denoiser(f), "config.json", "invalid JSON");
  }

  // Each edit breaks one field; the message names the file and that field.
  void invalidConfigFields_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("pointer"); // JSON pointer of the field to change or remove
    QTest::addColumn<QString>("value");   // JSON, or empty to remove the field
    QTest::addColumn<QString>("expected");
    QTest::newRow("wrong format") << "two-moons-flow"
                                  << "/format"
                                  << "\"itslab.model/2\""
                                  << "format: 'itslab.model/2' is not supported";
    QTest::newRow("format missing") << "two-moons-flow"
                                    << "/format"
                                    << ""
                                    << "format: required field missing";
    QTest::newRow("prediction missing") << "two-moons-vp"
                                        << "/prediction"
                                        << ""
                                        << "prediction: required field missing";
    QTest::newRow("prediction unknown") << "two-moons-vp"
                                        << "/prediction"
                                        << "\"noise\""
                                        << "prediction: 'noise' is not supported";
    QTest::newRow("width a string") << "two-moons-flow"
                                    << "/mlp/width"
                                    << "\"128\""
                                    << "mlp.width: must be an integer";
    QTest::newRow("eps missing") << "two-moons-flow"
                                 << "/mlp/layer_norm_eps"
                                 << ""
                                 << "mlp.layer_norm_eps: required field missing";
    QTest::newRow("process unknown") << "two-moons-flow"
                                     << "/process/type"
                                     << "\"ddpm\""
                                     << "process.type: 'ddpm' is not supported";
    QTest::newRow("process invalid") << "two-moons-vp"
                                     << "/process/beta_max"
                                     << "\"20\""
                                     << "process.beta_max: must be a number";
    QTest::newRow("temb order") << "two-moons-flow"
                                << "/time_embedding/order"
                                << "\"sin_cos\""
                                << "time_embedding.order: 'sin_cos' is not supported";
    QTest::newRow("temb dim odd") << "two-moons-flow"
                                  << "/time_embedding/dim"
                                  << "63"
                                  << "time_embedding.dim: must be even";
    QTest::newRow("data_shape 2-D") << "two-moons-flow"
                                    << "/data_shape"
                                    << "[2, 2]"
                                    << "data_shape: must be [d] or [C, H, W]";
    QTest::newRow("architecture") << "two-moons-flow"
                                  << "/architecture"
                                  << "\"resnet\""
                                  << "architecture: 'resnet' is not supported";
    QTest::newRow("channels") << "fmnist-unet"
                              << "/unet/channels"
                              << "[32, 64]"
                              << "unet.channels: the U-Net has three levels";
    QTest::newRow("groups") << "fmnist-unet"
                            << "/unet/groups"
                            << "7"
                            << "unet.groups: 32 channels do not split into 7 groups";
    QTest::newRow("null class") << "fmnist-unet"
                                << "/null_class"
                                << "11"
                                << "null_class: 11 is out of range [0, 10]";
    QTest::newRow("class names") << "fmnist-unet"
                                 << "/class_names"
                                 << "[\"a\", \"b\"]"
                                 << "class_names: must be an array of num_classes (10)";
    QTest::newRow("features dim") << "fmnist-classifier"
                                  << "/features/dim"
                                  << ""
                                  << "features.dim: required field missing";
    QTest::newRow("reference tensor") << "fmnist-classifier"
                                      << "/features/reference/mu"
                                      << "\"fd.train.mu\""
                                      << "tensor `fd.train.mu` is missing";
  }
  void invalidConfigFields() {
    QFETCH(QString, model);
    QFETCH(QString, pointer);
    QFETCH(QString, value);
    QFETCH(QString, expected);
    const Folder f(model.toStdString());
    const json::json_pointer ptr(pointer.toStdString());
    f.edit_config([&](json& j) {
      if (value.isEmpty())
        j[ptr.parent_pointer()].erase(ptr.back());
      else
        j[ptr] = json::parse(value.toStdString());
    });
    const std::string e = expected.toStdString();
    if (model == "fmnist-classifier")
      EXPECT_ERROR(Classifier::load(f.dir()), "fmnist-classifier/", e.c_str());
    else
      EXPECT_ERROR(load_denoiser(f), "config.json: ", e.c_str());
  }

  void unknownFieldsWarn() {
    const Folder f("fmnist-unet");
    f.edit_config([](json& j) {
      j["colour"] = "blue";
      j["unet"]["dropout"] = 0.1;
    });
    const auto m = NeuralModel::load(f.dir());
    const std::vector<std::string>& w = m->config().warnings;
    QCOMPARE(w.size(), size_t{2});
    QVERIFY(contains_all(w[0] + w[1], {"colour: unknown field", "unet.dropout: unknown field"}));
  }

  void wrongArchitectureForTheLoader() {
    EXPECT_ERROR(NeuralModel::load(bundled_models_dir() + "/fmnist-classifier"), "config.json",
                 "architecture", "not a denoiser");
    EXPECT_ERROR(Classifier::load(bundled_models_dir() + "/fmnist-unet"), "config.json",
                 "architecture", "not a classifier");
  }

  // The F64 Fréchet statistics may not be turned into another shape either.
  void classifierReferenceShape() {
    const Folder f("fmnist-classifier");
    f.edit_header([](json& h) { h["fd.test.sigma"]["shape"] = {64, 256}; });
    EXPECT_ERROR(Classifier::load(f.dir()), "model.safetensors", "`fd.test.sigma`", "[64, 256]");
  }
};

QTEST_APPLESS_MAIN(TestModelFiles)
#include "test_model_files.moc"
