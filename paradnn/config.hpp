// Sweep configs: YAML files naming families, axes, fixed parameters, modes, dtypes and
// run options. Every mistake is reported with file, line, column and key before anything runs.
#pragma once
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "paradnn/filter.hpp"
#include "paradnn/point.hpp"
#include "paradnn/quantization.hpp"

namespace paradnn {

using Catalog = std::vector<FamilySpec>;

struct RunOptions {
  double warmup_s = 0.05;      // Google Benchmark MinWarmUpTime per point
  int repetitions = 5;         // timed repetitions; median, p10, p90 across them
  double min_time_s = 0.05;    // minimum time per repetition
  double memory_fraction = 0.8;  // points whose estimate exceeds this share of free memory are skipped
};

struct Axis {
  std::string name;
  std::vector<Value> values;
};

struct Sweep {
  std::string family;
  std::vector<Axis> axes;              // cartesian product, first axis outermost
  std::map<std::string, Value> fixed;  // hyperparameters held at one value
  std::vector<Mode> modes{Mode::train, Mode::infer};
  std::vector<DType> dtypes{DType::f32};
  Optimizer optimizer = Optimizer::sgd;
  Filter where;
};

struct Config {
  std::string path;  // file it came from
  std::string name;
  std::string text;  // the YAML as read, copied into the run manifest
  RunOptions run;
  std::vector<Sweep> sweeps;
  YAML::Node tune;   // the `tune:` section, read by the tuning module
  QuantizationConfig quant;  // `precision:` and `calibration:` (int8 inference points)
};

Config load_config(const std::string& path, const Catalog& catalog);
Config parse_config(const std::string& yaml_text, const std::string& source, const Catalog& catalog);

}  // namespace paradnn
