#pragma once
#include "io/preset.hpp"
#include "run_data.hpp"

#include <QMap>
#include <QObject>
#include <QThread>
#include <QThreadPool>
#include <QTimer>
#include <atomic>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

namespace itslab {
class Backend;
}

namespace itslab::gui {

// Lives on the engine thread and owns the backends (thread-affine resources). One run at a
// time; a request whose generation is no longer the latest is skipped without running.
class EngineWorker : public QObject {
  Q_OBJECT
public:
  std::atomic<int> latest{0};
  std::atomic<int> throttle_ms{16}; // at most one batch of frames per this many ms
  // Image networks: also record x̂0 of the snapshot rows (one more network call on them per step)
  std::atomic<bool> record_denoised{false};
  void start(int generation, const itslab::Preset& p, std::shared_ptr<std::atomic<bool>> cancel);
  // Rows of StepSnapshot::positions recorded per step: all up to 20 000 for 2-D models (the
  // view draws them), 64 otherwise (the sample grid).
  static int64_t snapshotRows(int dim, int64_t n);

signals:
  void setupReady(itslab::gui::SetupPtr setup);
  void framesReady(int generation, itslab::gui::FrameList frames);
  void finished(itslab::gui::OutputPtr output);
  void failed(int generation, QString message);
  void cancelled(int generation);

private:
  std::map<std::string, std::pair<std::unique_ptr<Backend>, std::string>> backends_;
  bool threadsSet_ = false;
};

// The one object the window and its widgets talk to: it holds the experiment (a preset as
// JSON), validates it, and runs it on a long-lived engine thread. Any accepted change starts a
// new run (after a short debounce for continuous edits) and cancels the stale one; frames
// arrive throttled (≤ 60 batches per second) and are all recorded, so the time bar can scrub
// every step. Metrics are computed on a separate thread so the next run never waits for them.
// Sweeps (quality versus NFE) run on their own thread and can be cancelled.
class Session : public QObject {
  Q_OBJECT
public:
  explicit Session(QObject* parent = nullptr);
  ~Session() override;

  // Validates j. Valid: it becomes the current preset and a run starts, after the debounce
  // when `debounce`, else on the next turn of the event loop. Invalid: nothing runs; the
  // problems are returned by JSON path ("" for messages without one) and by presetInvalid().
  QMap<QString, QString> setPresetJson(const nlohmann::json& j, bool debounce = false);
  const nlohmann::json& presetJson() const { return json_; }
  bool isValid() const { return valid_; }
  const Preset& preset() const { return preset_; } // the last valid one
  void setDebounceMs(int ms) { debounce_.setInterval(ms); }
  int debounceMs() const { return debounce_.interval(); }

  int generation() const { return generation_; }
  bool isRunning() const { return running_ || debounce_.isActive() || immediate_.isActive(); }
  // Not running, metrics done (or failed), nothing pending.
  bool isSettled() const;
  SetupPtr setup() const { return setup_; }
  const FrameList& frames() const { return frames_; }
  OutputPtr output() const { return output_; }
  const MetricsResult& metrics() const { return metrics_; }
  QString lastError() const { return lastError_; }
  int runsStarted() const { return runsStarted_; }

  // Image networks: whether runs record x̂0 of the shown particles (RunFrame::denoised). Turning
  // it on re-runs when the current run has none.
  void setRecordDenoised(bool on);
  bool recordsDenoised() const { return worker_->record_denoised.load(); }

  void startSweep(const SweepRequest& request);
  void cancelSweep();
  bool isSweeping() const { return sweepThread_ != nullptr; }
  const SweepTable& sweepTable() const { return sweep_; }

  EngineWorker* worker() const { return worker_; }

public slots:
  void rerun(); // now, bypassing the debounce
  void cancel();

signals:
  void presetInvalid(QMap<QString, QString> errors);
  void presetAccepted();
  void runStarted(int generation);
  void setupReady(itslab::gui::SetupPtr setup);
  void framesAppended(int generation);
  void runFinished(itslab::gui::OutputPtr output);
  void runFailed(QString message, QMap<QString, QString> errors);
  void runCancelled();
  void metricsReady(itslab::gui::MetricsResult metrics);
  void sweepStarted();
  void sweepProgress(qint64 done, qint64 total);
  void sweepFinished(itslab::SweepTable table, QString metric, bool cancelled);
  void sweepFailed(QString message);

private:
  void launch();
  void onSetup(SetupPtr s);
  void onFrames(int gen, FrameList frames);
  void onFinished(OutputPtr out);
  void onFailed(int gen, QString message);
  void onCancelled(int gen);

  nlohmann::json json_;
  Preset preset_;
  bool valid_ = false;
  QTimer debounce_, immediate_;
  QThread thread_;
  EngineWorker* worker_ = nullptr;
  std::shared_ptr<std::atomic<bool>> token_;
  int generation_ = 0;
  std::atomic<int> latestGeneration_{0};
  bool running_ = false;
  int runsStarted_ = 0;
  SetupPtr setup_;
  FrameList frames_;
  OutputPtr output_;
  MetricsResult metrics_;
  bool metricsPending_ = false;
  QString lastError_;
  QThreadPool metricsPool_;

  QThread* sweepThread_ = nullptr;
  std::shared_ptr<std::atomic<bool>> sweepCancel_;
  SweepTable sweep_;
};

// Registers the value types that cross threads in queued signals (once, before any Session).
void register_gui_types();

} // namespace itslab::gui
