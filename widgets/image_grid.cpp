#include "image_grid.hpp"

#include <QColor>
#include <algorithm>
#include <cmath>

namespace itslab {

QImage image_grid(const RowMatrixXf& X, int channels, int height, int width,
                  const ImageGridStyle& s) {
  const int n = static_cast<int>(X.rows());
  const int cols = std::max(1, std::min(s.cols, n));
  const int rows = n == 0 ? 0 : (n + cols - 1) / cols;
  const int tw = width * s.zoom, th = height * s.zoom;
  QImage img(std::max(1, s.gap + cols * (tw + s.gap)), std::max(1, s.gap + rows * (th + s.gap)),
             QImage::Format_RGB32);
  img.fill(QColor(64, 64, 64));
  const auto pixel = [&](float x) {
    const double v = (static_cast<double>(x) - s.pixel_offset) / s.pixel_scale;
    return std::isfinite(v) ? static_cast<int>(std::lround(std::clamp(v, 0.0, 255.0))) : 0;
  };
  const int plane = height * width;
  for (int i = 0; i < n; ++i) {
    const int x0 = s.gap + (i % cols) * (tw + s.gap), y0 = s.gap + (i / cols) * (th + s.gap);
    for (int y = 0; y < th; ++y) {
      auto* line = reinterpret_cast<QRgb*>(img.scanLine(y0 + y));
      for (int x = 0; x < tw; ++x) {
        const int k = (y / s.zoom) * width + x / s.zoom;
        const int r = pixel(X(i, k));
        line[x0 + x] = channels >= 3 ? qRgb(r, pixel(X(i, plane + k)), pixel(X(i, 2 * plane + k)))
                                     : qRgb(r, r, r);
      }
    }
  }
  return img;
}

} // namespace itslab
