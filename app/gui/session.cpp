#include "session.hpp"

#include "backend/backend.hpp"
#include "component_form.hpp"
#include "core/error.hpp"
#include "core/philox.hpp"
#include "engine/experiment.hpp"
#include "engine/run.hpp"

#include <QElapsedTimer>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <omp.h>

namespace itslab::gui {

void register_gui_types() {
  static bool done = false;
  if (done)
    return;
  done = true;
  qRegisterMetaType<FramePtr>();
  qRegisterMetaType<FrameList>();
  qRegisterMetaType<SetupPtr>();
  qRegisterMetaType<OutputPtr>();
  qRegisterMetaType<MetricsResult>();
  qRegisterMetaType<SweepRequest>();
  qRegisterMetaType<SweepTable>();
  qRegisterMetaType<QMap<QString, QString>>();
}

// ---------------------------------------------------------------- EngineWorker

int64_t EngineWorker::snapshotRows(int dim, int64_t n) {
  return std::min<int64_t>(n, dim == 2 ? 20000 : 64);
}

namespace {
double rms_radius(const RowMatrixXf& P) {
  if (P.rows() == 0)
    return 0;
  const Eigen::RowVectorXd mean = P.cast<double>().colwise().mean();
  double s = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < P.rows(); ++i) {
    const double d2 = (P.row(i).cast<double>() - mean).squaredNorm();
    if (std::isfinite(d2))
      s += d2, ++n;
  }
  return n ? std::sqrt(s / n) : 0;
}
// What experiment_metrics() reads of a run's experiment: the exact mixture (the model, or the
// data a 2-D network was trained on), the network's configuration and the classifier. Built
// here rather than by build_experiment() so the metrics never redo a schedule optimisation.
Experiment metric_experiment(const Preset& p) {
  Experiment e;
  if (!preset_is_network(p)) {
    e.mixture = std::make_unique<GaussianMixture>(preset_model(p));
    return e;
  }
  e.network = NeuralModel::load(preset_network_folder(p));
  const std::string& trained_on = e.network->config().trained_on;
  const auto ids = builtin_gmm_ids();
  if (std::find(ids.begin(), ids.end(), trained_on) != ids.end())
    e.mixture = std::make_unique<GaussianMixture>(builtin_gmm(trained_on));
  for (const std::string& m : p.metrics_defaulted ? default_metrics(e) : p.metrics)
    if ((m == "fid" || m == "class_accuracy") && !e.classifier)
      e.classifier = Classifier::load(bundled_classifier_folder());
  return e;
}
} // namespace

