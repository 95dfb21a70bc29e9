// An invite-only room's secret as people pass it on (wzp-client --secret, the page's
// ?secret=): 16 random bytes written as 32 hex digits. proto::room_address turns it and the
// room's name into the room's SNI and key.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "proto/hex.h"

namespace wzp::proto {

inline constexpr size_t kRoomSecretBytes = 16;

// 32 hex digits (either case); nullopt for anything else.
inline std::optional<std::vector<uint8_t>> parse_room_secret(std::string_view text) {
  auto bytes = from_hex(text);
  if (!bytes || bytes->size() != kRoomSecretBytes) return std::nullopt;
  return bytes;
}

}  // namespace wzp::proto
