// MainWindow's presets: the JSON the controls describe, opening, saving, the clipboard, and
// the problems shown in the panels and the message bar.
#include "main_window.hpp"
#include "main_window_util.hpp"

#include "component_form.hpp"
#include "core/file_io.hpp"
#include "export.hpp"
#include "io/preset.hpp"
#include "model_panel.hpp"
#include "particles_panel.hpp"
#include "run_panel.hpp"
#include "session.hpp"
#include "trajectory_view.hpp"

#include <QClipboard>
#include <QFileInfo>
#include <QGuiApplication>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QStatusBar>

namespace itslab::gui {

using main_window_util::kMime;
using main_window_util::preset_json;
using nlohmann::json;

// ---------------------------------------------------------------- presets

json MainWindow::currentJson() const {
  json j = base_.is_object() ? base_ : json::object();
  j["schema"] = kPresetSchema;
  j["name"] = name_->text().toStdString();
  const QString seed = run_->seedEdit()->text();
  j["seed"] = seed.isEmpty() ? json("") : json(run_->seed());
  j["model"] = model_->toJson();
  j["process"] = process_->toJson();
  j["schedule"] = schedule_->toJson();
  j["solver"] = solver_->toJson();
  // guidance and reward are optional: absent from the preset when their type is "none"
  const auto optional = [&j](const char* key, const json& c) {
    if (c.value("type", std::string("none")) == "none")
      j.erase(key);
    else
      j[key] = c;
  };
  optional("guidance", guidance_->toJson());
  j["particles"] = particles_->toJson();
  optional("reward", reward_->toJson());
  j["backend"] = run_->backend();
  if (metricsDefault_)
    j.erase("metrics");
  else
    j["metrics"] = run_->metrics();
  return j;
}

void MainWindow::applyJson(const json& j, const QString& path, const QString& builtin) {
  applying_ = true;
  base_ = j;
  name_->setText(QString::fromStdString(j.value("name", std::string("Untitled"))));
  model_->setJson(j.value("model", json::object()));
  process_->setJson(j.value("process", json::object()));
  schedule_->setJson(j.value("schedule", json::object()));
  solver_->setJson(j.value("solver", json::object()));
  guidance_->setJson(j.contains("guidance") ? j["guidance"] : json{{"type", "none"}});
  particles_->setJson(j.value("particles", json::object()));
  reward_->setJson(j.contains("reward") ? j["reward"] : json{{"type", "none"}});
  run_->setSeed(j.value("seed", uint64_t{0}));
  run_->setBackend(j.value("backend", std::string("auto")));
  run_->setMetrics(j.value("metrics", json::array()));
  metricsDefault_ = !j.contains("metrics");
  applying_ = false;
  path_ = path;
  builtin_ = builtin;
  messageBar_->hide();
  view_->resetView();
  session_->setPresetJson(currentJson(), false);
  setModified(false);
  if (!path.isEmpty())
    addRecent(path);
}

bool MainWindow::applyPresetText(const QString& text, const QString& origin, const QString& path) {
  try {
    const PresetLoad l = parse_preset(text.toStdString(), origin.toStdString());
    applyJson(preset_json(l.preset), path, {});
    if (!l.warnings.empty()) {
      QStringList w;
      for (const auto& s : l.warnings)
        w << QString::fromStdString(s);
      showMessage(origin + ": " + w.join("; "), false);
    }
    return true;
  } catch (const std::exception& e) {
    showMessage(QString::fromStdString(e.what()));
    return false;
  }
}

bool MainWindow::openBuiltin(const QString& id) {
  try {
    const PresetLoad l = load_preset_ref(id.toStdString());
    applyJson(preset_json(l.preset), {}, id);
    return true;
  } catch (const std::exception& e) {
    showMessage(QString::fromStdString(e.what()));
    return false;
  }
}

bool MainWindow::openPresetFile(const QString& path) {
  QString text;
  if (path.endsWith(".png", Qt::CaseInsensitive)) {
    text = preset_from_png(path);
    if (text.isEmpty()) {
      showMessage(path + ": this image carries no ITS Lab preset");
      return false;
    }
  } else {
    try {
      text = QString::fromStdString(read_file(path.toStdString()));
    } catch (const std::exception& e) {
      showMessage(QString::fromStdString(e.what()));
      return false;
    }
  }
  return applyPresetText(text, path, path);
}

void MainWindow::newPreset() {
  openBuiltin("default");
}

bool MainWindow::savePresetTo(const QString& path) {
  if (!session_->isValid()) {
    showMessage("The preset has invalid fields (in red); fix them before saving.");
    return false;
  }
  try {
    save_preset(session_->preset(), path.toStdString());
  } catch (const std::exception& e) {
    showMessage(QString::fromStdString(e.what()));
    return false;
  }
  path_ = path;
  builtin_.clear();
  setModified(false);
  addRecent(path);
  statusBar()->showMessage("Saved " + path, 3000);
  return true;
}

void MainWindow::copyPreset() {
  const QString text = session_->isValid()
                           ? QString::fromStdString(preset_to_string(session_->preset()))
                           : QString::fromStdString(currentJson().dump(2));
  auto* md = new QMimeData();
  md->setData(kMime, text.toUtf8());
  md->setText(text);
  QGuiApplication::clipboard()->setMimeData(md);
  statusBar()->showMessage("Preset copied to the clipboard", 3000);
}

bool MainWindow::pastePreset() {
  const QMimeData* md = QGuiApplication::clipboard()->mimeData();
  QString text;
  if (md && md->hasFormat(kMime))
    text = QString::fromUtf8(md->data(kMime));
  else if (md)
    text = md->text();
  if (text.trimmed().isEmpty()) {
    showMessage("The clipboard holds no preset");
    return false;
  }
  if (!applyPresetText(text, "clipboard"))
    return false;
  setModified(true);
  return true;
}

void MainWindow::onEdited(bool continuous) {
  if (applying_)
    return;
  setModified(true);
  session_->setPresetJson(currentJson(), continuous);
}

bool MainWindow::showErrors(const QMap<QString, QString>& errors) {
  model_->setErrors(errors);
  QMap<QString, QString> rest = errors;
  for (ComponentForm* f : {process_, schedule_, solver_, guidance_, reward_})
    f->setErrors(errors);
  particles_->setErrors(errors);
  run_->setErrors(errors);
  // what no panel shows goes to the message bar
  static const QStringList shown = {"model",     "process", "schedule", "solver",  "guidance",
                                    "particles", "reward",  "seed",     "backend", "metrics"};
  QStringList lines;
  for (auto it = errors.begin(); it != errors.end(); ++it) {
    const QString head = it.key().section('.', 0, 0).section('[', 0, 0);
    if (it.key().isEmpty() || !shown.contains(head))
      lines << (it.key().isEmpty() ? it.value() : it.key() + ": " + it.value());
  }
  const bool marked = lines.size() < errors.size();
  if (!lines.isEmpty())
    showMessage(lines.join("\n"));
  else if (errors.isEmpty() && message_->property("fromErrors").toBool())
    messageBar_->hide();
  message_->setProperty("fromErrors", !lines.isEmpty());
  return marked;
}

void MainWindow::showMessage(const QString& text, bool error) {
  message_->setText(text);
  message_->setProperty("fromErrors", false);
  messageBar_->setStyleSheet(
      error ? "#messagebar { background: #ffebee; border: 1px solid #e57373; }"
            : "#messagebar { background: #fff8e1; border: 1px solid #ffca28; }");
  messageBar_->show();
}

QString MainWindow::messageText() const {
  return messageBar_->isVisible() ? message_->text() : QString();
}

QString MainWindow::runStateText() const {
  return stState_->text();
}

void MainWindow::setModified(bool m) {
  modified_ = m;
  setWindowModified(m);
  updateTitle();
}

void MainWindow::updateTitle() {
  const QString where = !path_.isEmpty()      ? QFileInfo(path_).fileName()
                        : !builtin_.isEmpty() ? "built-in " + builtin_
                                              : QString("unsaved");
  setWindowTitle(QString("%1 (%2)[*] — ITS Lab").arg(name_->text(), where));
}

} // namespace itslab::gui
