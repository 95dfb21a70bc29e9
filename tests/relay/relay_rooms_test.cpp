// Room mode over real QUIC on 127.0.0.1 (in one process): members receive each other's media
// and never their own, rooms never leak into each other, the echo room echoes, members see
// each other in RoomUpdates, and SenderKeys reach only their addressee.
#include "relay/relay_server.h"

#include <gtest/gtest.h>

#include "relay_fixture.h"

#include <nlohmann/json.hpp>
#include <random>

#include "crypto/sender_keys.h"
#include "proto/media_frame.h"
#include "proto/room_secret.h"
#include "proto/trunk_frame.h"
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
    auto u = a.last_update();
    return u && u->participants.size() == 3;
  }));
  // Everyone sees the three members with fingerprints and names.
  const auto u = *c.last_update();
  std::set<std::string> names;
  for (const auto& p : u.participants) names.insert(p.display_name);
  EXPECT_EQ(names, (std::set<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(f.relay.members(transport::room_sni("ops")), 3u);
  EXPECT_EQ(f.relay.members(transport::room_sni("dev")), 1u);
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
        auto u2 = a.last_update();
        return u2 && u2->participants.size() == 2;
      },
      35000));
}

// A member that mutes is shown muted to the others (and unmuted again); saying it twice
// sends nobody anything.
TEST(RelayRooms, AMuteIsShownToTheOthersAndSaidOnce) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "alice"), b(f.io, ep, "ops", "bob");
  ASSERT_TRUE(f.run_until([&] {
    auto u = b.last_update();
    return a.answered && b.answered && u && u->participants.size() == 2;
  }));
  const auto alice_muted = [&]() -> std::optional<bool> {
    const auto u = b.last_update();
    for (const auto& p : u->participants) {
      if (p.display_name == "alice") return p.muted.value_or(false);
    }
    return std::nullopt;
  };
  EXPECT_EQ(alice_muted(), false);
  a.client->connection().send_stream(proto::frame_signal(proto::Mute{}));
  ASSERT_TRUE(f.run_until([&] { return alice_muted() == true; }));
  const size_t updates = b.messages.size();
  a.client->connection().send_stream(proto::frame_signal(proto::Mute{}));
  a.client->connection().send_stream(proto::frame_signal(proto::Unmute{}));
  ASSERT_TRUE(f.run_until([&] { return alice_muted() == false; }));
  EXPECT_EQ(b.messages.size(), updates + 1);  // the repeated Mute said nothing
}

// Each member sizes its protection for the members that receive its stream: the loss a listener
// reports on its own way in is in everyone else's directive, not in its own (it would only fill
// that listener's uplink with repairs nobody needs). So is the capacity: bob's own report is about
// what reaches him, not about his stream (a listener's sparse comfort noise, held back by its own
// congested connection, once looked like a 2 kbit/s path and cut the talker). The tier stays the
// room's.
TEST(RelayRooms, EachMemberIsDirectedByTheLossOfThoseWhoReceiveIt) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "alice"), b(f.io, ep, "ops", "bob"), c(f.io, ep, "ops", "carol");
  ASSERT_TRUE(f.run_until([&] { return a.answered && b.answered && c.answered; }));
  const auto report = [](Member& m, double loss, std::optional<double> capacity) {
    proto::QualityUpdate q;
    q.loss_percent = loss;
    q.capacity_kbps = capacity;
    m.client->connection().send_stream(proto::frame_signal(q));
  };
  report(a, 0, std::nullopt);
  report(c, 5, std::nullopt);
  report(b, 30, 20.0);  // bob's path in is lossy and capped
  f.io.run_for(std::chrono::milliseconds(100));
  // The room takes a report a second; the next one sees all three.
  const auto directed = [](const Member& m) {
    const auto* d = m.last<proto::QualityDirective>();
    return d && d->loss_percent ? d : nullptr;
  };
  // Reports keep coming (under load one may reach the relay after a directive was worked
  // out without it); the directives settle on what the three reports say.
  const auto settled = [&] {
    return directed(a) && directed(b) && directed(c) && *directed(b)->loss_percent == 5 &&
           *directed(a)->loss_percent == 30 && *directed(c)->loss_percent == 30 &&
           directed(a)->capacity_kbps && directed(c)->capacity_kbps;
  };
  ASSERT_TRUE(f.run_until(
      [&] {
        report(a, 0, std::nullopt);
        report(c, 5, std::nullopt);
        report(b, 30, 20.0);
        f.io.run_for(std::chrono::milliseconds(200));
        return settled();
      },
      8000));
  EXPECT_DOUBLE_EQ(*directed(a)->loss_percent, 30);  // bob receives alice
  EXPECT_DOUBLE_EQ(*directed(c)->loss_percent, 30);
  EXPECT_DOUBLE_EQ(*directed(b)->loss_percent, 5);  // carol's is the worst path bob's stream takes
  EXPECT_DOUBLE_EQ(*directed(a)->capacity_kbps, 20);  // alice's and carol's streams reach bob
  EXPECT_DOUBLE_EQ(*directed(c)->capacity_kbps, 20);
  EXPECT_FALSE(directed(b)->capacity_kbps.has_value());  // bob's reaches two unlimited paths
  for (const Member* m : {&a, &b, &c}) EXPECT_EQ(directed(*m)->profile, directed(a)->profile);
}

