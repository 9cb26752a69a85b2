#include "component_form.hpp"

#include "sci_spinbox.hpp"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QRegularExpression>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>
#include <cmath>
#include <limits>

namespace itslab::gui {

using nlohmann::json;
using K = ParamSpec::Kind;

namespace {

QString num_text(double v) {
  if (std::isinf(v))
    return v > 0 ? "∞" : "−∞";
  return QLocale::c().toString(v, 'g', QLocale::FloatingPointShortest);
}

QString tooltip_for(const ParamSpec& p) {
  QString tip = QString::fromStdString(p.help);
  QString range;
  if (p.kind == K::number || p.kind == K::integer) {
    range = QString("%1%2, %3]").arg(p.lo_open ? "(" : "[", num_text(p.lo), num_text(p.hi));
    tip += "\nrange " + range;
    if (!p.optional)
      tip += ", default " + num_text(p.def);
  } else if (p.kind == K::text) {
    QStringList c;
    for (const auto& s : p.choices)
      c << QString::fromStdString(s);
    tip += "\nchoices: " + c.join(", ") + "; default " + QString::fromStdString(p.def_text);
  } else {
    tip += "\ncomma-separated numbers";
  }
  if (p.optional)
    tip += "\nleave empty for the default";
  return tip;
}

} // namespace

// One parameter's editor; keeps the exact double it was given, so a loaded preset is written
// back bit for bit even where the spin box shows a rounded value.
class ParamField : public QWidget {
public:
  ParamField(const ParamSpec& spec, QWidget* parent) : QWidget(parent), spec(spec) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    lay->setSpacing(1);
    const QString tip = tooltip_for(spec);
    if (spec.kind == K::number && !spec.optional) {
      auto* s = new SciSpinBox(this);
      s->setRange(std::isfinite(spec.lo) ? spec.lo : -1e300,
                  std::isfinite(spec.hi) ? spec.hi : 1e300);
      editor = s;
    } else if (spec.kind == K::integer) {
      auto* s = new QSpinBox(this);
      s->setRange(static_cast<int>(std::max(spec.lo, -2e9)),
                  static_cast<int>(std::min(spec.hi, 2e9)));
      s->setKeyboardTracking(true);
      s->setAccelerated(true);
      editor = s;
    } else if (spec.kind == K::text && !spec.choices.empty()) {
      auto* c = new QComboBox(this);
      for (const auto& s : spec.choices)
        c->addItem(QString::fromStdString(s));
      editor = c;
    } else {
      auto* e = new QLineEdit(this);
      e->setPlaceholderText(spec.optional ? "default" : "");
      if (spec.kind == K::number_list)
        e->setPlaceholderText(spec.optional ? "(none)  e.g. 0.2, 0.8" : "e.g. 0.2, 0.8");
      editor = e;
    }
    editor->setToolTip(tip);
    editor->setObjectName(QString::fromStdString(spec.name));
    lay->addWidget(editor);
    error = new QLabel(this);
    error->setWordWrap(true);
    error->setStyleSheet("color: #c62828; font-size: small;");
    error->hide();
    lay->addWidget(error);
  }

  void set(const json* v) {
    const QSignalBlocker block(editor);
    has_value = v != nullptr;
    if (auto* s = qobject_cast<SciSpinBox*>(editor)) {
      exact = v && v->is_number() ? v->get<double>() : spec.def;
      s->setValue(exact);
    } else if (auto* s = qobject_cast<QSpinBox*>(editor)) {
      s->setValue(v && v->is_number() ? v->get<int>() : static_cast<int>(spec.def));
    } else if (auto* c = qobject_cast<QComboBox*>(editor)) {
      const QString t =
          QString::fromStdString(v && v->is_string() ? v->get<std::string>() : spec.def_text);
      c->setCurrentIndex(std::max(0, c->findText(t)));
    } else if (auto* e = qobject_cast<QLineEdit*>(editor)) {
      QString text;
      if (v && v->is_array()) {
        QStringList parts;
        for (const json& x : *v)
          parts << (x.is_number() ? num_text(x.get<double>()) : QString::fromStdString(x.dump()));
        text = parts.join(", ");
      } else if (v && v->is_number()) {
        text = num_text(v->get<double>());
      } else if (v && v->is_string()) {
        text = QString::fromStdString(v->get<std::string>());
      }
      e->setText(text);
    }
  }

