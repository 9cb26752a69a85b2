// Best-of-N and the noise searches (particle note §1, §12.13, §12.15): best-of-N's expected
// maximum reward against quadrature of the exact order statistic, group selection, honest NFE
// counts, monotone search progress, the neighbour rules, reproducibility.
#include "particle/particle.hpp"
#include "particle/particle_test_util.hpp"

#include <QtTest>
#include <random>

using namespace ptest;
using itslab::SampleResult;

namespace {

json linear_reward() {
  return {{"type", "linear"}, {"a", {1, 0.5}}, {"b", 0}};
}

// An accurate deterministic sampler of the note's GMM (EDM, Karras 40, Heun: NFE 79).
json accurate(const json& particles, uint64_t seed) {
  json j = base_preset(particles, 40, seed);
  j["process"] = {{"type", "edm"}};
  j["schedule"] = {{"type", "karras"}, {"steps", 40}};
  j["solver"] = {{"type", "heun"}};
  j["reward"] = linear_reward();
  return j;
}

RowMatrixXf standard_normal(int64_t n, int d, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> N;
  RowMatrixXf z(n, d);
  for (Eigen::Index i = 0; i < z.size(); ++i)
    z.data()[i] = N(g);
  return z;
}

} // namespace

class TestSearch : public QObject {
  Q_OBJECT
private slots:
  void best_of_n_matches_order_statistic();
  void best_of_n_groups();
  void random_search_counts_and_improves();
  void zero_order_search_counts_and_improves();
  void neighbour_rules();
  void search_refuses_trajectories();
};

// E[max of N rewards] for r = a·x under the GMM is the N-th order statistic of a 1-D mixture:
// quadrature of ∫ r N f F^{N−1} dr gives 1.8215, 3.1255, 3.5880 for N = 4, 16, 64 (note §1.1).
void TestSearch::best_of_n_matches_order_statistic() {
  const std::pair<int, double> cases[] = {{4, 1.8215}, {16, 3.1255}, {64, 3.5880}};
  qDebug("%6s %8s %12s %12s %8s", "N", "groups", "E[max r]", "quadrature", "se");
  for (const auto& [n, expected] : cases) {
    const int64_t count = 16384;
    const Run r = run(
        accurate(json{{"count", count}, {"method", "best_of_n"}, {"group", n}, {"keep", 1}}, 21));
    const SampleResult& s = r.result;
    QCOMPARE(s.samples.rows(), Eigen::Index{count / n});
    double m = 0, m2 = 0;
    for (int64_t i : s.selected) {
      const double v = s.final_reward[static_cast<size_t>(i)];
      m += v;
      m2 += v * v;
    }
    const double k = static_cast<double>(s.selected.size());
    m /= k;
    const double se = std::sqrt((m2 / k - m * m) / k);
    qDebug("%6d %8lld %12.4f %12.4f %8.4f", n, static_cast<long long>(count / n), m, expected, se);
    QVERIFY2(std::abs(m - expected) < 4 * se + 0.01, qPrintable(QString::number(m)));
    QCOMPARE(s.nfe_total, count * 79);
    QCOMPARE(s.nfe_per_sample(), 79.0 * n);
  }
}

void TestSearch::best_of_n_groups() {
  const Run r =
      run(accurate(json{{"count", 1000}, {"method", "best_of_n"}, {"group", 300}, {"keep", 3}}, 4));
  const SampleResult& s = r.result;
  // groups [0, 300), [300, 600), [600, 900), [900, 1000): 3 best of each, best first
  QCOMPARE(s.selected.size(), size_t{12});
  for (size_t g = 0; g < 4; ++g) {
    const int64_t lo = 300 * static_cast<int64_t>(g), hi = std::min<int64_t>(1000, lo + 300);
    std::vector<double> rs(s.final_reward.begin() + lo, s.final_reward.begin() + hi);
    std::sort(rs.rbegin(), rs.rend());
    for (size_t j = 0; j < 3; ++j) {
      const int64_t idx = s.selected[3 * g + j];
      QVERIFY(idx >= lo && idx < hi);
      QCOMPARE(s.final_reward[static_cast<size_t>(idx)], rs[j]);
    }
  }
  // the population is the plain sampler's: same samples as "independent" with the same seed
  json plain = accurate(json{{"count", 1000}}, 4);
  const Run p = run(plain);
  for (size_t i = 0; i < s.selected.size(); ++i)
    QVERIFY(s.samples.row(static_cast<Eigen::Index>(i)) == p.result.samples.row(s.selected[i]));
  QCOMPARE(p.result.final_reward.size(), size_t{1000}); // a reward on independent is reported
  QCOMPARE(p.result.final_reward, s.final_reward);
}

