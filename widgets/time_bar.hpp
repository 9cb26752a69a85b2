#pragma once
// TimeBar: the play controls and step slider under the TrajectoryView.
#include <QTimer>
#include <QWidget>

class QLabel;
class QSlider;
class QToolButton;

namespace itslab::gui {

// The time bar under the view: ⏮ ◀ ▶/⏸ ▶ ⏭, a slider over the recorded steps and a
// label. Dragging the slider pauses playback; at the last step it follows a live run.
class TimeBar : public QWidget {
  Q_OBJECT
public:
  explicit TimeBar(QWidget* parent = nullptr);
  // total = steps of the run; available = frames recorded so far (total + 1 when finished)
  void setRange(int total, int available);
  int value() const;
  void setValue(int v); // emits valueChanged when it changes
  bool followsLive() const { return follow_; }
  bool isPlaying() const;
  void setLabel(const QString& text);
  QSlider* slider() const { return slider_; }
  QToolButton* playButton() const { return play_; }

public slots:
  void play();
  void pause();
  void togglePlay();
  void stepBy(int delta);
  void toStart();
  void toEnd();

signals:
  void valueChanged(int frame);

private:
  QToolButton *first_, *prev_, *play_, *next_, *last_;
  QSlider* slider_;
  QLabel* label_;
  QTimer timer_;
  int total_ = 0, available_ = 0;
  bool follow_ = true;
};

} // namespace itslab::gui