// Behind a path that loses most packets a member sends copies of its report in datagrams (a
// report on the stream waits there behind retransmissions). The relay takes the first copy and
// no other (nor the stream's copy of the same report, nor an older one), takes nothing but a
// report from a datagram, and sends copies of that member's directive in datagrams too.
TEST(RelayRooms, AReportInDatagramsIsTakenOnceAndADirectiveSentBackTheSameWay) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "alice"), b(f.io, ep, "ops", "bob");
  ASSERT_TRUE(f.run_until([&] { return a.answered && b.answered; }));
  // Reports go on once a second: the room takes one a second.
  proto::QualityUpdate q;
  const auto report = [&] {
    q.loss_percent = 80;
    q.seq = q.seq.value_or(0) + 1;
    const auto copy = proto::signal_datagram(q);
    for (int i = 0; i < 3; ++i) b.client->connection().send_datagram(copy);
  };
  ASSERT_TRUE(f.run_until(
      [&] {
        report();
        f.io.run_for(std::chrono::milliseconds(300));
        const auto* d = a.last<proto::QualityDirective>();
        return d && d->loss_percent && *d->loss_percent == 80;
      },
      8000));
  ASSERT_TRUE(f.run_until([&] { return f.relay.stats().signal_datagrams_stale == 2 * *q.seq; }));
  EXPECT_EQ(f.relay.stats().signal_datagrams_in, *q.seq);  // the first copy of each
  // bob's own way in loses 80 %: his directives come in datagrams as well, six copies of each
  // one on the stream (from the room's next second: alice's was early, for new loss).
  ASSERT_TRUE(f.run_until([&] {
    report();
    f.io.run_for(std::chrono::milliseconds(300));
    const auto* d = b.last<proto::QualityDirective>();
    return d && !b.by_datagram.empty() &&
           std::get<proto::QualityDirective>(b.by_datagram.back()).seq == d->seq;
  }));
  std::map<uint32_t, int> copies;
  for (const auto& m : b.by_datagram) ++copies[std::get<proto::QualityDirective>(m).seq.value()];
  for (const auto& [seq, n] : copies) EXPECT_EQ(n, 6) << seq;
  EXPECT_TRUE(a.by_datagram.empty());  // alice reported no loss at all
  ASSERT_TRUE(f.run_until([&] { return f.relay.stats().signal_datagrams_stale == 2 * *q.seq; }));
  const uint64_t taken = f.relay.stats().signal_datagrams_in,
                 stale = f.relay.stats().signal_datagrams_stale;

  // The same report on the stream, and an older one, change nothing.
  b.client->connection().send_stream(proto::frame_signal(q));
  q.seq = *q.seq - 1;
  q.loss_percent = 0;
  b.client->connection().send_datagram(proto::signal_datagram(q));
  ASSERT_TRUE(f.run_until([&] { return f.relay.stats().signal_datagrams_stale == stale + 2; }));
  // Anything else in a datagram is refused and counted: a Mute would have been shown to alice.
  const size_t updates = a.messages.size();
  b.client->connection().send_datagram(proto::signal_datagram(proto::Mute{}));
  std::vector<uint8_t> junk = {static_cast<uint8_t>(proto::FrameTag::kSignal), '{', 'x'};
  b.client->connection().send_datagram(junk);
  q.seq.reset();  // a report without its seq cannot be told from a copy
  b.client->connection().send_datagram(proto::signal_datagram(q));
  ASSERT_TRUE(f.run_until([&] { return f.relay.stats().dropped_bad_signal == 3; }));
  f.io.run_for(std::chrono::milliseconds(50));
  for (size_t i = updates; i < a.messages.size(); ++i) {
    EXPECT_FALSE(std::holds_alternative<proto::RoomUpdate>(a.messages[i]));
  }
  EXPECT_EQ(f.relay.stats().signal_datagrams_in, taken);
  EXPECT_NE(
      f.relay.metrics_text().find("wzp_relay_signal_datagrams_total{outcome=\"report_taken\"} " +
                                  std::to_string(taken) + "\n"),
      std::string::npos);
}

// The QualityDirectives a member has received on the stream.
long directives(const Member& m) {
  return std::count_if(m.messages.begin(), m.messages.end(), [](const proto::SignalMessage& x) {
    return std::holds_alternative<proto::QualityDirective>(x);
  });
}

