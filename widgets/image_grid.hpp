#pragma once
#include "core/host.hpp"

#include <QImage>

namespace itslab {

// Image samples (rows of X, C×H×W flattened) as one grayscale or RGB picture: up to `cols`
// tiles per row with a `gap`-pixel border, each tile `zoom`× enlarged. Pixels are
// (x − offset)/scale clipped to [0, 255], the inverse of a model's normalisation.
struct ImageGridStyle {
  int cols = 8, gap = 2, zoom = 1;
  double pixel_scale = 1.0 / 127.5, pixel_offset = -1.0;
};
QImage image_grid(const RowMatrixXf& X, int channels, int height, int width,
                  const ImageGridStyle& style);

} // namespace itslab
