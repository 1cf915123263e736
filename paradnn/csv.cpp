#include "paradnn/csv.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <sstream>

#include "paradnn/error.hpp"

namespace paradnn {

const std::vector<std::string>& hyperparameter_columns() {
  static const std::vector<std::string> c{"layers", "nodes", "input", "output", "blocks", "filters", "bottleneck",
                                          "image",  "branches", "cell", "embed", "seq_len", "vocab", "model"};
  return c;
}

const std::vector<std::string>& result_columns() {
  static const std::vector<std::string> c = [] {
    std::vector<std::string> v{"schema_version", "run_id",   "timestamp_utc", "platform",   "backend",
                               "source",         "device_name", "model_family", "model_name", "mode",
                               "dtype",          "batch"};
    for (const auto& h : hyperparameter_columns()) v.push_back(h);
    for (const char* s : {"optimizer", "intra_threads", "inter_pools", "affinity", "status", "reason", "params",
                          "flops_per_step", "bytes_per_step", "arithmetic_intensity", "time_per_step_s_median",
                          "time_per_step_s_p10", "time_per_step_s_p90", "repetitions", "examples_per_s",
                          "flops_per_s", "peak_flops_per_s", "utilization", "bandwidth_bytes_per_s", "bound",
                          "time_per_step_s_min", "time_per_step_cv", "memory_estimated_bytes",
                          "memory_measured_bytes", "overhead_s", "loss", "kernels", "point_key", "repro",
                          // reduced-precision inference: fidelity against the f32 model
                          "fidelity_top1_agreement", "fidelity_logits_rel_l2", "calibration", "precision_layers"})
      v.push_back(s);
    // Data-parallel training (run --data-parallel, and the scaling model's simulated rows).
    for (const char* s : {"ranks", "scaling", "comm_s", "overlap_fraction", "scaling_efficiency"}) v.push_back(s);
    v.push_back("stop_reason");  // why timing ended: repetitions, noise or time_cap
    return v;
  }();
  return c;
}

const std::vector<std::string>& op_columns() {
  static const std::vector<std::string> c{
      "schema_version", "run_id", "backend", "source", "point_key", "op_index", "op_name", "op_kind", "phase",
      "dtype", "time_s", "share_of_step", "flops", "bytes", "arithmetic_intensity", "flops_per_s", "bound", "impl"};
  return c;
}

std::string csv_escape(const std::string& f) {
  if (f.find_first_of(",\"\n\r") == std::string::npos) return f;
  std::string out = "\"";
  for (char ch : f) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::vector<std::string> csv_split(const std::string& line, bool* complete) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        out.back() += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      out.emplace_back();
    } else if (ch != '\r') {
      out.back() += ch;
    }
  }
  if (complete) *complete = !quoted;
  return out;
}

namespace {

std::string header_line(const std::vector<std::string>& columns) {
  std::string line;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) line += ',';
    line += columns[i];
  }
  return line + '\n';
}

}  // namespace

std::string csv_line(const std::vector<std::string>& columns, const Row& row, bool drop_unknown) {
  for (const auto& [k, v] : row) {
    bool known = false;
    for (const auto& c : columns) known = known || c == k;
    if (!known && !drop_unknown) throw std::logic_error("CSV row has a column the schema lacks: " + k);
  }
  std::string line;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) line += ',';
    if (auto it = row.find(columns[i]); it != row.end()) line += csv_escape(it->second);
  }
  return line + '\n';
}

void write_csv_file(const std::string& path, const std::vector<std::string>& columns, const std::vector<Row>& rows) {
  std::string text = header_line(columns);
  for (const Row& r : rows) text += csv_line(columns, r);
  write_file_atomically(path, text);
}

CsvWriter::CsvWriter(const std::string& path, std::vector<std::string> columns, bool append)
    : path_(path), columns_(std::move(columns)) {
  const bool had_rows =
      append && std::filesystem::is_regular_file(path) && std::filesystem::file_size(path) > 0;
  if (had_rows) {
    const CsvTable existing = read_csv(path);
    // A file from before columns were appended: keep writing its columns (the new ones dropped).
    const bool older = existing.header.size() < columns_.size() &&
                       std::equal(existing.header.begin(), existing.header.end(), columns_.begin());
    if (older) {
      columns_ = existing.header;
      drop_unknown_ = true;
    } else if (existing.header != columns_)
      throw InputError(path + ": existing file has a different header (schema); use --force to overwrite or -o another file");
    rows_ = existing.rows.size();
    end_ = static_cast<long long>(std::filesystem::file_size(path));
  }
  if (const auto dir = std::filesystem::path(path).parent_path(); !dir.empty()) std::filesystem::create_directories(dir);
  fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
  if (fd_ < 0) throw InputError(io_error(path, "cannot write"));
  if (!had_rows) {
    try {
      put(header_line(columns_), "the header");
    } catch (const WriteError&) {
      close(fd_);
      throw;
    }
  }
}

