// TimeBar: steps, plays and scrubs through the recorded frames of a run.
#include "time_bar.hpp"

#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <QStyle>
#include <QToolButton>
#include <algorithm>
#include <cmath>

namespace itslab::gui {

TimeBar::TimeBar(QWidget* parent) : QWidget(parent) {
  setObjectName("timebar");
  auto* lay = new QHBoxLayout(this);
  lay->setContentsMargins(4, 2, 4, 2);
  auto button = [&](QStyle::StandardPixmap icon, const QString& tip) {
    auto* b = new QToolButton(this);
    b->setIcon(style()->standardIcon(icon));
    b->setToolTip(tip);
    b->setAutoRaise(true);
    lay->addWidget(b);
    return b;
  };
  first_ = button(QStyle::SP_MediaSkipBackward, "First step: x_T, the initial noise (Home)");
  prev_ = button(QStyle::SP_MediaSeekBackward, "Previous step (Left)");
  play_ = button(QStyle::SP_MediaPlay, "Play / pause the denoising from the shown step (Space)");
  play_->setObjectName("play");
  next_ = button(QStyle::SP_MediaSeekForward, "Next step (Right)");
  last_ = button(QStyle::SP_MediaSkipForward, "Last step: the samples; follows a live run (End)");
  slider_ = new QSlider(Qt::Horizontal, this);
  slider_->setObjectName("time");
  slider_->setToolTip("Time: scrub through the recorded steps of the run, from x_T (left) to "
                      "the samples (right). Dragging pauses playback.");
  lay->addWidget(slider_, 1);
  label_ = new QLabel(this);
  label_->setMinimumWidth(fontMetrics().horizontalAdvance("step 888/888"));
  lay->addWidget(label_);
  connect(first_, &QToolButton::clicked, this, &TimeBar::toStart);
  connect(prev_, &QToolButton::clicked, this, [this] { stepBy(-1); });
  connect(play_, &QToolButton::clicked, this, &TimeBar::togglePlay);
  connect(next_, &QToolButton::clicked, this, [this] { stepBy(1); });
  connect(last_, &QToolButton::clicked, this, &TimeBar::toEnd);
  connect(slider_, &QSlider::sliderPressed, this, &TimeBar::pause);
  connect(slider_, &QSlider::valueChanged, this, [this](int v) {
    if (v > available_ - 1 && available_ > 0) {
      slider_->setValue(available_ - 1);
      return;
    }
    follow_ = v >= total_;
    label_->setText(QString("step %1/%2").arg(v).arg(total_));
    emit valueChanged(v);
  });
  timer_.setInterval(100);
  connect(&timer_, &QTimer::timeout, this, [this] {
    if (slider_->value() >= available_ - 1) {
      pause();
      return;
    }
    slider_->setValue(slider_->value() + 1);
  });
  setRange(0, 0);
}

void TimeBar::setRange(int total, int available) {
  const bool follow = follow_;
  const double fraction = total_ > 0 ? static_cast<double>(slider_->value()) / total_ : 1.0;
  const bool newRun = total != total_ || available < available_;
  total_ = total;
  available_ = available;
  {
    const QSignalBlocker b(slider_);
    slider_->setRange(0, std::max(0, total));
  }
  // a live run is followed; otherwise a re-run keeps the position on the time axis
  int v = slider_->value();
  if (follow)
    v = std::max(0, available - 1);
  else if (newRun)
    v = static_cast<int>(std::lround(fraction * total));
  v = std::clamp(v, 0, std::max(0, available - 1));
  timer_.setInterval(std::clamp(3000 / std::max(1, total), 30, 150));
  const bool changed = v != slider_->value();
  {
    const QSignalBlocker b(slider_);
    slider_->setValue(v);
  }
  follow_ = follow;
  label_->setText(QString("step %1/%2").arg(v).arg(total_));
  if (changed || newRun)
    emit valueChanged(v);
}

int TimeBar::value() const {
  return slider_->value();
}
void TimeBar::setValue(int v) {
  slider_->setValue(std::clamp(v, 0, std::max(0, available_ - 1)));
}
bool TimeBar::isPlaying() const {
  return timer_.isActive();
}
void TimeBar::setLabel(const QString& text) {
  label_->setText(text);
}
void TimeBar::play() {
  if (slider_->value() >= available_ - 1)
    slider_->setValue(0);
  timer_.start();
  play_->setIcon(style()->standardIcon(QStyle::SP_MediaPause));
}
void TimeBar::pause() {
  timer_.stop();
  play_->setIcon(style()->standardIcon(QStyle::SP_MediaPlay));
}
void TimeBar::togglePlay() {
  isPlaying() ? pause() : play();
}
void TimeBar::stepBy(int delta) {
  pause();
  setValue(slider_->value() + delta);
}
void TimeBar::toStart() {
  pause();
  setValue(0);
}
void TimeBar::toEnd() {
  pause();
  setValue(available_ - 1);
  follow_ = true;
}

} // namespace itslab::gui
