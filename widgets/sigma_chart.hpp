#pragma once
// SigmaChart: σ(t) of the process with the schedule's nodes and the shown step.
#include "data_chart.hpp"
#include "run_data.hpp"

class QLineSeries;
class QLogValueAxis;
class QScatterSeries;
class QValueAxis;

namespace itslab::gui {

// σ(t) of the process (σ = σ/α of x_t = αx0 + σε, log axis) with the schedule's nodes as markers
// and the shown step highlighted.
class SigmaChart : public DataChart {
  Q_OBJECT
public:
  explicit SigmaChart(QWidget* parent = nullptr);
  void setSetup(const SetupPtr& setup);
  void setStep(int frame);
  QString csv() const override;

private:
  SetupPtr setup_;
  QValueAxis* axT_;
  QLogValueAxis* axS_;
  QLineSeries* curve_;
  QScatterSeries *nodes_, *current_;
};

} // namespace itslab::gui
