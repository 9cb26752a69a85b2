// TrajectoryView's painting: the 2-D plane (density, paths, genealogy, particles, axes and
// the overlay text), the tile grid of high-dimensional samples and the image grid.
#include "trajectory_view.hpp"

#include "colormap.hpp"
#include "density.hpp"
#include "image_grid.hpp"

#include <QElapsedTimer>
#include <QPainter>
#include <QPainterPath>
#include <algorithm>
#include <cmath>

namespace itslab::gui {

namespace {

// Nice tick positions covering [lo, hi] (about `target` of them).
std::vector<double> ticks(double lo, double hi, int target = 6) {
  std::vector<double> t;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi))
    return t;
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step)
    t.push_back(std::abs(v) < 1e-12 * step ? 0.0 : v);
  return t;
}

// "the first n of N particles at step s/S (t = …, σ = …, NFE …)": where the shown frame is
QString frame_caption(const RunFrame& f, int n) {
  return QString("the first %1 of %2 particles at step %3/%4 (t = %5, σ = %6, NFE %7)")
      .arg(n)
      .arg(f.particles)
      .arg(f.step)
      .arg(f.steps)
      .arg(f.t, 0, 'g', 3)
      .arg(f.sigma_edm, 0, 'g', 3)
      .arg(f.nfe);
}

} // namespace

void TrajectoryView::paintEvent(QPaintEvent*) {
  static const bool debug = qEnvironmentVariableIsSet("ITSLAB_DEBUG_TIMING");
  QElapsedTimer timer;
  timer.start();
  struct Report {
    QElapsedTimer& t;
    ~Report() {
      if (debug && t.elapsed() > 4)
        qDebug("TrajectoryView::paintEvent %lld ms", static_cast<long long>(t.elapsed()));
    }
  } report{timer};
  QPainter p(this);
  p.fillRect(rect(), palette().window());
  if (const QString text = placeholder(); !text.isEmpty()) {
    p.setPen(palette().color(QPalette::Mid));
    p.drawText(rect(), Qt::AlignCenter, text);
    return;
  }
  if (isTwoD())
    paintTwoD(p);
  else if (isImage())
    paintImages(p);
  else
    paintGrid(p);
}

QColor TrajectoryView::particleColor(const RunFrame& f, int i, double lo, double hi, bool byW,
                                     bool byR) const {
  const std::vector<float>* v = byW ? &f.log_w : byR ? &f.reward : nullptr;
  if (!v || i >= static_cast<int>(v->size()))
    return QColor(0xd9, 0x5f, 0x02);
  const double u = hi > lo ? ((*v)[static_cast<size_t>(i)] - lo) / (hi - lo) : 0.5;
  return QColor::fromRgb(lut_at(value_lut(), u));
}

