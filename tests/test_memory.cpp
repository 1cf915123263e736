// The batch search and the measured peak memory.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "runners/drivers/batch_search.hpp"
#include "runners/harness/memory_probe.hpp"

using namespace paradnn;

TEST(BatchSearch, FindsTheLargestBatchUnderAFakeBudget) {
  int calls = 0;
  const auto linear = [&](int64_t b) {
    ++calls;
    return 100.0 + 10.0 * static_cast<double>(b);
  };
  EXPECT_EQ(largest_batch(linear, 1000), 90);  // 100 + 10*90 = 1000 fits, 91 does not
  EXPECT_LT(calls, 20);                          // doubling then bisection, not a scan
  EXPECT_EQ(largest_batch(linear, 100), 0);      // even batch 1 does not fit
  EXPECT_EQ(largest_batch(linear, 1e12, 4096), 4096);  // capped by the limit
  // A footprint growing with batch squared (attention-like).
  EXPECT_EQ(largest_batch([](int64_t b) { return static_cast<double>(b * b); }, 10000), 100);
}

TEST(PeakMemory, SeesAnAllocationThatWasTouched) {
  const PeakMemory probe;
  constexpr size_t kBytes = 64u << 20;
  {
    std::unique_ptr<char[]> block(new char[kBytes]);
    std::memset(block.get(), 1, kBytes);  // resident only once touched
    volatile char sink = block[kBytes - 1];
    (void)sink;
  }
  const auto peak = probe.peak_bytes();
  if (!peak) GTEST_SKIP() << "this kernel does not allow resetting the resident high-water mark";
  EXPECT_GE(*peak, 0.9 * kBytes);
  EXPECT_LT(*peak, 4.0 * kBytes);
}
