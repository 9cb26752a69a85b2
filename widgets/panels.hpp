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

// The "model" section: built-in mixtures grouped 2-D / high-D / neural, an inline mixture from
// a file, and the class to condition on.
class ModelPanel : public QWidget {
  Q_OBJECT
public:
  explicit ModelPanel(QWidget* parent = nullptr);
  void setJson(const nlohmann::json& model); // no edited()
  nlohmann::json toJson() const;
  void setErrors(const QMap<QString, QString>& errors);
  QComboBox* modelBox() const { return model_; }
  QComboBox* classBox() const { return class_; }
  // Reads a mixture (a preset's model.gmm, or a bare {weights, means, …} object) from a file;
  // false with a message when it is not one.
  bool openMixtureFile(const QString& path, QString* error);

signals:
  void edited(bool continuous);

private:
  void refreshClasses(int keep);
  QComboBox* model_ = nullptr;
  QComboBox* class_ = nullptr;
  QToolButton* open_ = nullptr;
  QLabel* description_ = nullptr;
  ErrorLabel* error_ = nullptr;
  nlohmann::json inline_;                           // the inline mixture, when one is loaded
  std::map<std::string, std::pair<int, int>> info_; // builtin → (dim, classes)
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
