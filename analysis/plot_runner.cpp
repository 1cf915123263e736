#include "analysis/plot_runner.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/core.h>

#include "paradnn/atomic_file.hpp"
#include "paradnn/error.hpp"

extern char** environ;

namespace paradnn::analysis {

namespace {

// Runs argv[0] with arguments (no shell); `quiet` sends its output to /dev/null. Returns the
// exit status, or -1 where it could not start or did not exit normally.
int run(const std::vector<std::string>& args, bool quiet) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = 0;
  const int err = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace

std::string plot_script_path() {
  const std::string in_source = std::string(PARADNN_SOURCE_DIR) + "/analysis/plot.py";
  const std::string installed = std::string(PARADNN_DATA_DIR) + "/plot.py";
  return env_or("PARADNN_PLOT_SCRIPT", std::filesystem::exists(in_source) ? in_source : installed);
}

std::string python_path() { return env_or("PARADNN_PYTHON", "/usr/bin/python3"); }

std::string plotting_unavailable() {
  const std::string py = python_path(), script = plot_script_path();
  if (access(py.c_str(), X_OK) != 0) return py + " not found: install python3 and python3-matplotlib (apt-get)";
  if (run({py, "-c", "import matplotlib"}, true) != 0)
    return py + " cannot import matplotlib: install python3-matplotlib (apt-get)";
  if (!std::filesystem::exists(script)) return "plot script " + script + " not found (set PARADNN_PLOT_SCRIPT)";
  return "";
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') out += std::string("\\") + ch;
    else if (static_cast<unsigned char>(ch) < 0x20) out += fmt::format("\\u{:04x}", static_cast<int>(ch));
    else out += ch;
  }
  return out + "\"";
}

PlotOutcome draw_plots(const std::vector<PlotJob>& jobs, const std::string& jobs_path) {
  std::ostringstream out;
  out << "[\n";
  for (size_t i = 0; i < jobs.size(); ++i) {
    const PlotJob& j = jobs[i];
    out << "  {\"kind\": " << json_string(j.kind) << ", \"output\": " << json_string(j.output)
        << ", \"title\": " << json_string(j.title) << ", \"data\": [";
    for (size_t d = 0; d < j.data.size(); ++d) out << (d ? ", " : "") << json_string(j.data[d]);
    out << "], \"options\": {";
    bool first = true;
    for (const auto& [k, v] : j.options) {
      out << (first ? "" : ", ") << json_string(k) << ": " << json_string(v);
      first = false;
    }
    out << "}}" << (i + 1 < jobs.size() ? "," : "") << "\n";
  }
  out << "]\n";
  write_file_atomically(jobs_path, out.str());
  if (const std::string why = plotting_unavailable(); !why.empty())
    return {false, false, "plots not drawn: " + why + "; the data files and " + jobs_path + " are written"};
  const int rc = run({python_path(), plot_script_path(), jobs_path}, false);
  if (rc != 0)
    return {false, true, fmt::format("some plots not drawn: {} {} {} exited with {} (its messages above say which)",
                                     python_path(), plot_script_path(), jobs_path, rc)};
  return {true, false, ""};
}

}  // namespace paradnn::analysis
