// Room mode over real QUIC on 127.0.0.1 (in one process): what needs the transport. Members
// hear each other through real connections, a narrow path is found by the relay's own probe
// train and pacer, and a datagram larger than a trunk entry arrives on a large-MTU path and is
// dropped. The room logic itself is tested on a simulated clock (relay_rooms_unit_test.cpp).
#include "relay/relay_server.h"

#include <gtest/gtest.h>

#include "relay_fixture.h"
#include "transport/netem_proxy.h"

namespace wzp::relay {
namespace {

TEST(RelayRooms, MembersHearEachOtherNeverThemselvesAndRoomsDoNotLeak) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "alice"), b(f.io, ep, "ops", "bob"), c(f.io, ep, "ops", "carol");
  Member d(f.io, ep, "dev", "dave");
  ASSERT_TRUE(f.run_until([&] { return a.answered && b.answered && c.answered && d.answered; }));
  ASSERT_TRUE(f.run_until([&] {
    auto u = a.known_room();
    return u && u->participants.size() == 3;
  }));
  // Everyone sees the three members with fingerprints and names.
  const auto u = *c.known_room();
  std::set<std::string> names;
  for (const auto& p : u.participants) names.insert(p.display_name);
  EXPECT_EQ(names, (std::set<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(f.relay.members(proto::room_sni("ops")), 3u);
  EXPECT_EQ(f.relay.members(proto::room_sni("dev")), 1u);
  ASSERT_TRUE(f.until_paths_measured());

  for (int i = 0; i < 50; ++i) {
    a.send_media('A');
    b.send_media('B');
    c.send_media('C');
    d.send_media('D');
    f.io.run_for(std::chrono::milliseconds(2));
  }
  f.run_until(
      [&] { return a.markers.size() == 2 && b.markers.size() == 2 && c.markers.size() == 2; });
  f.io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(a.markers, (std::set<uint8_t>{'B', 'C'}));  // the other two streams, never its own
  EXPECT_EQ(b.markers, (std::set<uint8_t>{'A', 'C'}));
  EXPECT_EQ(c.markers, (std::set<uint8_t>{'A', 'B'}));
  EXPECT_TRUE(d.markers.empty());      // the other room heard nothing
  EXPECT_EQ(a.media_from.size(), 2u);  // two senders, by session id
  EXPECT_EQ(a.media_from.begin()->second, 50);

  // A member leaves: the others get a RoomUpdate without it.
  c.client.reset();
  ASSERT_TRUE(f.run_until(
      [&] {
        auto u2 = a.known_room();
        return u2 && u2->participants.size() == 2;
      },
      35000));
}

// A listener behind 24 kbit/s and a talker sending 60 kbit/s: the relay measures the way to the
// listener with the probe train it sends on joining, sheds what would queue there, and tells the
// talker that capacity, before the listener's own report could.
TEST(RelayRooms, ANarrowPathToAListenerIsShedAndItsTalkerToldItsCapacity) {
  RelayFixture f;
  transport::NetemConfig cfg;
  cfg.listen = udp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
  cfg.upstream = f.server.local_endpoint();
  cfg.to_client.rate_kbps = 24;
  cfg.to_client.queue_packets = 256;
  transport::NetemProxy narrow(f.io, cfg);
  narrow.start();
  Member talker(f.io, f.server.local_endpoint(), "ops", "alice");
  Member listener(f.io, narrow.local_endpoint(), "ops", "bob");
  ASSERT_TRUE(f.run_until([&] { return talker.answered && listener.answered; }, 10000));
  const auto told = [&] {
    for (const auto& m : talker.messages) {
      const auto* d = std::get_if<proto::QualityDirective>(&m);
      if (d && d->capacity_kbps) return *d->capacity_kbps;
    }
    return 0.0;
  };
  std::vector<uint8_t> frame(150, 'T');
  frame[0] = 0x00;
  // At most 8 s of 20 ms frames, and at least 1 s of them: the train leaves ahead of the join's
  // answer, so the talker may be told before it has sent anything.
  for (int i = 0; i < 400 && (i < 50 || told() == 0); ++i) {
    talker.client->connection().send_datagram(frame);
    f.io.run_for(std::chrono::milliseconds(20));
  }
  // (the listener sends no report at all: the capacity is the relay's own measurement)
  EXPECT_GT(told(), 10);
  EXPECT_LT(told(), 40);
  EXPECT_GE(f.relay.stats().narrow_paths, 1u);
  EXPECT_EQ(listener.probes,
            static_cast<int>(transport::DatagramPacer::kProbes));  // (and the talker's own, on an
                                                                   // open path, said nothing)
  // What is shed is counted where operators look.
  f.io.run_for(std::chrono::milliseconds(500));
  const std::string metrics = f.relay.metrics_text();
  EXPECT_EQ(metrics.find("wzp_relay_shed_datagrams_total 0\n"), std::string::npos) << metrics;
  // A member joining seconds later, with no queue standing by then, is told at once as well.
  f.io.run_for(std::chrono::milliseconds(2500));
  Member late(f.io, f.server.local_endpoint(), "ops", "carol");
  ASSERT_TRUE(f.run_until(
      [&] {
        for (const auto& m : late.messages) {
          const auto* d = std::get_if<proto::QualityDirective>(&m);
          if (d && d->capacity_kbps) return true;
        }
        return false;
      },
      2000));
}

// A member on a path that carries large packets can send datagrams longer than a trunk entry
// holds: they are dropped and counted by reason (they vanished uncounted before), and the
// rest of its media still flows.
TEST(RelayRooms, OversizedDatagramsAreDroppedAndCounted) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "alice"), b(f.io, ep, "ops", "bob");
  transport::QuicConfig big;
  big.max_udp_payload = 4000;  // loopback carries it
  big.probe_path_mtu = false;
  a.client =
      std::make_unique<transport::QuicClient>(f.io, ep, proto::room_sni("ops"), nullptr, a, big);
  a.closed.clear();  // the replaced client's own close
  ASSERT_TRUE(f.run_until([&] { return a.answered && b.answered; }));
  ASSERT_TRUE(
      f.run_until([&] { return a.known_room() && a.known_room()->participants.size() == 2; }));
  std::vector<uint8_t> huge(3000, 'H');
  huge[0] = 0x00;  // a media tag
  ASSERT_TRUE(f.until_paths_measured());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a.client->connection().send_datagram(huge));
  a.send_media('A');
  ASSERT_TRUE(f.run_until([&] { return b.markers.count('A') > 0; }));
  ASSERT_TRUE(f.run_until([&] { return f.relay.stats().dropped_oversized == 5; }));
  EXPECT_FALSE(b.markers.count('H'));
  EXPECT_NE(f.relay.metrics_text().find(R"(wzp_relay_dropped_total{reason="oversized"} 5)"),
            std::string::npos);
  EXPECT_TRUE(a.closed.empty()) << a.closed;
}

}  // namespace
}  // namespace wzp::relay
