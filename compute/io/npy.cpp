#include "io/npy.hpp"

#include "core/error.hpp"
#include "core/file_io.hpp"

#include <bit>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace itslab {

namespace {

constexpr std::string_view kMagic{"\x93NUMPY", 6};
// No real array is this long along one axis; the cap keeps size arithmetic well inside int64.
constexpr int64_t kMaxDim = int64_t{1} << 40;
constexpr size_t kMaxDims = 64; // numpy's own limit; bounds memory on a hostile shape tuple
constexpr size_t kAlign = 64;   // numpy starts the data on a 64-byte boundary

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw Error(name + ": " + what);
}

// Header text is untrusted: escape it and cut it short so a message stays one readable line.
std::string quoted(std::string_view s) {
  constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (const char ch : s.substr(0, 40)) {
    const auto c = static_cast<unsigned char>(ch);
    out += c >= 0x20 && c < 0x7f ? std::string(1, ch)
                                 : std::string{'\\', 'x', kHex[c >> 4], kHex[c & 15]};
  }
  return out + (s.size() > 40 ? "...'" : "'");
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// Byte size of a [rows, cols] array, or -1 when it does not fit in int64.
int64_t byte_size(int64_t rows, int64_t cols, int64_t itemsize) {
  if (cols != 0 && rows > std::numeric_limits<int64_t>::max() / itemsize / cols)
    return -1;
  return rows * cols * itemsize;
}

// Byte-wise so the file's little-endian layout is honoured whatever the host's byte order.
uint64_t load_le(const char* p, size_t n) {
  uint64_t v = 0;
  while (n-- > 0)
    v = v << 8 | static_cast<unsigned char>(p[n]);
  return v;
}

void store_le(char* p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i, v >>= 8)
    p[i] = static_cast<char>(v & 0xff);
}

// C++ leaves converting an out-of-range double to float undefined, so IEEE round-to-nearest is
// spelled out: beyond FLT_MAX + half an ulp becomes inf, anything closer rounds to FLT_MAX.
float narrow(double d) {
  constexpr double kMax = std::numeric_limits<float>::max();
  if (!(std::abs(d) > kMax)) // NaN takes this branch too
    return static_cast<float>(d);
  const float mag = std::abs(d) >= 0x1.ffffffp127 ? std::numeric_limits<float>::infinity()
                                                  : std::numeric_limits<float>::max();
  return d > 0 ? mag : -mag;
}

struct Header {
  std::optional<std::string_view> descr;
  std::optional<bool> fortran_order;
  std::optional<std::vector<int64_t>> shape;
};

// Recursive-descent parser for the one Python literal numpy writes: a flat dict of a string, a
// bool and a tuple of ints. Offsets in messages are file offsets.
class HeaderParser {
public:
  HeaderParser(std::string_view bytes, size_t begin, size_t end, const std::string& name)
      : s_(bytes.substr(0, end)), pos_(begin), name_(name) {}

  Header parse() {
    Header h;
    skip_ws();
    expect('{');
    skip_ws();
    while (peek() != '}') {
      entry(h);
      skip_ws();
      if (!eat(','))
        break;
      skip_ws();
    }
    expect('}');
    skip_ws();
    if (pos_ != s_.size())
      fail_at(pos_, "unexpected " + found() + " after the header dict");
    return h;
  }

private:
  [[noreturn]] void fail_at(size_t at, const std::string& what) const {
    fail(name_, "header byte " + std::to_string(at) + ": " + what);
  }
  int peek() const { return pos_ < s_.size() ? static_cast<unsigned char>(s_[pos_]) : -1; }
  std::string found() const {
    return pos_ < s_.size() ? quoted(s_.substr(pos_, 1)) : std::string("end of header");
  }
  bool eat(char c) {
    const bool hit = peek() == static_cast<unsigned char>(c);
    pos_ += hit;
    return hit;
  }
  void expect(char c) {
    if (!eat(c))
      fail_at(pos_, std::string("expected '") + c + "', found " + found());
  }
  void skip_ws() {
    constexpr std::string_view kSpace = " \t\n\r\f";
    while (pos_ < s_.size() && kSpace.find(s_[pos_]) != kSpace.npos)
      ++pos_;
  }

  template <class T>
  void set_once(std::optional<T>& slot, T value, size_t at, std::string_view key) {
    if (slot)
      fail_at(at, "duplicate key " + quoted(key));
    slot = std::move(value);
  }