void TrajectoryView::paintTwoD(QPainter& p) {
  const QRect plot = plotRect();
  const QRectF vis = visibleRect(plot);
  p.fillRect(plot, Qt::white);
  p.save();
  p.setClipRect(plot);

  // density: the wanted image, else the nearest cached one for this model (drawn where it lies)
  if (density_ != Density::off) {
    const auto want = wantedKey(step_, vis);
    const QImage* img = nullptr;
    DensityKey used;
    if (want && cache_.count(*want)) {
      img = &cache_.at(*want);
      used = *want;
    } else if (want) {
      for (auto it = lru_.rbegin(); it != lru_.rend(); ++it)
        if (it->model == want->model && it->alpha == want->alpha && it->sigma == want->sigma) {
          img = &cache_.at(*it);
          used = *it;
          break;
        }
      if (!img && !lru_.empty() && cache_.count(lru_.back()) && lru_.back().model == want->model) {
        img = &cache_.at(lru_.back());
        used = lru_.back();
      }
    }
    if (img) {
      const QPointF a = toPixel(plot, vis, used.x, used.y + used.h);
      const QPointF b = toPixel(plot, vis, used.x + used.w, used.y);
      p.setRenderHint(QPainter::SmoothPixmapTransform, true);
      p.drawImage(QRectF(a, b), *img);
    }
    if (!jobRunning_ && !interacting_ && want && !cache_.count(*want))
      QMetaObject::invokeMethod(
          this, [this] { scheduleDensity(); }, Qt::QueuedConnection);
  }

  const RunFrame& cur = *frames_[static_cast<size_t>(step_)];
  // right after a resampling all weights are equal and say nothing: auto then shows the reward
  const auto [wlo, whi] =
      cur.log_w.empty()
          ? std::pair<float, float>{0.f, 0.f}
          : std::pair<float, float>{*std::min_element(cur.log_w.begin(), cur.log_w.end()),
                                    *std::max_element(cur.log_w.begin(), cur.log_w.end())};
  const bool flat = !(whi - wlo > 1e-6f) && cur.has_reward && !cur.reward.empty();
  const bool byW = (colorBy_ == ColorBy::log_weight || (colorBy_ == ColorBy::automatic && !flat)) &&
                   !cur.log_w.empty() && cur.ess >= 0;
  const bool byR = !byW && (colorBy_ == ColorBy::reward || colorBy_ == ColorBy::automatic) &&
                   cur.has_reward && !cur.reward.empty();
  double lo = 0, hi = 0;
  if (byW || byR) {
    const auto& v = byW ? cur.log_w : cur.reward;
    lo = 1e300, hi = -1e300;
    for (float x : v)
      if (std::isfinite(x))
        lo = std::min<double>(lo, x), hi = std::max<double>(hi, x);
  }
  colouring_ = byW ? "log-weight" : byR ? "reward" : "";
  colourLo_ = lo;
  colourHi_ = hi;

  // paths of the first particles, up to the shown step
  if (showPaths_ && pathCount_ > 0 && step_ > 0) {
    p.setRenderHint(QPainter::Antialiasing, true);
    const int paths = std::min<int>(pathCount_, static_cast<int>(cur.positions.rows()));
    for (int i = 0; i < paths; ++i) {
      QPainterPath path;
      bool started = false;
      for (int f = 0; f <= step_; ++f) {
        const RowMatrixXf& P = frames_[static_cast<size_t>(f)]->positions;
        if (i >= P.rows())
          continue;
        const double x = P(i, 0), y = P(i, 1);
        if (!std::isfinite(x) || !std::isfinite(y))
          continue;
        const QPointF q = toPixel(plot, vis, x, y);
        const QPointF qc(std::clamp(q.x(), -1e5, 1e5), std::clamp(q.y(), -1e5, 1e5));
        if (!started)
          path.moveTo(qc), started = true;
        else
          path.lineTo(qc);
      }
      QColor c = (byW || byR) ? particleColor(cur, i, lo, hi, byW, byR) : QColor(0x55, 0x55, 0x55);
      c.setAlpha(55);
      p.setPen(QPen(c, 1.0));
      p.drawPath(path);
    }
    p.setRenderHint(QPainter::Antialiasing, false);
  }

  genealogyDrawn_ = genealogySkipped_ = 0;
  if (showGenealogy_ && step_ > 0 && !cur.ancestors.empty()) {
    const RowMatrixXf& P = cur.positions;
    const RowMatrixXf& Q = frames_[static_cast<size_t>(step_ - 1)]->positions;
    p.setRenderHint(QPainter::Antialiasing, true);
    QColor c(0x1b, 0x9e, 0x77, 110);
    p.setPen(QPen(c, 1.0));
    const int rows =
        std::min<int>(static_cast<int>(P.rows()), static_cast<int>(cur.ancestors.size()));
    for (int i = 0; i < rows; ++i) {
      const int32_t a = cur.ancestors[static_cast<size_t>(i)];
      // the snapshot holds the first K particles; a parent beyond them has no recorded position
      if (a < 0 || a >= Q.rows()) {
        ++genealogySkipped_;
        continue;
      }
      const QPointF from = toPixel(plot, vis, P(i, 0), P(i, 1));
      const QPointF to = toPixel(plot, vis, Q(a, 0), Q(a, 1));
      if (!std::isfinite(from.x()) || !std::isfinite(from.y()) || !std::isfinite(to.x()) ||
          !std::isfinite(to.y()))
        continue;
      p.drawLine(from, to);
      ++genealogyDrawn_;
    }
    p.setRenderHint(QPainter::Antialiasing, false);
  }

  // particles, splatted 2×2 device pixels each
  if (showParticles_) {
    const qreal dpr = devicePixelRatioF();
    QImage layer((plot.size() * dpr), QImage::Format_ARGB32_Premultiplied);
    layer.fill(Qt::transparent);
    const int W = layer.width(), H = layer.height();
    const int r = std::max(1, static_cast<int>(std::lround(dpr)));
    const RowMatrixXf& P = cur.positions;
    const QRgb fixed = QColor(0xd9, 0x5f, 0x02).rgba();
    for (int i = 0; i < P.rows(); ++i) {
      const double x = P(i, 0), y = P(i, 1);
      const double px = (x - vis.left()) / vis.width() * W;
      const double py = (vis.bottom() - y) / vis.height() * H;
      if (!(px >= 0 && px < W && py >= 0 && py < H))
        continue;
      const QRgb c = (byW || byR) ? particleColor(cur, i, lo, hi, byW, byR).rgba() : fixed;
      const int ix = static_cast<int>(px), iy = static_cast<int>(py);
      for (int dy = 0; dy <= r && iy + dy < H; ++dy) {
        auto* line = reinterpret_cast<QRgb*>(layer.scanLine(iy + dy));
        for (int dx = 0; dx <= r && ix + dx < W; ++dx)
          line[ix + dx] = c;
      }
    }
    layer.setDevicePixelRatio(dpr);
    p.drawImage(plot.topLeft(), layer);
  }
  if (stale_)
    p.fillRect(plot, QColor(255, 255, 255, 90));
  p.restore();
  paintAxes(p, plot, vis);
  paintOverlay(p, plot);
}

