// RunPanel: the seed, the backend and the metric check boxes.
#include "run_panel.hpp"

#include "form_helpers.hpp"
#include "metric_labels.hpp"

#include "backend/backend.hpp"
#include "io/preset_schema.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QRandomGenerator>
#include <QRegularExpressionValidator>
#include <QSignalBlocker>
#include <QToolButton>
#include <algorithm>

namespace itslab::gui {

using form_helpers::has_prefix;
using form_helpers::mark;
using nlohmann::json;

RunPanel::RunPanel(QWidget* parent) : QWidget(parent) {
  setObjectName("panel.run");
  auto* form = new QFormLayout(this);
  form->setContentsMargins(0, 0, 0, 0);
  auto* row = new QHBoxLayout();
  seed_ = new QLineEdit(this);
  seed_->setObjectName("seed");
  seed_->setValidator(new QRegularExpressionValidator(QRegularExpression("[0-9]{1,20}"), seed_));
  seed_->setToolTip("Seed of the Philox4x32-10 noise, keyed by (seed, stream, step, particle, "
                    "dimension): the same seed reproduces the same samples exactly");
  dice_ = new QToolButton(this);
  dice_->setObjectName("dice");
  dice_->setText("⚄");
  dice_->setToolTip("New random seed (Ctrl+D)");
  row->addWidget(seed_, 1);
  row->addWidget(dice_);
  form->addRow("seed", row);
  backend_ = new QComboBox(this);
  backend_->setObjectName("backend");
  for (const std::string& b : backend_names())
    backend_->addItem(QString::fromStdString(b));
  backend_->setToolTip("Where the array operations run: cpu (Eigen + OpenMP), a GPU backend when "
                       "built and available, or auto (the best available)");
  form->addRow("backend", backend_);
  device_ = new QLabel("–", this);
  device_->setWordWrap(true);
  device_->setStyleSheet("color: palette(mid); font-size: small;");
  form->addRow("device", device_);
  auto* grid = new QGridLayout();
  int i = 0;
  for (const std::string& m : metric_names()) {
    auto* c = new QCheckBox(metric_label(m), this);
    c->setObjectName("metric." + QString::fromStdString(m));
    c->setToolTip(metric_tooltip(m));
    // a long label (the classifier metrics) takes a row of its own
    const bool wide = c->text().size() > 18;
    if (wide && i % 2)
      ++i;
    grid->addWidget(c, i / 2, i % 2, 1, wide ? 2 : 1);
    i += wide ? 2 : 1;
    metrics_[m] = c;
    connect(c, &QCheckBox::toggled, this, [this] {
      emit metricsEdited();
      emit edited(false);
    });
  }
  form->addRow("metrics", grid);
  error_ = new ErrorLabel(this);
  form->addRow(error_);
  connect(seed_, &QLineEdit::textEdited, this, [this] { emit edited(true); });
  connect(dice_, &QToolButton::clicked, this, &RunPanel::rollSeed);
  connect(backend_, &QComboBox::currentIndexChanged, this, [this] { emit edited(false); });
}

void RunPanel::rollSeed() {
  seed_->setText(QString::number(QRandomGenerator::global()->bounded(1u << 30)));
  emit edited(false);
}

void RunPanel::setSeed(uint64_t seed) {
  seed_->setText(QString::number(seed));
}
uint64_t RunPanel::seed() const {
  return seed_->text().toULongLong();
}
void RunPanel::setBackend(const std::string& name) {
  const QSignalBlocker b(backend_);
  int idx = backend_->findText(QString::fromStdString(name));
  if (idx < 0) {
    backend_->addItem(QString::fromStdString(name));
    idx = backend_->count() - 1;
  }
  backend_->setCurrentIndex(idx);
}
std::string RunPanel::backend() const {
  return backend_->currentText().toStdString();
}
void RunPanel::setMetrics(const json& names) {
  order_.clear();
  if (names.is_array())
    for (const json& n : names)
      if (n.is_string())
        order_.push_back(n.get<std::string>());
  for (auto& [m, box] : metrics_) {
    const QSignalBlocker b(box);
    bool on = false;
    if (names.is_array())
      for (const json& n : names)
        on = on || (n.is_string() && n.get<std::string>() == m);
    box->setChecked(on);
  }
}
json RunPanel::metrics() const {
  // the loaded order first, so a preset is written back as it was read
  json a = json::array();
  for (const std::string& m : order_)
    if (auto it = metrics_.find(m); it != metrics_.end() && it->second->isChecked())
      a.push_back(m);
  for (const std::string& m : metric_names())
    if (metrics_.at(m)->isChecked() && std::find(order_.begin(), order_.end(), m) == order_.end())
      a.push_back(m);
  return a;
}
void RunPanel::setDevice(const QString& text) {
  device_->setText(text);
}
void RunPanel::setErrors(const QMap<QString, QString>& errors) {
  error_->show_for(errors, {"seed", "backend", "metrics"});
  mark(seed_, has_prefix(errors, "seed"));
  mark(backend_, has_prefix(errors, "backend"));
}

} // namespace itslab::gui
