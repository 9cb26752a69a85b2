#include "metric_labels.hpp"

#include <map>

namespace itslab::gui {

namespace {
const QString kFid =
    "Fréchet distance ‖μ_x − μ_r‖² + tr(Σ_x + Σ_r − 2(Σ_x Σ_r)^½) between Gaussians fitted to the "
    "128-d penultimate features (fc1 after ReLU) of the bundled Fashion-MNIST classifier: of the "
    "samples, and of the Fashion-MNIST test set (10 000 images; statistics shipped with the "
    "classifier). Not Inception FID: values are not comparable with published FIDs; with few "
    "samples the estimate is biased upward, and the samples of one class are far from the whole "
    "test set whatever their quality";
}

QString metric_label(const std::string& key) {
  if (key == "fid")
    return "FID (classifier features)";
  if (key == "class_accuracy")
    return "class accuracy (classifier)";
  return QString::fromStdString(key);
}

QString metric_tooltip(const std::string& key) {
  static const std::map<std::string, QString> tips = {
      {"frechet", "Fréchet distance ‖m_x − m_y‖² + tr(S_x + S_y − 2(S_x S_y)^½) of the samples' "
                  "moments against exact samples"},
      {"mmd", "MMD² with an RBF kernel (median-heuristic bandwidth) against exact samples"},
      {"sliced_wasserstein", "sliced Wasserstein-2 distance over random directions"},
      {"log_density", "mean log p0(x) of the samples under the exact model (and of exact samples)"},
      {"mode_coverage", "share of modes with a sample within 3 std; high-quality share; TV of mode "
                        "masses"},
      {"fid", kFid},
      {"class_accuracy",
       "share of the samples that the bundled Fashion-MNIST classifier (test accuracy 0.92) "
       "assigns to the class the run is conditioned on (model.class)"}};
  const auto it = tips.find(key);
  return it == tips.end() ? QString() : it->second;
}

} // namespace itslab::gui
