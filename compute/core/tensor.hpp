#pragma once
#include <cstdint>
#include <memory>

namespace itslab {

class Backend;

// Backend-owned storage; each backend subclasses it (host vector, Vulkan buffer).
struct DeviceBuffer {
  virtual ~DeviceBuffer() = default;
};

// A float32 [rows, cols] array living on one backend (particles × dimensions). Copies share the
// buffer; data crosses to the host only through Backend::upload / download.
class Tensor {
public:
  Tensor() = default;
  Tensor(Backend* backend, std::shared_ptr<DeviceBuffer> buffer, int64_t rows, int64_t cols)
      : backend_(backend), buffer_(std::move(buffer)), rows_(rows), cols_(cols) {}

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t size() const { return rows_ * cols_; }
  bool empty() const { return !buffer_; }
  Backend* backend() const { return backend_; }
  DeviceBuffer* buffer() const { return buffer_.get(); }

private:
  Backend* backend_ = nullptr;
  std::shared_ptr<DeviceBuffer> buffer_;
  int64_t rows_ = 0, cols_ = 0;
};

} // namespace itslab
