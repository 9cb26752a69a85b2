#include "export.hpp"

#include "core/file_io.hpp"

#include <QImageReader>
#include <QImageWriter>
#include <QPainter>
#include <QSvgGenerator>
#include <QWidget>
#include <exception>

namespace itslab::gui {

bool export_png(QWidget* w, const QString& path, const QString& preset, QString* error) {
  QImage img = w->grab().toImage();
  QImageWriter out(path, "png");
  if (!preset.isEmpty())
    out.setText("itslab.preset", preset);
  out.setText("Software", "ITS Lab");
  if (!out.write(img)) {
    if (error)
      *error = path + ": " + out.errorString();
    return false;
  }
  return true;
}

bool export_svg(QWidget* w, const QString& path, const QString& title, QString* error) {
  QSvgGenerator gen;
  gen.setFileName(path);
  gen.setSize(w->size());
  gen.setViewBox(QRect(QPoint(0, 0), w->size()));
  gen.setResolution(96);
  gen.setTitle(title);
  gen.setDescription("ITS Lab");
  QPainter p;
  if (!p.begin(&gen)) {
    if (error)
      *error = path + ": cannot write";
    return false;
  }
  w->render(&p);
  p.end();
  return true;
}

bool export_text(const QString& text, const QString& path, QString* error) {
  try {
    write_file_atomic(path.toStdString(), text.toStdString());
    return true;
  } catch (const std::exception& e) {
    if (error)
      *error = QString::fromStdString(e.what());
    return false;
  }
}

QString preset_from_png(const QString& path) {
  QImageReader r(path);
  return r.text("itslab.preset");
}

} // namespace itslab::gui
