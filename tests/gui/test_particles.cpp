// Particle methods in the window: an FK-steering preset fills the method and reward forms,
// the step chart shows ESS, rewards and resamplings from the run, particles are coloured by
// log-weight, the genealogy toggle draws lines to ancestors after a resampling, bad
// parameters are explained inline, and a particle preset survives save → open exactly.
#include "component_form.hpp"
#include "gui_test_util.hpp"
#include "io/preset.hpp"
#include "nfe_curve.hpp"
#include "particles_panel.hpp"
#include "step_chart.hpp"
#include "time_bar.hpp"
#include "trajectory_view.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QSignalSpy>
#include <QSpinBox>

using namespace itslab;
using namespace itslab::gui;
using namespace itslab::gui::test;

class TestParticles : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<MainWindow> w_;

  void openFk() {
    QVERIFY(w_->openBuiltin("eight-gaussians-fk-steering-region"));
    QVERIFY(wait_settled(*w_, 15000));
  }

private slots:
  void init() { fail_on_bug_warnings(); }
  void initTestCase() {
    w_ = settled_window(dir_, {1400, 900});
    QVERIFY(w_);
  }
  void cleanupTestCase() { w_.reset(); }

  void presetFillsMethodAndRewardForms() {
    openFk();
    ComponentForm* m = w_->particlesPanel()->methodForm();
    QCOMPARE(m->type(), QString("fk_steering"));
    QCOMPARE(m->toJson().value("lambda", 0.0), 4.0);
    QCOMPARE(QString::fromStdString(m->toJson().value("scheme", std::string())),
             QString("systematic"));
    QVERIFY(m->editor("ess_threshold"));
    QVERIFY(!m->editor("ess_threshold")->toolTip().isEmpty());
    QCOMPARE(w_->rewardForm()->type(), QString("region"));
    QCOMPARE(w_->rewardForm()->toJson()["center"], nlohmann::json({2, 2}));
    QCOMPARE(QString::fromStdString(w_->session()->preset().particle_method.type),
             QString("fk_steering"));
    // budget: 4096 particles × 50 DDIM steps
    QVERIFY2(w_->particlesPanel()->budgetLabel()->text().startsWith("204800 NFE"),
             qPrintable(w_->particlesPanel()->budgetLabel()->text()));
    w_->particlesPanel()->countBox()->setValue(1024);
    QVERIFY(w_->particlesPanel()->budgetLabel()->text().startsWith("51200 NFE"));
    QVERIFY(wait_settled(*w_, 15000));
  }

  void stepChartShowsEssRewardsAndResamplings() {
    openFk();
    StepChart* c = w_->stepChart();
    QVERIFY(c->showsWeights());
    // one point per step (x_T, frame 0, is before any weighting)
    QCOMPARE(c->essPoints(), 50);
    QCOMPARE(c->rewardMaxPoints(), 50);
    QVERIFY(c->resamplingMarkers() > 0);
    QVERIFY(c->seriesWithData() >= 5); // ESS, reward band, mean, max, log-w spread (+ markers)
    const RunFrame& last = *w_->session()->frames().back();
    QVERIFY(last.resamplings > 0);
    QVERIFY(last.has_reward);
    QVERIFY(last.reward_max >= last.reward_mean);
  }

  void particlesColouredByLogWeight() {
    openFk();
    // auto colours by log-weight where the weights differ, by reward right after a resampling
    // (equal weights)
    const FrameList& frames = w_->session()->frames();
    int spread = -1, flat = -1;
    for (size_t i = 1; i < frames.size(); ++i) {
      const auto& lw = frames[i]->log_w;
      if (lw.empty())
        continue;
      const auto [lo, hi] = std::minmax_element(lw.begin(), lw.end());
      (*hi - *lo > 1e-6f ? spread : flat) = static_cast<int>(i);
    }
    QVERIFY(spread > 0);
    QVERIFY(flat > 0);
    w_->timeBar()->setValue(spread);
    w_->view()->renderImage();
    QCOMPARE(w_->view()->colouring(), QString("log-weight"));
    w_->timeBar()->setValue(flat);
    w_->view()->renderImage();
    QCOMPARE(w_->view()->colouring(), QString("reward"));
    // a method without weights or reward falls back to one colour
    w_->particlesPanel()->methodForm()->typeBox()->setCurrentText("independent");
    w_->rewardForm()->typeBox()->setCurrentText("none");
    QVERIFY(wait_settled(*w_, 15000));
    w_->view()->renderImage();
    QCOMPARE(w_->view()->colouring(), QString());
  }

  void genealogyDrawsLinesAfterResampling() {
    openFk();
    const FrameList& frames = w_->session()->frames();
    int at = -1;
    for (size_t i = 1; i < frames.size() && at < 0; ++i)
      if (!frames[i]->ancestors.empty())
        at = static_cast<int>(i);
    QVERIFY(at > 0);
    w_->timeBar()->setValue(at);
    QCOMPARE(w_->view()->step(), at);
    w_->view()->renderImage();
    QCOMPARE(w_->view()->genealogyDrawn(), 0); // off by default
    w_->genealogyBox()->setChecked(true);
    const QImage with = w_->view()->renderImage();
    const int drawn = w_->view()->genealogyDrawn();
    QVERIFY(drawn > 0);
    QCOMPARE(drawn + w_->view()->genealogySkipped(),
             static_cast<int>(frames[static_cast<size_t>(at)]->positions.rows()));
    w_->genealogyBox()->setChecked(false);
    const QImage without = w_->view()->renderImage();
    QVERIFY(with != without);
  }

  void badParameterIsExplainedInline() {
    openFk();
    const int runs = w_->session()->runsStarted();
    QVERIFY(w_->particlesPanel()->methodForm()->setParam("ess_threshold", 1.5));
    QTest::qWait(100);
    QVERIFY(!w_->session()->isValid());
    QCOMPARE(w_->session()->runsStarted(), runs);
    QVERIFY(QApplication::activeModalWidget() == nullptr);
    bool shown = false;
    for (QLabel* l : w_->particlesPanel()->findChildren<QLabel*>())
      shown = shown || (l->isVisible() && l->text().contains("1"));
    QVERIFY(shown);
    QVERIFY(!w_->particlesPanel()->methodForm()->editor("ess_threshold")->styleSheet().isEmpty());
    QVERIFY(w_->particlesPanel()->methodForm()->setParam("ess_threshold", 0.5));
    QVERIFY(wait_settled(*w_, 15000));
    QVERIFY(w_->session()->isValid());
  }

  void rewardVersusBudgetSweepDrawsOneCurvePerMethod() {
    openFk();
    NfeCurvePanel* panel = w_->nfePanel();
    panel->modeBox()->setCurrentIndex(1);
    SweepRequest r = panel->request();
    QVERIFY(r.budget);
    QCOMPARE(r.metric, std::string("reward_mean"));
    r.methods = {"independent", "best_of_n", "fk_steering"};
    r.counts = {4, 16, 64};
    QSignalSpy done(w_->session(), &Session::sweepFinished);
    w_->session()->startSweep(r);
    QVERIFY(done.wait(15000));
    QVERIFY(wait_settled(*w_, 15000));
    NfeCurveChart* c = panel->chart();
    QVERIFY(c->isBudget());
    QCOMPARE(c->table().rows.size(), size_t{9});
    for (const SweepRow& row : c->table().rows) {
      QVERIFY2(row.error.empty(), row.error.c_str());
      QVERIFY(row.metrics.count("reward_mean"));
      // every method spends N × 50 DDIM steps
      const int64_t n = row.settings.at("particles.count").get<int64_t>();
      QCOMPARE(row.metrics.at("nfe_total"), static_cast<double>(n * 50));
    }
    QCOMPARE(c->lineCount(), 3);
    QCOMPARE(c->seriesWithData(), 3);
    QVERIFY(c->csv().contains("reward_mean"));
    QVERIFY(c->csv().contains("particles.method"));
    // best-of-64 keeps the best of 64 draws: at least the mean of 64 independent draws
    auto at = [&](const std::string& m, int64_t n) {
      for (const SweepRow& row : c->table().rows)
        if (row.settings.at("particles.method") == m &&
            row.settings.at("particles.count").get<int64_t>() == n)
          return row.metrics.at("reward_mean");
      return -1.0;
    };
    QVERIFY(at("best_of_n", 64) >= at("independent", 64));
    QVERIFY(at("fk_steering", 64) > at("independent", 64));
    panel->modeBox()->setCurrentIndex(0);
  }

  void particlePresetRoundTrip() {
    openFk();
    QVERIFY(w_->particlesPanel()->methodForm()->setParam("lambda", 2.5));
    QVERIFY(w_->particlesPanel()->methodForm()->setParam("scheme", "residual"));
    QVERIFY(w_->rewardForm()->setParam("radius", 1.5));
    QVERIFY(wait_settled(*w_, 15000));
    const nlohmann::json before = w_->currentJson();
    QCOMPARE(before["particles"]["lambda"].get<double>(), 2.5);
    QCOMPARE(before["particles"]["method"], nlohmann::json("fk_steering"));
    const OutputPtr samples = w_->session()->output();
    const QString path = dir_.filePath("fk.itslab.json");
    QVERIFY(w_->savePresetTo(path));
    QVERIFY(w_->openBuiltin("default"));
    QVERIFY(wait_settled(*w_));
    QCOMPARE(w_->particlesPanel()->methodForm()->type(), QString("independent"));
    QVERIFY(!w_->currentJson()["particles"].contains("method"));
    QVERIFY(!w_->currentJson().contains("reward"));
    QVERIFY(w_->openPresetFile(path));
    QVERIFY(wait_settled(*w_, 15000));
    QCOMPARE(QString::fromStdString(w_->currentJson().dump()),
             QString::fromStdString(before.dump()));
    QCOMPARE(w_->particlesPanel()->methodForm()->type(), QString("fk_steering"));
    QCOMPARE(w_->rewardForm()->toJson().value("radius", 0.0), 1.5);
    QVERIFY(same_samples(samples, w_->session()->output()));
  }
};

QTEST_MAIN(TestParticles)
#include "test_particles.moc"
