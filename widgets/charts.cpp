#include "charts.hpp"
#include "metric_labels.hpp"

#include "io/preset_schema.hpp"

#include <QAreaSeries>
#include <QChart>
#include <QComboBox>
#include <QGraphicsLineItem>
#include <QGraphicsSimpleTextItem>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegend>
#include <QLegendMarker>
#include <QLineEdit>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QScatterSeries>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

namespace itslab::gui {

namespace {

// A vertical axis title that fits a short chart: a qualifier in parentheses ("FID (classifier
// features)") goes on a second line (axis titles are rich text).
QString axis_title(const QString& label) {
  const int paren = label.indexOf(" (");
  return paren < 0 ? label.toHtmlEscaped()
                   : label.left(paren).toHtmlEscaped() + "<br><small>" +
                         label.mid(paren + 1).toHtmlEscaped() + "</small>";
}

QColor palette_color(int i) {
  static const QColor c[] = {QColor(0x1f, 0x77, 0xb4), QColor(0xff, 0x7f, 0x0e),
                             QColor(0x2c, 0xa0, 0x2c), QColor(0xd6, 0x27, 0x28),
                             QColor(0x94, 0x67, 0xbd), QColor(0x8c, 0x56, 0x4b),
                             QColor(0xe3, 0x77, 0xc2), QColor(0x7f, 0x7f, 0x7f),
                             QColor(0xbc, 0xbd, 0x22), QColor(0x17, 0xbe, 0xcf)};
  return c[((i % 10) + 10) % 10];
}

QColor solver_color(const std::string& solver) {
  const auto& specs = solver_specs();
  for (size_t i = 0; i < specs.size(); ++i)
    if (specs[i].type == solver)
      return palette_color(static_cast<int>(i));
  return palette_color(static_cast<int>(std::hash<std::string>{}(solver) % 10));
}

QChart* make_chart() {
  auto* c = new QChart();
  c->setAnimationOptions(QChart::NoAnimation);
  c->legend()->setAlignment(Qt::AlignBottom);
  c->setMargins(QMargins(4, 4, 4, 4));
  c->setBackgroundRoundness(0);
  return c;
}

// [lo, hi] → whole powers of ten around it
std::pair<double, double> log_range(double lo, double hi, double base = 10) {
  if (!(lo > 0) || !(hi > 0) || !std::isfinite(lo) || !std::isfinite(hi))
    return {1, base};
  double a = std::pow(base, std::floor(std::log(lo) / std::log(base) + 1e-9));
  double b = std::pow(base, std::ceil(std::log(hi) / std::log(base) - 1e-9));
  if (b <= a)
    b = a * base;
  return {a, b};
}

QString num(double v, int digits = 17) {
  return QString::number(v, 'g', digits);
}

} // namespace

int DataChart::seriesWithData() const {
  int n = 0;
  for (QAbstractSeries* s : chart()->series()) {
    if (auto* xy = qobject_cast<QXYSeries*>(s); xy && xy->isVisible() && xy->count() > 0)
      ++n;
    else if (auto* a = qobject_cast<QAreaSeries*>(s);
             a && a->isVisible() && a->upperSeries() && a->upperSeries()->count() > 0)
      ++n;
  }
  return n;
}

// ---------------------------------------------------------------- StepChart

StepChart::StepChart(QWidget* parent) : DataChart(parent) {
  setObjectName("chart.steps");
  QChart* c = make_chart();
  setChart(c);
  setRenderHint(QPainter::Antialiasing);
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
  axRad_ = new QLogValueAxis(this);
  axRad_->setTitleText("RMS radius");
  axRad_->setLabelFormat("%g");
  axRad_->setMinorTickCount(-1);
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

// ---------------------------------------------------------------- SigmaChart

SigmaChart::SigmaChart(QWidget* parent) : DataChart(parent) {
  setObjectName("chart.sigma");
  QChart* c = make_chart();
  c->legend()->hide();
  setChart(c);
  setRenderHint(QPainter::Antialiasing);
  setMinimumHeight(150);
  setToolTip("σ(t) = σ/α of the process x_t = αx0 + σε over its time t (line, log axis) and "
             "the schedule's nodes t_0 > … > t_M (dots; the last node σ = 0 is off the log "
             "axis). The red dot is the shown step.");
  axT_ = new QValueAxis(this);
  axT_->setTitleText("t");
  axT_->setLabelFormat("%g");
  axS_ = new QLogValueAxis(this);
  axS_->setTitleText("σ/α");
  axS_->setLabelFormat("%g");
  axS_->setMinorTickCount(-1);
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

// ---------------------------------------------------------------- NfeCurveChart

NfeCurveChart::NfeCurveChart(QWidget* parent) : DataChart(parent) {
  setObjectName("chart.nfe");
  QChart* c = make_chart();
  setChart(c);
  setRenderHint(QPainter::Antialiasing);
  setMinimumSize(200, 200);
  setToolTip("Sample quality against the number of denoiser evaluations (NFE) per particle, one "
             "line per solver, log–log; lower is better for distances. The ringed point is the "
             "current run. Points ≤ 0 cannot be drawn on a log axis and are left out.");
  axN_ = new QLogValueAxis(this);
  axN_->setBase(2);
  axN_->setTitleText("NFE");
  axN_->setLabelFormat("%g");
  axN_->setMinorTickCount(-1);
  axM_ = new QLogValueAxis(this);
  axM_->setTitleText("metric");
  axM_->setLabelFormat("%.0e");
  axM_->setMinorTickCount(-1);
  c->addAxis(axN_, Qt::AlignBottom);
  c->addAxis(axM_, Qt::AlignLeft);
  current_ = new QScatterSeries(this);
  current_->setName("this run");
  current_->setMarkerSize(13);
  current_->setColor(QColor(0, 0, 0, 0));
  current_->setBorderColor(QColor(0xc6, 0x28, 0x28));
  current_->setPen(QPen(QColor(0xc6, 0x28, 0x28), 2.5));
  c->addSeries(current_);
  current_->attachAxis(axN_);
  current_->attachAxis(axM_);
  note_ = new QGraphicsSimpleTextItem(c);
  note_->setBrush(QColor(0x70, 0x70, 0x70));
  note_->setText("run a sweep to compare solvers");
  connect(c, &QChart::plotAreaChanged, this, [this](const QRectF& pa) {
    note_->setPos(pa.center().x() - note_->boundingRect().width() / 2, pa.center().y());
  });
  axN_->setRange(1, 64);
  axM_->setRange(1e-4, 1);
}

void NfeCurveChart::setTable(const SweepTable& table, const QString& metric) {
  table_ = table;
  metric_ = metric;
  for (QLineSeries* s : lines_) {
    chart()->removeSeries(s);
    delete s;
  }
  lines_.clear();
  dropped_ = 0;
  // group rows by solver or method (and any other swept field except the step or particle
  // count); a budget sweep (over particle counts) is drawn against the NFE of all particles
  budget_ = false;
  for (const SweepRow& r : table.rows)
    budget_ = budget_ || r.settings.count("particles.count") > 0;
  axN_->setTitleText(budget_ ? "total NFE (all particles)" : "NFE");
  std::map<std::string, std::vector<std::pair<double, double>>> groups;
  std::vector<std::string> order;
  for (const SweepRow& r : table.rows) {
    if (!r.error.empty())
      continue;
    std::string key;
    for (const auto& [path, v] : r.settings)
      if (path != "schedule.steps" && path != "particles.count") {
        if (!key.empty())
          key += ' ';
        key += v.is_string() ? v.get<std::string>() : v.dump();
      }
    const auto it = r.metrics.find(metric.toStdString());
    if (it == r.metrics.end())
      continue;
    const auto total = r.metrics.find("nfe_total");
    const double x = budget_ ? (total == r.metrics.end() ? 0.0 : total->second) : r.nfe;
    if (!(it->second > 0) || !std::isfinite(it->second) || !(x > 0)) {
      ++dropped_;
      continue;
    }
    if (!groups.count(key))
      order.push_back(key);
    groups[key].emplace_back(x, it->second);
  }
  for (const std::string& key : order) {
    auto& pts = groups[key];
    std::sort(pts.begin(), pts.end());
    auto* s = new QLineSeries();
    s->setName(QString::fromStdString(key));
    QList<QPointF> list;
    for (const auto& [x, y] : pts)
      list << QPointF(x, y);
    s->replace(list);
    s->setPointsVisible(true);
    chart()->addSeries(s);
    s->attachAxis(axN_);
    s->attachAxis(axM_);
    s->setPen(QPen(solver_color(key.substr(0, key.find(' '))), 2));
    lines_.push_back(s);
  }
  const QString label = metric_label(metric.toStdString());
  axM_->setTitleText(axis_title(label));
  note_->setVisible(lines_.empty());
  if (lines_.empty())
    note_->setText(table.rows.empty() ? "run a sweep to compare solvers"
                                      : "no positive values of " + label + " to draw");
  rescale();
}

void NfeCurveChart::setCurrent(int nfe, double value, const QString& label) {
  QList<QPointF> p;
  if (nfe > 0 && value > 0 && std::isfinite(value))
    p << QPointF(nfe, value);
  current_->replace(p);
  current_->setName("this run: " + label);
  if (lines_.empty() && !metric_.isEmpty())
    axM_->setTitleText(axis_title(metric_label(metric_.toStdString())));
  rescale();
}

void NfeCurveChart::clearCurrent() {
  current_->clear();
}

void NfeCurveChart::rescale() {
  double xlo = 1e300, xhi = -1e300, ylo = 1e300, yhi = -1e300;
  for (QAbstractSeries* s : chart()->series())
    if (auto* xy = qobject_cast<QXYSeries*>(s))
      for (const QPointF& q : xy->points())
        xlo = std::min(xlo, q.x()), xhi = std::max(xhi, q.x()), ylo = std::min(ylo, q.y()),
        yhi = std::max(yhi, q.y());
  if (xhi < xlo)
    return;
  // a little room around the points, so markers at the ends are not cut
  const auto [a, b] = log_range(xlo / 1.3, xhi * 1.3, 2);
  axN_->setRange(a, b);
  const auto [c, d] = log_range(ylo / 1.5, yhi * 1.5, 10);
  axM_->setRange(c, d);
}

QString NfeCurveChart::csv() const {
  return QString::fromStdString(sweep_to_csv(table_));
}

// ---------------------------------------------------------------- NfeCurvePanel

NfeCurvePanel::NfeCurvePanel(QWidget* parent) : QWidget(parent) {
  setObjectName("panel.nfe");
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(2, 2, 2, 2);
  lay->setSpacing(3);
  auto* row = new QHBoxLayout();
  solvers_ = new QLineEdit("euler, heun, dpmpp_2m, unipc", this);
  solvers_->setObjectName("sweep.solvers");
  QStringList names;
  for (const auto& s : solver_specs())
    names << QString::fromStdString(s.type);
  solvers_->setToolTip("Solvers to compare (solver.type values), comma-separated. Known: " +
                       names.join(", ") + ". Each keeps the rest of the current preset.");
  steps_ = new QLineEdit("4, 8, 16, 32, 64", this);
  steps_->setObjectName("sweep.steps");
  steps_->setToolTip(
      "Step counts M (schedule.steps); NFE = M for one-call solvers, 2M − 1 for heun");
  metric_ = new QComboBox(this);
  metric_->setObjectName("sweep.metric");
  metric_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  metric_->setMinimumContentsLength(7);
  fillMetrics(quality_);
  particles_ = new QSpinBox(this);
  particles_->setObjectName("sweep.particles");
  particles_->setRange(16, 1 << 20);
  particles_->setValue(2048);
  particles_->setToolTip("Particles per sweep row (fewer is faster, noisier)");
  solvers_->setMinimumWidth(60);
  steps_->setMinimumWidth(60);
  mode_ = new QComboBox(this);
  mode_->setObjectName("sweep.mode");
  mode_->addItems({"quality vs NFE", "reward vs budget"});
  mode_->setToolTip("quality vs NFE: solvers × step counts, one metric against exact samples. "
                    "reward vs budget: particle methods × particle counts of the current preset "
                    "(its reward), the final samples' reward mean or max against the model "
                    "evaluations of all particles, so methods compare at equal compute");
  methods_ = new QLineEdit("independent, best_of_n, fk_steering", this);
  methods_->setObjectName("sweep.methods");
  QStringList methodNames;
  for (const auto& m : particle_method_specs())
    methodNames << QString::fromStdString(m.type);
  methods_->setToolTip("Particle methods to compare (particles.method), comma-separated. Known: " +
                       methodNames.join(", ") +
                       ". The current method keeps its parameters, the others their defaults.");
  counts_ = new QLineEdit("4, 16, 64, 256", this);
  counts_->setObjectName("sweep.counts");
  counts_->setToolTip("Particle counts N (particles.count); total NFE = N × NFE per particle");
  methods_->setMinimumWidth(60);
  counts_->setMinimumWidth(60);
  row->addWidget(mode_);
  solverRow_ = new QWidget(this);
  auto* sr = new QHBoxLayout(solverRow_);
  sr->setContentsMargins(0, 0, 0, 0);
  sr->addWidget(new QLabel("solvers", solverRow_));
  sr->addWidget(solvers_, 3);
  sr->addWidget(new QLabel("steps", solverRow_));
  sr->addWidget(steps_, 2);
  budgetRow_ = new QWidget(this);
  auto* br = new QHBoxLayout(budgetRow_);
  br->setContentsMargins(0, 0, 0, 0);
  br->addWidget(new QLabel("methods", budgetRow_));
  br->addWidget(methods_, 3);
  br->addWidget(new QLabel("N", budgetRow_));
  br->addWidget(counts_, 2);
  budgetRow_->hide();
  row->addWidget(solverRow_, 1);
  row->addWidget(budgetRow_, 1);
  lay->addLayout(row);
  auto* row2 = new QHBoxLayout();
  row2->addWidget(new QLabel("metric", this));
  row2->addWidget(metric_);
  row2->addWidget(new QLabel("N", this));
  row2->addWidget(particles_);
  run_ = new QPushButton("Run sweep", this);
  run_->setObjectName("sweep.run");
  run_->setToolTip("Run every solver × step count in the background (the current preset "
                   "otherwise); the chart fills in when it is done");
  cancel_ = new QPushButton("Cancel", this);
  cancel_->setObjectName("sweep.cancel");
  cancel_->setToolTip("Stop the sweep after the row in progress");
  cancel_->setEnabled(false);
  progress_ = new QProgressBar(this);
  progress_->setObjectName("sweep.progress");
  progress_->setRange(0, 1);
  progress_->setValue(0);
  progress_->setTextVisible(true);
  progress_->setFormat("%v/%m");
  progress_->setMinimumWidth(50);
  row2->addWidget(run_);
  row2->addWidget(cancel_);
  lay->addLayout(row2);
  lay->addWidget(progress_);
  chart_ = new NfeCurveChart(this);
  lay->addWidget(chart_, 1);
  status_ = new QLabel(this);
  status_->setWordWrap(true);
  status_->setStyleSheet("color: palette(mid); font-size: small;");
  lay->addWidget(status_);
  connect(mode_, &QComboBox::currentIndexChanged, this, [this](int i) {
    const bool budget = i == 1;
    solverRow_->setVisible(!budget);
    budgetRow_->setVisible(budget);
    particles_->setEnabled(!budget);
    fillMetrics(budget ? std::vector<std::string>{"reward_mean", "reward_max"} : quality_);
  });
  connect(run_, &QPushButton::clicked, this, [this] { emit sweepRequested(request()); });
  connect(cancel_, &QPushButton::clicked, this, &NfeCurvePanel::cancelRequested);
  connect(metric_, &QComboBox::currentIndexChanged, this, [this] {
    chart_->setTable(chart_->table(), metricKey());
    setCurrentRun(lastNfe_, lastMetrics_);
  });
}

QString NfeCurvePanel::metricKey() const {
  return metric_->currentData().toString();
}

void NfeCurvePanel::fillMetrics(const std::vector<std::string>& keys) {
  const QString keep = metricKey();
  const QSignalBlocker b(metric_);
  metric_->clear();
  QStringList tips;
  for (const std::string& k : keys) {
    metric_->addItem(metric_label(k), QString::fromStdString(k));
    metric_->setItemData(metric_->count() - 1, metric_tooltip(k), Qt::ToolTipRole);
    if (k == "reward_mean" || k == "reward_max")
      tips << QString::fromStdString(k) + ": the reward's " +
                  (k == "reward_mean" ? "mean" : "max") + " over the returned samples";
    else if (!metric_tooltip(k).isEmpty())
      tips << metric_label(k) + ": " + metric_tooltip(k);
  }
  metric_->setToolTip(tips.join("\n"));
  metric_->setCurrentIndex(std::max(0, metric_->findData(keep)));
}

void NfeCurvePanel::setMetricChoices(const std::vector<std::string>& keys, int particles) {
  if (keys.empty() || keys == quality_)
    return;
  quality_ = keys;
  particles_->setValue(particles);
  if (mode_->currentIndex() == 0) {
    fillMetrics(quality_);
    chart_->setTable({}, metricKey());
    setCurrentRun(lastNfe_, lastMetrics_);
  }
}

SweepRequest NfeCurvePanel::request() const {
  SweepRequest r;
  for (const QString& s :
       solvers_->text().split(QRegularExpression("[,;\\s]+"), Qt::SkipEmptyParts))
    r.solvers.push_back(s.toStdString());
  for (const QString& s : steps_->text().split(QRegularExpression("[,;\\s]+"), Qt::SkipEmptyParts))
    if (const int v = s.toInt(); v > 0)
      r.steps.push_back(v);
  r.metric = metricKey().toStdString();
  r.particles = particles_->value();
  r.budget = mode_->currentIndex() == 1;
  for (const QString& m :
       methods_->text().split(QRegularExpression("[,;\\s]+"), Qt::SkipEmptyParts))
    r.methods.push_back(m.toStdString());
  for (const QString& n : counts_->text().split(QRegularExpression("[,;\\s]+"), Qt::SkipEmptyParts))
    if (const qlonglong v = n.toLongLong(); v > 0)
      r.counts.push_back(v);
  return r;
}

void NfeCurvePanel::setRequest(const SweepRequest& r) {
  QStringList a, b;
  for (const auto& s : r.solvers)
    a << QString::fromStdString(s);
  for (int s : r.steps)
    b << QString::number(s);
  mode_->setCurrentIndex(r.budget ? 1 : 0);
  solvers_->setText(a.join(", "));
  steps_->setText(b.join(", "));
  QStringList m, n;
  for (const auto& s : r.methods)
    m << QString::fromStdString(s);
  for (int64_t c : r.counts)
    n << QString::number(c);
  if (!m.isEmpty())
    methods_->setText(m.join(", "));
  if (!n.isEmpty())
    counts_->setText(n.join(", "));
  if (const int i = metric_->findData(QString::fromStdString(r.metric)); i >= 0)
    metric_->setCurrentIndex(i);
  particles_->setValue(static_cast<int>(r.particles));
}

void NfeCurvePanel::setProgress(qint64 done, qint64 total) {
  progress_->setRange(0, static_cast<int>(std::max<qint64>(1, total)));
  progress_->setValue(static_cast<int>(done));
}

void NfeCurvePanel::setRunning(bool running) {
  run_->setEnabled(!running);
  cancel_->setEnabled(running);
  if (running)
    status_->setText("sweep running…");
}

void NfeCurvePanel::setResult(const SweepTable& table, const QString& metric, bool cancelled) {
  setRunning(false);
  const int idx = metric_->findData(metric);
  {
    const QSignalBlocker b(metric_);
    if (idx >= 0)
      metric_->setCurrentIndex(idx);
  }
  chart_->setTable(table, metric);
  int errors = 0;
  QString first;
  for (const SweepRow& r : table.rows)
    if (!r.error.empty())
      ++errors, first = first.isEmpty() ? QString::fromStdString(r.error) : first;
  QString s = QString("%1 rows%2").arg(table.rows.size()).arg(cancelled ? " (cancelled)" : "");
  if (errors)
    s += QString(", %1 invalid (e.g. %2)").arg(errors).arg(first);
  if (chart_->droppedPoints())
    s += QString(", %1 values ≤ 0 not drawn").arg(chart_->droppedPoints());
  status_->setText(s);
  setCurrentRun(lastNfe_, lastMetrics_);
}

void NfeCurvePanel::setCurrentRun(int nfe, const std::map<std::string, double>& metrics) {
  lastNfe_ = nfe;
  lastMetrics_ = metrics;
  const auto it = metrics.find(metricKey().toStdString());
  if (chart_->table().rows.empty())
    chart_->setTable({}, metricKey());
  if (it == metrics.end())
    chart_->clearCurrent();
  else
    chart_->setCurrent(nfe, it->second, QString::number(it->second, 'g', 3));
}

void NfeCurvePanel::setError(const QString& message) {
  setRunning(false);
  status_->setText("<span style='color:#c62828'>" + message.toHtmlEscaped() + "</span>");
}

} // namespace itslab::gui
