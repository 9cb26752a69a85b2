// MainWindow's actions, menus and tool bar, the recent files, drag and drop, and export.
#include "main_window.hpp"
#include "main_window_util.hpp"

#include "data_chart.hpp"
#include "export.hpp"
#include "io/npy.hpp"
#include "io/preset.hpp"
#include "nfe_curve.hpp"
#include "run_panel.hpp"
#include "session.hpp"
#include "sigma_chart.hpp"
#include "step_chart.hpp"
#include "time_bar.hpp"
#include "trajectory_view.hpp"

#include <QAction>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QRegularExpression>
#include <QSettings>
#include <QStatusBar>
#include <QToolBar>
#include <QToolButton>

namespace itslab::gui {

using main_window_util::kLayoutVersion;
using main_window_util::kMime;

QAction* MainWindow::action(const QString& name) const {
  return actions_.value(name);
}

void MainWindow::buildActions() {
  auto make = [this](const QString& name, const QString& text, const QString& tip,
                     QList<QKeySequence> keys, auto fn) {
    auto* a = new QAction(text, this);
    a->setObjectName(name);
    a->setStatusTip(tip);
    a->setToolTip(tip + (keys.isEmpty() ? QString() : " (" + keys.first().toString() + ")"));
    a->setShortcuts(keys);
    connect(a, &QAction::triggered, this, fn);
    actions_[name] = a;
    addAction(a);
    return a;
  };
  auto std_keys = [](QKeySequence::StandardKey k, QKeySequence fallback) {
    QList<QKeySequence> ks = QKeySequence::keyBindings(k);
    if (ks.isEmpty())
      ks = {fallback};
    return ks;
  };
  auto* aNew = make("new", "New", "Start from the default preset",
                    std_keys(QKeySequence::New, QKeySequence("Ctrl+N")), [this] { newPreset(); });
  auto* aOpen = make("open", "Open…", "Open a preset file (.json, or a PNG exported by ITS Lab)",
                     std_keys(QKeySequence::Open, QKeySequence("Ctrl+O")), [this] {
                       const QString p = QFileDialog::getOpenFileName(
                           this, "Open preset", QFileInfo(path_).absolutePath(),
                           "Presets (*.json *.png);;All files (*)");
                       if (!p.isEmpty())
                         openPresetFile(p);
                     });
  auto saveAs = [this] {
    QString p = QFileDialog::getSaveFileName(
        this, "Save preset as", path_.isEmpty() ? name_->text() + ".itslab.json" : path_,
        "Presets (*.json)");
    if (!p.isEmpty())
      savePresetTo(p);
  };
  auto* aSave = make("save", "Save", "Save the preset to its file",
                     std_keys(QKeySequence::Save, QKeySequence("Ctrl+S")), [this, saveAs] {
                       if (path_.isEmpty() || path_.endsWith(".png", Qt::CaseInsensitive))
                         saveAs();
                       else
                         savePresetTo(path_);
                     });
  auto* aSaveAs = make("saveAs", "Save As…", "Save the preset to a new file",
                       std_keys(QKeySequence::SaveAs, QKeySequence("Ctrl+Shift+S")), saveAs);
  auto* aCopy = make("copyPreset", "Copy preset", "Copy the preset to the clipboard as JSON",
                     {QKeySequence("Ctrl+Shift+C")}, [this] { copyPreset(); });
  auto* aPaste = make("pastePreset", "Paste preset", "Open the preset (JSON) on the clipboard",
                      {QKeySequence("Ctrl+Shift+V")}, [this] { pastePreset(); });
  auto* aRerun =
      make("rerun", "Re-run", "Run the experiment again now",
           std_keys(QKeySequence::Refresh, QKeySequence("F5")), [this] { session_->rerun(); });
  auto* aCancel = make("cancel", "Cancel", "Stop the run in progress", {QKeySequence("Ctrl+.")},
                       [this] { session_->cancel(); });
  auto* aSeed = make("seed", "New seed", "Draw a new random seed and run", {QKeySequence("Ctrl+D")},
                     [this] { run_->rollSeed(); });
  auto* aPlay = make("play", "Play / pause", "Play the denoising step by step",
                     {QKeySequence("Ctrl+P")}, [this] { timeBar_->togglePlay(); });
  auto* aSweep = make("sweep", "Run sweep", "Run the quality-vs-NFE sweep in the background",
                      {QKeySequence("Ctrl+R")}, [this] { session_->startSweep(nfe_->request()); });
  auto* aQuit = make("quit", "Quit", "Quit ITS Lab",
                     std_keys(QKeySequence::Quit, QKeySequence("Ctrl+Q")), [this] { close(); });
  auto* aExportView =
      make("exportView", "Export view as PNG…", "Save the view as a PNG image",
           {QKeySequence("Ctrl+E")}, [this] { exportDialog(view_, "view", "png"); });
  auto* aSamples = make("exportSamples", "Export samples (.npy)…", "Save the final samples [n, d]",
                        {QKeySequence("Ctrl+Shift+E")}, [this] {
                          const QString p = QFileDialog::getSaveFileName(
                              this, "Export samples", "samples.npy", "NumPy (*.npy)");
                          if (!p.isEmpty())
                            exportSamples(p);
                        });
  auto* aReset = make("resetLayout", "Reset layout", "Put every panel back where it started", {},
                      [this] { resetLayout(); });
  for (QAction* a : {aRerun, aCancel, aSeed, aPlay, aCopy, aPaste})
    a->setShortcutContext(Qt::ApplicationShortcut);

  QMenu* file = menuBar()->addMenu("&File");
  file->addAction(aNew);
  file->addAction(aOpen);
  recentMenu_ = file->addMenu("Open recent");
  recentMenu_->setObjectName("menu.recent");
  connect(recentMenu_, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenu);
  QMenu* builtins = file->addMenu("Built-in presets");
  rebuildBuiltinMenu(builtins);
  file->addSeparator();
  file->addAction(aSave);
  file->addAction(aSaveAs);
  file->addSeparator();
  QMenu* exp = file->addMenu("Export");
  exp->addAction(aExportView);
  for (auto [w, what] : {std::pair<QWidget*, QString>{view_, "view"},
                         {stepChart_, "per-step chart"},
                         {nfe_->chart(), "quality-vs-NFE chart"},
                         {sigmaChart_, "σ(t) chart"}}) {
    QMenu* m = exp->addMenu(what[0].toUpper() + what.mid(1));
    for (const char* s : {"png", "svg", "csv"}) {
      const QString suffix(s);
      m->addAction(suffix.toUpper() + "…", this,
                   [this, w = w, what = what, suffix] { exportDialog(w, what, suffix); });
    }
  }
  exp->addAction(aSamples);
  file->addSeparator();
  file->addAction(aQuit);
  QMenu* edit = menuBar()->addMenu("&Edit");
  edit->addAction(aCopy);
  edit->addAction(aPaste);
  QMenu* runMenu = menuBar()->addMenu("&Run");
  for (QAction* a : {aRerun, aCancel, aSeed, aPlay, aSweep})
    runMenu->addAction(a);
  QMenu* viewMenu = menuBar()->addMenu("&View");
  QMenu* panels = createPopupMenu();
  panels->setTitle("Panels");
  viewMenu->addMenu(panels);
  viewMenu->addAction(aReset);
  QMenu* help = menuBar()->addMenu("&Help");
  help->addAction("Keyboard shortcuts", this, [this] {
    QString s;
    for (QAction* a : actions_)
      if (!a->shortcut().isEmpty())
        s += QString("<tr><td>%1</td><td>%2</td></tr>")
                 .arg(a->shortcut().toString(QKeySequence::NativeText), a->text().remove("…"));
    s += "<tr><td>Space / ← / → / Home / End</td><td>play, step, first, last (view "
         "focused)</td></tr>";
    QMessageBox::information(this, "Keyboard shortcuts", "<table>" + s + "</table>");
  });

  auto* tb = addToolBar("Preset");
  tb->setObjectName("toolbar.preset");
  tb->setToolButtonStyle(Qt::ToolButtonTextOnly);
  tb->addAction(aNew);
  tb->addAction(aOpen);
  tb->addAction(aSave);
  tb->addAction(aSaveAs);
  auto* builtinButton = new QToolButton(tb);
  builtinButton->setText("Presets ▾");
  builtinButton->setObjectName("builtinPresets");
  builtinButton->setToolTip("Open one of the built-in presets");
  builtinButton->setPopupMode(QToolButton::InstantPopup);
  auto* bm = new QMenu(builtinButton);
  rebuildBuiltinMenu(bm);
  builtinButton->setMenu(bm);
  tb->addWidget(builtinButton);
  tb->addSeparator();
  tb->addAction(aCopy);
  tb->addAction(aPaste);
  tb->addSeparator();
  tb->addAction(aRerun);
  tb->addAction(aCancel);
  tb->addAction(aSeed);
}

void MainWindow::rebuildBuiltinMenu(QMenu* menu) {
  menu->clear();
  for (const std::string& id : builtin_preset_ids()) {
    const QString q = QString::fromStdString(id);
    QString title = q;
    try {
      title = QString("%1 — %2").arg(q, QString::fromStdString(load_preset_ref(id).preset.name));
    } catch (const std::exception&) {
    }
    menu->addAction(title, this, [this, q] { openBuiltin(q); });
  }
}

void MainWindow::addExportActions(QWidget* w, const QString& what, bool csv) {
  w->setContextMenuPolicy(Qt::ActionsContextMenu);
  QStringList suffixes{"png", "svg"};
  if (csv)
    suffixes << "csv";
  for (const QString& s : suffixes) {
    auto* a = new QAction(QString("Export %1 as %2…").arg(what, s.toUpper()), w);
    connect(a, &QAction::triggered, this, [this, w, what, s] { exportDialog(w, what, s); });
    w->addAction(a);
  }
}

// ---------------------------------------------------------------- recent files, drops

QStringList MainWindow::recentFiles() const {
  if (!options_.useSettings)
    return property("recent").toStringList();
  return QSettings().value("recent/presets").toStringList();
}

void MainWindow::addRecent(const QString& path) {
  const QFileInfo fi(path);
  const QString p = fi.exists() ? fi.canonicalFilePath() : fi.absoluteFilePath();
  QStringList r = recentFiles();
  r.removeAll(p);
  r.prepend(p);
  while (r.size() > 10)
    r.removeLast();
  if (options_.useSettings)
    QSettings().setValue("recent/presets", r);
  else
    setProperty("recent", r);
}

void MainWindow::rebuildRecentMenu() {
  recentMenu_->clear();
  for (const QString& p : recentFiles())
    if (QFileInfo::exists(p))
      recentMenu_->addAction(QFileInfo(p).fileName() + "  —  " + QFileInfo(p).absolutePath(), this,
                             [this, p] { openPresetFile(p); });
  if (recentMenu_->isEmpty())
    recentMenu_->addAction("(none)")->setEnabled(false);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e) {
  if (e->mimeData()->hasUrls())
    for (const QUrl& u : e->mimeData()->urls())
      if (u.isLocalFile() && (u.toLocalFile().endsWith(".json", Qt::CaseInsensitive) ||
                              u.toLocalFile().endsWith(".png", Qt::CaseInsensitive))) {
        e->acceptProposedAction();
        return;
      }
  if (e->mimeData()->hasFormat(kMime)) {
    e->acceptProposedAction();
    return;
  }
  e->ignore();
}

void MainWindow::dropEvent(QDropEvent* e) {
  if (e->mimeData()->hasFormat(kMime)) {
    applyPresetText(QString::fromUtf8(e->mimeData()->data(kMime)), "drop");
    setModified(true);
    e->acceptProposedAction();
    return;
  }
  for (const QUrl& u : e->mimeData()->urls())
    if (u.isLocalFile()) {
      openPresetFile(u.toLocalFile());
      e->acceptProposedAction();
      return;
    }
}

void MainWindow::closeEvent(QCloseEvent* e) {
  if (options_.useSettings) {
    QSettings s;
    s.setValue("MainWindow/geometry", saveGeometry());
    s.setValue("MainWindow/state", saveState(kLayoutVersion));
    s.setValue("session/lastPreset", QString::fromStdString(currentJson().dump()));
    s.setValue("session/lastPath", path_);
    s.setValue("session/lastBuiltin", builtin_);
    s.setValue("session/modified", modified_);
    s.setValue("view/density", densityMode_->currentIndex());
    s.setValue("view/colorBy", colorBy_->currentIndex());
    s.setValue("view/paths", showPaths_->isChecked());
    s.setValue("view/particles", showParticles_->isChecked());
  }
  e->accept();
}

// ---------------------------------------------------------------- export

void MainWindow::exportDialog(QWidget* w, const QString& what, const QString& suffix) {
  QString dir = options_.useSettings ? QSettings().value("export/lastDir").toString() : QString();
  QString base = what;
  base.replace(QRegularExpression("[^A-Za-z0-9]+"), "-");
  const QString p =
      QFileDialog::getSaveFileName(this, "Export " + what, QDir(dir).filePath(base + "." + suffix),
                                   suffix.toUpper() + " (*." + suffix + ")");
  if (p.isEmpty())
    return;
  if (options_.useSettings)
    QSettings().setValue("export/lastDir", QFileInfo(p).absolutePath());
  exportWidget(w, p);
}

bool MainWindow::exportWidget(QWidget* w, const QString& path) {
  QString err;
  bool ok = false;
  const QString preset = QString::fromStdString(currentJson().dump());
  if (path.endsWith(".png", Qt::CaseInsensitive)) {
    ok = export_png(w, path, preset, &err);
  } else if (path.endsWith(".svg", Qt::CaseInsensitive)) {
    ok = export_svg(w, path, windowTitle().remove("[*]"), &err);
  } else if (path.endsWith(".csv", Qt::CaseInsensitive)) {
    QString text;
    if (auto* c = qobject_cast<DataChart*>(w))
      text = c->csv();
    else if (auto* v = qobject_cast<TrajectoryView*>(w))
      text = v->csv();
    ok = !text.isEmpty() && export_text(text, path, &err);
    if (text.isEmpty())
      err = "nothing to export yet";
  } else {
    err = path + ": unknown format (use .png, .svg or .csv)";
  }
  if (!ok)
    showMessage("Export failed: " + err);
  else
    statusBar()->showMessage("Exported " + path, 3000);
  return ok;
}

bool MainWindow::exportSamples(const QString& path) {
  const OutputPtr o = session_->output();
  if (!o) {
    showMessage("No samples yet: the run has not finished");
    return false;
  }
  try {
    write_npy(path.toStdString(), o->samples.data(), o->samples.rows(), o->samples.cols());
    statusBar()->showMessage("Exported " + path, 3000);
    return true;
  } catch (const std::exception& e) {
    showMessage(QString::fromStdString(e.what()));
    return false;
  }
}

} // namespace itslab::gui
