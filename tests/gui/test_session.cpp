// The Session's guarantees (one run per burst of edits, stale runs dropped, throttled frames,
// cancellable sweeps) and the window's exports.
#include "component_form.hpp"
#include "export.hpp"
#include "gui_test_util.hpp"
#include "io/npy.hpp"
#include "io/preset.hpp"
#include "nfe_curve.hpp"
#include "sigma_chart.hpp"
#include "step_chart.hpp"
#include "trajectory_view.hpp"

#include <QDockWidget>
#include <QFile>
#include <QImageReader>
#include <QSignalSpy>
#include <QXmlStreamReader>

using namespace itslab;
using namespace itslab::gui;
using namespace itslab::gui::test;
using nlohmann::json;

namespace {
json builtin_json(const std::string& id) {
  return preset_to_json(load_preset_ref(id).preset);
}
bool wait_session(Session& s, int timeout_ms = 10000) {
  QElapsedTimer t;
  t.start();
  while (!s.isSettled() || !s.output()) {
    if (t.elapsed() > timeout_ms)
      return false;
    QTest::qWait(5);
  }
  return true;
}
} // namespace

class TestSession : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;

private slots:
  void init() { fail_on_bug_warnings(); }
  void initTestCase() { isolate_settings(dir_); }

  void burstOfEditsStartsOneRunWithTheLastValue() {
    Session s;
    json j = builtin_json("default");
    s.setPresetJson(j, false);
    QVERIFY(wait_session(s));
    const int runs = s.runsStarted();
    for (int i = 0; i < 30; ++i) {
      j["schedule"]["steps"] = 5 + i;
      s.setPresetJson(j, true); // a drag: debounced
      QTest::qWait(1);
    }
    QVERIFY(wait_session(s));
    QCOMPARE(s.runsStarted(), runs + 1);
    QCOMPARE(s.setup()->steps, 34);
    QCOMPARE(static_cast<int>(s.frames().size()), 35);
  }

  void staleRunIsCancelledAndItsFramesDropped() {
    Session s;
    json big = builtin_json("default");
    big["particles"]["count"] = 400000;
    big["schedule"]["steps"] = 200;
    s.setPresetJson(big, false);
    QSignalSpy started(&s, &Session::runStarted);
    QVERIFY(started.wait(2000));
    QTest::qWait(30); // run A is streaming
    json small = builtin_json("default");
    small["particles"]["count"] = 100;
    s.setPresetJson(small, false);
    QElapsedTimer t;
    t.start();
    QVERIFY(wait_session(s, 5000));
    QCOMPARE(s.output()->samples.rows(), 100);
    for (const FramePtr& f : s.frames())
      QCOMPARE(f->steps, 20); // no frame of the 200-step run
    QVERIFY2(t.elapsed() < 3000, qPrintable(QString("replacement took %1 ms").arg(t.elapsed())));
  }

  void framesAreThrottledButAllRecorded() {
    Session s;
    json j = builtin_json("default");
    j["schedule"]["steps"] = 1500;
    j["particles"]["count"] = 256;
    QSignalSpy batches(&s, &Session::framesAppended);
    QElapsedTimer t;
    t.start();
    s.setPresetJson(j, false);
    QVERIFY(wait_session(s, 15000));
    const double secs = std::max(0.05, s.output()->wall_ms / 1000.0);
    QCOMPARE(static_cast<int>(s.frames().size()), 1501);
    // ≤ 60 batches per second plus the first (x_T) and the last
    QVERIFY2(batches.count() <= 60 * secs + 3,
             qPrintable(QString("%1 batches in %2 s").arg(batches.count()).arg(secs)));
  }

  void invalidPresetNeverRuns() {
    Session s;
    json j = builtin_json("default");
    j["process"]["sigma_min"] = 100;
    const auto errors = s.setPresetJson(j, false);
    QVERIFY(errors.contains("process.sigma_max"));
    QTest::qWait(50);
    QCOMPARE(s.runsStarted(), 0);
    QVERIFY(!s.isValid());
  }

  void sweepFillsTheNfeChartAndCanBeCancelled() {
    MainWindow w(MainWindow::Options{false});
    w.show();
    QVERIFY(wait_settled(w));
    SweepRequest r;
    r.solvers = {"euler", "dpmpp_2m"};
    r.steps = {4, 8, 16};
    r.particles = 512;
    QSignalSpy done(w.session(), &Session::sweepFinished);
    w.session()->startSweep(r);
    QVERIFY(done.wait(10000));
    QVERIFY(wait_settled(w));
    QCOMPARE(w.nfePanel()->chart()->table().rows.size(), size_t{6});
    QVERIFY(w.nfePanel()->chart()->seriesWithData() >= 2);
    QVERIFY(w.nfePanel()->chart()->csv().contains("solver.type"));
    // a long sweep, cancelled at once
    r.solvers = {"euler", "heun", "dpmpp_2m", "ddim"};
    r.steps = {64, 128, 256, 512};
    r.particles = 50000;
    w.session()->startSweep(r);
    QTest::qWait(20);
    QVERIFY(w.session()->isSweeping());
    w.session()->cancelSweep();
    QVERIFY(done.wait(10000));
    QVERIFY(done.last().at(2).toBool()); // cancelled
    QVERIFY(w.session()->sweepTable().rows.size() < 16);
  }

  void settingsRestoreTheLastPresetAndLayout() {
    json edited;
    {
      MainWindow w(MainWindow::Options{true});
      w.show();
      QVERIFY(wait_settled(w));
      QVERIFY(w.openBuiltin("swiss-roll-vp-ddim"));
      QVERIFY(wait_settled(w));
      QVERIFY(w.solverForm()->setParam("eta", 0.25));
      QVERIFY(wait_settled(w));
      w.findChild<QDockWidget*>("dock.metrics")->hide();
      edited = w.currentJson();
      QVERIFY(w.close());
    }
    MainWindow w(MainWindow::Options{true});
    w.show();
    QVERIFY(wait_settled(w));
    QCOMPARE(QString::fromStdString(w.currentJson().dump()), QString::fromStdString(edited.dump()));
    QVERIFY(w.isWindowModified()); // the edit was never saved
    QVERIFY(w.findChild<QDockWidget*>("dock.metrics")->isHidden());
    QCOMPARE(w.dockWidgetArea(w.findChild<QDockWidget*>("dock.steps")), Qt::RightDockWidgetArea);
  }

  void shortcutsWork() {
    MainWindow w(MainWindow::Options{false});
    w.show();
    QVERIFY(QTest::qWaitForWindowActive(&w));
    QVERIFY(wait_settled(w));
    const uint64_t seed = w.session()->preset().seed;
    QTest::keyClick(&w, Qt::Key_D, Qt::ControlModifier); // new seed
    QVERIFY(wait_settled(w));
    QVERIFY(w.session()->preset().seed != seed);
    const int runs = w.session()->runsStarted();
    QTest::keyClick(&w, Qt::Key_F5); // re-run
    QVERIFY(wait_settled(w));
    QCOMPARE(w.session()->runsStarted(), runs + 1);
    for (const char* a : {"new", "open", "save", "saveAs", "copyPreset", "pastePreset", "quit"})
      QVERIFY2(!w.action(a)->shortcut().isEmpty(), a);
  }

  void exportsChartsViewAndSamples() {
    MainWindow w(MainWindow::Options{false});
    w.resize(1280, 800);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(wait_settled(w));
    const QString png = dir_.filePath("steps.png"), svg = dir_.filePath("steps.svg"),
                  csv = dir_.filePath("steps.csv"), vpng = dir_.filePath("view.png"),
                  vcsv = dir_.filePath("view.csv"), npy = dir_.filePath("samples.npy");
    QVERIFY(w.exportWidget(w.stepChart(), png));
    QVERIFY(w.exportWidget(w.stepChart(), svg));
    QVERIFY(w.exportWidget(w.stepChart(), csv));
    QVERIFY(w.exportWidget(w.view(), vpng));
    QVERIFY(w.exportWidget(w.view(), vcsv));
    QVERIFY(w.exportWidget(w.sigmaChart(), dir_.filePath("sigma.csv")));
    QVERIFY(w.exportSamples(npy));
    // the PNG carries the preset and opens as one
    const QString embedded = preset_from_png(vpng);
    QVERIFY(embedded.contains("itslab.preset/1"));
    QVERIFY(QImage(png).width() > 100);
    // the SVG is well formed, at 96 dpi
    QFile f(svg);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QXmlStreamReader x(&f);
    int elements = 0;
    while (!x.atEnd())
      if (x.readNext() == QXmlStreamReader::StartElement)
        ++elements;
    QVERIFY(!x.hasError());
    QVERIFY(elements > 10);
    // CSV: a row per recorded step, values exact
    QFile c(csv);
    QVERIFY(c.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(c.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 2 + 21);
    QVERIFY(lines[1].startsWith("step,t,sigma,nfe"));
    const RowMatrixXf samples = read_npy(npy.toStdString());
    QCOMPARE(samples.rows(), int64_t{4096});
    QVERIFY(std::memcmp(samples.data(), w.session()->output()->samples.data(),
                        sizeof(float) * samples.size()) == 0);
    // bad target: reported, no crash
    QVERIFY(!w.exportWidget(w.stepChart(), dir_.filePath("x.bmpx")));
    QVERIFY(!w.messageText().isEmpty());
    // and a PNG drops back in as a preset
    QVERIFY(w.openBuiltin("grid25-edm-heun"));
    QVERIFY(wait_settled(w));
    QVERIFY(w.openPresetFile(vpng));
    QVERIFY(wait_settled(w));
    QCOMPARE(QString::fromStdString(w.session()->preset().model_builtin),
             QString("gmm/eight-gaussians"));
  }
};

QTEST_MAIN(TestSession)
#include "test_session.moc"
