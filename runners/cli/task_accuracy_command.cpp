// `paradnn task-accuracy CONFIG`: f32 vs reduced-precision accuracy of models trained on
// seeded tasks (runners/drivers/task_accuracy.hpp), printed and written as CSV.
#include <fmt/core.h>

#include "runners/cli/commands.hpp"
#include "runners/drivers/task_accuracy.hpp"

namespace paradnn::cli {

void add_task_accuracy(CLI::App& app) {
  auto o = std::make_shared<TaskAccuracyOptions>();
  CLI::App* cmd = app.add_subcommand("task-accuracy", "f32 vs reduced-precision accuracy of FC and CNN models trained on seeded tasks (Gaussian mixture, shape images)");
  cmd->add_option("config", o->config_path, "Sweep YAML with FC or CNN inference points in int8 or bf16, e.g. configs/precision.yaml")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--filter", o->filter, "Only points matching");
  cmd->add_option("--steps", o->steps, "Training steps on the task")->capture_default_str();
  cmd->add_option("--seeds", o->seeds, "Training runs per point, each on another stream of task batches (means, spread, paired difference)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("-o,--output", o->output, "CSV (default results/<config name>.task.csv)");
  cmd->add_flag("--resume", o->resume, "Run only the points the CSV lacks");
  cmd->add_flag("--force", o->force, "Overwrite an existing CSV");
  cmd->callback([o]() {
    const TaskAccuracyRun r = run_task_accuracy(*o);
    fmt::print("{:<24} {:<20} {:<9} {:>5} {:>6} {:>5} {:>18} {:>10} {:>10} {:>18}\n", "model", "task", "dtype", "batch", "steps",
               "seeds", "loss", "f32 acc", "reduced", "delta (+- se)");
    for (const auto& row : r.rows) {
      const std::string se = row.at("accuracy_delta_se");
      fmt::print("{:<24} {:<20} {:<9} {:>5} {:>6} {:>5} {:>8} -> {:<7} {:>10} {:>10} {:>18}\n", row.at("model_name"),
                 row.at("task"), row.at("dtype"), row.at("batch"), row.at("steps"), row.at("seeds"), row.at("first_loss"),
                 row.at("final_loss"), row.at("f32_accuracy"), row.at("reduced_accuracy"),
                 row.at("accuracy_delta") + (se.empty() ? "" : " +- " + se));
    }
    fmt::print("wrote {}\n", r.output);
  });
}

}  // namespace paradnn::cli
