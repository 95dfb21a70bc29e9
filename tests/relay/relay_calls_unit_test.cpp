// The relay's presence and direct calls, its token gate and its trunk batching, on a simulated
// clock (sim_relay.h). Real QUIC and a real auth service are in relay_links_test.cpp.
#include <gtest/gtest.h>

#include <initializer_list>
#include <tuple>

#include "sim_relay.h"

namespace wzp::relay {
namespace {

// A relay Alice registered with replays her signed registration to another relay (to take her
// direct calls there), or to the same relay on a connection of its own. Each is answered with
// that connection's challenge and registers nothing.
TEST(RelayDirectCallsUnit, ARegistrationReplayedToAnotherRelayOrConnectionIsRefused) {
  SimRelay f, other;
  auto& alice = f.connect(proto::room_sni("presence"));
  ASSERT_TRUE(alice.register_presence());
  // What alice sent last: her registration signed for her connection's challenge.
  const auto* ack = alice.peer->last<proto::RegisterPresenceAck>();
  ASSERT_TRUE(ack->accepted);
  auto& first = f.connect(proto::room_sni("presence"));
  first.say(crypto::make_presence(alice.id));
  const auto challenge = *first.peer->last<proto::RegisterPresenceAck>()->challenge;
  const auto captured = crypto::make_presence(alice.id, std::span<const uint8_t>(challenge));
  for (SimRelay* r : {&f, &other}) {
    auto& replayer = r->connect(proto::room_sni("presence"));
    replayer.say(captured);
    const auto* got = replayer.peer->last<proto::RegisterPresenceAck>();
    ASSERT_NE(got, nullptr);
    EXPECT_FALSE(got->accepted);
    EXPECT_EQ(got->reason.value_or(""), "sign this connection's challenge");
    ASSERT_TRUE(got->challenge.has_value());
    EXPECT_NE(*got->challenge, challenge);
  }
  EXPECT_EQ(other.relay.stats().presence, 0u);
  EXPECT_EQ(f.relay.stats().presence, 1u);  // Alice's own, and only that
}

TEST(RelayDirectCallsUnit, RingConnectInAPrivateRoomAndHangUp) {
  SimRelay f;
  auto &alice = f.connect(proto::room_sni("presence")),
       &bob = f.connect(proto::room_sni("presence"));
  ASSERT_TRUE(alice.register_presence() && bob.register_presence());
  // Alice calls Bob by fingerprint: Bob is offered the call, Alice hears it ring.
  alice.say(proto::DirectCallOffer{"call-1", bob.id.fingerprint(), std::nullopt, "alice"});
  ASSERT_NE(bob.peer->last<proto::DirectCallOffer>(), nullptr);
  ASSERT_NE(alice.peer->last<proto::CallRinging>(), nullptr);
  EXPECT_EQ(bob.peer->last<proto::DirectCallOffer>()->from, alice.id.fingerprint());
  // Bob accepts: both learn the private room.
  bob.say(proto::DirectCallAnswer{"call-1", true, std::nullopt, std::nullopt});
  ASSERT_NE(alice.peer->last<proto::DirectCallAnswer>(), nullptr);
  const std::string room = *alice.peer->last<proto::DirectCallAnswer>()->room;
  EXPECT_EQ(room, *bob.peer->last<proto::DirectCallAnswer>()->room);
  // The two meet there with their identities; a stranger is turned away.
  auto& a_media = f.connect(proto::room_sni(room));
  a_media.id = alice.id;
  a_media.offer("alice");
  auto& b_media = f.connect(proto::room_sni(room));
  b_media.id = bob.id;
  b_media.offer("bob");
  auto& eve = f.join(room, "eve");
  EXPECT_TRUE(a_media.answered() && b_media.answered());
  EXPECT_NE(eve.closed().find("not a participant"), std::string::npos) << eve.closed();
  a_media.send_media('a');
  b_media.send_media('b');
  EXPECT_EQ(a_media.peer->media().markers, (std::set<uint8_t>{'b'}));
  EXPECT_EQ(b_media.peer->media().markers, (std::set<uint8_t>{'a'}));
  // Hangup with the call id reaches the other side and ends only that call.
  alice.say(proto::Hangup{"call-1", "bye"});
  ASSERT_NE(bob.peer->last<proto::Hangup>(), nullptr);
  EXPECT_EQ(*bob.peer->last<proto::Hangup>()->call_id, "call-1");
  EXPECT_EQ(f.relay.stats().calls_connected, 1u);
  EXPECT_EQ(f.relay.calls(), 0u);
  EXPECT_TRUE(alice.closed().empty() && bob.closed().empty());
}

// Bob declines: Alice is told, and the call is gone.
TEST(RelayDirectCallsUnit, ADeclinedCallIsToldToTheCallerAndForgotten) {
  SimRelay f;
  auto &alice = f.connect(proto::room_sni("presence")),
       &bob = f.connect(proto::room_sni("presence"));
  ASSERT_TRUE(alice.register_presence() && bob.register_presence());
  alice.say(proto::DirectCallOffer{"c", bob.id.fingerprint(), std::nullopt, std::nullopt});
  EXPECT_EQ(f.relay.calls(), 1u);
  bob.say(proto::DirectCallAnswer{"c", false, std::nullopt, std::nullopt});
  ASSERT_NE(alice.peer->last<proto::DirectCallAnswer>(), nullptr);
  EXPECT_FALSE(alice.peer->last<proto::DirectCallAnswer>()->accept);
  EXPECT_EQ(f.relay.calls(), 0u);
  // Answering it again, or a call that never was, is "no such call".
  bob.say(proto::DirectCallAnswer{"c", true, std::nullopt, std::nullopt});
  EXPECT_EQ(bob.hangup_reason(), "no such call");
}

// Mallory learnt the call's id: her Hangup is refused, the call and its private room stand, and
// the parties still end it themselves.
TEST(RelayDirectCallsUnit, OnlyThePartiesCanHangUp) {
  SimRelay f;
  auto &alice = f.connect(proto::room_sni("presence")),
       &bob = f.connect(proto::room_sni("presence")),
       &mallory = f.connect(proto::room_sni("presence"));
  ASSERT_TRUE(alice.register_presence() && bob.register_presence() && mallory.register_presence());
  alice.say(proto::DirectCallOffer{"call-1", bob.id.fingerprint(), std::nullopt, "alice"});
  bob.say(proto::DirectCallAnswer{"call-1", true, std::nullopt, std::nullopt});
  const std::string room = *alice.peer->last<proto::DirectCallAnswer>()->room;
  mallory.say(proto::Hangup{"call-1", "gotcha"});
  EXPECT_EQ(mallory.hangup_reason(), "no such call");
  EXPECT_EQ(bob.peer->last<proto::Hangup>(), nullptr);
  EXPECT_EQ(alice.peer->last<proto::Hangup>(), nullptr);
  auto& b_media = f.connect(proto::room_sni(room));
  b_media.id = bob.id;
  b_media.offer("bob");
  auto& m_media = f.connect(proto::room_sni(room));
  m_media.id = mallory.id;
  m_media.offer("mallory");
  EXPECT_TRUE(b_media.answered());
  EXPECT_NE(m_media.closed().find("not a participant"), std::string::npos) << m_media.closed();
  bob.say(proto::Hangup{"call-1", "bye"});
  EXPECT_NE(alice.peer->last<proto::Hangup>(), nullptr);
}

// Direct-call state an attacker controls is bounded: call ids are short, a registration has at
// most 4 calls ringing, and unanswered calls go with the caller's registration.
TEST(RelayDirectCallsUnit, CallStateIsBoundedAndFreedWithItsCaller) {
  SimRelay f;
  auto &spammer = f.connect(proto::room_sni("presence")),
       &bob = f.connect(proto::room_sni("presence"));
  ASSERT_TRUE(spammer.register_presence() && bob.register_presence());
  spammer.say(
      proto::DirectCallOffer{std::string(5000, 'c'), bob.id.fingerprint(), std::nullopt, "s"});
  EXPECT_EQ(spammer.hangup_reason(), "call id must be 1 to 64 bytes");
  int refused = 0;
  for (int i = 0; i < 10; ++i) {
    spammer.say(proto::DirectCallOffer{std::string{'c', static_cast<char>('0' + i)},
                                       bob.id.fingerprint(), std::nullopt, "s"});
    refused += spammer.hangup_reason() == "too many calls ringing";
  }
  EXPECT_EQ(refused, 6);
  EXPECT_EQ(f.relay.calls(), 4u);
  EXPECT_NE(f.relay.metrics_text().find("wzp_relay_direct_calls 4"), std::string::npos);
  f.disconnect(spammer);  // the caller goes away: its unanswered calls too
  EXPECT_EQ(f.relay.calls(), 0u);
}

TEST(RelayDirectCallsUnit, UnknownCalleeGetsAClearReason) {
  SimRelay f;
  auto& alice = f.connect(proto::room_sni("presence"));
  ASSERT_TRUE(alice.register_presence());
  alice.say(proto::DirectCallOffer{"c2", "dead:beef", std::nullopt, std::nullopt});
  EXPECT_NE(alice.hangup_reason().find("not registered"), std::string::npos);
}

// A client that reconnected registers again: the newest registration takes the calls, and the
// old connection going away does not take the registration with it.
TEST(RelayDirectCallsUnit, TheNewestRegistrationOfAFingerprintTakesItsCalls) {
  SimRelay f;
  auto& old_conn = f.connect(proto::room_sni("presence"));
  ASSERT_TRUE(old_conn.register_presence());
  auto& new_conn = f.connect(proto::room_sni("presence"));
  new_conn.id = old_conn.id;
  ASSERT_TRUE(new_conn.register_presence());
  f.disconnect(old_conn);
  auto& caller = f.connect(proto::room_sni("presence"));
  ASSERT_TRUE(caller.register_presence());
  caller.say(proto::DirectCallOffer{"c", new_conn.id.fingerprint(), std::nullopt, std::nullopt});
  EXPECT_NE(new_conn.peer->last<proto::DirectCallOffer>(), nullptr);
  EXPECT_NE(caller.peer->last<proto::CallRinging>(), nullptr);
}

// Relays of a cluster as the directory links them (link_calls_abroad): who is registered where,
// and each relay's inbox, delivered when the test says (Redis is between them in life).
struct SimCluster {
  std::map<std::string, SimRelay*> relays;      // by relay ID
  std::map<std::string, std::string> presence;  // fingerprint -> relay ID
  std::vector<std::tuple<std::string, std::string, proto::SignalMessage>> inbox;  // from, to, msg
  explicit SimCluster(std::initializer_list<SimRelay*> members) {
    for (SimRelay* r : members) link(*r);
  }
  // A client registered on `r`, and so listed there in the directory.
  SimMember& registered(SimRelay& r) {
    auto& m = r.connect(proto::room_sni("presence"));
    EXPECT_TRUE(m.register_presence());
    presence[m.id.fingerprint()] = r.relay_id.fingerprint();
    return m;
  }
  void link(SimRelay& r) {
    const std::string self = r.relay_id.fingerprint();
    relays[self] = &r;
    CallsAbroad a;
    a.self = self;
    a.locate = [this](const std::string& fp, std::function<void(std::optional<RelayAt>)> done) {
      auto it = presence.find(fp);
      done(it == presence.end() ? RelayAt{} : RelayAt{it->second, "127.0.0.1:1", "cert"});
    };
    a.post = [this, self](const std::string& to, const proto::SignalMessage& m) {
      inbox.emplace_back(self, to, m);
    };
    r.relay.direct_calls().set_abroad(std::move(a));
  }
  void deliver() {
    while (!inbox.empty()) {
      auto [from, to, m] = inbox.front();
      inbox.erase(inbox.begin());
      if (relays.count(to)) relays[to]->relay.direct_calls().on_abroad(from, m);
    }
  }
  // A message as if posted by `from` (a relay of the cluster, or whoever writes to Redis).
  void forge(const std::string& from, SimRelay& to, const proto::SignalMessage& m) {
    to.relay.direct_calls().on_abroad(from, m);
  }
};

// Alice is registered on relay A, Bob on relay B. Her call rings on B, his answer names a room
// hosted on B (A pipes Alice there), and either hanging up ends it on both relays.
TEST(RelayDirectCallsUnit, ACallToAFingerprintOnAnotherRelayRingsThereAndIsHostedThere) {
  SimRelay a, b;
  SimCluster cluster({&a, &b});
  auto& alice = cluster.registered(a);
  auto& bob = cluster.registered(b);
  alice.say(proto::DirectCallOffer{"call-1", bob.id.fingerprint(), std::nullopt, "alice"});
  EXPECT_EQ(bob.peer->last<proto::DirectCallOffer>(), nullptr);  // not before B's inbox is read
  cluster.deliver();
  const auto* offered = bob.peer->last<proto::DirectCallOffer>();
  ASSERT_NE(offered, nullptr);
  EXPECT_EQ(offered->from, alice.id.fingerprint());
  EXPECT_EQ(offered->display_name, "alice");
  EXPECT_NE(alice.peer->last<proto::CallRinging>(), nullptr);
  bob.say(proto::DirectCallAnswer{"call-1", true, std::nullopt, std::nullopt});
  cluster.deliver();
  ASSERT_NE(alice.peer->last<proto::DirectCallAnswer>(), nullptr);
  const std::string room = *alice.peer->last<proto::DirectCallAnswer>()->room;
  EXPECT_EQ(room, *bob.peer->last<proto::DirectCallAnswer>()->room);
  const std::string sni = proto::room_sni(room);
  // B hosts the room and admits the two; A pipes it to B and keeps nothing of it to serve.
  EXPECT_TRUE(b.relay.local_only(sni));
  EXPECT_FALSE(a.relay.local_only(sni));
  ASSERT_TRUE(a.relay.direct_calls().hosted_abroad(sni).has_value());
  EXPECT_EQ(a.relay.direct_calls().hosted_abroad(sni)->relay_id, b.relay_id.fingerprint());
  EXPECT_FALSE(b.relay.direct_calls().hosted_abroad(sni).has_value());
  EXPECT_EQ(a.relay.stats().calls_connected, 1u);
  EXPECT_EQ(b.relay.stats().calls_connected, 1u);
  // Bob hangs up: Alice is told by her relay, and neither relay keeps the call.
  bob.say(proto::Hangup{"call-1", "bye"});
  cluster.deliver();
  ASSERT_NE(alice.peer->last<proto::Hangup>(), nullptr);
  EXPECT_EQ(a.relay.calls(), 0u);
  EXPECT_EQ(b.relay.calls(), 0u);
  EXPECT_FALSE(a.relay.direct_calls().hosted_abroad(sni).has_value());
  EXPECT_FALSE(b.relay.local_only(sni));
}

// Whoever can write to a relay's inbox (a hostile relay, or a hostile Redis) reaches only what
// that relay shares with it: an answer, ringing or hangup for a call with another relay is
// dropped and counted, an answer naming a room that is not a private one is dropped, and offers
// from abroad are bounded like offers from here, each refusal told back to the sender.
TEST(RelayDirectCallsUnit, AnInboxWriterReachesOnlyTheCallsItsRelayShares) {
  SimRelay a, b, c;
  SimCluster cluster({&a, &b, &c});
  const std::string b_id = b.relay_id.fingerprint(), c_id = c.relay_id.fingerprint();
  auto& alice = cluster.registered(a);
  auto& bob = cluster.registered(b);
  alice.say(proto::DirectCallOffer{"call-1", bob.id.fingerprint(), std::nullopt, "alice"});
  cluster.inbox.clear();  // B never hears of it: the call rings nowhere yet
  // C answers Alice's call to Bob, and rings and hangs it up: none of it reaches her.
  cluster.forge(c_id, a, proto::DirectCallAnswer{"call-1", true, std::nullopt, "direct-00"});
  cluster.forge(c_id, a, proto::CallRinging{"call-1"});
  cluster.forge(c_id, a, proto::Hangup{"call-1", "gotcha"});
  EXPECT_EQ(alice.peer->last<proto::DirectCallAnswer>(), nullptr);
  EXPECT_EQ(alice.peer->last<proto::CallRinging>(), nullptr);
  EXPECT_EQ(alice.peer->last<proto::Hangup>(), nullptr);
  EXPECT_EQ(a.relay.stats().calls_abroad_refused, 3u);
  // B (whose call it is) names a room that is not a private one: dropped too.
  cluster.forge(b_id, a, proto::DirectCallAnswer{"call-1", true, std::nullopt, "lobby"});
  EXPECT_EQ(alice.peer->last<proto::DirectCallAnswer>(), nullptr);
  EXPECT_FALSE(a.relay.direct_calls().hosted_abroad(proto::room_sni("lobby")).has_value());
  EXPECT_EQ(a.relay.stats().calls_abroad_refused, 4u);
  EXPECT_EQ(a.relay.calls(), 1u);  // still ringing for Alice
  // Offers from abroad: a long call id, a callee not registered on B, and one caller ringing
  // more than four calls at once are refused with the reason, posted back to C.
  const std::string eve = "eve-fingerprint";
  cluster.forge(c_id, b,
                proto::DirectCallOffer{std::string(100, 'x'), bob.id.fingerprint(), eve, "eve"});
  cluster.forge(c_id, b, proto::DirectCallOffer{"x1", "nobody-here", eve, "eve"});
  for (int i = 0; i < 6; ++i) {
    cluster.forge(c_id, b,
                  proto::DirectCallOffer{"r" + std::to_string(i), bob.id.fingerprint(), eve, "e"});
  }
  size_t refusals = 0;
  for (const auto& [from, to, m] : cluster.inbox) {
    if (const auto* h = std::get_if<proto::Hangup>(&m); h && from == b_id && to == c_id) {
      ++refusals;
      EXPECT_TRUE(h->reason == "callee nobody-here is not registered here" ||
                  h->reason == "too many calls ringing")
          << h->reason;
    }
  }
  EXPECT_EQ(refusals, 3u);  // the long id is not echoed back; 2 over the four ringing
  EXPECT_EQ(b.relay.calls(), 4u);
  EXPECT_EQ(b.relay.stats().calls_abroad_refused, 4u);
  // An offer without a caller is nobody's: dropped.
  cluster.forge(c_id, b, proto::DirectCallOffer{"x2", bob.id.fingerprint(), std::nullopt, "e"});
  EXPECT_EQ(b.relay.stats().calls_abroad_refused, 5u);
}

// A call still ringing ends with the caller's registration on both relays: the callee's relay
// is told, and so is the callee.
TEST(RelayDirectCallsUnit, ACallRingingAbroadEndsWithTheCallersRegistration) {
  SimRelay a, b;
  SimCluster cluster({&a, &b});
  auto& alice = cluster.registered(a);
  auto& bob = cluster.registered(b);
  alice.say(proto::DirectCallOffer{"call-1", bob.id.fingerprint(), std::nullopt, "alice"});
  cluster.deliver();
  ASSERT_EQ(b.relay.calls(), 1u);
  a.disconnect(alice);
  cluster.deliver();
  EXPECT_EQ(a.relay.calls(), 0u);
  EXPECT_EQ(b.relay.calls(), 0u);
  ASSERT_NE(bob.peer->last<proto::Hangup>(), nullptr);
  EXPECT_EQ(bob.peer->last<proto::Hangup>()->reason, "registration ended");
  // A fingerprint registered nowhere in the cluster is refused by name.
  auto& carol = cluster.registered(a);
  carol.say(proto::DirectCallOffer{"call-2", "nobody", std::nullopt, std::nullopt});
  EXPECT_EQ(carol.hangup_reason(),
            "callee nobody is not registered here or on any relay of the cluster");
  EXPECT_EQ(a.relay.calls(), 0u);
}

// The token gate: with an authorizer, what a client sends after its token waits for the verdict
// and is then handled in order; a refusal hangs up with the reason; nothing but a token may come
// first; a client that piles up more than 64 messages meanwhile is cut off.
TEST(RelayAuthUnit, MessagesWaitForTheTokenAndAreHandledInOrder) {
  std::map<std::string, std::function<void(AuthVerdict)>> asked;
  RelayConfig rc;
  rc.authorize = [&](const std::string& token, std::function<void(AuthVerdict)> done) {
    asked[token] = std::move(done);
  };
  SimRelay f(rc);
  auto& good = f.connect(proto::room_sni("ops"));
  good.say(proto::AuthToken{"good"});
  good.offer("good");
  good.say(proto::Mute{});
  EXPECT_FALSE(good.answered());  // held while the service thinks
  auto& bad = f.connect(proto::room_sni("ops"));
  bad.say(proto::AuthToken{"bad"});
  bad.offer("bad");
  auto& none = f.connect(proto::room_sni("ops"));
  none.offer("none");
  EXPECT_EQ(none.hangup_reason(), "authentication required: send AuthToken first");
  auto& chatty = f.connect(proto::room_sni("ops"));
  chatty.say(proto::AuthToken{"chatty"});
  for (int i = 0; i < 65; ++i) chatty.say(proto::Mute{});
  EXPECT_EQ(chatty.hangup_reason(), "too many messages before the token was checked");
  // Relays and their Pings pass the gate: they join nothing by that.
  auto& relay = f.connect(proto::room_sni("ops"));
  relay.say(proto::FederationHello{"relay-b"});
  relay.say(proto::Ping{7, 0});
  EXPECT_NE(relay.peer->last<proto::Pong>(), nullptr);

  asked.at("good")(AuthVerdict{AuthVerdict::Result::kValid, {}});
  f.settle();
  ASSERT_TRUE(good.answered());
  bool muted = false;
  const auto good_room = good.known_room();
  for (const auto& p : good_room->participants) muted = p.muted.value_or(false);
  EXPECT_TRUE(muted);  // the Mute that waited came after the offer
  asked.at("bad")(AuthVerdict{AuthVerdict::Result::kRefused, "token expired"});
  f.settle();
  EXPECT_EQ(bad.hangup_reason(), "token refused: token expired");
  // A verdict for a session that went meanwhile touches nothing.
  f.disconnect(chatty);
  asked.at("chatty")(AuthVerdict{AuthVerdict::Result::kValid, {}});
  EXPECT_EQ(f.relay.stats().auth_valid, 1u);
  EXPECT_EQ(f.relay.stats().auth_refused, 2u);  // bad, and none (no token at all)
  EXPECT_EQ(f.relay.members(proto::room_sni("ops")), 1u);
}

// Toward a relay, and toward clients with trunk_clients, media waits up to the flush interval
// (5 ms) for more and goes as one trunk frame, sized to the receiver's path.
TEST(RelayTrunkUnit, MediaIsBatchedForTheFlushIntervalAndSizedToThePath) {
  RelayConfig rc;
  rc.trunk_clients = true;
  SimRelay f(rc);
  auto &a = f.join("ops", "a"), &b = f.join("ops", "b"), &c = f.join("ops", "c");
  auto& sink = f.join("ops", "sink");
  a.send_media('A');
  b.send_media('B');
  f.advance(4);
  c.send_media('C');
  EXPECT_EQ(sink.peer->media().frames, 0);  // all three wait
  f.advance(1);
  auto got = sink.peer->media();
  EXPECT_EQ(got.frames, 1);
  EXPECT_EQ(got.entries, 3);
  EXPECT_EQ(got.markers, (std::set<uint8_t>{'A', 'B', 'C'}));
  // A full frame goes at once: the path carries 1200-byte packets, ten entries of 60 bytes fit
  // in one frame by size, and the entry limit (10) ends it.
  sink.peer->datagrams.clear();
  for (int i = 0; i < 12; ++i) a.send_media('A');
  got = sink.peer->media();
  EXPECT_EQ(got.frames, 1);
  EXPECT_EQ(got.entries, 10);
  f.advance(5);
  EXPECT_EQ(sink.peer->media().entries, 12);
  for (const auto& d : sink.peer->datagrams) EXPECT_LE(d.size(), 1200u - 63);
  // A receiver gone while its batch waits is not written to.
  a.send_media('A');
  f.disconnect(sink);
  f.advance(10);
  EXPECT_EQ(sink.peer->media().entries, 12);
}

}  // namespace
}  // namespace wzp::relay
