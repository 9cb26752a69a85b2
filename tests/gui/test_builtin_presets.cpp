// Every built-in preset opens in the window, runs, and fills the view and the charts.
#include "gui_test_util.hpp"
#include "io/preset.hpp"
#include "sigma_chart.hpp"
#include "step_chart.hpp"
#include "trajectory_view.hpp"

#include <QTableWidget>
#include <set>

using namespace itslab;
using namespace itslab::gui;
using namespace itslab::gui::test;

class TestBuiltinPresets : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<MainWindow> w_;

private slots:
  void init() { fail_on_bug_warnings(); }
  void initTestCase() {
    w_ = settled_window(dir_);
    QVERIFY(w_);
  }
  void cleanupTestCase() { w_.reset(); }

  void eachBuiltinPresetRunsAndFillsTheCharts() {
    for (const std::string& id : builtin_preset_ids()) {
      const QString q = QString::fromStdString(id);
      const PresetLoad l = load_preset_ref(id);
      if (preset_is_network(l.preset)) {
        // networks on the CPU backend (lavapipe, which "auto" may pick here, is far slower);
        // the U-Net presets on 8 particles and 4 steps, so the suite stays short on two cores
        nlohmann::json j = preset_to_json(l.preset);
        j["backend"] = "cpu";
        if (l.preset.model_builtin == "nn/fmnist-unet") {
          j["particles"]["count"] = 8;
          j["schedule"]["steps"] = 4;
        }
        QVERIFY2(w_->applyPresetText(QString::fromStdString(j.dump()), q), qPrintable(q));
      } else {
        QVERIFY2(w_->openBuiltin(q), qPrintable(q));
      }
      QVERIFY2(wait_settled(*w_, 120000), qPrintable(q + ": " + w_->session()->lastError()));
      // the run of the preset as the panels hold it succeeded (a failed run leaves the previous
      // preset's frames in place)
      QVERIFY2(w_->session()->lastError().isEmpty(),
               qPrintable(q + ": " + w_->session()->lastError()));
      const SetupPtr s = w_->session()->setup();
      QVERIFY(s);
      QCOMPARE(static_cast<int>(w_->session()->frames().size()), s->steps + 1);
      QVERIFY2(w_->stepChart()->seriesWithData() >= 1, qPrintable(q));
      QVERIFY2(w_->sigmaChart()->seriesWithData() >= 1, qPrintable(q));
      QVERIFY2(w_->metricsTable()->rowCount() > 0, qPrintable(q));
      QCOMPARE(w_->view()->frameCount(), s->steps + 1);
      // the view drew something: many colours for the density map, or the sample tiles
      const QImage img = w_->view()->renderImage();
      std::set<QRgb> colours;
      for (int y = 0; y < img.height(); y += 3)
        for (int x = 0; x < img.width(); x += 3)
          colours.insert(img.pixel(x, y));
      QVERIFY2(colours.size() > 40, qPrintable(q + QString(": %1 colours").arg(colours.size())));
      QVERIFY(w_->windowTitle().contains(QString::fromStdString(w_->session()->preset().name)));
      QVERIFY(w_->messageText().isEmpty());
    }
  }
};

QTEST_MAIN(TestBuiltinPresets)
#include "test_builtin_presets.moc"
