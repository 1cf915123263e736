#include "paradnn/point.hpp"

#include "paradnn/error.hpp"

namespace paradnn {

std::string to_string(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  return std::get<std::string>(v);
}

const ParamSpec* FamilySpec::find(const std::string& param) const {
  for (const ParamSpec& p : params)
    if (p.name == param) return &p;
  return nullptr;
}

int64_t Point::get_int(const std::string& k) const {
  auto it = hp.find(k);
  if (it == hp.end() || !std::holds_alternative<int64_t>(it->second))
    throw std::logic_error("point has no integer hyperparameter '" + k + "'");
  return std::get<int64_t>(it->second);
}

std::string Point::get_str(const std::string& k) const {
  auto it = hp.find(k);
  if (it == hp.end()) throw std::logic_error("point has no hyperparameter '" + k + "'");
  return to_string(it->second);
}

std::string Point::key() const {
  std::string s = family + ":";
  bool first = true;
  for (const auto& [k, v] : hp) {
    s += (first ? "" : ",") + k + "=" + to_string(v);
    first = false;
  }
  s += ":" + std::string(to_string(mode)) + ":" + std::string(to_string(dtype)) + ":batch=" + std::to_string(batch);
  return s;
}

}  // namespace paradnn
