// Property tests over the input parsers with a seeded generator: every input, random or a
// mutation of a shipped file, either parses or throws InputError; nothing crashes, hangs or
// allocates without bound (the address space is capped, so that would be bad_alloc, a
// failure here). Bounded by an input count and a time budget so it runs in CI:
// PARADNN_FUZZ_SEED, PARADNN_FUZZ_INPUTS (per parser) and PARADNN_FUZZ_SECONDS (all three
// together) change them. A failing input is saved under the test's temporary directory.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <typeinfo>

#include "models/catalog.hpp"
#include "paradnn/config.hpp"
#include "paradnn/csv.hpp"
#include "paradnn/error.hpp"
#include "paradnn/filter.hpp"
#include "paradnn/grid.hpp"

using namespace paradnn;
namespace fs = std::filesystem;
using Rng = std::mt19937_64;

namespace {

double env_or(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtod(v, nullptr) : fallback;
}

uint64_t seed() { return static_cast<uint64_t>(env_or("PARADNN_FUZZ_SEED", 20261201)); }
int64_t max_inputs(int64_t fallback) { return static_cast<int64_t>(env_or("PARADNN_FUZZ_INPUTS", static_cast<double>(fallback))); }
double seconds(double share) { return env_or("PARADNN_FUZZ_SECONDS", 20) * share; }

// Caps the address space once for the whole binary: unbounded allocation becomes bad_alloc.
void cap_memory() {
  static const bool done = [] {
    std::ifstream in("/proc/self/status");
    std::string line;
    double mapped = 0;
    while (std::getline(in, line))
      if (line.rfind("VmSize:", 0) == 0) mapped = std::stod(line.substr(7)) * 1024;
    const rlim_t limit = static_cast<rlim_t>(mapped) + (rlim_t{3} << 30);
    rlimit r{};
    getrlimit(RLIMIT_AS, &r);
    if (r.rlim_cur == RLIM_INFINITY || r.rlim_cur > limit) r.rlim_cur = limit;
    return setrlimit(RLIMIT_AS, &r) == 0;
  }();
  (void)done;
}

size_t pick(Rng& rng, size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng); }
bool chance(Rng& rng, double p) { return std::bernoulli_distribution(p)(rng); }

template <size_t N>
std::string one_of(Rng& rng, const std::array<std::string, N>& options) {
  return options[pick(rng, N)];
}

// Mostly short, sometimes (`long_chance`) up to 50,000 characters.
std::string random_text(Rng& rng, const std::string& alphabet, size_t max_len, double long_chance = 0.05) {
  const size_t len = chance(rng, long_chance) ? pick(rng, 50'000) : pick(rng, max_len);
  std::string s(len, ' ');
  for (char& c : s) c = alphabet[pick(rng, alphabet.size())];
  return s;
}

// Runs `body` on generated inputs until the count or the time is spent; InputError is a
// pass, any other exception a failure that saves the input.
template <class Gen, class Body>
void fuzz(const std::string& what, int64_t inputs, double budget_s, Gen gen, Body body) {
  cap_memory();
  Rng rng(seed());
  const int64_t n = max_inputs(inputs);
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  int64_t ran = 0, refused = 0;
  for (; ran < n && elapsed() < budget_s; ++ran) {
    const std::string input = gen(rng);
    const double t0 = elapsed();
    std::string failure;
    try {
      body(input);
    } catch (const InputError&) {
      ++refused;
    } catch (const std::exception& e) {
      failure = std::string("threw ") + typeid(e).name() + ": " + e.what();
    }
    if (failure.empty() && elapsed() - t0 > 5) failure = "took " + std::to_string(elapsed() - t0) + " s";
    if (!failure.empty()) {
      const std::string saved = testing::TempDir() + "/fuzz-" + what + "-" + std::to_string(ran) + ".txt";
      std::ofstream(saved, std::ios::binary) << input;
      ADD_FAILURE() << what << " input " << ran << " (seed " << seed() << ", saved in " << saved << ") " << failure;
      return;
    }
  }
  std::printf("fuzz %s: %lld inputs (%lld refused with InputError) in %.1f s, seed %llu\n", what.c_str(),
              static_cast<long long>(ran), static_cast<long long>(refused), elapsed(),
              static_cast<unsigned long long>(seed()));
  EXPECT_GT(ran, 0);
}

// --- configs ---------------------------------------------------------------------------

std::vector<std::string> shipped_configs() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(std::string(PARADNN_SOURCE_DIR) + "/configs"))
    if (e.path().extension() == ".yaml") {
      std::ifstream in(e.path());
      std::stringstream s;
      s << in.rdbuf();
      out.push_back(s.str());
    }
  std::sort(out.begin(), out.end());  // directory order is not stable across machines
  return out;
}

