// Recommended settings that hold when applied: every instance of a rule gets its own cpus
// inside the inherited cpuset, `paradnn launch` runs them there and reports the worst exit
// status, and the lines `paradnn env` prints pin two shells' children apart and bind their
// OpenMP threads to the printed places.
//
// Built twice: as the test, and with PARADNN_OMP_PROBE as a small OpenMP program that
// prints where its threads run (libgomp reads OMP_PLACES as it loads).
#ifdef PARADNN_OMP_PROBE
#include <omp.h>
#include <sched.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

int main() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Cpus_allowed_list:", 0) == 0) std::printf("allowed %s\n", line.substr(19).c_str());
  std::printf("places %d\n", omp_get_num_places());
#pragma omp parallel
  {
    const int place = omp_get_place_num();
    std::vector<int> procs(place >= 0 ? static_cast<size_t>(omp_get_place_num_procs(place)) : 0);
    if (place >= 0) omp_get_place_proc_ids(place, procs.data());
    std::string ids;
    for (int p : procs) ids += (ids.empty() ? "" : ",") + std::to_string(p);
#pragma omp critical
    std::printf("thread %d place %d cpu %d procs %s\n", omp_get_thread_num(), place, sched_getcpu(),
                ids.empty() ? "-" : ids.c_str());
  }
  return 0;
}
#else
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runners/drivers/instance_plan.hpp"

using namespace paradnn;
namespace fs = std::filesystem;

