#include "sci_spinbox.hpp"

#include <QLocale>

namespace itslab::gui {

SciSpinBox::SciSpinBox(QWidget* parent) : QDoubleSpinBox(parent) {
  setDecimals(12);
  setStepType(QAbstractSpinBox::AdaptiveDecimalStepType);
  setKeyboardTracking(true);
  setAccelerated(true);
  setCorrectionMode(QAbstractSpinBox::CorrectToPreviousValue);
}

QString SciSpinBox::textFromValue(double v) const {
  return QLocale::c().toString(v, 'g', QLocale::FloatingPointShortest);
}

double SciSpinBox::valueFromText(const QString& text) const {
  bool ok = false;
  const double v = QLocale::c().toDouble(text.trimmed(), &ok);
  return ok ? v : value();
}

QValidator::State SciSpinBox::validate(QString& text, int&) const {
  const QString t = text.trimmed();
  if (t.isEmpty() || t == "-" || t == "+" || t.endsWith('e', Qt::CaseInsensitive) ||
      t.endsWith("e-", Qt::CaseInsensitive) || t.endsWith("e+", Qt::CaseInsensitive) ||
      t.endsWith('.'))
    return QValidator::Intermediate;
  bool ok = false;
  const double v = QLocale::c().toDouble(t, &ok);
  if (!ok)
    return QValidator::Invalid;
  return v >= minimum() && v <= maximum() ? QValidator::Acceptable : QValidator::Intermediate;
}

void SciSpinBox::fixup(QString& input) const {
  input = textFromValue(value());
}

} // namespace itslab::gui
