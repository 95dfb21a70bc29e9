#include "proto/roster.h"

#include <gtest/gtest.h>

namespace wzp::proto {
namespace {

Participant member(uint32_t session, const std::string& name) {
  Participant p;
  p.session_id = session;
  p.display_name = name;
  return p;
}

// The first update lists the room; the later ones only what changed: a join adds one entry, a
// mute replaces it, a leave takes it out, and a whole list again starts over.
TEST(Roster, FollowsAWholeRoomThenItsChanges) {
  Roster r;
  r.apply({.room = "r", .participants = {member(1, "alice"), member(2, "bob")}});
  ASSERT_EQ(r.size(), 2u);
  r.apply({.room = "r", .participants = {member(3, "carol")}, .delta = true});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r.members().at(3).display_name, "carol");
  Participant muted = member(1, "alice");
  muted.muted = true;
  r.apply({.room = "r", .participants = {muted}, .delta = true});
  EXPECT_EQ(r.size(), 3u);
  EXPECT_TRUE(r.members().at(1).muted.value_or(false));
  r.apply({.room = "r", .participants = {}, .delta = true, .left = {{2, 7}}});  // 7: never here
  EXPECT_EQ(r.size(), 2u);
  EXPECT_FALSE(r.members().contains(2));
  r.apply({.room = "r", .participants = {member(9, "dave")}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r.members().contains(9));
}

// A hostile relay that keeps announcing newcomers cannot grow a member's list past its bound;
// members already listed still change.
TEST(Roster, AHostileRelaysEndlessJoinsAreBounded) {
  Roster r;
  r.apply({.room = "r", .participants = {member(0, "first")}});
  for (uint32_t i = 1; i < Roster::kMaxMembers + 500; ++i) {
    r.apply({.room = "r", .participants = {member(i, "x")}, .delta = true});
  }
  EXPECT_EQ(r.size(), Roster::kMaxMembers);
  EXPECT_EQ(r.ignored(), 500u);
  Participant renamed = member(0, "first");
  renamed.muted = true;
  r.apply({.room = "r", .participants = {renamed}, .delta = true});
  EXPECT_TRUE(r.members().at(0).muted.value_or(false));
}

}  // namespace
}  // namespace wzp::proto
