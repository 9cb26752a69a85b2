#pragma once
#include <QString>
#include <string>

namespace itslab::gui {

// How the app names a metric key of the engine (tables, sweep charts, check boxes) and what its
// tooltip says. The keys themselves stay the engine's, so presets and CSV files are unchanged.
// fid is the Fréchet distance in the bundled Fashion-MNIST classifier's feature space, not
// Inception FID, and its label says so.
QString metric_label(const std::string& key);
QString metric_tooltip(const std::string& key); // "" when there is nothing to add

} // namespace itslab::gui
