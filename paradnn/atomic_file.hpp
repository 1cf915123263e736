// Checked writes to disk. A file written whole goes to a temporary file in the same folder,
// is synced and renamed into place, so a reader never sees half of it and a failed write
// leaves the old file as it was. Every failure throws WriteError naming the file.
#pragma once
#include <stdexcept>
#include <string>

namespace paradnn {

// The disk refused a write (full, read-only, I/O error). The CLI maps it to exit code 1.
class WriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Replaces `path` with `text` atomically, creating its folder. A target that is not a regular
// file (a device such as /dev/null, a pipe) is written in place: renaming over it would
// replace the device.
void write_file_atomically(const std::string& path, const std::string& text);

// Writes all of `size` bytes to `fd` (retrying short writes); false with errno set on failure.
bool write_all(int fd, const char* data, size_t size);

// "<path>: <what>: <strerror(errno)>", for a WriteError.
std::string io_error(const std::string& path, const std::string& what);

}  // namespace paradnn
