// The results CSV: schema (one place, versioned), a flushing writer and a strict reader.
#pragma once
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "paradnn/atomic_file.hpp"

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

// Writes rows in a fixed column order as a run produces them. Each row reaches the file in
// one checked write, so a crash or Ctrl-C loses nothing already written; a failed write cuts
// the file back to its last whole row and throws WriteError saying how many rows are on disk.
// Appends to an existing file with the same header.
class CsvWriter {
 public:
  CsvWriter(const std::string& path, std::vector<std::string> columns, bool append);
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;
  void write(const Row& row);  // a key that is not a column is a programming error
  // Forces the rows onto the disk (fsync), so they also survive a power loss.
  void sync();
  size_t rows_on_disk() const { return rows_; }

 private:
  void put(const std::string& text, const std::string& what);

  std::string path_;
  std::vector<std::string> columns_;
  bool drop_unknown_ = false;  // appending to a file with an older (shorter) header
  int fd_ = -1;
  size_t rows_ = 0;            // whole rows in the file
  long long end_ = 0;          // bytes up to the end of the last whole row
};

// One CSV record in `columns` order, with its newline. A key that is not a column is a
// programming error unless `drop_unknown`.
std::string csv_line(const std::vector<std::string>& columns, const Row& row, bool drop_unknown = false);

// A file written whole (header and rows), atomically: see write_file_atomically.
void write_csv_file(const std::string& path, const std::vector<std::string>& columns, const std::vector<Row>& rows);

struct CsvTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<Row> rows;
  std::vector<int> lines;  // source line of each row, for messages
};

// Reads a CSV written by paradnn. `required` columns must be present; unknown extra
// columns (from newer versions) are kept. A malformed row names its line.
CsvTable read_csv(const std::string& path, const std::vector<std::string>& required = {});
// The same, from text already read (`path` names it in messages).
CsvTable parse_csv(const std::string& text, const std::string& path, const std::vector<std::string>& required = {});
// Reads a results file and checks its schema_version.
CsvTable read_results(const std::string& path);

std::string csv_escape(const std::string& field);
std::vector<std::string> csv_split(const std::string& line, bool* complete = nullptr);

}  // namespace paradnn
