#include "backend/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#include "engine/run.hpp"
#include "guidance/cfg.hpp"

#include <QtTest>
#include <cmath>

using namespace itslab;

namespace {

Preset preset(const std::string& guidance, int cls = 2, int steps = 30, int64_t n = 2000) {
  const std::string text =
      R"({"schema": "itslab.preset/1", "seed": 5, "model": {"builtin": "gmm/eight-gaussians", "class": )" +
      std::to_string(cls) +
      R"(}, "process": {"type": "edm"}, "schedule": {"type": "karras", "steps": )" +
      std::to_string(steps) + R"(}, "solver": {"type": "heun"}, "particles": {"count": )" +
      std::to_string(n) + R"(}, "metrics": [])" + (guidance.empty() ? "" : ", " + guidance) + "}";
  return parse_checked_preset(text, "test").preset;
}

RowMatrixXf run(const Preset& p) {
  CpuBackend be;
  return sample(be, build_experiment(p), p).samples;
}

double rms(const RowMatrixXf& a, const RowMatrixXf& b) {
  return std::sqrt((a - b).cast<double>().squaredNorm() / a.rows());
}

double mean_class_logprob(const GaussianMixture& g, const RowMatrixXf& X, int c) {
  double s = 0;
  for (int i = 0; i < X.rows(); ++i)
    s += g.class_log_prob(X.row(i).transpose().cast<double>(), 1, 0, c);
  return s / X.rows();
}

} // namespace

class TestCfg : public QObject {
  Q_OBJECT
private slots:
  // The guided denoiser is D_u + w (D_c − D_u), so the guided score is the score of
  // p_t(x|c)^w p_t(x)^{1−w}: checked against the exact host posterior means (float rounding,
  // 1e-5) and against central differences of that log-density (1e-5 relative).
  void guidedDenoiserClosedForm() {
    const GaussianMixture g = builtin_gmm("gmm/eight-gaussians");
    const double w = 3;
    CfgModel cfg(g, {w});
    CpuBackend be;
    const int n = 50;
    Tensor x = be.alloc(n, 2), out = be.alloc(n, 2);
    be.fill_normal(x, {1, 0, 0, 0});
    be.lincomb(x, {{&x, 2.0}});
    std::vector<float> hx(2 * n), ho(2 * n);
    be.download(x, hx.data());
    for (double sigma : {0.3, 1.0, 4.0}) {
      const ProcessPoint pt{1.0, sigma, 0.0, 1.0};
      cfg.denoise(be, out, x, sigma, pt, 2);
      be.download(out, ho.data());
      for (int i = 0; i < n; ++i) {
        const Eigen::Vector2d xi(hx[2 * i], hx[2 * i + 1]);
        const Eigen::Vector2d want =
            g.posterior_mean(xi, 1, sigma, -1) +
            w * (g.posterior_mean(xi, 1, sigma, 2) - g.posterior_mean(xi, 1, sigma, -1));
        QVERIFY(std::abs(ho[2 * i] - want[0]) < 1e-5 * (1 + std::abs(want[0])));
        QVERIFY(std::abs(ho[2 * i + 1] - want[1]) < 1e-5 * (1 + std::abs(want[1])));
        // score (D − x)/σ² against ∇[w log p(x|c) + (1−w) log p(x)]
        const double h = 1e-5;
        for (int j = 0; j < 2; ++j) {
          Eigen::Vector2d e = Eigen::Vector2d::Zero();
          e[j] = h;
          auto logq = [&](const Eigen::Vector2d& y) {
            return w * g.log_prob(y, 1, sigma, 2) + (1 - w) * g.log_prob(y, 1, sigma);
          };
          const double fd = (logq(xi + e) - logq(xi - e)) / (2 * h);
          const double score = (want[j] - xi[j]) / (sigma * sigma);
          QVERIFY(std::abs(score - fd) < 1e-5 * (1 + std::abs(fd)));
        }
      }
    }
  }

  // w = 1 is the conditional model and w = 0 the unconditional one; an interval that excludes
  // every step leaves the conditional run untouched.
  void limits() {
    const RowMatrixXf cond = run(preset(""));
    QVERIFY(rms(run(preset(R"("guidance": {"type": "cfg", "scale": 1})")), cond) == 0);
    QVERIFY(rms(run(preset(R"("guidance": {"type": "cfg", "scale": 3, "interval": [1000, 2000]})")),
                cond) == 0);
    Preset u = preset("");
    u.model_class = -1;
    QVERIFY(rms(run(preset(R"("guidance": {"type": "cfg", "scale": 0})")), run(u)) < 1e-6);
  }

  // Stronger guidance pushes samples deeper into the class: the mean exact log p(c | x0)
  // of the final samples increases with w (0 → 1 → 4), and the guided run lands off-mode less.
  void strengthIncreasesClassProbability() {
    const GaussianMixture g = builtin_gmm("gmm/eight-gaussians");
    double prev = -1e9;
    for (const char* w : {"0", "1", "4"}) {
      const double lp = mean_class_logprob(
          g, run(preset(std::string(R"("guidance": {"type": "cfg", "scale": )") + w + "}")), 2);
      qInfo("w = %s: mean log p(c|x0) = %.4f", w, lp);
      QVERIFY(lp > prev);
      prev = lp;
    }
  }

  // φ = 1: the guided ε gets the conditional ε's per-sample standard deviation (unbiased).
  void rescale() {
    const GaussianMixture g = builtin_gmm("gmm/eight-gaussians");
    CfgModel cfg(g, {5, -1e9, 1e9, 1.0});
    CpuBackend be;
    const int n = 8;
    Tensor x = be.alloc(n, 2), out = be.alloc(n, 2), dc = be.alloc(n, 2);
    be.fill_normal(x, {2, 0, 0, 0});
    const double sigma = 0.8;
    const ProcessPoint pt{1.0, sigma, 0.0, 1.0};
    cfg.denoise(be, out, x, sigma, pt, 2);
    g.denoise(be, dc, x, sigma, pt, 2);
    std::vector<float> hx(2 * n), ho(2 * n), hc(2 * n);
    be.download(x, hx.data());
    be.download(out, ho.data());
    be.download(dc, hc.data());
    for (int i = 0; i < n; ++i) {
      // for d = 2 the unbiased std of (e0, e1) is |e0 − e1|/√2
      const double ef = std::abs((hx[2 * i] - ho[2 * i]) - (hx[2 * i + 1] - ho[2 * i + 1])) / sigma;
      const double ec = std::abs((hx[2 * i] - hc[2 * i]) - (hx[2 * i + 1] - hc[2 * i + 1])) / sigma;
      QVERIFY(std::abs(ef - ec) < 1e-4 * (1 + ec));
    }
  }

  void validation() {
    for (const auto& [text, want] :
         {std::pair{std::string(R"("guidance": {"type": "cfg"})"), "model.class"},
          std::pair{std::string(R"("guidance": {"type": "cfg", "interval": [2, 1]})"),
                    "guidance.interval"},
          std::pair{std::string(R"("guidance": {"type": "cfg", "scale": -1})"), "guidance.scale"},
          std::pair{std::string(R"("guidance": {"type": "pag"})"), "guidance.type"}}) {
      try {
        preset(text, std::string(want) == "model.class" ? -1 : 2);
        QFAIL("expected an error");
      } catch (const Error& e) {
        QVERIFY2(QString(e.what()).contains(want), e.what());
      }
    }
  }
};

QTEST_APPLESS_MAIN(TestCfg)
#include "test_cfg.moc"
