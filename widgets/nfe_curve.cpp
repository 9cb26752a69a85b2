// NfeCurveChart, quality versus NFE from a sweep, and NfeCurvePanel, its sweep controls.
#include "nfe_curve.hpp"
#include "metric_labels.hpp"

#include "io/preset_schema.hpp"

#include <QChart>
#include <QComboBox>
#include <QGraphicsSimpleTextItem>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QScatterSeries>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

namespace itslab::gui {

using chart_helpers::log_axis;
using chart_helpers::log_range;

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

} // namespace

// ---------------------------------------------------------------- NfeCurveChart

NfeCurveChart::NfeCurveChart(QWidget* parent) : DataChart("chart.nfe", parent) {
  QChart* c = chart();
  setMinimumSize(200, 200);
  setToolTip("Sample quality against the number of denoiser evaluations (NFE) per particle, one "
             "line per solver, log–log; lower is better for distances. The ringed point is the "
             "current run. Points ≤ 0 cannot be drawn on a log axis and are left out.");
  axN_ = log_axis(this, "NFE");
  axN_->setBase(2);
  axM_ = log_axis(this, "metric", "%.0e");
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
  // two labelled fields (the first wider) in one widget, shown or hidden with the sweep mode
  const auto field_pair = [this](const QString& a, QWidget* wa, const QString& b, QWidget* wb) {
    auto* w = new QWidget(this);
    auto* l = new QHBoxLayout(w);
    l->setContentsMargins(0, 0, 0, 0);
    l->addWidget(new QLabel(a, w));
    l->addWidget(wa, 3);
    l->addWidget(new QLabel(b, w));
    l->addWidget(wb, 2);
    return w;
  };
  solverRow_ = field_pair("solvers", solvers_, "steps", steps_);
  budgetRow_ = field_pair("methods", methods_, "N", counts_);
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
