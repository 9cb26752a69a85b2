#include "reward/expression.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <numbers>

namespace itslab {

namespace {

using Op = Expression::Op;

struct Fn {
  const char* name;
  int arity; // −1: one or more (min, max)
  Op::Code code;
  int id;
};

// Unary functions by id (Op::fn1), binary by id (Op::fn2).
constexpr Fn kFunctions[] = {
    {"abs", 1, Op::fn1, 0},     {"sqrt", 1, Op::fn1, 1},     {"exp", 1, Op::fn1, 2},
    {"log", 1, Op::fn1, 3},     {"log1p", 1, Op::fn1, 4},    {"sin", 1, Op::fn1, 5},
    {"cos", 1, Op::fn1, 6},     {"tan", 1, Op::fn1, 7},      {"tanh", 1, Op::fn1, 8},
    {"atan", 1, Op::fn1, 9},    {"sigmoid", 1, Op::fn1, 10}, {"softplus", 1, Op::fn1, 11},
    {"floor", 1, Op::fn1, 12},  {"ceil", 1, Op::fn1, 13},    {"sign", 1, Op::fn1, 14},
    {"pow", 2, Op::fn2, 0},     {"atan2", 2, Op::fn2, 1},    {"hypot", 2, Op::fn2, 2},
    {"clamp", 3, Op::clamp, 0}, {"min", -1, Op::min, 0},     {"max", -1, Op::max, 0},
};

double fn1(int id, double a) {
  switch (id) {
  case 0:
    return std::abs(a);
  case 1:
    return std::sqrt(a);
  case 2:
    return std::exp(a);
  case 3:
    return std::log(a);
  case 4:
    return std::log1p(a);
  case 5:
    return std::sin(a);
  case 6:
    return std::cos(a);
  case 7:
    return std::tan(a);
  case 8:
    return std::tanh(a);
  case 9:
    return std::atan(a);
  case 10:
    return a >= 0 ? 1 / (1 + std::exp(-a)) : std::exp(a) / (1 + std::exp(a));
  case 11:
    return a > 0 ? a + std::log1p(std::exp(-a)) : std::log1p(std::exp(a));
  case 12:
    return std::floor(a);
  case 13:
    return std::ceil(a);
  case 14:
    return (a > 0) - (a < 0);
  }
  return NAN;
}

double fn2(int id, double a, double b) {
  switch (id) {
  case 0:
    return std::pow(a, b);
  case 1:
    return std::atan2(a, b);
  case 2:
    return std::hypot(a, b);
  }
  return NAN;
}

// Recursive descent, lowest precedence first:
//   or := and ('||' and)*      and := cmp ('&&' cmp)*      cmp := sum (cmpop sum)?
//   sum := prod (('+'|'−') prod)*   prod := unary (('*'|'/') unary)*
//   unary := ('−'|'+'|'!') unary | power      power := atom (('^'|'**') unary)?
//   atom := number | name | name '(' args ')' | 'x' '[' int ']' | '(' or ')'
class Parser {
public:
  Parser(const std::string& s, int dim, std::vector<Op>& out) : s_(s), dim_(dim), out_(out) {}

  void parse() {
    skip();
    if (pos_ >= s_.size())
      fail(pos_, "empty expression");
    parse_or();
    skip();
    if (pos_ < s_.size()) {
      if (s_[pos_] == ')')
        fail(pos_, "unmatched ')'");
      fail(pos_, "unexpected '" + std::string(1, s_[pos_]) + "' after a complete expression");
    }
  }

private:
  const std::string& s_;
  int dim_;
  std::vector<Op>& out_;
  size_t pos_ = 0;

  [[noreturn]] void fail(size_t at, const std::string& msg) const {
    throw Error("column " + std::to_string(at + 1) + ": " + msg);
  }
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
  }
  bool eat(const char* tok) {
    skip();
    const size_t n = std::char_traits<char>::length(tok);
    if (s_.compare(pos_, n, tok) == 0) {
      pos_ += n;
      return true;
    }
    return false;
  }
  void emit(Op::Code c, int arg = 0, double v = 0) { out_.push_back({c, arg, v}); }

