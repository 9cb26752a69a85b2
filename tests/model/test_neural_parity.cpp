#include "backend/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#include "io/safetensors.hpp"
#include "metric/frechet.hpp"
#include "model/neural_parity.hpp"

#include <QtTest>
#include <cstdlib>
#include <cstring>
#include <filesystem>

using namespace itslab;

namespace {

RowMatrixXf download(Backend& be, const Tensor& t) {
  RowMatrixXf m(t.rows(), t.cols());
  be.download(t, m.data());
  return m;
}

// Points of both the network's process and another one at the same λ: x_other = (α_o/α)·x.
struct Pair {
  double t_own, t_other;
  ProcessPoint own, other;
};
Pair at_equal_lambda(const Process& own, const Process& other, double t_other) {
  const ProcessPoint po = ProcessPoint::at(other, t_other);
  const double t_own = own.t_of_lambda(std::log(po.alpha) - std::log(po.sigma));
  return {t_own, t_other, ProcessPoint::at(own, t_own), po};
}

// x̂0 from the raw network output at its own time, per row (the forward() path).
RowMatrixXf x0_by_forward(Backend& be, const NeuralModel& m, const RowMatrixXf& x, double t,
                          int cls) {
  const int64_t n = x.rows();
  const Tensor xt = test::upload_matrix(be, x);
  const Tensor tt = test::upload_matrix(be, RowMatrixXf::Constant(n, 1, static_cast<float>(t)));
  Tensor out = be.alloc(n, m.dim());
  std::vector<int64_t> y;
  if (m.config().architecture == "unet")
    y.assign(static_cast<size_t>(n), cls < 0 ? m.config().null_class : cls);
  m.forward(be, out, xt, tt, y);
  const auto [cx, cy] = x0_coefficients(m.config().prediction, ProcessPoint::at(m.process(), t));
  return cx * x + cy * download(be, out);
}

RowMatrixXf x0_by_denoise(Backend& be, const NeuralModel& m, const RowMatrixXf& x, double t,
                          const ProcessPoint& pt, int cls) {
  const Tensor xt = test::upload_matrix(be, x);
  Tensor x0 = be.alloc(x.rows(), x.cols());
  m.denoise(be, x0, xt, t, pt, cls);
  return download(be, x0);
}

RowMatrixXf noisy(const NeuralModel& m, int64_t n, const ProcessPoint& pt, uint32_t seed) {
  RowMatrixXf x0(n, m.dim()), eps(n, m.dim());
  CpuBackend be;
  Tensor a = be.alloc(n, m.dim()), b = be.alloc(n, m.dim());
  be.fill_normal(a, {seed, 0, 0, 0});
  be.fill_normal(b, {seed, 1, 0, 0});
  x0 = download(be, a), eps = download(be, b);
  return static_cast<float>(pt.alpha) * x0 + static_cast<float>(pt.sigma) * eps;
}

double rel_error(const RowMatrixXf& a, const RowMatrixXf& b) {
  return (a - b).cwiseAbs().maxCoeff() / std::max(1.0f, b.cwiseAbs().maxCoeff());
}

} // namespace

class TestNeuralParity : public QObject {
  Q_OBJECT
private slots:
  void bundledModelsAreFound() {
    QVERIFY(!bundled_models_dir().empty());
    const std::vector<std::string> ids = bundled_model_ids();
    QCOMPARE(ids.size(), size_t{10});
    for (const std::string& id : ids)
      QVERIFY2(std::filesystem::exists(test::reference_dir(id) + "/out.npy"), id.c_str());
  }

  void environmentOverridesTheModelsDir() {
    QTemporaryDir tmp;
    std::filesystem::create_directory(tmp.path().toStdString() + "/only-one");
    std::filesystem::copy(bundled_models_dir() + "/two-moons-flow/config.json",
                          tmp.path().toStdString() + "/only-one/config.json");
    qputenv("ITSLAB_MODELS", tmp.path().toUtf8());
    const std::vector<std::string> ids = bundled_model_ids();
    qunsetenv("ITSLAB_MODELS");
    QCOMPARE(ids, std::vector<std::string>{"only-one"});
  }

  void parity_data() {
    QTest::addColumn<QString>("id");
    for (const std::string& id : bundled_model_ids())
      QTest::newRow(id.c_str()) << QString::fromStdString(id);
  }
  // Every bundled network on the CPU backend against PyTorch (tolerance: neural_parity.hpp).
  void parity() {
    QFETCH(QString, id);
    CpuBackend be;
    for (const test::ParityResult& r :
         test::neural_parity(be, bundled_models_dir(), id.toStdString())) {
      qInfo("%s: max |error| %.3g, max |ref| %.3g", r.what.c_str(), r.max_error, r.max_ref);
      QVERIFY2(r.ok(), r.what.c_str());
    }
  }