  // nullopt-like: returns false when the parameter is absent (an empty optional field)
  bool get(json& out) const {
    if (qobject_cast<SciSpinBox*>(editor)) {
      out = exact;
    } else if (auto* s = qobject_cast<QSpinBox*>(editor)) {
      out = s->value();
    } else if (auto* c = qobject_cast<QComboBox*>(editor)) {
      out = c->currentText().toStdString();
    } else if (auto* e = qobject_cast<QLineEdit*>(editor)) {
      const QString t = e->text().trimmed();
      if (t.isEmpty())
        return false;
      auto parse = [](const QString& s) -> json {
        bool ok = false;
        const double d = QLocale::c().toDouble(s.trimmed(), &ok);
        return ok ? json(d) : json(s.trimmed().toStdString()); // the loader names the bad value
      };
      if (spec.kind == K::text) {
        out = t.toStdString(); // a free-text field (an id or a path) stays a string
      } else if (spec.kind == K::number_list) {
        out = json::array();
        for (const QString& part : t.split(QRegularExpression("[,;\\s]+"), Qt::SkipEmptyParts))
          out.push_back(parse(part));
      } else {
        out = parse(t);
      }
    }
    return true;
  }

  void setError(const QString& msg) {
    error->setText(msg);
    error->setVisible(!msg.isEmpty());
    editor->setStyleSheet(msg.isEmpty()
                              ? QString()
                              : QString("%1 { border: 1px solid #c62828; background: #ffebee; }")
                                    .arg(editor->metaObject()->className()));
  }

  ParamSpec spec;
  QWidget* editor = nullptr;
  QLabel* error = nullptr;
  double exact = 0;
  bool has_value = false;
};

ComponentForm::ComponentForm(const QString& key, const std::vector<TypeSpec>& specs,
                             QWidget* parent)
    : QWidget(parent), key_(key), specs_(specs) {
  setObjectName("form." + key);
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(0, 0, 0, 0);
  lay->setSpacing(3);
  auto* top = new QFormLayout();
  top->setContentsMargins(0, 0, 0, 0);
  type_ = new QComboBox(this);
  type_->setObjectName("type");
  type_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  type_->setMinimumContentsLength(12);
  for (const TypeSpec& t : specs) {
    type_->addItem(QString::fromStdString(t.type));
    type_->setItemData(type_->count() - 1, QString::fromStdString(t.help), Qt::ToolTipRole);
  }
  top->addRow("type", type_);
  lay->addLayout(top);
  help_ = new QLabel(this);
  help_->setWordWrap(true);
  help_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  help_->setStyleSheet("color: palette(mid); font-size: small;");
  lay->addWidget(help_);
  sectionError_ = new QLabel(this);
  sectionError_->setWordWrap(true);
  sectionError_->setStyleSheet("color: #c62828;");
  sectionError_->hide();
  lay->addWidget(sectionError_);
  fieldsBox_ = new QWidget(this);
  fields_ = new QFormLayout(fieldsBox_);
  fields_->setContentsMargins(0, 0, 0, 0);
  fields_->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  lay->addWidget(fieldsBox_);

  connect(type_, &QComboBox::currentIndexChanged, this, [this] {
    rebuild(type_->currentText().toStdString(), toJson());
    emit edited(false);
  });
  if (!specs.empty())
    rebuild(specs.front().type, json::object());
}

QString ComponentForm::type() const {
  return type_->currentText();
}