namespace {

std::string path(const std::string& name) {  // one set per test process
  return testing::TempDir() + "/launch-" + std::to_string(getpid()) + "-" + name;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A settings file whose one rule answers every family and batch.
std::string settings_file(const std::string& name, int threads, int pools, const std::string& affinity) {
  const std::string p = path(name);
  std::ofstream(p) << "platform: test\nrules:\n  - family: '*'\n    intra_threads: " << threads
                   << "\n    inter_pools: " << pools << "\n    affinity: " << affinity << "\n";
  return p;
}

struct Outcome {
  int code = -1;
  std::string out, err;
};

// Runs argv with stdout and stderr to files; pinned to `cpu` first when >= 0 (as taskset -c).
Outcome run(const std::vector<std::string>& argv, int cpu = -1) {
  const std::string out = path("stdout"), err = path("stderr");
  const pid_t pid = fork();
  if (pid == 0) {
    if (cpu >= 0) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      if (sched_setaffinity(0, sizeof one, &one) != 0) _exit(125);
    }
    const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(out), slurp(err)};
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

// "0-2,5" -> {0,1,2,5}
std::set<int> parse_list(const std::string& list) {
  std::set<int> out;
  std::stringstream in(list);
  for (std::string part; std::getline(in, part, ',');) {
    if (part.empty()) continue;
    const size_t dash = part.find('-');
    const int lo = std::stoi(part.substr(0, dash)), hi = dash == std::string::npos ? lo : std::stoi(part.substr(dash + 1));
    for (int c = lo; c <= hi; ++c) out.insert(c);
  }
  return out;
}

bool disjoint(const std::set<int>& a, const std::set<int>& b) {
  return std::none_of(a.begin(), a.end(), [&](int c) { return b.count(c) > 0; });
}

std::string env_value(const InstancePlan& i, const std::string& name) {
  for (const auto& [n, v] : i.env)
    if (n == name) return v;
  return "";
}

}  // namespace

TEST(InstancePlan, InstancesGetDisjointCpusInsideTheInheritedSet) {
  const std::vector<int> inherited = allowed_cpus();
  if (inherited.size() < 2) GTEST_SKIP() << "needs 2 allowed cpus, this process has " << inherited.size();
  const std::set<int> allowed(inherited.begin(), inherited.end());
  for (const Affinity a : {Affinity::close, Affinity::spread, Affinity::none})
    for (const int threads : {1, 2}) {
      const InstancePlans plan = plan_instances({threads, 2, a}, inherited_cores());
      ASSERT_EQ(plan.instances.size(), 2u);
      EXPECT_TRUE(plan.disjoint);
      std::set<int> seen;
      for (const InstancePlan& i : plan.instances) {
        const std::set<int> mine(i.cpus.begin(), i.cpus.end());
        ASSERT_FALSE(mine.empty());
        EXPECT_TRUE(std::includes(allowed.begin(), allowed.end(), mine.begin(), mine.end()))
            << cpu_list(i.cpus) << " leaves the inherited set";
        EXPECT_TRUE(disjoint(seen, mine)) << "instance " << i.index << " shares a cpu: " << cpu_list(i.cpus);
        seen.insert(mine.begin(), mine.end());
        EXPECT_EQ(env_value(i, "OMP_NUM_THREADS"), std::to_string(threads));
        EXPECT_EQ(env_value(i, "PARADNN_INSTANCE"), std::to_string(i.index));
        if (a != Affinity::none) EXPECT_EQ(env_value(i, "OMP_PLACES"), i.places);  // explicit, not "cores"
      }
    }
}

TEST(InstancePlan, WholeCoresFirstThenHardwareThreads) {
  // 4 cores of 2 hardware threads, numbered as Linux numbers Intel's: siblings 4 apart.
  const CpuCores machine{{{0, 4}, {1, 5}, {2, 6}, {3, 7}}};
  const InstancePlans cores = plan_instances({2, 2, Affinity::close}, machine);
  EXPECT_TRUE(cores.notes.empty());
  EXPECT_EQ(cores.instances[0].places, "{0,4},{1,5}");
  EXPECT_EQ(cpu_list(cores.instances[1].cpus), "2-3,6-7");
  EXPECT_EQ(env_value(cores.instances[1], "KMP_AFFINITY"), "granularity=core,explicit,proclist=[2,3]");
  // spread spaces the instances over the machine, as the in-process pools were.
  EXPECT_EQ(plan_instances({1, 2, Affinity::spread}, machine).instances[1].places, "{2,6}");
  // 2 x 4 threads on 4 cores: hardware threads, the first two threads on distinct cores.
  const InstancePlans smt = plan_instances({4, 2, Affinity::close}, machine);
  ASSERT_EQ(smt.notes.size(), 1u);
  EXPECT_TRUE(smt.disjoint);
  EXPECT_FALSE(smt.oversubscribed);
  EXPECT_EQ(smt.instances[0].places, "{0},{1},{4},{5}");
  EXPECT_EQ(env_value(smt.instances[0], "KMP_AFFINITY"), "granularity=fine,explicit,proclist=[0,1,4,5]");
  // One instance on every core: OMP_PLACES=cores says the same and survives another cpuset.
  EXPECT_EQ(env_value(plan_instances({4, 1, Affinity::close}, machine).instances[0], "OMP_PLACES"), "cores");
}

TEST(InstancePlan, OneCpuForTwoInstancesIsSharedAndSaidSo) {
  const int cpu = allowed_cpus().front();
  const InstancePlans plan = plan_instances({1, 2, Affinity::close}, cores_of({cpu}));
  EXPECT_FALSE(plan.disjoint);
  ASSERT_EQ(plan.notes.size(), 1u);
  EXPECT_NE(plan.notes[0].find("share"), std::string::npos) << plan.notes[0];
  EXPECT_NE(plan.notes[0].find("--instances 1"), std::string::npos) << plan.notes[0];
  for (const InstancePlan& i : plan.instances) {
    EXPECT_EQ(i.cpus, std::vector<int>{cpu});
    EXPECT_EQ(env_value(i, "OMP_WAIT_POLICY"), "PASSIVE");  // no spinning on a shared cpu
  }
  // The same from the binary, run under a one-cpu cpuset (what taskset -c does).
  const Outcome r = run({PARADNN_BINARY, "launch", "--dry-run", "--instances", "2", "--threads", "1", "--", "true"}, cpu);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("note: 2 instance(s) need at least 2 cpus but 1 are allowed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("instance 1: cpus " + std::to_string(cpu)), std::string::npos) << r.out;
}

TEST(Launch, TwoInstancesRunOnDisjointCpus) {
  if (allowed_cpus().size() < 2) GTEST_SKIP() << "needs 2 allowed cpus to run two instances apart";
  const std::string settings = settings_file("two.yaml", 1, 2, "close"), dir = path("two-out");
  fs::create_directories(dir);
  // Each instance records the cpus the kernel lets it use and the variables it was given.
  const std::string script =
      "printf '%s|%s|%s|%s\\n' \"$PARADNN_INSTANCE\" \"$(grep Cpus_allowed_list /proc/self/status | cut -f2)\" "
      "\"$OMP_PLACES\" \"$PARADNN_INSTANCES\" > " + dir + "/inst-$PARADNN_INSTANCE";
  const Outcome r = run({PARADNN_BINARY, "launch", "--settings", settings, "--family", "fc", "--batch", "16", "--", "sh",
                         "-c", script});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::set<int>> cpus;
  for (int i = 0; i < 2; ++i) {
    std::string line = slurp(dir + "/inst-" + std::to_string(i));
    ASSERT_FALSE(line.empty()) << "instance " << i << " did not run\n" << r.err;
    line.pop_back();
    std::vector<std::string> f;
    std::stringstream in(line);
    for (std::string x; std::getline(in, x, '|');) f.push_back(x);
    ASSERT_EQ(f.size(), 4u) << line;
    EXPECT_EQ(f[0], std::to_string(i));
    EXPECT_EQ(f[3], "2");
    EXPECT_EQ(f[2], "{" + f[1] + "}") << "OMP_PLACES is the instance's own cpu";
    cpus.push_back(parse_list(f[1]));
    std::cout << "instance " << i << ": Cpus_allowed_list " << f[1] << ", OMP_PLACES " << f[2] << "\n";
  }
  EXPECT_EQ(cpus[0].size(), 1u);
  EXPECT_TRUE(disjoint(cpus[0], cpus[1]));
  EXPECT_NE(r.err.find("instance 0: cpus"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(", exit 0, "), std::string::npos) << r.err;
}

TEST(Launch, TheWorstInstanceExitIsLaunchs) {
  const std::vector<std::string> base{PARADNN_BINARY, "launch", "--instances", "2", "--threads", "1", "--", "sh", "-c"};
  auto with = [&](const std::string& script) {
    std::vector<std::string> argv(base);
    argv.push_back(script);
    return run(argv);
  };
  const Outcome three = with("[ \"$PARADNN_INSTANCE\" = 1 ] && exit 3; exit 0");
  EXPECT_EQ(three.code, 3) << three.err;
  EXPECT_NE(three.err.find("instance 1: cpus"), std::string::npos) << three.err;
  EXPECT_NE(three.err.find("exit 3"), std::string::npos) << three.err;
  const Outcome killed = with("[ \"$PARADNN_INSTANCE\" = 0 ] && kill -KILL $$; exit 3");
  EXPECT_EQ(killed.code, 128 + SIGKILL) << killed.err;
  EXPECT_NE(killed.err.find("(signal 9)"), std::string::npos) << killed.err;
  EXPECT_EQ(with("exit 0").code, 0);
  const Outcome missing = run({PARADNN_BINARY, "launch", "--instances", "1", "--threads", "1", "--", "/nonexistent/cmd"});
  EXPECT_EQ(missing.code, 127) << missing.err;
}

TEST(Launch, SigtermReachesEveryInstance) {
  const std::string dir = path("term-out");
  fs::create_directories(dir);
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    const std::string script = "echo > " + dir + "/started-$PARADNN_INSTANCE; exec sleep 30";
    execl(PARADNN_BINARY, "paradnn", "launch", "--instances", "2", "--threads", "1", "--", "sh", "-c", script.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto start = std::chrono::steady_clock::now();
  while (!(fs::exists(dir + "/started-0") && fs::exists(dir + "/started-1")) &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(20))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // past the exec into sleep
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(WIFEXITED(status)) << "launch itself died instead of reporting";
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  EXPECT_LT(waited, 20) << "an instance outlived the SIGTERM";
}

TEST(Launch, UnknownFamilyIsBadInputWithTheList) {
  const Outcome r = run({PARADNN_BINARY, "launch", "--settings", settings_file("fam.yaml", 1, 2, "close"), "--family",
                         "fcc", "--", "true"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("fc, cnn, rnn"), std::string::npos) << r.err;
}

TEST(Env, PrintedLinesPinTwoShellsApartAndBindTheirThreads) {
  if (allowed_cpus().size() < 2) GTEST_SKIP() << "needs 2 allowed cpus to pin two instances apart";
  const std::string settings = settings_file("env.yaml", 1, 2, "close");
  const Outcome env = run({PARADNN_BINARY, "env", settings, "--family", "fc", "--batch", "16"});
  ASSERT_EQ(env.code, 0) << env.err;
  std::cout << env.out;
  const std::string script = path("env.sh"), o0 = path("probe0"), o1 = path("probe1");
  std::ofstream(script) << env.out;
  // What a user does: source the printed lines, start each instance with its own function.
  const Outcome sh = run({"sh", "-c", ". " + script + "; paradnn_instance_0 " + OMP_PROBE + " > " + o0 +
                                          " & paradnn_instance_1 " + OMP_PROBE + " > " + o1 + " & wait"});
  ASSERT_EQ(sh.code, 0) << sh.err;
  std::vector<std::set<int>> allowed;
  for (const std::string& out : {o0, o1}) {
    const std::string text = slurp(out);
    std::cout << text;
    std::stringstream in(text);
    std::set<int> mine;
    int threads = 0;
    for (std::string line; std::getline(in, line);) {
      std::stringstream l(line);
      std::string word;
      l >> word;
      if (word == "allowed") {
        std::string list;
        l >> list;
        mine = parse_list(list);
      } else if (word == "places") {
        int n = 0;
        l >> n;
        EXPECT_EQ(n, 1) << "OMP_PLACES was not one explicit place: " << text;
      } else if (word == "thread") {
        int t, place, cpu;
        std::string w1, w2, w3, procs;
        l >> t >> w1 >> place >> w2 >> cpu >> w3 >> procs;
        ++threads;
        EXPECT_EQ(place, 0) << "thread not bound to its place: " << line;
        EXPECT_EQ(mine, parse_list(procs)) << "the place is not the instance's cpus: " << line;
        EXPECT_EQ(mine.count(cpu), 1u) << "thread ran outside its cpus: " << line;
      }
    }
    EXPECT_EQ(threads, 1) << text;
    EXPECT_EQ(mine.size(), 1u) << text;
    allowed.push_back(mine);
  }
  EXPECT_TRUE(disjoint(allowed[0], allowed[1]));
}

TEST(Env, OneInstanceExportsBindTheTeamToDistinctCores) {
  if (allowed_cpus().size() < 2) GTEST_SKIP() << "needs 2 allowed cpus for a team of two";
  const std::string settings = settings_file("env1.yaml", 2, 1, "close");
  const Outcome env = run({PARADNN_BINARY, "env", settings});
  ASSERT_EQ(env.code, 0) << env.err;
  EXPECT_NE(env.out.find("export OMP_NUM_THREADS=2\n"), std::string::npos) << env.out;
  const std::string script = path("env1.sh"), out = path("probe-team");
  std::ofstream(script) << env.out;
  // eval in this shell, as before: the exports alone bind the team.
  const Outcome sh = run({"sh", "-c", ". " + script + "; " + OMP_PROBE + " > " + out});
  ASSERT_EQ(sh.code, 0) << sh.err;
  const std::string text = slurp(out);
  std::set<int> places, cpus;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    int t, place, cpu;
    if (std::sscanf(line.c_str(), "thread %d place %d cpu %d", &t, &place, &cpu) == 3) {
      places.insert(place);
      cpus.insert(cpu);
    }
  }
  EXPECT_EQ(places, (std::set<int>{0, 1})) << text;
  EXPECT_EQ(cpus.size(), 2u) << "two threads on one cpu: " << text;
}
#endif
