#include "paradnn/filter.hpp"

#include <cctype>
#include <cstdlib>

#include "paradnn/error.hpp"

namespace paradnn {

// Hand-written scanners, not std::regex: the regex engine recurses per character and
// overflows the stack on long user text; these are linear and allocate nothing extra.
namespace {

bool space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool digit(char c) { return c >= '0' && c <= '9'; }

size_t skip_spaces(const std::string& s, size_t i) {
  while (i < s.size() && space(s[i])) ++i;
  return i;
}

size_t skip_digits(const std::string& s, size_t i) {
  while (i < s.size() && digit(s[i])) ++i;
  return i;
}

// Long user text in a message: its start is enough to find it.
std::string excerpt(const std::string& s) { return s.size() <= 80 ? s : s.substr(0, 77) + "..."; }

}  // namespace

std::optional<double> parse_number(const std::string& text) {
  // [sign] [digits] [. digits] digits [e [sign] digits] [K|M|G|T [i]] [B], spaces around.
  size_t i = skip_spaces(text, 0);
  const size_t begin = i;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  const size_t int_end = skip_digits(text, i);
  size_t mantissa_end = int_end;
  if (int_end < text.size() && text[int_end] == '.') {
    mantissa_end = skip_digits(text, int_end + 1);
    if (mantissa_end == int_end + 1) return std::nullopt;  // "1." has no fraction digits
  } else if (int_end == i) {
    return std::nullopt;  // no digits at all
  }
  size_t end = mantissa_end;
  if (end < text.size() && (text[end] == 'e' || text[end] == 'E')) {
    size_t e = end + 1;
    if (e < text.size() && (text[e] == '+' || text[e] == '-')) ++e;
    const size_t exp_end = skip_digits(text, e);
    if (exp_end == e) return std::nullopt;
    end = exp_end;
  }
  double v = std::strtod(text.substr(begin, end - begin).c_str(), nullptr);
  size_t u = end;
  int power = 0;
  double base = 1000.0;
  if (u < text.size()) {
    const char* units = "KMGT";
    for (int k = 0; k < 4; ++k)
      if (text[u] == units[k]) power = k + 1;
    if (power > 0) {
      ++u;
      if (u < text.size() && text[u] == 'i') {
        base = 1024.0;
        ++u;
      }
    }
  }
  if (u < text.size() && text[u] == 'B') ++u;
  if (skip_spaces(text, u) != text.size()) return std::nullopt;
  for (int k = 0; k < power; ++k) v *= base;
  return v;
}

namespace {

bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// `name OP value` with spaces allowed around each; nullopt when the text is not one.
std::optional<Condition> parse_condition(const std::string& part) {
  size_t i = skip_spaces(part, 0);
  if (i == part.size() || !name_start(part[i])) return std::nullopt;
  const size_t name_begin = i;
  while (i < part.size() && name_char(part[i])) ++i;
  Condition c;
  c.name = part.substr(name_begin, i - name_begin);
  i = skip_spaces(part, i);
  for (const char* op : {"==", "!=", "<=", ">=", "<", ">", "="}) {
    const std::string o(op);
    if (part.compare(i, o.size(), o) == 0) {
      c.op = o == "=" ? "==" : o;
      i += o.size();
      break;
    }
  }
  if (c.op.empty()) return std::nullopt;
  i = skip_spaces(part, i);
  const size_t value_begin = i;
  while (i < part.size() && !space(part[i])) ++i;
  if (i == value_begin || skip_spaces(part, i) != part.size()) return std::nullopt;
  c.value = part.substr(value_begin, i - value_begin);
  return c;
}

// Splits at ',' and at ' and ' (whitespace on both sides), as written in the header.
std::vector<std::string> split_conditions(const std::string& text) {
  std::vector<std::string> parts;
  std::string cur;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ',') {
      parts.push_back(std::move(cur));
      cur.clear();
      ++i;
      continue;
    }
    if (space(text[i])) {
      const size_t run_end = skip_spaces(text, i);
      if (text.compare(run_end, 3, "and") == 0 && run_end + 3 < text.size() && space(text[run_end + 3])) {
        parts.push_back(std::move(cur));
        cur.clear();
        i = skip_spaces(text, run_end + 3);
        continue;
      }
      cur.append(text, i, run_end - i);
      i = run_end;
      continue;
    }
    cur.push_back(text[i++]);
  }
  parts.push_back(std::move(cur));
  return parts;
}

}  // namespace

Filter Filter::parse(const std::string& text) {
  Filter f;
  for (const std::string& part : split_conditions(text)) {
    if (skip_spaces(part, 0) == part.size()) continue;
    const std::optional<Condition> c = parse_condition(part);
    if (!c)
      throw InputError("bad filter condition '" + excerpt(part) +
                       "' (expected NAME OP VALUE, e.g. nodes<=1024 or cell==lstm)");
    f.conditions_.push_back(*c);
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
      throw InputError("filter '" + c.name + c.op + excerpt(c.value) + "' compares text with an ordering operator");
    }
  }
  return true;
}

}  // namespace paradnn
