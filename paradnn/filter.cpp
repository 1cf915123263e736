#include "paradnn/filter.hpp"

#include <cctype>
#include <cstdlib>
#include <regex>

#include "paradnn/error.hpp"

namespace paradnn {

std::optional<double> parse_number(const std::string& text) {
  static const std::regex re(R"(^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([KMGT]i?)?B?\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return std::nullopt;
  double v = std::strtod(m[1].str().c_str(), nullptr);
  const std::string unit = m[2].str();
  if (!unit.empty()) {
    const double base = unit.size() == 2 ? 1024.0 : 1000.0;
    const int power = std::string("KMGT").find(unit[0]) + 1;
    for (int i = 0; i < power; ++i) v *= base;
  }
  return v;
}

Filter Filter::parse(const std::string& text) {
  static const std::regex cond(R"(^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|<=|>=|<|>|=)\s*(\S+)\s*$)");
  Filter f;
  std::string normalized = std::regex_replace(text, std::regex(R"(\s+and\s+)"), ",");
  size_t start = 0;
  while (start <= normalized.size()) {
    size_t end = normalized.find(',', start);
    if (end == std::string::npos) end = normalized.size();
    const std::string part = normalized.substr(start, end - start);
    start = end + 1;
    if (part.find_first_not_of(" \t") == std::string::npos) continue;
    std::smatch m;
    if (!std::regex_match(part, m, cond))
      throw InputError("bad filter condition '" + part + "' (expected NAME OP VALUE, e.g. nodes<=1024 or cell==lstm)");
    std::string op = m[2].str() == "=" ? "==" : m[2].str();
    f.conditions_.push_back({m[1].str(), op, m[3].str()});
  }
  return f;
}

namespace {
bool compare(double a, const std::string& op, double b) {
  if (op == "==") return a == b;
  if (op == "!=") return a != b;
  if (op == "<=") return a <= b;
  if (op == ">=") return a >= b;
  if (op == "<") return a < b;
  return a > b;
}
}  // namespace

bool Filter::matches(const std::function<std::optional<std::string>(const std::string&)>& lookup) const {
  for (const Condition& c : conditions_) {
    const std::optional<std::string> field = lookup(c.name);
    if (!field) return false;
    const auto a = parse_number(*field), b = parse_number(c.value);
    if (a && b) {
      if (!compare(*a, c.op, *b)) return false;
    } else if (c.op == "==" || c.op == "!=") {
      if ((*field == c.value) != (c.op == "==")) return false;
    } else {
      throw InputError("filter '" + c.name + c.op + c.value + "' compares text with an ordering operator");
    }
  }
  return true;
}

}  // namespace paradnn
