#include "proto/room_name.h"

#include <gtest/gtest.h>

#include "proto/hex.h"
#include "proto/room_secret.h"

namespace wzp::proto {
namespace {

// Known answers (computed with Python's hashlib): relays, clients and bridges of every version
// must name a room alike, and the name never appears in the SNI.
TEST(RoomName, KnownAnswers) {
  EXPECT_EQ(room_sni("ops"), "354d8815eefd1cee6d6b51874b72908f");  // SHA-256, first 16 bytes
  EXPECT_NE(room_sni("ops"), room_sni("ops2"));
  EXPECT_EQ(room_address("ops", parse_room_secret("00112233445566778899aabbccddeeff")).sni,
            "i9cede924d9ab4970d49c42e574f7748d");
}

// An invite-only room's address: its SNI names neither the room nor the secret (it differs
// from the open room's and from the same name's under another secret), and only the room's own
// key opens it. A secret is 32 hex digits, nothing else.
TEST(RoomName, AnInviteRoomsSniRevealsNeitherItsNameNorItsKey) {
  const auto secret = parse_room_secret("00112233445566778899AABBCCDDEEFF");
  ASSERT_TRUE(secret);
  const auto a = room_address("ops", secret);
  ASSERT_TRUE(a.key);
  EXPECT_EQ(a.key->size(), 32u);
  EXPECT_EQ(a.sni.size(), 33u);  // a valid DNS label
  EXPECT_TRUE(is_invite_sni(a.sni));
  EXPECT_FALSE(is_invite_sni(room_sni("ops")));  // open rooms' SNIs are hex: never 'i'
  EXPECT_EQ(a.sni.find(room_sni("ops")), std::string::npos);
  EXPECT_EQ(a.sni.find(to_hex(*a.key).substr(0, 16)), std::string::npos);
  EXPECT_NE(room_address("ops2", secret).sni, a.sni);
  EXPECT_NE(room_address("ops", parse_room_secret("00112233445566778899aabbccddeefe")).sni, a.sni);
  EXPECT_TRUE(invite_key_opens(a.sni, *a.key));
  auto wrong = *a.key;
  wrong[0] ^= 1;
  EXPECT_FALSE(invite_key_opens(a.sni, wrong));
  EXPECT_FALSE(invite_key_opens(room_sni("ops"), *a.key));
  EXPECT_FALSE(invite_key_opens(a.sni, std::span<const uint8_t>(a.key->data(), 16)));
  EXPECT_EQ(room_address("ops", std::nullopt).sni, room_sni("ops"));
  EXPECT_FALSE(room_address("ops", std::nullopt).key);
  for (const char* bad :
       {"", "0011", "00112233445566778899aabbccddeeffaa", "00112233445566778899aabbccddeefg"}) {
    EXPECT_FALSE(parse_room_secret(bad)) << bad;
  }
}

}  // namespace
}  // namespace wzp::proto
