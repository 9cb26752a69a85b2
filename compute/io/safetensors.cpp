#include "io/safetensors.hpp"

#include "core/error.hpp"
#include "core/file_io.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace itslab {

using nlohmann::json;

// Either a read-only mapping of a file or bytes owned in memory.
struct SafetensorsFile::Bytes {
  const char* data = nullptr;
  uint64_t size = 0;
  void* map = nullptr;
  std::string owned;
  Bytes() = default;
  Bytes(const Bytes&) = delete;
  Bytes& operator=(const Bytes&) = delete;
  ~Bytes() {
    if (map)
      munmap(map, size);
  }
};

namespace {

// The reference reader's limit (safetensors MAX_HEADER_SIZE).
constexpr uint64_t kMaxHeader = 100'000'000;
// JSON integers beyond 2^53 may have passed through a double on the writer's side.
constexpr uint64_t kMaxExactInt = uint64_t{1} << 53;

int dtype_size(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32")
    return 4;
  if (dtype == "F16" || dtype == "BF16")
    return 2;
  if (dtype == "F64" || dtype == "I64")
    return 8;
  if (dtype == "U8")
    return 1;
  return 0;
}

bool known_unsupported(const std::string& dtype) {
  static const std::set<std::string> names{
      "F4",          "F6_E2M3",     "F6_E3M2", "BOOL", "I8",  "F8_E5M2", "F8_E4M3", "F8_E8M0",
      "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16",     "U16",  "U32", "U64",     "C64"};
  return names.count(dtype) > 0;
}

// Tensor names come from an untrusted file: keep messages one short printable line.
std::string printable(const std::string& s) {
  std::string out;
  for (const char ch : s.substr(0, 60)) {
    const auto c = static_cast<unsigned char>(ch);
    out += c >= 0x20 && c < 0x7f ? std::string(1, ch) : "?";
  }
  return s.size() > 60 ? out + "..." : out;
}

uint64_t json_uint(const json& v, const std::string& where) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    throw Error(where + " must be a non-negative integer, got " + v.dump().substr(0, 40));
  const auto u = v.get<uint64_t>();
  if (u > kMaxExactInt)
    throw Error(where + " is " + std::to_string(u) + ", beyond 2^53");
  return u;
}

float f16_to_f32(uint16_t h) {
  const uint32_t s = static_cast<uint32_t>(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 0) {
    // subnormal: exactly m·2^-24
    const float v = static_cast<float>(m) * 0x1p-24f;
    return s ? -v : v;
  }
  if (e == 31)
    return std::bit_cast<float>(s | 0x7f800000u | (m << 13));
  return std::bit_cast<float>(s | ((e - 15 + 127) << 23) | (m << 13));
}

template <class T> T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

} // namespace

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

int64_t SafetensorsEntry::numel() const {
  int64_t n = 1;
  for (const int64_t s : shape)
    n *= s;
  return n;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": not a regular file");
  }
  auto bytes = std::make_shared<Bytes>();
  bytes->size = static_cast<uint64_t>(st.st_size);
  if (bytes->size > 0) {
    void* m = mmap(nullptr, bytes->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw Error(path + ": cannot map: " + std::strerror(err));
    }
    bytes->map = m;
    bytes->data = static_cast<const char*>(m);
  }
  ::close(fd);
  SafetensorsFile f;
  f.bytes_ = std::move(bytes);
  f.origin_ = path;
  f.validate();
  return f;
}

SafetensorsFile SafetensorsFile::parse(std::string bytes, const std::string& origin) {
  auto b = std::make_shared<Bytes>();
  b->owned = std::move(bytes);
  b->data = b->owned.data();
  b->size = b->owned.size();
  SafetensorsFile f;
  f.bytes_ = std::move(b);
  f.origin_ = origin;
  f.validate();
  return f;
}

