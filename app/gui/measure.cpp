#include "measure.hpp"

#include "export.hpp"
#include "main_window.hpp"
#include "nfe_curve.hpp"
#include "particles_panel.hpp"
#include "session.hpp"
#include "step_chart.hpp"
#include "time_bar.hpp"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QImageWriter>
#include <QSlider>
#include <QSpinBox>
#include <QTextStream>
#include <QTimer>
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <numeric>
#include <vector>

namespace itslab::gui {

std::atomic<bool> Application::timing{false};
std::atomic<long long> Application::worstNs{0};
QString Application::worstWhat;

bool Application::notify(QObject* receiver, QEvent* event) {
  if (!timing.load(std::memory_order_relaxed) || depth_ > 0 || QThread::currentThread() != thread())
    return QApplication::notify(receiver, event);
  // read what it is before dispatch: the receiver may delete itself
  const int type = event->type();
  const char* cls = receiver->metaObject()->className();
  timespec a{}, b{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  ++depth_;
  const bool r = QApplication::notify(receiver, event);
  --depth_;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  const long long ns = (b.tv_sec - a.tv_sec) * 1'000'000'000LL + (b.tv_nsec - a.tv_nsec);
  if (ns > worstNs.load()) {
    worstNs.store(ns);
    worstWhat = QString("event %1 to %2").arg(type).arg(cls);
  }
  return r;
}

namespace {

// Processes events until pred() or the timeout; true if pred() became true.
template <class Pred> bool wait_for(Pred pred, int timeout_ms) {
  QElapsedTimer t;
  t.start();
  while (!pred()) {
    if (t.elapsed() > timeout_ms)
      return false;
    QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    QCoreApplication::sendPostedEvents();
    if (!pred())
      QThread::msleep(1);
  }
  return true;
}

// Records the time of the first paint of a widget after arm().
class PaintProbe : public QObject {
public:
  QElapsedTimer clock;
  qint64 painted = -1;
  bool armed = false;
  bool eventFilter(QObject*, QEvent* e) override {
    if (armed && e->type() == QEvent::Paint && painted < 0)
      painted = clock.nsecsElapsed();
    return false;
  }
};

} // namespace

int take_screenshot(MainWindow& w, const QString& preset, const QString& out, bool sweep, int step,
                    int timeout_ms) {
  if (!preset.isEmpty()) {
    const bool ok = preset.endsWith(".json") || preset.endsWith(".png") ? w.openPresetFile(preset)
                                                                        : w.openBuiltin(preset);
    if (!ok) {
      std::fprintf(stderr, "itslab: %s\n", qPrintable(w.messageText()));
      return 1;
    }
  }
  w.show();
  if (!wait_for([&] { return w.session()->output() && w.session()->isSettled(); }, timeout_ms)) {
    std::fprintf(stderr, "itslab: the run did not finish within %d ms (%s)\n", timeout_ms,
                 qPrintable(w.session()->lastError()));
    return 1;
  }
  if (sweep) {
    w.session()->startSweep(w.nfePanel()->request());
    wait_for([&] { return w.session()->isSweeping(); }, 1000);
  }
  if (step >= 0)
    w.timeBar()->setValue(step);
  if (!wait_for([&] { return w.isSettled(); }, timeout_ms)) {
    std::fprintf(stderr, "itslab: the window did not settle within %d ms\n", timeout_ms);
    return 1;
  }
  // let layouts and the last repaint happen
  QElapsedTimer t;
  t.start();
  wait_for([&] { return t.elapsed() > 300; }, 1000);
  const QImage img = w.grab().toImage();
  QImageWriter wr(out, "png");
  wr.setText("itslab.preset", QString::fromStdString(w.currentJson().dump()));
  wr.setText("Software", "ITS Lab");
  if (!wr.write(img)) {
    std::fprintf(stderr, "itslab: %s: %s\n", qPrintable(out), qPrintable(wr.errorString()));
    return 1;
  }
  std::printf("wrote %s (%dx%d)\n", qPrintable(out), img.width(), img.height());
  return 0;
}

int measure_latency(MainWindow& w, int repeats, const QString& report_path) {
  QString report;
  QTextStream rs(&report);
  w.openBuiltin("default");
  w.show();
  if (!wait_for([&] { return w.isSettled(); }, 30000)) {
    std::fprintf(stderr, "itslab: the default preset did not settle\n");
    return 1;
  }
  PaintProbe probe;
  StepChart* chart = w.stepChart();
  chart->viewport()->installEventFilter(&probe);
  QSlider* slider = w.particlesPanel()->slider();
  std::vector<double> immediate, debounced;
  int finishedGen = -1;
  // connected after the window's own slots, so the chart already holds the final frame
  static const bool debug = qEnvironmentVariableIsSet("ITSLAB_DEBUG_TIMING");
  QObject::connect(w.session(), &Session::runStarted, &probe, [&](int) {
    if (debug)
      qDebug("  run started at %.1f ms", probe.clock.nsecsElapsed() / 1e6);
  });
  QObject::connect(w.session(), &Session::runFinished, &probe, [&](const OutputPtr& o) {
    if (debug)
      qDebug("  run finished at %.1f ms (sampling %.1f ms)", probe.clock.nsecsElapsed() / 1e6,
             o->wall_ms);
    finishedGen = o->generation;
    probe.painted = -1;
    probe.armed = true;
  });
  const int base = slider->value();
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < repeats; ++i) {
      // wait for quiet, then move the slider one notch (a release, or a drag step)
      wait_for([&] { return w.session()->isSettled(); }, 10000);
      const int gen0 = w.session()->generation();
      probe.painted = -1;
      probe.armed = false;
      probe.clock.start();
      if (pass == 0) {
        slider->setValue(i % 2 ? base : base - 1); // a click / key press: runs at once
      } else {
        slider->setSliderDown(true); // a drag step: debounced; released after the measurement
        slider->setValue(i % 2 ? base : base - 1);
      }
      // the chart has the new run's final frame when runFinished arrives (frames come first);
      // from then, wait for its next paint
      wait_for(
          [&] {
            return w.session()->generation() != gen0 && finishedGen == w.session()->generation();
          },
          10000);
      wait_for([&] { return probe.painted >= 0; }, 2000);
      probe.armed = false;
      if (slider->isSliderDown()) {
        slider->setSliderDown(false); // the release runs once more, at once
        wait_for([&] { return w.session()->isSettled(); }, 10000);
      }
      const double ms = (probe.painted >= 0 ? probe.painted : probe.clock.nsecsElapsed()) / 1e6;
      (pass == 0 ? immediate : debounced).push_back(ms);
    }
  auto stats = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const double med = v.empty() ? 0 : v[v.size() / 2];
    const double p90 = v.empty() ? 0 : v[std::min(v.size() - 1, v.size() * 9 / 10)];
    const double mx = v.empty() ? 0 : v.back();
    return QString("median %1 ms, p90 %2 ms, max %3 ms (n = %4)")
        .arg(med, 0, 'f', 1)
        .arg(p90, 0, 'f', 1)
        .arg(mx, 0, 'f', 1)
        .arg(v.size());
  };
  rs << "slider change -> step chart repainted with the new run (default preset, "
     << w.session()->preset().particles << " particles)\n";
  rs << "  click/release (runs at once): " << stats(immediate) << "\n";
  rs << "  drag step (" << w.session()->debounceMs() << " ms debounce): " << stats(debounced)
     << "\n";