  // At the network's own process, denoise() (shared time folded into the biases) equals
  // forward() with a time per row plus the prediction conversion: the two paths differ only in
  // float summation order (~1e-6 of the output scale; 1e-5 allows for eps-prediction's σ/α
  // gain at this t).
  void denoiseAtOwnProcessEqualsForward_data() {
    QTest::addColumn<QString>("id");
    QTest::addColumn<double>("t");
    QTest::addColumn<int>("cls");
    QTest::newRow("two-moons-flow t=0.7") << "two-moons-flow" << 0.7 << -1;
    QTest::newRow("two-moons-vp t=0.3") << "two-moons-vp" << 0.3 << -1;
    QTest::newRow("fmnist-unet t=0.5 class 3") << "fmnist-unet" << 0.5 << 3;
    QTest::newRow("fmnist-unet t=0.9 null") << "fmnist-unet" << 0.9 << -1;
  }
  void denoiseAtOwnProcessEqualsForward() {
    QFETCH(QString, id);
    QFETCH(double, t);
    QFETCH(int, cls);
    CpuBackend be;
    const auto m = NeuralModel::load(bundled_models_dir() + "/" + id.toStdString());
    const ProcessPoint pt = ProcessPoint::at(m->process(), t);
    const RowMatrixXf x = noisy(*m, m->config().is_image() ? 3 : 257, pt, 5);
    const double err =
        rel_error(x0_by_denoise(be, *m, x, t, pt, cls), x0_by_forward(be, *m, x, t, cls));
    qInfo("relative difference %.3g", err);
    QVERIFY(err <= 1e-5);
  }

  // A model sampled under another process sees, at equal λ, exactly the input of its own
  // process scaled by α/α': x̂0 must agree to float rounding (x scaled in float, t' through
  // t_of_lambda in double).
  void denoiseUnderAnotherProcessAtEqualLambda_data() {
    QTest::addColumn<QString>("id");
    QTest::addColumn<QString>("process");
    QTest::addColumn<double>("t");
    QTest::newRow("flow under vp_linear") << "two-moons-flow"
                                          << "vp_linear" << 0.4;
    QTest::newRow("flow under edm") << "two-moons-flow"
                                    << "edm" << 2.5;
    QTest::newRow("vp under flow_linear") << "swiss-roll-vp"
                                          << "flow_linear" << 0.35;
    QTest::newRow("vp under edm") << "pinwheel-vp"
                                  << "edm" << 0.8;
    QTest::newRow("unet under vp_cosine") << "fmnist-unet"
                                          << "vp_cosine" << 0.6;
  }
  void denoiseUnderAnotherProcessAtEqualLambda() {
    QFETCH(QString, id);
    QFETCH(QString, process);
    QFETCH(double, t);
    CpuBackend be;
    const auto m = NeuralModel::load(bundled_models_dir() + "/" + id.toStdString());
    ProcessParams pp;
    pp.type = process.toStdString();
    const auto other = make_process(pp);
    const Pair p = at_equal_lambda(m->process(), *other, t);
    QVERIFY(p.t_own > 0 && p.t_own < 1);
    const RowMatrixXf x_own = noisy(*m, m->config().is_image() ? 2 : 300, p.own, 9);
    const RowMatrixXf x_other = static_cast<float>(p.other.alpha / p.own.alpha) * x_own;
    const int cls = m->num_classes() > 0 ? 7 : -1;
    const RowMatrixXf a = x0_by_denoise(be, *m, x_own, p.t_own, p.own, cls);
    const RowMatrixXf b = x0_by_denoise(be, *m, x_other, p.t_other, p.other, cls);
    const double err = rel_error(b, a);
    qInfo("t' = %.6f, relative difference %.3g", p.t_own, err);
    QVERIFY(err <= 1e-5);
  }

  // At t = 0 (σ = 0) every denoiser returns its input, whatever the process.
  void denoiseAtZeroNoiseIsIdentity() {
    CpuBackend be;
    for (const char* id : {"checkerboard-flow", "checkerboard-vp"}) {
      const auto m = NeuralModel::load(bundled_models_dir() + "/" + id);
      const RowMatrixXf x = RowMatrixXf::Random(16, 2);
      const RowMatrixXf x0 = x0_by_denoise(be, *m, x, 0.0, {1, 0, 0, 1}, -1);
      QVERIFY2((x0 - x).cwiseAbs().maxCoeff() <= 1e-6f, id);
    }
  }

