#include "analysis/sensitivity.hpp"

#include <fmt/core.h>

#include <cmath>
#include <limits>
#include <set>

namespace paradnn::analysis {

namespace {

// A regressor: how one column enters the fit.
struct Term {
  std::string column, name, transform, category;
  double value(const Row& r) const {
    if (transform == "indicator") return field(r, column) == category ? 1.0 : 0.0;
    const double v = *number(r, column);
    return transform == "log2" ? std::log2(v) : v;
  }
};

// Terms for the candidate columns that vary; columns set to one value go to `constant`.
std::vector<Term> terms_for(const std::vector<const Row*>& rows, std::vector<std::string>& constant) {
  std::vector<Term> terms;
  for (const std::string& c : workload_axes()) {
    std::set<std::string> values;
    bool numeric = true, positive = true;
    for (const Row* r : rows) {
      values.insert(field(*r, c));
      const auto v = number(*r, c);
      numeric = numeric && v.has_value();
      positive = positive && v && *v > 0;
    }
    if (values.size() == 1) {
      if (!values.begin()->empty()) constant.push_back(c);
      continue;
    }
    if (numeric) {
      terms.push_back({c, c, positive ? "log2" : "linear", ""});
      continue;
    }
    for (auto it = std::next(values.begin()); it != values.end(); ++it)  // the first category is the reference
      terms.push_back({c, c + "=" + *it, "indicator", *it});
  }
  return terms;
}

}  // namespace

LeastSquares least_squares(const Eigen::MatrixXd& x, const Eigen::VectorXd& y) {
  const Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(x);
  LeastSquares f;
  f.weights = qr.solve(y);
  f.rank = static_cast<int>(qr.rank());
  const double ss_res = (y - x * f.weights).squaredNorm();
  const double ss_tot = (y.array() - y.mean()).matrix().squaredNorm();
  f.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : std::numeric_limits<double>::quiet_NaN();
  return f;
}

SensitivityFit fit_group(const Group& group, const std::vector<const Row*>& rows) {
  SensitivityFit fit;
  fit.group = group;
  fit.points = static_cast<int>(rows.size());
  const std::vector<Term> terms = terms_for(rows, fit.constant);
  const Eigen::Index n = static_cast<Eigen::Index>(rows.size());
  const Eigen::Index k = static_cast<Eigen::Index>(terms.size()) + 1;
  if (terms.empty()) {
    fit.note = "no hyperparameter varies";
    return fit;
  }
  if (n <= k) {
    fit.note = fmt::format("{} points for {} terms: too few to fit", n, k);
    return fit;
  }
  Eigen::MatrixXd x(n, k);
  Eigen::VectorXd y(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    x(i, 0) = 1.0;
    for (Eigen::Index t = 1; t < k; ++t) x(i, t) = terms[static_cast<size_t>(t - 1)].value(*rows[static_cast<size_t>(i)]);
    y(i) = std::log2(*number(*rows[static_cast<size_t>(i)], "examples_per_s"));
  }
  const LeastSquares ls = least_squares(x, y);
  fit.rank = ls.rank;
  fit.r2 = ls.r2;
  fit.terms.push_back({"intercept", "intercept", ls.weights(0)});
  for (Eigen::Index t = 1; t < k; ++t) {
    const Term& term = terms[static_cast<size_t>(t - 1)];
    fit.terms.push_back({term.name, term.transform, ls.weights(t)});
  }
  std::vector<std::string> notes;
  if (n <= k + 2)  // two or fewer residual degrees of freedom: R^2 near 1 says nothing
    notes.push_back(fmt::format("few points: {} points for {} parameters, R^2 is not meaningful", n, k));
  if (ls.rank < k)
    notes.push_back(
        fmt::format("terms are collinear (rank {} of {}): the split of weight among them is arbitrary", ls.rank, k));
  for (const std::string& s : notes) fit.note += (fit.note.empty() ? "" : "; ") + s;
  return fit;
}

std::vector<SensitivityFit> fit_sensitivity(const CsvTable& results) {
  std::vector<SensitivityFit> fits;
  for (const auto& [group, rows] : ok_rows_by_group(results)) {
    std::vector<const Row*> usable;
    for (const Row* r : rows)
      if (const auto eps = number(*r, "examples_per_s"); eps && *eps > 0) usable.push_back(r);
    fits.push_back(fit_group(group, usable));
  }
  return fits;
}

void write_sensitivity_csv(const std::vector<SensitivityFit>& fits, const std::string& path) {
  std::vector<Row> rows;
  const auto num = [](double v) { return std::isnan(v) ? std::string() : fmt::format("{:.6g}", v); };
  for (const SensitivityFit& f : fits) {
    Row base{{"model_family", f.group.family}, {"mode", f.group.mode}, {"dtype", f.group.dtype},
             {"points", std::to_string(f.points)}, {"note", f.note}};
    if (f.terms.empty()) rows.push_back(base);  // the group is listed with why it has no fit
    for (const SensitivityTerm& t : f.terms) {
      Row r = base;
      r["term"] = t.name;
      r["transform"] = t.transform;
      r["weight"] = num(t.weight);
      if (t.transform != "intercept") r["factor"] = num(std::exp2(t.weight));
      r["r2"] = num(f.r2);
      r["rank"] = std::to_string(f.rank);
      rows.push_back(r);
    }
  }
  write_csv_file(path,
                 {"model_family", "mode", "dtype", "term", "transform", "weight", "factor", "r2", "points", "rank", "note"},
                 rows);
}

}  // namespace paradnn::analysis