void TestSearch::random_search_counts_and_improves() {
  const int I = 5;
  const json j = accurate(json{{"count", 500}, {"method", "random_search"}, {"iterations", I}}, 8);
  const Run a = run(j), b = run(j);
  const SampleResult& s = a.result;
  QVERIFY(s.samples == b.result.samples);
  QCOMPARE(s.samples.rows(), Eigen::Index{500});
  QCOMPARE(s.nfe_total, int64_t{I} * 500 * 79);
  QCOMPARE(s.nfe, I * 79);
  QCOMPARE(s.steps.size(), size_t{I});
  for (size_t i = 1; i < s.steps.size(); ++i) {
    QVERIFY(s.steps[i].reward_mean >= s.steps[i - 1].reward_mean);
    QVERIFY(s.steps[i].nfe_total > s.steps[i - 1].nfe_total);
  }
  // every particle ends at least as good as the plain sampler's sample from the same noise
  const Run p = run(accurate(json{{"count", 500}}, 8));
  for (size_t i = 0; i < 500; ++i)
    QVERIFY(s.final_reward[i] >= p.result.final_reward[i]);
  qDebug("random search, %d noises per particle: mean reward %.3f → %.3f", I,
         s.steps.front().reward_mean, s.steps.back().reward_mean);
}

void TestSearch::zero_order_search_counts_and_improves() {
  const int I = 4, J = 3;
  for (const char* nb : {"marginal", "sphere"}) {
    const Run a = run(accurate(json{{"count", 300},
                                    {"method", "zero_order_search"},
                                    {"iterations", I},
                                    {"neighbors", J},
                                    {"radius", 0.5},
                                    {"neighborhood", nb}},
                               6));
    const SampleResult& s = a.result;
    QCOMPARE(s.nfe_total, int64_t{300} * 79 * (1 + (I - 1) * J));
    QCOMPARE(s.nfe_per_sample(), 79.0 * (1 + (I - 1) * J));
    QCOMPARE(s.reward_evals, int64_t{300} * (1 + (I - 1) * J));
    for (size_t i = 1; i < s.steps.size(); ++i)
      QVERIFY(s.steps[i].reward_mean >= s.steps[i - 1].reward_mean);
    QVERIFY(s.steps.back().reward_mean > s.steps.front().reward_mean);
    qDebug("zero-order search (%s), %d iterations × %d neighbours: mean reward %.3f → %.3f", nb, I,
           J, s.steps.front().reward_mean, s.steps.back().reward_mean);
  }
}

// Note §12.15: the norm-preserving neighbour keeps ‖y‖ = ‖n‖ and cos = c to 1e-6; the
// marginal-preserving one keeps N(0, I).
void TestSearch::neighbour_rules() {
  const double r = 0.3, c = std::sqrt(1 - r * r);
  for (int d : {2, 16}) {
    const int64_t S = 4000;
    const int J = 5;
    const RowMatrixXf Z = standard_normal(S, d, 1), E = standard_normal(S * J, d, 2);
    const RowMatrixXf Ys = itslab::search_neighbours(Z, E, J, r, true);
    for (int64_t i = 0; i < S; i += 7)
      for (int j = 0; j < J; ++j) {
        const Eigen::VectorXd n = Z.row(i).transpose().cast<double>();
        const Eigen::VectorXd y = Ys.row(i * J + j).transpose().cast<double>();
        QVERIFY(std::abs(y.norm() - n.norm()) < 1e-5 * (1 + n.norm()));
        QVERIFY(std::abs(y.dot(n) / (y.norm() * n.norm()) - c) < 1e-6);
      }
    const RowMatrixXf Ym = itslab::search_neighbours(Z, E, J, r, false);
    const Eigen::VectorXd mean = Ym.cast<double>().colwise().mean().transpose();
    const Eigen::MatrixXd centred = Ym.cast<double>().rowwise() - mean.transpose();
    const Eigen::MatrixXd cov = centred.transpose() * centred / (Ym.rows() - 1);
    const double n = static_cast<double>(Ym.rows());
    // neighbours of one pivot are correlated (c² = 0.91): J rows carry ~1 row of information
    const double se_mean = std::sqrt(J / n), se_cov = std::sqrt(2.0 * J / n);
    QVERIFY2(mean.cwiseAbs().maxCoeff() < 4 * se_mean,
             qPrintable(QString::number(mean.cwiseAbs().maxCoeff())));
    QVERIFY2(
        (cov - Eigen::MatrixXd::Identity(d, d)).cwiseAbs().maxCoeff() < 4 * se_cov,
        qPrintable(QString::number((cov - Eigen::MatrixXd::Identity(d, d)).cwiseAbs().maxCoeff())));
  }
  QVERIFY_THROWS_EXCEPTION(
      itslab::Error,
      itslab::search_neighbours(standard_normal(3, 2, 1), standard_normal(5, 2, 1), 2, 0.3, false));
}

void TestSearch::search_refuses_trajectories() {
  itslab::RunOptions o;
  o.trajectory = true;
  try {
    run(accurate(json{{"count", 10}, {"method", "random_search"}, {"iterations", 2}}, 1), o);
    QFAIL("a search with --trajectory was accepted");
  } catch (const itslab::Error& e) {
    QVERIFY(std::string(e.what()).rfind("--trajectory: not available for random_search", 0) == 0);
  }
  // best-of-N keeps its (single pass) trajectory
  const Run b = run(accurate(json{{"count", 10}, {"method", "best_of_n"}}, 1), o);
  QCOMPARE(b.result.trajectory.size(), size_t{41});
}

QTEST_APPLESS_MAIN(TestSearch)
#include "test_search.moc"
