// Trained networks in the window: the neural presets run (on the CPU backend, few particles and
// steps so the U-Net stays quick on two cores), the Model panel lists the bundled networks and
// builds "nn/<id>" presets, broken model folders are refused inline without changing anything,
// image networks fill the image grid, and fid is labelled as classifier features and swept.
#include "component_form.hpp"
#include "gui_test_util.hpp"
#include "io/preset.hpp"
#include "metric_labels.hpp"
#include "model/neural_model.hpp"
#include "model_panel.hpp"
#include "nfe_curve.hpp"
#include "particles_panel.hpp"
#include "run_panel.hpp"
#include "time_bar.hpp"
#include "trajectory_view.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QLabel>
#include <QLegend>
#include <QLogValueAxis>
#include <QSpinBox>
#include <QTableWidget>
#include <QToolButton>
#include <cstring>
#include <limits>
#include <set>

using namespace itslab;
using namespace itslab::gui;
using namespace itslab::gui::test;
using nlohmann::json;

namespace {

// A built-in preset on the CPU backend with fewer particles (and steps, when given).
json small_preset(const std::string& id, int particles, int steps = 0) {
  json j = json::parse(builtin_preset_text(id));
  j["backend"] = "cpu";
  j["particles"]["count"] = particles;
  if (steps > 0)
    j["schedule"]["steps"] = steps;
  return j;
}

QString bundled(const std::string& id) {
  return QString::fromStdString(bundled_models_dir() + "/" + id);
}

// Copies a bundled model folder to dir/name.
QString copy_model(const QTemporaryDir& dir, const std::string& id, const QString& name) {
  const QString to = dir.filePath(name);
  QDir().mkpath(to);
  for (const char* f : {"config.json", "model.safetensors"})
    QFile::copy(bundled(id) + "/" + f, to + "/" + f);
  return to;
}

QStringList table_keys(const QTableWidget* t) {
  QStringList k;
  for (int r = 0; r < t->rowCount(); ++r)
    k << t->item(r, 0)->text();
  return k;
}

} // namespace

class TestNeural : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<MainWindow> w_;

  bool open(const json& j) {
    return w_->applyPresetText(QString::fromStdString(j.dump()), "test") &&
           wait_settled(*w_, 60000);
  }

