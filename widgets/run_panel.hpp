#pragma once
// RunPanel: the "run" section of the parameters (seed, backend, metrics).
#include <QMap>
#include <QWidget>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QToolButton;

namespace itslab::gui {

class ErrorLabel; // form_helpers.hpp

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
