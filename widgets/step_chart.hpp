#pragma once
// StepChart: the run's per-step diagnostics (ESS, rewards, log-weight spread or cloud radius).
#include "data_chart.hpp"
#include "run_data.hpp"

class QAreaSeries;
class QGraphicsLineItem;
class QGraphicsSimpleTextItem;
class QLineSeries;
class QLogValueAxis;
class QScatterSeries;
class QValueAxis;

namespace itslab::gui {

// Per-step diagnostics of the run: ESS/N, reward mean ± std and log-weight spread when the
// particle method carries weights or rewards; otherwise the RMS radius of the particle cloud
// (log axis) and the note "no weights (independent particles)". A line marks the shown step.
class StepChart : public DataChart {
  Q_OBJECT
public:
  explicit StepChart(QWidget* parent = nullptr);
  void setFrames(const FrameList& frames, int steps);
  void setStep(int frame);
  QString csv() const override;
  bool showsWeights() const { return weights_; }
  int essPoints() const;
  int resamplingMarkers() const;
  int rewardMaxPoints() const;
  int generationShown() const { return generation_; }
  void setGeneration(int g) { generation_ = g; }

private:
  void placeMarker();
  FrameList frames_;
  int steps_ = 0, step_ = 0, generation_ = 0;
  bool weights_ = false, rewards_ = false;
  QValueAxis *axX_, *axEss_, *axVal_;
  QLogValueAxis* axRad_;
  QLineSeries *ess_, *rewardMean_, *rewardHi_, *rewardLo_, *rewardMax_, *logw_, *radius_;
  QScatterSeries* resampled_;
  QAreaSeries* rewardBand_;
  QGraphicsLineItem* marker_;
  QGraphicsSimpleTextItem* note_;
};

} // namespace itslab::gui