// A report of a queue on a path is passed on at once, not at the room's next second, and only
// to the members whose stream met it: on a narrow path every directive to its listener takes
// bytes the queue needs to drain.
TEST(RelayRooms, AQueueReportReachesTheSenderAtOnceAndOnlyIt) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "alice"), b(f.io, ep, "ops", "bob");
  ASSERT_TRUE(f.run_until([&] { return a.answered && b.answered; }));
  const auto report = [](Member& m, std::optional<double> capacity) {
    proto::QualityUpdate q;
    q.capacity_kbps = capacity;
    q.queue_ms = capacity ? std::optional<double>(400) : std::nullopt;
    m.client->connection().send_stream(proto::frame_signal(q));
  };
  report(a, std::nullopt);  // feeds the room: both get their second's directive
  ASSERT_TRUE(f.run_until([&] { return directives(a) == 1 && directives(b) == 1; }));
  report(b, 18.0);  // bob's way in fills up, within the same second
  ASSERT_TRUE(f.run_until([&] { return directives(a) == 2; }));
  const auto* d = a.last<proto::QualityDirective>();
  ASSERT_TRUE(d->capacity_kbps);
  EXPECT_DOUBLE_EQ(*d->capacity_kbps, 18);
  EXPECT_DOUBLE_EQ(*d->queue_ms, 400);
  EXPECT_EQ(directives(b), 1);  // nothing early for bob: his stream met no queue
}

// Loss on a path whose last report showed none is passed on at once too: its senders protect
// the rest of the second instead of waiting for the room's next one. Loss that goes on waits
// for the second like any other report.
TEST(RelayRooms, NewLossReachesTheSenderAtOnce) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "alice"), b(f.io, ep, "ops", "bob");
  ASSERT_TRUE(f.run_until([&] { return a.answered && b.answered; }));
  const auto report = [](Member& m, double loss) {
    proto::QualityUpdate q;
    q.loss_percent = loss;
    m.client->connection().send_stream(proto::frame_signal(q));
  };
  report(b, 0);  // feeds the room: both get their second's directive
  ASSERT_TRUE(f.run_until([&] { return directives(a) == 1 && directives(b) == 1; }));
  const auto at = std::chrono::steady_clock::now();
  report(b, 6);  // within the same second, bob's way in starts losing
  ASSERT_TRUE(f.run_until([&] { return directives(a) == 2; }));
  EXPECT_LT(std::chrono::steady_clock::now() - at, std::chrono::milliseconds(800));
  EXPECT_DOUBLE_EQ(*a.last<proto::QualityDirective>()->loss_percent, 6);
  const auto later = directives(a);
  f.io.run_for(std::chrono::milliseconds(250));
  report(b, 7);  // the loss goes on: nothing early
  f.io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(directives(a), later);
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
  for (int i = 0; i < 400 && told() == 0; ++i) {  // at most 8 s of 20 ms frames
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

TEST(RelayRooms, EchoRoomSendsMediaBackToItsSenderOnly) {
  RelayFixture f;
  Member e(f.io, f.server.local_endpoint(), kEchoRoom, "echo-tester");
  Member other(f.io, f.server.local_endpoint(), kEchoRoom, "someone");
  ASSERT_TRUE(f.run_until([&] { return e.answered && other.answered; }));
  for (int i = 0; i < 20; ++i) {
    e.send_media('E');
    f.io.run_for(std::chrono::milliseconds(2));
  }
  f.run_until([&] { return !e.markers.empty(); });
  f.io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(e.markers, (std::set<uint8_t>{'E'}));
  EXPECT_TRUE(other.markers.empty());
}

TEST(RelayRooms, SenderKeysReachOnlyTheirAddresseeUnopened) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "alice"), b(f.io, ep, "ops", "bob"), c(f.io, ep, "ops", "carol");
  ASSERT_TRUE(f.run_until([&] {
    auto u = a.last_update();
    return u && u->participants.size() == 3;
  }));
  const auto u = *a.last_update();
  const proto::Participant *bob = nullptr, *alice = nullptr;
  for (const auto& p : u.participants) {
    if (p.display_name == "bob") bob = &p;
    if (p.display_name == "alice") alice = &p;
  }
  ASSERT_NE(bob, nullptr);
  ASSERT_NE(alice, nullptr);
  crypto::OwnSenderKey key(alice->session_id);
  auto sk = crypto::seal_sender_key(a.id, key, *bob);
  ASSERT_TRUE(sk.ok()) << sk.error().message();
  a.client->connection().send_stream(proto::frame_signal(*sk));
  auto got = [](const Member& m) {
    return std::count_if(m.messages.begin(), m.messages.end(), [](const auto& msg) {
      return std::holds_alternative<proto::SenderKey>(msg);
    });
  };
  ASSERT_TRUE(f.run_until([&] { return got(b) == 1; }));
  f.io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(got(c), 0);
  // Bob opens it; the relay could not have (it is not addressed to the relay).
  const auto& received = std::get<proto::SenderKey>(
      *std::find_if(b.messages.begin(), b.messages.end(),
                    [](const auto& m) { return std::holds_alternative<proto::SenderKey>(m); }));
  EXPECT_TRUE(crypto::open_sender_key(b.id, received, b.pending.ephemeral_public).ok());
  EXPECT_FALSE(crypto::open_sender_key(f.relay_id, received, received.to_ephemeral).ok());
}

