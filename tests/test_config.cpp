#include <gtest/gtest.h>

#include "models/catalog.hpp"
#include "paradnn/config.hpp"
#include "paradnn/error.hpp"

using namespace paradnn;

namespace {
Config parse(const std::string& text) { return parse_config(text, "t.yaml", models::catalog()); }

// The message of the InputError a bad config raises.
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(Config, ReadsSweepsAxesRangesAndRunOptions) {
  const Config c = parse(R"(
name: t
run: {warmup_s: 0.2, repetitions: 7, min_time_s: 0.3}
dtypes: [f32, bf16]
sweeps:
  - family: fc
    axes:
      nodes: {from: 32, to: 256, times: 2}
      layers: {from: 2, to: 6, step: 2}
    fixed: {batch: 64, input: 100}
    modes: [train]
  - family: rnn
    axes: {cell: [lstm, gru], batch: [8]}
)");
  EXPECT_EQ(c.name, "t");
  EXPECT_EQ(c.run.repetitions, 7);
  EXPECT_DOUBLE_EQ(c.run.warmup_s, 0.2);
  ASSERT_EQ(c.sweeps.size(), 2u);
  const Sweep& fc = c.sweeps[0];
  ASSERT_EQ(fc.axes.size(), 3u);  // nodes, layers, batch
  EXPECT_EQ(fc.axes[0].values, (std::vector<Value>{int64_t{32}, int64_t{64}, int64_t{128}, int64_t{256}}));
  EXPECT_EQ(fc.axes[1].values, (std::vector<Value>{int64_t{2}, int64_t{4}, int64_t{6}}));
  EXPECT_EQ(std::get<int64_t>(fc.fixed.at("input")), 100);
  EXPECT_EQ(fc.modes, std::vector<Mode>{Mode::train});
  EXPECT_EQ(fc.dtypes, (std::vector<DType>{DType::f32, DType::bf16}));  // inherited from the top level
  EXPECT_EQ(c.sweeps[1].axes[0].values, (std::vector<Value>{std::string("lstm"), std::string("gru")}));
}

TEST(Config, SingleSweepForm) {
  const Config c = parse("family: cnn\naxes: {blocks: [1, 2]}\nfixed: {batch: 4, image: 32}\n");
  ASSERT_EQ(c.sweeps.size(), 1u);
  EXPECT_EQ(c.sweeps[0].family, "cnn");
}

TEST(Config, UnknownKeyNamesFileLineAndKey) {
  const std::string e = error_of("family: fc\naxes:\n  nodez: [1]\nfixed: {batch: 1}\n");
  EXPECT_NE(e.find("t.yaml:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("nodez"), std::string::npos) << e;
  EXPECT_NE(e.find("layers"), std::string::npos) << e;  // lists what was expected
}

TEST(Config, WrongTypeAndImpossibleRange) {
  EXPECT_NE(error_of("family: fc\naxes: {nodes: [abc]}\nfixed: {batch: 1}\n").find("t.yaml:2:"), std::string::npos);
  EXPECT_NE(error_of("family: fc\naxes: {nodes: [abc]}\nfixed: {batch: 1}\n").find("expected an integer"), std::string::npos);
  EXPECT_NE(error_of("family: fc\naxes: {nodes: {from: 64, to: 8}}\nfixed: {batch: 1}\n").find("impossible range"),
            std::string::npos);
  EXPECT_NE(error_of("family: fc\naxes: {nodes: {from: 8, to: 64, times: 1}}\nfixed: {batch: 1}\n").find(">= 2"),
            std::string::npos);
  EXPECT_NE(error_of("family: rnn\naxes: {cell: [lstn]}\nfixed: {batch: 1}\n").find("not one of"), std::string::npos);
  EXPECT_NE(error_of("family: fc\naxes: {nodes: [8]}\n").find("needs a batch"), std::string::npos);
  EXPECT_NE(error_of("family: fcx\nfixed: {batch: 1}\n").find("unknown family"), std::string::npos);
  EXPECT_NE(error_of("family: fc\nfixed: {batch: 1}\ndtypes: [f33]\n").find("t.yaml:3:"), std::string::npos);
  EXPECT_NE(error_of("family: fc\nfixed: {batch: 1}\nrun: {repetitions: 0}\n").find("repetitions"), std::string::npos);
  // Google Benchmark aborts on a zero minimum time: the config says so instead.
  EXPECT_NE(error_of("family: fc\nfixed: {batch: 1}\nrun: {min_time_s: 0}\n").find("run.min_time_s"), std::string::npos);
  EXPECT_NE(error_of("family: fc\nfixed: {batch: [1\n").find("YAML syntax"), std::string::npos);
  EXPECT_NE(error_of("family: fc\nfixed: {batch: 1}\nwhere: 'params <=> 3'\n").find("where"), std::string::npos);
}
