#pragma once
#include <QMap>
#include <QWidget>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSlider;
class QSpinBox;
class QToolButton;

namespace itslab::gui {

// Shows the messages of a section under it, red, or hides itself when there are none.
class ErrorLabel;

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

class ComponentForm;

// The "particles" section: the count on a logarithmic slider (1 … 1M) with an exact spin box,
// the particle method and its parameters (a ComponentForm over particle_method_specs(), whose
// "type" is the preset's particles.method) and the compute budget in NFE.
class ParticlesPanel : public QWidget {
  Q_OBJECT
public:
  explicit ParticlesPanel(QWidget* parent = nullptr);
  void setJson(const nlohmann::json& particles);
  nlohmann::json toJson() const;
  void setErrors(const QMap<QString, QString>& errors);
  QSlider* slider() const { return slider_; }
  QSpinBox* countBox() const { return count_; }
  static int sliderPosition(int64_t count); // round(100·log10 N)
  static int64_t countAt(int position);     // round(10^(position/100))
  ComponentForm* methodForm() const { return method_; }
  // Model evaluations per particle of the last finished run (search iterations and CFG
  // included); the budget read-out is N times this. 0 = not known yet.
  void setNfePerParticle(double nfe);
  QLabel* budgetLabel() const { return budget_; }

signals:
  void edited(bool continuous);

private:
  void updateBudget();
  QSlider* slider_ = nullptr;
  QSpinBox* count_ = nullptr;
  ComponentForm* method_ = nullptr;
  QLabel* budget_ = nullptr;
  ErrorLabel* error_ = nullptr;
  double nfePerParticle_ = 0;
};

// Seed (with a dice button), backend, and which metrics to compute.
class RunPanel : public QWidget {
  Q_OBJECT
public:
  explicit RunPanel(QWidget* parent = nullptr);
  void setSeed(uint64_t seed);
  uint64_t seed() const;
  void setBackend(const std::string& name);
  std::string backend() const;
  void setMetrics(const nlohmann::json& names);
  nlohmann::json metrics() const;
  void setDevice(const QString& text);
  void setErrors(const QMap<QString, QString>& errors);
  QLineEdit* seedEdit() const { return seed_; }
  QToolButton* diceButton() const { return dice_; }
  QComboBox* backendBox() const { return backend_; }

public slots:
  void rollSeed();

signals:
  void metricsEdited(); // a metric ticked or unticked by the user (then edited())
  void edited(bool continuous);

private:
  QLineEdit* seed_ = nullptr;
  QToolButton* dice_ = nullptr;
  QComboBox* backend_ = nullptr;
  QLabel* device_ = nullptr;
  std::map<std::string, QCheckBox*> metrics_;
  std::vector<std::string> order_;
  ErrorLabel* error_ = nullptr;
};

} // namespace itslab::gui
