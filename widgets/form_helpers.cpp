// The field marking shared by the parameter panels.
#include "form_helpers.hpp"

namespace itslab::gui::form_helpers {

void mark(QWidget* w, bool bad) {
  w->setStyleSheet(bad ? QString("%1 { border: 1px solid #c62828; background: #ffebee; }")
                             .arg(w->metaObject()->className())
                       : QString());
}
bool has_prefix(const QMap<QString, QString>& errors, const QString& p) {
  for (auto it = errors.begin(); it != errors.end(); ++it)
    if (it.key() == p || it.key().startsWith(p + ".") || it.key().startsWith(p + "["))
      return true;
  return false;
}

} // namespace itslab::gui::form_helpers
