// The one liveness rule, on the simulated clock: what a call and the signalling session see of
// a relay that answers, goes quiet, comes back or never answers.
#include "proto/liveness.h"

#include <gtest/gtest.h>

namespace wzp::proto {
namespace {

using State = Liveness::State;

TEST(Liveness, ADialUnansweredForThreeSecondsHasFailed) {
  Liveness l;
  l.dialled(1000);
  l.heard(1500);  // a packet of the handshake is not an answer
  EXPECT_EQ(l.state(4000), State::kDialling);
  EXPECT_EQ(l.state(4001), State::kNoAnswer);
  EXPECT_FALSE(l.ping_due(4001));  // no Pings before the answer
  EXPECT_EQ(l.since_dialled(4001), 3001u);
}

TEST(Liveness, SilenceIsInDoubtAfterTwoSecondsAndLostAfterThree) {
  Liveness l;
  l.dialled(0);
  l.answered(100);
  EXPECT_EQ(l.state(2100), State::kAlive);
  EXPECT_EQ(l.state(2101), State::kInDoubt);
  EXPECT_EQ(l.state(3100), State::kInDoubt);
  EXPECT_EQ(l.state(3101), State::kSilent);
  l.heard(3200);  // the relay speaks again: alive at once
  EXPECT_EQ(l.state(3200), State::kAlive);
  // Time that seems to run backwards (a report handled late) never makes it silent.
  l.heard(3000);
  EXPECT_EQ(l.state(5200), State::kAlive);
}

TEST(Liveness, PingsGoEvery500MsOnceAnswered) {
  Liveness l;
  l.dialled(0);
  l.answered(200);
  int pings = 0;
  for (uint64_t t = 200; t <= 3000; t += 20) pings += l.ping_due(t);
  EXPECT_EQ(pings, 6);  // at 500, 1000, ... 3000
  EXPECT_FALSE(l.ping_due(3020));
  EXPECT_TRUE(l.ping_due(3500));
}

TEST(Liveness, ARedialStartsOverAndTheConnectionHoldsFromItsAnswer) {
  Liveness l;
  l.dialled(0);
  l.answered(100);
  EXPECT_FALSE(l.held_for(5099, 5000));
  EXPECT_TRUE(l.held_for(5100, 5000));
  l.heard(200);
  l.answered(6000);  // a second answer on the same dial changes nothing
  EXPECT_TRUE(l.held_for(6000, 5000));
  l.dialled(7000);
  EXPECT_FALSE(l.held_for(20000, 5000));
  EXPECT_EQ(l.state(9000), State::kDialling);
  l.answered(9000);
  EXPECT_EQ(l.state(9000), State::kAlive);
  EXPECT_FALSE(l.held_for(13999, 5000));
}

TEST(Liveness, TheRuleIsTheCallersToSet) {
  Liveness l(LivenessRule{
      .ping_every_ms = 100, .answer_within_ms = 50, .doubt_after_ms = 200, .silent_after_ms = 400});
  l.dialled(0);
  EXPECT_EQ(l.state(51), State::kNoAnswer);
  l.answered(60);
  EXPECT_EQ(l.state(261), State::kInDoubt);
  EXPECT_EQ(l.state(461), State::kSilent);
  EXPECT_TRUE(l.ping_due(100));
}

}  // namespace
}  // namespace wzp::proto
