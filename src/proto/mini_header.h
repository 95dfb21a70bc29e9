// The 4-byte mini header a media frame carries between full headers (docs/PROTOCOL.md, "Media
// datagrams"): the timestamp's delta from the last full header and the payload's length. The
// rest of the header follows from context (MediaFrameReader, media_frame.h).
#pragma once

#include <cstdint>
#include <span>

#include "proto/result.h"

namespace wzp::proto {

struct MiniHeader {
  static constexpr size_t kSize = 4;
  uint16_t ts_delta_ms = 0;  // since the last full header's timestamp
  uint16_t payload_len = 0;

  void write(std::span<uint8_t, kSize> out) const;
  static Result<MiniHeader> parse(std::span<const uint8_t> in);
  bool operator==(const MiniHeader&) const = default;
};

}  // namespace wzp::proto
