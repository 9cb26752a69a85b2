#pragma once
#include <string>

namespace itslab {

// The whole file as bytes; Error naming path when it cannot be read.
std::string read_file(const std::string& path);

// Writes bytes to "<path>.tmp", fsyncs it, renames it over path and syncs the directory, so a
// failure at any point leaves the old file intact; throws Error naming path.
void write_file_atomic(const std::string& path, const std::string& bytes);

} // namespace itslab
