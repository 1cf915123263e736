// Placement never widens what the process inherited: under `taskset -c 1`, with the default
// `--affinity none`, every thread of a paradnn run (OpenMP's team included) stays on CPU 1.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

namespace fs = std::filesystem;

namespace {

// Cpus_allowed_list of each thread of `pid` now (threads that end meanwhile are skipped).
std::set<std::string> allowed_lists(pid_t pid, size_t* threads) {
  std::set<std::string> lists;
  std::error_code ec;
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(t.path() / "status");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("Cpus_allowed_list:", 0) == 0) {
        lists.insert(line.substr(line.find_first_not_of(" \t", 18)));
        ++*threads;
      }
  }
  return lists;
}

}  // namespace

TEST(Affinity, NoneKeepsTheInheritedCpuset) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs two CPUs to pin to the second";
  const std::string dir = testing::TempDir() + "/affinity-" + std::to_string(getpid());
  fs::create_directories(dir);
  const std::string cfg = dir + "/long.yaml", out = dir + "/out.csv";
  // One point long enough to watch its OpenMP team work.
  std::ofstream(cfg) << "name: long\nrun: {warmup_s: 0.5, repetitions: 3, min_time_s: 0.5}\nmodes: [train]\n"
                        "family: fc\nfixed: {layers: 2, nodes: 1024, input: 1024, output: 10, batch: 256}\n";
  const pid_t pid = fork();
  if (pid == 0) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(1, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) _exit(126);  // what `taskset -c 1` does
    execl(PARADNN_BINARY, "paradnn", "run", cfg.c_str(), "-o", out.c_str(), "--force", "-q", "--no-ceilings",
          "--threads", "2", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::set<std::string> seen;
  size_t most_threads = 0;
  int status = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (waitpid(pid, &status, WNOHANG) == 0 && std::chrono::steady_clock::now() < until) {
    // Until exec the child is this test, still on every CPU: watch paradnn only.
    std::string comm;
    std::getline(std::ifstream("/proc/" + std::to_string(pid) + "/comm"), comm);
    if (comm != "paradnn") continue;
    size_t threads = 0;
    for (const std::string& l : allowed_lists(pid, &threads)) seen.insert(l);
    most_threads = std::max(most_threads, threads);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (waitpid(pid, &status, WNOHANG) == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    FAIL() << "the run did not finish in 60 s";
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "paradnn run failed";
  EXPECT_GE(most_threads, 2u) << "never saw the OpenMP team";
  EXPECT_EQ(seen, std::set<std::string>{"1"}) << "a thread was allowed outside CPU 1";
}