void TrajectoryView::paintAxes(QPainter& p, const QRect& plot, const QRectF& vis) {
  p.setPen(palette().color(QPalette::WindowText));
  p.drawRect(plot.adjusted(0, 0, -1, -1));
  const QFontMetrics fm = fontMetrics();
  for (double x : ticks(vis.left(), vis.right(), std::max(2, plot.width() / 80))) {
    const double px = toPixel(plot, vis, x, 0).x();
    p.drawLine(QPointF(px, plot.bottom()), QPointF(px, plot.bottom() + 4));
    const QString s = QString::number(x, 'g', 4);
    p.drawText(QPointF(px - fm.horizontalAdvance(s) / 2.0, plot.bottom() + 5 + fm.ascent()), s);
  }
  for (double y : ticks(vis.top(), vis.bottom(), std::max(2, plot.height() / 60))) {
    const double py = toPixel(plot, vis, 0, y).y();
    p.drawLine(QPointF(plot.left() - 4, py), QPointF(plot.left(), py));
    const QString s = QString::number(y, 'g', 4);
    p.drawText(QPointF(plot.left() - 6 - fm.horizontalAdvance(s), py + fm.ascent() / 2.0 - 1), s);
  }
}

void TrajectoryView::paintOverlay(QPainter& p, const QRect& plot) {
  const RunFrame& f = *frames_[static_cast<size_t>(step_)];
  QString head = step_ == 0 ? QString("x_T (initial noise) · step 0/%1").arg(f.steps)
                            : QString("step %1/%2").arg(f.step).arg(f.steps);
  head += QString(" · t = %1 · σ = %2 · NFE %3")
              .arg(f.t, 0, 'g', 4)
              .arg(f.sigma_edm, 0, 'g', 4)
              .arg(f.nfe);
  QStringList lines{head};
  if (isTwoD()) {
    // a network's own density is not known: what is drawn is the data it was trained on
    const bool data = !setup_->network.empty();
    if (data) {
      lines << QString("%1 particles shown of %2 · a network's samples (approximate)")
                   .arg(f.positions.rows())
                   .arg(f.particles);
      lines << (density_ == Density::off ? QString("density off")
                : density_ == Density::target
                    ? QString("training data density (exact mixture), log p₀")
                    : QString("training data density (exact mixture), log p_t at this step"));
    } else {
      const QString dens = density_ == Density::off      ? "density off"
                           : density_ == Density::target ? "density: log p₀ (target)"
                                                         : "density: log p_t at this step";
      lines << QString("%1 particles shown of %2 · %3")
                   .arg(f.positions.rows())
                   .arg(f.particles)
                   .arg(dens);
    }
    const QString colour = colouring_.isEmpty() ? QString()
                                                : QString(" · colour = %1 %2 … %3")
                                                      .arg(colouring_)
                                                      .arg(colourLo_, 0, 'g', 3)
                                                      .arg(colourHi_, 0, 'g', 3);
    if (f.ess >= 0)
      lines << QString("ESS %1 (%2 % of N)%3")
                   .arg(f.ess, 0, 'f', 0)
                   .arg(100.0 * f.ess / std::max<int64_t>(1, f.particles), 0, 'f', 1)
                   .arg(colour);
    else
      lines << "no weights (independent particles)" + colour;
    if (showGenealogy_)
      lines << (f.ancestors.empty()
                    ? QString("genealogy: no resampling at this step")
                    : QString("genealogy: %1 lines to ancestors, %2 outside the shown subset")
                          .arg(genealogyDrawn_)
                          .arg(genealogySkipped_));
  }
  if (stale_)
    lines << "⟳ updating…";
  const QFontMetrics fm = fontMetrics();
  // lines longer than the plot are cut with an ellipsis rather than drawn past its edge
  const int room = std::max(40, plot.width() - 24);
  int w = 0;
  for (QString& l : lines) {
    l = fm.elidedText(l, Qt::ElideRight, room);
    w = std::max(w, fm.horizontalAdvance(l));
  }
  const QRect box(plot.left() + 6, plot.top() + 6, w + 12, lines.size() * fm.height() + 8);
  p.fillRect(box, QColor(255, 255, 255, 200));
  p.setPen(QColor(0x20, 0x20, 0x20));
  for (int i = 0; i < lines.size(); ++i)
    p.drawText(box.left() + 6, box.top() + 4 + fm.ascent() + i * fm.height(), lines[i]);
}

