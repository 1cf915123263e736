#include "runners/harness/resume_repair.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "paradnn/atomic_file.hpp"
#include "paradnn/csv.hpp"
#include "paradnn/error.hpp"

namespace paradnn {

namespace {

// Start offsets of the records in `text` (a quoted field may hold newlines).
std::vector<size_t> record_starts(const std::string& text) {
  std::vector<size_t> starts{0};
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;  // a doubled quote toggles twice
    else if (text[i] == '\n' && !quoted) starts.push_back(i + 1);
  }
  return starts;
}

// Text of the record from `begin`, without its line ending.
std::string record_at(const std::string& text, size_t begin) {
  std::string r = text.substr(begin);
  while (!r.empty() && (r.back() == '\n' || r.back() == '\r')) r.pop_back();
  return r;
}

void append_to(const std::string& path, const std::string& text, bool sync) {
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  const bool ok = fd >= 0 && write_all(fd, text.data(), text.size()) && (!sync || fsync(fd) == 0);
  const std::string message = ok ? "" : io_error(path, "cannot write");
  if (fd >= 0) close(fd);
  if (!ok) throw WriteError(message);
}

}  // namespace

CsvTail inspect_tail(const std::string& path, const std::vector<std::string>& columns) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  CsvTail tail;
  if (text.empty()) return tail;
  std::vector<size_t> starts = record_starts(text);
  const bool ends_in_newline = starts.back() == text.size();
  if (ends_in_newline) starts.pop_back();
  const size_t last = starts.back();
  bool complete = true;
  const std::vector<std::string> fields = csv_split(record_at(text, last), &complete);
  bool whole = complete;
  if (last == 0)  // only a header: whole if it has its newline or is the one this run writes
    whole = complete && (ends_in_newline || fields == columns);
  else if (!record_at(text, last).empty())  // a blank last line is whole
    whole = complete && fields.size() == csv_split(record_at(text.substr(0, starts[1]), 0)).size();
  if (whole) {
    tail.whole = text;
    tail.missing_newline = !ends_in_newline;
    if (tail.missing_newline) tail.whole += "\n";
  } else {
    tail.whole = text.substr(0, last);
    tail.torn = text.substr(last);
  }
  return tail;
}

void repair_tail(const std::string& path, const CsvTail& tail) {
  if (!tail.torn.empty()) {
    const std::string aside = path + ".torn";
    // Appended, so a torn row from an earlier crash is kept too; synced before the cut.
    append_to(aside, tail.torn.back() == '\n' ? tail.torn : tail.torn + "\n", true);
    std::filesystem::resize_file(path, tail.whole.size());
    fmt::print(stderr, "paradnn: {}: its last row was torn (a crash or a full disk); moved it to {}, its point runs again\n",
               path, aside);
  }
  if (tail.missing_newline) {
    append_to(path, "\n", false);
    fmt::print(stderr, "paradnn: {}: added the newline its last row lacked\n", path);
  }
}

}  // namespace paradnn
