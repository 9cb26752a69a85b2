// TrajectoryView: its state, the density grids computed off the GUI thread, CSV export and
// mouse interaction (painting is in trajectory_view_paint.cpp).
#include "trajectory_view.hpp"

#include "density.hpp"

#include <QMouseEvent>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>
#include <sstream>

namespace itslab::gui {

namespace {

constexpr int kDensityPixels = 200; // the longer side of a density grid
constexpr size_t kCacheSize = 160;

std::string fingerprint(const GaussianMixture& m) {
  std::ostringstream s;
  s << m.id() << '#' << m.num_components() << '#' << m.dim();
  double acc = 0;
  for (int k = 0; k < m.num_components(); ++k) {
    acc += m.weight(k) * (k + 1);
    const Eigen::VectorXd mu = m.component_mean(k);
    acc += mu.sum() * (k + 3) + m.component_covariance(k).trace() * (k + 7);
  }
  s.precision(17);
  s << '#' << acc;
  return s.str();
}

} // namespace

TrajectoryView::TrajectoryView(QWidget* parent) : QWidget(parent) {
  setObjectName("view.trajectory");
  setMinimumSize(320, 260);
  setFocusPolicy(Qt::StrongFocus);
  setMouseTracking(false);
  setToolTip("Particles of the run at the shown step over the exact density log p_t(x) "
             "(white → blue over 8 nats). Wheel: zoom about the cursor · drag: pan · "
             "double click: reset the view");
  pool_.setMaxThreadCount(1);
  settle_.setSingleShot(true);
  settle_.setInterval(80);
  connect(&settle_, &QTimer::timeout, this, [this] {
    interacting_ = false;
    scheduleDensity();
    update();
  });
}

TrajectoryView::~TrajectoryView() {
  pool_.clear();
  pool_.waitForDone();
}

bool TrajectoryView::isTwoD() const {
  return setup_ && setup_->dim == 2;
}

bool TrajectoryView::isImage() const {
  return setup_ && setup_->image_shape.size() == 3;
}

void TrajectoryView::setShowDenoised(bool on) {
  showDenoised_ = on;
  update();
}

void TrajectoryView::setSetup(SetupPtr setup) {
  const std::string old = modelKey_;
  setup_ = std::move(setup);
  failed_ = false;
  modelKey_ = setup_ && setup_->model ? fingerprint(*setup_->model) : std::string();
  if (setup_ && setup_->model && modelKey_ != old) {
    const GaussianMixture& m = *setup_->model;
    if (m.dim() == 2) {
      double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
      for (int k = 0; k < m.num_components(); ++k) {
        const Eigen::VectorXd mu = m.component_mean(k);
        const Eigen::MatrixXd S = m.component_covariance(k);
        const double sx = 2.5 * std::sqrt(S(0, 0)), sy = 2.5 * std::sqrt(S(1, 1));
        x0 = std::min(x0, mu(0) - sx), x1 = std::max(x1, mu(0) + sx);
        y0 = std::min(y0, mu(1) - sy), y1 = std::max(y1, mu(1) + sy);
      }
      const double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
      const double half = 0.55 * std::max(x1 - x0, y1 - y0);
      home_ = QRectF(cx - half, cy - half, 2 * half, 2 * half);
      view_ = home_;
    } else {
      double vmax = 0, smax = 0;
      for (int k = 0; k < m.num_components(); ++k) {
        vmax = std::max(vmax, m.component_mean(k).cwiseAbs().maxCoeff());
        smax = std::max(smax, std::sqrt(m.component_covariance(k).diagonal().maxCoeff()));
      }
      gridScale_ = std::max(1e-6, vmax + 2 * smax);
    }
    cache_.clear();
    lru_.clear();
  }
  update();
}

void TrajectoryView::setFrames(const FrameList& frames) {
  frames_ = frames;
  step_ = std::clamp(step_, 0, std::max(0, frameCount() - 1));
  scheduleDensity();
  update();
}

void TrajectoryView::setStep(int index) {
  index = std::clamp(index, 0, std::max(0, frameCount() - 1));
  if (index == step_)
    return;
  step_ = index;
  scheduleDensity();
  update();
}

void TrajectoryView::setDensityMode(Density d) {
  density_ = d;
  scheduleDensity();
  update();
}
void TrajectoryView::setColorBy(ColorBy c) {
  colorBy_ = c;
  update();
}
void TrajectoryView::setShowPaths(bool on) {
  showPaths_ = on;
  update();
}
void TrajectoryView::setShowGenealogy(bool on) {
  showGenealogy_ = on;
  update();
}

void TrajectoryView::setShowParticles(bool on) {
  showParticles_ = on;
  update();
}
void TrajectoryView::setPathCount(int n) {
  pathCount_ = std::max(0, n);
  update();
}
void TrajectoryView::setStale(bool stale) {
  if (stale_ != stale) {
    stale_ = stale;
    update();
  }
}

QString TrajectoryView::placeholder() const {
  if (setup_ && !frames_.empty())
    return {};
  return failed_  ? "the run failed: see the message above"
         : setup_ ? "running…"
                  : "waiting for the first run…";
}

void TrajectoryView::setFailed(bool failed) {
  if (failed_ != failed) {
    failed_ = failed;
    update();
  }
}

void TrajectoryView::setViewRect(const QRectF& r) {
  if (!(r.width() > 0) || !(r.height() > 0))
    return;
  view_ = r;
  interacting_ = true;
  settle_.start();
  emit viewChanged();
  update();
}

void TrajectoryView::resetView() {
  setViewRect(home_);
}

QRect TrajectoryView::plotRect() const {
  const int fh = fontMetrics().height();
  return rect().adjusted(fontMetrics().horizontalAdvance("−88.8") + 10, 6, -8, -(fh + 10));
}

QRectF TrajectoryView::visibleRect(const QRect& plot) const {
  const double s = std::min(plot.width() / view_.width(), plot.height() / view_.height());
  const double w = plot.width() / s, h = plot.height() / s;
  const QPointF c = view_.center();
  return {c.x() - w / 2, c.y() - h / 2, w, h};
}

QPointF TrajectoryView::toPixel(const QRect& plot, const QRectF& vis, double x, double y) const {
  return {plot.left() + (x - vis.left()) / vis.width() * plot.width(),
          plot.top() + (vis.bottom() - y) / vis.height() * plot.height()};
}

std::optional<TrajectoryView::DensityKey> TrajectoryView::wantedKey(int frame,
                                                                    const QRectF& vis) const {
  if (!isTwoD() || density_ == Density::off || !setup_->model)
    return std::nullopt;
  DensityKey k;
  k.model = modelKey_;
  if (density_ == Density::current && frame >= 0 && frame < frameCount()) {
    k.alpha = frames_[static_cast<size_t>(frame)]->alpha;
    k.sigma = frames_[static_cast<size_t>(frame)]->sigma;
  }
  k.x = vis.x(), k.y = vis.y(), k.w = vis.width(), k.h = vis.height();
  const double a = vis.width() / vis.height();
  k.pw = a >= 1 ? kDensityPixels : std::max(8, static_cast<int>(kDensityPixels * a));
  k.ph = a >= 1 ? std::max(8, static_cast<int>(kDensityPixels / a)) : kDensityPixels;
  return k;
}

bool TrajectoryView::densityReady() const {
  const auto k = wantedKey(step_, visibleRect(plotRect()));
  return !k || cache_.count(*k);
}

void TrajectoryView::scheduleDensity() {
  if (jobRunning_ || interacting_ || !isTwoD())
    return;
  const QRectF vis = visibleRect(plotRect());
  // the shown step first, then the other recorded steps (so scrubbing is instant)
  std::optional<DensityKey> next;
  if (auto k = wantedKey(step_, vis); k && !cache_.count(*k))
    next = k;
  if (!next && density_ == Density::current) {
    const int n = std::min<int>(frameCount(), static_cast<int>(kCacheSize) - 8);
    for (int d = 1; d < frameCount() && !next; ++d)
      for (int f : {step_ + d, step_ - d})
        if (f >= 0 && f < frameCount() && std::abs(f - step_) < n)
          if (auto k = wantedKey(f, vis); k && !cache_.count(*k)) {
            next = k;
            break;
          }
  }
  if (!next)
    return;
  jobRunning_ = true;
  jobKey_ = next;
  const DensityKey key = *next;
  const std::shared_ptr<const GaussianMixture> model = setup_->model;
  pool_.start([this, key, model] {
    const QRectF r(key.x, key.y, key.w, key.h);
    QImage img = density_image(
        mixture_log_density_grid(*model, key.alpha, key.sigma, r, key.pw, key.ph), key.pw, key.ph);
    QMetaObject::invokeMethod(
        this,
        [this, key, img] {
          jobRunning_ = false;
          jobKey_.reset();
          if (key.model == modelKey_) {
            cache_[key] = img;
            lru_.push_back(key);
            while (lru_.size() > kCacheSize) {
              cache_.erase(lru_.front());
              lru_.pop_front();
            }
          }
          update();
          emit densityUpdated();
          scheduleDensity();
        },
        Qt::QueuedConnection);
  });
}

void TrajectoryView::resizeEvent(QResizeEvent*) {
  interacting_ = true;
  settle_.start();
}

QString TrajectoryView::csv() const {
  QString out;
  if (frames_.empty())
    return out;
  const RunFrame& f = *frames_[static_cast<size_t>(step_)];
  out += QString("# itslab trajectory view: step %1/%2, t=%3, sigma=%4\n")
             .arg(f.step)
             .arg(f.steps)
             .arg(f.t, 0, 'g', 17)
             .arg(f.sigma_edm, 0, 'g', 17);
  for (int j = 0; j < f.positions.cols(); ++j)
    out += (j ? ",x" : "x") + QString::number(j);
  if (!f.log_w.empty())
    out += ",log_w";
  if (!f.reward.empty())
    out += ",reward";
  out += "\n";
  for (int i = 0; i < f.positions.rows(); ++i) {
    for (int j = 0; j < f.positions.cols(); ++j)
      out += (j ? "," : "") + QString::number(f.positions(i, j), 'g', 9);
    if (!f.log_w.empty())
      out += "," + QString::number(f.log_w[static_cast<size_t>(i)], 'g', 9);
    if (!f.reward.empty())
      out += "," + QString::number(f.reward[static_cast<size_t>(i)], 'g', 9);
    out += "\n";
  }
  return out;
}

void TrajectoryView::wheelEvent(QWheelEvent* e) {
  if (!isTwoD())
    return;
  const QRect plot = plotRect();
  const QRectF vis = visibleRect(plot);
  const double f = std::pow(1.0015, -e->angleDelta().y());
  const QPointF pos = e->position();
  const double cx = vis.left() + (pos.x() - plot.left()) / plot.width() * vis.width();
  const double cy = vis.bottom() - (pos.y() - plot.top()) / plot.height() * vis.height();
  const QRectF r(cx - (cx - view_.left()) * f, cy - (cy - view_.top()) * f, view_.width() * f,
                 view_.height() * f);
  setViewRect(r);
  e->accept();
}

void TrajectoryView::mousePressEvent(QMouseEvent* e) {
  if (e->button() == Qt::LeftButton && isTwoD()) {
    dragging_ = true;
    dragFrom_ = e->pos();
    dragView_ = view_;
    setCursor(Qt::ClosedHandCursor);
  }
  QWidget::mousePressEvent(e);
}

void TrajectoryView::mouseMoveEvent(QMouseEvent* e) {
  if (!dragging_)
    return;
  const QRect plot = plotRect();
  const QRectF vis = visibleRect(plot);
  const QPoint d = e->pos() - dragFrom_;
  const double sx = vis.width() / plot.width(), sy = vis.height() / plot.height();
  setViewRect(dragView_.translated(-d.x() * sx, d.y() * sy));
}

void TrajectoryView::mouseReleaseEvent(QMouseEvent* e) {
  if (dragging_) {
    dragging_ = false;
    unsetCursor();
  }
  QWidget::mouseReleaseEvent(e);
}

void TrajectoryView::mouseDoubleClickEvent(QMouseEvent*) {
  resetView();
}

} // namespace itslab::gui
