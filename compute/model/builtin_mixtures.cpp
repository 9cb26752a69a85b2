#include "core/error.hpp"
#include "model/gaussian_mixture.hpp"

#include <bit>
#include <cmath>
#include <functional>
#include <map>
#include <numbers>

namespace itslab {

namespace {

constexpr double kPi = std::numbers::pi;

struct Builtin {
  std::string description;
  std::function<GmmSpec()> make;
};

void add(GmmSpec& g, double w, std::vector<double> mu, double s, int label) {
  g.weights.push_back(w);
  g.means.push_back(std::move(mu));
  g.stds.push_back(s);
  g.labels.push_back(label);
}

// Parameters from the gaussian-mixtures note §3.2 (exact copies of ffjord / PacGAN shapes, or
// midpoint-rule fits of continuous curve mixtures with spacing ≤ 1.3 std).
const std::map<std::string, Builtin>& table() {
  static const std::map<std::string, Builtin> t = {
      {"gmm/eight-gaussians",
       {"8 modes on a circle of radius 2.83, std 0.354 (ffjord '8gaussians'); class = mode",
        [] {
          GmmSpec g;
          for (int k = 0; k < 8; ++k)
            add(g, 1.0 / 8, {4 / 1.414 * std::cos(k * kPi / 4), 4 / 1.414 * std::sin(k * kPi / 4)},
                0.5 / 1.414, k);
          return g;
        }}},
      {"gmm/grid-25",
       {"5×5 grid of modes 2 apart, std 0.05 (PacGAN 2DGrid); class = mode",
        [] {
          GmmSpec g;
          for (int i = 0; i < 5; ++i)
            for (int j = 0; j < 5; ++j)
              add(g, 1.0 / 25, {2.0 * i - 4, 2.0 * j - 4}, 0.05, 5 * i + j);
          return g;
        }}},
      {"gmm/two-moons",
       {"two moons, 32 components of std 0.2 per arc (fit of ffjord 'moons'); class = moon",
        [] {
          GmmSpec g;
          for (int moon = 0; moon < 2; ++moon)
            for (int j = 0; j < 32; ++j) {
              const double th = kPi * (j + 0.5) / 32;
              if (moon == 0)
                add(g, 1.0 / 64, {-1 + 2 * std::cos(th), -0.2 + 2 * std::sin(th)}, 0.2, 0);
              else
                add(g, 1.0 / 64, {1 - 2 * std::cos(th), 0.8 - 2 * std::sin(th)}, 0.2, 1);
            }
          return g;
        }}},
      {"gmm/swiss-roll",
       {"swiss roll, 96 components of std 0.2 (fit of ffjord 'swissroll'); class = inner/outer "
        "half",
        [] {
          GmmSpec g;
          for (int j = 0; j < 96; ++j) {
            const double t = 1.5 * kPi + 3 * kPi * (j + 0.5) / 96;
            add(g, 1.0 / 96, {t * std::cos(t) / 5, t * std::sin(t) / 5}, 0.2, j < 48 ? 0 : 1);
          }
          return g;
        }}},
      {"gmm/checkerboard",
       {"8 squares of side 2, 5×5 components of std 0.2 each (fit of ffjord 'checkerboard'); "
        "class = square",
        [] {
          GmmSpec g;
          int square = 0;
          for (int i = 0; i < 4; ++i) {
            const double x0 = -4 + 2 * i;
            const double ys[2] = {i % 2 == 0 ? 0.0 : 2.0, i % 2 == 0 ? -4.0 : -2.0};
            for (double y0 : ys) {
              for (int a = 0; a < 5; ++a)
                for (int b = 0; b < 5; ++b)
                  add(g, 1.0 / 200, {x0 + 0.2 + 0.4 * a, y0 + 0.2 + 0.4 * b}, 0.2, square);
              ++square;
            }
          }
          return g;
        }}},
      {"gmm/pinwheel",
       {"pinwheel, 5 arms of 24 components of std 0.2 (midpoint fit of ffjord 'pinwheel': radius "
        "N(1, 0.3), angle 2πc/5 + 0.25·e^r, scaled by 2); class = arm",
        [] {
          GmmSpec g;
          constexpr int kArms = 5, kPerArm = 24;
          double total = 0;
          std::vector<double> w(kPerArm);
          for (int j = 0; j < kPerArm; ++j) {
            const double r = 0.4 + 1.2 * (j + 0.5) / kPerArm;
            w[j] = std::exp(-(r - 1) * (r - 1) / (2 * 0.09));
            total += w[j];
          }
          for (int c = 0; c < kArms; ++c)
            for (int j = 0; j < kPerArm; ++j) {
              const double r = 0.4 + 1.2 * (j + 0.5) / kPerArm;
              const double phi = 2 * kPi * c / kArms + 0.25 * std::exp(r);
              add(g, w[j] / total / kArms, {2 * r * std::cos(phi), 2 * r * std::sin(phi)}, 0.2, c);
            }
          return g;
        }}},
      {"gmm/high-dim-64",
       {"64-D, 10 orthogonal modes (Hadamard rows, norm 4), weights 5..14/95, stds 0.35..0.65; "
        "class = mode",
        [] {
          GmmSpec g;
          for (int k = 0; k < 10; ++k) {
            std::vector<double> mu(64);
            // Row k+1 of the Sylvester–Hadamard matrix: H[i][j] = (−1)^popcount(i AND j).
            for (int j = 0; j < 64; ++j)
              mu[j] = 0.5 * ((std::popcount(static_cast<unsigned>((k + 1) & j)) % 2) ? -1.0 : 1.0);
            add(g, (k + 5) / 95.0, mu, 0.35 + 0.3 * k / 9.0, k);
          }
          return g;
        }}},
  };
  return t;
}

const Builtin& find(const std::string& id) {
  const auto it = table().find(id);
  if (it == table().end()) {
    std::string known;
    for (const auto& [name, b] : table())
      known += (known.empty() ? "" : ", ") + name;
    throw Error("model.builtin: unknown model '" + id + "' (built-ins: " + known + ")");
  }
  return it->second;
}

} // namespace

std::vector<std::string> builtin_gmm_ids() {
  std::vector<std::string> ids;
  for (const auto& [name, b] : table())
    ids.push_back(name);
  return ids;
}

GaussianMixture builtin_gmm(const std::string& id) {
  return GaussianMixture(id, find(id).make());
}

std::string builtin_gmm_description(const std::string& id) {
  return find(id).description;
}

} // namespace itslab
