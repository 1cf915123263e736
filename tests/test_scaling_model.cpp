// The data-parallel scaling model's arithmetic: alpha-beta all-reduce times for ring and
// tree, nccl-tests bus bandwidth, the network flag, and bucketed overlap with backward.
#include <gtest/gtest.h>

#include "platforms/model/scaling_model.hpp"
#include "paradnn/error.hpp"

namespace paradnn::model {
namespace {

const Network kNet{1e-6, 1e9};  // 1 us, 1 GB/s

TEST(AllreduceModel, RingAndTreeFollowTheAlphaBetaFormulas) {
  EXPECT_DOUBLE_EQ(allreduce_seconds(Algorithm::ring, 1e6, 4, kNet), 6e-6 + 1.5e-3);
  EXPECT_DOUBLE_EQ(allreduce_seconds(Algorithm::tree, 1e6, 4, kNet), 4 * (1e-6 + 1e-3));
  EXPECT_DOUBLE_EQ(allreduce_seconds(Algorithm::tree, 1e6, 5, kNet), 6 * (1e-6 + 1e-3));  // ceil(log2 5) = 3
  EXPECT_EQ(allreduce_seconds(Algorithm::ring, 1e6, 1, kNet), 0);
  EXPECT_EQ(allreduce_seconds(Algorithm::tree, 0, 8, kNet), 0);
  // Ring's bandwidth term tends to 2n/beta; its latency term grows linearly with R.
  EXPECT_NEAR(allreduce_seconds(Algorithm::ring, 1e9, 1024, Network{0, 1e9}), 2 * 1023.0 / 1024, 1e-12);
  // Small messages: the tree's log R latency beats the ring's 2(R-1).
  EXPECT_LT(allreduce_seconds(Algorithm::tree, 8, 1024, kNet), allreduce_seconds(Algorithm::ring, 8, 1024, kNet));
}

TEST(AllreduceModel, BusBandwidthIsNcclTestsDefinition) {
  EXPECT_DOUBLE_EQ(bus_bandwidth(10, 2), 10);
  EXPECT_DOUBLE_EQ(bus_bandwidth(10, 8), 17.5);
  EXPECT_EQ(bus_bandwidth(10, 1), 0);
}

TEST(AllreduceModel, ParsesNetworkFlag) {
  const Network a = parse_network("100Gbit/s,2us");
  EXPECT_DOUBLE_EQ(a.bytes_per_s, 12.5e9);
  EXPECT_DOUBLE_EQ(a.alpha_s, 2e-6);
  const Network b = parse_network("12.5GB/s, 1.5us");
  EXPECT_DOUBLE_EQ(b.bytes_per_s, 12.5e9);
  EXPECT_DOUBLE_EQ(b.alpha_s, 1.5e-6);
  EXPECT_THROW(parse_network("fast"), InputError);
  EXPECT_THROW(parse_network("100furlongs/s,2us"), InputError);
}

StepProfile two_ops(double first_grad, double second_grad) {
  StepProfile p;
  p.forward_s = 1;
  p.update_s = 0.5;
  p.backward = {{"top", 1, first_grad}, {"bottom", 2, second_grad}};
  return p;
}

TEST(ScalingModel, WithoutOverlapCommunicationFollowsBackward) {
  const Network n{0, 1e9};
  const Prediction p = predict_step(two_ops(1e9, 0), 2, Algorithm::ring, n, false, 1e6);
  EXPECT_DOUBLE_EQ(p.comm_s, 1);  // 2 (R-1)/R n/beta = 1 s
  EXPECT_DOUBLE_EQ(p.step_s, 1 + 3 + 1 + 0.5);
  EXPECT_EQ(p.overlap_fraction, 0);
}

TEST(ScalingModel, OverlapHidesCommunicationBehindTheRestOfBackward) {
  const Network n{0, 1e9};
  // The top op's gradient is ready at t = 2 and takes 1 s; backward ends at t = 4.
  const Prediction hidden = predict_step(two_ops(1e9, 0), 2, Algorithm::ring, n, true, 1e6);
  EXPECT_DOUBLE_EQ(hidden.step_s, 4.5);
  EXPECT_DOUBLE_EQ(hidden.exposed_comm_s, 0);
  EXPECT_DOUBLE_EQ(hidden.overlap_fraction, 1);
  // A gradient produced by the last op cannot overlap anything.
  const Prediction exposed = predict_step(two_ops(0, 1e9), 2, Algorithm::ring, n, true, 1e6);
  EXPECT_DOUBLE_EQ(exposed.step_s, 5.5);
  EXPECT_DOUBLE_EQ(exposed.overlap_fraction, 0);
  // Half hidden: 3 s of communication ready at t = 2, backward ends at t = 4.
  const Prediction half = predict_step(two_ops(3e9, 0), 2, Algorithm::ring, n, true, 1e6);
  EXPECT_DOUBLE_EQ(half.step_s, 5 + 0.5);
  EXPECT_NEAR(half.overlap_fraction, 2.0 / 3, 1e-12);
}

TEST(ScalingModel, BucketsQueueOnOneLink) {
  StepProfile p;
  p.backward = {{"a", 1, 1e6}, {"b", 1, 1e6}, {"c", 1, 1e6}};
  const Prediction r = predict_step(p, 2, Algorithm::ring, Network{0, 1e6}, true, 2e6);
  EXPECT_EQ(r.buckets, 2);  // a+b, then c
  // a+b ready at 2, takes 2 s (2 (R-1)/R 2e6 / 1e6); c ready at 3, starts at 4, ends at 5.
  EXPECT_DOUBLE_EQ(r.step_s, 5);
  EXPECT_DOUBLE_EQ(r.comm_s, 3);
}

TEST(ScalingModel, StrongScalingScalesComputeNotUpdate) {
  const StepProfile half = two_ops(1, 1).scaled_compute(0.5);
  EXPECT_DOUBLE_EQ(half.forward_s, 0.5);
  EXPECT_DOUBLE_EQ(half.backward_s(), 1.5);
  EXPECT_DOUBLE_EQ(half.update_s, 0.5);
}

}  // namespace
}  // namespace paradnn::model
