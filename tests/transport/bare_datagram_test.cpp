// Bare datagrams (transport/bare_datagram.h): what one end seals the other opens, once, in any
// order; a forgery, a replay and another session's packet are dropped.
#include "transport/bare_datagram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

namespace wzp::transport {
namespace {

using Secret = std::array<uint8_t, BareChannel::kSecretBytes>;

Secret secret(uint8_t seed) {
  Secret s;
  std::iota(s.begin(), s.end(), seed);
  return s;
}

std::vector<uint8_t> seal(BareChannel& from, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out(payload.size() + BareChannel::kOverheadBytes);
  out.resize(from.seal(payload, out, 0x2a));
  return out;
}

BareChannel::Opened open(BareChannel& to, const std::vector<uint8_t>& packet,
                         std::vector<uint8_t>* payload = nullptr) {
  std::vector<uint8_t> out(packet.size());
  size_t len = 0;
  const auto r = to.open(packet, out, &len);
  if (payload) payload->assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(len));
  return r;
}

TEST(BareDatagram, WhatOneEndSealsTheOtherOpensOnceInAnyOrder) {
  const auto s = secret(1);
  BareChannel client(s, false), server(s, true);
  std::vector<std::vector<uint8_t>> packets;
  for (uint8_t i = 0; i < 200; ++i) packets.push_back(seal(client, std::vector<uint8_t>(60, i)));
  // On the wire: a short-header QUIC packet to the server's bare connection ID, 27 bytes more.
  EXPECT_EQ(packets[0].size(), 60 + BareChannel::kOverheadBytes);
  EXPECT_EQ(packets[0][0] & 0xc0, 0x40);
  EXPECT_TRUE(server.addressed_to_us(packets[0]));
  EXPECT_FALSE(client.addressed_to_us(packets[0]));  // each direction has its own ID
  std::mt19937 rng(3);
  std::shuffle(packets.begin(), packets.end(), rng);
  std::vector<int> seen(200, 0);
  for (const auto& p : packets) {
    std::vector<uint8_t> payload;
    ASSERT_EQ(open(server, p, &payload), BareChannel::Opened::kOk);
    ASSERT_EQ(payload.size(), 60u);
    ++seen[payload[0]];
  }
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
  // The other way, with the other direction's key.
  const auto back = seal(server, {1, 2, 3});
  EXPECT_TRUE(client.addressed_to_us(back));
  EXPECT_EQ(open(client, back), BareChannel::Opened::kOk);
}

TEST(BareDatagram, AForgeryAReplayAndAnotherSessionsPacketAreDropped) {
  const auto s = secret(1);
  BareChannel client(s, false), server(s, true);
  const auto p = seal(client, std::vector<uint8_t>(40, 7));
  // Any byte changed: the header (additional data), the sequence, the payload, the tag.
  for (size_t i : {size_t{0}, size_t{9}, size_t{10}, size_t{20}, p.size() - 1}) {
    auto forged = p;
    forged[i] ^= i == 0 ? 0x01 : 0x80;
    EXPECT_EQ(open(server, forged), BareChannel::Opened::kAuthFailed) << i;
  }
  EXPECT_EQ(open(server, p), BareChannel::Opened::kOk);  // the forgeries moved nothing
  EXPECT_EQ(open(server, p), BareChannel::Opened::kReplayed);
  // A packet of another session (another exporter secret) to the same ID does not open.
  auto other_secret = secret(9);
  std::copy_n(s.begin() + 44, BareChannel::kCidBytes, other_secret.begin() + 44);  // same ID
  BareChannel other(other_secret, false);
  std::vector<uint8_t> q;
  for (int i = 0; i < 3; ++i)
    q = seal(other, std::vector<uint8_t>(40, 7));  // a sequence not yet seen
  ASSERT_TRUE(server.addressed_to_us(q));
  EXPECT_EQ(open(server, q), BareChannel::Opened::kAuthFailed);
  // Too short to be one, or a long header: malformed.
  EXPECT_EQ(open(server, std::vector<uint8_t>(p.begin(), p.begin() + 20)),
            BareChannel::Opened::kMalformed);
  auto long_header = p;
  long_header[0] |= 0x80;
  EXPECT_EQ(open(server, long_header), BareChannel::Opened::kMalformed);
}

TEST(BareDatagram, TheSequenceCarriesOnPastSixteenBits) {
  const auto s = secret(4);
  BareChannel client(s, false), server(s, true);
  // Every 40th packet arrives (97.5 % lost): the 16-bit wire sequence wraps twice.
  int opened = 0;
  for (int i = 0; i < 140000; ++i) {
    const auto p = seal(client, {static_cast<uint8_t>(i)});
    if (i % 40 == 0) opened += open(server, p) == BareChannel::Opened::kOk;
  }
  EXPECT_EQ(opened, 3500);
}

}  // namespace
}  // namespace wzp::transport
