#include "paradnn/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace paradnn {

namespace {

// Writes, syncs and closes; false with errno set on failure (the fd is closed either way).
bool write_and_close(int fd, const std::string& text, bool sync) {
  const bool ok = write_all(fd, text.data(), text.size()) && (!sync || fsync(fd) == 0);
  const int saved = errno;
  const bool closed = close(fd) == 0;
  if (!ok) errno = saved;
  return ok && closed;
}

// After a rename, the folder's entry must reach the disk too; a failure here loses nothing
// that was not already at risk, so it is not an error.
void sync_folder(const std::filesystem::path& dir) {
  const int fd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

}  // namespace

std::string io_error(const std::string& path, const std::string& what) {
  return path + ": " + what + ": " + std::strerror(errno);
}

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  // Write through a symlink to its target, so the link stays a link.
  const fs::path target = fs::is_symlink(path) ? fs::canonical(path) : fs::path(path);
  struct stat st {};
  const bool exists = stat(target.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) {
    const int fd = open(target.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || !write_and_close(fd, text, false)) throw WriteError(io_error(path, "cannot write"));
    return;
  }
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  // The pid keeps concurrent writers (shards probing the platform at once) apart.
  const std::string tmp = target.string() + ".tmp." + std::to_string(getpid());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw WriteError(io_error(path, "cannot create " + tmp));
  if (exists) fchmod(fd, st.st_mode & 07777);  // the replacement keeps the file's permissions
  if (!write_and_close(fd, text, true)) {
    const std::string message = io_error(path, "cannot write");
    unlink(tmp.c_str());
    throw WriteError(message + " (the previous file, if any, is unchanged)");
  }
  if (rename(tmp.c_str(), target.c_str()) != 0) {
    const std::string message = io_error(path, "cannot rename " + tmp + " into place");
    unlink(tmp.c_str());
    throw WriteError(message);
  }
  sync_folder(target.parent_path());
}

}  // namespace paradnn
