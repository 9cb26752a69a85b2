#pragma once
// The quality-versus-NFE chart (NfeCurveChart) and its panel of sweep controls (NfeCurvePanel).
#include "data_chart.hpp"
#include "run_data.hpp"

#include <QWidget>
#include <map>
#include <string>
#include <vector>

class QComboBox;
class QGraphicsSimpleTextItem;
class QLabel;
class QLineEdit;
class QLineSeries;
class QLogValueAxis;
class QProgressBar;
class QPushButton;
class QScatterSeries;
class QSpinBox;

namespace itslab::gui {

// Quality versus NFE for several solvers on log–log axes, from a background sweep, with the
// current run as a marked point.
class NfeCurveChart : public DataChart {
  Q_OBJECT
public:
  explicit NfeCurveChart(QWidget* parent = nullptr);
  void setTable(const SweepTable& table, const QString& metric);
  void setCurrent(int nfe, double value, const QString& label);
  void clearCurrent();
  QString csv() const override;
  const SweepTable& table() const { return table_; }
  QString metric() const { return metric_; }
  int droppedPoints() const { return dropped_; }
  int lineCount() const { return static_cast<int>(lines_.size()); }
  // The table is a reward-versus-budget sweep: x is the NFE of all particles.
  bool isBudget() const { return budget_; }

private:
  void rescale();
  SweepTable table_;
  bool budget_ = false;
  QString metric_;
  int dropped_ = 0;
  QLogValueAxis *axN_, *axM_;
  std::vector<QLineSeries*> lines_;
  QScatterSeries* current_;
  QGraphicsSimpleTextItem* note_;
};

// The NfeCurveChart with its sweep controls: solvers, step counts, metric and particles, a
// Run button, a progress bar and Cancel.
class NfeCurvePanel : public QWidget {
  Q_OBJECT
public:
  explicit NfeCurvePanel(QWidget* parent = nullptr);
  NfeCurveChart* chart() const { return chart_; }
  SweepRequest request() const;
  void setRequest(const SweepRequest& r);
  QPushButton* runButton() const { return run_; }
  QPushButton* cancelButton() const { return cancel_; }
  QComboBox* modeBox() const { return mode_; }
  QComboBox* metricBox() const { return metric_; } // text: the label, data: the metric key
  QSpinBox* particlesBox() const { return particles_; }
  // The metrics a quality sweep of the current model can use (mixtures: frechet, mmd, …; image
  // networks: fid) and the particles per row that suit it. Applied when the set changes, so the
  // user's choices survive runs of the same kind of model.
  void setMetricChoices(const std::vector<std::string>& keys, int particles);

public slots:
  void setProgress(qint64 done, qint64 total);
  void setRunning(bool running);
  void setResult(const SweepTable& table, const QString& metric, bool cancelled);
  void setCurrentRun(int nfe, const std::map<std::string, double>& metrics);
  void setError(const QString& message);

signals:
  void sweepRequested(const itslab::gui::SweepRequest& request);
  void cancelRequested();

private:
  NfeCurveChart* chart_;
  QLineEdit *solvers_, *steps_, *methods_, *counts_;
  QComboBox *metric_, *mode_;
  QWidget *solverRow_, *budgetRow_;
  QSpinBox* particles_;
  QPushButton *run_, *cancel_;
  QProgressBar* progress_;
  QLabel* status_;
  void fillMetrics(const std::vector<std::string>& keys);
  QString metricKey() const;
  int lastNfe_ = 0;
  std::map<std::string, double> lastMetrics_;
  std::vector<std::string> quality_{"frechet", "mmd", "sliced_wasserstein"};
};

} // namespace itslab::gui