// A hostile member hands Bob a key for Alice's session, or one that claims Alice's identity:
// the relay drops it, counts it and hangs the forger up; Bob never sees it, Alice stays.
TEST(RelayRooms, ForgedSenderKeyIsDroppedAndItsSenderCutOff) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "alice"), b(f.io, ep, "ops", "bob"), m(f.io, ep, "ops", "mallory"),
      m2(f.io, ep, "ops", "mallory2");
  ASSERT_TRUE(f.run_until([&] {
    auto u = a.last_update();
    return u && u->participants.size() == 4;
  }));
  const auto u = *a.last_update();
  std::map<std::string, proto::Participant> by;
  for (const auto& p : u.participants) by[p.display_name] = p;
  // 1. Mallory's own signature, Alice's session.
  crypto::OwnSenderKey alices_session(by["alice"].session_id);
  m.client->connection().send_stream(
      proto::frame_signal(*crypto::seal_sender_key(m.id, alices_session, by["bob"])));
  // 2. Mallory2's own session, but Alice's fingerprint as the sender.
  crypto::OwnSenderKey own(by["mallory2"].session_id);
  auto claims = *crypto::seal_sender_key(m2.id, own, by["bob"]);
  claims.from = by["alice"].fingerprint;
  m2.client->connection().send_stream(proto::frame_signal(claims));
  ASSERT_TRUE(f.run_until([&] { return f.relay.stats().forged_sender_keys == 2; }));
  ASSERT_TRUE(f.run_until([&] { return !m.closed.empty() && !m2.closed.empty(); }));
  EXPECT_NE(m.last<proto::Hangup>(), nullptr);
  f.io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(
      std::count_if(b.messages.begin(), b.messages.end(),
                    [](const auto& msg) { return std::holds_alternative<proto::SenderKey>(msg); }),
      0);
  EXPECT_TRUE(a.closed.empty());
  EXPECT_TRUE(b.closed.empty());
  EXPECT_EQ(f.relay.members(transport::room_sni("ops")), 2u);
  EXPECT_NE(f.relay.metrics_text().find("wzp_relay_forged_sender_keys_total 2"), std::string::npos);
}

TEST(RelayRooms, BadSignallingGetsAHangupWithAReasonOthersUnaffected) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "alice"), b(f.io, ep, "ops", "bob");
  ASSERT_TRUE(f.run_until([&] { return a.answered && b.answered; }));
  const std::vector<uint8_t> junk = {0, 0, 0, 3, '{', '{', '{'};
  a.client->connection().send_stream(junk);
  ASSERT_TRUE(f.run_until([&] { return !a.closed.empty(); }));
  bool hung_up = false;
  for (const auto& m : a.messages) {
    if (auto* h = std::get_if<proto::Hangup>(&m)) hung_up = h->reason.find("bad signalling") == 0;
  }
  EXPECT_TRUE(hung_up);
  EXPECT_TRUE(b.closed.empty());
  EXPECT_TRUE(f.run_until([&] { return f.relay.members(transport::room_sni("ops")) == 1; }));
  // One structured line per lifecycle event, each valid JSON.
  std::map<std::string, int> events;
  for (const auto& line : f.log) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    ++events[j.value("event", "")];
  }
  EXPECT_EQ(events["connect"], 2);
  EXPECT_EQ(events["join"], 2);
  EXPECT_EQ(events["hangup"], 1);
  EXPECT_EQ(events["leave"], 1);
}

}  // namespace
}  // namespace wzp::relay

