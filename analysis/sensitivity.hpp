// Which hyperparameters drive throughput, as ParaDnn measured it: per family (and mode and
// dtype, which are not hyperparameters), a least-squares fit of log2(examples_per_s) on
// log2 of each numeric hyperparameter that varies, with an intercept. Log on both sides
// makes a weight an elasticity: throughput scales by 2^weight when the hyperparameter doubles.
#pragma once
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "analysis/workload.hpp"
#include "paradnn/csv.hpp"

namespace paradnn::analysis {

struct LeastSquares {
  Eigen::VectorXd weights;
  double r2 = 0;  // NaN when the response does not vary
  int rank = 0;   // below the column count: some terms are linear combinations of others
};

// Fits y ~ X (X carries its own intercept column) by column-pivoting Householder QR.
LeastSquares least_squares(const Eigen::MatrixXd& x, const Eigen::VectorXd& y);

struct SensitivityTerm {
  std::string name;       // "intercept", a column ("nodes"), or "cell=gru" for a category
  std::string transform;  // "intercept", "log2", "linear" (a column with values <= 0, like bottleneck 0/1)
                          // or "indicator" (1 where the category holds, against the first category)
  double weight = 0;
};

struct SensitivityFit {
  Group group;
  int points = 0;
  int rank = 0;
  double r2 = 0;
  std::vector<SensitivityTerm> terms;  // intercept first
  std::vector<std::string> constant;   // hyperparameters set but not varying: not in the fit
  std::string note;                    // why there is no fit; "few points" where points <= parameters + 2
                                       // (the fit says little); that terms are collinear
};

// One fit per family/mode/dtype over the ok rows.
std::vector<SensitivityFit> fit_sensitivity(const CsvTable& results);
// The fit for one group's rows (which must all have examples_per_s > 0).
SensitivityFit fit_group(const Group& group, const std::vector<const Row*>& rows);

// One row per term: model_family, mode, dtype, term, transform, weight, factor (2^weight:
// throughput x factor per doubling of a log2 term, per unit of a linear or indicator term),
// r2, points, rank, note.
void write_sensitivity_csv(const std::vector<SensitivityFit>& fits, const std::string& path);

}  // namespace paradnn::analysis
