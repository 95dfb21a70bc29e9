// The real clock's Scheduler: callbacks in time order, cancellation that holds even when a slot
// is reused, a scheduler destroyed with timers pending, and a call's 5 ms steps allocating
// nothing once warm (every global allocation of this binary is counted; the loop runs the
// timers at 0 ms so that it takes no real time).
#include <gtest/gtest.h>

#include <vector>

#include "support/count_allocations.h"
#include "transport/asio_scheduler.h"

namespace wzp::transport {
namespace {

TEST(AsioScheduler, RunsInTimeOrderAndACancelledOrStaleIdNeverFires) {
  boost::asio::io_context io;
  AsioScheduler s(io);
  std::vector<int> ran;
  s.call_after(20, [&] { ran.push_back(2); });
  const uint64_t dropped = s.call_after(10, [&] { ran.push_back(99); });
  s.call_after(5, [&] { ran.push_back(1); });
  EXPECT_NE(dropped, 0u);
  s.cancel(dropped);
  // The cancelled slot is reused: its old id must not cancel the new timer.
  s.call_after(30, [&] { ran.push_back(3); });
  s.cancel(dropped);
  io.run();
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
}

TEST(AsioScheduler, ACallbackMayScheduleAgainAndGoingAwayWithTimersPendingIsSafe) {
  boost::asio::io_context io;
  int steps = 0;
  {
    auto s = std::make_unique<AsioScheduler>(io);
    std::function<void()> step = [&] {
      if (++steps < 5) s->call_after(1, step);
    };
    s->call_after(1, step);
    io.run();
    EXPECT_EQ(steps, 5);
    s->call_after(50, [&] { ++steps; });
    s->call_after(0, [&] { ++steps; });
    io.restart();
    io.run_one();  // one handler: the 0 ms one
  }
  io.restart();
  io.run();  // the 50 ms timer's cancelled wait completes after its scheduler is gone
  EXPECT_EQ(steps, 6);
}

// As RoomCall steps: the next step scheduled from the step, by a callback capturing one
// pointer. (The old scheduler allocated a timer and a map node for every call. What remains is
// Asio's: with more waits in flight than its per-thread handler cache holds, as with many calls
// on one loop, each completion allocates its handler's memory.)
struct Stepper {
  AsioScheduler& s;
  int steps = 0;
  void step() {
    ++steps;
    if (steps < 400) s.call_after(0, [this] { step(); });
  }
};

TEST(AsioScheduler, AStepEvery5MsAllocatesNothingOnceWarm) {
  boost::asio::io_context io;
  AsioScheduler s(io);
  Stepper st{s};
  s.call_after(0, [&st] { st.step(); });
  long before = 0;
  while (st.steps < 400) {
    io.run_one();
    if (st.steps == 100) before = test::allocations();
  }
  EXPECT_EQ(test::allocations() - before, 0) << "over 300 steps";
}

}  // namespace
}  // namespace wzp::transport
