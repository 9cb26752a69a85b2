#include "colormap.hpp"

#include <algorithm>
#include <initializer_list>
#include <utility>

namespace itslab::gui {

namespace {
Lut make(std::initializer_list<std::pair<double, QRgb>> stops) {
  Lut lut{};
  const auto* s = stops.begin();
  const size_t n = stops.size();
  for (int i = 0; i < 256; ++i) {
    const double u = i / 255.0;
    size_t k = 0;
    while (k + 2 < n && u > s[k + 1].first)
      ++k;
    const double a = s[k].first, b = s[k + 1].first;
    const double f = b > a ? std::clamp((u - a) / (b - a), 0.0, 1.0) : 0.0;
    auto mix = [&](int c0, int c1) { return static_cast<int>(c0 + f * (c1 - c0) + 0.5); };
    const QRgb c0 = s[k].second, c1 = s[k + 1].second;
    lut[static_cast<size_t>(i)] =
        qRgb(mix(qRed(c0), qRed(c1)), mix(qGreen(c0), qGreen(c1)), mix(qBlue(c0), qBlue(c1)));
  }
  return lut;
}
} // namespace

const Lut& density_lut() {
  // ColorBrewer "Blues", from near-white to deep blue
  static const Lut lut = make({{0.0, qRgb(0xfb, 0xfd, 0xff)},
                               {0.25, qRgb(0xde, 0xeb, 0xf7)},
                               {0.5, qRgb(0x9e, 0xca, 0xe1)},
                               {0.75, qRgb(0x42, 0x92, 0xc6)},
                               {1.0, qRgb(0x08, 0x45, 0x94)}});
  return lut;
}

const Lut& value_lut() {
  // plasma, cut before its palest yellow so points stay visible on a light background
  static const Lut lut = make({{0.0, qRgb(0x0d, 0x08, 0x87)},
                               {0.25, qRgb(0x7e, 0x03, 0xa8)},
                               {0.5, qRgb(0xcc, 0x47, 0x78)},
                               {0.75, qRgb(0xf8, 0x95, 0x40)},
                               {1.0, qRgb(0xe8, 0xc0, 0x10)}});
  return lut;
}

const Lut& diverging_lut() {
  static const Lut lut = make({{0.0, qRgb(0x21, 0x66, 0xac)},
                               {0.25, qRgb(0x92, 0xc5, 0xde)},
                               {0.5, qRgb(0xf7, 0xf7, 0xf7)},
                               {0.75, qRgb(0xf4, 0xa5, 0x82)},
                               {1.0, qRgb(0xb2, 0x18, 0x2b)}});
  return lut;
}

} // namespace itslab::gui
