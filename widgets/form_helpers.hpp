#pragma once
// Shared by the parameter panels: the red problem line under a section and the marking of a
// field with a problem.
#include <QLabel>
#include <QMap>
#include <QString>
#include <QStringList>

namespace itslab::gui {

// Shows the messages of a section under it, red, or hides itself when there are none.
class ErrorLabel : public QLabel {
public:
  explicit ErrorLabel(QWidget* parent) : QLabel(parent) {
    setWordWrap(true);
    setStyleSheet("color: #c62828;");
    hide();
  }
  // Every message whose path starts with one of the prefixes.
  void show_for(const QMap<QString, QString>& errors, const QStringList& prefixes) {
    QStringList lines;
    for (auto it = errors.begin(); it != errors.end(); ++it)
      for (const QString& p : prefixes)
        if (it.key() == p || it.key().startsWith(p + ".") || it.key().startsWith(p + "[")) {
          lines << (it.key() + ": " + it.value());
          break;
        }
    setText(lines.join("\n"));
    setVisible(!lines.isEmpty());
  }
};

namespace form_helpers {

void mark(QWidget* w, bool bad);
bool has_prefix(const QMap<QString, QString>& errors, const QString& p);

} // namespace form_helpers

} // namespace itslab::gui