void ComponentForm::rebuild(const std::string& type, const json& values) {
  for (ParamField* f : params_) {
    fields_->removeRow(f); // deletes the field and its label
  }
  params_.clear();
  const TypeSpec* spec = find_spec(specs_, type);
  {
    const QSignalBlocker block(type_);
    type_->setCurrentIndex(std::max(0, type_->findText(QString::fromStdString(type))));
  }
  const QString typeHelp = spec ? QString::fromStdString(spec->help) : QString();
  help_->setText(typeHelp);
  type_->setToolTip(QString("%1 type: %2").arg(key_, typeHelp));
  fieldsBox_->setVisible(spec && !spec->params.empty());
  if (!spec)
    return;
  for (const ParamSpec& p : spec->params) {
    auto* f = new ParamField(p, fieldsBox_);
    const json* v = values.is_object() && values.contains(p.name) ? &values.at(p.name) : nullptr;
    f->set(v);
    auto* label = new QLabel(QString::fromStdString(p.name), fieldsBox_);
    label->setToolTip(f->editor->toolTip());
    fields_->addRow(label, f);
    params_.push_back(f);
    QWidget* ed = f->editor;
    if (auto* s = qobject_cast<SciSpinBox*>(ed)) {
      connect(s, &QDoubleSpinBox::valueChanged, this, [this, f](double v) {
        f->exact = v;
        emit edited(true);
      });
      connect(s, &QAbstractSpinBox::editingFinished, this, [this] { emit edited(false); });
    } else if (auto* s = qobject_cast<QSpinBox*>(ed)) {
      connect(s, &QSpinBox::valueChanged, this, [this] { emit edited(true); });
    } else if (auto* c = qobject_cast<QComboBox*>(ed)) {
      connect(c, &QComboBox::currentIndexChanged, this, [this] { emit edited(false); });
    } else if (auto* e = qobject_cast<QLineEdit*>(ed)) {
      connect(e, &QLineEdit::textEdited, this, [this] { emit edited(true); });
    }
  }
}

void ComponentForm::setJson(const json& obj) {
  const std::string type = obj.is_object() && obj.contains("type") && obj["type"].is_string()
                               ? obj["type"].get<std::string>()
                               : (specs_.empty() ? std::string() : specs_.front().type);
  rebuild(type, obj);
  setErrors({});
}

nlohmann::json ComponentForm::toJson() const {
  nlohmann::json j = nlohmann::json::object();
  j["type"] = type_->currentText().toStdString();
  for (const ParamField* f : params_) {
    nlohmann::json v;
    if (f->get(v))
      j[f->spec.name] = v;
  }
  return j;
}

QStringList ComponentForm::setErrors(const QMap<QString, QString>& errors) {
  QStringList section, unplaced;
  for (ParamField* f : params_)
    f->setError({});
  for (auto it = errors.begin(); it != errors.end(); ++it) {
    const QString& path = it.key();
    if (path == key_ || path == key_ + ".type") {
      section << it.value();
      continue;
    }
    if (!path.startsWith(key_ + "."))
      continue;
    QString param = path.mid(key_.size() + 1);
    param = param.left(param.indexOf('[') < 0 ? param.size() : param.indexOf('['));
    bool placed = false;
    for (ParamField* f : params_)
      if (QString::fromStdString(f->spec.name) == param) {
        f->setError(it.value());
        placed = true;
      }
    if (!placed)
      section << path + ": " + it.value();
  }
  sectionError_->setText(section.join("\n"));
  sectionError_->setVisible(!section.isEmpty());
  type_->setStyleSheet(section.isEmpty() ? QString() : "QComboBox { border: 1px solid #c62828; }");
  return unplaced;
}

QWidget* ComponentForm::editor(const QString& param) const {
  for (ParamField* f : params_)
    if (QString::fromStdString(f->spec.name) == param)
      return f->editor;
  return nullptr;
}

bool ComponentForm::setParam(const QString& param, const nlohmann::json& value) {
  for (ParamField* f : params_)
    if (QString::fromStdString(f->spec.name) == param) {
      f->set(&value);
      emit edited(false);
      return true;
    }
  return false;
}

QMap<QString, QString> split_preset_errors(const QString& message) {
  QMap<QString, QString> out;
  static const QRegularExpression field(
      R"(^\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)\s*:\s*(.*)$)");
  const QStringList lines = message.split('\n', Qt::SkipEmptyParts);
  for (int i = 0; i < lines.size(); ++i) {
    const QString line = lines[i];
    if (i == 0 && line.contains(": invalid preset"))
      continue; // "origin: invalid preset" header
    const auto m = field.match(line);
    QString path = m.hasMatch() ? m.captured(1) : QString();
    QString msg = m.hasMatch() ? m.captured(2) : line.trimmed();
    static const QStringList sections = {"schema",    "name",     "seed",    "model",
                                         "process",   "schedule", "solver",  "guidance",
                                         "particles", "backend",  "metrics", "reward"};
    if (!path.isEmpty() && !sections.contains(path.section('.', 0, 0).section('[', 0, 0))) {
      path.clear();
      msg = line.trimmed();
    }
    if (out.contains(path))
      out[path] += "\n" + msg;
    else
      out[path] = msg;
  }
  return out;
}

} // namespace itslab::gui
