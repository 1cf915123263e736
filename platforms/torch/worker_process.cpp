#include "platforms/torch/worker_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "paradnn/error.hpp"

extern char** environ;

namespace paradnn::torch {

WorkerProcess::WorkerProcess(const std::string& python, const std::string& script) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    throw std::runtime_error(std::string("torch worker: socketpair: ") + std::strerror(errno));
  char path[] = "/tmp/paradnn-torch-worker-XXXXXX";
  const int err = mkostemp(path, O_CLOEXEC);  // not inherited by workers started later
  if (err < 0) throw std::runtime_error(std::string("torch worker: mkostemp: ") + std::strerror(errno));
  stderr_path_ = path;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err, 2);
  const char* argv[] = {python.c_str(), "-u", script.c_str(), nullptr};
  const int rc = posix_spawn(&pid_, python.c_str(), &fa, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(sv[1]);
  close(err);
  if (rc != 0) {
    close(sv[0]);
    pid_ = -1;
    throw std::runtime_error("torch worker: cannot start " + python + ": " + std::strerror(rc));
  }
  fd_ = sv[0];
}

WorkerProcess::~WorkerProcess() {
  if (fd_ >= 0) {
    static const char quit[] = "{\"cmd\": \"quit\"}\n";
    (void)::send(fd_, quit, sizeof(quit) - 1, MSG_NOSIGNAL);
    close(fd_);  // EOF on its stdin ends it too
  }
  if (pid_ > 0) {
    int status = 0;
    // A worker stuck in a step gets a second; then it is killed.
    for (int i = 0; i < 100 && waitpid(pid_, &status, WNOHANG) == 0; ++i) usleep(10000);
    if (waitpid(pid_, &status, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  if (!stderr_path_.empty()) unlink(stderr_path_.c_str());
}

std::string WorkerProcess::stderr_tail() const {
  std::ifstream in(stderr_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.size() > 1500 ? "..." + s.substr(s.size() - 1500) : s;
}

void WorkerProcess::send(const nlohmann::json& request) {
  const std::string line = request.dump() + "\n";
  for (size_t done = 0; done < line.size();) {
    const ssize_t n = ::send(fd_, line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error("torch worker died (" + std::string(std::strerror(errno)) + "): " + stderr_tail());
    done += static_cast<size_t>(n);
  }
}

nlohmann::json WorkerProcess::receive() {
  size_t eol;
  while ((eol = buffer_.find('\n')) == std::string::npos) {
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("torch worker ended without a reply: " + stderr_tail());
    buffer_.append(chunk, static_cast<size_t>(n));
  }
  const nlohmann::json reply = nlohmann::json::parse(buffer_.substr(0, eol));
  buffer_.erase(0, eol + 1);
  if (!reply.value("ok", false)) {
    const std::string error = reply.value("error", std::string("no error text"));
    if (reply.value("unsupported", false)) throw Unsupported("torch: " + error);
    throw std::runtime_error("torch worker: " + error);
  }
  return reply;
}

}  // namespace paradnn::torch
