#include <gtest/gtest.h>

#include <set>

#include "models/catalog.hpp"
#include "paradnn/config.hpp"
#include "paradnn/error.hpp"
#include "paradnn/grid.hpp"

using namespace paradnn;

namespace {
std::vector<GridEntry> grid(const std::string& text) {
  return expand(parse_config(text, "t.yaml", models::catalog()), models::catalog());
}
}  // namespace

TEST(Grid, CartesianProductOfAxesModesAndDtypes) {
  const auto g = grid("family: fc\naxes: {layers: [1, 2, 3], nodes: [8, 16], batch: [4, 8]}\nmodes: [train, infer]\n");
  EXPECT_EQ(g.size(), 3u * 2 * 2 * 2);
  std::set<std::string> keys;
  for (const auto& e : g) keys.insert(e.point.key());
  EXPECT_EQ(keys.size(), g.size());  // every point distinct
  // First axis outermost, batch innermost among axes, then mode.
  EXPECT_EQ(g[0].point.get_int("layers"), 1);
  EXPECT_EQ(g[0].point.batch, 4);
  EXPECT_EQ(g[0].point.mode, Mode::train);
  EXPECT_EQ(g[1].point.mode, Mode::infer);
  EXPECT_EQ(g[2].point.batch, 8);
  EXPECT_EQ(g.back().point.get_int("layers"), 3);
  // Defaults fill parameters the config does not name.
  EXPECT_EQ(g[0].point.get_int("input"), 2000);
}

TEST(Grid, WhereFiltersOnParamsAndHyperparameters) {
  // fc layers=1: 2000*N + N + N*1000 + 1000 parameters.
  const auto g = grid("family: fc\naxes: {nodes: [8, 64, 512], batch: [2]}\nfixed: {layers: 1}\nmodes: [train]\n"
                      "where: ['params <= 200000']\n");
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].params, 2000 * 8 + 8 + 8 * 1000 + 1000);
  const auto h = grid("family: fc\naxes: {nodes: [8, 64, 512], batch: [2]}\nmodes: [train]\nwhere: nodes>8 and nodes<512\n");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].point.get_int("nodes"), 64);
}

TEST(Grid, MemoryFilterTakesUnits) {
  const auto g = grid("family: fc\naxes: {nodes: [64, 8192], batch: [16384]}\nmodes: [train]\nwhere: memory<=1GiB\n");
  ASSERT_EQ(g.size(), 1u);
  EXPECT_LE(g[0].memory_bytes, 1024.0 * 1024 * 1024);
}

TEST(Grid, FilterSyntax) {
  const Filter f = Filter::parse("family==rnn, cell=lstm");
  EXPECT_TRUE(f.matches([](const std::string& n) -> std::optional<std::string> { return n == "family" ? "rnn" : "lstm"; }));
  EXPECT_FALSE(f.matches([](const std::string& n) -> std::optional<std::string> { return n == "family" ? "fc" : "lstm"; }));
  EXPECT_FALSE(f.matches([](const std::string&) -> std::optional<std::string> { return std::nullopt; }));
  EXPECT_THROW(Filter::parse("nodes ~ 3"), InputError);
  EXPECT_EQ(parse_number("2GiB").value(), 2.0 * 1024 * 1024 * 1024);
  EXPECT_EQ(parse_number("1e3").value(), 1000.0);
  EXPECT_FALSE(parse_number("lstm").has_value());
}

TEST(Grid, ShippedConfigsParse) {
  for (const char* name : {"quick", "paradnn-fc", "paradnn-cnn", "paradnn-rnn"}) {
    const std::string path = std::string(PARADNN_SOURCE_DIR) + "/configs/" + name + ".yaml";
    const auto g = expand(load_config(path, models::catalog()), models::catalog());
    EXPECT_GT(g.size(), 0u) << name;
  }
  // The paper's FC grid: 6 layer counts x 9 widths x 2 inputs x 2 outputs x 9 batches = 1944 models.
  const auto fc = expand(load_config(std::string(PARADNN_SOURCE_DIR) + "/configs/paradnn-fc.yaml", models::catalog()),
                         models::catalog());
  size_t train = 0;
  for (const auto& e : fc) train += e.point.mode == Mode::train && e.point.dtype == DType::f32;
  EXPECT_EQ(train, 1944u);
}
