#include "proto/room_name.h"

#include <sodium.h>

#include <array>

#include "proto/hex.h"

namespace wzp::proto {

namespace {

std::array<uint8_t, 32> sha256(std::string_view label, std::span<const uint8_t> a,
                               std::string_view b = {}) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, reinterpret_cast<const uint8_t*>(label.data()), label.size());
  crypto_hash_sha256_update(&st, a.data(), a.size());
  crypto_hash_sha256_update(&st, reinterpret_cast<const uint8_t*>(b.data()), b.size());
  std::array<uint8_t, 32> h{};
  crypto_hash_sha256_final(&st, h.data());
  return h;
}

std::string hex16(const std::array<uint8_t, 32>& h) {
  return to_hex(std::span<const uint8_t>(h.data(), 16));
}

}  // namespace

std::string room_sni(const std::string& room) {
  return hex16(sha256("featherchat-group:", {}, room));
}

RoomAddress room_address(const std::string& room,
                         const std::optional<std::vector<uint8_t>>& secret) {
  if (!secret) return {room_sni(room), std::nullopt};
  const auto key = sha256("wzp-room-key:", *secret, room);
  return {"i" + hex16(sha256("wzp-room-sni:", key)), std::vector<uint8_t>(key.begin(), key.end())};
}

bool is_invite_sni(std::string_view sni) { return !sni.empty() && sni.front() == 'i'; }

bool invite_key_opens(std::string_view sni, std::span<const uint8_t> key) {
  return is_invite_sni(sni) && key.size() == 32 &&
         sni.substr(1) == hex16(sha256("wzp-room-sni:", key));
}

}  // namespace wzp::proto
