#pragma once
// ParticlesPanel: the "particles" section of the parameters (count, method, budget).
#include <QMap>
#include <QWidget>
#include <cstdint>
#include <nlohmann/json.hpp>

class QLabel;
class QSlider;
class QSpinBox;

namespace itslab::gui {

class ComponentForm;
class ErrorLabel; // form_helpers.hpp

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

} // namespace itslab::gui