namespace wzp::relay {
namespace {

// A presence-only member: registers its identity for direct calls, no room.
struct Presence : transport::QuicEvents {
  crypto::Identity id = crypto::Identity::generate();
  std::unique_ptr<transport::QuicClient> client;
  proto::SignalFrameReader reader;
  std::vector<proto::SignalMessage> messages;
  bool registered = false;
  std::vector<proto::RegisterPresence> sent;
  std::optional<proto::RegisterPresence> replay;  // a hostile relay's: sends this, signs nothing
  Presence(asio::io_context& io, udp::endpoint relay) {
    client = std::make_unique<transport::QuicClient>(io, relay, transport::room_sni("presence"),
                                                     nullptr, *this);
  }
  void on_established(transport::QuicConnection&) override {
    register_as(crypto::make_presence(id));
  }
  void register_as(proto::RegisterPresence reg) {
    sent.push_back(replay.value_or(std::move(reg)));
    send(sent.back());
  }
  void on_stream(transport::QuicConnection&, std::span<const uint8_t> d) override {
    ASSERT_TRUE(reader.feed(d).ok());
    while (auto m = reader.next()) {
      ASSERT_TRUE(m->ok());
      if (auto* ack = std::get_if<proto::RegisterPresenceAck>(&m->value())) {
        registered = ack->accepted;
        if (!ack->accepted && ack->challenge && sent.size() == 1 && !replay) {
          register_as(crypto::make_presence(id, std::span<const uint8_t>(*ack->challenge)));
        }
      }
      messages.push_back(m->value());
    }
  }
  void send(const proto::SignalMessage& m) {
    client->connection().send_stream(proto::frame_signal(m));
  }
  template <class T>
  const T* last() const {
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
      if (auto* m = std::get_if<T>(&*it)) return m;
    }
    return nullptr;
  }
};

// A relay Alice registered with replays her signed registration to another relay (to take her
// direct calls there), or to the same relay on a connection of its own. Before a registration
// signed the connection's challenge, both were accepted for five minutes. Each is answered
// with that connection's challenge and registers nothing.
TEST(RelayDirectCalls, ARegistrationReplayedToAnotherRelayOrConnectionIsRefused) {
  RelayFixture f;
  Presence alice(f.io, f.server.local_endpoint());
  ASSERT_TRUE(f.run_until([&] { return alice.registered; }));
  ASSERT_EQ(alice.sent.size(), 2u);  // the request for a challenge, then the signed one
  const proto::RegisterPresence captured = alice.sent.back();
  ASSERT_TRUE(captured.challenge.has_value());

  RelayServer other(f.io, crypto::Identity::generate(), RelayConfig{});
  transport::QuicServer other_server(f.io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                                     transport::generate_certificate("wzp-relay"), other);
  Presence to_other(f.io, other_server.local_endpoint()), to_same(f.io, f.server.local_endpoint());
  to_other.replay = captured;
  to_same.replay = captured;
  ASSERT_TRUE(f.run_until([&] {
    return to_other.last<proto::RegisterPresenceAck>() &&
           to_same.last<proto::RegisterPresenceAck>();
  }));
  for (const Presence* p : {&to_other, &to_same}) {
    const auto* ack = p->last<proto::RegisterPresenceAck>();
    EXPECT_FALSE(ack->accepted);
    EXPECT_EQ(ack->reason.value_or(""), "sign this connection's challenge");
    ASSERT_TRUE(ack->challenge.has_value());
    EXPECT_NE(*ack->challenge, *captured.challenge);
  }
  EXPECT_EQ(other.stats().presence, 0u);
  EXPECT_EQ(f.relay.stats().presence, 1u);  // Alice's own, and only that
}

TEST(RelayDirectCalls, RingConnectInAPrivateRoomAndHangUp) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Presence alice(f.io, ep), bob(f.io, ep);
  ASSERT_TRUE(f.run_until([&] { return alice.registered && bob.registered; }));
  // Alice calls Bob by fingerprint: Bob is offered the call, Alice hears it ring.
  alice.send(proto::DirectCallOffer{"call-1", bob.id.fingerprint(), std::nullopt, "alice"});
  ASSERT_TRUE(f.run_until(
      [&] { return bob.last<proto::DirectCallOffer>() && alice.last<proto::CallRinging>(); }));
  EXPECT_EQ(bob.last<proto::DirectCallOffer>()->from, alice.id.fingerprint());
  // Bob accepts: both learn the private room.
  bob.send(proto::DirectCallAnswer{"call-1", true, std::nullopt, std::nullopt});
  ASSERT_TRUE(f.run_until([&] {
    return alice.last<proto::DirectCallAnswer>() && bob.last<proto::DirectCallAnswer>();
  }));
  const std::string room = *alice.last<proto::DirectCallAnswer>()->room;
  EXPECT_EQ(room, *bob.last<proto::DirectCallAnswer>()->room);
  // The two meet there with their identities; a stranger is turned away.
  Member a_media(f.io, ep, room, "alice"), b_media(f.io, ep, room, "bob"),
      eve(f.io, ep, room, "eve");
  a_media.id = alice.id;
  b_media.id = bob.id;
  ASSERT_TRUE(
      f.run_until([&] { return a_media.answered && b_media.answered && !eve.closed.empty(); }));
  EXPECT_NE(eve.closed.find("not a participant"), std::string::npos) << eve.closed;
  for (int i = 0; i < 20; ++i) {
    a_media.send_media('a');
    b_media.send_media('b');
    f.io.run_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(
      f.run_until([&] { return a_media.markers.count('b') && b_media.markers.count('a'); }));
  // Hangup with the call id reaches the other side and ends only that call.
  alice.send(proto::Hangup{"call-1", "bye"});
  ASSERT_TRUE(f.run_until([&] { return bob.last<proto::Hangup>() != nullptr; }));
  EXPECT_EQ(*bob.last<proto::Hangup>()->call_id, "call-1");
  EXPECT_EQ(f.relay.stats().calls_connected, 1u);
}

// Mallory learnt the call's id: her Hangup is refused, the call and its private room stand,
// and the parties still end it themselves. (The relay used to accept it and reopen the room.)
TEST(RelayDirectCalls, OnlyThePartiesCanHangUp) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Presence alice(f.io, ep), bob(f.io, ep), mallory(f.io, ep);
  ASSERT_TRUE(
      f.run_until([&] { return alice.registered && bob.registered && mallory.registered; }));
  alice.send(proto::DirectCallOffer{"call-1", bob.id.fingerprint(), std::nullopt, "alice"});
  ASSERT_TRUE(f.run_until([&] { return bob.last<proto::DirectCallOffer>() != nullptr; }));
  bob.send(proto::DirectCallAnswer{"call-1", true, std::nullopt, std::nullopt});
  ASSERT_TRUE(f.run_until([&] { return alice.last<proto::DirectCallAnswer>() != nullptr; }));
  const std::string room = *alice.last<proto::DirectCallAnswer>()->room;

