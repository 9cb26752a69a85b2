// The window as a user drives it: every built-in preset runs and fills the charts; controls
// changed programmatically re-run; invalid combinations are explained inline; presets survive
// save → open and the clipboard exactly, samples included; a bad file changes nothing.
#include "component_form.hpp"
#include "gui_test_util.hpp"
#include "io/preset.hpp"
#include "model_panel.hpp"
#include "particles_panel.hpp"
#include "run_panel.hpp"
#include "time_bar.hpp"
#include "trajectory_view.hpp"

#include <QClipboard>
#include <QComboBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QSlider>
#include <QSpinBox>
#include <QTableWidget>

using namespace itslab;
using namespace itslab::gui;
using namespace itslab::gui::test;

class TestMainWindow : public QObject {
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

  void changingControlsReruns() {
    QVERIFY(w_->openBuiltin("default"));
    QVERIFY(wait_settled(*w_));
    // solver → heun: NFE = 2M − 1
    w_->solverForm()->typeBox()->setCurrentText("heun");
    QVERIFY(wait_settled(*w_));
    QCOMPARE(QString::fromStdString(w_->session()->preset().solver.type), QString("heun"));
    QCOMPARE(w_->session()->output()->nfe, 2 * 20 - 1);
    // steps → 10: 11 recorded frames
    auto* steps = qobject_cast<QSpinBox*>(w_->scheduleForm()->editor("steps"));
    QVERIFY(steps);
    steps->setValue(10);
    QVERIFY(wait_settled(*w_));
    QCOMPARE(static_cast<int>(w_->session()->frames().size()), 11);
    QCOMPARE(w_->session()->setup()->steps, 10);
    // particle slider → 10^3
    w_->particlesPanel()->slider()->setValue(300);
    QVERIFY(wait_settled(*w_));
    QCOMPARE(w_->session()->output()->samples.rows(), 1000);
    QCOMPARE(w_->particlesPanel()->countBox()->value(), 1000);
    // model → grid-25: the class picker lists its 25 classes
    auto* model = w_->modelPanel()->modelBox();
    model->setCurrentIndex(model->findData("gmm/grid-25", Qt::UserRole));
    QVERIFY(wait_settled(*w_));
    QCOMPARE(w_->modelPanel()->classBox()->count(), 26);
    QCOMPARE(QString::fromStdString(w_->session()->preset().model_builtin), QString("gmm/grid-25"));
    QVERIFY(w_->isWindowModified());
    // the time bar scrubs the recorded steps
    w_->timeBar()->setValue(0);
    QCOMPARE(w_->view()->step(), 0);
    w_->timeBar()->toEnd();
    QCOMPARE(w_->view()->step(), 10);
  }

  void invalidCombinationIsExplainedInline() {
    QVERIFY(w_->openBuiltin("default"));
    QVERIFY(wait_settled(*w_));
    const int runs = w_->session()->runsStarted();
    auto* smin = w_->processForm()->editor("sigma_min");
    QVERIFY(smin);
    QVERIFY(w_->processForm()->setParam("sigma_min", 100.0)); // > sigma_max = 80
    QTest::qWait(100);
    QVERIFY(!w_->session()->isValid());
    QCOMPARE(w_->session()->runsStarted(), runs); // nothing ran
    QVERIFY(QApplication::activeModalWidget() == nullptr);
    // the field's error label says what is wrong
    bool shown = false;
    for (QLabel* l : w_->processForm()->findChildren<QLabel*>())
      shown = shown || (l->isVisible() && l->text().contains("must be > sigma_min"));
    QVERIFY(shown);
    QVERIFY(!w_->processForm()->editor("sigma_max")->styleSheet().isEmpty());
    // cfg without a class: the guidance section explains it
    QVERIFY(w_->processForm()->setParam("sigma_min", 0.002));
    w_->guidanceForm()->typeBox()->setCurrentText("cfg");
    QTest::qWait(50);
    QVERIFY(!w_->session()->isValid());
    bool cfg = false;
    for (QLabel* l : w_->guidanceForm()->findChildren<QLabel*>())
      cfg = cfg || (l->isVisible() && l->text().contains("model.class"));
    QVERIFY(cfg);
    // fixing it runs again
    w_->modelPanel()->classBox()->setCurrentIndex(3);
    QVERIFY(wait_settled(*w_));
    QVERIFY(w_->session()->isValid());
    QCOMPARE(w_->session()->preset().model_class, 2);
  }