const std::array<std::string, 16> kOddValues{
    std::string(40'000, '9'), "1e400", "-1", "0", "9223372036854775807", "1e8", "0.5", ".nan", "-.inf",
    "{a: 1}", "[1, 2, 2]", "~", "\"\"", "{from: 1, to: 9223372036854774784, times: 2}", "{from: 1, to: 1e8, step: 1}",
    "&a [*a]"};

const std::array<std::string, 28> kKeys{"name", "run", "sweeps", "family", "axes", "fixed", "modes", "dtypes", "where",
                                        "batch", "nodes", "layers", "from", "to", "times", "step", "warmup_s",
                                        "repetitions", "min_time_s", "precision", "keep_f32", "calibration", "tune",
                                        "filters", "image", "branches", "cell", "model"};

std::string deep(Rng& rng) {
  const size_t d = 1 + pick(rng, 3000);
  const bool map = chance(rng, 0.5);
  return std::string(d, map ? '{' : '[') + (map ? "a: 1" : "1") + std::string(d, map ? '}' : ']');
}

// Ten levels of ten aliases: 10^10 nodes if walked naively.
std::string alias_bomb() {
  std::string s = "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n";
  for (int i = 1; i <= 10; ++i) {
    s += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) s += (k ? ", *a" : "*a") + std::to_string(i - 1);
    s += "]\n";
  }
  return s;
}

std::string mutate_config(Rng& rng, std::string s) {
  const int rounds = 1 + static_cast<int>(pick(rng, 4));
  for (int r = 0; r < rounds; ++r) {
    switch (pick(rng, 10)) {
      case 0: {  // a number becomes an odd value
        std::vector<size_t> starts;
        for (size_t i = 0; i < s.size(); ++i)
          if (std::isdigit(static_cast<unsigned char>(s[i])) && (i == 0 || !std::isalnum(static_cast<unsigned char>(s[i - 1]))))
            starts.push_back(i);
        if (starts.empty()) break;
        const size_t i = starts[pick(rng, starts.size())];
        size_t j = i;
        while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
        s.replace(i, j - i, one_of(rng, kOddValues));
        break;
      }
      case 1: s.insert(pick(rng, s.size() + 1), random_text(rng, ":{}[],&*!|>-\"' \t\n#abc01\xEF\xBB\xBF\xff", 8)); break;
      case 2: {
        const size_t i = pick(rng, s.size() + 1);
        s.erase(i, pick(rng, 40));
        break;
      }
      case 3: {  // a line twice: duplicate keys
        const size_t i = s.rfind('\n', pick(rng, s.size() + 1));
        const size_t b = i == std::string::npos ? 0 : i + 1, e = s.find('\n', b);
        s.insert(b, s.substr(b, e == std::string::npos ? std::string::npos : e - b + 1));
        break;
      }
      case 4: s.insert(0, "\xEF\xBB\xBF"); break;
      case 5: s.insert(pick(rng, s.size() + 1), deep(rng)); break;
      case 6: s += "\n" + one_of(rng, kKeys) + ": " + one_of(rng, kOddValues) + "\n"; break;
      case 7:  // rare: refusing one walks a million nodes (a tenth of a second)
        if (chance(rng, 0.1)) s = alias_bomb() + s;
        break;
      case 8: s += "\nfamily: " + one_of(rng, std::array<std::string, 4>{"fc", "cnn", "rnn", "real"}) + "\n"; break;
      default: {  // a value becomes another kind
        const size_t colon = s.find(": ", pick(rng, s.size() + 1));
        if (colon == std::string::npos) break;
        const size_t end = s.find('\n', colon);
        s.replace(colon + 2, end == std::string::npos ? std::string::npos : end - colon - 2, one_of(rng, kOddValues));
      }
    }
  }
  return s;
}

std::string random_yaml(Rng& rng, int depth) {
  if (depth > 4 || chance(rng, 0.3)) {
    if (chance(rng, 0.3)) return one_of(rng, kOddValues);
    return std::to_string(pick(rng, 5000));
  }
  if (chance(rng, 0.5)) {
    std::string s = "{";
    for (size_t i = 0, n = pick(rng, 5); i < n; ++i) s += (i ? ", " : "") + one_of(rng, kKeys) + ": " + random_yaml(rng, depth + 1);
    return s + "}";
  }
  std::string s = "[";
  for (size_t i = 0, n = pick(rng, 5); i < n; ++i) s += (i ? ", " : "") + random_yaml(rng, depth + 1);
  return s + "]";
}

