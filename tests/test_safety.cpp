// Nothing lost, nothing escapes: writes the disk refuses stop the run and say what is on
// disk, --resume repairs what a crash leaves, Ctrl-C exits 130, reports stay in their folder.
#include <fcntl.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "analysis/report_paths.hpp"
#include "paradnn/csv.hpp"
#include "paradnn/error.hpp"
#include "runners/drivers/sweep.hpp"

using namespace paradnn;
namespace fs = std::filesystem;

namespace {

// A new, empty folder for one test.
std::string fresh_dir(const std::string& name) {
  const fs::path p = fs::path(testing::TempDir()) / "safety" / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::set<std::string> point_keys(const CsvTable& t) {
  std::set<std::string> keys;
  for (const Row& r : t.rows) keys.insert(r.at("point_key"));
  return keys;
}

// <dir>/sweep.yaml: fc points, nodes x batches x {train, infer}; min_time_s sets their pace.
std::string sweep_config(const std::string& dir, const std::string& nodes = "8, 16",
                         const std::string& batches = "4, 8", double min_time_s = 0.001) {
  return write_text(dir + "/sweep.yaml",
                    fmt::format("name: sweep\nrun: {{warmup_s: 0, repetitions: 2, min_time_s: {}}}\n"
                                "modes: [train, infer]\nfamily: fc\naxes: {{nodes: [{}], batch: [{}]}}\n"
                                "fixed: {{layers: 1, input: 8, output: 4}}\n",
                                min_time_s, nodes, batches));
}

// Runs <dir>/sweep.yaml in this process, without ceilings.
SweepSummary sweep(const std::string& dir, const std::string& out, bool resume = false,
                   const std::string& filter = "") {
  SweepOptions o;
  o.config_path = dir + "/sweep.yaml";
  o.output = out;
  o.resume = resume;
  o.filter = filter;
  o.progress = o.ceilings = false;
  return run_sweep(o);
}

// A results file of the default sweep config (8 points).
std::string tiny_results(const std::string& dir) {
  sweep_config(dir);
  const std::string out = dir + "/tiny.csv";
  EXPECT_EQ(sweep(dir, out).ok, 8);
  return out;
}

// Resumes <dir>/sweep.yaml into `out`: `done` points found there, the rest run, each once.
void expect_resume_completes(const std::string& dir, const std::string& out, int done) {
  const SweepSummary s = sweep(dir, out, true);
  EXPECT_EQ(s.already_done, done);
  EXPECT_EQ(s.ok, 8 - done);
  const CsvTable t = read_results(out);
  EXPECT_EQ(t.rows.size(), 8u);
  EXPECT_EQ(point_keys(t).size(), 8u);
}

// Runs the paradnn program; its stdout and stderr are kept for output().
struct Program {
  // One log per test process: CTest may run this binary's tests at the same time.
  std::string log = testing::TempDir() + "/safety-out-" + std::to_string(getpid()) + ".txt";
  int run(const std::string& args, const std::string& env = "") {
    const std::string cmd = env + " " + PARADNN_BINARY + std::string(" ") + args + " > " + log + " 2>&1";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string output() const { return read_text(log); }
};

// The count in "... N rows are safely on disk", or -1.
long rows_on_disk(const std::string& message) {
  std::smatch m;
  return std::regex_search(message, m, std::regex(R"((\d+) rows? (is|are) safely on disk)")) ? std::stol(m[1]) : -1;
}

// `paradnn run CONFIG -o OUT` in the background, its output into `log`.
pid_t start_run(const std::string& cfg, const std::string& out, const std::string& log) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(fd, STDOUT_FILENO);
  dup2(fd, STDERR_FILENO);
  execl(PARADNN_BINARY, "paradnn", "run", cfg.c_str(), "-o", out.c_str(), "-q", "--no-ceilings",
        static_cast<char*>(nullptr));
  _exit(127);
}

// Waits (at most 12 s) until `path` holds `n` rows.
void wait_for_rows(const std::string& path, size_t n) {
  const auto has_rows = [&] {
    try {
      return fs::exists(path) && read_csv(path).rows.size() >= n;
    } catch (const InputError&) {  // caught mid-row
      return false;
    }
  };
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(12);
  while (std::chrono::steady_clock::now() < until && !has_rows())
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

const char* kNoPython = "PARADNN_PYTHON=/nonexistent/python3";  // data files only: fast, no plots

}  // namespace

TEST(Safety, AnOutputOnDevFullFailsAndSaysNoRowIsOnDisk) {
  if (!fs::is_character_file("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  const std::string dir = fresh_dir("devfull");
  Program p;
  const int rc = p.run("run " + sweep_config(dir) + " -q --no-ceilings --force -o /dev/full");
  std::error_code ignored;
  fs::remove("/dev/full.manifest.yaml", ignored);  // where a run that ignored the failure put its manifest
  EXPECT_EQ(rc, 1) << p.output();
  EXPECT_EQ(rows_on_disk(p.output()), 0) << p.output();
  EXPECT_TRUE(fs::is_character_file("/dev/full"));
}

TEST(Safety, AFullDiskStopsTheSweepAndTheFileHoldsTheRowsItReports) {
  const std::string mnt = fresh_dir("full");
  // A page each for the manifest and the repetitions file (a point's reps follow its row),
  // one for the results: they fill first.
  if (std::system(("mount -t tmpfs -o size=12k tmpfs " + mnt + " 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root and mount)";
  struct Unmount {
    std::string dir;
    ~Unmount() { std::system(("umount " + dir).c_str()); }
  } unmount{mnt};
  const std::string cfg = sweep_config(fresh_dir("full-config"), "8, 16", "4, 8, 16, 32");  // 16 rows: over 8 KiB
  Program p;
  const int rc = p.run("run " + cfg + " -q --no-ceilings -o " + mnt + "/r.csv");
  EXPECT_EQ(rc, 1) << p.output();
  const long reported = rows_on_disk(p.output());
  ASSERT_GE(reported, 0) << p.output();
  const CsvTable t = read_results(mnt + "/r.csv");  // throws on a torn row
  EXPECT_EQ(static_cast<long>(t.rows.size()), reported);
  EXPECT_LT(reported, 16);
  EXPECT_EQ(read_text(mnt + "/r.csv").back(), '\n');
}

TEST(Safety, ResumeMovesATornLastRowAsideAndRunsEveryPointOnce) {
  const std::string dir = fresh_dir("torn");
  const std::string out = tiny_results(dir);
  const std::string text = read_text(out);
  const size_t last = text.rfind('\n', text.size() - 2) + 1;
  const size_t cut = last + (text.size() - last) / 2;
  fs::resize_file(out, cut);  // what a full disk or a power loss leaves
  expect_resume_completes(dir, out, 7);
  EXPECT_EQ(read_text(out + ".torn"), text.substr(last, cut - last) + "\n");
}

TEST(Safety, ResumeAddsAMissingFinalNewlineAndRunsEveryPointOnce) {
  const std::string dir = fresh_dir("newline");
  const std::string out = dir + "/part.csv";
  sweep_config(dir);
  EXPECT_EQ(sweep(dir, out, false, "nodes==8").ok, 4);
  fs::resize_file(out, fs::file_size(out) - 1);
  expect_resume_completes(dir, out, 4);
  EXPECT_FALSE(fs::exists(out + ".torn"));
}

TEST(Safety, CtrlCExitsWith130AfterTheResumeHintAndKeepsTheRows) {
  const std::string dir = fresh_dir("ctrl-c");
  const std::string cfg = sweep_config(dir, "8, 16, 32, 64, 128, 256", "4, 8", 0.05);  // 24 slow-ish points
  const std::string out = dir + "/slow.csv", log = dir + "/log.txt";
  const pid_t pid = start_run(cfg, out, log);
  wait_for_rows(out, 2);
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << read_text(log);
  EXPECT_EQ(WEXITSTATUS(status), 130) << read_text(log);
  EXPECT_NE(read_text(log).find("rerun with --resume"), std::string::npos) << read_text(log);
  const CsvTable t = read_results(out);  // every row whole
  EXPECT_GE(t.rows.size(), 2u);
  EXPECT_LT(t.rows.size(), 24u) << "the sweep finished before Ctrl-C; make the points slower";
  EXPECT_EQ(point_keys(t).size(), t.rows.size());
}

TEST(Safety, MergeAndCompareOntoAFullDiskExitOne) {
  if (!fs::is_character_file("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  const std::string dir = fresh_dir("merge-full");
  const std::string in = tiny_results(dir);
  fs::copy_file(in, dir + "/other.csv");
  Program p;
  EXPECT_EQ(p.run("merge " + in + " --force -o /dev/full"), 1) << p.output();
  EXPECT_EQ(p.run("compare " + in + " " + dir + "/other.csv --force -o /dev/full"), 1) << p.output();
  EXPECT_TRUE(fs::is_character_file("/dev/full"));  // written in place, never replaced by a file
}

TEST(Safety, AReportCannotWriteOutsideItsFolder) {
  const std::string base = fresh_dir("escape");
  std::random_device rd;
  const std::string token = "ESCAPED-" + std::to_string(rd()) + std::to_string(rd());
  CsvTable t = read_results(tiny_results(base));
  for (Row& r : t.rows) r["model_family"] = "x/../../../tmp/" + token;
  write_csv_file(base + "/crafted.csv", t.header, t.rows);
  const std::string dir = base + "/a/b/rep";
  Program p;
  EXPECT_EQ(p.run("report all " + base + "/crafted.csv -o " + dir, kNoPython), 0) << p.output();
  int inside = 0;
  for (const auto& e : fs::recursive_directory_iterator(base)) {
    if (e.path().filename().string().find("ESCAPED") == std::string::npos) continue;
    const std::string rel = e.path().lexically_relative(dir).string();
    EXPECT_FALSE(rel.rfind("..", 0) == 0) << e.path() << " is outside " << dir;
    ++inside;
  }
  EXPECT_GT(inside, 0) << "no heat map was written: the test proves nothing";
  for (const auto& e : fs::directory_iterator("/tmp"))
    EXPECT_EQ(e.path().filename().string().find(token), std::string::npos) << e.path();
}

TEST(Safety, InputsOfTheSameNameInTwoFoldersGetDistinctPrefixes) {
  const std::string base = fresh_dir("same-name");
  const std::string src = tiny_results(base);
  for (const char* sub : {"/a", "/b"}) {
    fs::create_directories(base + sub);
    fs::copy_file(src, base + sub + "/x.csv");
  }
  Program p;
  EXPECT_EQ(p.run("report all " + base + "/a/x.csv " + base + "/b/x.csv -o " + base + "/rep", kNoPython), 0)
      << p.output();
  for (const char* sub : {"/a", "/b"}) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(base + sub)) names.push_back(e.path().filename().string());
    EXPECT_EQ(names, std::vector<std::string>{"x.csv"}) << "a report file landed beside the input " << sub;
  }
  EXPECT_TRUE(fs::exists(base + "/rep/data/x-sensitivity.csv"));
  EXPECT_TRUE(fs::exists(base + "/rep/data/x-2-sensitivity.csv"));
  for (const auto& e : fs::recursive_directory_iterator(base + "/rep"))
    EXPECT_TRUE(!e.is_directory() || e.path().filename() == "data") << e.path() << " is a folder of its own";
}

TEST(Safety, AReportWhosePlotScriptFailsExitsOne) {
  const std::string dir = fresh_dir("plot-fails");
  const std::string in = tiny_results(dir);
  // A python that has matplotlib but whose run of plot.py fails.
  const std::string python =
      write_text(dir + "/python", "#!/bin/sh\ncase \"$1\" in -c) exit 0;; esac\necho boom >&2\nexit 3\n");
  fs::permissions(python, fs::perms::owner_all);
  Program p;
  EXPECT_EQ(p.run("report all " + in + " -o " + dir + "/rep", "PARADNN_PYTHON=" + python), 1) << p.output();
  EXPECT_TRUE(fs::exists(dir + "/rep/index.md"));
  // Without python the data files are the report: a note, not an error.
  EXPECT_EQ(p.run("report all " + in + " -o " + dir + "/rep2", kNoPython), 0) << p.output();
}

TEST(Safety, ReportFileNamesAreSafeAndStayInside) {
  using analysis::path_inside;
  using analysis::safe_name;
  EXPECT_EQ(safe_name("heatmap-fc-train-f32"), "heatmap-fc-train-f32");
  for (const std::string raw : {"", ".hidden", "a/../b", "x/../../../tmp/y", "a b"}) {
    const std::string s = safe_name(raw);
    EXPECT_FALSE(s.empty());
    EXPECT_NE(s.front(), '.');
    EXPECT_EQ(s.find('/'), std::string::npos);
  }
  EXPECT_NE(safe_name("a/b"), safe_name("a_b"));  // replaced characters do not merge names
  EXPECT_THROW(path_inside("rep", "../x.csv"), InputError);
  EXPECT_THROW(path_inside("rep", "/tmp/x.csv"), InputError);
  EXPECT_EQ(analysis::unique_prefixes({"a/x.csv", "b/x.csv", "c/x-2.csv"}),
            (std::vector<std::string>{"x", "x-2", "x-2-2"}));
}
