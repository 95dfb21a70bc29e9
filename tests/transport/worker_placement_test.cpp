// Where a relay's workers' new connections go (worker_placement.h), on a simulated clock.
#include "transport/worker_placement.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "proto/room_name.h"
#include "transport/quic.h"

namespace wzp::transport {
namespace {

// Forty rooms of ten join one after another, as wzp-bench relay's do: by the hash of their
// names alone the two workers would hold 270 and 130 connections; placed, they stay within the
// margin (1/32 of all, at least 4) plus one room, and every member of a room is on its worker.
TEST(WorkerPlacement, RoomsJoiningOneAfterAnotherStayEvenOverTwoWorkers) {
  WorkerPlacement placement(2);
  std::array<size_t, 2> by_hash{};
  std::map<std::string, size_t> room_on;
  uint64_t now = 0;
  for (int r = 0; r < 40; ++r) {
    const std::string sni = proto::room_sni("bench-" + std::to_string(r));
    const uint8_t byte = sni_route_byte(sni);
    by_hash[byte % 2] += 10;
    for (int m = 0; m < 10; ++m) {
      const size_t w = placement.place(byte, now);
      if (m == 0) room_on[sni] = w;
      EXPECT_EQ(w, room_on[sni]) << "a room split over workers";
      placement.opened(byte, w, now);
      now += 5;
    }
    const size_t a = placement.load(0), b = placement.load(1);
    EXPECT_LE(std::max(a, b) - std::min(a, b), std::max<size_t>(4, (a + b) / 32) + 10);
  }
  EXPECT_EQ(placement.load(0) + placement.load(1), 400u);
  EXPECT_GE(std::max(by_hash[0], by_hash[1]), 250u);  // what the hash alone would have done
  EXPECT_LE(std::max(placement.load(0), placement.load(1)), 215u);
}

// A byte keeps its worker while it has connections, and for kHoldMs after the last one went
// (a client sent to it by a Retry may come back that late); then it is placed afresh, on the
// worker it names when the loads allow.
TEST(WorkerPlacement, AByteKeepsItsWorkerWhileHeldAndForAWhileAfter) {
  WorkerPlacement placement(2);
  uint64_t now = 1000;
  // Worker 0 holds ten connections, worker 1 none: byte 100, which names worker 0, goes to 1.
  for (int i = 0; i < 10; ++i) placement.opened(2, 0, now);
  const size_t to = placement.place(100, now);
  EXPECT_EQ(to, 1u);
  // Not yet connected (the client is on its way back after the Retry): still worker 1.
  EXPECT_EQ(placement.place(100, now + WorkerPlacement::kHoldMs - 1), 1u);
  placement.opened(100, 1, now + 100);
  for (int i = 0; i < 10; ++i) placement.closed(2, 0, now + 200);
  EXPECT_EQ(placement.place(100, now + 50000), 1u);  // held: a connection is live
  placement.closed(100, 1, now + 60000);
  EXPECT_EQ(placement.place(100, now + 60000 + WorkerPlacement::kHoldMs), 1u);
  // Long gone: placed afresh, on the worker it names (both are empty now).
  EXPECT_EQ(placement.place(100, now + 60000 + 2 * WorkerPlacement::kHoldMs + 2), 0u);
}

TEST(WorkerPlacement, ClosingMoreThanWasOpenedCannotUnderflow) {
  WorkerPlacement placement(3);
  placement.closed(7, 1, 0);
  EXPECT_EQ(placement.load(1), 0u);
  EXPECT_THROW(WorkerPlacement(0), std::invalid_argument);
  EXPECT_THROW(WorkerPlacement(257), std::invalid_argument);
}

}  // namespace
}  // namespace wzp::transport
