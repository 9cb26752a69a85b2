#pragma once
#include "io/preset_schema.hpp"

#include <QMap>
#include <QWidget>
#include <nlohmann/json.hpp>
#include <vector>

class QComboBox;
class QFormLayout;
class QLabel;

namespace itslab::gui {

class ParamField;

// A generic editor for one preset component ("process", "schedule", "solver", "guidance", …)
// built from its table in io/preset_schema.hpp: a type picker, then one field per ParamSpec
// (number: SciSpinBox, integer: QSpinBox, text: QComboBox, optional number or list: QLineEdit),
// each with the spec's help text, range and default as tooltip. A new type or parameter in the
// table appears here without any change.
class ComponentForm : public QWidget {
  Q_OBJECT
public:
  ComponentForm(const QString& key, const std::vector<TypeSpec>& specs, QWidget* parent = nullptr);

  // {"type": T, param: value, …}; absent parameters get the table's defaults. No edited().
  void setJson(const nlohmann::json& obj);
  // Every parameter explicitly (optional ones only when set): the canonical preset form.
  nlohmann::json toJson() const;
  QString key() const { return key_; }
  QString type() const;
  // Problems by JSON path ("solver.eta", or "solver" for the whole section); a field with a
  // problem turns red and shows the message under it. Returns the messages it could not place.
  QStringList setErrors(const QMap<QString, QString>& errors);

  QComboBox* typeBox() const { return type_; }
  QWidget* editor(const QString& param) const; // for tests and shortcuts
  // Sets a parameter as if the user had typed it (emits edited). False if there is no such field.
  bool setParam(const QString& param, const nlohmann::json& value);

signals:
  // continuous: part of a drag or typing, worth debouncing
  void edited(bool continuous);

private:
  void rebuild(const std::string& type, const nlohmann::json& values);

  QString key_;
  const std::vector<TypeSpec>& specs_;
  QComboBox* type_ = nullptr;
  QLabel* help_ = nullptr;
  QLabel* sectionError_ = nullptr;
  QWidget* fieldsBox_ = nullptr;
  QFormLayout* fields_ = nullptr;
  std::vector<ParamField*> params_;
};

// Splits an engine error ("origin: invalid preset\n  path: message\n  …" or "path: message")
// into path → message; lines without a field path go under "".
QMap<QString, QString> split_preset_errors(const QString& message);

} // namespace itslab::gui
