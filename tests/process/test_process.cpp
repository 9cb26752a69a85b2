#include "core/error.hpp"
#include "process/process.hpp"

#include <QtTest>
#include <cmath>

using namespace itslab;

namespace {
std::vector<std::unique_ptr<Process>> all_processes() {
  std::vector<std::unique_ptr<Process>> v;
  for (const char* t : {"vp_linear", "vp_cosine", "ve", "edm", "flow_linear"}) {
    ProcessParams p;
    p.type = t;
    if (p.type == "ve")
      p.sigma_min = 0.01, p.sigma_max = 50;
    v.push_back(make_process(p));
  }
  return v;
}

// Interior times of each process's sampling range.
std::vector<double> times(const Process& P) {
  std::vector<double> t;
  for (double u : {0.02, 0.2, 0.5, 0.8, 0.98})
    t.push_back(P.t_min() + u * (P.t_max() - P.t_min()));
  return t;
}
} // namespace

class TestProcess : public QObject {
  Q_OBJECT
private slots:
  // α̇, σ̇ against central differences (h = 1e-6: truncation ~1e-12, rounding ~1e-10 relative).
  void derivatives() {
    for (const auto& P : all_processes())
      for (double t : times(*P)) {
        const double h = 1e-6 * std::max(1.0, t);
        const double da = (P->alpha(t + h) - P->alpha(t - h)) / (2 * h);
        const double ds = (P->sigma(t + h) - P->sigma(t - h)) / (2 * h);
        QVERIFY2(std::abs(da - P->dalpha(t)) < 1e-6 * (1 + std::abs(da)),
                 qPrintable(QString::fromStdString(P->type())));
        QVERIFY2(std::abs(ds - P->dsigma(t)) < 1e-6 * (1 + std::abs(ds)),
                 qPrintable(QString::fromStdString(P->type())));
      }
  }

  // VP processes preserve variance; VE/EDM keep α = 1; flow is the linear interpolant.
  void definitions() {
    for (const auto& P : all_processes())
      for (double t : times(*P)) {
        const double a = P->alpha(t), s = P->sigma(t);
        if (P->type().rfind("vp", 0) == 0)
          QVERIFY(std::abs(a * a + s * s - 1) < 1e-14);
        else if (P->is_flow())
          QVERIFY(std::abs(a + s - 1) < 1e-15 && std::abs(s - t) < 1e-15);
        else
          QCOMPARE(a, 1.0);
      }
    ProcessParams p;
    p.type = "vp_cosine";
    QVERIFY(std::abs(make_process(p)->alpha(0) - 1) < 1e-15);
  }

  // t(λ(t)) = t to 1e-10 relative, and λ decreases as t grows.
  void lambdaRoundTrip() {
    for (const auto& P : all_processes()) {
      double prev = INFINITY;
      for (double t : times(*P)) {
        const double l = P->lambda(t);
        QVERIFY(l < prev);
        prev = l;
        QVERIFY2(std::abs(P->t_of_lambda(l) - t) < 1e-10 * std::max(1.0, t),
                 qPrintable(QString::fromStdString(P->type()) + " t=" + QString::number(t)));
        QVERIFY(std::abs(P->t_of_sigma_edm(P->sigma_edm(t)) - t) < 1e-10 * std::max(1.0, t));
      }
    }
  }

  // g² = −2σ² λ̇ (note §1.1), with λ̇ by central differences.
  void diffusionCoefficient() {
    for (const auto& P : all_processes())
      for (double t : times(*P)) {
        const double h = 1e-6 * std::max(1.0, t);
        const double dl = (P->lambda(t + h) - P->lambda(t - h)) / (2 * h);
        const double s = P->sigma(t);
        QVERIFY(std::abs(P->g2(t) + 2 * s * s * dl) < 1e-5 * (1 + P->g2(t)));
      }
  }

  // x0 → y → x0 for every prediction type, process and time: all maps are affine with
  // prediction-independent coefficients, so the round trip is exact up to rounding (1e-12).
  void conversionsRoundTrip() {
    const Prediction types[] = {Prediction::eps, Prediction::x0, Prediction::v, Prediction::score,
                                Prediction::velocity};
    for (const auto& P : all_processes())
      for (double t : times(*P)) {
        const ProcessPoint pt = ProcessPoint::at(*P, t);
        const double x = 0.7, x0 = -1.3;
        for (Prediction ty : types) {
          const auto [fx, f0] = from_x0_coefficients(ty, pt);
          const double y = fx * x + f0 * x0;
          const auto [gx, gy] = x0_coefficients(ty, pt);
          QVERIFY2(std::abs(gx * x + gy * y - x0) < 1e-12 * (1 + std::abs(y) + std::abs(x)),
                   qPrintable(QString::fromStdString(P->type() + " " + to_string(ty))));
          QCOMPARE(prediction_from_string(to_string(ty)), ty);
        }
        // consistency between types: eps = (x − α x0)/σ, score = −eps/σ
        const auto [ex, e0] = from_x0_coefficients(Prediction::eps, pt);
        const auto [sx, s0] = from_x0_coefficients(Prediction::score, pt);
        const double eps = ex * x + e0 * x0, score = sx * x + s0 * x0;
        QVERIFY(std::abs(eps - (x - pt.alpha * x0) / pt.sigma) < 1e-12 * (1 + std::abs(eps)));
        QVERIFY(std::abs(score + eps / pt.sigma) < 1e-12 * (1 + std::abs(score)));
        // the velocity is the ODE drift α̇ x0 + σ̇ eps
        const auto [ux, u0] = from_x0_coefficients(Prediction::velocity, pt);
        QVERIFY(std::abs(ux * x + u0 * x0 - (pt.dalpha * x0 + pt.dsigma * eps)) < 1e-10);
      }
    QVERIFY_THROWS_EXCEPTION(Error, prediction_from_string("noise"));
  }

  void unknownType() {
    ProcessParams p;
    p.type = "vp_quadratic";
    try {
      make_process(p);
      QFAIL("expected an error");
    } catch (const Error& e) {
      QVERIFY(QString(e.what()).startsWith("process.type: unknown process 'vp_quadratic'"));
    }
  }
};

QTEST_APPLESS_MAIN(TestProcess)
#include "test_process.moc"
