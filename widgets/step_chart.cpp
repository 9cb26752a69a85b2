// StepChart: the run's per-step diagnostics.
#include "step_chart.hpp"

#include <QAreaSeries>
#include <QChart>
#include <QGraphicsLineItem>
#include <QGraphicsSimpleTextItem>
#include <QLegend>
#include <QLegendMarker>
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

StepChart::StepChart(QWidget* parent) : DataChart("chart.steps", parent) {
  QChart* c = chart();
  setMinimumSize(200, 180);
  setToolTip("Per-step diagnostics. With weights: ESS/N = (Σw)²/(N Σw²), the log-weight spread "
             "max log w − min log w, reward mean ± std and max, and dots where the method "
             "resampled. Without weights: the RMS radius "
             "√(mean ‖x − x̄‖²) of the shown particles, which shrinks from the prior scale to "
             "the data's spread. The vertical line is the shown step.");

  axX_ = new QValueAxis(this);
  axX_->setTitleText("step");
  axX_->setLabelFormat("%d");
  axEss_ = new QValueAxis(this);
  axEss_->setTitleText("ESS / N");
  axEss_->setRange(0, 1.05);
  axVal_ = new QValueAxis(this);
  axVal_->setTitleText("reward · Δlog w");
  axRad_ = log_axis(this, "RMS radius");
  c->addAxis(axX_, Qt::AlignBottom);
  c->addAxis(axEss_, Qt::AlignLeft);
  c->addAxis(axRad_, Qt::AlignLeft);
  c->addAxis(axVal_, Qt::AlignRight);

  auto line = [&](const QString& name, QColor color, QAbstractAxis* y, Qt::PenStyle style) {
    auto* s = new QLineSeries(this);
    s->setName(name);
    c->addSeries(s);
    s->attachAxis(axX_);
    s->attachAxis(y);
    s->setPen(QPen(color, 2, style));
    return s;
  };
  radius_ = line("cloud RMS radius", QColor(0x44, 0x44, 0x44), axRad_, Qt::SolidLine);
  ess_ = line("ESS/N", QColor(0x1b, 0x9e, 0x77), axEss_, Qt::SolidLine);
  rewardHi_ = new QLineSeries(this);
  rewardLo_ = new QLineSeries(this);
  rewardBand_ = new QAreaSeries(rewardHi_, rewardLo_);
  rewardBand_->setName("r ± std");
  rewardBand_->setParent(this);
  c->addSeries(rewardBand_);
  rewardBand_->attachAxis(axX_);
  rewardBand_->attachAxis(axVal_);
  rewardBand_->setColor(QColor(0xd9, 0x5f, 0x02, 60));
  rewardBand_->setBorderColor(QColor(0xd9, 0x5f, 0x02, 0));
  rewardMean_ = line("r mean", QColor(0xd9, 0x5f, 0x02), axVal_, Qt::SolidLine);
  rewardMax_ = line("r max", QColor(0xd9, 0x5f, 0x02), axVal_, Qt::DotLine);
  logw_ = line("Δlog w", QColor(0x75, 0x70, 0xb3), axVal_, Qt::DashLine);
  resampled_ = new QScatterSeries(this);
  resampled_->setName("resample");
  // seven entries share a dock's width: a smaller font keeps their names whole
  QFont legendFont = c->legend()->font();
  legendFont.setPointSizeF(legendFont.pointSizeF() * 0.85);
  c->legend()->setFont(legendFont);
  resampled_->setMarkerSize(7);
  resampled_->setColor(QColor(0x1b, 0x9e, 0x77));
  resampled_->setBorderColor(Qt::white);
  c->addSeries(resampled_);
  resampled_->attachAxis(axX_);
  resampled_->attachAxis(axEss_);

  marker_ = new QGraphicsLineItem(c);
  marker_->setPen(QPen(QColor(0xc6, 0x28, 0x28, 160), 1.5, Qt::DashLine));
  marker_->setZValue(20);
  note_ = new QGraphicsSimpleTextItem(c);
  note_->setText("no weights (independent particles)");
  note_->setBrush(QColor(0x70, 0x70, 0x70));
  note_->setZValue(21);
  connect(c, &QChart::plotAreaChanged, this, [this] { placeMarker(); });
  setFrames({}, 0);
}

int StepChart::essPoints() const {
  return static_cast<int>(ess_->count());
}
int StepChart::resamplingMarkers() const {
  return static_cast<int>(resampled_->count());
}
int StepChart::rewardMaxPoints() const {
  return static_cast<int>(rewardMax_->count());
}

