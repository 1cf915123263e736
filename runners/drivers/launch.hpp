// `paradnn launch`: starts each instance of a plan as its own process running one command,
// pinned to the instance's cpus before exec (as `python -m torch.backends.xeon.run_cpu
// --ninstances` does), and waits for all of them.
#pragma once
#include <string>
#include <vector>

#include "runners/drivers/instance_plan.hpp"

namespace paradnn {

struct InstanceOutcome {
  int index = 0;
  std::vector<int> cpus;
  int exit_code = 0;  // the command's exit status; 128+signo when a signal ended it
  double wall_s = 0;
};

struct LaunchOutcome {
  std::vector<InstanceOutcome> instances;
  int exit_code = 0;  // the worst (largest) instance exit code
};

// Forks one child per instance: it pins itself with sched_setaffinity, takes this process's
// environment with the plan's variables replaced (plan_variables()) by the instance's, and
// execs `command` (searched on PATH; 127 when not found, 126 when it cannot run or cannot be
// pinned). SIGINT and SIGTERM sent to this process go on to the children, except a
// terminal's Ctrl-C, which already reached them (same process group).
LaunchOutcome launch_instances(const InstancePlans& plan, const std::vector<std::string>& command);

// "instance 0: cpus 0-1, 2 thread(s), places {0},{1}" and its variables; for --dry-run and
// the lines launch prints before it starts.
std::string describe_instance(const InstancePlan& i);
// "instance 0: cpus 0-1, exit 0, 1.234 s"
std::string describe_outcome(const InstanceOutcome& o);

}  // namespace paradnn
