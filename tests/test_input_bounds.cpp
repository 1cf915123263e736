// Input that once crashed paradnn or asked for unbounded work: each is refused up front,
// quickly, with a message and exit code 2 (or parses), and nothing is written.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/catalog.hpp"
#include "paradnn/config.hpp"
#include "paradnn/error.hpp"
#include "paradnn/grid.hpp"
#include "platforms/cpu/probes/cpu_platform.hpp"
#include "platforms/cpu/threading/pool_executor.hpp"
#include "runners/drivers/settings_file.hpp"
#include "runners/drivers/slurm_script.hpp"

using namespace paradnn;
namespace fs = std::filesystem;

namespace {

std::string dir() {
  const std::string d = testing::TempDir() + "/input_bounds";
  fs::create_directories(d);
  return d;
}

std::string write(const std::string& name, const std::string& text) {
  const std::string path = dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

struct Outcome {
  int code = 0;        // exit code, or 128 + signal
  std::string output;  // stdout and stderr
  double seconds = 0;
  long maxrss_kb = 0;
};

// Runs the paradnn binary in a child; wait4 gives the child's own peak memory.
Outcome paradnn_cli(const std::vector<std::string>& args) {
  const std::string out = dir() + "/cli-" + std::to_string(getpid()) + ".txt";  // one per test process
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv{const_cast<char*>("paradnn")};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (!freopen(out.c_str(), "w", stdout) || dup2(fileno(stdout), 2) < 0) _exit(126);
    execv(PARADNN_BINARY, argv.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  Outcome o;
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  o.maxrss_kb = usage.ru_maxrss;
  std::ifstream in(out);
  std::stringstream s;
  s << in.rdbuf();
  o.output = s.str();
  return o;
}

// The binary's own peak refusing the smallest bad input: what loading it costs (the libraries
// it maps, the CUDA ones where that backend is built), measured once.
long baseline_rss_kb() {
  static const long kb = paradnn_cli({"list", "/nonexistent.yaml"}).maxrss_kb;
  return kb;
}

// Refused as bad input, fast and small, with `says` in the message: at most 64 MiB above
// what the binary needs to refuse anything.
void expect_refused(const Outcome& o, const std::string& says) {
  EXPECT_EQ(o.code, 2) << o.output;
  EXPECT_NE(o.output.find(says), std::string::npos) << o.output;
  EXPECT_LT(o.seconds, 2.0) << "took " << o.seconds << " s";
  EXPECT_LT(o.maxrss_kb - baseline_rss_kb(), 64 * 1024) << "peak " << o.maxrss_kb << " KiB, baseline " << baseline_rss_kb() << " KiB";
}

std::string error_of(const std::string& yaml) {
  try {
    expand(parse_config(yaml, "t.yaml", models::catalog()), models::catalog());
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

// Each yaml is refused with a message containing its `says`.
void expect_errors(const std::vector<std::pair<std::string, std::string>>& cases) {
  for (const auto& [yaml, says] : cases) EXPECT_NE(error_of(yaml).find(says), std::string::npos) << yaml << "\n" << error_of(yaml);
}

const char* kFc = "name: t\nmodes: [infer]\nfamily: fc\nfixed: {input: 8, output: 4}\n";

}  // namespace

TEST(InputBounds, AVeryLongNumberIsAnErrorNotACrash) {
  const std::string cfg = write("long.yaml", std::string(kFc) + "axes: {batch: [1], nodes: [" + std::string(40000, '7') + "]}\n");
  expect_refused(paradnn_cli({"list", cfg}), "nodes");
}

TEST(InputBounds, AVeryLongFilterParsesOrIsRefused) {
  const std::string cfg =
      write("where.yaml", std::string(kFc) + "axes: {batch: [1], nodes: [8]}\nwhere: [\"nodes <= " + std::string(30000, '1') + "\"]\n");
  const Outcome ok = paradnn_cli({"list", cfg, "--summary"});
  EXPECT_EQ(ok.code, 0) << ok.output;
  expect_refused(paradnn_cli({"list", cfg, "--filter", std::string(30000, 'x')}), "bad filter condition");
  expect_refused(paradnn_cli({"list", cfg, "--filter", "nodes " + std::string(30000, ' ') + "<"}), "bad filter condition");
}

namespace {
struct Idle : Executable {
  void step() override {}
};
}  // namespace

TEST(InputBounds, AThreadThatCannotStartFailsThePointNotTheProcess) {
  std::vector<std::unique_ptr<Executable>> instances;
  for (int i = 0; i < 5; ++i) instances.push_back(std::make_unique<Idle>());
  int started = 0;
  const auto spawn = [&](std::function<void()> body) {
    if (++started > 2) throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again));
    return std::thread(std::move(body));
  };
  Settings s;
  s.inter_pools = 5;
  try {
    cpu::PoolExecutable pool(std::move(instances), s, spawn);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot start inter-op pool thread 3 of 5"), std::string::npos) << e.what();
  }
}

TEST(InputBounds, AnOverflowingRangeIsRefused) {
  const std::string cfg = write("overflow.yaml", std::string(kFc) + "axes: {batch: [1], nodes: {from: 1, to: 9223372036854774784, times: 2}}\n");
  expect_refused(paradnn_cli({"list", cfg}), "over the limit");
  EXPECT_NE(error_of(std::string(kFc) + "axes: {batch: [1], nodes: {from: 1, to: 1e30, step: 1}}\n").find("over the limit"),
            std::string::npos);
}

TEST(InputBounds, AbsurdGridsAndModelsAreRefusedUpFront) {
  expect_refused(paradnn_cli({"list", write("layers.yaml", std::string(kFc) + "axes: {batch: [1], layers: [1e8]}\n")}),
                 "layers");
  expect_refused(paradnn_cli({"list", write("batch.yaml", std::string(kFc) + "axes: {batch: {from: 1, to: 1e8, step: 1}}\n")}),
                 "grid points");
  // Axes of allowed sizes whose product is too large.
  expect_refused(paradnn_cli({"list", write("product.yaml", std::string(kFc) +
                                                                "axes: {batch: {from: 1, to: 2000, step: 1}, "
                                                                "nodes: {from: 1, to: 2000, step: 1}}\n")}),
                 "grid reaches");
  // Every value allowed, the model too large: refused before its graph is built.
  EXPECT_NE(error_of(std::string(kFc) + "axes: {batch: [1000000], nodes: [100000000]}\n").find("over the limit"),
            std::string::npos);
  EXPECT_NE(error_of("family: cnn\naxes: {batch: [1000], image: [65536], filters: [4096]}\n").find("t.yaml:1:1: sweep makes an impossible model"),
            std::string::npos);
  expect_refused(paradnn_cli({"slurm", write("s.yaml", std::string(kFc) + "axes: {batch: [1]}\n"), "--shards", "100000000",
                              "-d", dir() + "/slurm"}),
                 "--shards");
  SlurmOptions too_many;
  too_many.config_path = "c.yaml";
  too_many.shards = 100001;
  EXPECT_THROW(slurm_scripts(too_many), InputError);
}

TEST(InputBounds, RunTuneAndCalibrationOptionsAreFiniteAndInRange) {
  const std::string fc = std::string(kFc) + "axes: {batch: [1]}\n";
  expect_errors({{fc + "run: {warmup_s: 1e400}\n", "run.warmup_s"},
                 {fc + "run: {min_time_s: 7200}\n", "run.min_time_s"},
                 {fc + "run: {repetitions: 4294967297}\n", "run.repetitions': must be an integer in 1..10000"},
                 {fc + "run: {memory_fraction: .nan}\n", "memory_fraction"},
                 {fc + "tune: 5\n", "key 'tune': expected a mapping"},
                 {fc + "tune: {intra_threads: [100000]}\n", "t.yaml:6:24: key 'tune.intra_threads'"},
                 {fc + "tune: {prune_below: 2}\n", "tune.prune_below"},
                 {fc + "calibration: {batches: 2000000000}\n", "calibration.batches"}});
}

TEST(InputBounds, StructuralMistakesNameTheFileAndLine) {
  expect_errors({
      {"sweeps:\n  - axes: {batch: [1]}\n", "t.yaml:2:5: key 'family'"},
      {"name: {a: 1}\nfamily: fc\naxes: {batch: [1]}\n", "t.yaml:1:7: key 'name'"},
      {"family: fc\naxes: {batch: [1]}\ndtypes: [{a: 1}]\n", "t.yaml:3:10"},
      {"family: fc\naxes: {batch: [1], {a: 1}: 2}\n", "t.yaml:2:20"},
      {"", "t.yaml: empty config"},
      {"# only a comment\n", "empty config"},
      {"family: fc\nfixed: {nodes: 10, branches: 3}\naxes: {batch: [1]}\n", "t.yaml:1:1: sweep makes an impossible model"},
      {"sweeps:\n  - family: fc\n    fixed: {nodes: 10, branches: 3}\n    axes: {batch: [1]}\n",
       "t.yaml:2:5: sweep makes an impossible model"},
  });
  expect_refused(paradnn_cli({"list", write("empty.yaml", "")}), "empty.yaml: empty config");
  expect_refused(paradnn_cli({"list", write("nofamily.yaml", "sweeps:\n  - axes: {batch: [1]}\n")}), "nofamily.yaml:2:5");
}

TEST(InputBounds, DuplicateKeysAndRepeatedPointsAreErrors) {
  expect_errors({
      {"family: fc\nfamily: cnn\naxes: {batch: [1]}\n", "t.yaml:2:1: key 'family': given twice (first at t.yaml:1:1)"},
      {std::string(kFc) + "axes: {batch: [1], nodes: [8, 16, 8]}\n", "key 'nodes': value 8 is repeated"},
      {std::string(kFc) + "dtypes: [f32, f32]\naxes: {batch: [1]}\n", "key 'dtypes'"},
      {"modes: [infer]\nsweeps:\n  - {family: fc, axes: {batch: [1]}}\n  - {family: fc, axes: {batch: [1, 2]}}\n",
       "t.yaml:4:5: point fc:"},
  });
  // Overlapping sweeps whose filters keep different points are fine.
  EXPECT_EQ(error_of("modes: [infer]\nsweeps:\n  - {family: fc, axes: {batch: [1, 2]}, where: batch<2}\n"
                     "  - {family: fc, axes: {batch: [1, 2]}, where: batch>=2}\n"),
            "no error");
}

TEST(InputBounds, BadSettingsFilesNameTheFile) {
  const auto error = [](const std::string& name, const std::string& text) {
    try {
      load_settings_file(write(name, text));
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("empty-settings.yaml", "").find("empty-settings.yaml: empty settings file"), std::string::npos);
  EXPECT_NE(error("syntax.yaml", "rules: [\n").find("syntax.yaml:"), std::string::npos);
  EXPECT_NE(error("scalar-rule.yaml", "rules: [5]\n").find("scalar-rule.yaml:1:9"), std::string::npos);
  EXPECT_NE(error("map-platform.yaml", "platform: {a: 1}\nrules: []\n").find("key 'platform'"), std::string::npos);
  EXPECT_NE(error("threads.yaml", "rules:\n  - {family: fc, intra_threads: 100000, inter_pools: 1, affinity: none}\n")
                .find("threads.yaml:2:33: key 'intra_threads'"),
            std::string::npos);
  fs::create_directories(dir() + "/a-directory");
  EXPECT_THROW(load_settings_file(dir() + "/a-directory"), InputError);
}

TEST(InputBounds, Int8LayerSelectorsAreCheckedBeforeAnyOutputExists) {
  const std::string yaml = "name: q\nmodes: [infer]\ndtypes: [int8]\nprecision: {keep_f32: [7]}\nfamily: fc\n"
                           "fixed: {layers: 1, nodes: 8, input: 8, output: 4}\naxes: {batch: [2]}\n";
  EXPECT_NE(error_of(yaml).find("t.yaml:4:24: precision: layer index 7 is out of range"), std::string::npos) << error_of(yaml);
  const std::string out = dir() + "/q.csv";
  fs::remove(out);
  expect_refused(paradnn_cli({"run", write("q.yaml", yaml), "-o", out, "-q", "--no-ceilings"}), "layer index 7");
  EXPECT_FALSE(fs::exists(out));
  // The same holds for a bad --memory-budget (parsed before the point loop opens outputs).
  const std::string ok = write("ok.yaml", std::string(kFc) + "axes: {batch: [1], nodes: [8]}\n");
  expect_refused(paradnn_cli({"run", ok, "-o", out, "-q", "--no-ceilings", "--memory-budget", "lots"}), "--memory-budget");
  EXPECT_FALSE(fs::exists(out));
}

TEST(InputBounds, AByteOrderMarkIsNotPartOfTheConfig) {
  const Config c = parse_config("\xEF\xBB\xBFname: bom\nfamily: fc\naxes: {batch: [1]}\n", "t.yaml", models::catalog());
  EXPECT_EQ(c.name, "bom");
}

TEST(InputBounds, AvailableMemoryHonoursTheAddressSpaceLimit) {
  const pid_t pid = fork();
  if (pid == 0) {
    // 256 MiB above what the process has mapped now.
    std::ifstream in("/proc/self/status");
    const std::string status((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const double mapped = std::stod(status.substr(status.find("VmSize:") + 7)) * 1024;
    const rlim_t limit = static_cast<rlim_t>(mapped) + (rlim_t{256} << 20);
    const rlimit r{limit, limit};
    if (setrlimit(RLIMIT_AS, &r) != 0) _exit(3);
    _exit(cpu::available_memory_bytes() <= 257.0 * (1 << 20) ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Edits in the point loop and the run command (see their files) make these pass.
TEST(InputBounds, ShardAndThreadOptionsAreStrict) {
  const std::string cfg = write("shard.yaml", std::string(kFc) + "axes: {batch: [1]}\n");
  expect_refused(paradnn_cli({"list", cfg, "--shard", "1/2000000000"}), "--shard");
  expect_refused(paradnn_cli({"list", cfg, "--shard", "1/2/3"}), "--shard");
  const Outcome t = paradnn_cli({"run", cfg, "-o", dir() + "/t.csv", "--threads", "-1"});
  EXPECT_EQ(t.code, 2);
  EXPECT_LT(t.output.size(), 300u) << t.output;
}
