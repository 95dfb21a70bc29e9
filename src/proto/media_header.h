// The 12-byte full media header (docs/PROTOCOL.md, "Media header").
#pragma once

#include <cstdint>
#include <span>

#include "proto/codec_id.h"
#include "proto/result.h"

namespace wzp::proto {

inline constexpr uint8_t kMediaVersion = 0;
inline constexpr uint8_t kMaxFecRatioCode = 127;

struct MediaHeader {
  static constexpr size_t kSize = 12;

  bool is_repair = false;
  CodecId codec = CodecId::kOpus24k;
  bool has_quality_report = false;
  uint8_t fec_ratio_code = 0;  // 7 bits: 0..127 maps linearly onto 0.0..2.0
  uint16_t seq = 0;
  uint32_t timestamp_ms = 0;  // since session start
  uint8_t fec_block_id = 0;
  uint8_t fec_symbol_idx = 0;
  uint8_t reserved = 0;
  uint8_t csrc_count = 0;

  // Writes exactly kSize bytes. fec_ratio_code above 127 is a programming error.
  void write(std::span<uint8_t, kSize> out) const;
  static Result<MediaHeader> parse(std::span<const uint8_t> in);

  double fec_ratio() const;
  bool operator==(const MediaHeader&) const = default;
};

// Nearest 7-bit code for a ratio, clamped to 0.0..2.0.
uint8_t fec_ratio_to_code(double ratio);
double fec_ratio_from_code(uint8_t code);

}  // namespace wzp::proto
