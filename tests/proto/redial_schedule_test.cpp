// The one reconnect schedule (SignalSession and RoomCall both follow it), on a simulated clock.
#include "proto/redial_schedule.h"

#include <gtest/gtest.h>

#include <vector>

namespace wzp::proto {
namespace {

// Every dial fails at once: the dial times are the schedule itself. At once, then 1, 2, 4, 8,
// 15 and 30 s after each failure, 30 s from then on, never giving up.
TEST(RedialSchedule, TheExactScheduleNeverGivesUp) {
  SimScheduler clock;
  std::vector<uint64_t> dials;
  std::vector<RedialSchedule::Step> steps;
  RedialSchedule* self = nullptr;
  RedialSchedule redial(clock, [&] {
    dials.push_back(clock.now_ms());
    steps.push_back(*self->next());  // this try failed too
  });
  self = &redial;
  steps.push_back(*redial.next());  // the connection is lost at 0
  clock.advance(200000);
  const std::vector<uint64_t> expected = {0,     1000,  3000,   7000,   15000, 30000,
                                          60000, 90000, 120000, 150000, 180000};
  ASSERT_GE(dials.size(), expected.size());
  EXPECT_EQ(std::vector<uint64_t>(dials.begin(), dials.begin() + expected.size()), expected);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(steps[i].attempt, i + 1);
    EXPECT_EQ(steps[i].delay_ms, RedialSchedule::kStepsMs[std::min<size_t>(i, 6)]);
  }
}

// Single flight: a second loss while a dial is due schedules nothing. A reset (a success)
// starts the next loss over at once; a restart (a new target) drops what was due and dials now.
TEST(RedialSchedule, OneDialAtATimeResetAndRestart) {
  SimScheduler clock;
  int dials = 0;
  RedialSchedule redial(clock, [&] { ++dials; });
  ASSERT_TRUE(redial.next());
  clock.advance(0);
  ASSERT_TRUE(redial.next());   // 1 s
  EXPECT_FALSE(redial.next());  // already due
  EXPECT_TRUE(redial.due());
  clock.advance(999);
  EXPECT_EQ(dials, 1);
  clock.advance(1);
  EXPECT_EQ(dials, 2);
  EXPECT_EQ(redial.next()->delay_ms, 2000u);
  const auto step = redial.restart();  // another relay: now, from the start
  EXPECT_EQ(step.delay_ms, 0u);
  EXPECT_EQ(step.attempt, 1u);
  clock.advance(0);
  EXPECT_EQ(dials, 3);
  clock.advance(5000);
  EXPECT_EQ(dials, 3);  // the 2 s dial was dropped
  redial.reset();
  EXPECT_EQ(redial.next()->delay_ms, 0u);
  redial.cancel();
  clock.advance(100000);
  EXPECT_EQ(dials, 3);
}

}  // namespace
}  // namespace wzp::proto