  mallory.send(proto::Hangup{"call-1", "gotcha"});
  ASSERT_TRUE(f.run_until([&] { return mallory.last<proto::Hangup>() != nullptr; }));
  EXPECT_EQ(mallory.last<proto::Hangup>()->reason, "no such call");
  f.io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(bob.last<proto::Hangup>(), nullptr);
  EXPECT_EQ(alice.last<proto::Hangup>(), nullptr);
  // The private room still admits only the two: Mallory is turned away, Bob gets in.
  Member b_media(f.io, ep, room, "bob"), m_media(f.io, ep, room, "mallory");
  b_media.id = bob.id;
  m_media.id = mallory.id;
  ASSERT_TRUE(f.run_until([&] { return b_media.answered && !m_media.closed.empty(); }));
  EXPECT_NE(m_media.closed.find("not a participant"), std::string::npos) << m_media.closed;

  bob.send(proto::Hangup{"call-1", "bye"});
  ASSERT_TRUE(f.run_until([&] { return alice.last<proto::Hangup>() != nullptr; }));
}

// A member whose name (or agreement key) would bloat everyone's RoomUpdate is turned away with
// the reason; before, a 60 KB name pushed every update past the signalling frame limit and
// every honest member disconnected and redialled forever.
TEST(RelayRooms, OversizedMemberFieldsAreRefusedAndOthersStay) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "alice"), b(f.io, ep, "ops", "bob");
  ASSERT_TRUE(f.run_until([&] { return a.answered && b.answered; }));
  Member big(f.io, ep, "ops", std::string(60000, 'x'));
  ASSERT_TRUE(f.run_until([&] { return !big.closed.empty(); }));
  ASSERT_NE(big.last<proto::Hangup>(), nullptr);
  EXPECT_EQ(big.last<proto::Hangup>()->reason, "display name longer than 64 bytes");
  // An agreement signature of 30 000 bytes instead of 64.
  Member fat(f.io, ep, "ops", "fat");
  fat.tamper = [](proto::CallOffer& o) { o.agreement_sig = proto::Bytes(30000, 1); };
  ASSERT_TRUE(f.run_until([&] { return !fat.closed.empty(); }));
  ASSERT_NE(fat.last<proto::Hangup>(), nullptr);
  EXPECT_EQ(fat.last<proto::Hangup>()->reason,
            "agreement key must be 32 bytes and its signature 64");
  // Alice and Bob never left.
  f.io.run_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(a.closed.empty());
  EXPECT_TRUE(b.closed.empty());
  EXPECT_EQ(f.relay.members(transport::room_sni("ops")), 2u);
}

