#pragma once
#include <QApplication>
#include <QString>
#include <atomic>

namespace itslab::gui {

class MainWindow;

// QApplication that can time every top-level event dispatch on the GUI thread in thread CPU
// time: how long the GUI thread itself was busy with one event, whatever else the machine ran.
class Application : public QApplication {
public:
  using QApplication::QApplication;
  bool notify(QObject* receiver, QEvent* event) override;
  static std::atomic<bool> timing;       // measure while true
  static std::atomic<long long> worstNs; // longest dispatch seen
  static QString worstWhat;              // its event type and receiver class
private:
  int depth_ = 0;
};

// Loads the preset, waits until the window has settled (run, metrics, density, sweep) and
// writes window()->grab() to a PNG with the preset embedded. 0 on success.
int take_screenshot(MainWindow& w, const QString& preset, const QString& out, bool sweep, int step,
                    int timeout_ms);

// Responsiveness of the window on the default preset (see docs/benchmarks.md): the time from
// a particle-count slider change to the step chart repainted with the new run, and the longest
// stall of the GUI thread (a 1 ms timer's largest gap) during a 1M-particle run. Prints a report
// and returns 0.
int measure_latency(MainWindow& w, int repeats, const QString& report_path);

} // namespace itslab::gui
