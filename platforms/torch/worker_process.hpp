// One torch worker: a /usr/bin/python3 child running torch_worker.py, spoken to over a
// socket pair (a dead worker is an error, not SIGPIPE), one JSON line per request and
// reply. Its stderr goes to a temporary file whose tail errors quote.
#pragma once
#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>

namespace paradnn::torch {

class WorkerProcess {
 public:
  // Starts `python script`; throws std::runtime_error where it cannot.
  WorkerProcess(const std::string& python, const std::string& script);
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Sends one request; with `send`/`receive` apart, several workers can work at once.
  void send(const nlohmann::json& request);
  // The reply to the last request sent. Throws Unsupported for {"unsupported": true},
  // std::runtime_error for another error or a worker that died (with its stderr's tail).
  nlohmann::json receive();
  nlohmann::json request(const nlohmann::json& r) {
    send(r);
    return receive();
  }
  pid_t pid() const { return pid_; }

 private:
  std::string stderr_tail() const;
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string stderr_path_, buffer_;
};

}  // namespace paradnn::torch