void SafetensorsFile::validate() {
  const auto fail = [&](const std::string& what) { throw Error(origin_ + ": " + what); };
  const uint64_t size = bytes_->size;
  if (size < 8)
    fail("file is " + std::to_string(size) +
         " bytes; a safetensors file starts with an 8-byte header length");
  const auto* p = reinterpret_cast<const unsigned char*>(bytes_->data);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | p[i];
  if (n > kMaxHeader)
    fail("byte 0: header length " + std::to_string(n) + " exceeds the 100000000-byte limit");
  if (n > size - 8)
    fail("byte 0: header length " + std::to_string(n) + " runs past the end of the file (" +
         std::to_string(size) + " bytes)");
  if (n < 2 || p[8] != '{')
    fail("byte 8: the header must be a JSON object starting with '{'");
  data_start_ = 8 + n;

  // nlohmann keeps the last of duplicate keys; the format forbids them, so catch them here.
  std::set<std::string> seen;
  std::string duplicate;
  const json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && duplicate.empty() &&
        !seen.insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  json header;
  try {
    header = json::parse(bytes_->data + 8, bytes_->data + 8 + n, cb);
  } catch (const json::parse_error& e) {
    fail("header is not valid JSON (at byte " + std::to_string(8 + e.byte - 1) +
         "): " + std::string(e.what()).substr(0, 160));
  }
  if (!duplicate.empty())
    fail("header names tensor `" + printable(duplicate) + "` twice");
  if (!header.is_object())
    fail("byte 8: the header must be a JSON object");

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object())
        fail("__metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m->is_string())
          fail("__metadata__." + printable(m.key()) + " must be a string");
        metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor `" + printable(name) + "`";
    if (!v.is_object())
      fail(where + ": entry must be an object with dtype, shape and data_offsets");
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!v.contains(key))
        fail(where + ": missing \"" + key + "\"");
    SafetensorsEntry e;
    e.name = name;
    if (!v["dtype"].is_string())
      fail(where + ": dtype must be a string");
    e.dtype = v["dtype"].get<std::string>();
    if (dtype_size(e.dtype) == 0)
      fail(where + ": dtype " + printable(e.dtype) +
           (known_unsupported(e.dtype) ? " is not supported" : " is not a safetensors dtype") +
           " (supported: F32, F16, BF16, F64, I64, I32, U8)");
    if (!v["shape"].is_array())
      fail(where + ": shape must be an array of integers");
    uint64_t numel = 1;
    bool overflow = false;
    for (const json& s : v["shape"]) {
      try {
        const uint64_t dim = json_uint(s, where + ": shape entry");
        e.shape.push_back(static_cast<int64_t>(dim));
        if (dim != 0 && numel > kMaxExactInt / dim)
          overflow = true;
        numel *= dim;
      } catch (const Error& err) {
        fail(err.what());
      }
    }
    const json& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2)
      fail(where + ": data_offsets must be [begin, end]");
    try {
      e.begin = json_uint(off[0], where + ": data_offsets[0]");
      e.end = json_uint(off[1], where + ": data_offsets[1]");
    } catch (const Error& err) {
      fail(err.what());
    }
    if (e.end < e.begin)
      fail(where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
           "] end before they begin");
    const uint64_t elem = static_cast<uint64_t>(dtype_size(e.dtype));
    if (overflow || numel > kMaxExactInt / elem)
      fail(where + ": shape " + shape_string(e.shape) + " is too large");
    if (e.end - e.begin != numel * elem)
      fail(where + ": shape " + shape_string(e.shape) + " of " + e.dtype + " needs " +
           std::to_string(numel * elem) + " bytes, data_offsets [" + std::to_string(e.begin) +
           ", " + std::to_string(e.end) + "] give " + std::to_string(e.end - e.begin));
    entries_.push_back(std::move(e));
  }

  std::sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const SafetensorsEntry* prev = nullptr;
  for (const auto& e : entries_) {
    const std::string where = "tensor `" + printable(e.name) + "`";
    if (e.begin < covered)
      fail(where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
           "] overlap tensor `" + printable(prev->name) + "` [" + std::to_string(prev->begin) +
           ", " + std::to_string(prev->end) + "]");
    if (e.begin > covered)
      fail(where + ": data_offsets begin at " + std::to_string(e.begin) + ", leaving a gap after " +
           (prev ? "tensor `" + printable(prev->name) + "`" : std::string("the header")) +
           " ending at " + std::to_string(covered));
    covered = e.end;
    prev = &e;
  }
  const uint64_t buffer = size - data_start_;
  if (covered > buffer)
    fail("file is truncated: the tensors need a " + std::to_string(covered) +
         "-byte data buffer starting at byte " + std::to_string(data_start_) + ", the file has " +
         std::to_string(buffer));
  if (covered < buffer)
    fail("byte " + std::to_string(data_start_ + covered) + ": " + std::to_string(buffer - covered) +
         " trailing bytes after the last tensor");
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name)
      return &e;
  return nullptr;
}

