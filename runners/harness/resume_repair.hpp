// What a crash, a full disk or a power loss can leave at the end of a CSV that a run appends
// to, and its repair for --resume: a last row that lacks its newline gets one; a torn last row
// (too few or too many fields, an unterminated quote) is moved aside to <path>.torn, so its
// point runs again instead of the resume refusing the file.
#pragma once
#include <string>
#include <vector>

namespace paradnn {

struct CsvTail {
  std::string whole;             // the file's text up to its last whole row, ending in a newline
  std::string torn;              // the torn last row; empty where there is none
  bool missing_newline = false;  // the last row is whole but lacks its newline
};

// Reads `path`, a regular file; `columns` are the header the run writes.
CsvTail inspect_tail(const std::string& path, const std::vector<std::string>& columns);

// Makes `path` hold tail.whole: the torn row appended to <path>.torn, the newline added.
// Says what it did on stderr. WriteError where the disk refuses.
void repair_tail(const std::string& path, const CsvTail& tail);

}  // namespace paradnn