// Direct-call state an attacker controls is bounded: call ids are short, a registration has at
// most 4 calls ringing, and unanswered calls go with the caller's registration.
TEST(RelayDirectCalls, CallStateIsBoundedAndFreedWithItsCaller) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  auto spammer = std::make_unique<Presence>(f.io, ep);
  Presence bob(f.io, ep);
  ASSERT_TRUE(f.run_until([&] { return spammer->registered && bob.registered; }));
  spammer->send(
      proto::DirectCallOffer{std::string(5000, 'c'), bob.id.fingerprint(), std::nullopt, "s"});
  ASSERT_TRUE(f.run_until([&] { return spammer->last<proto::Hangup>() != nullptr; }));
  EXPECT_EQ(spammer->last<proto::Hangup>()->reason, "call id must be 1 to 64 bytes");
  for (int i = 0; i < 10; ++i) {
    spammer->send(proto::DirectCallOffer{std::string{'c', static_cast<char>('0' + i)},
                                         bob.id.fingerprint(), std::nullopt, "s"});
  }
  ASSERT_TRUE(f.run_until([&] {
    return std::count_if(spammer->messages.begin(), spammer->messages.end(), [](const auto& m) {
             const auto* h = std::get_if<proto::Hangup>(&m);
             return h && h->reason == "too many calls ringing";
           }) == 6;
  }));
  EXPECT_NE(f.relay.metrics_text().find("wzp_relay_direct_calls 4"), std::string::npos);
  spammer->client->connection().close("bye");  // the caller goes away: its unanswered calls too
  ASSERT_TRUE(f.run_until([&] {
    return f.relay.metrics_text().find("wzp_relay_direct_calls 0") != std::string::npos;
  }));
}

TEST(RelayRooms, AccessListsAdmitOnlyTheListedFingerprints) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "alice"), b(f.io, ep, "ops", "bob");
  f.relay.set_room_acls({{"ops", {a.id.fingerprint()}}});
  ASSERT_TRUE(f.run_until([&] { return a.answered && !b.closed.empty(); }));
  EXPECT_NE(b.closed.find("access list"), std::string::npos) << b.closed;
  EXPECT_EQ(f.relay.members(transport::room_sni("ops")), 1u);
  // The relay knows this room's name from its access list: its log lines say it beside the hash.
  const auto joined = std::find_if(f.log.begin(), f.log.end(), [](const std::string& l) {
    return l.find("\"event\":\"join\"") != std::string::npos;
  });
  ASSERT_NE(joined, f.log.end());
  EXPECT_NE(joined->find("\"room\":\"" + transport::room_sni("ops") + "\",\"room_name\":\"ops\""),
            std::string::npos)
      << *joined;
}

// An invite-only room (finding 9: a room's name is a bearer secret, and its open SNI can be
// read off the wire or computed by a guesser). The members hold a secret; the SNI reveals
// neither it nor the name, and the relay admits to the room only offers whose key hashes to the
// SNI. The observer who copies the SNI, a forger with a key of another secret, and a guesser
// who knows the name all stay out; the two holders hear each other.
TEST(RelayRooms, AnInviteOnlyRoomRefusesAnObserverAForgerAndAGuesser) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  const auto secret = proto::parse_room_secret("00112233445566778899aabbccddeeff");
  ASSERT_TRUE(secret);
  const auto room = transport::room_address("ops", secret);
  ASSERT_TRUE(room.key);
  EXPECT_TRUE(transport::is_invite_sni(room.sni));
  EXPECT_NE(room.sni, transport::room_sni("ops"));
  Member a(f.io, ep, room, "alice"), b(f.io, ep, room, "bob");
  ASSERT_TRUE(f.run_until([&] { return a.answered && b.answered; }));

  Member observer(f.io, ep, transport::RoomAddress{room.sni, std::nullopt}, "eve");
  auto other =
      transport::room_address("ops", proto::parse_room_secret("ffeeddccbbaa99887766554433221100"));
  Member forger(f.io, ep, transport::RoomAddress{room.sni, other.key}, "mallory");
  Member guesser(f.io, ep, "ops", "trudy");  // the name alone: the open room of that name
  ASSERT_TRUE(f.run_until(
      [&] { return !observer.closed.empty() && !forger.closed.empty() && guesser.answered; }));
  EXPECT_NE(observer.closed.find("invite-only"), std::string::npos) << observer.closed;
  EXPECT_NE(forger.closed.find("invite-only"), std::string::npos) << forger.closed;
  EXPECT_FALSE(observer.answered);
  EXPECT_FALSE(forger.answered);
  EXPECT_EQ(f.relay.members(room.sni), 2u);
  EXPECT_EQ(f.relay.members(transport::room_sni("ops")), 1u);  // the guesser is alone

  for (int i = 0; i < 10; ++i) {
    a.send_media('A');
    guesser.send_media('T');
    f.io.run_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(f.run_until([&] { return b.markers.count('A'); }));
  f.io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(b.markers, (std::set<uint8_t>{'A'}));  // nothing of the guesser's
  const auto u = b.last_update();
  ASSERT_TRUE(u);
  EXPECT_EQ(u->participants.size(), 2u);
  const auto metrics = f.relay.metrics_text();
  EXPECT_NE(metrics.find("wzp_relay_invites_refused_total 2"), std::string::npos);
  EXPECT_NE(metrics.find("wzp_relay_invite_rooms 1"), std::string::npos);
}