  // GUI-thread stalls during a 1M-particle run
  wait_for([&] { return w.session()->isSettled(); }, 10000);
  w.particlesPanel()->countBox()->setValue(1000000);
  QElapsedTimer tick;
  tick.start();
  qint64 last = 0, worst = 0;
  std::vector<qint64> gaps;
  QTimer watchdog;
  watchdog.setTimerType(Qt::PreciseTimer);
  watchdog.setInterval(1);
  QObject::connect(&watchdog, &QTimer::timeout, [&] {
    const qint64 now = tick.nsecsElapsed();
    gaps.push_back(now - last);
    worst = std::max(worst, now - last);
    last = now;
  });
  QElapsedTimer run;
  run.start();
  Application::worstNs = 0;
  Application::timing = true;
  last = tick.nsecsElapsed();
  watchdog.start();
  // the 1M run: from the change until its metrics are in
  QEventLoop loop;
  QTimer poll;
  poll.setInterval(5);
  QObject::connect(&poll, &QTimer::timeout, [&] {
    if (w.session()->output() && w.session()->output()->samples.rows() == 1000000 &&
        w.session()->isSettled())
      loop.quit();
    if (run.elapsed() > 120000)
      loop.quit();
  });
  poll.start();
  loop.exec();
  watchdog.stop();
  Application::timing = false;
  const double run_ms = run.elapsed();
  std::sort(gaps.begin(), gaps.end());
  const double p99 = gaps.empty() ? 0 : gaps[gaps.size() * 99 / 100] / 1e6;
  int over16 = 0;
  for (qint64 g : gaps)
    over16 += g > 16'000'000;
  const OutputPtr o = w.session()->output();
  rs << "1M-particle run (default preset otherwise): sampling " << (o ? o->wall_ms : 0)
     << " ms, run + metrics " << run_ms << " ms, " << w.session()->frames().size()
     << " frames recorded\n";
  rs << "  GUI thread (1 ms timer): longest gap " << worst / 1e6 << " ms, p99 " << p99
     << " ms, gaps > 16 ms: " << over16 << " of " << gaps.size() << "\n";
  if (dynamic_cast<Application*>(qApp))
    rs << "  longest single GUI-thread event (thread CPU time): "
       << Application::worstNs.load() / 1e6 << " ms (" << Application::worstWhat << ")\n";
  rs << "  machine: " << QThread::idealThreadCount() << " cores, load average " << [] {
    QFile f("/proc/loadavg");
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()).section(' ', 0, 2)
                                       : QString("?");
  }() << "\n";
  rs.flush();
  std::printf("%s", qPrintable(report));
  if (!report_path.isEmpty()) {
    QFile f(report_path);
    if (f.open(QIODevice::WriteOnly | QIODevice::Text))
      f.write(report.toUtf8());
  }
  return 0;
}

} // namespace itslab::gui
