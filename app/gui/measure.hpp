#pragma once
#include <QString>

namespace itslab::gui {

class MainWindow;

// Loads the preset, waits until the window has settled (run, metrics, density, sweep) and
// writes window()->grab() to a PNG with the preset embedded. 0 on success.
int take_screenshot(MainWindow& w, const QString& preset, const QString& out, bool sweep,
                    int step, int timeout_ms);

// Responsiveness of the window on the default preset (see docs/benchmarks.md): the time from
// a particle-count slider change to the step chart repainted with the new run, and the longest
// stall of the GUI thread (a 1 ms timer's largest gap) during a 1M-particle run. Prints a report
// and returns 0.
int measure_latency(MainWindow& w, int repeats, const QString& report_path);

} // namespace itslab::gui
