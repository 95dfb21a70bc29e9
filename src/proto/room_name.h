// How a room is named on the wire. The name travels hashed in the TLS SNI: hex of the first 16
// bytes of SHA-256("featherchat-group:" || name), a valid DNS label that does not reveal the
// room.
//
// An invite-only room: the name plus a 16-byte secret that only its members hold
// (room_secret.h). The key (SHA-256("wzp-room-key:" || secret || name)) travels inside TLS in
// the CallOffer; the SNI is "i" and the hex of the first 16 bytes of
// SHA-256("wzp-room-sni:" || key), so an observer who reads it learns neither the name, the
// secret nor the key, and the relay admits to it only an offer whose key hashes to it. Without a
// secret: the open room, room_sni(room).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wzp::proto {

// The reserved room whose relay sends a member's media back to that member only.
inline constexpr const char* kEchoRoom = "echo";

std::string room_sni(const std::string& room);

struct RoomAddress {
  std::string sni;
  std::optional<std::vector<uint8_t>> key;  // set for an invite-only room
};
RoomAddress room_address(const std::string& room,
                         const std::optional<std::vector<uint8_t>>& secret);
bool is_invite_sni(std::string_view sni);
bool invite_key_opens(std::string_view sni, std::span<const uint8_t> key);

}  // namespace wzp::proto
