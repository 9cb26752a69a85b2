#include "core/error.hpp"
#include "io/safetensors.hpp"

#include <QTemporaryDir>
#include <QtTest>

#include <bit>
#include <cmath>
#include <random>

using itslab::Error;
using itslab::SafetensorsFile;

namespace {

std::string with_header(const std::string& json, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>(static_cast<uint64_t>(json.size()) >> (8 * i));
  return out + json + data;
}

std::string f32_bytes(std::initializer_list<float> v) {
  std::string s;
  for (const float x : v)
    s.append(reinterpret_cast<const char*>(&x), 4);
  return s;
}

// The error text of parsing bytes, or "" when they parse.
std::string error_of(const std::string& bytes) {
  try {
    SafetensorsFile::parse(bytes, "m.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

} // namespace

class TestSafetensors : public QObject {
  Q_OBJECT
private slots:
  // The reference crate's test_serialization vector: tensor attn.0 = F32 [1,2,3] holding 0..5.
  void reference_vector_round_trips() {
    const float v[6] = {0, 1, 2, 3, 4, 5};
    const std::string bytes = itslab::serialize_safetensors({{"attn.0", {1, 2, 3}, v}});
    const std::string expected =
        with_header(R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})",
                    f32_bytes({0, 1, 2, 3, 4, 5}));
    QCOMPARE(bytes.size(), size_t{96});
    QVERIFY(bytes == expected);
    const auto f = SafetensorsFile::parse(bytes, "x");
    QCOMPARE(f.entries().size(), size_t{1});
    const auto t = f.tensor("attn.0", {1, 2, 3});
    for (int i = 0; i < 6; ++i)
      QCOMPARE(t[i], float(i));
  }

  void empty_file_and_metadata() {
    const std::string empty = itslab::serialize_safetensors({});
    QVERIFY(empty == with_header("{}      ", ""));
    QVERIFY(SafetensorsFile::parse(empty, "x").entries().empty());
    const std::string meta = itslab::serialize_safetensors({}, {{"framework", "pt"}});
    QVERIFY(meta == with_header(R"({"__metadata__":{"framework":"pt"}}     )", ""));
    QCOMPARE(SafetensorsFile::parse(meta, "x").metadata().at("framework"), std::string("pt"));
  }

  void write_and_open_mapped() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("m.safetensors").toStdString();
    const float a[4] = {1.5f, -2, 3, 4}, b[3] = {7, 8, 9};
    itslab::write_safetensors(path, {{"b", {3}, b}, {"a", {2, 2}, a}}, {{"arch", "mlp"}});
    const auto f = SafetensorsFile::open(path);
    QCOMPARE(f.entries()[0].name, std::string("a")); // names sorted, data in that order
    QCOMPARE(f.tensor("a", {2, 2})[0], 1.5f);
    QCOMPARE(f.tensor("b", {3})[2], 9.f);
    QCOMPARE(f.metadata().at("arch"), std::string("mlp"));
  }

  // Every binary16 pattern against the compiler's own half → float conversion.
  void f16_conversion_is_exact() {
    std::string data;
    for (uint32_t h = 0; h < 65536; ++h) {
      data += static_cast<char>(h & 0xff);
      data += static_cast<char>(h >> 8);
    }
    const auto f = SafetensorsFile::parse(
        with_header(R"({"h":{"dtype":"F16","shape":[65536],"data_offsets":[0,131072]}})", data),
        "x");
    const auto v = f.to_f32(f.entries()[0]);
    for (uint32_t h = 0; h < 65536; ++h) {
      const float want = static_cast<float>(std::bit_cast<_Float16>(static_cast<uint16_t>(h)));
      if (std::isnan(want))
        QVERIFY(std::isnan(v[h]));
      else
        QCOMPARE(std::bit_cast<uint32_t>(v[h]), std::bit_cast<uint32_t>(want));
    }
  }

  void bf16_f64_and_integers() {
    std::string data;
    const uint16_t bf = 0x3f82; // 1.015625
    data.append(reinterpret_cast<const char*>(&bf), 2);
    const double d = -0.25;
    data.append(reinterpret_cast<const char*>(&d), 8);
    const int64_t i = -3;
    data.append(reinterpret_cast<const char*>(&i), 8);
    const auto f = SafetensorsFile::parse(
        with_header(R"({"b":{"dtype":"BF16","shape":[],"data_offsets":[0,2]},)"
                    R"("d":{"dtype":"F64","shape":[1],"data_offsets":[2,10]},)"
                    R"("i":{"dtype":"I64","shape":[1],"data_offsets":[10,18]}})",
                    data),
        "x");
    QCOMPARE(f.to_f32(*f.find("b"))[0], 1.015625f);
    QCOMPARE(f.to_f32(*f.find("d"))[0], -0.25f);
    QCOMPARE(f.to_f32(*f.find("i"))[0], -3.f);
  }

