#pragma once
// ModelPanel: the "model" section of the parameters (built-in mixtures, bundled networks, a
// mixture file or a model folder, and the class).
#include <QMap>
#include <QWidget>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

class QComboBox;
class QLabel;
class QToolButton;

namespace itslab::gui {

class ErrorLabel; // form_helpers.hpp

// The "model" section: built-in mixtures grouped 2-D / high-D, the bundled trained networks
// ("nn/<id>"), an inline mixture from a file or a network from a model folder, and the class to
// condition on (named by the network's class names).
class ModelPanel : public QWidget {
  Q_OBJECT
public:
  explicit ModelPanel(QWidget* parent = nullptr);
  void setJson(const nlohmann::json& model); // no edited()
  nlohmann::json toJson() const;
  void setErrors(const QMap<QString, QString>& errors);
  QComboBox* modelBox() const { return model_; }
  QComboBox* classBox() const { return class_; }
  QToolButton* openButton() const { return open_; }
  QLabel* descriptionLabel() const { return description_; }
  // The red problem line under the section ("" when hidden).
  QString errorText() const;
  // Reads a mixture (a preset's model.gmm, or a bare {weights, means, …} object) from a file;
  // false with a message when it is not one.
  bool openMixtureFile(const QString& path, QString* error);
  // Loads a network folder (config.json + model.safetensors) and checks every field and tensor;
  // on success it becomes the model (model.path). On failure the problem, naming the field or
  // tensor, is shown under the section and the panel keeps its model. No edited() either way.
  bool openModelFolder(const QString& path);

signals:
  // The user chose another model; `network`: whether it or the one before is a trained network
  // (whose default metrics differ from a mixture's). Precedes the edited() of the change.
  void modelChanged(bool network);
  void edited(bool continuous);

private:
  struct Network {
    int dim = 0, classes = 0;
    std::vector<std::string> class_names;
    QString description, error;
  };
  void refreshClasses(int keep);
  void selectSpecial(const QString& data, const QString& text);
  const Network* currentNetwork() const;
  QComboBox* model_ = nullptr;
  QComboBox* class_ = nullptr;
  QToolButton* open_ = nullptr;
  QLabel* description_ = nullptr;
  ErrorLabel* error_ = nullptr;
  nlohmann::json inline_;                           // the inline mixture, when one is loaded
  std::map<std::string, std::pair<int, int>> info_; // builtin → (dim, classes)
  std::map<std::string, Network> networks_;         // "nn/<id>" → its configuration
  QString folder_;                                  // model.path, when a folder is the model
  Network folderNet_;
  QString lastId_; // the model before the current one (for modelChanged)
};

} // namespace itslab::gui
