// AMX tile configuration (palette 1, Intel SDM LDTILECFG) and loading it: shared by the roofline's
// peak kernels and the DFP convolution tiles.
#pragma once
#include <cstdint>

namespace paradnn::cpu {

// 64 bytes: per tile its bytes per row (colsb) and rows.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

// Tiles 0 .. n-1 all 16 rows x 64 bytes.
inline TileConfig full_tiles(int n) {
  TileConfig c;
  for (int t = 0; t < n; ++t) {
    c.colsb[t] = 64;
    c.rows[t] = 16;
  }
  return c;
}

// ldtilecfg with the whole 64-byte struct as the operand, so the compiler keeps every byte
// stored (the intrinsic's operand covers only 8). The "memory" barrier keeps the buffers the
// tile loads read (their asm takes only pointers) written before them.
__attribute__((target("amx-tile"))) inline void load_tile_config(const TileConfig& c) {
  __asm__ volatile("ldtilecfg %0" ::"m"(c) : "memory");
}

}  // namespace paradnn::cpu
