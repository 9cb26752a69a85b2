#pragma once
// DataChart, the base of the charts (export of the data behind them), and the helpers the charts
// share.
#include <QChartView>
#include <QString>
#include <utility>

class QChart;
class QLogValueAxis;
class QObject;

namespace itslab::gui {

// Shared by the charts: export of the data behind them.
class DataChart : public QChartView {
  Q_OBJECT
public:
  // A chart view named `name` (tests and the window find charts by it), with the common chart
  // set-up: no animation, legend at the bottom, narrow margins, antialiasing.
  DataChart(const QString& name, QWidget* parent);
  virtual QString csv() const = 0;
  // Series with at least one point (tests check that a chart drew something).
  int seriesWithData() const;
};

namespace chart_helpers {

// [lo, hi] → whole powers of ten around it
std::pair<double, double> log_range(double lo, double hi, double base = 10);

QString num(double v, int digits = 17);

// A logarithmic axis titled `title`, labels in `format`, with the minor ticks between decades.
QLogValueAxis* log_axis(QObject* parent, const QString& title, const QString& format = "%g");

} // namespace chart_helpers

} // namespace itslab::gui
