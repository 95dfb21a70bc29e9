// Codec identifiers as carried in the 4-bit codec field of the media header.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace wzp::proto {

enum class CodecId : uint8_t {
  kOpus24k = 0,
  kOpus16k = 1,
  kOpus6k = 2,
  kCodec2_3200 = 3,
  kCodec2_1200 = 4,
  kComfortNoise = 5,
  kOpus32k = 6,
  kOpus48k = 7,
  kOpus64k = 8,
  kOpus9k = 9,     // 40 ms: the heavy-loss rung, under Opus 16k and above Opus 6k
  kOpus7k60 = 10,  // 60 ms frames: a narrow path, where every packet's own headers count
};

inline constexpr uint8_t kMaxCodecId = 10;

struct CodecInfo {
  CodecId id;
  std::string_view name;
  uint32_t bitrate_bps;  // nominal codec rate; 0 for comfort noise
  uint32_t frame_ms;     // duration of one encoded frame
  bool is_opus;
};

// nullopt for a value outside the table (10..15 on the wire).
std::optional<CodecId> codec_from_wire(uint8_t value);
const CodecInfo& codec_info(CodecId id);
std::optional<CodecId> codec_from_name(std::string_view name);

}  // namespace wzp::proto