  void parse_or() {
    parse_and();
    while (eat("||")) {
      parse_and();
      emit(Op::or_);
    }
  }
  void parse_and() {
    parse_cmp();
    while (eat("&&")) {
      parse_cmp();
      emit(Op::and_);
    }
  }
  void parse_cmp() {
    parse_sum();
    skip();
    static const std::pair<const char*, Op::Code> ops[] = {{"<=", Op::le}, {">=", Op::ge},
                                                           {"==", Op::eq}, {"!=", Op::ne},
                                                           {"<", Op::lt},  {">", Op::gt}};
    for (const auto& [tok, code] : ops)
      if (eat(tok)) {
        parse_sum();
        emit(code);
        skip();
        for (const auto& [tok2, code2] : ops)
          if (s_.compare(pos_, std::char_traits<char>::length(tok2), tok2) == 0)
            fail(pos_, "comparisons do not chain; use && (a < b && b < c)");
        return;
      }
  }
  void parse_sum() {
    parse_prod();
    for (;;) {
      skip();
      if (pos_ < s_.size() && s_[pos_] == '+') {
        ++pos_;
        parse_prod();
        emit(Op::add);
      } else if (pos_ < s_.size() && s_[pos_] == '-') {
        ++pos_;
        parse_prod();
        emit(Op::sub);
      } else {
        return;
      }
    }
  }
  void parse_prod() {
    parse_unary();
    for (;;) {
      skip();
      if (pos_ < s_.size() && s_[pos_] == '*' && s_.compare(pos_, 2, "**") != 0) {
        ++pos_;
        parse_unary();
        emit(Op::mul);
      } else if (pos_ < s_.size() && s_[pos_] == '/') {
        ++pos_;
        parse_unary();
        emit(Op::div);
      } else {
        return;
      }
    }
  }
  void parse_unary() {
    skip();
    if (pos_ < s_.size() && s_[pos_] == '-') {
      ++pos_;
      parse_unary();
      emit(Op::neg);
    } else if (pos_ < s_.size() && s_[pos_] == '+') {
      ++pos_;
      parse_unary();
    } else if (pos_ < s_.size() && s_[pos_] == '!' && s_.compare(pos_, 2, "!=") != 0) {
      ++pos_;
      parse_unary();
      emit(Op::not_);
    } else {
      parse_power();
    }
  }
  void parse_power() {
    parse_atom();
    if (eat("**") || eat("^")) {
      parse_unary(); // right associative: 2^3^2 = 2^(3^2); 2^-1 allowed
      emit(Op::pow);
    }
  }
  void parse_atom() {
    skip();
    if (pos_ >= s_.size())
      fail(pos_, "expected a number, a variable, a function or '(' but the expression ended");
    const char c = s_[pos_];
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      const char* begin = s_.c_str() + pos_;
      char* end = nullptr;
      const double v = std::strtod(begin, &end);
      if (end == begin)
        fail(pos_, "malformed number");
      const size_t at = pos_;
      pos_ += static_cast<size_t>(end - begin);
      if (!std::isfinite(v))
        fail(at, "number out of range");
      if (pos_ < s_.size() &&
          (std::isalpha(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
        fail(pos_,
             "unexpected '" + std::string(1, s_[pos_]) + "' after a number (write 2*x, not 2x)");
      emit(Op::constant, 0, v);
      return;
    }
    if (c == '(') {
      const size_t open = pos_++;
      parse_or();
      if (!eat(")"))
        fail(pos_ < s_.size() ? pos_ : open,
             pos_ < s_.size() ? "expected ')'"
                              : "'(' at column " + std::to_string(open + 1) + " is never closed");
      return;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const size_t start = pos_;
      while (pos_ < s_.size() &&
             (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
        ++pos_;
      const std::string name = s_.substr(start, pos_ - start);
      skip();
      if (pos_ < s_.size() && s_[pos_] == '(') {
        call(name, start);
        return;
      }
      if (name == "x" && pos_ < s_.size() && s_[pos_] == '[') {
        ++pos_;
        skip();
        const size_t at = pos_;
        size_t digits = 0;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_])))
          ++pos_, ++digits;
        if (digits == 0 || digits > 6)
          fail(at, "expected a coordinate index (a non-negative integer) inside x[...]");
        const int i = std::stoi(s_.substr(at, digits));
        if (!eat("]"))
          fail(pos_, "expected ']'");
        variable(i, at);
        return;
      }
      variable_name(name, start);
      return;
    }
    if (c == ')')
      fail(pos_, "unexpected ')'");
    fail(pos_, "unexpected '" + std::string(1, c) + "'");
  }
  void variable(int i, size_t at) {
    if (i >= dim_)
      fail(at, "coordinate " + std::to_string(i) + " does not exist: the model has " +
                   std::to_string(dim_) + " dimension" + (dim_ == 1 ? "" : "s") + " (x0..x" +
                   std::to_string(dim_ - 1) + ")");
    emit(Op::var, i);
  }
  void variable_name(const std::string& name, size_t at) {
    if (name == "pi")
      return emit(Op::constant, 0, std::numbers::pi);
    if (name == "e")
      return emit(Op::constant, 0, std::numbers::e);
    if (name == "x")
      return emit(Op::var, 0);
    if (name == "y" && dim_ >= 2)
      return emit(Op::var, 1);
    if (name.size() >= 2 && name[0] == 'x' &&
        std::all_of(name.begin() + 1, name.end(), [](char ch) { return std::isdigit(ch); }) &&
        name.size() <= 7 && (name.size() == 2 || name[1] != '0'))
      return variable(std::stoi(name.substr(1)), at);
    for (const Fn& f : kFunctions)
      if (name == f.name)
        fail(at, "'" + name + "' is a function: write " + name + "(...)");
    std::string hint = "x0..x" + std::to_string(dim_ - 1) + ", x[i], x";
    if (dim_ >= 2)
      hint += ", y";
    fail(at, "unknown variable '" + name + "' (use " + hint + ", pi, e)");
  }
  void call(const std::string& name, size_t at) {
    const Fn* fn = nullptr;
    for (const Fn& f : kFunctions)
      if (name == f.name)
        fn = &f;
    if (!fn)
      fail(at, "unknown function '" + name + "'");
    ++pos_; // '('
    int args = 0;
    skip();
    if (pos_ < s_.size() && s_[pos_] == ')') {
      ++pos_;
    } else {
      for (;;) {
        parse_or();
        ++args;
        if (eat(","))
          continue;
        if (eat(")"))
          break;
        fail(pos_, pos_ < s_.size() ? "expected ',' or ')' in the arguments of " + name + "()"
                                    : "the arguments of " + name + "() are never closed");
      }
    }
    if (fn->arity >= 0 && args != fn->arity)
      fail(at, name + "() takes " + std::to_string(fn->arity) + " argument" +
                   (fn->arity == 1 ? "" : "s") + ", got " + std::to_string(args));
    if (fn->arity < 0 && args < 1)
      fail(at, name + "() takes at least 1 argument");
    emit(fn->code, fn->arity < 0 ? args : fn->id);
  }
};

} // namespace

