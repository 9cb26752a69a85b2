#pragma once
// Small helpers shared by the tests.
#include "core/error.hpp"

#include <functional>
#include <string>

namespace itslab::test {

// The message of the Error f throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

} // namespace itslab::test
