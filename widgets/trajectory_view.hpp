#pragma once
#include "run_data.hpp"

#include <QImage>
#include <QThreadPool>
#include <QTimer>
#include <QWidget>
#include <list>
#include <map>
#include <optional>
#include <tuple>

namespace itslab::gui {

// The centre view. For 2-D models: the exact density of p_t at the shown step (or of p0) as a
// colour map, the particles at that step, and the paths of the first few hundred particles,
// coloured by log-weight or reward when the run carries them; wheel zooms about the cursor,
// dragging pans, a double click resets. For a 2-D network the density is its training data's
// (an exact mixture), labelled so. Image networks (C×H×W): the first particles at the shown
// step as images (x_t, or the network's x̂0 of them), with the class and each image's reward.
// Other dimensions: a grid of the current samples, each d-vector drawn as a ⌈√d⌉-wide tile
// (blue < 0 < red).
// Densities are computed off the GUI thread and cached per (model, α, σ, view); particles are
// splatted into an image, never drawn as chart series.
class TrajectoryView : public QWidget {
  Q_OBJECT
public:
  enum class Density { current, target, off };
  enum class ColorBy { automatic, none, log_weight, reward };

  explicit TrajectoryView(QWidget* parent = nullptr);
  ~TrajectoryView() override;

  void setSetup(SetupPtr setup);
  void setFrames(const FrameList& frames); // the run's record so far
  void setStep(int index);                 // frame index (0 = x_T)
  int step() const { return step_; }
  int frameCount() const { return static_cast<int>(frames_.size()); }
  void setDensityMode(Density d);
  Density densityMode() const { return density_; }
  void setColorBy(ColorBy c);
  void setShowPaths(bool on);
  void setShowParticles(bool on);
  // Lines from each snapshot particle to its ancestor's position at the previous step, at steps
  // where a resampling happened. Ancestors outside the recorded subset are skipped.
  void setShowGenealogy(bool on);
  bool showGenealogy() const { return showGenealogy_; }
  // Of the last paint: lines drawn, and ancestors skipped for lying outside the subset.
  int genealogyDrawn() const { return genealogyDrawn_; }
  int genealogySkipped() const { return genealogySkipped_; }
  // What the last paint coloured the particles by: "log-weight", "reward" or "" (one colour).
  QString colouring() const { return colouring_; }
  // Image networks: show the predicted clean images x̂0 instead of x_t, where the run has them.
  void setShowDenoised(bool on);
  // What the last paint showed: image tiles, and whether they were x̂0.
  int imageTiles() const { return imageTiles_; }
  bool showsDenoised() const { return showsDenoised_; }
  bool isImage() const;
  void setPathCount(int n);
  int pathCount() const { return pathCount_; }
  void setStale(bool stale);   // a newer run is on its way: dim and badge
  void setFailed(bool failed); // the run failed before its first frame: say so, not running…
  // What the view shows instead of particles before the first frame; empty once they are on
  // screen.
  QString placeholder() const;

  QRectF viewRect() const { return view_; }
  void setViewRect(const QRectF& r);
  void resetView();
  bool isTwoD() const;
  // True once the density for the shown step and view is on screen (or none is wanted).
  bool densityReady() const;
  // The view as an image at its current size (tests count its ink).
  QImage renderImage();

  // The data behind the view: positions of the shown step, "x,y,..." per row.
  QString csv() const;

signals:
  void densityUpdated();
  void viewChanged();

protected:
  void paintEvent(QPaintEvent*) override;
  void resizeEvent(QResizeEvent*) override;
  void wheelEvent(QWheelEvent*) override;
  void mousePressEvent(QMouseEvent*) override;
  void mouseMoveEvent(QMouseEvent*) override;
  void mouseReleaseEvent(QMouseEvent*) override;
  void mouseDoubleClickEvent(QMouseEvent*) override;

private:
  struct DensityKey {
    std::string model;
    double alpha = 1, sigma = 0;
    double x = 0, y = 0, w = 0, h = 0;
    int pw = 0, ph = 0;
    auto tie() const { return std::tie(model, alpha, sigma, x, y, w, h, pw, ph); }
    bool operator<(const DensityKey& o) const { return tie() < o.tie(); }
    bool operator==(const DensityKey& o) const { return tie() == o.tie(); }
  };
  QRect plotRect() const;
  QRectF visibleRect(const QRect& plot) const; // view_ grown to the plot's aspect
  QPointF toPixel(const QRect& plot, const QRectF& vis, double x, double y) const;
  std::optional<DensityKey> wantedKey(int frame, const QRectF& vis) const;
  void scheduleDensity();
  void paintTwoD(QPainter& p);
  void paintGrid(QPainter& p);
  void paintImages(QPainter& p);
  void paintAxes(QPainter& p, const QRect& plot, const QRectF& vis);
  void paintOverlay(QPainter& p, const QRect& plot);
  QColor particleColor(const RunFrame& f, int i, double lo, double hi, bool byW, bool byR) const;

  SetupPtr setup_;
  FrameList frames_;
  std::string modelKey_;
  int step_ = 0;
  Density density_ = Density::current;
  ColorBy colorBy_ = ColorBy::automatic;
  bool showPaths_ = true, showParticles_ = true, stale_ = false, showGenealogy_ = false,
       failed_ = false;
  int genealogyDrawn_ = 0, genealogySkipped_ = 0;
  bool showDenoised_ = false, showsDenoised_ = false;
  int imageTiles_ = 0;
  QString colouring_; // what the last paint coloured particles by ("" = one colour)
  double colourLo_ = 0, colourHi_ = 0;
  int pathCount_ = 150;
  QRectF home_{-4, -4, 8, 8}, view_{-4, -4, 8, 8};
  double gridScale_ = 2; // value range of the sample grid

  // density cache (LRU) and its single background job
  std::map<DensityKey, QImage> cache_;
  std::list<DensityKey> lru_;
  bool jobRunning_ = false;
  std::optional<DensityKey> jobKey_;
  QTimer settle_; // view interactions settle before new densities are computed
  bool interacting_ = false;
  QThreadPool pool_;

  QPoint dragFrom_;
  QRectF dragView_;
  bool dragging_ = false;
};

} // namespace itslab::gui
