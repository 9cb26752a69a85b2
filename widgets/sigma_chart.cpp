// SigmaChart: σ(t) of the process and the schedule's nodes.
#include "sigma_chart.hpp"

#include <QChart>
#include <QLegend>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QScatterSeries>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

namespace itslab::gui {

using chart_helpers::log_axis;
using chart_helpers::log_range;
using chart_helpers::num;

SigmaChart::SigmaChart(QWidget* parent) : DataChart("chart.sigma", parent) {
  QChart* c = chart();
  c->legend()->hide();
  setMinimumHeight(150);
  setToolTip("σ(t) = σ/α of the process x_t = αx0 + σε over its time t (line, log axis) and "
             "the schedule's nodes t_0 > … > t_M (dots; the last node σ = 0 is off the log "
             "axis). The red dot is the shown step.");
  axT_ = new QValueAxis(this);
  axT_->setTitleText("t");
  axT_->setLabelFormat("%g");
  axS_ = log_axis(this, "σ/α");
  c->addAxis(axT_, Qt::AlignBottom);
  c->addAxis(axS_, Qt::AlignLeft);
  curve_ = new QLineSeries(this);
  curve_->setName("σ(t)");
  nodes_ = new QScatterSeries(this);
  nodes_->setName("steps");
  nodes_->setMarkerSize(7);
  current_ = new QScatterSeries(this);
  current_->setName("shown step");
  current_->setMarkerSize(11);
  for (QXYSeries* s : std::initializer_list<QXYSeries*>{curve_, nodes_, current_}) {
    c->addSeries(s);
    s->attachAxis(axT_);
    s->attachAxis(axS_);
  }
  curve_->setPen(QPen(QColor(0x44, 0x44, 0x44), 1.5));
  nodes_->setColor(QColor(0x1f, 0x77, 0xb4));
  nodes_->setBorderColor(QColor(0x1f, 0x77, 0xb4));
  current_->setColor(QColor(0xd6, 0x27, 0x28));
  current_->setBorderColor(Qt::white);
}

void SigmaChart::setSetup(const SetupPtr& setup) {
  setup_ = setup;
  QList<QPointF> curve, nodes;
  double lo = 1e300, hi = -1e300, tlo = 1e300, thi = -1e300;
  if (setup) {
    for (size_t i = 0; i < setup->curve_t.size(); ++i) {
      const double t = setup->curve_t[i], s = setup->curve_sigma[i];
      if (std::isfinite(s) && s > 0 && std::isfinite(t))
        curve << QPointF(t, s), lo = std::min(lo, s), hi = std::max(hi, s), tlo = std::min(tlo, t),
                                thi = std::max(thi, t);
    }
    for (size_t i = 0; i < setup->grid_t.size(); ++i) {
      const double t = setup->grid_t[i], s = setup->grid_sigma[i];
      if (std::isfinite(s) && s > 0 && std::isfinite(t))
        nodes << QPointF(t, s), lo = std::min(lo, s), hi = std::max(hi, s), tlo = std::min(tlo, t),
                                thi = std::max(thi, t);
    }
  }
  curve_->replace(curve);
  nodes_->replace(nodes);
  current_->clear();
  if (hi >= lo) {
    const auto [a, b] = log_range(lo, hi);
    axS_->setRange(a, b);
    axT_->setRange(std::min(0.0, tlo), thi > tlo ? thi : tlo + 1);
    axT_->applyNiceNumbers();
  }
  chart()->setTitle(setup ? QString("σ(t): %1, %2 steps (%3)")
                                .arg(QString::fromStdString(setup->process))
                                .arg(setup->steps)
                                .arg(QString::fromStdString(setup->schedule))
                          : QString());
}

void SigmaChart::setStep(int frame) {
  QList<QPointF> p;
  if (setup_ && frame >= 0 && frame < static_cast<int>(setup_->grid_t.size())) {
    const double t = setup_->grid_t[static_cast<size_t>(frame)];
    const double s = setup_->grid_sigma[static_cast<size_t>(frame)];
    if (std::isfinite(s) && s > 0)
      p << QPointF(t, s);
  }
  current_->replace(p);
}

QString SigmaChart::csv() const {
  QString out = "# itslab schedule: grid nodes\nnode,t,sigma_over_alpha\n";
  if (setup_)
    for (size_t i = 0; i < setup_->grid_t.size(); ++i)
      out += QString("%1,%2,%3\n").arg(i).arg(num(setup_->grid_t[i]), num(setup_->grid_sigma[i]));
  return out;
}

} // namespace itslab::gui
