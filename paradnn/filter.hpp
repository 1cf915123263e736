// Filter expressions for `where:` in configs and `--filter` on the command line.
//
// Grammar: conditions joined by ',' or ' and ', each `name OP value` with OP one of
// == != <= >= < > (or '=' for ==). Names are those of paradnn/grid.hpp filter_names():
// hyperparameters, family, model_name, mode, dtype, batch, optimizer, plus the derived
// `params` (weight count), `memory` (estimated bytes of the step; values take units, e.g.
// 8GiB) and `flops`. Numbers may use 1e9 notation.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace paradnn {

struct Condition {
  std::string name, op, value;
};

class Filter {
 public:
  Filter() = default;
  static Filter parse(const std::string& text);  // throws InputError naming the bad part

  // `lookup` returns a field's text, or nullopt when the point has no such field
  // (the condition then fails, so a filter on `cell` keeps only rnn points).
  bool matches(const std::function<std::optional<std::string>(const std::string&)>& lookup) const;
  bool empty() const { return conditions_.empty(); }
  const std::vector<Condition>& conditions() const { return conditions_; }

 private:
  std::vector<Condition> conditions_;
};

// "8GiB", "512MB", "1e9", "2048" -> a number (binary units for Ki/Mi/Gi, decimal for K/M/G).
std::optional<double> parse_number(const std::string& text);

}  // namespace paradnn
