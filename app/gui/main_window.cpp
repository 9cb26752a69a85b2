// MainWindow: construction, the docks and their layout, and the wiring to the Session; the
// actions, menus and export are in main_window_actions.cpp, the presets in main_window_presets.cpp.
#include "main_window.hpp"
#include "main_window_util.hpp"

#include "component_form.hpp"
#include "io/preset.hpp"
#include "io/preset_schema.hpp"
#include "metric_labels.hpp"
#include "model_panel.hpp"
#include "nfe_curve.hpp"
#include "particles_panel.hpp"
#include "run_panel.hpp"
#include "session.hpp"
#include "sigma_chart.hpp"
#include "step_chart.hpp"
#include "time_bar.hpp"
#include "trajectory_view.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QScrollArea>
#include <QSettings>
#include <QShortcut>
#include <QStatusBar>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

// the icon lives in itslab_app's resources (a static library: initialised by hand)
static void init_resources() {
  Q_INIT_RESOURCE(itslab);
}

namespace itslab::gui {

using main_window_util::kLayoutVersion;
using main_window_util::preset_json;
using nlohmann::json;

namespace {
QString fmt_ms(double ms) {
  return ms < 10     ? QString::number(ms, 'f', 2) + " ms"
         : ms < 1000 ? QString::number(ms, 'f', 1) + " ms"
                     : QString::number(ms / 1000, 'f', 2) + " s";
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
            view_->setFailed(true);
            // a failure no field caused (a lost device) is only in the message bar
            stState_->setText(showErrors(e) ? "✗ run failed: see the red fields"
                                            : "✗ run failed: see the message above");
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

bool MainWindow::isSettled() const {
  return session_->isSettled() && !session_->isSweeping() && view_->densityReady() &&
         session_->output() != nullptr;
}

} // namespace itslab::gui