  void entry(Header& h) {
    const size_t at = pos_;
    const std::string_view key = string("key");
    skip_ws();
    expect(':');
    skip_ws();
    if (key == "descr")
      set_once(h.descr, string("'descr' value"), at, key);
    else if (key == "fortran_order")
      set_once(h.fortran_order, boolean(), at, key);
    else if (key == "shape")
      set_once(h.shape, shape(), at, key);
    else
      fail_at(at, "unknown key " + quoted(key));
  }

  std::string_view string(const char* what) {
    const int q = peek();
    if (q != '\'' && q != '"')
      fail_at(pos_, std::string("expected a quoted ") + what + ", found " + found());
    const size_t open = pos_;
    const size_t close = s_.find(static_cast<char>(q), open + 1);
    const std::string_view body =
        s_.substr(open + 1, close == s_.npos ? s_.npos : close - open - 1);
    if (const size_t bad = body.find('\\'); bad != body.npos)
      fail_at(open + 1 + bad, "escape sequences are not supported in header strings");
    if (close == s_.npos || body.find('\n') != body.npos)
      fail_at(open, "unterminated string");
    pos_ = close + 1;
    return body;
  }

  bool boolean() {
    const size_t at = pos_;
    while (pos_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
      ++pos_;
    const std::string_view word = s_.substr(at, pos_ - at);
    if (word != "True" && word != "False")
      fail_at(at, "'fortran_order' must be True or False, found " + quoted(word));
    return word == "True";
  }

  std::vector<int64_t> shape() {
    expect('(');
    skip_ws();
    std::vector<int64_t> dims;
    bool trailing_comma = false;
    while (peek() != ')') {
      if (dims.size() == kMaxDims)
        fail_at(pos_, "shape has more than " + std::to_string(kMaxDims) + " dims");
      dims.push_back(dim());
      skip_ws();
      trailing_comma = eat(',');
      if (!trailing_comma)
        break;
      skip_ws();
    }
    const size_t close = pos_;
    expect(')');
    // Python reads "(3)" as the integer 3, so numpy itself would reject it.
    if (dims.size() == 1 && !trailing_comma)
      fail_at(close, "shape (n) is not a tuple; a 1-D shape is written (n,)");
    return dims;
  }

  int64_t dim() {
    const size_t at = pos_;
    if (peek() == '-')
      fail_at(at, "shape dim is negative");
    if (peek() < '0' || peek() > '9')
      fail_at(at, "expected a shape dim (non-negative integer), found " + found());
    int64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      v = v * 10 + (s_[pos_++] - '0');
      if (v > kMaxDim)
        fail_at(at, "shape dim exceeds 2^40");
    }
    eat('L'); // Python 2 numpy wrote long ints as "3L"
    return v;
  }

  std::string_view s_;
  size_t pos_;
  const std::string& name_;
};

std::string serialize(const float* data, const std::vector<int64_t>& dims, const std::string& who) {
  const std::string shape = shape_str(dims);
  int64_t count = 1;
  for (const int64_t n : dims) {
    if (n < 0 || n > kMaxDim)
      fail(who, "cannot write shape " + shape + ": dims must be in [0, 2^40]");
    if (byte_size(count, n, 4) < 0)
      fail(who, "cannot write shape " + shape + ": too large");
    count *= n;
  }
  const int64_t data_size = 4 * count;
  if (data_size > 0 && data == nullptr)
    fail(who, "cannot write shape " + shape + ": data is null");

  std::string tuple;
  for (const int64_t n : dims)
    tuple += std::to_string(n) + ", ";
  // numpy writes (n,) for one dim and (a, b) otherwise
  tuple = dims.size() == 1 ? tuple.substr(0, tuple.size() - 1) : tuple.substr(0, tuple.size() - 2);
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + tuple + "), }";
  const size_t prefix = kMagic.size() + 4; // magic, version, 2-byte header length
  // numpy's formula, which pads a whole extra 64 when already aligned; kept for identical bytes.
  header.append(kAlign - (prefix + header.size() + 1) % kAlign, ' ');
  header += '\n';

  std::string out(prefix + header.size() + static_cast<size_t>(data_size), '\0');
  out.replace(0, kMagic.size(), kMagic);
  out[6] = 1;
  store_le(out.data() + 8, header.size(), 2);
  out.replace(prefix, header.size(), header);
  char* dst = out.data() + prefix + header.size();
  for (int64_t i = 0; i < count; ++i)
    store_le(dst + 4 * i, std::bit_cast<uint32_t>(data[i]), 4);
  return out;
}

// A rename is durable only once the directory is on disk. Some filesystems refuse to fsync a
// directory; the file itself is already safe then, so failure here is not an error.
} // namespace