void TrajectoryView::paintGrid(QPainter& p) {
  const RunFrame& f = *frames_[static_cast<size_t>(step_)];
  const int d = static_cast<int>(f.positions.cols());
  const int n = std::min<int>(64, static_cast<int>(f.positions.rows()));
  const QFontMetrics fm = fontMetrics();
  const QRect area = rect().adjusted(8, 3 * fm.height() + 10, -8, -(fm.height() + 12));
  p.setPen(palette().color(QPalette::WindowText));
  p.drawText(QRect(8, 4, width() - 16, 3 * fm.height() + 4), Qt::AlignLeft | Qt::TextWordWrap,
             QString("%1-D model: %2; each sample is one tile, its %1 coordinates row by row, "
                     "blue < 0 < red (±%3)")
                 .arg(d)
                 .arg(frame_caption(f, n))
                 .arg(gridScale_, 0, 'g', 2));
  if (n == 0 || d == 0)
    return;
  const int tw = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(d))));
  const int th = (d + tw - 1) / tw;
  // columns × rows of tiles that fill the area best
  int bestC = 1;
  double bestS = 0;
  for (int c = 1; c <= n; ++c) {
    const int r = (n + c - 1) / c;
    const double s = std::min(area.width() / (c * (tw + 1.0)), area.height() / (r * (th + 1.0)));
    if (s > bestS)
      bestS = s, bestC = c;
  }
  const double cell = bestS;
  const Lut& lut = diverging_lut();
  p.setRenderHint(QPainter::SmoothPixmapTransform, false);
  for (int i = 0; i < n; ++i) {
    QImage tile(tw, th, QImage::Format_RGB32);
    tile.fill(palette().color(QPalette::Window));
    for (int j = 0; j < d; ++j) {
      const double u = 0.5 + 0.5 * f.positions(i, j) / gridScale_;
      tile.setPixel(j % tw, j / tw, lut_at(lut, std::isfinite(u) ? u : 0.5));
    }
    const int c = i % bestC, r = i / bestC;
    const QRectF target(area.left() + c * cell * (tw + 1), area.top() + r * cell * (th + 1),
                        cell * tw, cell * th);
    p.drawImage(target, tile);
  }
  if (stale_)
    p.fillRect(area, QColor(255, 255, 255, 90));
}

