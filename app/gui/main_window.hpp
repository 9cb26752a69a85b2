#pragma once
#include "run_data.hpp"

#include <QMainWindow>
#include <QMap>
#include <nlohmann/json.hpp>

class QAction;
class QLabel;
class QLineEdit;
class QComboBox;
class QCheckBox;
class QMenu;
class QTableWidget;
class QToolButton;

namespace itslab::gui {

class Session;
class ComponentForm;
class ModelPanel;
class ParticlesPanel;
class RunPanel;
class TrajectoryView;
class TimeBar;
class StepChart;
class SigmaChart;
class NfeCurvePanel;
class DataChart;

// The ITS Lab window: parameter dock (model → process & schedule → solver → guidance →
// particles → run) built from the preset schema tables, the TrajectoryView with its time bar in
// the centre, per-step and quality-versus-NFE charts and the metric readout on the right, and
// a status bar with backend, NFE, wall time and samples per second.
class MainWindow : public QMainWindow {
  Q_OBJECT
public:
  struct Options {
    bool useSettings = true; // read and write QSettings (off for tests and screenshots)
  };
  explicit MainWindow(Options options, QWidget* parent = nullptr);
  MainWindow() : MainWindow(Options{}) {}
  ~MainWindow() override;

  // Presets. Each returns false and shows the problem in the message bar (keeping the current
  // state) when the preset cannot be used.
  bool openBuiltin(const QString& id);
  bool openPresetFile(const QString& path); // .json, or a .png exported by ITS Lab
  bool applyPresetText(const QString& text, const QString& origin, const QString& path = {});
  bool savePresetTo(const QString& path);
  void newPreset();
  void copyPreset();
  bool pastePreset();
  // The preset the controls describe (may be invalid while the user edits).
  nlohmann::json currentJson() const;
  QString currentPath() const { return path_; }
  QString messageText() const;
  QString runStateText() const; // the status bar's run state ("✓ done", "✗ run failed: …")
  QStringList recentFiles() const;

  // Exports by the file's suffix: .png, .svg or .csv of a chart or the view; .npy of samples.
  bool exportWidget(QWidget* w, const QString& path);
  bool exportSamples(const QString& path);

  // The run is done, its metrics computed, the density drawn and no sweep is running.
  bool isSettled() const;

  Session* session() const { return session_; }
  TrajectoryView* view() const { return view_; }
  TimeBar* timeBar() const { return timeBar_; }
  StepChart* stepChart() const { return stepChart_; }
  SigmaChart* sigmaChart() const { return sigmaChart_; }
  NfeCurvePanel* nfePanel() const { return nfe_; }
  ComponentForm* processForm() const { return process_; }
  ComponentForm* scheduleForm() const { return schedule_; }
  ComponentForm* solverForm() const { return solver_; }
  ComponentForm* guidanceForm() const { return guidance_; }
  ComponentForm* rewardForm() const { return reward_; }
  QCheckBox* genealogyBox() const { return showGenealogy_; }
  QCheckBox* denoisedBox() const { return showDenoised_; }
  ModelPanel* modelPanel() const { return model_; }
  ParticlesPanel* particlesPanel() const { return particles_; }
  RunPanel* runPanel() const { return run_; }
  QTableWidget* metricsTable() const { return metrics_; }
  QAction* action(const QString& name) const;

  void resetLayout();

protected:
  void closeEvent(QCloseEvent*) override;
  void dragEnterEvent(QDragEnterEvent*) override;
  void dropEvent(QDropEvent*) override;

private:
  void buildActions();
  void buildDocks();
  void connectSession();
  void applyJson(const nlohmann::json& j, const QString& path, const QString& builtin);
  void onEdited(bool continuous);
  // Marks the fields named in `errors` and shows the rest in the message bar; true when some
  // field was marked.
  bool showErrors(const QMap<QString, QString>& errors);
  void showMessage(const QString& text, bool error = true);
  void setModified(bool m);
  void updateTitle();
  void addRecent(const QString& path);
  void rebuildRecentMenu();
  void rebuildBuiltinMenu(QMenu* menu);
  void exportDialog(QWidget* w, const QString& what, const QString& suffix);
  void addExportActions(QWidget* w, const QString& what, bool csv);
  void onStep(int frame);
  void refreshFrames();

  Options options_;
  Session* session_ = nullptr;
  QString path_, builtin_;
  bool applying_ = false;
  bool modified_ = false;
  nlohmann::json base_; // the last applied preset: sections the panels do not edit live here

  QLineEdit* name_ = nullptr;
  ModelPanel* model_ = nullptr;
  ComponentForm *process_ = nullptr, *schedule_ = nullptr, *solver_ = nullptr, *guidance_ = nullptr,
                *reward_ = nullptr;
  ParticlesPanel* particles_ = nullptr;
  RunPanel* run_ = nullptr;
  SigmaChart* sigmaChart_ = nullptr;
  TrajectoryView* view_ = nullptr;
  TimeBar* timeBar_ = nullptr;
  StepChart* stepChart_ = nullptr;
  NfeCurvePanel* nfe_ = nullptr;
  QTableWidget* metrics_ = nullptr;
  QLabel* message_ = nullptr;
  QWidget* messageBar_ = nullptr;
  QComboBox *densityMode_ = nullptr, *colorBy_ = nullptr;
  QCheckBox *showPaths_ = nullptr, *showParticles_ = nullptr, *showGenealogy_ = nullptr,
            *showDenoised_ = nullptr;
  // The preset names no metrics, so the model's defaults apply (set when a preset without
  // "metrics" is opened or the model changes kind; cleared when the user ticks a metric).
  bool metricsDefault_ = false;
  QLabel *stBackend_, *stNfe_, *stWall_, *stRate_, *stState_;
  QMenu* recentMenu_ = nullptr;
  QMap<QString, QAction*> actions_;
  QByteArray defaultState_;
};

} // namespace itslab::gui
