// The busy-machine guard: a spinning process on our CPUs makes a measurement busy, and a
// tune run under it never calls a comparison "real"; a quiet interval is not busy.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "runners/harness/load_guard.hpp"

using namespace paradnn;

namespace {

// A forked child in a process group of its own (not "ours" to the guard) that spins on the
// CPUs we run on (it inherits our affinity) until killed, or for at most a minute.
class Spinner {
 public:
  Spinner() {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      alarm(60);
      volatile unsigned long x = 0;
      for (;;) x = x + 1;
    }
    setpgid(pid_, pid_);  // also here: whichever runs first
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ~Spinner() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

 private:
  pid_t pid_ = -1;
};

LoadVerdict over(double seconds) {
  const LoadSample before = sample_load();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return judge_load(before, sample_load());
}

// utime + stime of a process, in clock ticks.
double cpu_jiffies(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  std::istringstream f(line.substr(line.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i < 14; ++i) f >> field;  // state .. cmajflt
  f >> utime >> stime;
  return utime + stime;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// Steal: a share over the limit is busy only once it amounts to a tenth of a second; a few
// 10 ms ticks over a short interval are rounding. Samples made by hand, no other work.
TEST(LoadGuard, StealNeedsATenthOfASecondAsWellAsAShare) {
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto sample = [&](double t, double total_s, double steal_s) {
    LoadSample s;
    s.read = true;
    s.t_s = t;
    s.total_jiffies = static_cast<unsigned long long>(total_s * tick);
    s.steal_jiffies = static_cast<unsigned long long>(steal_s * tick);
    return s;
  };
  // 0.2 s on 2 CPUs, 0.08 s stolen: 20% but 8 ticks.
  LoadVerdict v = judge_load(sample(0, 0, 0), sample(0.2, 0.4, 0.08));
  EXPECT_GT(v.steal_share, 0.05);
  EXPECT_FALSE(v.busy) << v.describe();
  // 2 s on 2 CPUs, 0.4 s stolen: 10% and 40 ticks.
  v = judge_load(sample(0, 0, 0), sample(2, 4, 0.4));
  EXPECT_TRUE(v.busy) << v.describe();
  // Under the share, however long: not busy.
  EXPECT_FALSE(judge_load(sample(0, 0, 0), sample(10, 20, 0.5)).busy);
}

TEST(LoadGuard, SpinnerOnOurCpusIsBusy) {
  const Spinner spin;
  const LoadVerdict v = over(1.0);
  std::cout << "with a spinner: " << v.describe() << "\n";
  EXPECT_TRUE(v.busy) << v.describe();
  EXPECT_GE(v.others_cpus, 0.5) << v.describe();
  EXPECT_NEAR(v.seconds, 1.0, 0.2);
}

TEST(LoadGuard, QuietIntervalIsNotBusy) {
  // Other work on this machine (builds, other tests) is real load: skip where it is there.
  for (int attempt = 0; attempt < 3; ++attempt) {
    const LoadVerdict baseline = over(0.5);
    if (baseline.busy) GTEST_SKIP() << "machine already busy, cannot check a quiet interval: " << baseline.describe();
    const LoadVerdict v = over(0.5);
    std::cout << "quiet: " << v.describe() << "\n";
    if (!v.busy) return;
  }
  FAIL() << "a quiet baseline was followed by a busy interval three times";
}

TEST(LoadGuard, OwnProcessGroupIsNotOtherWork) {
  // A child left in our process group (as the torch workers are) is our measurement's work:
  // its CPU time counts as ours, whatever else the machine runs.
  const LoadVerdict baseline = over(0.5);
  const pid_t child = fork();
  if (child == 0) {
    alarm(10);
    volatile unsigned long x = 0;
    for (;;) x = x + 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const double child_before = cpu_jiffies(child);
  const LoadSample before = sample_load();
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  const LoadSample after = sample_load();
  const double child_after = cpu_jiffies(child);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  const LoadVerdict v = judge_load(before, after);
  std::cout << "own child spinning (" << child_after - child_before << " jiffies): " << v.describe() << "\n";
  EXPECT_GT(child_after, child_before);
  EXPECT_GE(static_cast<double>(after.own_jiffies - before.own_jiffies), child_after - child_before - 2);
  if (baseline.busy) GTEST_SKIP() << "machine already busy, verdict not checked: " << baseline.describe();
  EXPECT_FALSE(v.busy) << v.describe();
}

TEST(LoadGuard, TuneUnderASpinnerNeverSaysReal) {
  const std::string dir = testing::TempDir() + "/load-guard-tune";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/tiny.yaml") << "name: tiny\n"
                                        "run: {warmup_s: 0.01, repetitions: 3, min_time_s: 0.02}\n"
                                        "modes: [infer]\ndtypes: [f32]\n"
                                        "tune: {intra_threads: [1, 2], inter_pools: [1], affinity: [none], holdout_every: 0}\n"
                                        "sweeps:\n  - family: fc\n    axes: {batch: [16]}\n"
                                        "    fixed: {layers: 1, nodes: 32, input: 32, output: 10, branches: 1}\n";
  const std::string cmd = std::string(PARADNN_BINARY) + " tune " + dir + "/tiny.yaml -o " + dir + "/tune.csv --report " +
                          dir + "/tune.md --settings-out " + dir + "/settings.yaml --force -q > " + dir + "/out.txt 2>&1";
  int status = 0;
  {
    const Spinner spin;
    status = std::system(cmd.c_str());
  }
  ASSERT_EQ(status, 0) << slurp(dir + "/out.txt");
  const std::string report = slurp(dir + "/tune.md");
  EXPECT_EQ(report.find("(real)"), std::string::npos) << report;
  EXPECT_NE(report.find("(machine busy)"), std::string::npos) << report;
  const std::string manifest = slurp(dir + "/tune.manifest.yaml");
  EXPECT_NE(manifest.find("measurements:"), std::string::npos) << manifest;
  EXPECT_NE(manifest.find("busy: true"), std::string::npos) << manifest;
  EXPECT_NE(manifest.find("(re-measured)"), std::string::npos) << manifest;
}
