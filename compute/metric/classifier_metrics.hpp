#pragma once
#include "backend/backend.hpp"
#include "core/host.hpp"
#include "metric/frechet.hpp"
#include "model/neural_model.hpp"

#include <map>
#include <string>
#include <vector>

namespace itslab {

// Image samples seen through a trained classifier (metrics note: FID with a domain classifier
// in place of Inception). Rows of X are images in the classifier's normalisation.
//   fid             Fréchet distance between N(μ, Σ) of the classifier's penultimate features
//                   of X and the reference statistics in the classifier file (e.g. the
//                   Fashion-MNIST test set); like every FID, biased upward at small n
//   class_accuracy  fraction of X the classifier assigns to class cls
// Returns the values by name; features are computed on `be` in batches.
std::map<std::string, double> classifier_metrics(Backend& be, const Classifier& c,
                                                 const RowMatrixXf& X,
                                                 const std::vector<std::string>& names, int cls);

// Penultimate features [n, feature_dim] of X, batch by batch on `be`.
RowMatrixXf classifier_features(Backend& be, const Classifier& c, const RowMatrixXf& X);

} // namespace itslab
