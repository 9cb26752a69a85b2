// DataChart and the helpers shared by the charts.
#include "data_chart.hpp"

#include <QAreaSeries>
#include <QChart>
#include <QLegend>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QPainter>
#include <QXYSeries>
#include <cmath>

namespace itslab::gui {

namespace chart_helpers {

std::pair<double, double> log_range(double lo, double hi, double base) {
  if (!(lo > 0) || !(hi > 0) || !std::isfinite(lo) || !std::isfinite(hi))
    return {1, base};
  double a = std::pow(base, std::floor(std::log(lo) / std::log(base) + 1e-9));
  double b = std::pow(base, std::ceil(std::log(hi) / std::log(base) - 1e-9));
  if (b <= a)
    b = a * base;
  return {a, b};
}

QString num(double v, int digits) {
  return QString::number(v, 'g', digits);
}

QLogValueAxis* log_axis(QObject* parent, const QString& title, const QString& format) {
  auto* a = new QLogValueAxis(parent);
  a->setTitleText(title);
  a->setLabelFormat(format);
  a->setMinorTickCount(-1);
  return a;
}

} // namespace chart_helpers

DataChart::DataChart(const QString& name, QWidget* parent) : QChartView(parent) {
  setObjectName(name);
  auto* c = new QChart();
  c->setAnimationOptions(QChart::NoAnimation);
  c->legend()->setAlignment(Qt::AlignBottom);
  c->setMargins(QMargins(4, 4, 4, 4));
  c->setBackgroundRoundness(0);
  setChart(c);
  setRenderHint(QPainter::Antialiasing);
}

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

} // namespace itslab::gui
