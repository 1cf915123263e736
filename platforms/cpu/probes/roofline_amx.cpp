// AMX peak kernels: bf16 (tdpbf16ps) and int8 (tdpbusd, u8 x s8 -> s32) tile products, and
// one-product helpers the tests compare with a scalar loop. Compiled for AMX with target
// attributes (GCC 12's AMX intrinsics are inline asm, so binutils >= 2.36 must know the
// mnemonics); the probe calls them only where cpuid has AMX and Linux granted the tile state.
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "platforms/cpu/probes/amx_tile_config.hpp"
#include "platforms/cpu/probes/roofline_round.hpp"

namespace paradnn::cpu {

namespace {

// Linux's <asm/prctl.h> names (5.16+); spelled out so older headers build too.
constexpr long kArchReqXcompPerm = 0x1023;
constexpr long kXfeatureXtiledata = 18;

constexpr int kRows = 16;       // every tile: 16 rows
constexpr int kRowBytes = 64;   // of 64 bytes
constexpr int kAccTiles = 4;    // tmm0-3
constexpr int kLanes = kRows * kRowBytes / 4;  // 32-bit elements per accumulator tile

// bf16 operands and f32 accumulators: A = 1, B = 2^-20, so one tdpbf16ps adds 32 products
// of 2^-20 = 2^-15 to every element. Accumulator t starts at t/4; after 2^15 steps it is below
// 2, where every partial sum is a multiple of 2^-20 and so exact in f32 whatever the order
// the unit adds the products in. Rounds are 2^15 steps, then the accumulators reload.
constexpr uint16_t kBf16One = 0x3F80, kBf16Tiny = 0x3580;  // 1.0, 2^-20
constexpr double kBf16Delta = 32 * 0x1p-20;
constexpr int64_t kBf16Round = int64_t{1} << 15;

// int8: A = 3 (u8), B = -2 (s8): one tdpbusd adds 64 * -6 = -384 to every element; from
// t, 2^20 steps reach -4.0e8, inside int32.
constexpr int32_t kIntA = 3, kIntB = -2;
constexpr double kInt8Delta = 64.0 * kIntA * kIntB;
constexpr int64_t kInt8Round = kStepsPerRound;

// Operand tiles, filled through opaque values (the compiler cannot know them).
struct alignas(64) Operands {
  uint8_t a[kRows * kRowBytes];
  uint8_t b[kRows * kRowBytes];
};

template <typename T>
void fill(uint8_t* bytes, T value) {
  for (int i = 0; i < kRows * kRowBytes; i += static_cast<int>(sizeof(T))) std::memcpy(bytes + i, &value, sizeof(T));
}

// Under full_tiles(8): tmm0-3 the accumulators (from acc), tmm4-5 A, tmm6-7 B; both kernels
// then run the same 2 x 2 block of dot products (tmm0 += A B, tmm1 += A B', ...).
template <typename T>
__attribute__((target("amx-tile"))) inline void load_tiles(const T (&acc)[kAccTiles][kLanes], const Operands& op) {
  _tile_loadd(0, acc[0], kRowBytes);
  _tile_loadd(1, acc[1], kRowBytes);
  _tile_loadd(2, acc[2], kRowBytes);
  _tile_loadd(3, acc[3], kRowBytes);
  _tile_loadd(4, op.a, kRowBytes);
  _tile_loadd(5, op.a, kRowBytes);
  _tile_loadd(6, op.b, kRowBytes);
  _tile_loadd(7, op.b, kRowBytes);
}

template <typename T>
__attribute__((target("amx-tile"))) inline void store_tiles_and_release(T (&acc)[kAccTiles][kLanes]) {
  _tile_stored(0, acc[0], kRowBytes);
  _tile_stored(1, acc[1], kRowBytes);
  _tile_stored(2, acc[2], kRowBytes);
  _tile_stored(3, acc[3], kRowBytes);
  _tile_release();
}

template <typename T>
double tile_sum(const T (&acc)[kAccTiles][kLanes]) {
  double sum = 0;
  for (const auto& tile : acc)
    for (T x : tile) sum += x;
  return sum;
}

__attribute__((target("amx-tile,amx-bf16"))) double round_bf16_amx(int64_t steps) {
  Operands op;
  fill(op.a, static_cast<uint16_t>(opaque_i32(kBf16One)));
  fill(op.b, static_cast<uint16_t>(opaque_i32(kBf16Tiny)));
  alignas(64) float acc[kAccTiles][kLanes];
  for (int t = 0; t < kAccTiles; ++t) std::fill(std::begin(acc[t]), std::end(acc[t]), 0.25f * t);
  load_tile_config(full_tiles(8));  // tmm0-7
  load_tiles(acc, op);
  for (int64_t s = 0; s < steps; ++s) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  store_tiles_and_release(acc);
  return tile_sum(acc);
}

__attribute__((target("amx-tile,amx-int8"))) double round_int8_amx(int64_t steps) {
  Operands op;
  fill(op.a, static_cast<uint8_t>(opaque_i32(kIntA)));
  fill(op.b, static_cast<int8_t>(opaque_i32(kIntB)));
  alignas(64) int32_t acc[kAccTiles][kLanes];
  for (int t = 0; t < kAccTiles; ++t) std::fill(std::begin(acc[t]), std::end(acc[t]), t);
  load_tile_config(full_tiles(8));  // tmm0-7
  load_tiles(acc, op);
  for (int64_t s = 0; s < steps; ++s) {
    _tile_dpbusd(0, 4, 6);
    _tile_dpbusd(1, 4, 7);
    _tile_dpbusd(2, 5, 6);
    _tile_dpbusd(3, 5, 7);
  }
  store_tiles_and_release(acc);
  return tile_sum(acc);
}

// run_rounds with the AMX kernels' own round length (bf16 must reset sooner than 2^20 steps).
KernelOutcome run_amx_rounds(int64_t steps, int64_t round_steps, double start_step, double delta, double ops_per_step,
                             RoundFn round) {
  KernelOutcome out;
  const double start_sum = start_step * kAccTiles * (kAccTiles - 1) / 2.0;
  for (int64_t done = 0; done < steps;) {
    const int64_t n = std::min(round_steps, steps - done);
    out.result += round(n);
    // Every element of accumulator t ends at t * start_step + n * delta.
    out.expected += kLanes * (start_sum + kAccTiles * static_cast<double>(n) * delta);
    done += n;
  }
  out.ops = static_cast<double>(steps) * ops_per_step;
  return out;
}

void require_amx(const std::string& dtype) {
  if (const std::string why = amx_unavailable_reason(dtype); !why.empty())
    throw std::runtime_error("AMX " + dtype + " cannot run here: " + why);
}

__attribute__((target("amx-tile,amx-bf16"))) void tile_product_bf16(const uint16_t* a, const uint16_t* b_vnni, float* c) {
  load_tile_config(full_tiles(8));  // tmm0-7
  _tile_zero(0);
  _tile_loadd(4, a, kRowBytes);
  _tile_loadd(6, b_vnni, kRowBytes);
  _tile_dpbf16ps(0, 4, 6);
  _tile_stored(0, c, kRowBytes);
  _tile_release();
}

__attribute__((target("amx-tile,amx-int8"))) void tile_product_int8(const uint8_t* a, const int8_t* b_vnni, int32_t* c) {
  load_tile_config(full_tiles(8));  // tmm0-7
  _tile_zero(0);
  _tile_loadd(4, a, kRowBytes);
  _tile_loadd(6, b_vnni, kRowBytes);
  _tile_dpbusd(0, 4, 6);
  _tile_stored(0, c, kRowBytes);
  _tile_release();
}

// K x 16 row-major to VNNI: row k/g of the tile holds, for each column n, B[k..k+g-1][n]
// (g = 4 / sizeof(T): pairs of bf16, quads of int8).
template <typename T>
std::vector<T> vnni_pack(const std::vector<T>& b) {
  constexpr int g = 4 / sizeof(T);
  constexpr int n_cols = 16;
  const int k_rows = static_cast<int>(b.size()) / n_cols;
  std::vector<T> packed(b.size());
  for (int k = 0; k < k_rows; ++k)
    for (int n = 0; n < n_cols; ++n) packed[(k / g) * n_cols * g + n * g + k % g] = b[k * n_cols + n];
  return packed;
}

}  // namespace

std::string amx_permission() {
  static const std::string reason = []() -> std::string {
    const CpuidFlags c = cpu_features().cpuid;
    if (!c.amx_tile) return "this CPU has no AMX (cpuid leaf 7 EDX bit 24, AMX-TILE, is clear)";
    if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0)
      return fmt::format("the kernel refused the AMX tile state (arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): "
                         "{}; Linux 5.16 or newer grants it)",
                         std::strerror(errno));
    return "";
  }();
  return reason;
}