void EngineWorker::start(int gen, const Preset& p, std::shared_ptr<std::atomic<bool>> cancel) {
  if (gen != latest.load())
    return; // a newer request is already queued
  if (!threadsSet_) {
    // leave the GUI thread a core while the app is interactive
    omp_set_num_threads(std::max(1, QThread::idealThreadCount() - 1));
    threadsSet_ = true;
  }
  using Clock = std::chrono::steady_clock;
  try {
    const Experiment e = build_experiment(p);
    auto it = backends_.find(p.backend);
    if (it != backends_.end() && !it->second.first->usable()) {
      backends_.erase(it); // its device was lost: open it again
      it = backends_.end();
    }
    if (it == backends_.end()) {
      BackendChoice bc = make_backend(p.backend);
      it = backends_.emplace(p.backend, std::make_pair(std::move(bc.backend), bc.notice)).first;
    }
    Backend& be = *it->second.first;
    const int d = e.model().dim();
    const int64_t n = p.particles;
    const int M = e.grid.steps();

    auto setup = std::make_shared<RunSetup>();
    setup->generation = gen;
    // the exact mixture behind the density view: the model's (or its class's), or the data a
    // 2-D network learned; none for image networks
    if (e.mixture)
      setup->model = std::make_shared<const GaussianMixture>(metric_target(e, p));
    setup->dim = d;
    setup->particles = n;
    setup->steps = M;
    setup->grid_t = e.grid.t;
    setup->grid_sigma = e.grid.sigma;
    const double t0 = e.process->t_min(), t1 = e.process->t_max();
    for (int i = 0; i <= 200; ++i) {
      const double t = t0 + (t1 - t0) * i / 200.0;
      setup->curve_t.push_back(t);
      setup->curve_sigma.push_back(e.process->sigma_edm(t));
    }
    setup->process = p.process.type;
    setup->schedule = p.schedule.type;
    setup->solver = p.solver.type;
    setup->backend = be.name();
    setup->device = be.device();
    setup->notice = it->second.second;
    setup->model_class = p.model_class;
    setup->metrics = p.metrics_defaulted ? default_metrics(e) : p.metrics;
    const bool image = e.network && e.network->config().is_image();
    if (e.network) {
      const ModelConfig& c = e.network->config();
      setup->network = c.name;
      setup->class_names = c.class_names;
      if (image) {
        setup->image_shape = c.data_shape;
        setup->pixel_scale = c.pixel_scale;
        setup->pixel_offset = c.pixel_offset;
      }
    }
    emit setupReady(setup);

    // x̂0 of the snapshot rows of an image network at grid node `node`: noisy images say little
    // until late, the prediction shows what each particle is becoming. It costs one denoiser
    // call on the snapshot rows (at most 64) per step, so it is recorded only when asked for.
    const bool want_denoised = image && record_denoised.load();
    const auto denoised = [&](const RowMatrixXf& X, int node, double sigma) -> RowMatrixXf {
      if (!want_denoised || X.rows() == 0 || node < 0 || node > M)
        return {};
      if (!(sigma > 0)) // the samples themselves (and search iterations' best samples)
        return X;
      Tensor x = be.alloc(X.rows(), d), x0 = be.alloc(X.rows(), d);
      be.upload(x, X.data());
      e.denoiser().denoise(be, x0, x, e.grid.t[static_cast<size_t>(node)],
                           e.grid.point[static_cast<size_t>(node)], p.model_class);
      RowMatrixXf out(X.rows(), d);
      be.download(x0, out.data());
      return out;
    };

    const int64_t K = snapshotRows(d, n);
    FrameList pending;
    auto last_emit = Clock::now();
    {
      // frame 0: x_T for the first K particles, the same noise sample() draws
      auto f = std::make_shared<RunFrame>();
      Tensor z = be.alloc(K, d);
      be.fill_normal(z, {p.seed, static_cast<uint32_t>(Stream::init_noise), 0, 0});
      be.lincomb(z, {{&z, e.process->prior_scale()}});
      f->positions.resize(K, d);
      be.download(z, f->positions.data());
      f->step = 0;
      f->steps = M;
      f->t = e.grid.t[0];
      f->sigma_edm = e.grid.sigma[0];
      f->alpha = e.grid.point[0].alpha;
      f->sigma = e.grid.point[0].sigma;
      f->particles = n;
      f->spread = rms_radius(f->positions);
      f->denoised = denoised(f->positions, 0, f->sigma_edm);
      emit framesReady(gen, {f});
    }
    RunOptions o;
    o.cancel = cancel.get();
    o.snapshot_particles = static_cast<int>(K);
    o.on_step = [&](const StepSnapshot& s) {
      auto f = std::make_shared<RunFrame>();
      f->step = s.step;
      f->steps = s.steps;
      f->t = s.t;
      f->sigma_edm = s.sigma;
      const auto& pt = e.grid.point[static_cast<size_t>(s.step)];
      f->alpha = pt.alpha;
      f->sigma = pt.sigma;
      f->nfe = s.nfe;
      f->wall_ms = s.wall_ms;
      f->positions = s.positions;
      f->ess = s.ess;
      f->log_w_spread = s.log_w_spread;
      f->reward_mean = s.reward_mean;
      f->reward_max = s.reward_max;
      f->reward_std = s.reward_std;
      f->has_reward = s.has_reward;
      f->resamplings = s.resamplings;
      f->log_w = s.log_w;
      f->reward = s.reward;
      f->ancestors = s.ancestors;
      f->particles = n;
      f->spread = rms_radius(f->positions);
      f->denoised = denoised(f->positions, s.step, s.sigma);
      pending.push_back(std::move(f));
      const auto now = Clock::now();
      if (s.step == s.steps || now - last_emit >= std::chrono::milliseconds(throttle_ms.load())) {
        emit framesReady(gen, std::move(pending));
        pending.clear();
        last_emit = now;
      }
    };
    SampleResult r = sample(be, e, p, o);
    if (!pending.empty())
      emit framesReady(gen, std::move(pending));
    auto out = std::make_shared<RunOutput>();
    out->generation = gen;
    out->samples = std::move(r.samples);
    out->nfe = r.nfe;
    out->nfe_total = r.nfe_total;
    out->particles = n;
    out->wall_ms = r.wall_ms;
    out->backend = be.name();
    out->device = be.device();
    out->notice = it->second.second;
    emit finished(out);
  } catch (const Cancelled&) {
    emit cancelled(gen);
  } catch (const std::exception& ex) {
    emit failed(gen, QString::fromStdString(ex.what()));
  }
}

// ---------------------------------------------------------------- Session

