#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace itslab {

// A small, safe arithmetic expression of the coordinates of a point, parsed once into a stack
// program and evaluated in double per particle. No loops, no assignment, no I/O: the only
// inputs are the coordinates and numeric literals.
//
//   numbers   1, 2.5, 1e-3          constants  pi, e
//   variables x0 … x{d−1}, x[i] (i a literal), and x, y (= x0, x1) when d ≥ 2
//   operators + − * / ^ (or **, right associative), unary −/+, comparisons < <= > >= == !=
//             (1 or 0), && || ! (non-zero is true), parentheses
//   functions abs sqrt exp log log1p sin cos tan tanh atan sigmoid softplus floor ceil sign
//             (1 argument), pow atan2 hypot (2), clamp(v, lo, hi) (3), min max (1 or more)
//
// Errors name the 1-based column: "column 7: unknown variable 'z' (use x0..x1, x[i], x, y)".
class Expression {
public:
  // Throws Error("column C: …") on any syntax problem; dim is the number of coordinates.
  Expression(const std::string& text, int dim);
  double eval(const double* x) const;
  double eval(const float* x) const;
  const std::string& text() const { return text_; }

  struct Op {
    enum Code : uint8_t {
      constant,
      var,
      neg,
      add,
      sub,
      mul,
      div,
      pow,
      lt,
      le,
      gt,
      ge,
      eq,
      ne,
      and_,
      or_,
      not_,
      fn1,
      fn2,
      clamp,
      min,
      max
    } code;
    int arg = 0;      // variable index, function id, or argument count (min/max)
    double value = 0; // constant
  };

private:
  template <class T> double run(const T* x) const;
  std::string text_;
  int dim_;
  std::vector<Op> prog_;
  int depth_ = 0; // stack depth the program needs
};

} // namespace itslab