std::string config_input(Rng& rng) {
  static const std::vector<std::string> shipped = shipped_configs();
  if (chance(rng, 0.2)) {
    std::string s;
    for (size_t i = 0, n = 1 + pick(rng, 6); i < n; ++i) s += one_of(rng, kKeys) + ": " + random_yaml(rng, 0) + "\n";
    return chance(rng, 0.5) ? mutate_config(rng, s) : s;
  }
  return mutate_config(rng, shipped[pick(rng, shipped.size())]);
}

double points_before_filters(const Config& c) {
  double total = 0;
  for (const Sweep& s : c.sweeps) {
    double n = static_cast<double>(s.modes.size() * s.dtypes.size());
    for (const Axis& a : s.axes) n *= static_cast<double>(a.values.size());
    total += n;
  }
  return total;
}

// --- CSV -------------------------------------------------------------------------------

std::string csv_input(Rng& rng) {
  std::string s;
  if (!chance(rng, 0.1)) {
    for (size_t i = 0; i < result_columns().size(); ++i) s += (i ? "," : "") + result_columns()[i];
    s += "\n";
  }
  const std::string cell_chars = "abc019.,\"\n\r -eE+";
  for (size_t r = 0, rows = pick(rng, 6); r < rows; ++r) {
    for (size_t i = 0; i < result_columns().size(); ++i) {
      std::string cell = result_columns()[i] == "schema_version" ? "1" : random_text(rng, cell_chars, 6, 0.001);
      if (chance(rng, 0.3)) {
        std::string quoted = "\"";
        for (char c : cell) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
        cell = quoted + "\"";
      }
      s += (i ? "," : "") + cell;
    }
    s += "\n";
  }
  for (size_t m = 0, n = pick(rng, 4); m < n; ++m) {
    switch (pick(rng, 4)) {
      case 0: s.insert(0, "\xEF\xBB\xBF"); break;
      case 1: s.insert(pick(rng, s.size() + 1), random_text(rng, ",\"\n\r\xff", 5)); break;
      case 2: s.erase(pick(rng, s.size() + 1), pick(rng, 30)); break;
      default: s += random_text(rng, cell_chars, 200);
    }
  }
  return s;
}

}  // namespace

TEST(Fuzz, ConfigsParseOrRaiseInputError) {
  fuzz("config", 4000, seconds(0.6), config_input, [](const std::string& text) {
    const Config c = parse_config(text, "fuzz.yaml", models::catalog());
    // Expanding builds each point's graph: bounded here by time, not by the parser.
    if (points_before_filters(c) <= 200) expand(c, models::catalog());
  });
}

TEST(Fuzz, FiltersParseOrRaiseInputError) {
  const auto gen = [](Rng& rng) {
    if (chance(rng, 0.5)) return random_text(rng, " \t,andor<>=!0123456789.eE+-KMGTiBxyz_", 40);
    std::string s;
    for (size_t i = 0, n = 1 + pick(rng, 4); i < n; ++i)
      s += (i ? one_of(rng, std::array<std::string, 3>{",", " and ", "  and\t"}) : "") +
           one_of(rng, std::array<std::string, 5>{"nodes", "batch", "memory", "cell", "params"}) +
           one_of(rng, std::array<std::string, 7>{"==", "!=", "<=", ">=", "<", ">", "="}) +
           one_of(rng, std::array<std::string, 6>{"8GiB", "1e9", "lstm", ".5", std::string(30'000, '1'), "1."});
    return s;
  };
  fuzz("filter", 20000, seconds(0.2), gen, [](const std::string& text) {
    (void)parse_number(text);
    const Filter f = Filter::parse(text);
    f.matches([&](const std::string& name) -> std::optional<std::string> {
      if (name == "cell") return std::string("lstm");
      if (name == "memory") return std::string("1e9");
      return name.size() % 2 ? std::optional<std::string>("64") : std::nullopt;
    });
  });
}

TEST(Fuzz, CsvFilesParseOrRaiseInputError) {
  const std::string path = testing::TempDir() + "/fuzz-results.csv";
  int64_t n = 0;
  fuzz("csv", 5000, seconds(0.2), csv_input, [&](const std::string& text) {
    (void)parse_csv(text, "fuzz.csv", {"point_key"});
    if (++n % 10 == 0) {  // the file readers too, less often: each writes a file
      std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
      (void)read_results(path);
    }
  });
}
