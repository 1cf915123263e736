// Subcommands of the paradnn program. Each parses its own flags and calls the library;
// main.cpp only registers them.
#pragma once
#include <CLI/CLI.hpp>

namespace paradnn::cli {

void add_run(CLI::App& app);
void add_list(CLI::App& app);
void add_tune(CLI::App& app);
void add_env(CLI::App& app);
void add_launch(CLI::App& app);
void add_merge(CLI::App& app);
void add_slurm(CLI::App& app);
void add_roofline(CLI::App& app);
void add_compare(CLI::App& app);
void add_report(CLI::App& app);
void add_scale(CLI::App& app);
void add_lowp(CLI::App& app);
void add_model_error(CLI::App& app);
void add_quantize_search(CLI::App& app);
void add_task_accuracy(CLI::App& app);

}  // namespace paradnn::cli
