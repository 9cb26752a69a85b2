// `itslab-cli data`: exact samples of a built-in mixture (the ground truth the demo models are
// trained on and every metric compares against), with their component labels.
#include "commands.hpp"

#include "core/error.hpp"
#include "core/philox.hpp"
#include "io/npy.hpp"
#include "model/gaussian_mixture.hpp"

#include <cstdio>
#include <memory>

namespace itslab::cli {

namespace {

struct DataArgs {
  std::string model, out, labels;
  int64_t n = 100000;
  uint64_t seed = 0;
};

void run_data(const DataArgs& a) {
  const GaussianMixture g = builtin_gmm(a.model);
  if (a.n < 1 || a.n > (int64_t{1} << 26))
    throw Error("--n: must be in 1..67108864, got " + std::to_string(a.n));
  std::vector<int> component;
  const RowMatrixXf X =
      g.sample(a.n, a.seed, static_cast<uint32_t>(Stream::reference), -1, &component);
  write_npy(a.out, X.data(), X.rows(), X.cols());
  if (!a.labels.empty()) {
    // the class of each sample (the component's label, or the component when unlabelled)
    std::vector<float> cls(component.size());
    for (size_t i = 0; i < component.size(); ++i)
      cls[i] =
          static_cast<float>(g.label(component[i]) >= 0 ? g.label(component[i]) : component[i]);
    write_npy(a.labels, cls.data(), static_cast<int64_t>(cls.size()), 1);
  }
  std::printf("%lld samples of %s [%d dims] -> %s\n", static_cast<long long>(a.n), a.model.c_str(),
              g.dim(), a.out.c_str());
}

} // namespace

void add_data(CLI::App& app) {
  auto a = std::make_shared<DataArgs>();
  CLI::App* c = app.add_subcommand("data", "Write exact samples of a built-in mixture as .npy");
  c->add_option("--model", a->model, "built-in mixture id, e.g. gmm/two-moons")->required();
  c->add_option("--n", a->n, "number of samples")->capture_default_str();
  c->add_option("--seed", a->seed, "Philox seed")->capture_default_str();
  c->add_option("--out", a->out, ".npy file for the samples [n, d]")->required();
  c->add_option("--labels", a->labels, ".npy file for each sample's class [n, 1]");
  c->callback([a] { run_data(*a); });
}

} // namespace itslab::cli