  void presetRoundTripRestoresControlsAndSamples() {
    QVERIFY(w_->openBuiltin("grid25-edm-heun"));
    QVERIFY(wait_settled(*w_));
    w_->runPanel()->seedEdit()->setText("12345");
    emit w_->runPanel()->seedEdit()->textEdited("12345");
    QVERIFY(w_->solverForm()->setParam("s_churn", 2.5));
    QVERIFY(wait_settled(*w_));
    const nlohmann::json before = w_->currentJson();
    const OutputPtr samples = w_->session()->output();
    QCOMPARE(w_->session()->preset().seed, uint64_t{12345});
    const QString path = dir_.filePath("round.itslab.json");
    QVERIFY(w_->savePresetTo(path));
    QVERIFY(!w_->isWindowModified());
    QVERIFY(w_->windowTitle().contains("round.itslab.json"));
    QVERIFY(w_->openBuiltin("default"));
    QVERIFY(wait_settled(*w_));
    QVERIFY(w_->openPresetFile(path));
    QVERIFY(wait_settled(*w_));
    QCOMPARE(QString::fromStdString(w_->currentJson().dump()),
             QString::fromStdString(before.dump()));
    QCOMPARE(w_->runPanel()->seedEdit()->text(), QString("12345"));
    QCOMPARE(w_->solverForm()->type(), QString("heun"));
    QVERIFY(same_samples(samples, w_->session()->output()));
    QVERIFY(w_->recentFiles().contains(QFileInfo(path).canonicalFilePath()));
  }

  void clipboardRoundTrip() {
    QVERIFY(w_->openBuiltin("two-moons-flow-euler"));
    QVERIFY(wait_settled(*w_));
    const nlohmann::json before = w_->currentJson();
    const OutputPtr samples = w_->session()->output();
    w_->copyPreset();
    const QMimeData* md = QGuiApplication::clipboard()->mimeData();
    QVERIFY(md && md->hasFormat("application/x-itslab-preset"));
    QVERIFY(md->text().contains("two-moons"));
    QVERIFY(w_->openBuiltin("default"));
    QVERIFY(wait_settled(*w_));
    QVERIFY(w_->pastePreset());
    QVERIFY(wait_settled(*w_));
    QCOMPARE(QString::fromStdString(w_->currentJson().dump()),
             QString::fromStdString(before.dump()));
    QVERIFY(same_samples(samples, w_->session()->output()));
    // plain text on the clipboard works too; garbage is refused without changing anything
    QGuiApplication::clipboard()->setText("{ not json");
    QVERIFY(!w_->pastePreset());
    QVERIFY(w_->messageText().contains("not valid JSON"));
    QCOMPARE(QString::fromStdString(w_->currentJson().dump()),
             QString::fromStdString(before.dump()));
  }

  void badPresetFileKeepsTheCurrentState() {
    QVERIFY(w_->openBuiltin("swiss-roll-vp-ddim"));
    QVERIFY(wait_settled(*w_));
    const nlohmann::json before = w_->currentJson();
    const int gen = w_->session()->generation();
    const QString bad = dir_.filePath("bad.itslab.json");
    {
      QFile f(bad);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(R"({"schema": "itslab.preset/1", "model": {"builtin": "gmm/eight-gaussians"},
                 "process": {"type": "edm"}, "schedule": {"type": "karras", "steps": 0},
                 "solver": {"type": "euler"}, "particles": {"count": 0}})");
    }
    QVERIFY(!w_->openPresetFile(bad));
    QVERIFY(w_->messageText().contains("particles.count"));
    QVERIFY(w_->messageText().contains("schedule.steps"));
    QCOMPARE(QString::fromStdString(w_->currentJson().dump()),
             QString::fromStdString(before.dump()));
    QCOMPARE(w_->session()->generation(), gen);
    QVERIFY(!w_->openPresetFile(dir_.filePath("missing.json")));
    QVERIFY(QApplication::activeModalWidget() == nullptr);
  }

  void dragAndDropOpensPresets() {
    const QString path = dir_.filePath("drop.itslab.json");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(QByteArray::fromStdString(builtin_preset_text("checkerboard-vp-sde")));
    f.close();
    QMimeData md;
    md.setUrls({QUrl::fromLocalFile(path)});
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &md, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(w_.get(), &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &md, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(w_.get(), &drop);
    QVERIFY(wait_settled(*w_));
    QCOMPARE(QString::fromStdString(w_->session()->preset().model_builtin),
             QString("gmm/checkerboard"));
    QMimeData txt;
    txt.setUrls({QUrl::fromLocalFile(dir_.filePath("notes.txt"))});
    QDragEnterEvent refuse(QPoint(10, 10), Qt::CopyAction, &txt, Qt::LeftButton, Qt::NoModifier);
    refuse.setAccepted(false);
    QApplication::sendEvent(w_.get(), &refuse);
    QVERIFY(!refuse.isAccepted());
  }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
