#pragma once
#include <stdexcept>
#include <string>

namespace itslab {

// Every user-facing failure (bad preset, bad file, bad flag) is an Error whose message names
// the field, path or byte offset; callers print what() and keep running.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Raised between dispatches when a run's cancel flag is set.
class Cancelled : public Error {
public:
  Cancelled() : Error("cancelled") {}
};

} // namespace itslab