Expression::Expression(const std::string& text, int dim) : text_(text), dim_(dim) {
  if (dim < 1)
    throw Error("expression: the model has no dimensions");
  Parser(text_, dim_, prog_).parse();
  // stack depth the program needs
  int d = 0;
  for (const Op& op : prog_) {
    switch (op.code) {
    case Op::constant:
    case Op::var:
      ++d;
      break;
    case Op::neg:
    case Op::not_:
    case Op::fn1:
      break;
    case Op::clamp:
      d -= 2;
      break;
    case Op::min:
    case Op::max:
      d -= op.arg - 1;
      break;
    default:
      --d; // binary
    }
    depth_ = std::max(depth_, d);
  }
}

template <class T> double Expression::run(const T* x) const {
  constexpr int kSmall = 32;
  double small[kSmall];
  std::vector<double> big;
  double* st = small;
  if (depth_ > kSmall) {
    big.resize(depth_);
    st = big.data();
  }
  int top = 0; // number of values on the stack
  for (const Op& op : prog_) {
    switch (op.code) {
    case Op::constant:
      st[top++] = op.value;
      break;
    case Op::var:
      st[top++] = static_cast<double>(x[op.arg]);
      break;
    case Op::neg:
      st[top - 1] = -st[top - 1];
      break;
    case Op::not_:
      st[top - 1] = st[top - 1] == 0 ? 1.0 : 0.0;
      break;
    case Op::fn1:
      st[top - 1] = fn1(op.arg, st[top - 1]);
      break;
    case Op::fn2:
      --top;
      st[top - 1] = fn2(op.arg, st[top - 1], st[top]);
      break;
    case Op::clamp:
      top -= 2;
      st[top - 1] = std::min(std::max(st[top - 1], st[top]), st[top + 1]);
      break;
    case Op::min:
    case Op::max: {
      const int n = op.arg;
      double v = st[top - n];
      for (int i = 1; i < n; ++i)
        v = op.code == Op::min ? std::min(v, st[top - n + i]) : std::max(v, st[top - n + i]);
      top -= n - 1;
      st[top - 1] = v;
      break;
    }
    default: {
      --top;
      const double a = st[top - 1], b = st[top];
      double r = 0;
      switch (op.code) {
      case Op::add:
        r = a + b;
        break;
      case Op::sub:
        r = a - b;
        break;
      case Op::mul:
        r = a * b;
        break;
      case Op::div:
        r = a / b;
        break;
      case Op::pow:
        r = std::pow(a, b);
        break;
      case Op::lt:
        r = a < b;
        break;
      case Op::le:
        r = a <= b;
        break;
      case Op::gt:
        r = a > b;
        break;
      case Op::ge:
        r = a >= b;
        break;
      case Op::eq:
        r = a == b;
        break;
      case Op::ne:
        r = a != b;
        break;
      case Op::and_:
        r = (a != 0) && (b != 0);
        break;
      case Op::or_:
        r = (a != 0) || (b != 0);
        break;
      default:
        r = NAN;
      }
      st[top - 1] = r;
    }
    }
  }
  return st[0];
}

double Expression::eval(const double* x) const {
  return run(x);
}
double Expression::eval(const float* x) const {
  return run(x);
}

} // namespace itslab
