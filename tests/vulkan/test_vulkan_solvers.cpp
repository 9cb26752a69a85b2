// Every registered solver on several built-in presets: the Vulkan backend's final samples match
// the CPU backend's (same preset, same seed) to 1e-4 relative, where relative means
// max_i |x_vulkan − x_cpu| / max_i |x_cpu| over all particles and dimensions. Each case runs
// with this device's own kernel choices and with the ones a discrete GPU gets (storage-buffer
// loads, shared-memory GEMM, staging copies), so the GPU path is checked here too; and with
// float kernels (devices without shaderFloat64, or ITSLAB_VK_PRECISION=f32) to 1e-3.
#include "core/error.hpp"
#include "engine/run.hpp"
#include "io/preset.hpp"
#include "solver/solver.hpp"
#include "vulkan/vulkan_test_util.hpp"

#include <cstring>

using namespace itslab;
using namespace itslab::vulkan_test;

namespace {
RowMatrixXf run(Backend& be, const Preset& p) {
  return sample(be, build_experiment(p), p).samples;
}
std::vector<float> flat(const RowMatrixXf& m) {
  return std::vector<float>(m.data(), m.data() + m.size());
}
} // namespace

class TestVulkanSolvers : public QObject {
  Q_OBJECT
  std::unique_ptr<VulkanBackend> vk_;
  std::unique_ptr<VulkanBackend> gpu_; // the same device with a discrete GPU's choices
  CpuBackend cpu_;

  VulkanBackend& gpu_choices() {
    if (!gpu_) {
      std::string why;
      gpu_ = open(why);
      if (!gpu_)
        throw Error("the device did not open a second time: " + why);
      gpu_->use_gpu_choices();
    }
    return *gpu_;
  }

private slots:
  ITSLAB_VULKAN_FIXTURE

  void allSolversMatchCpu_data() {
    QTest::addColumn<QString>("preset");
    QTest::addColumn<QString>("solver");
    QTest::addColumn<int>("particles");
    // VE/EDM (default), VP (swiss roll), flow (two moons), class-conditional CFG
    for (const char* preset :
         {"default", "swiss-roll-vp-ddim", "two-moons-flow-euler", "eight-gaussians-cfg"})
      for (const std::string& s : solver_types())
        QTest::newRow((std::string(preset) + " " + s).c_str())
            << QString(preset) << QString::fromStdString(s) << 512;
    // 64 dimensions, 10 modes; and the presets' own solvers as shipped
    for (const char* s : {"dpmpp_2m", "heun", "euler_maruyama", "unipc"})
      QTest::newRow((std::string("high-dim-64 ") + s).c_str())
          << QString("high-dim-64-dpmpp2m") << QString(s) << 256;
    for (const char* preset : {"checkerboard-vp-sde", "grid25-edm-heun",
                               "eight-gaussians-class-ancestral", "checkerboard-karras-dpmpp2m"})
      QTest::newRow((std::string(preset) + " (as shipped)").c_str())
          << QString(preset) << QString() << 1024;
  }

  void allSolversMatchCpu() {
    QFETCH(QString, preset);
    QFETCH(QString, solver);
    QFETCH(int, particles);
    Preset p = load_checked_preset(preset.toStdString()).preset;
    if (!solver.isEmpty())
      p.solver = Component{solver.toStdString(), {}, {}, {}};
    p.particles = particles;
    const RowMatrixXf c = run(cpu_, p);
    const auto check = [&](VulkanBackend& be, double tol, const char* what) {
      const RowMatrixXf g = run(be, p);
      QVERIFY(g.allFinite());
      const double rel = rel_diff(flat(g), flat(c));
      QVERIFY2(rel <= tol, qPrintable(QString("%1: relative difference %2").arg(what).arg(rel)));
    };
    check(*vk_, 1e-4, "this device's choices");
    check(gpu_choices(), 1e-4, "a GPU's choices");
    // Float kernels: the mixture's logits, Box–Muller and the norms of the Langevin step size in
    // float drift up to 3e-4 from the CPU's double (measured on lavapipe: pc_langevin on the
    // 2-D presets, Euler–Maruyama in 64-D; the others stay within 3.3e-5). 1e-3 leaves room for
    // other devices' float exp, log, sin and cos.
    const bool f64 = gpu_choices().double_precision();
    gpu_choices().set_double_precision(false);
    check(gpu_choices(), 1e-3, "float kernels");
    gpu_choices().set_double_precision(f64);
  }

