// The first byte of every datagram on a WarzonePhone connection says what follows
// (docs/PROTOCOL.md, "Media datagrams").
#pragma once

#include <cstdint>

namespace wzp::proto {

// 0x00/0x01: a media frame with a full or a mini header (media_frame.h). 0x02: a trunk frame,
// media of several sessions batched (trunk_frame.h). 0x03/0x04 are relay-to-relay probes:
// [tag][seq u32][sender time u64], reflected unchanged but for the tag (docs/PROTOCOL.md §10.3);
// they never carry media. 0x05 is a signalling message in a datagram (signal_framing.h,
// signal_datagram).
enum class FrameTag : uint8_t {
  kFull = 0x00,
  kMini = 0x01,
  kTrunk = 0x02,
  kProbe = 0x03,
  kProbeReply = 0x04,
  kSignal = 0x05,
};

inline constexpr uint8_t tag_byte(FrameTag t) { return static_cast<uint8_t>(t); }

// A media frame (full or mini header): what a relay forwards to a room.
inline constexpr bool is_media(uint8_t first) { return first <= tag_byte(FrameTag::kMini); }

}  // namespace wzp::proto