void StepChart::setFrames(const FrameList& frames, int steps) {
  frames_ = frames;
  steps_ = steps;
  weights_ = rewards_ = false;
  for (const auto& f : frames) {
    weights_ = weights_ || f->ess >= 0;
    rewards_ = rewards_ || f->has_reward;
  }
  QList<QPointF> ess, rm, rhi, rlo, rmx, lw, rad, rs;
  int resamplings = 0;
  double vlo = 1e300, vhi = -1e300, rmin = 1e300, rmax = -1e300;
  auto ok = [](double v) { return std::isfinite(v); };
  for (const auto& f : frames) {
    const double x = f->step;
    if (f->ess >= 0 && ok(f->ess) && f->particles > 0) {
      ess << QPointF(x, f->ess / static_cast<double>(f->particles));
      // the count is cumulative: a rise marks a step that resampled
      if (f->resamplings > resamplings)
        rs << QPointF(x, f->ess / static_cast<double>(f->particles));
    }
    resamplings = std::max(resamplings, f->resamplings);
    if (f->ess >= 0 && ok(f->log_w_spread)) {
      lw << QPointF(x, f->log_w_spread);
      vlo = std::min(vlo, f->log_w_spread), vhi = std::max(vhi, f->log_w_spread);
    }
    if (f->has_reward && ok(f->reward_mean) && ok(f->reward_std)) {
      rm << QPointF(x, f->reward_mean);
      rhi << QPointF(x, f->reward_mean + f->reward_std);
      rlo << QPointF(x, f->reward_mean - f->reward_std);
      vlo = std::min(vlo, f->reward_mean - f->reward_std);
      vhi = std::max(vhi, f->reward_mean + f->reward_std);
      if (ok(f->reward_max)) {
        rmx << QPointF(x, f->reward_max);
        vhi = std::max(vhi, f->reward_max);
      }
    }
    if (f->spread > 0 && ok(f->spread)) {
      rad << QPointF(x, f->spread);
      rmin = std::min(rmin, f->spread), rmax = std::max(rmax, f->spread);
    }
  }
  ess_->replace(ess);
  rewardMean_->replace(rm);
  rewardHi_->replace(rhi);
  rewardLo_->replace(rlo);
  rewardMax_->replace(rmx);
  resampled_->replace(rs);
  logw_->replace(lw);
  radius_->replace(rad);

  const bool value = weights_ || rewards_;
  ess_->setVisible(weights_);
  logw_->setVisible(weights_);
  rewardMean_->setVisible(rewards_);
  rewardMax_->setVisible(rewards_);
  resampled_->setVisible(weights_ && !rs.isEmpty());
  rewardBand_->setVisible(rewards_);
  radius_->setVisible(!value);
  axEss_->setVisible(weights_);
  axVal_->setVisible(value);
  axRad_->setVisible(!value);
  for (QLegendMarker* m : chart()->legend()->markers())
    m->setVisible(m->series()->isVisible());
  note_->setVisible(!weights_);
  note_->setText(rewards_ ? "no weights (independent particles); reward shown"
                          : "no weights (independent particles)");

  axX_->setRange(0, std::max(1, steps));
  if (steps <= 10) {
    axX_->setTickCount(std::max(2, steps + 1));
  } else {
    axX_->setTickCount(6);
    axX_->applyNiceNumbers();
  }
  if (value && vhi >= vlo) {
    const double pad = vhi > vlo ? 0.05 * (vhi - vlo) : 0.5;
    axVal_->setRange(vlo - pad, vhi + pad);
    axVal_->applyNiceNumbers();
  }
  if (!value && rmax >= rmin) {
    const auto [a, b] = log_range(rmin, rmax);
    axRad_->setRange(a, b);
  }
  placeMarker();
}

void StepChart::setStep(int frame) {
  step_ = frame;
  placeMarker();
}

void StepChart::placeMarker() {
  const QRectF pa = chart()->plotArea();
  const double lo = axX_->min(), hi = axX_->max();
  const bool on =
      !frames_.empty() && hi > lo && step_ >= 0 && step_ < static_cast<int>(frames_.size());
  marker_->setVisible(on);
  if (on) {
    const double x = frames_[static_cast<size_t>(step_)]->step;
    const double px = pa.left() + (x - lo) / (hi - lo) * pa.width();
    marker_->setLine(px, pa.top(), px, pa.bottom());
  }
  const QRectF nb = note_->boundingRect();
  note_->setPos(pa.center().x() - nb.width() / 2, pa.top() + 4);
}

QString StepChart::csv() const {
  QString out = "# itslab per-step diagnostics\nstep,t,sigma,nfe,wall_ms,particles,ess,ess_over_n,"
                "log_w_spread,reward_mean,reward_std,reward_max,resamplings,cloud_rms_radius\n";
  for (const auto& f : frames_) {
    const double n = static_cast<double>(std::max<int64_t>(1, f->particles));
    out +=
        QString("%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14\n")
            .arg(f->step)
            .arg(num(f->t), num(f->sigma_edm))
            .arg(f->nfe)
            .arg(num(f->wall_ms))
            .arg(f->particles)
            .arg(f->ess >= 0 ? num(f->ess) : QString(), f->ess >= 0 ? num(f->ess / n) : QString())
            .arg(f->ess >= 0 ? num(f->log_w_spread) : QString())
            .arg(f->has_reward ? num(f->reward_mean) : QString(),
                 f->has_reward ? num(f->reward_std) : QString(),
                 f->has_reward ? num(f->reward_max) : QString())
            .arg(f->resamplings)
            .arg(num(f->spread));
  }
  return out;
}

} // namespace itslab::gui
