// The results CSV: schema (one place, versioned), a flushing writer and a strict reader.
#pragma once
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace paradnn {

inline constexpr int kSchemaVersion = 1;

// Columns of a results file, in order (README "Results CSV" documents each).
const std::vector<std::string>& result_columns();
// Columns of a per-op file written by `run --per-op` (same schema version).
const std::vector<std::string>& op_columns();
// Hyperparameter columns: the workload identity beside family, mode, dtype and batch.
const std::vector<std::string>& hyperparameter_columns();

using Row = std::map<std::string, std::string>;

// A row's outcome: ok (measured or predicted), skipped (the backend cannot run the point:
// dtype, ISA, memory), failed (it threw). The `status` column holds its name.
enum class Status { ok, skipped, failed };
std::string_view to_string(Status s);
// Sets the status column, and the reason where one is given.
void set_status(Row& row, Status s, const std::string& reason = {});
// The row's status; a row without one, or with other text, counts as failed.
Status status_of(const Row& row);

// Writes rows in a fixed column order; every row is flushed at once so a crash or
// Ctrl-C loses nothing already written. Appends to an existing file with the same header.
class CsvWriter {
 public:
  CsvWriter(const std::string& path, std::vector<std::string> columns, bool append);
  void write(const Row& row);  // a key that is not a column is a programming error

 private:
  std::vector<std::string> columns_;
  bool drop_unknown_ = false;  // appending to a file with an older (shorter) header
  std::ofstream out_;
};

struct CsvTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<Row> rows;
  std::vector<int> lines;  // source line of each row, for messages
};

// Reads a CSV written by paradnn. `required` columns must be present; unknown extra
// columns (from newer versions) are kept. A malformed row names its line.
CsvTable read_csv(const std::string& path, const std::vector<std::string>& required = {});
// Reads a results file and checks its schema_version.
CsvTable read_results(const std::string& path);

std::string csv_escape(const std::string& field);
std::vector<std::string> csv_split(const std::string& line, bool* complete = nullptr);

}  // namespace paradnn
