#include "core/error.hpp"
#include "io/npy.hpp"

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>

using itslab::Error;
using itslab::RowMatrixXf;

namespace {

std::string le(uint64_t v, int n) {
  std::string s(n, '\0');
  for (int i = 0; i < n; ++i)
    s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

std::string f4(std::initializer_list<float> values) {
  std::string s;
  for (const float v : values)
    s += le(std::bit_cast<uint32_t>(v), 4);
  return s;
}

std::string f8(std::initializer_list<double> values) {
  std::string s;
  for (const double v : values)
    s += le(std::bit_cast<uint64_t>(v), 8);
  return s;
}

// A file laid out as numpy lays it out: the dict padded with spaces and a final '\n' so that the
// data starts on a 64-byte boundary.
std::string npy(const std::string& dict, const std::string& data, int major = 1) {
  const int len_size = major == 1 ? 2 : 4;
  std::string header = dict;
  header.append(64 - (8 + len_size + dict.size() + 1) % 64, ' ');
  header += '\n';
  return std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0' +
         le(header.size(), len_size) + header + data;
}

const std::string kDict32 = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }";
const std::string kData32 = f4({0, 1, 2, 3, 4, 5});

QByteArray qb(const std::string& s) {
  return QByteArray::fromStdString(s);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Bitwise, so NaN payloads and -0.0 count as well.
bool same_bits(const RowMatrixXf& m, const float* data, int64_t rows, int64_t cols) {
  return m.rows() == rows && m.cols() == cols &&
         std::memcmp(m.data(), data, sizeof(float) * rows * cols) == 0;
}

void check_arange32(const RowMatrixXf& m) {
  QCOMPARE(m.rows(), 3);
  QCOMPARE(m.cols(), 2);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 2; ++c)
      QCOMPARE(m(r, c), static_cast<float>(2 * r + c));
}

} // namespace

class TestNpy : public QObject {
  Q_OBJECT

private slots:
  void serializeMatchesNumpyBytes() {
    // np.save of np.arange(6, dtype='<f4').reshape(3, 2): 118-byte header, block ends at 128.
    std::string expected("\x93NUMPY\x01\x00\x76\x00", 10);
    expected += kDict32 + std::string(58, ' ') + "\n";
    QCOMPARE(expected.size(), size_t{128});
    expected += kData32;
    const float data[] = {0, 1, 2, 3, 4, 5};
    QCOMPARE(qb(itslab::serialize_npy(data, 3, 2)), qb(expected));
    check_arange32(itslab::parse_npy(expected, "arange.npy"));
  }