TEST(RelayDirectCalls, UnknownCalleeGetsAClearReason) {
  RelayFixture f;
  Presence alice(f.io, f.server.local_endpoint());
  ASSERT_TRUE(f.run_until([&] { return alice.registered; }));
  alice.send(proto::DirectCallOffer{"c2", "dead:beef", std::nullopt, std::nullopt});
  ASSERT_TRUE(f.run_until([&] { return alice.last<proto::Hangup>() != nullptr; }));
  EXPECT_NE(alice.last<proto::Hangup>()->reason.find("not registered"), std::string::npos);
}

// One member floods the room with garbage: it is rate-limited, then cut off; the call between
// the two others carries on.
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
  a.client = std::make_unique<transport::QuicClient>(f.io, ep, transport::room_sni("ops"), nullptr,
                                                     a, big);
  a.closed.clear();  // the replaced client's own close
  ASSERT_TRUE(f.run_until([&] { return a.answered && b.answered; }));
  ASSERT_TRUE(
      f.run_until([&] { return a.last_update() && a.last_update()->participants.size() == 2; }));
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

TEST(RelayRooms, MalformedDatagramStormDoesNotDisturbOthers) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "alice"), b(f.io, ep, "ops", "bob"), m(f.io, ep, "ops", "mallory");
  ASSERT_TRUE(f.run_until([&] { return a.answered && b.answered && m.answered; }));
  std::mt19937 rng(3);
  int a_sent = 0;
  for (int i = 0; i < 6000; ++i) {
    std::vector<uint8_t> junk(1 + rng() % 200);
    for (auto& x : junk) x = static_cast<uint8_t>(rng());
    m.client->connection().send_datagram(junk);
    if (i % 30 == 0) {
      a.send_media('A');
      b.send_media('B');
      ++a_sent;
      f.io.run_for(std::chrono::milliseconds(1));
    }
  }
  f.run_until([&] { return !m.closed.empty(); }, 3000);
  f.io.run_for(std::chrono::milliseconds(100));
  std::printf(
      "storm: relay dropped %lu over-rate datagrams and cut off %lu session; alice and "
      "bob each sent %d\n",
      f.relay.stats().dropped_rate, f.relay.stats().cut_off, a_sent);
  EXPECT_GT(f.relay.stats().dropped_rate, 0u);
  EXPECT_TRUE(a.markers.count('B'));
  EXPECT_TRUE(b.markers.count('A'));
  EXPECT_TRUE(a.closed.empty());
  EXPECT_TRUE(b.closed.empty());
}

// A member that floods signalling (here RegisterPresence with a bad signature, an Ed25519
// verification each, and Pings the relay answers) is read up to its allowance (200 at once, 50
// a second), dropped beyond it and cut off when it keeps on; the others in its room carry on.
// Before, the relay verified and answered every one.
TEST(RelayRooms, ASignallingFloodIsDroppedAndItsSenderCutOff) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "alice"), b(f.io, ep, "ops", "bob"), m(f.io, ep, "ops", "mallory");
  ASSERT_TRUE(f.run_until([&] { return a.answered && b.answered && m.answered; }));
  const auto pongs = [](const Member& x) {
    return std::count_if(x.messages.begin(), x.messages.end(), [](const proto::SignalMessage& y) {
      return std::holds_alternative<proto::Pong>(y);
    });
  };
  proto::RegisterPresence fake;
  fake.identity_pub = proto::Bytes(32, 0xaa);
  fake.signature = proto::Bytes(64, 0xbb);
  fake.timestamp_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());  // fresh: the signature is checked
  for (int i = 0; i < 3000; ++i) {
    if (i % 2) {
      m.client->connection().send_stream(proto::frame_signal(fake));
    } else {
      m.client->connection().send_stream(
          proto::frame_signal(proto::Ping{static_cast<uint64_t>(i), 0}));
    }
    if (i % 100 == 0) f.io.run_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(f.run_until([&] { return !m.closed.empty(); }, 5000));
  EXPECT_NE(m.closed.find("signalling rate exceeded"), std::string::npos) << m.closed;
  EXPECT_LE(pongs(m), 200 / 2 + 60);  // the burst and what the rate let through meanwhile
  EXPECT_GE(f.relay.stats().signal_rate_dropped, 500u);
  EXPECT_EQ(f.relay.stats().cut_off, 1u);
  EXPECT_NE(f.relay.metrics_text().find("wzp_relay_signal_dropped_total "), std::string::npos);
  a.send_media('A');
  ASSERT_TRUE(f.run_until([&] { return b.markers.count('A') > 0; }));
  EXPECT_TRUE(a.closed.empty());
  EXPECT_TRUE(b.closed.empty());
}

}  // namespace
}  // namespace wzp::relay
