// The bundled networks on the Vulkan backend: every model against the PyTorch vectors (the same
// check and tolerance as the CPU suite, tests/model/neural_parity.hpp), and a whole sampling run
// of a 2-D network against the CPU backend.
#include "backend/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#include "engine/experiment.hpp"
#include "engine/run.hpp"
#include "io/preset.hpp"
#include "model/neural_parity.hpp"
#include "vulkan/vulkan_test_util.hpp"

using namespace itslab;

class TestVulkanModels : public QObject {
  Q_OBJECT
  std::unique_ptr<VulkanBackend> vk_;

private slots:
  ITSLAB_VULKAN_FIXTURE

  void parity_data() {
    QTest::addColumn<QString>("id");
    for (const std::string& id : bundled_model_ids())
      QTest::newRow(id.c_str()) << QString::fromStdString(id);
  }
  void parity() {
    QFETCH(QString, id);
    for (const test::ParityResult& r :
         test::neural_parity(*vk_, bundled_models_dir(), id.toStdString())) {
      qInfo("%s: max |error| %.3g, max |ref| %.3g", r.what.c_str(), r.max_error, r.max_ref);
      QVERIFY2(r.ok(), r.what.c_str());
    }
  }

  // 20 DPM-Solver++(2M) steps of the checkerboard VP network from the same noise on both
  // backends: each network call agrees to ~1e-6 of its scale (parity above), and the
  // deterministic solver carries those differences to the end without amplifying them much.
  void samplingMatchesTheCpuBackend() {
    Preset p = load_checked_preset("checkerboard-mlp-vp-dpmpp2m").preset;
    p.particles = 512;
    const Experiment e = build_experiment(p);
    CpuBackend cpu;
    const RowMatrixXf a = sample(cpu, e, p).samples;
    const RowMatrixXf b = sample(*vk_, e, p).samples;
    const double diff = (a - b).cwiseAbs().maxCoeff();
    qInfo("max |vulkan − cpu| after 20 steps: %.3g (sample scale %.3g)", diff,
          a.cwiseAbs().maxCoeff());
    QVERIFY2(diff < 1e-3, qPrintable(QString::number(diff)));
  }
};

QTEST_APPLESS_MAIN(TestVulkanModels)
#include "test_vulkan_models.moc"