Session::Session(QObject* parent) : QObject(parent) {
  register_gui_types();
  debounce_.setSingleShot(true);
  debounce_.setInterval(50);
  immediate_.setSingleShot(true);
  immediate_.setInterval(0);
  connect(&debounce_, &QTimer::timeout, this, &Session::launch);
  connect(&immediate_, &QTimer::timeout, this, &Session::launch);
  metricsPool_.setMaxThreadCount(1);

  thread_.setObjectName("itslab-engine");
  worker_ = new EngineWorker();
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  connect(worker_, &EngineWorker::setupReady, this, &Session::onSetup);
  connect(worker_, &EngineWorker::framesReady, this, &Session::onFrames);
  connect(worker_, &EngineWorker::finished, this, &Session::onFinished);
  connect(worker_, &EngineWorker::failed, this, &Session::onFailed);
  connect(worker_, &EngineWorker::cancelled, this, &Session::onCancelled);
  thread_.start();
}

Session::~Session() {
  if (token_)
    token_->store(true);
  worker_->latest.store(-1);
  cancelSweep();
  if (sweepThread_) {
    sweepThread_->wait();
    delete sweepThread_;
    sweepThread_ = nullptr;
  }
  thread_.quit();
  thread_.wait();
  latestGeneration_.store(-1);
  metricsPool_.clear();
  metricsPool_.waitForDone();
}

QMap<QString, QString> Session::setPresetJson(const nlohmann::json& j, bool debounce) {
  json_ = j;
  QMap<QString, QString> errors;
  try {
    preset_ = parse_preset(j.dump(), "preset").preset;
  } catch (const std::exception& e) {
    errors = split_preset_errors(QString::fromStdString(e.what()));
    if (errors.isEmpty())
      errors[""] = QString::fromStdString(e.what());
  }
  if (!errors.isEmpty()) {
    valid_ = false;
    debounce_.stop();
    immediate_.stop();
    emit presetInvalid(errors);
    return errors;
  }
  valid_ = true;
  emit presetAccepted();
  if (debounce) {
    if (!immediate_.isActive())
      debounce_.start();
  } else {
    debounce_.stop();
    immediate_.start();
  }
  return errors;
}

void Session::rerun() {
  if (!valid_)
    return;
  debounce_.stop();
  immediate_.stop();
  launch();
}

void Session::setRecordDenoised(bool on) {
  worker_->record_denoised.store(on);
  if (on && setup_ && setup_->image_shape.size() == 3 && !frames_.empty() &&
      frames_.front()->denoised.rows() == 0)
    rerun();
}

void Session::cancel() {
  debounce_.stop();
  immediate_.stop();
  if (token_)
    token_->store(true);
}

bool Session::isSettled() const {
  return !isRunning() && !metricsPending_;
}

void Session::launch() {
  if (!valid_)
    return;
  if (token_)
    token_->store(true); // the stale run stops at its next step
  token_ = std::make_shared<std::atomic<bool>>(false);
  const int gen = ++generation_;
  latestGeneration_.store(gen);
  worker_->latest.store(gen);
  running_ = true;
  metricsPending_ = false;
  ++runsStarted_;
  lastError_.clear();
  EngineWorker* w = worker_;
  const Preset p = preset_;
  auto token = token_;
  QMetaObject::invokeMethod(
      w, [w, gen, p, token] { w->start(gen, p, token); }, Qt::QueuedConnection);
  emit runStarted(gen);
}

void Session::onSetup(SetupPtr s) {
  if (s->generation != generation_)
    return;
  setup_ = std::move(s);
  if (preset_.metrics_defaulted && !debounce_.isActive() && !immediate_.isActive()) {
    // the model's defaults, named, so a saved or copied preset measures what this run does
    preset_.metrics = setup_->metrics;
    preset_.metrics_defaulted = false;
  }
  frames_.clear();
  output_.reset();
  emit setupReady(setup_);
}

void Session::onFrames(int gen, FrameList frames) {
  if (gen != generation_)
    return;
  for (auto& f : frames)
    frames_.push_back(std::move(f));
  emit framesAppended(gen);
}

void Session::onFinished(OutputPtr out) {
  if (out->generation != generation_)
    return;
  output_ = out;
  running_ = false;
  metricsPending_ = !preset_.metrics.empty() || preset_.metrics_defaulted;
  metrics_ = MetricsResult{out->generation, {}, 0, {}};
  emit runFinished(out);
  if (!metricsPending_) {
    emit metricsReady(metrics_);
    return;
  }
  const Preset p = preset_;
  metricsPool_.start([this, out, p] {
    if (latestGeneration_.load() != out->generation)
      return; // stale before it started
    MetricsResult m;
    m.generation = out->generation;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      const Experiment e = metric_experiment(p);
      // the classifier behind fid runs on the CPU: the engine thread owns the other backends
      const BackendChoice cpu = make_backend("cpu");
      m.values = experiment_metrics(*cpu.backend, e, p, out->samples).values;
    } catch (const std::exception& e) {
      m.error = e.what();
    }
    m.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    QMetaObject::invokeMethod(
        this,
        [this, m] {
          if (m.generation != generation_)
            return;
          metrics_ = m;
          metricsPending_ = false;
          emit metricsReady(m);
        },
        Qt::QueuedConnection);
  });
}

