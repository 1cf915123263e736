// The paradnn program: registers the subcommands and maps outcomes to exit codes
// (2 = bad input, 1 = anything else, such as a write the disk refused; 130 = stopped by Ctrl-C).
#include <fmt/core.h>

#include "paradnn/error.hpp"
#include "runners/cli/commands.hpp"
#include "runners/harness/host_facts.hpp"
#include "runners/harness/point_loop.hpp"

int main(int argc, char** argv) {
  CLI::App app{"paradnn: parameterized deep-learning benchmarks (FC, CNN, RNN) on CPU, GPU and TPU models"};
  app.require_subcommand(1);
  app.set_version_flag("--version",
                       fmt::format("paradnn {} (commit {})", paradnn::paradnn_version(), paradnn::paradnn_commit()));
  paradnn::cli::add_run(app);
  paradnn::cli::add_list(app);
  paradnn::cli::add_tune(app);
  paradnn::cli::add_env(app);
  paradnn::cli::add_launch(app);
  paradnn::cli::add_merge(app);
  paradnn::cli::add_slurm(app);
  paradnn::cli::add_roofline(app);
  paradnn::cli::add_compare(app);
  paradnn::cli::add_report(app);
  paradnn::cli::add_scale(app);
  paradnn::cli::add_lowp(app);
  paradnn::cli::add_model_error(app);
  paradnn::cli::add_quantize_search(app);
  paradnn::cli::add_task_accuracy(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const paradnn::InputError& e) {
    fmt::print(stderr, "paradnn: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "paradnn: error: {}\n", e.what());
    return 1;
  }
  if (paradnn::a_run_was_interrupted()) {  // the rows so far are on disk; the rest can follow
    fmt::print("interrupted: rerun with --resume to finish\n");
    return 130;
  }
  return 0;
}
