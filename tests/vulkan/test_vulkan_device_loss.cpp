// A device lost during a run (simulated with ITSLAB_VK_FAULT=device-lost, which makes every
// fence wait report VK_ERROR_DEVICE_LOST as a driver reset would): the run fails with an Error
// that says so, never a crash; later calls on that backend fail the same clear way; a new
// backend opens the device again and samples exactly as before. The app's Session recovers on
// its next run and a sweep on its next row.
#include "core/error.hpp"
#include "engine/run.hpp"
#include "engine/sweep.hpp"
#include "gui/gui_test_util.hpp"
#include "io/preset.hpp"
#include "test_util.hpp"
#include "trajectory_view.hpp"
#include "vulkan/vulkan_test_util.hpp"

#include <QSignalSpy>

using namespace itslab;
using namespace itslab::vulkan_test;
using itslab::gui::test::isolate_settings;
using itslab::test::has;

namespace {
// The fault for the life of the guard.
struct DeviceLoss {
  DeviceLoss() { qputenv("ITSLAB_VK_FAULT", "device-lost"); }
  ~DeviceLoss() { qunsetenv("ITSLAB_VK_FAULT"); }
  DeviceLoss(const DeviceLoss&) = delete;
  DeviceLoss& operator=(const DeviceLoss&) = delete;
};
Preset small_default() {
  Preset p = load_checked_preset("default").preset;
  p.particles = 512;
  p.backend = "vulkan";
  return p;
}
RowMatrixXf run(Backend& be, const Preset& p) {
  return sample(be, build_experiment(p), p).samples;
}
} // namespace

class TestVulkanDeviceLoss : public QObject {
  Q_OBJECT

private slots:
  void initTestCase() {
    std::string why;
    if (!open(why)) // opened and released: the tests below make their own backends
      QSKIP(qPrintable(QString::fromStdString("no usable Vulkan device: " + why)));
  }
  void cleanup() {
    qunsetenv("ITSLAB_VK_FAULT");
    QVERIFY2(VulkanBackend::validation_errors() == 0,
             VulkanBackend::last_validation_message().c_str());
    QVERIFY2(VulkanBackend::validation_warnings() == 0,
             VulkanBackend::last_validation_message().c_str());
  }

  void runFailsAndANewBackendRecovers() {
    const Preset p = small_default();
    const BackendChoice a = make_backend("vulkan");
    QCOMPARE(a.backend->name(), std::string("vulkan"));
    const RowMatrixXf before = run(*a.backend, p);
    {
      const DeviceLoss loss;
      try {
        run(*a.backend, p);
        QFAIL("a run on a lost device succeeded");
      } catch (const Error& e) {
        QVERIFY2(has(e.what(), "device lost while running on"), e.what());
      }
    }
    QVERIFY(!a.backend->usable());
    try {
      Tensor t = a.backend->alloc(4, 2);
      a.backend->fill_normal(t, {1, 0, 0, 0});
      get(*a.backend, t);
      QFAIL("work on a lost device succeeded");
    } catch (const Error& e) {
      QVERIFY2(has(e.what(), "was lost earlier"), e.what());
    }
    const BackendChoice b = make_backend("vulkan");
    QVERIFY2(b.notice.empty(), b.notice.c_str());
    QVERIFY(b.backend->usable());
    // the same device, preset and seed: the same bits as before the loss
    QVERIFY(run(*b.backend, p) == before);
  }

  void sessionReportsTheLossAndRecovers() {
    gui::Session s;
    QSignalSpy failed(&s, &gui::Session::runFailed);
    {
      const DeviceLoss loss;
      s.setPresetJson(preset_to_json(small_default()), false);
      QVERIFY(QTest::qWaitFor([&] { return failed.count() == 1 && s.isSettled(); }, 20000));
    }
    const QString message = failed.at(0).at(0).toString();
    QVERIFY2(message.contains("device lost while running on"), qPrintable(message));
    QVERIFY(!s.output());
    s.rerun();
    QVERIFY(QTest::qWaitFor([&] { return s.isSettled() && s.output(); }, 20000));
    QCOMPARE(failed.count(), 1);
    QCOMPARE(s.output()->backend, std::string("vulkan"));
    QCOMPARE(s.output()->samples.rows(), Eigen::Index{512});
    QVERIFY(s.output()->samples.allFinite());
  }

  // On screen: the message bar names the loss, the status bar points at it (no field is to
  // blame), the view says the run failed instead of "running…" (or keeps the frames that came
  // before the loss); the next run draws again.
  void windowSaysWhatHappened() {
    QTemporaryDir dir;
    isolate_settings(dir);
    gui::MainWindow w(gui::MainWindow::Options{false});
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    {
      const DeviceLoss loss;
      QVERIFY(w.applyPresetText(QString::fromStdString(preset_to_json(small_default()).dump()),
                                "test"));
      QVERIFY(QTest::qWaitFor([&] { return w.runStateText().startsWith("✗"); }, 20000));
    }
    QVERIFY2(w.messageText().contains("device lost while running on"), qPrintable(w.messageText()));
    QCOMPARE(w.runStateText(), QString("✗ run failed: see the message above"));
    // frames that arrived before the loss stay on screen; with none, the view says it failed
    if (w.view()->frameCount() == 0)
      QCOMPARE(w.view()->placeholder(), QString("the run failed: see the message above"));
    else
      QVERIFY(w.view()->placeholder().isEmpty());
    w.session()->rerun();
    QVERIFY(QTest::qWaitFor([&] { return w.isSettled() && w.session()->output(); }, 20000));
    QVERIFY2(w.runStateText().startsWith("✓"), qPrintable(w.runStateText()));
    QVERIFY(w.view()->placeholder().isEmpty()); // frames on screen
  }

  void sweepRunsTheRowsAfterTheLoss() {
    Sweep sw;
    sw.base = preset_to_json(small_default());
    sw.axes = {parse_vary("schedule.steps=4,8,12")};
    sw.metrics = {"frechet"};
    SweepOptions o;
    // the device is lost during the first row only
    o.on_progress = [](int64_t done, int64_t) {
      if (done == 1)
        qunsetenv("ITSLAB_VK_FAULT");
    };
    qputenv("ITSLAB_VK_FAULT", "device-lost");
    const SweepTable t = run_sweep(sw, o);
    QCOMPARE(t.rows.size(), size_t{3});
    QVERIFY2(has(t.rows[0].error, "device lost while running on"), t.rows[0].error.c_str());
    for (size_t i = 1; i < 3; ++i) {
      QVERIFY2(t.rows[i].error.empty(), t.rows[i].error.c_str());
      QVERIFY(t.rows[i].nfe > 0 && t.rows[i].metrics.count("frechet") == 1);
    }
    QVERIFY(t.rows[2].nfe > t.rows[1].nfe); // 12 steps after 8
  }
};

QTEST_MAIN(TestVulkanDeviceLoss)
#include "test_vulkan_device_loss.moc"
