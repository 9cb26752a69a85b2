#pragma once
#include <QColor>
#include <array>

namespace itslab::gui {

// 256-entry colour tables, as ARGB32 values for writing straight into QImage scanlines.
using Lut = std::array<QRgb, 256>;
const Lut& density_lut();   // white → blue, for log-densities (low → high)
const Lut& value_lut();     // dark purple → orange → yellow (plasma-like), for weights/rewards
const Lut& diverging_lut(); // blue → white → red, for signed sample values
inline QRgb lut_at(const Lut& lut, double u) {
  const int i = u <= 0 ? 0 : u >= 1 ? 255 : static_cast<int>(u * 255.0 + 0.5);
  return lut[static_cast<size_t>(i)];
}

} // namespace itslab::gui
