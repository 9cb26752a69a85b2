// itslab: the ITS Lab desktop app.
//   itslab [PRESET_FILE…] [--preset ID|FILE]
//   itslab --screenshot out.png [--preset P] [--size 1280x800] [--step N] [--no-sweep]
//   itslab --measure-latency [--repeats N] [--report FILE]
#include "core/memory.hpp"
#include "main_window.hpp"
#include "measure.hpp"
#include "session.hpp"

#include <QApplication>
#include <QCommandLineParser>
#include <QLocale>
#include <QTimer>
#include <cstdio>

int main(int argc, char** argv) {
  itslab::keep_freed_memory();
  // headless modes need no display
  for (int i = 1; i < argc; ++i) {
    const QByteArray a(argv[i]);
    if ((a == "--screenshot" || a == "--measure-latency") &&
        qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY") &&
        qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
      qputenv("QT_QPA_PLATFORM", "offscreen");
  }
  itslab::gui::Application app(argc, argv);
  QCoreApplication::setOrganizationName("itslab");
  QCoreApplication::setApplicationName("itslab");
  QCoreApplication::setApplicationVersion(ITSLAB_VERSION);
  QGuiApplication::setApplicationDisplayName("ITS Lab");
  QGuiApplication::setDesktopFileName("org.itslab.ITSLab");
  QLocale::setDefault(QLocale::c());
  itslab::gui::register_gui_types();

  QCommandLineParser cli;
  cli.setApplicationDescription("ITS Lab: live exploration of diffusion and flow sampling");
  cli.addHelpOption();
  cli.addVersionOption();
  QCommandLineOption preset("preset", "Open a built-in preset (by id) or a preset file.", "P");
  QCommandLineOption shot("screenshot",
                          "Render the window once the run settles, save it as a PNG "
                          "and exit.",
                          "out.png");
  QCommandLineOption size("size", "Window size for --screenshot (default 1280x800).", "WxH",
                          "1280x800");
  QCommandLineOption step("step", "Show this step in --screenshot (default: the last).", "N", "-1");
  QCommandLineOption noSweep("no-sweep", "Do not run the quality-vs-NFE sweep for --screenshot.");
  QCommandLineOption latency("measure-latency",
                             "Measure responsiveness (docs/benchmarks.md) and exit.");
  QCommandLineOption repeats("repeats", "Slider changes per --measure-latency pass.", "N", "20");
  QCommandLineOption report("report", "Also write the --measure-latency report here.", "FILE");
  QCommandLineOption timeout("timeout", "Give up a headless mode after this many ms.", "MS",
                             "60000");
  cli.addOptions({preset, shot, size, step, noSweep, latency, repeats, report, timeout});
  cli.addPositionalArgument("files", "Preset files to open (the first one is opened).", "[FILE…]");
  cli.process(app);

  const bool headless = cli.isSet(shot) || cli.isSet(latency);
  itslab::gui::MainWindow w(itslab::gui::MainWindow::Options{!headless});
  if (cli.isSet(latency))
    return itslab::gui::measure_latency(w, cli.value(repeats).toInt(), cli.value(report));
  if (cli.isSet(shot)) {
    const QStringList wh = cli.value(size).split('x');
    if (wh.size() != 2 || wh[0].toInt() < 200 || wh[1].toInt() < 200) {
      std::fprintf(stderr, "itslab: --size must be WxH, e.g. 1280x800\n");
      return 2;
    }
    w.resize(wh[0].toInt(), wh[1].toInt());
    w.resetLayout();
    return itslab::gui::take_screenshot(w, cli.value(preset), cli.value(shot), !cli.isSet(noSweep),
                                        cli.value(step).toInt(), cli.value(timeout).toInt());
  }
  if (cli.isSet(preset)) {
    const QString p = cli.value(preset);
    if (p.endsWith(".json") || p.endsWith(".png"))
      w.openPresetFile(p);
    else
      w.openBuiltin(p);
  } else if (!cli.positionalArguments().isEmpty()) {
    w.openPresetFile(cli.positionalArguments().first());
  }
  w.show();
  return app.exec();
}