  void readNumpyF8OneD() {
    const std::string bytes = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }",
                                  f8({0.5, -1.25, 0.1, 3e9}));
    QCOMPARE(bytes.size(), size_t{128 + 32});
    const RowMatrixXf m = itslab::parse_npy(bytes, "f8.npy");
    QCOMPARE(m.rows(), 4);
    QCOMPARE(m.cols(), 1);
    QCOMPARE(m(0, 0), 0.5f);
    QCOMPARE(m(1, 0), -1.25f);
    QCOMPARE(m(2, 0), 0.1f);
    QCOMPARE(m(3, 0), 3e9f);
  }

  void narrowsF8LikeNumpy() {
    const double flt_max = std::numeric_limits<float>::max();
    const double inf = std::numeric_limits<double>::infinity();
    const std::string bytes =
        npy("{'descr': '<f8', 'fortran_order': False, 'shape': (7,), }",
            f8({flt_max, 0x1.fffffefp127, 0x1.ffffffp127, -1e300, inf, std::nan(""), 1e-50}));
    const RowMatrixXf m = itslab::parse_npy(bytes, "big.npy");
    QCOMPARE(m(0), std::numeric_limits<float>::max());
    QCOMPARE(m(1), std::numeric_limits<float>::max()); // below the halfway point: rounds down
    QVERIFY(std::isinf(m(2)) && m(2) > 0);             // the halfway point rounds to even: inf
    QVERIFY(std::isinf(m(3)) && m(3) < 0);
    QVERIFY(std::isinf(m(4)) && m(4) > 0);
    QVERIFY(std::isnan(m(5)));
    QCOMPARE(m(6), 0.0f);
  }

  void readVersion2And3() {
    check_arange32(itslab::parse_npy(npy(kDict32, kData32, 2), "v2.npy"));
    check_arange32(itslab::parse_npy(npy(kDict32, kData32, 3), "v3.npy"));
    // A header longer than 65535 bytes is what 2.0's 4-byte length is for.
    check_arange32(itslab::parse_npy(npy(kDict32 + std::string(70000, ' '), kData32, 2), "v2.npy"));
  }

  void acceptsHeaderVariants_data() {
    QTest::addColumn<QByteArray>("dict");
    QTest::newRow("double quotes")
        << qb(R"({"descr": "<f4", "fortran_order": False, "shape": (3, 2)})");
    QTest::newRow("any key order")
        << qb("{'shape': (3, 2), 'descr': '<f4', 'fortran_order': False}");
    QTest::newRow("whitespace") << qb(" {\n 'descr' : '<f4' ,\t'fortran_order':False,"
                                      "'shape':( 3 ,2 , ) , }\r\n");
    QTest::newRow("native order") << qb(
        "{'descr': '=f4', 'fortran_order': False, 'shape': (3, 2)}");
    QTest::newRow("python 2 longs")
        << qb("{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 2L)}");
  }
  void acceptsHeaderVariants() {
    QFETCH(QByteArray, dict);
    check_arange32(itslab::parse_npy(npy(dict.toStdString(), kData32), "variant.npy"));
  }

  void acceptsUnpaddedHeader() {
    std::string bytes("\x93NUMPY\x01\x00", 8);
    bytes += le(kDict32.size(), 2) + kDict32 + kData32;
    check_arange32(itslab::parse_npy(bytes, "unpadded.npy"));
  }

  void readsEmptyShapes() {
    const auto shape = [](const std::string& s) {
      const RowMatrixXf m = itslab::parse_npy(
          npy("{'descr': '<f4', 'fortran_order': False, 'shape': " + s + "}", ""), "e.npy");
      return std::to_string(m.rows()) + "x" + std::to_string(m.cols());
    };
    QCOMPARE(shape("(0,)"), std::string("0x1"));
    QCOMPARE(shape("(0, 3)"), std::string("0x3"));
    QCOMPARE(shape("(2, 0)"), std::string("2x0"));
    QCOMPARE(shape("(0, 1099511627776)"), std::string("0x1099511627776"));
  }

  void rejects_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("expected");
    const auto hdr = [](const std::string& descr, const std::string& fortran,
                        const std::string& shape) {
      return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + "}";
    };
    const std::string good = npy(kDict32, kData32);
    const auto row = [](const char* name, const std::string& bytes, const char* expected) {
      QTest::newRow(name) << qb(bytes) << QString(expected);
    };
    row("empty file", "", "z.npy: byte 0: not a .npy file");
    row("bad magic", "\x93NUMPX" + good.substr(6), "z.npy: byte 0: not a .npy file");
    row("magic only", good.substr(0, 6), "truncated before the format version (byte offset 6)");
    row("version 1.1", good.substr(0, 7) + '\x01' + good.substr(8),
        "z.npy: byte 6: unsupported .npy format version 1.1 (supported: 1.0, 2.0, 3.0)");
    row("version 4.0", good.substr(0, 6) + '\x04' + good.substr(7), "format version 4.0");
    row("truncated before header length", good.substr(0, 9),
        "file is 9 bytes, truncated before the header length (byte offset 8)");
    row("v2 truncated before header length", npy(kDict32, "", 2).substr(0, 11),
        "file is 11 bytes, truncated before the header length");
    row("header length past end", good.substr(0, 100),
        "z.npy: byte 8: header length 118 runs past the end of the file (100 bytes)");
    row("v2 header length past end", std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14),
        "header length 4294967295 runs past the end of the file (14 bytes)");
    row("header not a dict", npy("[('descr', '<f4')]", ""),
        "z.npy: header byte 10: expected '{', found '['");
    row("missing descr", npy("{'fortran_order': False, 'shape': (3, 2)}", kData32),
        "z.npy: header is missing key 'descr'");
    row("missing fortran_order", npy("{'descr': '<f4', 'shape': (3, 2)}", kData32),
        "missing key 'fortran_order'");
    row("missing shape", npy("{'descr': '<f4', 'fortran_order': False}", kData32),
        "missing key 'shape'");
    row("big-endian", npy(hdr(">f4", "False", "(3, 2)"), kData32),
        "z.npy: dtype '>f4' is big-endian; only little-endian float32/float64 are supported");
    row("big-endian f8", npy(hdr(">f8", "False", "(3,)"), f8({1, 2, 3})), "'>f8' is big-endian");
    row("int32", npy(hdr("<i4", "False", "(3, 2)"), kData32),
        "z.npy: dtype '<i4' is not supported");
    row("not applicable order", npy(hdr("|f4", "False", "(3, 2)"), kData32),
        "'|f4' is not supported");
    row("structured descr",
        npy("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (3,)}", ""),
        "expected a quoted 'descr' value, found '['");
    row("fortran order", npy(hdr("<f4", "True", "(3, 2)"), kData32), "fortran_order is True");
    row("fortran order not a bool", npy(hdr("<f4", "1", "(3, 2)"), kData32),
        "'fortran_order' must be True or False, found '1'");
    row("3-D", npy(hdr("<f4", "False", "(1, 3, 2)"), kData32),
        "z.npy: shape [1, 3, 2] is 3-D; only 1-D and 2-D arrays are supported");
    row("0-D", npy(hdr("<f4", "False", "()"), f4({1})), "shape () is 0-D");
    row("negative dim", npy(hdr("<f4", "False", "(-3, 2)"), kData32), "shape dim is negative");
    row("absurd dim", npy(hdr("<f4", "False", "(1099511627777,)"), ""), "shape dim exceeds 2^40");
    row("long digit string", npy(hdr("<f4", "False", "(99999999999999999999999999,)"), ""),
        "shape dim exceeds 2^40");
    row("product overflow", npy(hdr("<f4", "False", "(1099511627776, 1099511627776)"), ""),
        "shape [1099511627776, 1099511627776] of <f4 is too large");
    row("(n) is not a tuple", npy(hdr("<f4", "False", "(6)"), kData32), "is not a tuple");
    row("shape as list", npy(hdr("<f4", "False", "[3, 2]"), kData32), "expected '(', found '['");
    row("empty dim", npy(hdr("<f4", "False", "(3, , 2)"), kData32), "expected a shape dim");
    std::string dims65 = "(";
    for (int i = 0; i < 65; ++i)
      dims65 += "1, ";
    row("65 dims", npy(hdr("<f4", "False", dims65 + ")"), f4({1})), "shape has more than 64 dims");
    row("data too short",
        npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }", f4({1, 2, 3})),
        "z.npy: data is 12 bytes, shape [4, 2] of <f4 needs 32 (byte offset 128)");
    row("data too long", good + std::string(4, '\0'),
        "data is 28 bytes, shape [3, 2] of <f4 needs 24");
    row("f8 data too short", npy(hdr("<f8", "False", "(3,)"), f4({1, 2, 3})),
        "data is 12 bytes, shape [3] of <f8 needs 24");
    row("unknown key",
        npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), 'extra': 1}", kData32),
        "unknown key 'extra'");
    row("duplicate key",
        npy("{'descr': '<f4', 'shape': (3, 2), 'fortran_order': False, 'shape': (3, 2)}", kData32),
        "duplicate key 'shape'");
    row("unquoted key", npy("{descr: '<f4'}", ""), "z.npy: header byte 11: expected a quoted key");
    row("unterminated string", npy("{'descr': '<f4}", ""), "unterminated string");
    row("escape in string", npy("{'descr': '<f\\x34'}", ""), "escape sequences are not supported");
    row("missing comma", npy("{'descr': '<f4' 'fortran_order': False, 'shape': (3, 2)}", kData32),
        "expected '}', found '''");
    row("missing colon", npy("{'descr' '<f4'}", ""), "expected ':'");
    row("unclosed dict", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2),", kData32),
        "found end of header");
    row("junk after dict", npy(kDict32 + " x", kData32), "unexpected 'x' after the header dict");
    row("control bytes escaped", npy(hdr("\x01\xff", "False", "(3, 2)"), kData32),
        "dtype '\\x01\\xff'");
  }
  void rejects() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, expected);
    try {
      const RowMatrixXf m = itslab::parse_npy(bytes.toStdString(), "z.npy");
      QFAIL(qPrintable(QString("accepted a %1x%2 matrix").arg(m.rows()).arg(m.cols())));
    } catch (const Error& e) {
      const QString what = QString::fromStdString(e.what());
      QVERIFY2(what.startsWith("z.npy: "), qPrintable(what));
      QVERIFY2(what.contains(expected), qPrintable(what));
    }
  }

  void roundTripThroughFile() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.filePath("x.npy").toStdString();
    const float data[] = {1.5f,
                          -0.0f,
                          std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::max(),
                          std::nanf(""),
                          -7.25f};
    itslab::write_npy(path, data, 2, 3);
    QVERIFY(same_bits(itslab::read_npy(path), data, 2, 3));
    QCOMPARE(qb(slurp(path)), qb(itslab::serialize_npy(data, 2, 3)));
    QVERIFY(!QFile::exists(QString::fromStdString(path + ".tmp")));
    // Overwriting replaces the whole file, shape included.
    itslab::write_npy(path, data, 3, 2);
    QVERIFY(same_bits(itslab::read_npy(path), data, 3, 2));
  }

  void roundTripEmpty() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("empty.npy").toStdString();
    itslab::write_npy(path, nullptr, 0, 3);
    const RowMatrixXf m = itslab::read_npy(path);
    QCOMPARE(m.rows(), 0);
    QCOMPARE(m.cols(), 3);
    QCOMPARE(slurp(path).size(), size_t{128});
  }

  void failedWriteKeepsOldFile() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("keep.npy").toStdString();
    const float old[] = {1, 2, 3, 4};
    itslab::write_npy(path, old, 2, 2);
    // A directory squatting on the temporary's name makes the write fail before the rename.
    QVERIFY(QDir().mkdir(QString::fromStdString(path + ".tmp")));
    const float fresh[] = {9, 9};
    try {
      itslab::write_npy(path, fresh, 1, 2);
      QFAIL("write_npy succeeded although its temporary could not be created");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).starts_with(path + ": "), e.what());
    }
    QVERIFY(same_bits(itslab::read_npy(path), old, 2, 2));
  }

  void writeIntoMissingDirectoryNamesPath() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("no/such/dir/x.npy").toStdString();
    const float data[] = {1};
    QVERIFY_THROWS_EXCEPTION(Error, itslab::write_npy(path, data, 1, 1));
    try {
      itslab::write_npy(path, data, 1, 1);
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find(path) != std::string::npos, e.what());
    }
  }

  void readErrorsNamePath() {
    QTemporaryDir dir;
    const std::string missing = dir.filePath("missing.npy").toStdString();
    const auto message = [](const std::string& path) -> std::string {
      try {
        itslab::read_npy(path);
      } catch (const Error& e) {
        return e.what();
      }
      return "no error";
    };
    QVERIFY(message(missing).starts_with(missing + ": cannot open"));
    QVERIFY(
        message(dir.path().toStdString()).starts_with(dir.path().toStdString() + ": cannot read"));
    const std::string truncated = dir.filePath("t.npy").toStdString();
    spit(truncated, npy(kDict32, kData32).substr(0, 140));
    QCOMPARE(message(truncated),
             truncated + ": data is 12 bytes, shape [3, 2] of <f4 needs 24 (byte offset 128)");
  }

  void serializeRejectsBadShapes() {
    const float data[] = {1, 2};
    QVERIFY_THROWS_EXCEPTION(Error, itslab::serialize_npy(data, -1, 2));
    QVERIFY_THROWS_EXCEPTION(Error, itslab::serialize_npy(data, 1, -2));
    QVERIFY_THROWS_EXCEPTION(Error, itslab::serialize_npy(nullptr, 1, 2));
    QVERIFY_THROWS_EXCEPTION(Error, itslab::serialize_npy(data, int64_t{1} << 41, 1));
  }

  // Mutated files must be either read or rejected with Error; anything else (a crash, a sanitizer
  // report, another exception type, a hang) fails the test. Most mutations go to the dict text and
  // the file is then reassembled with consistent lengths, so they reach the dict parser instead of
  // stopping at the length check; some mutate the raw file to hit the prefix too.
  void fuzzMutations() {
    struct Seed {
      std::string dict, data;
      int major;
    };
    const std::vector<Seed> seeds = {
        {kDict32, kData32, 1},
        {"{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<f8\"}", f8({1, 2}), 3},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1L, 2L), }", f4({1, 2}), 2},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", "", 1}};
    // Tokens of the header grammar reach deeper into the parser than random bytes do.
    const std::vector<std::string> tokens = {"'",
                                             "\"",
                                             ",",
                                             "(",
                                             ")",
                                             "{",
                                             "}",
                                             ":",
                                             " ",
                                             "-",
                                             "L",
                                             "\\",
                                             "\n",
                                             "True",
                                             "'shape'",
                                             "'descr'",
                                             "0",
                                             "7",
                                             "99999999999999999999",
                                             "1099511627776"};
    std::mt19937 rng(20240611);
    const auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    const auto mutate = [&](std::string& b) {
      const size_t at = pick(b.size() + 1);
      switch (pick(6)) {
      case 0:
        if (at < b.size())
          b[at] ^= static_cast<char>(1 << pick(8));
        break;
      case 1:
        if (at < b.size())
          b[at] = static_cast<char>(rng());
        break;
      case 2:
        b.resize(at);
        break;
      case 3:
        b.insert(at, tokens[pick(tokens.size())]);
        break;
      case 4: {
        const size_t run = 1 + pick(8); // separate statements fix the draw order on every compiler
        b.insert(at, run, static_cast<char>(rng()));
        break;
      }
      default:
        if (at < b.size())
          b.erase(at, 1 + pick(8));
      }
    };
    int parsed = 0, rejected = 0, rejected_in_dict = 0;
    for (int iter = 0; iter < 20000; ++iter) {
      const Seed& seed = seeds[pick(seeds.size())];
      std::string dict = seed.dict, data = seed.data;
      for (size_t ops = pick(4); ops > 0; --ops)
        mutate(dict);
      if (pick(8) == 0)
        mutate(data);
      std::string file = npy(dict, data, seed.major);
      if (pick(4) == 0)
        mutate(file);
      try {
        const RowMatrixXf m = itslab::parse_npy(file, "fuzz.npy");
        QVERIFY(static_cast<size_t>(m.size()) * 4 <= file.size());
        ++parsed;
      } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).starts_with("fuzz.npy: "), e.what());
        ++rejected;
        rejected_in_dict += std::string(e.what()).find("header byte") != std::string::npos;
      } catch (const std::exception& e) {
        QFAIL(qPrintable(QString("iteration %1 threw a non-Error: %2").arg(iter).arg(e.what())));
      }
    }
    // Each outcome must be common, or the mutations are not exercising the parser.
    const QString counts = QString("parsed %1, rejected %2, of which %3 in the dict")
                               .arg(parsed)
                               .arg(rejected)
                               .arg(rejected_in_dict);
    QVERIFY2(parsed > 2000 && rejected > 2000 && rejected_in_dict > 2000, qPrintable(counts));
    qInfo("%s", qPrintable(counts));
  }
};

QTEST_APPLESS_MAIN(TestNpy)
#include "test_npy.moc"
