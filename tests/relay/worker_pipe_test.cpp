// The pipe between two workers' event loops (workers.h): what the producer sends arrives in
// order; one datagram fanned out to several connections travels as one message; a full ring
// drops datagrams (counted) but never a message that must arrive.
#include <gtest/gtest.h>

#include <utility>

#include <boost/asio.hpp>
#include <thread>

#include "relay/workers.h"

namespace wzp::relay {
namespace {

namespace asio = boost::asio;

struct Seen {
  WorkerMessage::Kind kind;
  std::vector<uint64_t> conns;  // a datagram's; a message's single connection otherwise
  std::vector<uint8_t> bytes;
};

WorkerMessage control(uint64_t conn, std::vector<uint8_t> bytes) {
  WorkerMessage m;
  m.kind = WorkerMessage::Kind::kSendStream;
  m.conn = conn;
  m.bytes = std::move(bytes);
  return m;
}

// Producer and consumer loops on the test's thread: run() lets both take their turns.
struct Pipe {
  asio::io_context producer, consumer;
  WorkerPipe pipe{producer, consumer};
  std::vector<Seen> seen;
  Pipe() {
    pipe.consume([this](WorkerMessage& m) {
      seen.push_back(
          {m.kind,
           m.kind == WorkerMessage::Kind::kSendDatagram ? m.conns : std::vector<uint64_t>{m.conn},
           m.bytes});
    });
  }
  void run() {
    for (int i = 0; i < 5; ++i) {
      producer.poll();
      producer.restart();
      consumer.poll();
      consumer.restart();
    }
  }
};

const std::vector<uint8_t> kA{1, 2, 3}, kB{4, 5, 6};

TEST(WorkerPipe, ADatagramFannedOutTravelsOnceAndOrderIsKept) {
  Pipe p;
  EXPECT_TRUE(p.pipe.send_datagram(1, kA));
  EXPECT_TRUE(p.pipe.send_datagram(2, kA));
  EXPECT_TRUE(p.pipe.send_datagram(3, kA));
  EXPECT_TRUE(p.pipe.send_datagram(3, kA));  // the same bytes twice to one: sent twice
  EXPECT_TRUE(p.pipe.send_datagram(4, kB));
  EXPECT_TRUE(p.pipe.send(control(5, {9})));  // a message in between ends the fan-out
  EXPECT_TRUE(p.pipe.send_datagram(6, kB));
  EXPECT_TRUE(p.seen.empty());  // nothing before the consumer's turn
  p.run();
  ASSERT_EQ(p.seen.size(), 5u);
  EXPECT_EQ(p.seen[0].conns, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(p.seen[0].bytes, kA);
  EXPECT_EQ(p.seen[1].conns, (std::vector<uint64_t>{3}));
  EXPECT_EQ(p.seen[1].bytes, kA);
  EXPECT_EQ(p.seen[2].conns, (std::vector<uint64_t>{4}));
  EXPECT_EQ(p.seen[2].bytes, kB);
  EXPECT_EQ(p.seen[3].kind, WorkerMessage::Kind::kSendStream);
  EXPECT_EQ(p.seen[3].conns, (std::vector<uint64_t>{5}));
  EXPECT_EQ(p.seen[4].conns, (std::vector<uint64_t>{6}));
  EXPECT_EQ(p.pipe.dropped(), 0u);

  // The next turn's first datagram starts a message of its own, even with the same bytes.
  p.seen.clear();
  EXPECT_TRUE(p.pipe.send_datagram(7, kB));
  p.run();
  ASSERT_EQ(p.seen.size(), 1u);
  EXPECT_EQ(p.seen[0].conns, (std::vector<uint64_t>{7}));
}

TEST(WorkerPipe, AFullRingDropsDatagramsButKeepsWhatMustArrive) {
  Pipe p;
  std::vector<uint8_t> d(8);
  for (size_t i = 0; i < WorkerPipe::kRingSlots; ++i) {
    d[0] = static_cast<uint8_t>(i);
    d[1] = static_cast<uint8_t>(i >> 8);
    ASSERT_TRUE(p.pipe.send_datagram(i, d)) << i;
  }
  d[2] = 1;
  EXPECT_FALSE(p.pipe.send_datagram(99999, d));  // no slot left for a new message
  EXPECT_EQ(p.pipe.dropped(), 1u);
  EXPECT_TRUE(p.pipe.send(control(42, {7})));  // waits in the backlog
  EXPECT_EQ(p.pipe.backlog(), 1u);
  EXPECT_FALSE(p.pipe.send_datagram(5, d));  // behind the backlog: dropped too
  // The backlog is retried each millisecond once the consumer has made room.
  for (int turns = 0; turns < 1000 && p.seen.size() < WorkerPipe::kRingSlots + 1; ++turns) {
    p.run();
    p.producer.run_for(std::chrono::milliseconds(2));
    p.producer.restart();
  }
  ASSERT_EQ(p.seen.size(), WorkerPipe::kRingSlots + 1);
  EXPECT_EQ(p.seen.back().kind, WorkerMessage::Kind::kSendStream);
  EXPECT_EQ(p.seen.back().conns, (std::vector<uint64_t>{42}));
  EXPECT_EQ(p.pipe.backlog(), 0u);
  EXPECT_EQ(p.pipe.dropped(), 2u);
}

// The producer on a thread of its own, as worker 0 is: every fanned-out datagram reaches every
// connection it was sent to, in order, with nothing lost while the ring has room.
TEST(WorkerPipe, AcrossThreadsEveryFanOutArrivesInOrder) {
  asio::io_context producer, consumer;
  WorkerPipe pipe{producer, consumer};
  constexpr uint64_t kDatagrams = 20000, kFanOut = 4;
  std::vector<uint64_t> next(kFanOut, 0);
  uint64_t received = 0;
  bool in_order = true;
  pipe.consume([&](WorkerMessage& m) {
    const uint64_t n = m.bytes[0] | (uint64_t{m.bytes[1]} << 8) | (uint64_t{m.bytes[2]} << 16);
    for (const uint64_t c : m.conns) {
      in_order = in_order && next[c] == n;
      next[c] = n + 1;
      ++received;
    }
    if (received == kDatagrams * kFanOut) consumer.stop();
  });
  std::thread sender([&] {
    std::vector<uint8_t> d(3);
    for (uint64_t k = 0; k < kDatagrams; ++k) {
      d = {static_cast<uint8_t>(k), static_cast<uint8_t>(k >> 8), static_cast<uint8_t>(k >> 16)};
      for (uint64_t c = 0; c < kFanOut; ++c) {
        // A full ring (the consumer behind) drops: the loop's turn ends, which wakes the
        // consumer, and the datagram is sent again, for the count.
        while (!pipe.send_datagram(c, d)) {
          producer.poll();
          producer.restart();
          std::this_thread::yield();
        }
      }
      if (k % 100 == 99) {  // a turn of the producer's loop ends
        producer.poll();
        producer.restart();
      }
    }
    producer.poll();
  });
  auto busy = asio::make_work_guard(consumer);
  consumer.run_for(std::chrono::seconds(30));
  sender.join();
  EXPECT_EQ(received, kDatagrams * kFanOut);
  EXPECT_TRUE(in_order);
}

}  // namespace
}  // namespace wzp::relay
