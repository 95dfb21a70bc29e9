#include "transport/datagram_pacer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <random>

namespace wzp::transport {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kLost = 1ull << 63;  // in a scheduled acknowledgement: a loss declared instead

// One direction of a path: a FIFO drained at `kbps` (0: no limit), then a fixed delay plus
// uniform jitter; acknowledgements come straight back after `back_ms` (plus its own jitter).
struct Path {
  double kbps = 0;
  uint64_t delay_ms = 10, back_ms = 10, jitter_ms = 0;
  double loss = 0;          // in bursts of three: declared lost 60 ms after leaving
  bool ack_pairs = false;   // datagrams acknowledged two at a time
  uint64_t busy_until = 0;  // when the FIFO's last packet has left
  int burst_left = 0;
  std::mt19937 rng{7};
  uint64_t jitter() {
    return jitter_ms ? std::uniform_int_distribution<uint64_t>(0, jitter_ms)(rng) * kMs : 0;
  }
  bool lose() {
    if (burst_left > 0) return --burst_left, true;
    if (std::uniform_real_distribution<double>(0, 1)(rng) < loss / 3) return burst_left = 2, true;
    return false;
  }
  // When the acknowledgement of `bytes` sent at `now` reaches the sender.
  uint64_t ack_at(size_t bytes, uint64_t now) {
    uint64_t leaves = now;
    if (kbps > 0) {
      leaves = std::max(now, busy_until) +
               static_cast<uint64_t>(static_cast<double>(bytes) * 8 / kbps * 1e6);
      busy_until = leaves;
    }
    return leaves + delay_ms * kMs + jitter() + back_ms * kMs + jitter();
  }
  double queue_ms(uint64_t now) const {
    return busy_until > now ? static_cast<double>(busy_until - now) / kMs : 0;
  }
};

struct StreamRun {
  uint64_t sent = 0, shed = 0, limited_at = 0;
  double worst_queue_after_4s = 0;
};

// A stream through `path` for `seconds`, with the pacer in front: every 20 ms, `bytes(ms)`
// bytes (0: nothing this time); `before` runs before each send (other traffic on the path).
template <typename Bytes, typename Before>
StreamRun stream(DatagramPacer& pacer, Path& path, Bytes bytes, uint64_t seconds, Before before) {
  StreamRun r;
  std::vector<std::pair<uint64_t, uint64_t>> acks;  // (when, id)
  uint64_t id = 0;
  for (uint64_t now = kMs; now < seconds * 1000 * kMs; now += 20 * kMs) {
    std::sort(acks.begin(), acks.end());
    size_t done = 0;
    for (; done < acks.size() && acks[done].first <= now; ++done) {
      const uint64_t id = acks[done].second & ~kLost;
      if (acks[done].second & kLost) {
        pacer.lost(id, acks[done].first);
      } else {
        pacer.acked(id, acks[done].first);
      }
    }
    acks.erase(acks.begin(), acks.begin() + static_cast<std::ptrdiff_t>(done));
    if (pacer.state().limiting && r.limited_at == 0) r.limited_at = now;
    before(now);
    if (now > 4000 * kMs)
      r.worst_queue_after_4s = std::max(r.worst_queue_after_4s, path.queue_ms(now));
    const size_t n = bytes(now / kMs);
    if (n == 0) continue;
    if (!pacer.admit(n, now)) {
      ++r.shed;
      continue;
    }
    pacer.sent(id, n, now);
    uint64_t at = path.ack_at(n, now);
    // One ACK frame for every second datagram, as QUIC receivers do: both come back together.
    if (path.ack_pairs && id % 2 == 1 && !acks.empty() && !(acks.back().second & kLost)) {
      at = std::max(at, acks.back().first);
      acks.back().first = at;
    }
    const bool lost = path.lose();
    acks.emplace_back(lost ? at + 60 * kMs : at, lost ? (id | kLost) : id);
    ++id;
    ++r.sent;
  }
  return r;
}

size_t every_20ms(uint64_t) { return 150; }
void nothing(uint64_t) {}

TEST(DatagramPacer, AStreamTwiceWhatThePathCarriesIsShedToAShortQueue) {
  // 150 bytes every 20 ms is 60 kbit/s into 24: unchecked, the queue would grow by 1.5 s a second.
  DatagramPacer pacer;
  Path path{.kbps = 24};
  const StreamRun r = stream(pacer, path, every_20ms, 20, nothing);
  ASSERT_TRUE(pacer.state().limiting);
  // Round trips show the queue a queue's length late: limiting begins within 1.5 s, and a sender
  // that never listens (ours is told the capacity and cuts) meets a queue of 0.5 s at most.
  EXPECT_LT(r.limited_at, 1500 * kMs);
  EXPECT_LT(r.worst_queue_after_4s, 500);
  // What got through is what the path carries, and the capacity told to the senders is it.
  EXPECT_NEAR(static_cast<double>(r.sent) * 150 * 8 / 20 / 1000, 24, 4);
  EXPECT_NEAR(pacer.state().capacity_kbps, 24, 6);
}

// Two minutes of a 60 kbit/s stream through `path` (no rate limit) shed nothing.
void expect_no_queue(Path path) {
  DatagramPacer pacer;
  const StreamRun r = stream(pacer, path, every_20ms, 120, nothing);
  EXPECT_EQ(r.shed, 0u);
  EXPECT_FALSE(pacer.state().limiting);
}

TEST(DatagramPacer, JitterOfPlusMinus80MsEachWayIsNoQueue) {
  // 120-280 ms each way, the hostile profile's jitter: round trips scattered over 320 ms.
  expect_no_queue({.delay_ms = 120, .back_ms = 120, .jitter_ms = 160});
  expect_no_queue({.delay_ms = 120, .back_ms = 120, .jitter_ms = 160, .ack_pairs = true});
}

TEST(DatagramPacer, BurstyLossIsNoQueue) {
  // 40 % loss in runs of three, each declared lost 60 ms on: the acknowledgements' pace falls,
  // but the round trips stay those of an empty path.
  expect_no_queue({.delay_ms = 1, .back_ms = 1, .loss = 0.4});
}

TEST(DatagramPacer, ABurstOfOtherTrafficThatDrainsByItselfShedsNothing) {
  // A member joins: 1.5 kB of signalling ahead of a stream at 15 kbit/s stands as a
  // 500 ms queue for a moment, and drains without the stream's help.
  DatagramPacer pacer;
  Path path{.kbps = 24};
  bool burst = false;
  const StreamRun r = stream(
      pacer, path, [](uint64_t ms) { return ms % 40 < 20 ? 75 : 0; }, 20,
      [&](uint64_t now) {
        if (!burst && now >= 5000 * kMs) {
          burst = true;
          path.busy_until = std::max(path.busy_until, now) + 500 * kMs;
        }
      });
  EXPECT_EQ(r.shed, 0u);
}

TEST(DatagramPacer, ItLetsGoOnceTheSenderFitsThePath) {
  // 60 kbit/s for 5 s; then the sender, told the capacity, sends 100 bytes every 60 ms (13 kbit/s).
  DatagramPacer pacer;
  Path path{.kbps = 24};
  bool limited = false;
  const StreamRun r = stream(
      pacer, path, [](uint64_t ms) -> size_t { return ms < 5000      ? 150
                                                      : ms % 60 < 20 ? 100
                                                                     : 0; },
      10, [&](uint64_t) { limited = limited || pacer.state().limiting; });
  EXPECT_TRUE(limited);
  EXPECT_FALSE(pacer.state().limiting);
  EXPECT_LT(r.worst_queue_after_4s, 300);
}

TEST(DatagramPacer, ItsMemoryIsBoundedWhateverIsNeverAcknowledged) {
  DatagramPacer pacer;
  for (uint64_t id = 0; id < 100'000; ++id) pacer.sent(id, 1200, id * kMs);
  for (uint64_t id = 0; id < 100'000; ++id) pacer.acked(id, 200'000 * kMs);  // most long forgotten
  pacer.acked(12345678, 0);                                                  // never sent
  pacer.lost(99'999, 200'000 * kMs);
  pacer.lost(99'999, 200'000 * kMs);
  EXPECT_LT(sizeof(DatagramPacer), 64u * 1024);
  // Datagrams never heard of again leave nothing behind: a small stream afterwards sees no queue.
  Path path{.kbps = 24};
  const StreamRun r = stream(
      pacer, path, [](uint64_t ms) -> size_t { return ms % 60 < 20 ? 100 : 0; }, 20, nothing);
  EXPECT_EQ(r.shed, 0u);
  EXPECT_FALSE(pacer.state().limiting);
}

// The probe train a relay sends a member that joins: three 640-byte datagrams back to back.
constexpr uint64_t kProbes = DatagramPacer::kProbes;

struct Train {
  DatagramPacer pacer;
  bool began = false;
  bool again = false;  // the pacer asked for another train
  // Acknowledgements at these times (ms), in this order of ids (0, 1, ... unless told); kLost:
  // that probe is declared lost instead.
  void answer(std::array<uint64_t, kProbes> at_ms,
              std::array<uint64_t, kProbes> ids = {0, 1, 2, 3, 4}) {
    pacer.probe(0, 0);
    for (uint64_t i = 0; i < kProbes; ++i) pacer.sent(i, 698, 0);
    for (size_t k = 0; k < kProbes; ++k) {
      began = (at_ms[k] == kLost ? pacer.lost(ids[k], 0) : pacer.acked(ids[k], at_ms[k] * kMs)) ||
              began;
    }
    again = pacer.wants_train();
  }
};

TEST(DatagramPacer, AProbeTrainMeasuresANarrowPathBeforeAnyMedia) {
  Train narrow;
  narrow.pacer.probe(0, 0);
  EXPECT_TRUE(narrow.pacer.admit(698, kMs, true));  // the probes themselves go
  EXPECT_FALSE(narrow.pacer.admit(100, kMs));       // media waits for the answer
  // 698 bytes through 24 kbit/s take 233 ms each: so far apart come the acknowledgements.
  Path path{.kbps = 24};
  std::array<uint64_t, kProbes> at{};
  for (auto& a : at) a = path.ack_at(698, 0) / kMs;
  narrow.answer(at);
  EXPECT_TRUE(narrow.began);
  EXPECT_TRUE(narrow.pacer.state().limiting);
  EXPECT_NEAR(narrow.pacer.state().capacity_kbps, 24, 0.5);
  EXPECT_FALSE(narrow.pacer.probing(at[kProbes - 1] * kMs));
}

// A narrow path that also loses packets: a probe lost on the way, or an acknowledgement lost on
// the way back (the next one acknowledges both at once), still leaves gaps that tell its rate.
TEST(DatagramPacer, AProbeTrainOnALossyNarrowPathStillMeasuresIt) {
  Train probe_lost;  // the first probe never arrives
  probe_lost.answer({kLost, 243, 476, 709, 942});
  EXPECT_TRUE(probe_lost.began);
  EXPECT_NEAR(probe_lost.pacer.state().capacity_kbps, 24, 0.5);
  Train ack_lost;  // the second probe's acknowledgement came with the third's
  ack_lost.answer({243, 709, 709, 942, 1175});
  EXPECT_TRUE(ack_lost.began);
  EXPECT_NEAR(ack_lost.pacer.state().capacity_kbps, 24, 0.5);
  Train two_lost;  // the third and the fifth, lost before the link: they took no time there
  two_lost.answer({810, 1025, kLost, 1243, kLost});
  EXPECT_TRUE(two_lost.began);
  EXPECT_NEAR(two_lost.pacer.state().capacity_kbps, 25.5, 0.5);
  Train after_link;  // lost after the link: the gap across it spans two and disagrees
  after_link.answer({243, 476, kLost, 942, kLost});
  EXPECT_FALSE(after_link.pacer.state().limiting);
  Train no_neighbours;  // the second and the fourth: no neighbours left with times of their own
  no_neighbours.answer({243, kLost, 476, kLost, 709});
  EXPECT_FALSE(no_neighbours.pacer.state().limiting);
  EXPECT_FALSE(no_neighbours.pacer.probing(1200 * kMs));  // media goes again at once
  EXPECT_TRUE(no_neighbours.again);  // ... unless another train is sent: loss, not the path
  EXPECT_FALSE(no_neighbours.pacer.wants_train());  // asked once
  // Seeded: 10 % random loss on the probes and on their acknowledgements, 1000 joins through
  // 24 kbit/s: most first trains measure it, and with the trains loss makes the pacer ask for
  // again, nearly every join does; none wrongly.
  std::mt19937 rng(7);
  std::bernoulli_distribution lose(0.1);
  int measured = 0, measured_first = 0, trains = 0;
  for (int k = 0; k < 1000; ++k) {
    Train t;
    for (uint32_t n = 0; n < DatagramPacer::kProbeTrains && (n == 0 || t.again); ++n) {
      std::array<uint64_t, kProbes> at{};
      std::array<bool, kProbes> arrived{}, acked{};
      for (uint64_t i = 0; i < kProbes; ++i) arrived[i] = !lose(rng), acked[i] = !lose(rng);
      // A lost probe takes no time on the link (the loss is before the narrow link, as in
      // wzp-netem); an acknowledgement lost is carried by the next one that arrives.
      uint64_t link = 0;
      for (uint64_t i = 0; i < kProbes; ++i) {
        if (!arrived[i]) continue;
        link += 233;
        at[i] = link + 10;
      }
      uint64_t carry_to = 0;
      for (int64_t i = kProbes - 1; i >= 0; --i) {
        if (!arrived[i]) {
          at[i] = kLost;
          continue;
        }
        if (acked[i]) carry_to = at[i];
        at[i] = acked[i] || carry_to == 0 ? at[i] : carry_to;
        if (!acked[i] && carry_to == 0) at[i] = kLost;  // nothing after it to carry it
      }
      t.answer(at);
      ++trains;
      if (n == 0 && t.pacer.state().limiting) ++measured_first;
    }
    if (t.pacer.state().limiting) {
      ++measured;
      EXPECT_NEAR(t.pacer.state().capacity_kbps, 24, 1.0);
    }
  }
  EXPECT_GT(measured_first, 800);
  EXPECT_GT(measured, 990);
  EXPECT_LT(trains, 1250);  // a second or third train for about one join in six
}

// The last probe's acknowledgement lost: the peer acknowledges it only with whatever comes
// next, a probe timeout or seconds later. Neither that late time nor the wait for it counts.
TEST(DatagramPacer, ALastAcknowledgementLostIsNotWaitedFor) {
  Train late;  // it came 5 s after the others: the other gaps decide
  late.answer({243, 476, 709, 942, 5942});
  EXPECT_TRUE(late.began);
  EXPECT_NEAR(late.pacer.state().capacity_kbps, 24, 0.5);
  DatagramPacer pacer;  // it never came: three of the largest gaps after the last, the verdict
  pacer.probe(0, 0);
  for (uint64_t i = 0; i < kProbes; ++i) pacer.sent(i, 698, 0);
  EXPECT_EQ(pacer.deadline(), UINT64_MAX);  // nothing answered yet
  for (uint64_t i = 0; i + 1 < kProbes; ++i) EXPECT_FALSE(pacer.acked(i, (243 + 233 * i) * kMs));
  EXPECT_EQ(pacer.deadline(), (942 + 3 * 233) * kMs);
  EXPECT_FALSE(pacer.poll(1600 * kMs));
  EXPECT_TRUE(pacer.poll(1641 * kMs));
  EXPECT_NEAR(pacer.state().capacity_kbps, 24, 0.5);
  EXPECT_FALSE(pacer.acked(kProbes - 1, 5000 * kMs));  // ... and its late answer is no sample
  EXPECT_NEAR(pacer.state().queue_ms, 0, 1e-9);
  DatagramPacer middle;  // a probe in the middle unanswered: its answer may still come
  middle.probe(0, 0);
  for (uint64_t i = 0; i < kProbes; ++i) middle.sent(i, 698, 0);
  middle.acked(0, 243 * kMs), middle.acked(2, 709 * kMs), middle.acked(3, 942 * kMs);
  EXPECT_EQ(middle.deadline(), UINT64_MAX);
}

TEST(DatagramPacer, AProbeTrainThatWasJitteredReorderedOrLostSaysNothing) {
  Train fast;  // acknowledged together
  fast.answer({2, 2, 2, 2, 2});
  EXPECT_FALSE(fast.pacer.state().limiting);
  EXPECT_FALSE(fast.again);  // a wide path: measured, no train again
  Train reordered;
  reordered.answer({100, 150, 300, 450, 600}, {1, 0, 2, 3, 4});
  EXPECT_FALSE(reordered.pacer.state().limiting);
  Train scattered;  // in order, but 60, 140, 150 and 150 ms apart
  scattered.answer({100, 160, 300, 450, 600});
  EXPECT_FALSE(scattered.pacer.state().limiting);
  EXPECT_FALSE(reordered.again || scattered.again);  // jitter: another train would say as little
  Train lost;
  lost.pacer.probe(0, 0);
  for (uint64_t i = 0; i < kProbes; ++i) lost.pacer.sent(i, 698, 0);
  lost.pacer.acked(0, 233 * kMs);
  lost.pacer.lost(1, 240 * kMs);
  lost.pacer.lost(3, 250 * kMs);
  EXPECT_FALSE(lost.pacer.acked(2, 500 * kMs));
  EXPECT_FALSE(lost.pacer.acked(4, 700 * kMs));
  EXPECT_FALSE(lost.pacer.state().limiting);
  EXPECT_FALSE(lost.pacer.probing(700 * kMs));  // media goes again at once
  Train most_lost;  // one of five back: no train again (each would hold media back again)
  most_lost.answer({kLost, kLost, 476, kLost, kLost});
  EXPECT_FALSE(most_lost.again);
  // Jitter of 0-160 ms on each probe and on each acknowledgement: of 2000 trains, hardly any
  // reads as a narrow path.
  std::mt19937 rng(7);
  int narrow = 0;
  for (int k = 0; k < 2000; ++k) {
    std::array<std::pair<uint64_t, uint64_t>, kProbes> acks;
    for (uint64_t i = 0; i < kProbes; ++i) {
      acks[i] = {240 + std::uniform_int_distribution<uint64_t>(0, 160)(rng) +
                     std::uniform_int_distribution<uint64_t>(0, 160)(rng),
                 i};
    }
    std::sort(acks.begin(), acks.end());
    std::array<uint64_t, kProbes> at, ids;
    for (uint64_t i = 0; i < kProbes; ++i) at[i] = acks[i].first, ids[i] = acks[i].second;
    Train t;
    t.answer(at, ids);
    narrow += t.pacer.state().limiting;
  }
  EXPECT_LT(narrow, 2000 / 100);
}

}  // namespace
}  // namespace wzp::transport
