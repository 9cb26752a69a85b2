// Without a Vulkan loader, without a driver, or with a device that does not exist, everything
// still runs on the CPU backend with a one-line notice saying why; `info` says why too. Runs
// with or without a Vulkan device (nothing here needs one).
#include "backend/backend.hpp"
#include "backend/vulkan/vulkan_backend.hpp"
#include "core/error.hpp"
#include "io/preset.hpp"
#include "test_util.hpp"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

using namespace itslab;
using itslab::test::has;

namespace {
struct Result {
  int code = -1;
  bool crashed = true;
  std::string out, err;
  std::string describe() const {
    return "exit " + std::to_string(code) + (crashed ? " (crashed)" : "") + "\nstdout:\n" + out +
           "\nstderr:\n" + err;
  }
};

Result cli(const QStringList& args, const QStringList& env = {}) {
  QProcess p;
  QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
  e.remove("ITSLAB_BACKEND");
  for (const QString& kv : env)
    e.insert(kv.section('=', 0, 0), kv.section('=', 1));
  p.setProcessEnvironment(e);
  p.start(QStringLiteral(ITSLAB_CLI), args);
  Result r;
  if (!p.waitForStarted(10000) || !p.waitForFinished(120000))
    return r;
  r.crashed = p.exitStatus() == QProcess::CrashExit;
  r.code = p.exitCode();
  r.out = p.readAllStandardOutput().toStdString();
  r.err = p.readAllStandardError().toStdString();
  return r;
}
} // namespace

class TestVulkanFallback : public QObject {
  Q_OBJECT
private slots:
  void noLoader() {
    const QStringList env{"ITSLAB_VK_LOADER=libvulkan-absent-for-test.so.1"};
    const Result i = cli({"info"}, env);
    QVERIFY2(!i.crashed && i.code == 0, i.describe().c_str());
    QVERIFY2(has(i.out, "vulkan   unavailable: Vulkan loader not found"), i.out.c_str());
    QVERIFY2(has(i.out, "auto  -> cpu"), i.out.c_str());
    const Result s = cli({"sample", "--backend", "vulkan", "--particles", "64"}, env);
    QVERIFY2(!s.crashed && s.code == 0, s.describe().c_str());
    QVERIFY2(has(s.err, "notice: Vulkan unavailable: Vulkan loader not found"), s.err.c_str());
    QVERIFY2(has(s.out, "backend     cpu"), s.out.c_str());
  }

  void noDriver() {
    const QStringList env{"VK_DRIVER_FILES=/nonexistent/icd.json",
                          "VK_ICD_FILENAMES=/nonexistent/icd.json"};
    const Result i = cli({"info"}, env);
    QVERIFY2(!i.crashed && i.code == 0, i.describe().c_str());
    QVERIFY2(has(i.out, "vulkan   unavailable: no Vulkan driver") ||
                 has(i.out, "vulkan   unavailable: no Vulkan device"),
             i.out.c_str());
    const Result s = cli({"sample", "--particles", "64"}, env); // preset backend "auto"
    QVERIFY2(!s.crashed && s.code == 0, s.describe().c_str());
    QVERIFY2(has(s.err, "notice: Vulkan unavailable"), s.err.c_str());
  }

  void unknownDeviceFallsBack() {
    const Result s = cli({"sample", "--device", "no-such-gpu", "--particles", "64"});
    QVERIFY2(!s.crashed && s.code == 0, s.describe().c_str());
    QVERIFY2(has(s.err, "notice: Vulkan unavailable"), s.err.c_str());
    QVERIFY2(has(s.out, "backend     cpu"), s.out.c_str());
    const BackendChoice c = make_backend("vulkan:99");
    QCOMPARE(QString::fromStdString(c.backend->name()), QString("cpu"));
    QVERIFY(!c.notice.empty());
  }

  void deviceNeedsVulkanBackend() {
    const Result s = cli({"sample", "--backend", "cpu", "--device", "0"});
    QVERIFY2(!s.crashed && s.code != 0, s.describe().c_str());
    QVERIFY2(has(s.err, "--device"), s.err.c_str());
  }

  void environmentOverridesAuto() {
    const Result s = cli({"sample", "--particles", "64"}, {"ITSLAB_BACKEND=cpu"});
    QVERIFY2(!s.crashed && s.code == 0, s.describe().c_str());
    QVERIFY2(has(s.out, "backend     cpu"), s.out.c_str());
  }

  // ITSLAB_VK_PRECISION takes f32 or f64; another value is named in the fallback notice and in
  // `info`, where a Vulkan device would otherwise be used.
  void unknownPrecisionIsNamed() {
    const QStringList env{"ITSLAB_VK_PRECISION=f16"};
    const char* why = "ITSLAB_VK_PRECISION: unknown value 'f16' (f32 or f64)";
    const Result i = cli({"info"}, env);
    QVERIFY2(!i.crashed && i.code == 0, i.describe().c_str());
    QVERIFY2(has(i.out, why), i.out.c_str());
    const Result s = cli({"sample", "--backend", "vulkan", "--particles", "64"}, env);
    QVERIFY2(!s.crashed && s.code == 0, s.describe().c_str());
    QVERIFY2(has(s.err, std::string("notice: Vulkan unavailable: ") + why), s.err.c_str());
  }

  // A device lost during a run (simulated: every fence wait reports VK_ERROR_DEVICE_LOST) ends
  // the command with the reason and exit code 1, not a crash; an unknown fault is named.
  void deviceLossEndsTheRunWithItsReason() {
    if (!probe_vulkan().available)
      QSKIP("no usable Vulkan device to lose");
    const QStringList args{"sample", "--backend", "vulkan", "--particles", "64"};
    const Result s = cli(args, {"ITSLAB_VK_FAULT=device-lost"});
    QVERIFY2(!s.crashed && s.code == 1, s.describe().c_str());
    QVERIFY2(has(s.err, "error: vulkan: device lost while running on"), s.err.c_str());
    const Result u = cli(args, {"ITSLAB_VK_FAULT=meteor"});
    QVERIFY2(!u.crashed && u.code == 1, u.describe().c_str());
    QVERIFY2(has(u.err, "ITSLAB_VK_FAULT: unknown fault 'meteor'"), u.err.c_str());
  }

  // Preset "backend": auto, cpu, vulkan or vulkan:<device>; anything else names the field.
  void presetBackendField() {
    const auto parse = [](const std::string& b) {
      std::string text = builtin_preset_text("default");
      const std::string from = "\"backend\": \"auto\"";
      text.replace(text.find(from), from.size(), "\"backend\": \"" + b + "\"");
      return parse_preset(text, "test");
    };
    for (const char* ok :
         {"auto", "cpu", "vulkan", "vulkan:0", "vulkan:llvmpipe", "vulkan:discrete"})
      QCOMPARE(QString::fromStdString(parse(ok).preset.backend), QString(ok));
    for (const char* bad : {"gpu", "vulkan:", "Vulkan", "cpu:0"}) {
      try {
        parse(bad);
        QFAIL(bad);
      } catch (const Error& e) {
        QVERIFY2(has(e.what(), "backend: "), e.what());
      }
    }
    QVERIFY_THROWS_EXCEPTION(Error, make_backend("gpu"));
  }
};

QTEST_APPLESS_MAIN(TestVulkanFallback)
#include "test_vulkan_fallback.moc"
