#pragma once
#include <QString>

class QWidget;

namespace itslab::gui {

// The widget as seen (device pixels) to a PNG; `preset` (JSON) goes into an "itslab.preset"
// text chunk, so dropping the image back onto the app restores the experiment.
bool export_png(QWidget* w, const QString& path, const QString& preset, QString* error);
// The widget as SVG at 96 dpi (so text keeps its size against the geometry).
bool export_svg(QWidget* w, const QString& path, const QString& title, QString* error);
// Text (CSV) in UTF-8, written atomically.
bool export_text(const QString& text, const QString& path, QString* error);
// The preset embedded in a PNG written by export_png, or an empty string.
QString preset_from_png(const QString& path);

} // namespace itslab::gui
