// `paradnn task-accuracy CONFIG`: reduced precision judged on a trained model. Each FC and
// CNN inference point of the config whose dtype is not f32 is trained in f32 on its seeded
// task (Gaussian mixture for FC, shape images for CNN; platforms/cpu/learnable_task.hpp), its reduced-precision ops are
// calibrated on task batches with the config's policy and calibration method, and the
// accuracy of both models on held-out task batches is printed and written as CSV.
#include <fmt/core.h>

#include <fstream>

#include "models/catalog.hpp"
#include "paradnn/config.hpp"
#include "paradnn/grid.hpp"
#include "platforms/cpu/learnable_task.hpp"
#include "runners/commands.hpp"
#include "runners/precision_point.hpp"
#include "runners/sweep.hpp"

namespace paradnn::cli {

void add_task_accuracy(CLI::App& app) {
  struct Opts {
    std::string config, filter, output;
    int steps = 300;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("task-accuracy", "f32 vs reduced-precision accuracy of FC and CNN models trained on seeded tasks (Gaussian mixture, shape images)");
  cmd->add_option("config", o->config, "Sweep YAML with FC or CNN inference points in int8 or bf16, e.g. configs/precision.yaml")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--filter", o->filter, "Only points matching");
  cmd->add_option("--steps", o->steps, "f32 training steps on the task")->capture_default_str();
  cmd->add_option("-o,--output", o->output, "CSV (default results/<config name>.task.csv)");
  cmd->callback([o]() {
    const Config c = load_config(o->config, models::catalog());
    const std::string out = o->output.empty() ? "results/" + c.name + ".task.csv" : o->output;
    std::ofstream csv(out);
    csv << "model_name,task,dtype,batch,steps,first_loss,final_loss,f32_accuracy,reduced_accuracy,calibration\n";
    fmt::print("{:<22} {:<20} {:<5} {:>5} {:>6} {:>18} {:>10} {:>10}\n", "model", "task", "dtype", "batch", "steps", "loss", "f32 acc", "reduced");
    for (const GridEntry& e : select_points(c, o->filter, "")) {
      const Point& p = e.point;
      if ((p.family != "fc" && p.family != "cnn") || p.mode != Mode::infer || p.dtype == DType::f32) continue;
      Graph g = build_graph(p, models::catalog());
      apply_precision_policy(g, c.quant);
      const cpu::TaskAccuracy a = cpu::task_accuracy(g, c.quant.calibration, o->steps);
      fmt::print("{:<22} {:<20} {:<5} {:>5} {:>6} {:>8.3f} -> {:<7.3f} {:>10.3f} {:>10.3f}\n", g.name, a.task, to_string(p.dtype), p.batch, a.steps,
                 a.first_loss, a.final_loss, a.f32_accuracy, a.reduced_accuracy);
      csv << fmt::format("{},{},{},{},{},{},{},{},{},{}\n", g.name, a.task, to_string(p.dtype), p.batch, a.steps, a.first_loss, a.final_loss,
                         a.f32_accuracy, a.reduced_accuracy, c.quant.calibration.describe());
    }
    fmt::print("wrote {}\n", out);
  });
}

}  // namespace paradnn::cli
