#pragma once
#include "core/host.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace itslab {

// Reads a 1-D or 2-D .npy file (format 1.0, 2.0 or 3.0; dtype '<f4' or '<f8', '=' also accepted
// on little-endian hosts; C order). A 1-D array of n becomes [n, 1]. '<f8' is narrowed to float:
// finite values beyond float range become ±inf, as numpy's astype(float32) does, and NaN/inf pass
// through unchanged; callers validate values. Any other input throws Error naming the file and
// the byte offset or header field at fault.
RowMatrixXf read_npy(const std::string& path);

// As read_npy, from the bytes of a whole file; name stands in for the path in messages.
RowMatrixXf parse_npy(const std::string& bytes, const std::string& name);

// Writes data (rows × cols floats, row-major) as a version 1.0 '<f4' C-order .npy, byte for byte
// what numpy.save writes. Atomic: the bytes go to "<path>.tmp", are fsynced, and the temporary is
// renamed over path, so a failure leaves any old file intact and throws Error naming path.
void write_npy(const std::string& path, const float* data, int64_t rows, int64_t cols);

// The bytes write_npy would write.
std::string serialize_npy(const float* data, int64_t rows, int64_t cols);

// As write_npy for any shape (e.g. a trajectory [steps + 1, n, d]).
void write_npy_shape(const std::string& path, const float* data, const std::vector<int64_t>& shape);

} // namespace itslab
