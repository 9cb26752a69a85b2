#pragma once
// Shared by the Vulkan tests: open the device (or skip, saying why), validation on, helpers to
// move data and compare backends.
#include "backend/cpu/cpu_backend.hpp"
#include "backend/vulkan/vulkan_backend.hpp"

#include <QtTest>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace itslab::vulkan_test {

// The validation layer (with synchronization validation) is on in every Vulkan test unless
// ITSLAB_VK_VALIDATION is set otherwise; it must be requested before the first Vulkan call.
inline void request_validation() {
  if (!qEnvironmentVariableIsSet("ITSLAB_VK_VALIDATION"))
    qputenv("ITSLAB_VK_VALIDATION", "1");
}

// The device under test: ITSLAB_TEST_VK_DEVICE (index, type or name part), else the best one.
inline std::unique_ptr<VulkanBackend> open(std::string& why) {
  request_validation();
  try {
    return std::make_unique<VulkanBackend>(
        qEnvironmentVariable("ITSLAB_TEST_VK_DEVICE").toStdString());
  } catch (const std::exception& e) {
    why = e.what();
    return nullptr;
  }
}

// A CPU-type device (lavapipe): where the backend's defaults turn on texel loads and fusion.
inline bool cpu_type(const VulkanBackend& be) {
  return be.device().find("cpu device") != std::string::npos;
}

inline std::vector<float> get(Backend& be, const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.size()));
  be.download(t, v.data());
  return v;
}
inline Tensor put(Backend& be, int64_t n, int64_t d, const std::vector<float>& v) {
  Tensor t = be.alloc(n, d);
  be.upload(t, v.data());
  return t;
}
// Deterministic test data in [lo, hi).
inline std::vector<float> data(size_t n, uint32_t seed, float lo = -2, float hi = 2) {
  std::vector<float> v(n);
  uint32_t s = seed * 2654435761u + 12345u;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = lo + (hi - lo) * static_cast<float>(s >> 8) * (1.0f / 16777216.0f);
  }
  return v;
}
inline uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
// Every element bit for bit; fails the calling test at the first difference.
inline void expect_bits(const std::vector<float>& got, const std::vector<float>& want,
                        const QString& what) {
  QCOMPARE(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (bits(got[i]) != bits(want[i]))
      QFAIL(qPrintable(
          QString("%1: element %2: %3 vs %4").arg(what).arg(i).arg(got[i]).arg(want[i])));
}
// Distance in units in the last place between two finite floats of the same sign class.
inline int64_t ulps(float a, float b) {
  const auto key = [](float f) {
    const int32_t i = static_cast<int32_t>(bits(f));
    return i < 0 ? static_cast<int64_t>(INT32_MIN) - i : static_cast<int64_t>(i);
  };
  return std::llabs(key(a) - key(b));
}
// max |a − b| / max |b|: the difference relative to the reference's scale.
inline double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::abs(static_cast<double>(a[i]) - b[i]));
    den = std::max(den, std::abs(static_cast<double>(b[i])));
  }
  return den > 0 ? num / den : num;
}

} // namespace itslab::vulkan_test

// initTestCase: open the device or skip the whole suite with the reason (CTest reports the
// suite as skipped, never as passed). cleanup: no validation message may have appeared.
#define ITSLAB_VULKAN_FIXTURE                                                                      \
  void initTestCase() {                                                                            \
    std::string why;                                                                               \
    vk_ = itslab::vulkan_test::open(why);                                                          \
    if (!vk_)                                                                                      \
      QSKIP(qPrintable(QString::fromStdString("no usable Vulkan device: " + why)));                \
    qInfo("device: %s; validation layer %s", vk_->device().c_str(),                                \
          vk_->validation_active() ? "on" : "OFF");                                                \
  }                                                                                                \
  void cleanup() {                                                                                 \
    if (vk_)                                                                                       \
      vk_->sync();                                                                                 \
    QVERIFY2(itslab::VulkanBackend::validation_errors() == 0,                                      \
             itslab::VulkanBackend::last_validation_message().c_str());                            \
    QVERIFY2(itslab::VulkanBackend::validation_warnings() == 0,                                    \
             itslab::VulkanBackend::last_validation_message().c_str());                            \
  }
