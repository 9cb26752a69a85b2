#pragma once
// DataChart, the base of the charts (export of the data behind them), and the helpers the charts
// share.
#include <QChartView>
#include <QString>
#include <utility>

class QChart;

namespace itslab::gui {

// Shared by the charts: export of the data behind them.
class DataChart : public QChartView {
  Q_OBJECT
public:
  using QChartView::QChartView;
  virtual QString csv() const = 0;
  // Series with at least one point (tests check that a chart drew something).
  int seriesWithData() const;
};

namespace chart_helpers {

QChart* make_chart();

// [lo, hi] → whole powers of ten around it
std::pair<double, double> log_range(double lo, double hi, double base = 10);

QString num(double v, int digits = 17);

} // namespace chart_helpers

} // namespace itslab::gui