RowMatrixXf parse_npy(const std::string& bytes, const std::string& name) {
  const size_t size = bytes.size();
  if (std::string_view(bytes).substr(0, kMagic.size()) != kMagic)
    fail(name, "byte 0: not a .npy file (no \\x93NUMPY magic)");
  if (size < 8)
    fail(name, "file is " + std::to_string(size) +
                   " bytes, truncated before the format version (byte offset 6)");
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    fail(name, "byte 6: unsupported .npy format version " + std::to_string(major) + "." +
                   std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  // 1.0 has a 2-byte header length; 2.0 widened it to 4 and 3.0 only made the header utf-8.
  const size_t len_size = major == 1 ? 2 : 4;
  const size_t header_begin = 8 + len_size;
  if (size < header_begin)
    fail(name, "file is " + std::to_string(size) +
                   " bytes, truncated before the header length (byte offset 8)");
  const uint64_t header_len = load_le(bytes.data() + 8, len_size);
  if (header_len > size - header_begin)
    fail(name, "byte 8: header length " + std::to_string(header_len) +
                   " runs past the end of the file (" + std::to_string(size) + " bytes)");
  const size_t data_begin = header_begin + header_len;
  const Header h = HeaderParser(bytes, header_begin, data_begin, name).parse();

  for (const auto& [present, key] : {std::pair{h.descr.has_value(), "'descr'"},
                                     {h.fortran_order.has_value(), "'fortran_order'"},
                                     {h.shape.has_value(), "'shape'"}})
    if (!present)
      fail(name, std::string("header is missing key ") + key);

  const std::string_view descr = *h.descr;
  const std::string_view kind = descr.substr(descr.empty() ? 0 : 1);
  const bool native_le = std::endian::native == std::endian::little;
  const bool big = descr.starts_with('>') || (descr.starts_with('=') && !native_le);
  const bool little = descr.starts_with('<') || (descr.starts_with('=') && native_le);
  if (big && (kind == "f4" || kind == "f8"))
    fail(name, "dtype " + quoted(descr) +
                   " is big-endian; only little-endian float32/float64 are supported");
  if (!little || (kind != "f4" && kind != "f8"))
    fail(name, "dtype " + quoted(descr) +
                   " is not supported; only little-endian float32/float64 ('<f4', '<f8') are");
  const int itemsize = kind == "f4" ? 4 : 8;

  if (*h.fortran_order)
    fail(name, "fortran_order is True (column-major data); only C-order arrays are supported "
               "(save with np.ascontiguousarray)");

  const std::vector<int64_t>& shape = *h.shape;
  if (shape.empty())
    fail(name, "shape () is 0-D; only 1-D and 2-D arrays are supported");
  if (shape.size() > 2)
    fail(name, "shape " + shape_str(shape) + " is " + std::to_string(shape.size()) +
                   "-D; only 1-D and 2-D arrays are supported");
  const int64_t rows = shape[0];
  const int64_t cols = shape.size() == 2 ? shape[1] : 1;
  const int64_t need = byte_size(rows, cols, itemsize);
  if (need < 0)
    fail(name, "shape " + shape_str(shape) + " of " + std::string(descr) + " is too large");
  if (static_cast<uint64_t>(need) != size - data_begin)
    fail(name, "data is " + std::to_string(size - data_begin) + " bytes, shape " +
                   shape_str(shape) + " of " + std::string(descr) + " needs " +
                   std::to_string(need) + " (byte offset " + std::to_string(data_begin) + ")");

  RowMatrixXf out(rows, cols);
  const char* src = bytes.data() + data_begin;
  float* dst = out.data();
  for (int64_t i = 0; i < rows * cols; ++i)
    dst[i] = itemsize == 4 ? std::bit_cast<float>(static_cast<uint32_t>(load_le(src + 4 * i, 4)))
                           : narrow(std::bit_cast<double>(load_le(src + 8 * i, 8)));
  return out;
}

RowMatrixXf read_npy(const std::string& path) {
  return parse_npy(read_file(path), path);
}

std::string serialize_npy(const float* data, int64_t rows, int64_t cols) {
  return serialize(data, {rows, cols}, "serialize_npy");
}

void write_npy(const std::string& path, const float* data, int64_t rows, int64_t cols) {
  write_file_atomic(path, serialize(data, {rows, cols}, path));
}

void write_npy_shape(const std::string& path, const float* data,
                     const std::vector<int64_t>& shape) {
  write_file_atomic(path, serialize(data, shape, path));
}

} // namespace itslab
