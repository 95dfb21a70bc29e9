// The bridge's per-page queues allocate nothing once warm: a page's 50 frames a second each
// way cost no heap traffic. Every global allocation in the loops is counted.
#include <gtest/gtest.h>

#include "support/count_allocations.h"
#include "web/out_queue.h"

namespace wzp::web {
namespace {

// A page that reads in bursts and one that stops reading: the front (being written) is never
// dropped, the oldest waiting one is, order is kept, and the steady state allocates nothing.
TEST(OutQueue, FramesToAPageAllocateNothingOnceWarmAndASlowReaderLosesTheOldest) {
  OutQueue q;
  std::vector<uint8_t> frame(1920);
  const auto push = [&](uint32_t n) {
    frame[0] = static_cast<uint8_t>(n);
    frame[1] = static_cast<uint8_t>(n >> 8);
    return q.push(frame, true);
  };
  const auto id = [&] { return q.front().bytes[0] | q.front().bytes[1] << 8; };
  // Warm up: every slot has held a frame once.
  for (uint32_t i = 0; i < 2 * (OutQueue::kMaxWaiting + 2); ++i) {
    push(i);
    q.pop();
  }
  const long before = test::allocations();
  uint32_t n = 0;
  for (int round = 0; round < 500; ++round) {
    for (int i = 0; i < 3; ++i) push(n++);  // a burst, then the page reads it
    while (!q.empty()) q.pop();
  }
  EXPECT_EQ(test::allocations() - before, 0);
  // A page that stops reading: 100 frames while the first is being written.
  EXPECT_TRUE(push(1000));  // the only one: the caller starts writing it
  for (uint32_t i = 1001; i < 1100; ++i) EXPECT_FALSE(push(i));
  EXPECT_EQ(q.size(), OutQueue::kMaxWaiting + 1);
  EXPECT_EQ(id(), 1000);  // still the one being written
  q.pop();
  EXPECT_EQ(id(), 1100 - OutQueue::kMaxWaiting);  // the newest 50 follow, in order
  EXPECT_EQ(q.dropped(), 49u);                    // 100 frames, 51 kept
  EXPECT_EQ(test::allocations() - before, 0);
}

TEST(NewestRing, KeepsTheNewestAndAllocatesNothing) {
  const long before = test::allocations();
  NewestRing<std::array<int16_t, 960>, 10> ring;
  for (int i = 0; i < 25; ++i) ring.push_back()[0] = static_cast<int16_t>(i);
  EXPECT_EQ(ring.size(), 10u);
  EXPECT_EQ(ring.front()[0], 15);
  ring.pop_front();
  EXPECT_EQ(ring.front()[0], 16);
  EXPECT_EQ(test::allocations() - before, 0);
}

}  // namespace
}  // namespace wzp::web
