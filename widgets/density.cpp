#include "density.hpp"

#include "colormap.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace itslab::gui {

std::vector<float> mixture_log_density_grid(const GaussianMixture& m, double alpha, double sigma,
                                            const QRectF& rect, int w, int h) {
  std::vector<float> out(static_cast<size_t>(w) * h, -std::numeric_limits<float>::infinity());
  if (m.dim() != 2 || w <= 0 || h <= 0)
    return out;
  struct Comp {
    double mx, my, a, b, c, logc; // precision [[a, b], [b, c]], log weight + normaliser
  };
  std::vector<Comp> comps;
  for (int k = 0; k < m.num_components(); ++k) {
    const double wk = m.weight(k);
    if (!(wk > 0))
      continue;
    const Eigen::VectorXd mu = m.component_mean(k);
    const Eigen::MatrixXd S = m.component_covariance(k);
    const double s2 = sigma * sigma, a2 = alpha * alpha;
    const double sxx = a2 * S(0, 0) + s2, sxy = a2 * S(0, 1), syy = a2 * S(1, 1) + s2;
    const double det = sxx * syy - sxy * sxy;
    if (!(det > 0))
      continue;
    comps.push_back({alpha * mu(0), alpha * mu(1), syy / det, -sxy / det, sxx / det,
                     std::log(wk) - std::log(2 * std::numbers::pi) - 0.5 * std::log(det)});
  }
  if (comps.empty())
    return out;
  std::vector<double> terms(comps.size());
  for (int r = 0; r < h; ++r) {
    const double y = rect.bottom() - (r + 0.5) * rect.height() / h;
    for (int c = 0; c < w; ++c) {
      const double x = rect.left() + (c + 0.5) * rect.width() / w;
      double mx = -std::numeric_limits<double>::infinity();
      for (size_t k = 0; k < comps.size(); ++k) {
        const Comp& q = comps[k];
        const double dx = x - q.mx, dy = y - q.my;
        terms[k] = q.logc - 0.5 * (q.a * dx * dx + 2 * q.b * dx * dy + q.c * dy * dy);
        mx = std::max(mx, terms[k]);
      }
      double s = 0;
      for (double t : terms)
        s += std::exp(t - mx);
      out[static_cast<size_t>(r) * w + c] = static_cast<float>(mx + std::log(s));
    }
  }
  return out;
}

QImage density_image(const std::vector<float>& logp, int w, int h, float range_nats) {
  QImage img(w, h, QImage::Format_RGB32);
  float mx = -std::numeric_limits<float>::infinity();
  for (float v : logp)
    if (std::isfinite(v))
      mx = std::max(mx, v);
  const Lut& lut = density_lut();
  for (int r = 0; r < h; ++r) {
    auto* line = reinterpret_cast<QRgb*>(img.scanLine(r));
    for (int c = 0; c < w; ++c) {
      const float v = logp[static_cast<size_t>(r) * w + c];
      const double u = std::isfinite(v) && std::isfinite(mx) ? 1.0 - (mx - v) / range_nats : 0.0;
      line[c] = lut_at(lut, u);
    }
  }
  return img;
}

} // namespace itslab::gui
