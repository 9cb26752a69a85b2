#pragma once
// Shared by the GUI tests: a window that never touches the user's settings, and waits.
#include "main_window.hpp"
#include "session.hpp"

#include <QApplication>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>
#include <memory>

namespace itslab::gui::test {

inline void isolate_settings(QTemporaryDir& dir) {
  QCoreApplication::setOrganizationName("itslab-test");
  QCoreApplication::setApplicationName("itslab-test");
  QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, dir.path());
  QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, dir.path());
}

// Warnings that mean bugs (a dock saveState cannot name, NaN or log(0) handed to a chart, a
// signal argument that cannot cross threads) fail the test that caused them.
inline void fail_on_bug_warnings() {
  QTest::failOnWarning(QRegularExpression(
      "objectName' not set|Ignored NaN|Logarithms of zero|Cannot queue arguments"));
}

// Waits (processing events) until the window's run, metrics and density are done.
inline bool wait_settled(MainWindow& w, int timeout_ms = 10000) {
  QElapsedTimer t;
  t.start();
  while (!w.isSettled()) {
    if (t.elapsed() > timeout_ms)
      return false;
    QTest::qWait(5);
  }
  return true;
}

// A main window with settings isolated in dir, shown and settled; null if it did not settle.
inline std::unique_ptr<MainWindow> settled_window(QTemporaryDir& dir, QSize size = {}) {
  isolate_settings(dir);
  auto w = std::make_unique<MainWindow>(MainWindow::Options{false});
  if (size.isValid())
    w->resize(size);
  w->show();
  if (!QTest::qWaitForWindowExposed(w.get()) || !wait_settled(*w))
    return nullptr;
  return w;
}

inline bool same_samples(const OutputPtr& a, const OutputPtr& b) {
  return a && b && a->samples.rows() == b->samples.rows() &&
         a->samples.cols() == b->samples.cols() &&
         std::memcmp(a->samples.data(), b->samples.data(),
                     sizeof(float) * static_cast<size_t>(a->samples.size())) == 0;
}

} // namespace itslab::gui::test