void TrajectoryView::paintImages(QPainter& p) {
  const RunFrame& f = *frames_[static_cast<size_t>(step_)];
  const int C = setup_->image_shape[0], H = setup_->image_shape[1], W = setup_->image_shape[2];
  const bool denoised = showDenoised_ && f.denoised.rows() > 0;
  const RowMatrixXf& X = denoised ? f.denoised : f.positions;
  const int n = std::min<int>(64, static_cast<int>(X.rows()));
  const bool rewards = f.has_reward && static_cast<int>(f.reward.size()) >= n;
  showsDenoised_ = denoised;
  imageTiles_ = 0;

  QString what = denoised     ? "predicted x₀ = E[x₀ | x_t]"
                 : step_ == 0 ? "x_T, the initial noise"
                              : "x_t";
  QString cls = "unconditional";
  if (setup_->model_class >= 0) {
    const auto c = static_cast<size_t>(setup_->model_class);
    cls = QString("class %1").arg(c) + (c < setup_->class_names.size()
                                            ? " " + QString::fromStdString(setup_->class_names[c])
                                            : QString());
  }
  QStringList lines;
  lines << QString("%1 — %2").arg(QString::fromStdString(setup_->network), cls);
  lines << frame_caption(f, n) + ": " + what;
  if (rewards)
    lines << QString("under each image: its reward r (mean %1, max %2 over all particles)")
                 .arg(f.reward_mean, 0, 'g', 3)
                 .arg(f.reward_max, 0, 'g', 3);
  if (f.ess >= 0)
    lines << QString("ESS %1 (%2 % of N)")
                 .arg(f.ess, 0, 'f', 0)
                 .arg(100.0 * f.ess / std::max<int64_t>(1, f.particles), 0, 'f', 1);
  const QFontMetrics fm = fontMetrics();
  const int headH = lines.size() * fm.height() + 8;
  p.setPen(palette().color(QPalette::WindowText));
  for (int i = 0; i < lines.size(); ++i)
    p.drawText(QRect(8, 4 + i * fm.height(), width() - 16, fm.height()),
               Qt::AlignLeft | Qt::AlignVCenter,
               fm.elidedText(lines[i], Qt::ElideRight, width() - 16));
  if (n == 0)
    return;
  const QRect area = rect().adjusted(8, headH + 4, -8, -6);
  const int gap = 6, label = rewards ? fm.height() : 0;
  // columns × rows that give the largest images
  int bestC = 1;
  double bestS = 0;
  for (int c = 1; c <= n; ++c) {
    const int r = (n + c - 1) / c;
    const double s = std::min((area.width() - gap * c) / (c * static_cast<double>(W)),
                              (area.height() - r * (gap + label)) / (r * static_cast<double>(H)));
    if (s > bestS)
      bestS = s, bestC = c;
  }
  // whole screen pixels per model pixel once that wastes little room (crisp squares); below,
  // smooth scaling, since uneven nearest-neighbour pixels look worse than a slight blur
  const double s = bestS >= 4 ? std::floor(bestS) : bestS;
  if (!(s > 0))
    return;
  p.setRenderHint(QPainter::SmoothPixmapTransform, s < 4);
  ImageGridStyle style;
  style.cols = 1;
  style.gap = 0;
  style.pixel_scale = setup_->pixel_scale;
  style.pixel_offset = setup_->pixel_offset;
  const double pw = W * s + gap, ph = H * s + gap + label;
  for (int i = 0; i < n; ++i) {
    const QImage tile = image_grid(X.middleRows(i, 1), C, H, W, style);
    const QRectF target(area.left() + (i % bestC) * pw, area.top() + (i / bestC) * ph, W * s,
                        H * s);
    p.drawImage(target, tile);
    ++imageTiles_;
    if (rewards) {
      p.setPen(palette().color(QPalette::WindowText));
      p.drawText(
          QRectF(target.left() - gap / 2.0, target.bottom() + 1, target.width() + gap, label),
          Qt::AlignHCenter | Qt::AlignTop,
          QString::number(f.reward[static_cast<size_t>(i)], 'f', 2));
    }
  }
  if (stale_)
    p.fillRect(area, QColor(255, 255, 255, 90));
}

QImage TrajectoryView::renderImage() {
  QImage img(size(), QImage::Format_RGB32);
  img.fill(Qt::white);
  QWidget::render(&img);
  return img;
}

} // namespace itslab::gui
