// A grid point: one model, mode, dtype and batch to run. Hyperparameters are plain data.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "paradnn/dtype.hpp"
#include "paradnn/graph.hpp"

namespace paradnn {

using Value = std::variant<int64_t, std::string>;
std::string to_string(const Value& v);

struct Point;

// A family's hyperparameters with their defaults, in CSV column order; the generator
// behind it turns a point into a Graph.
struct ParamSpec {
  std::string name;
  Value default_value;
  std::vector<std::string> choices;  // for string parameters; empty = any integer >= 1
  // A default that depends on the point's other hyperparameters (the real family's image
  // size depends on the model), used where a sweep leaves this parameter out; nullopt:
  // the parameter does not apply to that point (no value, an empty CSV cell). Empty
  // function: default_value.
  std::function<std::optional<Value>(const Point&)> default_from = {};
};

struct FamilySpec {
  std::string name;
  std::vector<ParamSpec> params;
  std::function<Graph(const Point&)> build;
  const ParamSpec* find(const std::string& param) const;
};

struct Point {
  std::string family;
  std::map<std::string, Value> hp;  // every hyperparameter of the family, defaults filled
  Mode mode = Mode::train;
  DType dtype = DType::f32;
  int64_t batch = 1;
  Optimizer optimizer = Optimizer::sgd;

  int64_t get_int(const std::string& k) const;
  std::string get_str(const std::string& k) const;
  // Canonical identity: family, hyperparameters, mode, dtype, batch. Used to resume,
  // to filter, to join across platforms and to merge shards.
  std::string key() const;
};

}  // namespace paradnn