std::string amx_unavailable_reason(const std::string& dtype) {
  const CpuidFlags c = cpu_features().cpuid;
  if (c.amx_tile && dtype == "bf16" && !c.amx_bf16) return "this CPU has AMX-TILE but not AMX-BF16 (cpuid leaf 7 EDX bit 22)";
  if (c.amx_tile && dtype == "int8" && !c.amx_int8) return "this CPU has AMX-TILE but not AMX-INT8 (cpuid leaf 7 EDX bit 25)";
  if (dtype != "bf16" && dtype != "int8") return "AMX has no " + dtype + " tile product in paradnn (bf16, int8)";
  return amx_permission();
}

KernelOutcome dot_bf16_amx(int64_t steps) {
  // 16 x 16 x 32 multiply-adds per tile product, 2 FLOPs each.
  return run_amx_rounds(steps, kBf16Round, 0.25, kBf16Delta, kAccTiles * 16 * 16 * 32 * 2.0, round_bf16_amx);
}

KernelOutcome dot_int8_amx(int64_t steps) {
  // 16 x 16 x 64 multiply-adds per tile product, 2 ops each.
  return run_amx_rounds(steps, kInt8Round, 1, kInt8Delta, kAccTiles * 16 * 16 * 64 * 2.0, round_int8_amx);
}

std::vector<float> amx_tile_product_bf16(const std::vector<uint16_t>& a, const std::vector<uint16_t>& b) {
  if (a.size() != 16 * 32 || b.size() != 32 * 16) throw std::invalid_argument("amx_tile_product_bf16: A is 16x32, B 32x16");
  require_amx("bf16");
  const std::vector<uint16_t> packed = vnni_pack(b);
  std::vector<float> c(16 * 16);
  tile_product_bf16(a.data(), packed.data(), c.data());
  return c;
}

std::vector<int32_t> amx_tile_product_int8(const std::vector<uint8_t>& a, const std::vector<int8_t>& b) {
  if (a.size() != 16 * 64 || b.size() != 64 * 16) throw std::invalid_argument("amx_tile_product_int8: A is 16x64, B 64x16");
  require_amx("int8");
  const std::vector<int8_t> packed = vnni_pack(b);
  std::vector<int32_t> c(16 * 16);
  tile_product_int8(a.data(), packed.data(), c.data());
  return c;
}

}  // namespace paradnn::cpu
