// The relay's presence and direct calls, its token gate and its trunk batching, on a simulated
// clock (sim_relay.h). Real QUIC and a real auth service are in relay_links_test.cpp.
#include <gtest/gtest.h>

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
  for (const auto& p : good.last_update()->participants) muted = p.muted.value_or(false);
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