std::vector<float> SafetensorsFile::to_f32(const SafetensorsEntry& e) const {
  const int64_t n = e.numel();
  std::vector<float> out(static_cast<size_t>(n));
  const char* src = bytes_->data + data_start_ + e.begin;
  const int w = dtype_size(e.dtype);
  for (int64_t i = 0; i < n; ++i) {
    const char* q = src + i * w;
    float v = 0;
    if (e.dtype == "F32")
      v = load<float>(q);
    else if (e.dtype == "F16")
      v = f16_to_f32(load<uint16_t>(q));
    else if (e.dtype == "BF16")
      // bfloat16 is the top half of a float32
      v = std::bit_cast<float>(uint32_t{load<uint16_t>(q)} << 16);
    else if (e.dtype == "F64")
      v = static_cast<float>(load<double>(q));
    else if (e.dtype == "I64")
      v = static_cast<float>(load<int64_t>(q));
    else if (e.dtype == "I32")
      v = static_cast<float>(load<int32_t>(q));
    else
      v = static_cast<float>(load<uint8_t>(q));
    out[static_cast<size_t>(i)] = v;
  }
  return out;
}

std::vector<double> SafetensorsFile::to_f64(const SafetensorsEntry& e) const {
  if (e.dtype != "F64") {
    const std::vector<float> f = to_f32(e);
    return {f.begin(), f.end()};
  }
  std::vector<double> out(static_cast<size_t>(e.numel()));
  const char* src = bytes_->data + data_start_ + e.begin;
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = load<double>(src + i * sizeof(double));
  return out;
}

std::vector<float> SafetensorsFile::tensor(const std::string& name,
                                           const std::vector<int64_t>& shape) const {
  const SafetensorsEntry* e = find(name);
  if (!e)
    throw Error(origin_ + ": tensor `" + name + "` is missing (expected shape " +
                shape_string(shape) + ")");
  if (e->shape != shape)
    throw Error(origin_ + ": tensor `" + name + "` has shape " + shape_string(e->shape) +
                ", expected " + shape_string(shape));
  return to_f32(*e);
}

std::string serialize_safetensors(const std::vector<SafetensorsTensorIn>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  std::vector<const SafetensorsTensorIn*> sorted;
  for (const auto& t : tensors) {
    if (t.name == "__metadata__")
      throw Error("safetensors: `__metadata__` is reserved and cannot name a tensor");
    sorted.push_back(&t);
  }
  std::sort(sorted.begin(), sorted.end(), [](auto a, auto b) { return a->name < b->name; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i]->name == sorted[i - 1]->name)
      throw Error("safetensors: tensor `" + sorted[i]->name + "` given twice");
  // ordered_json keeps __metadata__ first and tensors in data order, as the reference writer
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  std::string data;
  for (const auto* t : sorted) {
    int64_t n = 1;
    for (const int64_t s : t->shape) {
      if (s < 0)
        throw Error("safetensors: tensor `" + t->name + "` has a negative dimension");
      n *= s;
    }
    const uint64_t begin = data.size();
    data.append(reinterpret_cast<const char*>(t->data), static_cast<size_t>(n) * sizeof(float));
    header[t->name] = {
        {"dtype", "F32"}, {"shape", t->shape}, {"data_offsets", {begin, data.size()}}};
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>(static_cast<uint64_t>(text.size()) >> (8 * i));
  return out + text + data;
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsTensorIn>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, serialize_safetensors(tensors, metadata));
}

} // namespace itslab
