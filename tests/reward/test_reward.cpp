// Rewards: the CPU backend's reward kernel (linear, distance, box, disc) against hand values;
// every reward type against its definition (class_logprob and log_density against the exact
// mixture); the expression language (precedence, functions) and its errors with columns;
// reward fields in presets.
#include "backend/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#include "engine/experiment.hpp"
#include "io/preset.hpp"
#include "reward/expression.hpp"
#include "reward/reward.hpp"

#include <QtTest>
#include <cmath>
#include <nlohmann/json.hpp>

using namespace itslab;
using nlohmann::json;

namespace {

RowMatrixXf points() {
  RowMatrixXf X(5, 2);
  X << 0, 0, 1, 2, -1.5, 0.25, 3, -2, 0.5, 0.5;
  return X;
}

std::vector<double> kernel(const RewardKernelParams& p, const RowMatrixXf& X) {
  CpuBackend be;
  Tensor x = be.alloc(X.rows(), X.cols()), out = be.alloc(X.rows(), 1);
  be.upload(x, X.data());
  be.reward(out, x, p);
  std::vector<float> h(static_cast<size_t>(X.rows()));
  be.download(out, h.data());
  return {h.begin(), h.end()};
}

double sigmoid(double v) {
  return 1 / (1 + std::exp(-v));
}

std::string expr_error(const std::string& text, int dim = 2) {
  try {
    Expression e(text, dim);
  } catch (const Error& err) {
    return err.what();
  }
  return "";
}

double ev(const std::string& text, std::vector<double> x = {0.5, -2}) {
  return Expression(text, static_cast<int>(x.size())).eval(x.data());
}

json preset_with_reward(const json& reward) {
  json j = json::parse(builtin_preset_text("default"));
  j["reward"] = reward;
  return j;
}

std::string preset_error(const json& j) {
  try {
    parse_checked_preset(j.dump(), "test");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

} // namespace

class TestReward : public QObject {
  Q_OBJECT
private slots:
  void kernel_linear_and_distance();
  void kernel_box_and_disc();
  void kernel_rejects_bad_parameters();
  void reward_types_match_definitions();
  void mixture_rewards_are_exact();
  void expression_values_data();
  void expression_values();
  void expression_errors_data();
  void expression_errors();
  void expression_reward_in_higher_dimensions();
  void preset_reward_fields();
};

void TestReward::kernel_linear_and_distance() {
  const RowMatrixXf X = points();
  RewardKernelParams lin;
  lin.kind = RewardKernelParams::Kind::linear;
  lin.a = {1, 0.5};
  lin.offset = -1;
  RewardKernelParams dist;
  dist.kind = RewardKernelParams::Kind::distance;
  dist.a = {1, -1};
  const std::vector<double> r = kernel(lin, X), q = kernel(dist, X);
  for (int i = 0; i < X.rows(); ++i) {
    QCOMPARE(r[i], X(i, 0) + 0.5 * X(i, 1) - 1.0);
    const double d2 = (X(i, 0) - 1) * (X(i, 0) - 1) + (X(i, 1) + 1) * (X(i, 1) + 1);
    QVERIFY(std::abs(q[i] + d2) < 1e-6 * (1 + d2));
  }
  // larger than one parallel chunk: every row computed
  RowMatrixXf big = RowMatrixXf::Random(100003, 2);
  const std::vector<double> rb = kernel(lin, big);
  for (int i = 0; i < big.rows(); i += 997)
    QVERIFY(std::abs(rb[i] - (big(i, 0) + 0.5 * big(i, 1) - 1.0)) < 1e-6);
}

void TestReward::kernel_box_and_disc() {
  const RowMatrixXf X = points();
  RewardKernelParams box;
  box.kind = RewardKernelParams::Kind::box;
  box.a = {-1, -1};
  box.b = {2, 1};
  box.temperature = 0.2;
  RewardKernelParams disc;
  disc.kind = RewardKernelParams::Kind::disc;
  disc.a = {0.5, 0.5};
  disc.radius = 1;
  disc.temperature = 0.1;
  const std::vector<double> rb = kernel(box, X), rd = kernel(disc, X);
  for (int i = 0; i < X.rows(); ++i) {
    const double x = X(i, 0), y = X(i, 1);
    const double m = std::min({x + 1, 2 - x, y + 1, 1 - y});
    QVERIFY(std::abs(rb[i] - sigmoid(m / 0.2)) < 1e-6);
    const double dd = std::hypot(x - 0.5, y - 0.5);
    QVERIFY(std::abs(rd[i] - sigmoid((1 - dd) / 0.1)) < 1e-6);
  }
  // inside the box far from the edges → 1, the centre of the disc → sigmoid(10)
  QVERIFY(rb[0] > 0.99);
  QVERIFY(std::abs(rd[4] - sigmoid(10)) < 1e-6);
}

void TestReward::kernel_rejects_bad_parameters() {
  CpuBackend be;
  Tensor x = be.alloc(3, 2), out = be.alloc(3, 1), bad_out = be.alloc(2, 1);
  RewardKernelParams p;
  p.a = {1, 2, 3};
  QVERIFY_THROWS_EXCEPTION(Error, be.reward(out, x, p)); // a has 3 entries for 2-D particles
  p.a = {1, 2};
  QVERIFY_THROWS_EXCEPTION(Error, be.reward(bad_out, x, p));
  p.kind = RewardKernelParams::Kind::disc;
  p.temperature = 0;
  QVERIFY_THROWS_EXCEPTION(Error, be.reward(out, x, p));
  p.kind = RewardKernelParams::Kind::box;
  p.temperature = 1;
  p.b = {1};
  QVERIFY_THROWS_EXCEPTION(Error, be.reward(out, x, p));
}

void TestReward::reward_types_match_definitions() {
  CpuBackend be;
  const RowMatrixXf X = points();
  RewardSpec s;
  s.type = "linear";
  s.a = {2, -1};
  s.b = 0.5;
  std::vector<double> r = make_reward(s, 2)->evaluate_host(be, X);
  for (int i = 0; i < X.rows(); ++i)
    QVERIFY(std::abs(r[i] - (2 * X(i, 0) - X(i, 1) + 0.5)) < 1e-6);
  s = {};
  s.type = "distance";
  s.center = {1, 1};
  r = make_reward(s, 2)->evaluate_host(be, X);
  for (int i = 0; i < X.rows(); ++i)
    QVERIFY(std::abs(r[i] + (X.row(i).cast<double>() - Eigen::RowVector2d(1, 1)).squaredNorm()) <
            1e-5);
  s = {};
  s.type = "region";
  s.shape = "box";
  s.lo = {0, 0};
  s.hi = {1, 3};
  s.temperature = 0.5;
  r = make_reward(s, 2)->evaluate_host(be, X);
  QVERIFY(std::abs(r[1] - sigmoid(std::min({1.0, 0.0, 2.0, 1.0}) / 0.5)) < 1e-6);
  s = {};
  s.type = "expression";
  s.expr = "x0 * x1 - 1";
  r = make_reward(s, 2)->evaluate_host(be, X);
  for (int i = 0; i < X.rows(); ++i)
    QVERIFY(std::abs(r[i] - (double(X(i, 0)) * X(i, 1) - 1)) < 1e-12);
  QVERIFY(make_reward(RewardSpec{}, 2) == nullptr); // "none"

  // field errors name the field
  auto err = [](RewardSpec sp) -> std::string {
    try {
      make_reward(sp, 2);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  s = {};
  s.type = "linear";
  s.a = {1, 2, 3};
  QCOMPARE(err(s), std::string("a: has 3 entries, the model 2 dimensions"));
  s = {};
  s.type = "region";
  s.shape = "box";
  s.lo = {0, 0};
  s.hi = {1, -1};
  QVERIFY(err(s).rfind("hi: must be > lo", 0) == 0);
  s = {};
  s.type = "expression";
  s.expr = "x0 +* 2";
  QCOMPARE(err(s), std::string("expr: column 5: unexpected '*'"));
  s = {};
  s.type = "class_logprob";
  s.mixture = builtin_gmm("gmm/eight-gaussians");
  s.cls = 8;
  QVERIFY(err(s).rfind("class: ", 0) == 0);
}

// class_logprob and log_density against GaussianMixture's own exact log p(c | x) and log p(x).
void TestReward::mixture_rewards_are_exact() {
  CpuBackend be;
  const GaussianMixture g = builtin_gmm("gmm/two-moons");
  GmmSpec fs;
  fs.weights = {0.5, 0.3, 0.2};
  fs.means = {{-2, 0}, {2, 1}, {0, -2.5}};
  fs.covariances = {{{0.5, 0.2}, {0.2, 0.4}}, {{0.3, -0.1}, {-0.1, 0.6}}, {{0.4, 0}, {0, 0.2}}};
  fs.labels = {0, 1, 1};
  const GaussianMixture full("full", fs);
  const RowMatrixXf X = g.sample(200, 3, 5);
  for (const GaussianMixture* m : {&g, &full}) {
    RewardSpec s;
    s.type = "log_density";
    s.mixture = *m;
    const std::vector<double> ld = make_reward(s, 2)->evaluate_host(be, X);
    s.type = "class_logprob";
    s.cls = 1;
    const std::vector<double> c1 = make_reward(s, 2)->evaluate_host(be, X);
    s.cls = 0;
    const std::vector<double> c0 = make_reward(s, 2)->evaluate_host(be, X);
    for (int i = 0; i < X.rows(); ++i) {
      const Eigen::VectorXd x = X.row(i).transpose().cast<double>();
      QVERIFY(std::abs(ld[i] - m->log_prob(x, 1, 0)) < 1e-9 * (1 + std::abs(ld[i])));
      QVERIFY(std::abs(c1[i] - m->class_log_prob(x, 1, 0, 1)) < 1e-9 * (1 + std::abs(c1[i])));
      // the class posteriors sum to 1
      QVERIFY(std::abs(std::exp(c0[i]) + std::exp(c1[i]) - 1) < 1e-9);
    }
  }
  // the host density helper at a noise level and for a class matches the exact mixture
  std::vector<double> out(static_cast<size_t>(X.rows()));
  mixture_log_density(full.kernel_params(), X.data(), X.rows(), 0.7, 0.5, 1, out.data());
  for (int i = 0; i < X.rows(); ++i)
    QVERIFY(std::abs(out[i] - full.log_prob(X.row(i).transpose().cast<double>(), 0.7, 0.5, 1)) <
            1e-9 * (1 + std::abs(out[i])));
}

void TestReward::expression_values_data() {
  QTest::addColumn<QString>("expr");
  QTest::addColumn<double>("value");
  // x0 = 0.5, x1 = −2
  QTest::newRow("precedence") << "1 + 2 * 3 - 4 / 2" << 5.0;
  QTest::newRow("unary minus binds looser than ^") << "-2^2" << -4.0;
  QTest::newRow("power right associative") << "2^3^2" << 512.0;
  QTest::newRow("star star") << "2**-1" << 0.5;
  QTest::newRow("variables") << "x0 - x1" << 2.5;
  QTest::newRow("x y aliases") << "x*10 + y" << 3.0;
  QTest::newRow("indexed") << "x[0] + x[1]" << -1.5;
  QTest::newRow("comparisons") << "(x0 > 0) + (x1 >= -2) + (x1 == -2) + (x0 != 0.5) + (1 < 0)"
                               << 3.0;
  QTest::newRow("logic") << "x0 > 0 && x1 > 0 || !(x1 > 0)" << 1.0;
  QTest::newRow("functions") << "abs(x1) + sqrt(4) + exp(0) + log(e) + cos(0) + tanh(0)" << 7.0;
  QTest::newRow("sigmoid softplus") << "sigmoid(0) + softplus(0) - log(2)" << 0.5;
  QTest::newRow("min max variadic") << "min(3, x1, 7) + max(x0, 1, -1) + max(4)" << 3.0;
  QTest::newRow("clamp") << "clamp(x1, -1, 1) + clamp(5, 0, 2)" << 1.0;
  QTest::newRow("two-argument") << "pow(x1, 2) + hypot(3, 4) + atan2(0, 1)" << 9.0;
  QTest::newRow("constants") << "pi - 4*atan(1)" << 0.0;
  QTest::newRow("scientific") << "1e-3 * 2e3 + .5" << 2.5;
  QTest::newRow("floor ceil sign") << "floor(-1.5) + ceil(1.2) + sign(x1)" << -1.0;
  QTest::newRow("spaces") << "  ( x0 )  " << 0.5;
}

void TestReward::expression_values() {
  QFETCH(QString, expr);
  QFETCH(double, value);
  const double v = ev(expr.toStdString());
  QVERIFY2(std::abs(v - value) < 1e-12, qPrintable(expr + " = " + QString::number(v)));
}

// Each row: expression and the exact message (columns are 1-based).
void TestReward::expression_errors_data() {
  QTest::addColumn<QString>("expr");
  QTest::addColumn<QString>("message");
  QTest::newRow("empty") << "   "
                         << "column 4: empty expression";
  QTest::newRow("dangling operator") << "x0 +"
                                     << "column 5: expected a number, a variable, a function or "
                                        "'(' but the expression ended";
  QTest::newRow("unknown variable") << "x0 + z * 2"
                                    << "column 6: unknown variable 'z' (use x0..x1, x[i], x, y, "
                                       "pi, e)";
  QTest::newRow("coordinate out of range") << "x0 + x2"
                                           << "column 6: coordinate 2 does not exist: the model "
                                              "has 2 dimensions (x0..x1)";
  QTest::newRow("indexed out of range") << "x[7]"
                                        << "column 3: coordinate 7 does not exist: the model has "
                                           "2 dimensions (x0..x1)";
  QTest::newRow("unknown function") << "2 * foo(x0)"
                                    << "column 5: unknown function 'foo'";
  QTest::newRow("function without call") << "sqrt + 1"
                                         << "column 1: 'sqrt' is a function: write sqrt(...)";
  QTest::newRow("arity") << "pow(x0)"
                         << "column 1: pow() takes 2 arguments, got 1";
  QTest::newRow("min needs arguments") << "min()"
                                       << "column 1: min() takes at least 1 argument";
  QTest::newRow("unclosed paren") << "(x0 + 1"
                                  << "column 1: '(' at column 1 is never closed";
  QTest::newRow("unmatched paren") << "x0 + 1)"
                                   << "column 7: unmatched ')'";
  QTest::newRow("implicit product") << "2x0"
                                    << "column 2: unexpected 'x' after a number (write "
                                       "2*x, not 2x)";
  QTest::newRow("bad character") << "x0 $ 1"
                                 << "column 4: unexpected '$' after a complete "
                                    "expression";
  QTest::newRow("chained comparison") << "0 < x0 < 1"
                                      << "column 8: comparisons do not chain; use && (a < b && b "
                                         "< c)";
  QTest::newRow("double operator") << "x0 */ 2"
                                   << "column 5: unexpected '/'";
  QTest::newRow("missing comma") << "max(1 2)"
                                 << "column 7: expected ',' or ')' in the arguments of max()";
  QTest::newRow("empty index") << "x[]"
                               << "column 3: expected a coordinate index (a non-negative "
                                  "integer) inside x[...]";
}

void TestReward::expression_errors() {
  QFETCH(QString, expr);
  QFETCH(QString, message);
  QCOMPARE(QString::fromStdString(expr_error(expr.toStdString())), message);
}

void TestReward::expression_reward_in_higher_dimensions() {
  const std::vector<double> x(64, 0.25);
  QCOMPARE(Expression("x63 + x[10] - x", 64).eval(x.data()), 0.25);
  QCOMPARE(QString::fromStdString(expr_error("y", 1)),
           QString("column 1: unknown variable 'y' (use x0..x0, x[i], x, pi, e)"));
  // deep nesting needs a larger stack than the fast path
  std::string deep;
  for (int i = 0; i < 60; ++i)
    deep += "(1 + ";
  deep += "0";
  for (int i = 0; i < 60; ++i)
    deep += ")";
  QCOMPARE(Expression(deep, 2).eval(x.data()), 60.0);
  std::string wide = "max(";
  for (int i = 0; i < 50; ++i)
    wide += std::to_string(i) + (i < 49 ? "," : ")");
  QCOMPARE(Expression(wide, 2).eval(x.data()), 49.0);
}

// The reward section of a preset: defaults written, errors with their JSON paths.
void TestReward::preset_reward_fields() {
  const PresetLoad l = parse_checked_preset(
      preset_with_reward({{"type", "region"}, {"center", {1, 1}}}).dump(), "test");
  const json out = preset_to_json(l.preset);
  QCOMPARE(out["reward"]["shape"], json("disc"));
  QCOMPARE(out["reward"]["radius"], json(1.0));
  QCOMPARE(out["reward"]["temperature"], json(0.1));
  QVERIFY(!out["reward"].contains("lo")); // optional lists are not invented
  // round trip
  QCOMPARE(preset_to_string(parse_preset(out.dump(), "rt").preset), preset_to_string(l.preset));
  // no reward section: none, not written
  QVERIFY(
      !preset_to_json(parse_preset(builtin_preset_text("default"), "d").preset).contains("reward"));

  const std::pair<json, std::string> bad[] = {
      {{{"type", "linear"}}, "reward.a: missing (required)"},
      {{{"type", "linear"}, {"a", {1, 2, 3}}}, "reward.a: has 3 entries, the model 2 dimensions"},
      {{{"type", "linear"}, {"a", {1, "x"}}}, "reward.a[1]: must be a number"},
      {{{"type", "region"}, {"shape", "box"}, {"lo", {0, 0}}},
       "reward.hi: missing (required for shape 'box')"},
      {{{"type", "region"}, {"shape", "star"}, {"center", {0, 0}}},
       "reward.shape: must be one of disc, box, got 'star'"},
      {{{"type", "region"}, {"center", {0, 0}}, {"temperature", 0}},
       "reward.temperature: must be > 0, got 0"},
      {{{"type", "distance"}}, "reward.center: missing (required)"},
      {{{"type", "expression"}}, "reward.expr: missing (required)"},
      {{{"type", "expression"}, {"expr", "x0 + + "}},
       "reward.expr: column 8: expected a number, a variable, a function or '(' but the "
       "expression ended"},
      {{{"type", "expression"}, {"expr", 3}}, "reward.expr: must be a string, got number 3"},
      {{{"type", "class_logprob"}, {"class", 9}},
       "reward.class: 'gmm/eight-gaussians' has 8 classes, got class 9"},
      {{{"type", "log_density"}, {"mixture", "gmm/none"}},
       "reward.mixture: unknown built-in mixture 'gmm/none'"},
      {{{"type", "banana"}}, "reward.type: unknown reward 'banana'"},
  };
  for (const auto& [reward, msg] : bad) {
    const std::string e = preset_error(preset_with_reward(reward));
    QVERIFY2(e.find(msg) != std::string::npos,
             qPrintable(QString::fromStdString("expected '" + msg + "' in:\n" + e)));
  }
}

QTEST_APPLESS_MAIN(TestReward)
#include "test_reward.moc"