  // Pure noise of a flow (α = 0) lies beyond a VP network's t' = 1: it is evaluated at t' = 1
  // with x matched by noise level, x' = (σ'/σ)·x, which is what x̂0 must then equal.
  void denoiseBeyondTheTrainedRangeClampsToItsEnd() {
    CpuBackend be;
    const auto m = NeuralModel::load(bundled_models_dir() + "/two-moons-vp");
    const ProcessPoint end = ProcessPoint::at(m->process(), 1.0);
    const RowMatrixXf x = noisy(*m, 64, {0, 1, -1, 1}, 3);
    const RowMatrixXf a = x0_by_denoise(be, *m, x, 1.0, {0, 1, -1, 1}, -1);
    QVERIFY(a.allFinite());
    const RowMatrixXf b = x0_by_denoise(be, *m, static_cast<float>(end.sigma) * x, 1.0, end, -1);
    QVERIFY(rel_error(a, b) <= 1e-5);
  }

  void denoiseChecksArguments() {
    CpuBackend be;
    const auto flow = NeuralModel::load(bundled_models_dir() + "/two-moons-flow");
    Tensor x = be.alloc(4, 2), x0 = be.alloc(4, 2), wrong = be.alloc(4, 3);
    const ProcessPoint pt = ProcessPoint::at(flow->process(), 0.5);
    QVERIFY_THROWS_EXCEPTION(Error, flow->denoise(be, x0, x, 0.5, pt, 0)); // unconditional
    QVERIFY_THROWS_EXCEPTION(Error, flow->denoise(be, wrong, x, 0.5, pt, -1));
    const auto unet = NeuralModel::load(bundled_models_dir() + "/fmnist-unet");
    Tensor xi = be.alloc(1, 784), yi = be.alloc(1, 784);
    QVERIFY_THROWS_EXCEPTION(Error, unet->denoise(be, yi, xi, 0.5, pt, 10)); // null is not a class
    Tensor t = be.alloc(1, 1);
    QVERIFY_THROWS_EXCEPTION(Error, unet->forward(be, yi, xi, t, {11}));
  }

  // log p(c | x) = logits_c − logsumexp(logits), from PyTorch's logits; and the shipped
  // Fréchet statistics (F64) are read exactly: the distance of the reference to itself is 0.
  void classifierLogProbAndReference() {
    CpuBackend be;
    const auto clf = Classifier::load(bundled_models_dir() + "/fmnist-classifier");
    const std::string dir = test::reference_dir("fmnist-classifier");
    const RowMatrixXf x = read_npy(dir + "/x.npy"), logits = read_npy(dir + "/out.npy");
    Tensor lp = be.alloc(x.rows(), 1);
    clf->log_prob(be, lp, test::upload_matrix(be, x), 4);
    const RowMatrixXf got = download(be, lp);
    for (int64_t i = 0; i < x.rows(); ++i) {
      const Eigen::RowVectorXd l = logits.row(i).cast<double>();
      const double ref = l(4) - (l.maxCoeff() + std::log((l.array() - l.maxCoeff()).exp().sum()));
      QVERIFY(std::abs(got(i, 0) - ref) <= 1e-4 * std::max(1.0, std::abs(ref)));
    }
    QVERIFY_THROWS_EXCEPTION(Error, clf->log_prob(be, lp, test::upload_matrix(be, x), 10));
    const Gaussian& ref = clf->reference();
    QCOMPARE(ref.mean.size(), Eigen::Index{128});
    QCOMPARE(ref.cov.rows(), Eigen::Index{128});
    QVERIFY(ref.cov.trace() > 0);
    QVERIFY(std::abs(frechet_distance(ref, ref)) <= 1e-4);
    // bit for bit the doubles in the file, not their float32 rounding
    const std::string path = bundled_models_dir() + "/fmnist-classifier/model.safetensors";
    const SafetensorsFile file = SafetensorsFile::open(path);
    const std::string bytes = read_file(path);
    uint64_t header = 0;
    std::memcpy(&header, bytes.data(), 8);
    for (const auto& [name, value] :
         {std::pair{"fd.test.mu", ref.mean(3)}, std::pair{"fd.test.sigma", ref.cov(5, 7)}}) {
      const SafetensorsEntry* e = file.find(name);
      QVERIFY(e && e->dtype == "F64");
      double stored = 0;
      const size_t index = std::string(name) == "fd.test.mu" ? 3 : 5 * 128 + 7;
      std::memcpy(&stored, bytes.data() + 8 + header + e->begin + 8 * index, 8);
      QCOMPARE(value, stored);
    }
  }
};

QTEST_APPLESS_MAIN(TestNeuralParity)
#include "test_neural_parity.moc"