private slots:
  void init() { fail_on_bug_warnings(); }
  void initTestCase() {
    QVERIFY2(!bundled_models_dir().empty(), "the bundled models are not found");
    w_ = settled_window(dir_);
    QVERIFY(w_);
  }
  void cleanupTestCase() { w_.reset(); }

  void twoDNetworkPresetsRunOverTheirTrainingDensity() {
    for (const std::string id : {"two-moons-mlp-flow-euler", "checkerboard-mlp-vp-dpmpp2m"}) {
      const QString q = QString::fromStdString(id);
      QVERIFY2(open(small_preset(id, 1024)), qPrintable(q + ": " + w_->session()->lastError()));
      const SetupPtr s = w_->session()->setup();
      QVERIFY(s);
      QVERIFY2(!s->network.empty(), qPrintable(q));
      QVERIFY2(s->model, qPrintable(q)); // the training mixture behind the density view
      QVERIFY(s->image_shape.empty());
      QCOMPARE(static_cast<int>(w_->session()->frames().size()), s->steps + 1);
      QCOMPARE(w_->session()->output()->samples.rows(), 1024);
      QVERIFY2(table_keys(w_->metricsTable()).contains("frechet"), qPrintable(q));
      QVERIFY(w_->view()->isTwoD());
      const QImage img = w_->view()->renderImage();
      std::set<QRgb> colours;
      for (int y = 0; y < img.height(); y += 3)
        for (int x = 0; x < img.width(); x += 3)
          colours.insert(img.pixel(x, y));
      QVERIFY2(colours.size() > 40, qPrintable(q));
      QVERIFY(w_->messageText().isEmpty());
    }
  }

  void unetPresetFillsTheImageGrid() {
    // Heun, 3 steps, 8 particles, cfg: 5 × 2 U-Net calls per particle
    QVERIFY2(open(small_preset("fmnist-unet-cfg", 8, 3)), qPrintable(w_->session()->lastError()));
    const SetupPtr s = w_->session()->setup();
    QCOMPARE(s->image_shape, (std::vector<int>{1, 28, 28}));
    QCOMPARE(static_cast<int>(s->class_names.size()), 10);
    QCOMPARE(s->model_class, 7);
    QVERIFY(!s->model); // no exact density for images
    QCOMPARE(w_->session()->output()->samples.cols(), 784);
    QVERIFY(w_->view()->isImage());
    // the last frame: the samples, as 8 tiles; x̂0 is not recorded unless asked for
    w_->timeBar()->toEnd();
    QImage img = w_->view()->renderImage();
    QCOMPARE(w_->view()->imageTiles(), 8);
    QVERIFY(!w_->view()->showsDenoised());
    for (const FramePtr& f : w_->session()->frames())
      QCOMPARE(f->denoised.rows(), 0);
    std::set<QRgb> greys;
    for (int y = 0; y < img.height(); y += 2)
      for (int x = 0; x < img.width(); x += 2)
        greys.insert(img.pixel(x, y));
    QVERIFY2(greys.size() > 40, qPrintable(QString("%1 colours").arg(greys.size())));
    // x̂0: offered for images; turning it on re-runs, recording it for every frame
    QVERIFY(!w_->denoisedBox()->isHidden());
    const int runs = w_->session()->runsStarted();
    w_->denoisedBox()->setChecked(true);
    QVERIFY(wait_settled(*w_, 60000));
    QCOMPARE(w_->session()->runsStarted(), runs + 1);
    for (const FramePtr& f : w_->session()->frames())
      QCOMPARE(f->denoised.rows(), 8);
    w_->timeBar()->setValue(1);
    w_->view()->renderImage();
    QVERIFY(w_->view()->showsDenoised());
    w_->denoisedBox()->setChecked(false);
    QVERIFY(!w_->session()->recordsDenoised());
    // the classifier metrics, labelled as such
    const QStringList keys = table_keys(w_->metricsTable());
    QVERIFY2(keys.contains("FID (classifier features)"), qPrintable(keys.join(", ")));
    QVERIFY(keys.contains("class accuracy (classifier)"));
    for (int r = 0; r < w_->metricsTable()->rowCount(); ++r)
      if (w_->metricsTable()->item(r, 0)->text().startsWith("FID"))
        QVERIFY(w_->metricsTable()->item(r, 0)->toolTip().contains("not Inception",
                                                                   Qt::CaseInsensitive));
    QCOMPARE(w_->runPanel()->findChild<QCheckBox*>("metric.fid")->text(),
             QString("FID (classifier features)"));
    // the class picker names the network's classes
    QCOMPARE(w_->modelPanel()->classBox()->currentText(), QString("7 Sneaker"));
  }

  void fkSteeringPresetRunsWithRewards() {
    QVERIFY2(open(small_preset("fmnist-unet-fk-steering", 8, 4)),
             qPrintable(w_->session()->lastError()));
    w_->timeBar()->toEnd();
    const FramePtr last = w_->session()->frames().back();
    QVERIFY(last->has_reward);
    QCOMPARE(static_cast<int>(last->reward.size()), 8);
    w_->view()->renderImage();
    QCOMPARE(w_->view()->imageTiles(), 8);
  }

  void choosingABundledNetworkMakesAValidPreset() {
    QVERIFY(open(small_preset("default", 256)));
    auto* box = w_->modelPanel()->modelBox();
    // every bundled denoiser is listed, the classifier is not
    QVERIFY(box->findData("nn/two-moons-flow", Qt::UserRole) >= 0);
    QVERIFY(box->findData("nn/fmnist-unet", Qt::UserRole) >= 0);
    QCOMPARE(box->findData("nn/fmnist-classifier", Qt::UserRole), -1);
    const int moons = box->findData("nn/two-moons-flow", Qt::UserRole);
    QVERIFY(box->itemData(moons, Qt::ToolTipRole).toString().contains("predicts velocity"));
    box->setCurrentIndex(moons);
    QVERIFY(wait_settled(*w_, 30000));
    QVERIFY(w_->session()->isValid());
    QCOMPARE(QString::fromStdString(w_->session()->preset().model_builtin),
             QString("nn/two-moons-flow"));
    QVERIFY(w_->currentJson()["model"] == json({{"builtin", "nn/two-moons-flow"}}));
    QVERIFY(w_->modelPanel()->descriptionLabel()->text().startsWith(
        "trained network: mlp, 2, flow_linear, predicts velocity — approximate"));
    // the process of the run before is kept (the network maps it to its own by log-SNR)
    QCOMPARE(QString::fromStdString(w_->session()->preset().process.type), QString("edm"));
    QVERIFY(w_->session()->output());
    QVERIFY(w_->modelPanel()->errorText().isEmpty());
    // metrics: the model's defaults (against the training mixture)
    QVERIFY(w_->runPanel()->findChild<QCheckBox*>("metric.frechet")->isChecked());
    QVERIFY(table_keys(w_->metricsTable()).contains("frechet"));
    // the U-Net: its class names in the class picker, fid by default
    w_->particlesPanel()->countBox()->setValue(4);
    QVERIFY(wait_settled(*w_, 30000));
    auto* steps = qobject_cast<QSpinBox*>(w_->scheduleForm()->editor("steps"));
    QVERIFY(steps);
    steps->setValue(3);
    QVERIFY(wait_settled(*w_, 30000));
    box->setCurrentIndex(box->findData("nn/fmnist-unet", Qt::UserRole));
    QVERIFY2(wait_settled(*w_, 60000), qPrintable(w_->session()->lastError()));
    QCOMPARE(w_->modelPanel()->classBox()->count(), 11);
    QCOMPARE(w_->modelPanel()->classBox()->itemText(8), QString("7 Sneaker"));
    QCOMPARE(w_->session()->preset().metrics, std::vector<std::string>{"fid"});
    QVERIFY(w_->runPanel()->findChild<QCheckBox*>("metric.fid")->isChecked());
    QVERIFY(!w_->runPanel()->findChild<QCheckBox*>("metric.frechet")->isChecked());
    QVERIFY(w_->view()->isImage());
    QCOMPARE(w_->nfePanel()->metricBox()->currentData().toString(), QString("fid"));
  }

  void brokenModelFoldersAreRefusedInline() {
    QVERIFY(open(small_preset("two-moons-mlp-flow-euler", 256)));
    const Preset before = w_->session()->preset();
    const int runs = w_->session()->runsStarted();
    QTemporaryDir tmp;
    // truncated weights
    const QString cut = copy_model(tmp, "two-moons-flow", "truncated");
    {
      QFile f(cut + "/model.safetensors");
      QVERIFY(f.open(QIODevice::ReadWrite));
      QVERIFY(f.resize(f.size() / 2));
    }
    QVERIFY(!w_->modelPanel()->openModelFolder(cut));
    QString err = w_->modelPanel()->errorText();
    QVERIFY2(err.contains("model.safetensors"), qPrintable(err));
    QVERIFY(QApplication::activeModalWidget() == nullptr);
    // a config without "prediction"
    const QString noPred = copy_model(tmp, "two-moons-flow", "no-prediction");
    {
      QFile f(noPred + "/config.json");
      QVERIFY(f.open(QIODevice::ReadOnly));
      json c = json::parse(f.readAll().toStdString());
      f.close();
      c.erase("prediction");
      QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
      f.write(QByteArray::fromStdString(c.dump(2)));
    }
    QVERIFY(!w_->modelPanel()->openModelFolder(noPred));
    err = w_->modelPanel()->errorText();
    QVERIFY2(err.contains("prediction"), qPrintable(err));
    // a NaN in one tensor: the message names it
    const QString nan = copy_model(tmp, "two-moons-flow", "nan");
    QString tensor;
    {
      QFile f(nan + "/model.safetensors");
      QVERIFY(f.open(QIODevice::ReadWrite));
      const QByteArray head = f.read(8);
      uint64_t n = 0;
      std::memcpy(&n, head.constData(), 8);
      const json h = json::parse(f.read(static_cast<qint64>(n)).toStdString());
      for (const auto& [name, v] : h.items())
        if (name != "__metadata__" && v.value("dtype", "") == "F32") {
          tensor = QString::fromStdString(name);
          QVERIFY(f.seek(8 + static_cast<qint64>(n) + v["data_offsets"][0].get<qint64>()));
          const float x = std::numeric_limits<float>::quiet_NaN();
          f.write(reinterpret_cast<const char*>(&x), sizeof x);
          break;
        }
    }
    QVERIFY(!tensor.isEmpty());
    QVERIFY(!w_->modelPanel()->openModelFolder(nan));
    err = w_->modelPanel()->errorText();
    QVERIFY2(err.contains(tensor), qPrintable(err + " / " + tensor));
    // nothing changed: the same preset, no run, the panel still on the bundled network
    QTest::qWait(100);
    QCOMPARE(w_->session()->runsStarted(), runs);
    QCOMPARE(preset_to_string(w_->session()->preset()), preset_to_string(before));
    QCOMPARE(w_->modelPanel()->modelBox()->currentData(Qt::UserRole).toString(),
             QString("nn/two-moons-flow"));
    // a sound folder becomes the model (model.path) and runs
    const QString good = copy_model(tmp, "two-moons-flow", "good");
    QVERIFY(w_->modelPanel()->openModelFolder(good));
    QVERIFY(w_->modelPanel()->errorText().isEmpty());
    QVERIFY(wait_settled(*w_, 30000));
    QCOMPARE(QString::fromStdString(w_->session()->preset().model_path), good);
    QVERIFY(w_->session()->output());
  }

  void fidSweepOverSolversAndSteps() {
    // conditional sampling without guidance: one U-Net call per NFE
    json j = small_preset("fmnist-unet-cfg", 16, 2);
    j.erase("guidance");
    QVERIFY(open(j));
    NfeCurvePanel* panel = w_->nfePanel();
    QCOMPARE(panel->metricBox()->currentData().toString(), QString("fid"));
    QCOMPARE(panel->metricBox()->currentText(), QString("FID (classifier features)"));
    SweepRequest r = panel->request();
    r.solvers = {"euler", "heun", "dpmpp_2m", "unipc"};
    r.steps = {1, 2};
    r.particles = 16;
    panel->setRequest(r);
    QCOMPARE(panel->request().metric, std::string("fid"));
    QSignalSpy done(w_->session(), &Session::sweepFinished);
    w_->session()->startSweep(panel->request());
    QVERIFY(done.wait(120000));
    const SweepTable& t = w_->session()->sweepTable();
    QCOMPARE(static_cast<int>(t.rows.size()), 8);
    for (const SweepRow& row : t.rows)
      QVERIFY2(row.error.empty() && row.metrics.count("fid"), row.error.c_str());
    NfeCurveChart* chart = panel->chart();
    QCOMPARE(chart->lineCount(), 4);
    QVERIFY(chart->chart()->legend()->isVisible());
    bool logX = false, logY = false;
    for (QAbstractAxis* a : chart->chart()->axes()) {
      if (auto* l = qobject_cast<QLogValueAxis*>(a)) {
        logX = logX || l->titleText() == "NFE";
        logY = logY || l->titleText().contains("(classifier features)");
      }
    }
    QVERIFY(logX && logY);
  }
};

QTEST_MAIN(TestNeural)
#include "test_neural.moc"
