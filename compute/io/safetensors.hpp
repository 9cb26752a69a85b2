#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace itslab {

// One entry of a safetensors header; begin/end are byte offsets into the data buffer.
struct SafetensorsEntry {
  std::string name;
  std::string dtype; // F32, F16, BF16, F64, I64, I32 or U8
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
  int64_t numel() const;
};

// A validated safetensors file (memory-mapped, never trusted): the header is checked in full
// on open — header length, JSON schema, dtype names, duplicate names, offsets tiling the data
// buffer exactly with no gap, overlap or trailing byte — and every problem throws Error naming
// the file and the byte offset or tensor at fault.
class SafetensorsFile {
public:
  static SafetensorsFile open(const std::string& path);
  // The same checks on bytes held in memory; origin names them in messages.
  static SafetensorsFile parse(std::string bytes, const std::string& origin);

  const std::string& origin() const { return origin_; }
  // In data order.
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // nullptr when absent.
  const SafetensorsEntry* find(const std::string& name) const;
  // The tensor converted to f32 (F16, BF16 and F64 exactly or by rounding; integers by value),
  // copied out so alignment in the file does not matter.
  std::vector<float> to_f32(const SafetensorsEntry& e) const;
  // F64 exactly (statistics kept in double); other dtypes as to_f32, widened.
  std::vector<double> to_f64(const SafetensorsEntry& e) const;
  // As to_f32, and Error unless the tensor exists with exactly this shape.
  std::vector<float> tensor(const std::string& name, const std::vector<int64_t>& shape) const;

private:
  struct Bytes;
  std::shared_ptr<const Bytes> bytes_;
  std::string origin_;
  uint64_t data_start_ = 0;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
  void validate();
};

struct SafetensorsTensorIn {
  std::string name;
  std::vector<int64_t> shape;
  const float* data;
};

// The bytes of an F32 safetensors file as the reference writer lays it out (names sorted,
// contiguous offsets, compact header padded with spaces to a multiple of 8).
std::string serialize_safetensors(const std::vector<SafetensorsTensorIn>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});
// Atomic write of serialize_safetensors.
void write_safetensors(const std::string& path, const std::vector<SafetensorsTensorIn>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

std::string shape_string(const std::vector<int64_t>& shape);

} // namespace itslab