  // Fusing each mixture denoiser with the lincomb after it (the default on CPU-type devices)
  // changes no bit of any solver's samples, on presets with and without guidance; 512 particles
  // also take the float4 path of the 2-D kernel (a multiple of its 32 particles per invocation).
  void fusionGivesTheSameBits() {
    const bool f64 = vk_->double_precision();
    for (bool dbl : {true, false}) {
      if (!vk_->set_double_precision(dbl))
        continue;
      for (const char* preset :
           {"default", "eight-gaussians-cfg", "checkerboard-vp-sde", "high-dim-64-dpmpp2m"})
        for (const std::string& s : solver_types()) {
          Preset p = load_checked_preset(preset).preset;
          p.solver = Component{s, {}, {}, {}};
          p.particles = std::string(preset) == "default" ? 512 : 300;
          vk_->set_fusion(false);
          const RowMatrixXf apart = run(*vk_, p);
          vk_->set_fusion(true);
          const RowMatrixXf fused = run(*vk_, p);
          QVERIFY2(std::memcmp(apart.data(), fused.data(), sizeof(float) * apart.size()) == 0,
                   qPrintable(QString("%1 %2 %3").arg(preset).arg(s.c_str()).arg(dbl)));
        }
    }
    vk_->set_double_precision(f64);
    vk_->set_fusion(cpu_type(*vk_));
  }

  // Noise drawn between a step's denoiser and its lincomb (ancestral and SDE solvers) does not
  // keep the two apart: the recorder runs the independent Philox dispatch before the held
  // denoiser, which then fuses with the lincomb. Only the last step (into σ = 0, a one-term
  // lincomb) runs the denoiser alone.
  void noiseBetweenDenoiserAndLincombStillFuses() {
    Preset p = load_checked_preset("default").preset;
    p.solver = Component{"euler_ancestral", {}, {}, {}};
    p.particles = 300;
    const bool fusion = cpu_type(*vk_);
    vk_->set_fusion(true);
    vk_->set_profiling(true);
    run(*vk_, p);
    const auto times = vk_->kernel_times();
    vk_->set_profiling(false);
    vk_->set_fusion(fusion);
    if (times.empty())
      QSKIP("the device's queue has no timestamps");
    int64_t fused = 0, alone = 0;
    for (const auto& [name, t] : times) {
      if (name.rfind("gmm_denoise_lincomb", 0) == 0)
        fused += t.calls;
      else if (name.rfind("gmm_denoise", 0) == 0)
        alone += t.calls;
    }
    const int64_t steps = build_experiment(p).grid.steps();
    QCOMPARE(fused + alone, steps);
    QCOMPARE(fused, steps - 1);
  }

  // The staging path of GPUs with device-local memory (copies through host-visible memory
  // for upload, download and zeroing) gives the same samples.
  void stagingPathMatches() {
    Preset p = load_checked_preset("eight-gaussians-cfg").preset;
    p.particles = 700;
    const RowMatrixXf mapped = run(*vk_, p);
    vk_->set_force_staging(true);
    const RowMatrixXf staged = run(*vk_, p);
    RowMatrixXf init(333, 2);
    for (Eigen::Index i = 0; i < init.size(); ++i)
      init.data()[i] = static_cast<float>(std::sin(0.37 * i));
    RunOptions o;
    o.init = &init;
    const Experiment e = build_experiment(p);
    const RowMatrixXf staged_init = sample(*vk_, e, p, o).samples;
    vk_->set_force_staging(false);
    QCOMPARE(flat(staged), flat(mapped));
    QVERIFY(rel_diff(flat(staged_init), flat(sample(cpu_, e, p, o).samples)) <= 1e-4);
  }

  // A whole run with nothing read back in between is a single submission.
  void wholeRunIsOneSubmission() {
    Preset p = load_checked_preset("default").preset;
    p.particles = 1000;
    const Experiment e = build_experiment(p);
    vk_->sync();
    const int64_t before = vk_->submissions();
    sample(*vk_, e, p);
    QCOMPARE(vk_->submissions() - before, int64_t{1});
  }

  // With a per-step observer the state is read after each step and the run stays correct.
  void observedRunMatches() {
    Preset p = load_checked_preset("default").preset;
    p.particles = 300;
    const Experiment e = build_experiment(p);
    RunOptions o;
    o.snapshot_particles = 10;
    int calls = 0;
    o.on_step = [&](const StepSnapshot& s) {
      ++calls;
      QCOMPARE(s.positions.rows(), Eigen::Index{10});
    };
    const RowMatrixXf g = sample(*vk_, e, p, o).samples;
    QCOMPARE(calls, e.grid.steps());
    QVERIFY(rel_diff(flat(g), flat(run(cpu_, p))) <= 1e-4);
  }
};

QTEST_APPLESS_MAIN(TestVulkanSolvers)
#include "test_vulkan_solvers.moc"
