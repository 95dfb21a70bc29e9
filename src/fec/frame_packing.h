// Audio frames inside FEC symbols (docs/PROTOCOL.md §7).
//
// Each frame is written as a 2-byte little-endian prefix, then the frame, then zeros up to a
// whole number of T-byte symbols; a frame longer than one symbol spans several. The prefix's
// low 11 bits are the frame length (0..2047); its high 5 bits are the frame's distance in
// frame slots from the previous frame of the same block (0 for the block's first frame), so
// that a recovered frame's timestamp can be rebuilt from the block's base timestamp.
#pragma once

#include <cstdint>
#include <span>

#include "proto/result.h"

namespace wzp::fec {

inline constexpr size_t kFramePrefix = 2;
inline constexpr size_t kMaxFrameBytes = 2047;
inline constexpr uint32_t kMaxSlotGap = 31;

inline size_t symbols_for(size_t frame_bytes, size_t T) {
  return (kFramePrefix + frame_bytes + T - 1) / T;
}

// Symbol size for frames of about `frame_bytes`: prefix included, rounded up to 8 bytes.
inline size_t symbol_size_for(size_t frame_bytes) {
  return (kFramePrefix + frame_bytes + 7) / 8 * 8;
}

// Writes prefix + frame (no padding) into out; returns the bytes written.
size_t write_frame(std::span<const uint8_t> frame, uint32_t slot_gap, std::span<uint8_t> out);

struct PackedFrame {
  uint32_t slot_gap = 0;
  std::span<const uint8_t> data;
  size_t symbols = 0;  // how many T-byte symbols the frame occupies
};

// Reads the frame that starts at the beginning of `in` (source symbols of a block, or one
// source packet's payload). T = 0 means "unpadded": the packet form, where only the frame's
// own bytes are present.
proto::Result<PackedFrame> read_frame(std::span<const uint8_t> in, size_t T);

}  // namespace wzp::fec