  void bad_files_name_the_fault_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("message");
    const std::string ok = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    const std::string d8 = f32_bytes({1, 2});
    auto row = [](const char* tag, const std::string& b, const char* msg) {
      QTest::newRow(tag) << QByteArray(b.data(), static_cast<qsizetype>(b.size())) << msg;
    };
    row("short", "abc", "file is 3 bytes");
    row("header past end", with_header(ok, d8).substr(0, 20), "runs past the end of the file");
    std::string huge = with_header(ok, d8);
    huge[5] = 1;
    row("header too large", huge, "exceeds the 100000000-byte limit");
    row("not an object", with_header("[1,2]  ", ""), "starting with '{'");
    row("bad json", with_header("{\"w\":", ""), "not valid JSON");
    row("duplicate",
        with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                    R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                    d8),
        "names tensor `w` twice");
    row("unknown dtype",
        with_header(R"({"w":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})", d8),
        "tensor `w`: dtype F31 is not a safetensors dtype");
    row("unsupported dtype",
        with_header(R"({"w":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", d8),
        "dtype F8_E4M3 is not supported");
    row("missing field", with_header(R"({"w":{"dtype":"F32","shape":[2]}})", d8),
        "tensor `w`: missing \"data_offsets\"");
    row("negative dim",
        with_header(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d8),
        "tensor `w`: shape entry must be a non-negative integer");
    row("wrong size", with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8),
        "tensor `w`: shape [3] of F32 needs 12 bytes");
    row("overlap",
        with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                    d8),
        "tensor `b`: data_offsets [4, 8] overlap tensor `a`");
    row("gap", with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8),
        "leaving a gap");
    row("truncated", with_header(ok, d8.substr(0, 6)), "file is truncated");
    row("trailing", with_header(ok, d8 + "xx"), "2 trailing bytes");
    row("metadata number", with_header(R"({"__metadata__":{"a":1}})", ""),
        "__metadata__.a must be a string");
    row("offset beyond 2^53",
        with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,18014398509481984]}})",
                    d8),
        "beyond 2^53");
  }
  void bad_files_name_the_fault() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, message);
    const std::string err = error_of(bytes.toStdString());
    QVERIFY2(err.find(message.toStdString()) != std::string::npos, err.c_str());
    QVERIFY2(err.rfind("m.safetensors: ", 0) == 0, err.c_str());
  }

  void shape_mismatch_names_the_tensor() {
    const float v[2] = {1, 2};
    const auto f = SafetensorsFile::parse(itslab::serialize_safetensors({{"w", {2}, v}}), "m");
    QVERIFY_THROWS_EXCEPTION(Error, f.tensor("w", {1, 2}));
    try {
      f.tensor("bias", {2});
    } catch (const Error& e) {
      QVERIFY(std::string(e.what()).find("tensor `bias` is missing") != std::string::npos);
    }
  }

  void writer_refuses_reserved_name() {
    const float v = 0;
    QVERIFY_THROWS_EXCEPTION(Error, itslab::serialize_safetensors({{"__metadata__", {}, &v}}));
  }

  // Mutated valid files either parse or throw Error: never a crash, hang or bad read (the
  // sanitizer build of this test checks the last part).
  void fuzz_mutations() {
    const float a[6] = {1, 2, 3, 4, 5, 6}, b[2] = {7, 8};
    const std::string base = itslab::serialize_safetensors(
        {{"layer.weight", {2, 3}, a}, {"layer.bias", {2}, b}}, {{"arch", "mlp"}});
    std::mt19937 rng(7);
    int parsed = 0, refused = 0;
    for (int it = 0; it < 20000; ++it) {
      std::string m = base;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const size_t pos = rng() % m.size();
        switch (rng() % 4) {
        case 0:
          m[pos] = static_cast<char>(rng());
          break;
        case 1:
          m.erase(pos, 1 + rng() % 8);
          break;
        case 2:
          m.insert(pos,
                   std::string(1 + rng() % 4, static_cast<char>("0123456789,[]{}\" "[rng() % 17])));
          break;
        default:
          m.resize(pos);
        }
        if (m.empty())
          m.push_back('x');
      }
      try {
        const auto f = SafetensorsFile::parse(m, "fuzz");
        for (const auto& e : f.entries())
          f.to_f32(e);
        ++parsed;
      } catch (const Error&) {
        ++refused;
      }
    }
    qInfo("fuzz: %d parsed, %d refused with a message", parsed, refused);
    QVERIFY(refused > 10000);
  }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
