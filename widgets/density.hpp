#pragma once
#include "model/gaussian_mixture.hpp"

#include <QImage>
#include <QRectF>
#include <vector>

namespace itslab::gui {

// log p_t(x) of a 2-D mixture on a w × h grid of pixel centres over `rect` (data coordinates;
// row 0 is the top, i.e. the largest y). Under x_t = αx0 + σε the marginal of a mixture is the
// mixture with means αμ_k and covariances α²Σ_k + σ²I, so this is exact.
std::vector<float> mixture_log_density_grid(const GaussianMixture& m, double alpha, double sigma,
                                            const QRectF& rect, int w, int h);

// Colours a log-density grid through density_lut(), clipped to [max − range, max] nats.
QImage density_image(const std::vector<float>& logp, int w, int h, float range_nats = 8.f);

} // namespace itslab::gui
