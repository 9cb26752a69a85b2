#pragma once
#include <QDoubleSpinBox>

namespace itslab::gui {

// A QDoubleSpinBox that shows values in the shortest exact form ("0.002", "1e+09") instead of
// a fixed number of decimals, and steps adaptively (one unit of the shown precision).
class SciSpinBox : public QDoubleSpinBox {
  Q_OBJECT
public:
  explicit SciSpinBox(QWidget* parent = nullptr);
  QString textFromValue(double v) const override;
  double valueFromText(const QString& text) const override;
  QValidator::State validate(QString& text, int& pos) const override;
  void fixup(QString& input) const override;
};

} // namespace itslab::gui
