// ParticlesPanel: the particle count, method and compute budget.
#include "particles_panel.hpp"

#include "component_form.hpp"
#include "form_helpers.hpp"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <algorithm>
#include <cmath>

namespace itslab::gui {

using form_helpers::mark;
using nlohmann::json;

int ParticlesPanel::sliderPosition(int64_t count) {
  return static_cast<int>(
      std::lround(100.0 * std::log10(static_cast<double>(std::max<int64_t>(count, 1)))));
}
int64_t ParticlesPanel::countAt(int position) {
  return std::llround(std::pow(10.0, position / 100.0));
}

ParticlesPanel::ParticlesPanel(QWidget* parent) : QWidget(parent) {
  setObjectName("panel.particles");
  auto* form = new QFormLayout(this);
  form->setContentsMargins(0, 0, 0, 0);
  auto* row = new QHBoxLayout();
  slider_ = new QSlider(Qt::Horizontal, this);
  slider_->setObjectName("count_slider");
  slider_->setRange(0, 600);
  slider_->setPageStep(10);
  slider_->setToolTip("Particle count N on a log scale: N = 10^(position/100), 1 … 1 000 000. "
                      "Each particle is one sample x_T = prior_scale·z, z ~ N(0, I), integrated "
                      "to t = 0; particle i gets the same noise whatever N is.");
  count_ = new QSpinBox(this);
  count_->setObjectName("count");
  count_->setRange(1, 1 << 24);
  count_->setKeyboardTracking(false);
  count_->setToolTip("Exact particle count N (1 … 16 777 216); the slider covers 1 … 10⁶");
  row->addWidget(slider_, 1);
  row->addWidget(count_);
  form->addRow("count", row);
  method_ = new ComponentForm("particles", particle_method_specs(), this);
  method_->typeBox()->setObjectName("method");
  method_->typeBox()->setToolTip(
      "Particle method: independent runs (ESS = N), best-of-N, search over initial noises, or "
      "sequential Monte Carlo (FK steering, FK correctors) with weights and resampling");
  form->addRow("method", method_);
  budget_ = new QLabel("–", this);
  budget_->setObjectName("budget");
  budget_->setToolTip("Compute budget of the last run scaled to this N: N × model evaluations "
                      "per particle (steps × NFE per step × search iterations, ×2 with CFG)");
  form->addRow("budget", budget_);
  error_ = new ErrorLabel(this);
  form->addRow(error_);
  connect(slider_, &QSlider::valueChanged, this, [this](int v) {
    {
      const QSignalBlocker b(count_);
      count_->setValue(static_cast<int>(countAt(v)));
    }
    emit edited(slider_->isSliderDown());
  });
  connect(slider_, &QSlider::sliderReleased, this, [this] { emit edited(false); });
  connect(count_, &QSpinBox::valueChanged, this, [this](int v) {
    {
      const QSignalBlocker b(slider_);
      slider_->setValue(sliderPosition(v));
    }
    updateBudget();
    emit edited(false);
  });
  connect(method_, &ComponentForm::edited, this, &ParticlesPanel::edited);
}

void ParticlesPanel::setJson(const json& p) {
  const json in = p.is_object() ? p : json::object();
  const int64_t n = in.value("count", int64_t{4096});
  {
    const QSignalBlocker b1(slider_), b2(count_);
    count_->setValue(static_cast<int>(std::clamp<int64_t>(n, 1, 1 << 24)));
    slider_->setValue(sliderPosition(n));
  }
  json m = in;
  m.erase("count");
  m.erase("method");
  m["type"] =
      in.contains("method") && in["method"].is_string() ? in["method"] : json("independent");
  method_->setJson(m);
  updateBudget();
  setErrors({});
}

json ParticlesPanel::toJson() const {
  json p = method_->toJson();
  const json type = p.value("type", json("independent"));
  p.erase("type");
  // the preset omits the method of plain independent particles
  if (type != "independent")
    p["method"] = type;
  p["count"] = count_->value();
  return p;
}

void ParticlesPanel::setNfePerParticle(double nfe) {
  nfePerParticle_ = nfe;
  updateBudget();
}

void ParticlesPanel::updateBudget() {
  if (nfePerParticle_ <= 0) {
    budget_->setText("– (after the first run)");
    return;
  }
  const double total = nfePerParticle_ * count_->value();
  budget_->setText(QString("%1 NFE = %2 × %3 per particle")
                       .arg(total, 0, 'f', 0)
                       .arg(count_->value())
                       .arg(nfePerParticle_, 0, 'g', 6));
}

void ParticlesPanel::setErrors(const QMap<QString, QString>& errors) {
  // the engine names the form's type "particles.method"; the form shows it as a section error
  QMap<QString, QString> form = errors;
  if (form.contains("particles.method"))
    form["particles"] = "particles.method: " + form.take("particles.method");
  form.remove("particles.count");
  method_->setErrors(form);
  QMap<QString, QString> count;
  if (errors.contains("particles.count"))
    count["particles.count"] = errors["particles.count"];
  error_->show_for(count, {"particles"});
  mark(count_, !count.isEmpty());
}

} // namespace itslab::gui