CsvWriter::~CsvWriter() {
  if (fd_ >= 0) close(fd_);
}

void CsvWriter::put(const std::string& text, const std::string& what) {
  if (write_all(fd_, text.data(), text.size())) {
    end_ += static_cast<long long>(text.size());
    return;
  }
  const std::string message = io_error(path_, "cannot write " + what);
  // Cut a partly written row off, so the file ends with a whole one (a device cannot be cut).
  if (ftruncate(fd_, end_) != 0) errno = 0;
  throw WriteError(fmt::format("{}; {} row{} {} safely on disk", message, rows_, rows_ == 1 ? "" : "s",
                               rows_ == 1 ? "is" : "are"));
}

void CsvWriter::write(const Row& row) {
  put(csv_line(columns_, row, drop_unknown_), "row " + std::to_string(rows_ + 1));
  ++rows_;
}

void CsvWriter::sync() {
  // A device or pipe (-o /dev/null) cannot be synced; that loses nothing.
  if (fsync(fd_) != 0 && errno != EINVAL && errno != EROFS)
    throw WriteError(fmt::format("{}; {} rows written, not all of them may be on disk", io_error(path_, "cannot sync"),
                                 rows_));
}

namespace {

CsvTable parse(std::istream& in, const std::string& path, const std::vector<std::string>& required) {
  CsvTable t;
  t.path = path;
  std::string line, record;
  int lineno = 0, record_start = 0;
  size_t quotes = 0;  // in the record so far: odd means a quoted field is still open
  while (std::getline(in, line)) {
    ++lineno;
    if (lineno == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 BOM
    if (record.empty()) record_start = lineno;
    record += record.empty() ? line : "\n" + line;
    quotes += static_cast<size_t>(std::count(line.begin(), line.end(), '"'));
    if (quotes % 2) continue;  // a quoted field spans lines: split once it closes
    bool complete = true;
    std::vector<std::string> fields = csv_split(record, &complete);
    if (!complete) continue;
    record.clear();
    quotes = 0;
    if (t.header.empty()) {
      t.header = fields;
      for (const auto& r : required) {
        bool found = false;
        for (const auto& h : t.header) found = found || h == r;
        if (!found) throw InputError(path + ":1: missing column '" + r + "' (is this a paradnn results file?)");
      }
      continue;
    }
    if (fields.size() == 1 && fields[0].empty()) continue;
    if (fields.size() != t.header.size())
      throw InputError(path + ":" + std::to_string(record_start) + ": malformed row: " + std::to_string(fields.size()) +
                       " fields, header has " + std::to_string(t.header.size()));
    Row r;
    for (size_t i = 0; i < fields.size(); ++i) r[t.header[i]] = fields[i];
    t.rows.push_back(std::move(r));
    t.lines.push_back(record_start);
  }
  if (!record.empty()) throw InputError(path + ":" + std::to_string(record_start) + ": unterminated quoted field");
  if (t.header.empty()) throw InputError(path + ": empty file, expected a header");
  return t;
}

}  // namespace

CsvTable read_csv(const std::string& path, const std::vector<std::string>& required) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open");
  return parse(in, path, required);
}

CsvTable parse_csv(const std::string& text, const std::string& path, const std::vector<std::string>& required) {
  std::istringstream in(text);
  return parse(in, path, required);
}

CsvTable read_results(const std::string& path) {
  CsvTable t = read_csv(path, {"schema_version", "model_family", "mode", "dtype", "batch", "status", "point_key"});
  for (size_t i = 0; i < t.rows.size(); ++i)
    if (t.rows[i]["schema_version"] != std::to_string(kSchemaVersion))
      throw InputError(path + ":" + std::to_string(t.lines[i]) + ": schema_version " + t.rows[i]["schema_version"] +
                       ", this paradnn reads version " + std::to_string(kSchemaVersion));
  return t;
}

std::string_view to_string(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::skipped: return "skipped";
    case Status::failed: return "failed";
  }
  return "failed";
}

void set_status(Row& row, Status s, const std::string& reason) {
  row["status"] = std::string(to_string(s));
  if (!reason.empty()) row["reason"] = reason;
}

Status status_of(const Row& row) {
  const auto it = row.find("status");
  if (it == row.end()) return Status::failed;
  for (Status s : {Status::ok, Status::skipped, Status::failed})
    if (it->second == to_string(s)) return s;
  return Status::failed;
}

}  // namespace paradnn