void Session::onFailed(int gen, QString message) {
  if (gen != generation_)
    return;
  running_ = false;
  lastError_ = message;
  QMap<QString, QString> errors = split_preset_errors(message);
  emit runFailed(message, errors);
}

void Session::onCancelled(int gen) {
  if (gen != generation_)
    return; // superseded by a newer run
  running_ = false;
  emit runCancelled();
}

// ---------------------------------------------------------------- sweeps

void Session::startSweep(const SweepRequest& req) {
  if (sweepThread_ || !valid_)
    return;
  // Budget mode runs one sweep per method over the particle counts: each method keeps the
  // current preset's parameters when it is the current method and its defaults otherwise, since
  // the methods' parameters (keep, λ, iterations, …) do not carry over between them.
  std::vector<std::pair<std::string, Sweep>> parts;
  if (req.budget) {
    if (preset_.reward.type.empty() || preset_.reward.type == "none") {
      emit sweepFailed("reward vs budget compares rewards: choose a reward in the Reward panel");
      return;
    }
    if (req.methods.empty() || req.counts.empty()) {
      emit sweepFailed("a budget sweep needs at least one method and one particle count");
      return;
    }
    const nlohmann::json current = preset_to_json(preset_);
    const std::string method = preset_.particle_method.type;
    for (const std::string& m : req.methods) {
      Sweep s;
      s.base = current;
      if (m != method) {
        s.base["particles"] = {{"count", 1}};
        if (m != "independent")
          s.base["particles"]["method"] = m;
      }
      SweepAxis counts{"particles.count", {}};
      for (int64_t n : req.counts)
        counts.values.emplace_back(n);
      s.axes = {counts};
      s.metrics = {"log_density"};
      parts.emplace_back(m, std::move(s));
    }
  } else {
    Sweep s;
    Preset base = preset_;
    base.particles = req.particles;
    s.base = preset_to_json(base);
    SweepAxis solvers{"solver.type", {}}, steps{"schedule.steps", {}};
    for (const auto& v : req.solvers)
      solvers.values.emplace_back(v);
    for (int v : req.steps)
      steps.values.emplace_back(v);
    if (solvers.values.empty() || steps.values.empty()) {
      emit sweepFailed("a sweep needs at least one solver and one step count");
      return;
    }
    s.axes = {solvers, steps};
    s.metrics = {req.metric};
    parts.emplace_back("", std::move(s));
  }
  int64_t total = 0;
  for (const auto& [m, s] : parts)
    total += s.grid_size();
  sweepCancel_ = std::make_shared<std::atomic<bool>>(false);
  auto cancel = sweepCancel_;
  const QString metric = QString::fromStdString(req.metric);
  sweepThread_ = QThread::create([this, parts, cancel, metric, total] {
    try {
      SweepTable all;
      int64_t before = 0;
      for (const auto& [m, s] : parts) {
        SweepOptions o;
        o.cancel = cancel.get();
        o.on_progress = [this, before, total](int64_t done, int64_t) {
          QMetaObject::invokeMethod(
              this, [this, done, before, total] { emit sweepProgress(before + done, total); },
              Qt::QueuedConnection);
        };
        SweepTable t = run_sweep(s, o);
        if (all.paths.empty())
          all = t, all.rows.clear();
        if (!m.empty() &&
            std::find(all.paths.begin(), all.paths.end(), "particles.method") == all.paths.end())
          all.paths.insert(all.paths.begin(), "particles.method");
        for (SweepRow& r : t.rows) {
          if (!m.empty())
            r.settings["particles.method"] = m;
          r.index = static_cast<int64_t>(all.rows.size());
          all.rows.push_back(std::move(r));
        }
        all.cancelled = t.cancelled;
        before += s.grid_size();
        if (t.cancelled)
          break;
      }
      all.grid = total;
      QMetaObject::invokeMethod(
          this,
          [this, all, metric] {
            sweep_ = all;
            emit sweepFinished(all, metric, all.cancelled);
          },
          Qt::QueuedConnection);
    } catch (const std::exception& e) {
      const QString msg = QString::fromStdString(e.what());
      QMetaObject::invokeMethod(
          this, [this, msg] { emit sweepFailed(msg); }, Qt::QueuedConnection);
    }
  });
  sweepThread_->setObjectName("itslab-sweep");
  connect(sweepThread_, &QThread::finished, this, [this] {
    if (sweepThread_) {
      sweepThread_->deleteLater();
      sweepThread_ = nullptr;
    }
  });
  sweepThread_->start(QThread::LowPriority);
  emit sweepStarted();
  emit sweepProgress(0, total);
}

void Session::cancelSweep() {
  if (sweepCancel_)
    sweepCancel_->store(true);
}

} // namespace itslab::gui
