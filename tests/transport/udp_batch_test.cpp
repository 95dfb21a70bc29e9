// UdpBatchReceiver against real loopback sockets: what recvmmsg(2) hands back, in order, with
// each datagram's sender; a datagram larger than a slot is dropped and counted, not cut short.
#include "transport/udp_batch.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <vector>

namespace wzp::transport {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;

struct Pair {
  asio::io_context io;
  udp::socket rx{io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  udp::socket tx{io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  void send(size_t bytes, uint8_t fill) {
    tx.send_to(asio::buffer(std::vector<uint8_t>(bytes, fill)), rx.local_endpoint());
  }
};

TEST(UdpBatchReceiver, TakesTheQueueInOrderWithEachSender) {
  Pair p;
  UdpBatchReceiver in(512);
  EXPECT_EQ(in.receive(p.rx.native_handle()), 0u);  // nothing queued: no wait
  p.send(100, 'a');
  p.send(2000, 'X');  // larger than a slot
  p.send(50, 'b');
  // Loopback delivers a datagram to the receiving queue inside sendto(2).
  ASSERT_EQ(in.receive(p.rx.native_handle()), 2u);
  EXPECT_EQ(in.packet(0).size(), 100u);
  EXPECT_EQ(in.packet(0)[99], 'a');
  EXPECT_EQ(in.packet(1).size(), 50u);
  EXPECT_EQ(in.packet(1)[0], 'b');
  EXPECT_EQ(in.from(0), p.tx.local_endpoint());
  EXPECT_EQ(in.from(1), p.tx.local_endpoint());
  EXPECT_EQ(in.take_oversized(), 1u);
  EXPECT_EQ(in.take_oversized(), 0u);
}

TEST(UdpBatchReceiver, AFullQueueComesInBatches) {
  Pair p;
  UdpBatchReceiver in;  // 64 KiB slots: the largest datagram arrives whole
  for (int i = 0; i < 40; ++i) p.send(10, static_cast<uint8_t>(i));
  p.send(65000, 'L');
  ASSERT_EQ(in.receive(p.rx.native_handle()), UdpBatchReceiver::kBatch);
  EXPECT_EQ(in.packet(31)[0], 31);
  ASSERT_EQ(in.receive(p.rx.native_handle()), 9u);
  EXPECT_EQ(in.packet(0)[0], 32);
  EXPECT_EQ(in.packet(8).size(), 65000u);
  EXPECT_EQ(in.take_oversized(), 0u);
}

}  // namespace
}  // namespace wzp::transport
