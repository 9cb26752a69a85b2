#include "main_window.hpp"

#include "charts.hpp"
#include "component_form.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "export.hpp"
#include "io/npy.hpp"
#include "io/preset.hpp"
#include "io/preset_schema.hpp"
#include "metric_labels.hpp"
#include "panels.hpp"
#include "session.hpp"
#include "trajectory_view.hpp"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSettings>
#include <QShortcut>
#include <QSignalBlocker>
#include <QSlider>
#include <QStatusBar>
#include <QTableWidget>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

// the icon lives in itslab_app's resources (a static library: initialised by hand)
static void init_resources() {
  Q_INIT_RESOURCE(itslab);
}

namespace itslab::gui {

using nlohmann::json;

namespace {
constexpr int kLayoutVersion = 1;
constexpr const char* kMime = "application/x-itslab-preset";

QString fmt_ms(double ms) {
  return ms < 10     ? QString::number(ms, 'f', 2) + " ms"
         : ms < 1000 ? QString::number(ms, 'f', 1) + " ms"
                     : QString::number(ms / 1000, 'f', 2) + " s";
}

// A preset as the window applies it: without "metrics" when it named none (the model's
// defaults then apply, which preset_to_json would write as an empty list).
json preset_json(const Preset& p) {
  json j = preset_to_json(p);
  if (p.metrics_defaulted)
    j.erase("metrics");
  return j;
}

QGroupBox* group(const QString& title, const QString& tip, QWidget* content) {
  auto* g = new QGroupBox(title);
  g->setToolTip(tip);
  auto* l = new QVBoxLayout(g);
  l->setContentsMargins(6, 4, 6, 6);
  l->addWidget(content);
  return g;
}
} // namespace

MainWindow::MainWindow(Options options, QWidget* parent) : QMainWindow(parent), options_(options) {
  register_gui_types();
  init_resources();
  setObjectName("MainWindow");
  setWindowIcon(QIcon(":/icons/itslab.svg"));
  setAcceptDrops(true);
  session_ = new Session(this);
  buildDocks();
  buildActions();
  connectSession();
  resize(1280, 800);
  resetLayout();
  defaultState_ = saveState(kLayoutVersion);

  bool restored = false;
  if (options_.useSettings) {
    QSettings s;
    restoreGeometry(s.value("MainWindow/geometry").toByteArray());
    restoreState(s.value("MainWindow/state").toByteArray(), kLayoutVersion);
    const QString last = s.value("session/lastPreset").toString();
    if (!last.isEmpty()) {
      try {
        const PresetLoad l = parse_preset(last.toStdString(), "last session");
        applyJson(preset_json(l.preset), s.value("session/lastPath").toString(),
                  s.value("session/lastBuiltin").toString());
        setModified(s.value("session/modified").toBool());
        restored = true;
      } catch (const std::exception&) {
      }
    }
    densityMode_->setCurrentIndex(s.value("view/density", 0).toInt());
    colorBy_->setCurrentIndex(s.value("view/colorBy", 0).toInt());
    showPaths_->setChecked(s.value("view/paths", true).toBool());
    showParticles_->setChecked(s.value("view/particles", true).toBool());
  }
  if (!restored)
    openBuiltin("default");
}

MainWindow::~MainWindow() = default;

// ---------------------------------------------------------------- layout

void MainWindow::buildDocks() {
  // centre: message bar, view options, the view and the time bar
  auto* centre = new QWidget(this);
  centre->setObjectName("centre");
  auto* cl = new QVBoxLayout(centre);
  cl->setContentsMargins(2, 2, 2, 2);
  cl->setSpacing(2);
  messageBar_ = new QWidget(centre);
  messageBar_->setObjectName("messagebar");
  messageBar_->setStyleSheet("#messagebar { background: #ffebee; border: 1px solid #e57373; }");
  auto* ml = new QHBoxLayout(messageBar_);
  ml->setContentsMargins(6, 3, 3, 3);
  message_ = new QLabel(messageBar_);
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  ml->addWidget(message_, 1);
  auto* close = new QToolButton(messageBar_);
  close->setText("✕");
  close->setAutoRaise(true);
  close->setToolTip("Dismiss");
  ml->addWidget(close, 0, Qt::AlignTop);
  connect(close, &QToolButton::clicked, messageBar_, &QWidget::hide);
  messageBar_->hide();
  cl->addWidget(messageBar_);

  auto* opts = new QHBoxLayout();
  densityMode_ = new QComboBox(centre);
  densityMode_->addItems({"density p_t", "density p₀", "no density"});
  densityMode_->setToolTip("Background: the exact density log p_t(x) of the noised model at the "
                           "shown step (x_t = αx0 + σε, so p_t = Σ w_k N(αμ_k, α²Σ_k + σ²I)), "
                           "the target p0, or nothing. For a trained 2-D network it is the "
                           "density of its training data (an exact mixture), not the network's");
  densityMode_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  densityMode_->setMinimumContentsLength(9);
  colorBy_ = new QComboBox(centre);
  colorBy_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  colorBy_->setMinimumContentsLength(6);
  colorBy_->addItems({"colour: auto", "one colour", "by log-weight", "by reward"});
  colorBy_->setToolTip("Particle and path colour: log-weight or reward when the particle method "
                       "has them (auto prefers log-weight), else one colour");
  showPaths_ = new QCheckBox("paths", centre);
  showPaths_->setChecked(true);
  showPaths_->setToolTip("Draw the paths of the first 150 particles from x_T to the shown step");
  showParticles_ = new QCheckBox("particles", centre);
  showParticles_->setChecked(true);
  showParticles_->setToolTip("Draw the particles at the shown step (up to 20 000)");
  showGenealogy_ = new QCheckBox("genealogy", centre);
  showGenealogy_->setObjectName("genealogy");
  showGenealogy_->setToolTip(
      "At a step where the particle method resampled, draw a line from each shown particle to "
      "its ancestor's position at the previous step. Only the first particles are recorded: an "
      "ancestor outside them has no position and is skipped (the overlay counts them)");
  showDenoised_ = new QCheckBox("predicted x₀", centre);
  showDenoised_->setObjectName("denoised");
  showDenoised_->setToolTip(
      "Image networks: show x̂0 = E[x0 | x_t], the network's prediction of the clean image at the "
      "shown step, instead of the noisy x_t. Recorded while this is on (one extra network call "
      "on the shown particles per step; turning it on re-runs)");
  showDenoised_->hide();
  auto* reset = new QToolButton(centre);
  reset->setText("Reset");
  reset->setToolTip("Zoom back to the model's extent (or double-click the view)");
  opts->addWidget(densityMode_);
  opts->addWidget(colorBy_);
  opts->addWidget(showPaths_);
  opts->addWidget(showParticles_);
  opts->addWidget(showGenealogy_);
  opts->addWidget(showDenoised_);
  opts->addStretch(1);
  opts->addWidget(reset);
  cl->addLayout(opts);
  view_ = new TrajectoryView(centre);
  cl->addWidget(view_, 1);
  timeBar_ = new TimeBar(centre);
  cl->addWidget(timeBar_);
  setCentralWidget(centre);
  connect(densityMode_, &QComboBox::currentIndexChanged, this, [this](int i) {
    view_->setDensityMode(i == 0   ? TrajectoryView::Density::current
                          : i == 1 ? TrajectoryView::Density::target
                                   : TrajectoryView::Density::off);
  });
  connect(colorBy_, &QComboBox::currentIndexChanged, this,
          [this](int i) { view_->setColorBy(static_cast<TrajectoryView::ColorBy>(i)); });
  connect(showPaths_, &QCheckBox::toggled, view_, &TrajectoryView::setShowPaths);
  connect(showParticles_, &QCheckBox::toggled, view_, &TrajectoryView::setShowParticles);
  connect(showGenealogy_, &QCheckBox::toggled, view_, &TrajectoryView::setShowGenealogy);
  connect(showDenoised_, &QCheckBox::toggled, this, [this](bool on) {
    session_->setRecordDenoised(on);
    view_->setShowDenoised(on);
  });
  connect(reset, &QToolButton::clicked, view_, &TrajectoryView::resetView);
  connect(timeBar_, &TimeBar::valueChanged, this, &MainWindow::onStep);
  // play/pause and stepping keys work while the view or the time bar has focus
  auto key = [&](QKeySequence k, auto fn) {
    auto* s = new QShortcut(k, centre);
    s->setContext(Qt::WidgetWithChildrenShortcut);
    connect(s, &QShortcut::activated, this, fn);
  };
  key(Qt::Key_Space, [this] { timeBar_->togglePlay(); });
  key(Qt::Key_Left, [this] { timeBar_->stepBy(-1); });
  key(Qt::Key_Right, [this] { timeBar_->stepBy(1); });
  key(Qt::Key_Home, [this] { timeBar_->toStart(); });
  key(Qt::Key_End, [this] { timeBar_->toEnd(); });

  // left: the parameters, in the order the pipeline runs
  auto* params = new QWidget();
  params->setObjectName("parameters");
  auto* pl = new QVBoxLayout(params);
  pl->setContentsMargins(4, 4, 4, 4);
  pl->setSpacing(6);
  auto* nameRow = new QFormLayout();
  name_ = new QLineEdit(params);
  name_->setObjectName("name");
  name_->setToolTip("The preset's name (shown in the title bar and saved in the file)");
  nameRow->addRow("preset", name_);
  pl->addLayout(nameRow);
  connect(name_, &QLineEdit::textEdited, this, [this] {
    if (!applying_) {
      setModified(true);
      session_->setPresetJson(currentJson(), true);
    }
  });

  model_ = new ModelPanel();
  pl->addWidget(group("Model", "What is sampled: the target distribution p0", model_));

  auto* ps = new QWidget();
  auto* psl = new QVBoxLayout(ps);
  psl->setContentsMargins(0, 0, 0, 0);
  process_ = new ComponentForm("process", process_specs());
  schedule_ = new ComponentForm("schedule", schedule_specs());
  sigmaChart_ = new SigmaChart();
  sigmaChart_->setMinimumHeight(170);
  auto* procTitle = new QLabel("<b>process</b>");
  procTitle->setToolTip("The forward noising process x_t = α(t)·x0 + σ(t)·ε");
  auto* schedTitle = new QLabel("<b>schedule</b>");
  schedTitle->setToolTip("Where the M steps are placed: the grid t_0 > t_1 > … > t_M = 0");
  psl->addWidget(procTitle);
  psl->addWidget(process_);
  psl->addWidget(schedTitle);
  psl->addWidget(schedule_);
  psl->addWidget(sigmaChart_);
  pl->addWidget(group("Process && schedule",
                      "The noising process x_t = α(t)x0 + σ(t)ε and the step grid", ps));
  solver_ = new ComponentForm("solver", solver_specs());
  pl->addWidget(group("Solver", "How each step from t_i to t_{i+1} is integrated", solver_));
  guidance_ = new ComponentForm("guidance", guidance_specs());
  pl->addWidget(group("Guidance", "Steering toward a class: D = D_u + w(D_c − D_u)", guidance_));
  particles_ = new ParticlesPanel();
  pl->addWidget(group("Particles", "How many samples, and how they interact", particles_));
  reward_ = new ComponentForm("reward", reward_specs());
  pl->addWidget(group("Reward",
                      "r(x) of the final samples: what FK steering tilts toward (p·exp(λr)), "
                      "best-of-N and the searches maximise, and the step chart reports",
                      reward_));
  run_ = new RunPanel();
  pl->addWidget(group("Run", "Seed, backend and metrics", run_));
  pl->addStretch(1);
  auto* scroll = new QScrollArea();
  scroll->setWidget(params);
  scroll->setWidgetResizable(true);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setMinimumWidth(330);
  auto* left = new QDockWidget("Parameters", this);
  left->setObjectName("dock.parameters");
  left->setWidget(scroll);
  addDockWidget(Qt::LeftDockWidgetArea, left);

  for (ComponentForm* f : {process_, schedule_, solver_, guidance_, reward_})
    connect(f, &ComponentForm::edited, this, &MainWindow::onEdited);
  connect(model_, &ModelPanel::modelChanged, this, [this](bool network) {
    // a network is judged by other metrics than a mixture (fid for images): its defaults
    if (network)
      metricsDefault_ = true;
  });
  connect(run_, &RunPanel::metricsEdited, this, [this] { metricsDefault_ = false; });
  connect(model_, &ModelPanel::edited, this, &MainWindow::onEdited);
  connect(particles_, &ParticlesPanel::edited, this, &MainWindow::onEdited);
  connect(run_, &RunPanel::edited, this, &MainWindow::onEdited);

  // right: per-step chart, quality vs NFE, metrics
  stepChart_ = new StepChart();
  auto* steps = new QDockWidget("Per-step diagnostics", this);
  steps->setObjectName("dock.steps");
  steps->setWidget(stepChart_);
  addDockWidget(Qt::RightDockWidgetArea, steps);
  nfe_ = new NfeCurvePanel();
  auto* nfe = new QDockWidget("Quality vs NFE", this);
  nfe->setObjectName("dock.nfe");
  nfe->setWidget(nfe_);
  addDockWidget(Qt::RightDockWidgetArea, nfe);
  metrics_ = new QTableWidget(0, 2);
  metrics_->setObjectName("metrics");
  metrics_->setHorizontalHeaderLabels({"metric", "value"});
  metrics_->horizontalHeader()->setStretchLastSection(true);
  metrics_->verticalHeader()->hide();
  metrics_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  metrics_->setToolTip("Metrics of the current run against exact samples of the model "
                       "(class-conditional target when a class is set; for a 2-D network, its "
                       "training mixture), or for image networks through the bundled "
                       "classifier (hover a metric for what it is)");
  auto* met = new QDockWidget("Metrics", this);
  met->setObjectName("dock.metrics");
  met->setWidget(metrics_);
  addDockWidget(Qt::RightDockWidgetArea, met);

  // status bar
  auto label = [this](const QString& tip) {
    auto* l = new QLabel(this);
    l->setToolTip(tip);
    statusBar()->addPermanentWidget(l);
    return l;
  };
  stState_ = new QLabel(this);
  statusBar()->addWidget(stState_, 1);
  stBackend_ = label("Backend and device the run used");
  stNfe_ = label("Denoiser evaluations per particle");
  stWall_ = label("Wall time of the sampling (metrics not included)");
  stRate_ = label("Samples per second: particles / sampling wall time");

  addExportActions(view_, "view", true);
  addExportActions(stepChart_, "per-step chart", true);
  addExportActions(nfe_->chart(), "quality-vs-NFE chart", true);
  addExportActions(sigmaChart_, "σ(t) chart", true);

  connect(nfe_, &NfeCurvePanel::sweepRequested, session_, &Session::startSweep);
  connect(nfe_, &NfeCurvePanel::cancelRequested, session_, &Session::cancelSweep);
}

void MainWindow::resetLayout() {
  for (QDockWidget* d : findChildren<QDockWidget*>()) {
    d->setFloating(false);
    d->show();
  }
  auto* left = findChild<QDockWidget*>("dock.parameters");
  auto* steps = findChild<QDockWidget*>("dock.steps");
  auto* nfe = findChild<QDockWidget*>("dock.nfe");
  auto* met = findChild<QDockWidget*>("dock.metrics");
  addDockWidget(Qt::LeftDockWidgetArea, left);
  addDockWidget(Qt::RightDockWidgetArea, steps);
  splitDockWidget(steps, nfe, Qt::Vertical);
  splitDockWidget(nfe, met, Qt::Vertical);
  resizeDocks({left, steps}, {340, 440}, Qt::Horizontal);
  resizeDocks({steps, nfe, met}, {250, 330, 140}, Qt::Vertical);
}

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

// ---------------------------------------------------------------- session wiring

void MainWindow::connectSession() {
  connect(session_, &Session::presetAccepted, this, [this] { showErrors({}); });
  connect(session_, &Session::presetInvalid, this, [this](const QMap<QString, QString>& e) {
    showErrors(e);
    stState_->setText("invalid parameters: see the red fields");
  });
  connect(session_, &Session::runStarted, this, [this](int gen) {
    view_->setStale(true);
    stState_->setText(QString("● running (run %1)").arg(gen));
  });
  connect(session_, &Session::setupReady, this, [this](const SetupPtr& s) {
    view_->setSetup(s);
    sigmaChart_->setSetup(s);
    run_->setDevice(QString::fromStdString(s->backend + " · " + s->device) +
                    (s->notice.empty() ? QString() : "\n" + QString::fromStdString(s->notice)));
    stBackend_->setText(QString::fromStdString(s->backend + " · " + s->device));
    timeBar_->setRange(s->steps, 0);
    // the view options that apply to this model
    const bool image = s->image_shape.size() == 3, twoD = s->dim == 2;
    // hidden first, then shown: both sets visible at once would widen the window for good
    const std::initializer_list<QWidget*> flat{densityMode_, colorBy_, showPaths_, showParticles_,
                                               showGenealogy_};
    for (bool show : {false, true}) {
      if (image == show)
        showDenoised_->setVisible(show);
      for (QWidget* o : flat)
        if (twoD == show)
          o->setVisible(show);
    }
    if (metricsDefault_) {
      // the model's default metrics, shown ticked (the preset still names none)
      json names = json::array();
      for (const std::string& m : s->metrics)
        names.push_back(m);
      run_->setMetrics(names);
    }
    // image networks are swept by fid on fewer particles (a network call costs more)
    std::vector<std::string> sweep{"frechet", "mmd", "sliced_wasserstein"};
    if (image) {
      sweep = {"fid"};
      if (s->model_class >= 0)
        sweep.push_back("class_accuracy");
    }
    nfe_->setMetricChoices(sweep, image ? 128 : 2048);
  });
  connect(session_, &Session::framesAppended, this, [this] { refreshFrames(); });
  connect(session_, &Session::runFinished, this, [this](const OutputPtr& o) {
    view_->setStale(false);
    stNfe_->setText(QString("NFE %1").arg(o->nfe));
    particles_->setNfePerParticle(o->particles > 0 ? static_cast<double>(o->nfe_total) /
                                                         static_cast<double>(o->particles)
                                                   : 0.0);
    stWall_->setText(fmt_ms(o->wall_ms));
    const double rate = o->wall_ms > 0 ? o->samples.rows() / (o->wall_ms / 1000.0) : 0;
    stRate_->setText(rate >= 1e6   ? QString("%1 M samples/s").arg(rate / 1e6, 0, 'f', 2)
                     : rate >= 1e3 ? QString("%1 k samples/s").arg(rate / 1e3, 0, 'f', 1)
                                   : QString("%1 samples/s").arg(rate, 0, 'f', 1));
    stState_->setText("✓ done · computing metrics…");
    metrics_->setRowCount(0);
  });
  connect(session_, &Session::runFailed, this,
          [this](const QString&, const QMap<QString, QString>& e) {
            view_->setStale(false);
            showErrors(e);
            stState_->setText("✗ run failed: see the red fields");
          });
  connect(session_, &Session::runCancelled, this, [this] {
    view_->setStale(false);
    stState_->setText("■ cancelled");
  });
  connect(session_, &Session::metricsReady, this, [this](const MetricsResult& m) {
    metrics_->setRowCount(0);
    auto row = [this](const QString& k, const QString& v, const QString& tip = {}) {
      const int r = metrics_->rowCount();
      metrics_->insertRow(r);
      auto* key = new QTableWidgetItem(k);
      key->setToolTip(tip);
      metrics_->setItem(r, 0, key);
      metrics_->setItem(r, 1, new QTableWidgetItem(v));
    };
    for (const auto& [k, v] : m.values)
      row(metric_label(k), QString::number(v, 'g', 6), metric_tooltip(k));
    if (const OutputPtr o = session_->output()) {
      row("nfe", QString::number(o->nfe));
      row("particles", QString::number(o->samples.rows()));
      row("sampling", fmt_ms(o->wall_ms));
      nfe_->setCurrentRun(o->nfe, m.values);
    }
    row("metrics", fmt_ms(m.ms));
    if (!m.error.empty())
      row("error", QString::fromStdString(m.error));
    metrics_->resizeColumnToContents(0);
    stState_->setText("✓ done");
  });
  connect(session_, &Session::sweepStarted, this, [this] { nfe_->setRunning(true); });
  connect(session_, &Session::sweepProgress, nfe_, &NfeCurvePanel::setProgress);
  connect(session_, &Session::sweepFinished, nfe_, &NfeCurvePanel::setResult);
  connect(session_, &Session::sweepFailed, nfe_, &NfeCurvePanel::setError);
}

void MainWindow::refreshFrames() {
  static const bool debug = qEnvironmentVariableIsSet("ITSLAB_DEBUG_TIMING");
  QElapsedTimer timer;
  timer.start();
  const FrameList& f = session_->frames();
  const SetupPtr s = session_->setup();
  const int steps = s ? s->steps : 0;
  view_->setFrames(f);
  stepChart_->setFrames(f, steps);
  stepChart_->setGeneration(session_->generation());
  timeBar_->setRange(steps, static_cast<int>(f.size()));
  if (!f.empty()) {
    stNfe_->setText(QString("NFE %1").arg(f.back()->nfe));
    stWall_->setText(fmt_ms(f.back()->wall_ms));
  }
  if (debug && timer.elapsed() > 4)
    qDebug("refreshFrames %lld ms", static_cast<long long>(timer.elapsed()));
}

void MainWindow::onStep(int frame) {
  view_->setStep(frame);
  stepChart_->setStep(frame);
  sigmaChart_->setStep(frame);
}

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
  const json g = guidance_->toJson();
  if (g.value("type", std::string("none")) == "none")
    j.erase("guidance");
  else
    j["guidance"] = g;
  j["particles"] = particles_->toJson();
  const json r = reward_->toJson();
  if (r.value("type", std::string("none")) == "none")
    j.erase("reward");
  else
    j["reward"] = r;
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

void MainWindow::showErrors(const QMap<QString, QString>& errors) {
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
  if (!lines.isEmpty())
    showMessage(lines.join("\n"));
  else if (errors.isEmpty() && message_->property("fromErrors").toBool())
    messageBar_->hide();
  message_->setProperty("fromErrors", !lines.isEmpty());
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

bool MainWindow::isSettled() const {
  return session_->isSettled() && !session_->isSweeping() && view_->densityReady() &&
         session_->output() != nullptr;
}

} // namespace itslab::gui
