// Sliding-window FEC for audio (in the spirit of RFC 8681's random linear codes): every repair
// symbol is a random GF(256) combination of the last W source frames, sent right after the
// newest of them. A lost frame is rebuilt from any repairs that cover it once there are as many
// useful repairs as missing frames in their windows, so recovery waits for the next packets,
// not for a block to close. The window slides one frame per frame; nothing is ever held back.
//
// Wire form (docs/PROTOCOL.md §7): the header's fec_block_id:fec_symbol_idx hold a 16-bit
// source id (a source packet's own, a repair's newest covered); a repair's payload is
// [W u8][seed u8] then T bytes, the combination of the window's symbols, each symbol being
// [timestamp u32][codec u8][length u16][frame] zero-padded to T. A repair whose W is 0 carries
// copies instead: [0 u8][n u8] then n symbols unpadded and uncombined, the newest covered first
// (ids end, end - 1, ...): at heavy loss, where a combination of frames mostly missing resolves
// nothing, one packet gives each of n frames another chance for one datagram's header and tag.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wzp::fec {

inline constexpr size_t kWindowSymbolHeader = 7;  // timestamp, codec, length
inline constexpr size_t kWindowRepairInfo = 2;    // W, seed
inline constexpr uint32_t kMaxWindow = 32;        // frames one repair may cover
inline constexpr size_t kMaxWindowFrame = 1276;   // an Opus packet's ceiling
inline constexpr size_t kMaxWindowSymbol = kWindowSymbolHeader + kMaxWindowFrame;

// The coefficient of the j-th oldest source (0 <= j < W) in the repair whose window ends at
// source `end`, for the repair's `seed` (several repairs may share one window): never zero.
inline uint8_t window_coefficient(uint16_t end, uint8_t seed, uint32_t j) {
  uint32_t h =
      (static_cast<uint32_t>(end) * 0x9E3779B1u) ^ (seed * 0x85EBCA77u) ^ ((j + 1) * 0xC2B2AE3Du);
  h ^= h >> 15;
  h *= 0x2C1B3C6Du;
  h ^= h >> 12;
  return static_cast<uint8_t>(1 + h % 255);
}

}  // namespace wzp::fec
