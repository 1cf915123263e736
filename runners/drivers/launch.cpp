#include "runners/drivers/launch.hpp"

#include <fmt/core.h>
#include <fmt/format.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace paradnn {

namespace {

using Steady = std::chrono::steady_clock;

// The children the signal handler forwards to; a slot is zeroed before its pid is reaped,
// so a signal never reaches a reused pid.
pid_t* g_children = nullptr;
volatile sig_atomic_t g_started = 0;

void forward(int sig, siginfo_t* info, void*) {
  if (info != nullptr && info->si_code == SI_KERNEL) return;  // a terminal's Ctrl-C: the children got it too
  for (sig_atomic_t i = 0; i < g_started; ++i)
    if (g_children[i] > 0) kill(g_children[i], sig);
}

// This process's environment without the plan's variables, then the instance's.
std::vector<std::string> environment_for(const InstancePlan& inst) {
  std::vector<std::string> env;
  const auto& managed = plan_variables();
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    if (std::find(managed.begin(), managed.end(), name) == managed.end()) env.push_back(entry);
  }
  for (const auto& [name, value] : inst.env) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void say(const std::string& text) { (void)!write(STDERR_FILENO, text.data(), text.size()); }

// In the child, between fork and exec: a clean signal state, the instance's cpus, the command.
[[noreturn]] void become_instance(const InstancePlan& inst, const sigset_t& old_mask, char* const argv[],
                                  char* const envp[], const std::string& name) {
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : inst.cpus) CPU_SET(c, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    say(fmt::format("paradnn launch: instance {}: cannot pin to cpus {}: {}\n", inst.index, cpu_list(inst.cpus),
                    std::strerror(errno)));
    _exit(126);  // an unpinned instance would not reproduce the plan
  }
  execvpe(argv[0], argv, envp);
  const int err = errno;
  say(fmt::format("paradnn launch: instance {}: cannot run '{}': {}\n", inst.index, name, std::strerror(err)));
  _exit(err == ENOENT ? 127 : 126);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

std::string describe_instance(const InstancePlan& i) {
  std::vector<std::string> vars;
  for (const auto& [name, value] : i.env) vars.push_back(name + "=" + value);
  return fmt::format("instance {}: cpus {}, {} thread(s){}: {}", i.index, cpu_list(i.cpus), i.threads,
                     i.places.empty() ? ", threads unbound" : ", places " + i.places, fmt::join(vars, " "));
}

std::string describe_outcome(const InstanceOutcome& o) {
  return fmt::format("instance {}: cpus {}, exit {}{}, {:.3f} s", o.index, cpu_list(o.cpus), o.exit_code,
                     o.exit_code > 128 ? fmt::format(" (signal {})", o.exit_code - 128) : "", o.wall_s);
}

LaunchOutcome launch_instances(const InstancePlans& plan, const std::vector<std::string>& command) {
  if (command.empty()) throw std::invalid_argument("launch: no command to run");
  const size_t n = plan.instances.size();
  std::vector<pid_t> children(n, 0);
  std::vector<Steady::time_point> began(n);
  LaunchOutcome out;
  out.instances.resize(n);

  // Everything the children need is built before fork: the child only pins and execs.
  std::vector<std::string> args(command);
  std::vector<char*> argv = pointers(args);
  std::vector<std::vector<std::string>> envs;
  std::vector<std::vector<char*>> envps;
  for (const InstancePlan& inst : plan.instances) envs.push_back(environment_for(inst));
  for (auto& e : envs) envps.push_back(pointers(e));

  g_children = children.data();
  g_started = 0;
  struct sigaction act {}, old_int {}, old_term {};
  act.sa_sigaction = forward;
  act.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&act.sa_mask);
  sigaction(SIGINT, &act, &old_int);
  sigaction(SIGTERM, &act, &old_term);
  // Blocked while forking, so no child runs the handler before it resets it.
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &old_mask);
  size_t running = 0;
  for (size_t i = 0; i < n; ++i) {
    const InstancePlan& inst = plan.instances[i];
    out.instances[i].index = inst.index;
    out.instances[i].cpus = inst.cpus;
    began[i] = Steady::now();
    const pid_t pid = fork();
    if (pid == 0) become_instance(inst, old_mask, argv.data(), envps[i].data(), command.front());
    if (pid < 0) {
      say(fmt::format("paradnn launch: instance {}: fork failed: {}\n", inst.index, std::strerror(errno)));
      out.instances[i].exit_code = 126;
      continue;
    }
    children[i] = pid;
    g_started = static_cast<sig_atomic_t>(i + 1);
    ++running;
  }
  g_started = static_cast<sig_atomic_t>(n);
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);

  while (running > 0) {
    siginfo_t info{};
    if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) != 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: nothing left to wait for
    }
    const auto it = std::find(children.begin(), children.end(), info.si_pid);
    int status = 0;
    if (it == children.end()) {  // not ours (cannot happen in paradnn, which starts no others)
      waitpid(info.si_pid, &status, 0);
      continue;
    }
    const size_t i = static_cast<size_t>(it - children.begin());
    const pid_t pid = *it;
    *it = 0;  // no more signals to this pid before it is reaped and may be reused
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    out.instances[i].exit_code = exit_code_of(status);
    out.instances[i].wall_s = std::chrono::duration<double>(Steady::now() - began[i]).count();
    --running;
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  g_started = 0;
  g_children = nullptr;
  for (const InstanceOutcome& o : out.instances) out.exit_code = std::max(out.exit_code, o.exit_code);
  return out;
}

}  // namespace paradnn
