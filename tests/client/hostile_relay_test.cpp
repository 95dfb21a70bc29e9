// A RoomCall against a relay that lies: a relay written in the test, over real QUIC on
// 127.0.0.1, that answers with someone else's handshake, lists ghosts, hands out a key of its
// own making for a member's session, swaps identities or replays keys and audio. The call must
// refuse or show each.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <set>

#include "client/room_call.h"
#include "crypto/handshake.h"
#include "crypto/sender_keys.h"
#include "proto/media_frame.h"
#include "proto/signal_framing.h"
#include "proto/trunk_frame.h"
#include "transport/quic.h"
#include "transport/tls_identity.h"

namespace wzp::client {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

// The relay's side of one connection, scripted by the test.
struct HostileRelay : transport::QuicEvents {
  crypto::Identity id = crypto::Identity::generate();
  crypto::OfferReplayCache replay;
  proto::SignalFrameReader reader;
  transport::QuicConnection* conn = nullptr;
  std::function<void(transport::QuicConnection&, const proto::CallOffer&)> on_offer;
  std::vector<proto::SignalMessage> received;
  bool pong = true;  // false: Pings go unanswered (as through 80 % loss each way, mostly)

  void on_established(transport::QuicConnection& c) override { conn = &c; }
  void on_stream(transport::QuicConnection& c, std::span<const uint8_t> d) override {
    ASSERT_TRUE(reader.feed(d).ok());
    while (auto m = reader.next()) {
      ASSERT_TRUE(m->ok());
      received.push_back(m->value());
      if (const auto* o = std::get_if<proto::CallOffer>(&m->value())) on_offer(c, *o);
      // Keeps the connection alive through quiet stretches, as any relay does.
      if (const auto* p = std::get_if<proto::Ping>(&m->value()); p && pong)
        send(proto::Pong{p->id, p->timestamp_ms});
    }
  }
  void on_datagram(transport::QuicConnection&, std::span<const uint8_t> d) override {
    if (!d.empty() && d[0] == static_cast<uint8_t>(proto::FrameTag::kSignal)) {
      signal_datagrams.emplace_back(d.begin(), d.end());
    } else {
      media.emplace_back(d.begin(), d.end());
    }
  }
  std::vector<std::vector<uint8_t>> media;             // every media datagram the client sent us
  std::vector<std::vector<uint8_t>> signal_datagrams;  // and every signalling one (tag 0x05)
  void on_closed(transport::QuicConnection& c, const std::string&) override {
    if (conn == &c) conn = nullptr;
  }
  void send(const proto::SignalMessage& m) { conn->send_stream(proto::frame_signal(m)); }
  // As a relay going away does: a Hangup, then the connection closes.
  void restart() {
    send(proto::Hangup{std::nullopt, "relay restarting"});
    conn->close("relay restarting");
  }
  template <class T>
  size_t count() const {
    return static_cast<size_t>(std::count_if(received.begin(), received.end(), [](const auto& m) {
      return std::holds_alternative<T>(m);
    }));
  }
};

struct Fixture {
  asio::io_context io;
  HostileRelay relay;
  transport::QuicServer server{io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                               transport::generate_certificate("wzp-relay"), relay};
  crypto::Identity me = crypto::Identity::generate();
  uint64_t frames_heard = 0;  // frames with a voice in them
  std::unique_ptr<RoomCall> call;

  std::vector<MemberEvent> events;
  proto::Bytes my_ephemeral;  // the ephemeral of the call's latest offer
  void start(std::chrono::milliseconds rotation = std::chrono::minutes(5),
             std::vector<std::string> expect = {}) {
    RoomCallOptions o;
    o.key_rotation = rotation;
    o.expect = std::move(expect);
    o.on_member = [this](const MemberEvent& e) { events.push_back(e); };
    o.room = "ops";
    o.verify_relay = [](const std::string&) { return true; };
    call = std::make_unique<RoomCall>(
        io, server.local_endpoint(), me, o, [](std::span<int16_t>) { return false; },
        [this](std::span<const int16_t> pcm) {
          // The tests' voice is a loud tone; what the call plays when a stream stops (comfort
          // noise near -50 dBFS) is not hearing anyone.
          for (int16_t s : pcm) {
            if (std::abs(s) > 1000) return void(++frames_heard);
          }
        });
  }
  // The relay answers honestly, then announces `room` (read when the offer comes, so a test may
  // change it later and send it again).
  void answer_then_list(const proto::RoomUpdate& room, std::optional<uint32_t> session = {}) {
    relay.on_offer = [this, &room, session](transport::QuicConnection&, const proto::CallOffer& o) {
      my_ephemeral = o.ephemeral_pub;
      auto a = crypto::answer_offer(relay.id, o, std::nullopt, relay.replay, "good");
      ASSERT_TRUE(a.ok());
      a->answer.session_id = session;
      relay.send(a->answer);
      relay.send(room);
    };
  }
  bool run_until(const std::function<bool()>& done, int ms = 5000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(5));
    }
    return done();
  }
  // The relay plays recorded datagrams to us, then we listen for what they do.
  void replay(const std::vector<proto::Bytes>& recorded) {
    for (const auto& d : recorded) {
      relay.conn->send_datagram(d);
      io.run_for(std::chrono::milliseconds(2));
    }
    run_until([] { return false; }, 600);
  }
  // The relay drops us; true once the call has redialled and lists `members` others again.
  bool redial(size_t members) {
    const proto::Bytes first_connection = my_ephemeral;
    relay.restart();
    return run_until(
        [&] {
          return my_ephemeral != first_connection && call->status().connected &&
                 call->member_count() == members;
        },
        8000);
  }
};

proto::Participant participant(const crypto::Identity& id, uint32_t session,
                               const std::string& name) {
  proto::Participant p;
  p.session_id = session;
  p.fingerprint = id.fingerprint();
  p.display_name = name;
  p.identity_pub.assign(id.signing_public().begin(), id.signing_public().end());
  p.agreement_pub.assign(id.agreement_public().begin(), id.agreement_public().end());
  p.agreement_sig = crypto::agreement_binding(id);
  p.offer_ephemeral = proto::Bytes(32, static_cast<uint8_t>(session));  // its connection's stand-in
  return p;
}

// Us as the room lists us to others, on the connection of the call's latest offer: what a
// member seals a key for us to.
proto::Participant to_me(const Fixture& f, uint32_t session) {
  auto p = participant(f.me, session, "me");
  p.offer_ephemeral = f.my_ephemeral;
  return p;
}

// Media as a member sends it, through the relay to the call: each datagram a trunk entry of
// the member's session (recorded, for a relay that replays).
struct AsMember : DatagramSink {
  AsMember(HostileRelay& r, uint16_t s) : relay(&r), session(s) {}
  HostileRelay* relay;
  uint16_t session;
  std::vector<std::vector<uint8_t>> sent;
  void send(std::span<const uint8_t> d) override {
    proto::TrunkBuilder b({.max_entries = 1, .max_bytes = 1500});
    ASSERT_TRUE(b.try_add(session, d));
    std::vector<uint8_t> out(b.bytes().begin(), b.bytes().end());
    sent.push_back(out);
    if (relay->conn) relay->conn->send_datagram(out);
  }
};

CallEncoderConfig steady_encoder() {
  CallEncoderConfig ec;
  ec.silence_suppression = false;
  ec.adaptive = false;
  return ec;
}

// 50 frames of a loud tone from `e`, then time for the call to play them.
template <class F>
void speak(F& f, CallEncoder& e) {
  std::vector<int16_t> loud(kPcmFrame);
  for (size_t i = 0; i < loud.size(); ++i)
    loud[i] = static_cast<int16_t>(i % 48 < 24 ? 8000 : -8000);
  for (uint32_t t = 0; t < 50; ++t) {
    e.push(loud, t * 20);
    e.flush();
    f.io.run_for(std::chrono::milliseconds(2));
  }
  f.run_until([] { return false; }, 600);
}

// Alice and us in "ops", as the relay lists it in `u` (read again at each offer, so a test may
// change it): true once the call has joined and lists her.
template <class F>
bool join_with_alice(F& f, proto::RoomUpdate& u, const crypto::Identity& alice,
                     uint32_t alice_session, uint32_t my_session) {
  u.room = "ops";
  u.participants = {participant(alice, alice_session, "alice"),
                    participant(f.me, my_session, "me")};
  f.answer_then_list(u, my_session);
  f.start();
  return f.run_until([&] { return f.call->status().connected && f.call->member_count() == 1; });
}

// The relay replays a recorded key and the audio that was sent under it: true when the key is
// refused and none of the audio plays.
template <class F>
bool replay_is_refused_and_silent(F& f, const proto::SenderKey& key,
                                  const std::vector<proto::Bytes>& audio) {
  const uint64_t refused = f.call->status().keys_refused, heard = f.frames_heard;
  f.relay.send(key);
  if (!f.run_until([&] { return f.call->status().keys_refused == refused + 1; })) return false;
  f.replay(audio);
  return f.frames_heard == heard;
}

// A member as the relay sees it: its identity, its sender key and the media it sends (through
// the relay, which records it).
struct Member {
  Member(HostileRelay& r, const crypto::Identity& id, uint32_t session)
      : identity(id), key(session), wire(r, static_cast<uint16_t>(session)), sealer(key) {}
  crypto::Identity identity;
  crypto::OwnSenderKey key;
  AsMember wire;
  SenderKeySealer sealer;
  // Its current key, sealed for our current connection.
  proto::SenderKey key_for(const Fixture& f, uint32_t my_session) const {
    return *crypto::seal_sender_key(identity, key, to_me(f, my_session));
  }
  // It sends its key for our connection and speaks 50 frames: how many played.
  uint64_t speaks(Fixture& f, uint32_t my_session) {
    const uint64_t before = f.frames_heard;
    f.relay.send(key_for(f, my_session));
    CallEncoder enc(steady_encoder(), sealer, wire);
    speak(f, enc);
    return f.frames_heard - before;
  }
};

// The relay answers with an answer it once gave to another offer (a replay), properly signed
// by itself: before answers were verified, the call joined on it.
// The bridge hangs a page's call up and frees the page while the call's goodbye is still
// leaving (the call lives one more turn of the loop). A step of the call already due then read
// the freed page through its sink (AddressSanitizer: heap-use-after-free in the
// misbehaving-browsers test). A hung-up call calls neither its source nor its sink again.
TEST(RoomCallLifetime, AHungUpCallNeverCallsItsSourceOrSinkAgain) {
  Fixture f;
  const proto::RoomUpdate nobody;
  f.answer_then_list(nobody);
  RoomCallOptions o;
  o.room = "ops";
  o.verify_relay = [](const std::string&) { return true; };
  int sourced = 0, sunk = 0;
  auto call = std::make_unique<RoomCall>(
      f.io, f.server.local_endpoint(), f.me, o,
      [&](std::span<int16_t>) { return ++sourced, false; },
      [&](std::span<const int16_t>) { ++sunk; });
  ASSERT_TRUE(f.run_until([&] { return sunk > 5; }));
  call->hang_up();
  const int sourced_then = sourced, sunk_then = sunk;
  f.run_until([] { return false; }, 200);  // ten frames' time, the call still alive
  EXPECT_EQ(sourced, sourced_then);
  EXPECT_EQ(sunk, sunk_then);
}

TEST(HostileRelay, AnAnswerNotSignedForOurOfferEndsTheCall) {
  Fixture f;
  f.relay.on_offer = [&](transport::QuicConnection&, const proto::CallOffer&) {
    crypto::PendingOffer other;
    auto old = crypto::answer_offer(
        f.relay.id, crypto::make_offer(crypto::Identity::generate(), {"good"}, other), std::nullopt,
        f.relay.replay, "good");
    ASSERT_TRUE(old.ok());
    f.relay.send(old->answer);
  };
  f.start();
  ASSERT_TRUE(f.run_until([&] { return f.call->status().failed; }));
  const auto st = f.call->status();
  EXPECT_FALSE(st.connected);
  EXPECT_NE(st.closed_reason.find("CallAnswer refused: bad signature on CallAnswer"),
            std::string::npos)
      << st.closed_reason;
}

// The relay lists Alice in the room, then hands us a key for Alice's session sealed and
// signed by an identity of its own, and sends audio under it as Alice. The key is refused and
// nothing of that audio plays; a key Alice really signed is taken.
TEST(HostileRelay, AKeyForAnotherMembersSessionIsRefusedAndItsAudioNeverPlays) {
  Fixture f;
  const crypto::Identity alice = crypto::Identity::generate();
  const crypto::Identity throwaway = crypto::Identity::generate();
  constexpr uint32_t kAlice = 7, kMe = 8;
  proto::RoomUpdate u;
  u.room = "ops";
  u.participants = {participant(alice, kAlice, "alice"), participant(f.me, kMe, "me")};
  f.answer_then_list(u);
  f.start();
  ASSERT_TRUE(
      f.run_until([&] { return f.call->status().connected && f.call->member_count() == 1; }));
  // Our key went to Alice (sealed to her): we never hand ours to anyone the room did not list.
  ASSERT_TRUE(f.run_until([&] { return f.relay.count<proto::SenderKey>() == 1; }));

  // The forged key: a valid signature, but by the relay's throwaway identity.
  crypto::OwnSenderKey forged(kAlice);
  auto sk = crypto::seal_sender_key(throwaway, forged, to_me(f, kMe));
  ASSERT_TRUE(sk.ok());
  f.relay.send(*sk);
  ASSERT_TRUE(f.run_until([&] { return f.call->status().keys_refused == 1; }));

  // Audio sealed under it, as Alice's session: 50 frames of a loud tone.
  AsMember wire(f.relay, kAlice);
  SenderKeySealer sealer(forged);
  CallEncoder enc(steady_encoder(), sealer, wire);
  speak(f, enc);
  EXPECT_EQ(f.frames_heard, 0u);
  EXPECT_EQ(f.call->status().received.slots_decoded, 0u);

  // Alice's own key, signed by her, for her session: taken, and her audio plays (the same
  // path the forged audio took, so its silence above was the refusal, not the path).
  crypto::OwnSenderKey real(kAlice);
  real.rotate();  // a later key id than the forged one, as after a rotation
  f.relay.send(*crypto::seal_sender_key(alice, real, to_me(f, kMe)));
  SenderKeySealer real_sealer(real);
  CallEncoder alice_enc(steady_encoder(), real_sealer, wire);
  speak(f, alice_enc);
  EXPECT_GT(f.call->status().received.slots_decoded, 20u);
  EXPECT_EQ(f.call->status().keys_refused, 1u);
}

// On a path that loses most packets a key on the stream can wait seconds, so keys travel in
// datagram copies too (docs/PROTOCOL.md §8). One that arrives that way before the RoomUpdate
// listing its sender waits for it, and is then installed; one forged is refused as on the
// stream. Our own key goes out in datagram copies beside the stream when the path is not known
// within a second (here we send only comfort noise: too few datagrams to judge it).
TEST(HostileRelay, KeysByDatagramAreCheckedAsOnTheStreamAndMayComeBeforeTheirMember) {
  Fixture f;
  const crypto::Identity alice = crypto::Identity::generate();
  const crypto::Identity throwaway = crypto::Identity::generate();
  constexpr uint32_t kAlice = 7, kMe = 8;
  proto::RoomUpdate alone;
  alone.room = "ops";
  alone.participants = {participant(f.me, kMe, "me")};
  f.answer_then_list(alone, kMe);
  f.start();
  ASSERT_TRUE(f.run_until([&] { return f.call->status().connected; }));

  // A forged key for Alice's session, by datagram: refused (a signature by someone else).
  crypto::OwnSenderKey forged(kAlice);
  f.relay.conn->send_datagram(
      proto::signal_datagram(*crypto::seal_sender_key(throwaway, forged, to_me(f, kMe))));
  ASSERT_TRUE(f.run_until([&] { return f.call->status().keys_by_datagram == 1; }));

  // Alice's real key, by datagram, before the room lists her: held, nothing installed yet.
  Member a(f.relay, alice, kAlice);
  f.relay.conn->send_datagram(proto::signal_datagram(a.key_for(f, kMe)));
  ASSERT_TRUE(f.run_until([&] { return f.call->status().keys_by_datagram == 2; }));
  proto::RoomUpdate both = alone;
  both.participants.push_back(participant(alice, kAlice, "alice"));
  f.relay.send(both);
  ASSERT_TRUE(f.run_until([&] { return f.call->member_count() == 1; }));
  // The forged key waited too, and the update showed it for what it is.
  EXPECT_EQ(f.call->status().keys_refused, 1u);
  CallEncoder enc(steady_encoder(), a.sealer, a.wire);
  speak(f, enc);
  EXPECT_GT(f.frames_heard, 20u);

  // Our key for Alice: on the stream, and in at least two datagram copies that open for her.
  ASSERT_TRUE(f.run_until([&] { return f.relay.count<proto::SenderKey>() == 1; }));
  ASSERT_TRUE(f.run_until([&] { return f.relay.signal_datagrams.size() >= 2; }));
  size_t key_copies = 0;
  for (const auto& d : f.relay.signal_datagrams) {
    auto m = proto::parse_signal_datagram(d);
    ASSERT_TRUE(m.ok());
    const auto* sk = std::get_if<proto::SenderKey>(&m.value());
    if (!sk) continue;
    EXPECT_TRUE(crypto::open_sender_key(alice, *sk, sk->to_ephemeral).ok());
    ++key_copies;
  }
  EXPECT_GE(key_copies, 2u);
}

// Through 80 % loss each way a Ping and its Pong both get through one time in 25, and the
// call took seconds without one for a relay that had lost it: it probed, the probe was answered,
// and it redialled a connection that was alive. QUIC's acknowledgements of our datagrams come
// several times a second there, and they are the relay heard from: a relay that acknowledges
// but never answers a Ping keeps the call.
TEST(HostileRelay, AcknowledgementsOfOurDatagramsAreTheRelayHeardFrom) {
  Fixture f;
  proto::RoomUpdate alone;
  alone.room = "ops";
  alone.participants = {participant(f.me, 8, "me")};
  f.answer_then_list(alone, 8);
  f.start();
  ASSERT_TRUE(f.run_until([&] { return f.call->status().connected; }));
  f.relay.pong = false;
  f.run_until([] { return false; }, 5000);  // past 3 s without a word from the relay
  const auto st = f.call->status();
  EXPECT_TRUE(st.connected);
  EXPECT_EQ(st.reconnects, 0u);
  EXPECT_EQ(f.relay.count<proto::CallOffer>(), 1u);  // never dialled again
  EXPECT_GT(f.relay.media.size(), 20u);              // and kept sending (what was acknowledged)
}

// The relay records Alice's key for us and her audio, drops our connection, and when we dial
// again replays both as if live. Before a key named the connection it was sealed for, the
// fresh connection installed the recorded key and the old audio played as new. The replayed
// key is refused and nothing of the replay plays; Alice's key for the new connection is taken.
TEST(HostileRelay, AKeyAndAudioReplayedAfterARedialNeverPlay) {
  Fixture f;
  const crypto::Identity alice = crypto::Identity::generate();
  constexpr uint32_t kAlice = 7, kMe = 8;
  proto::RoomUpdate u;
  ASSERT_TRUE(join_with_alice(f, u, alice, kAlice, kMe));
  Member a(f.relay, alice, kAlice);
  const proto::SenderKey recorded_key = a.key_for(f, kMe);
  ASSERT_GT(a.speaks(f, kMe), 20u);  // heard live
  const auto recorded_audio = a.wire.sent;

  ASSERT_TRUE(f.redial(1));
  EXPECT_TRUE(replay_is_refused_and_silent(f, recorded_key, recorded_audio));

  // Alice's key for this connection (after the redial she rotates, as on any join) plays.
  a.key.rotate();
  EXPECT_GT(a.speaks(f, kMe), 20u);
  EXPECT_EQ(f.call->status().keys_refused, 1u);
}

// The relay slips a ghost into the room. Every join is announced with the fingerprint and a
// safety number (the ghost shows); with --expect naming Alice, the ghost gets nothing of ours:
// our key goes to Alice alone, also when it rotates.
TEST(HostileRelay, AGhostMemberIsShownAndUnderExpectGetsNoKey) {
  Fixture f;
  const crypto::Identity alice = crypto::Identity::generate(), ghost = crypto::Identity::generate();
  proto::RoomUpdate u;
  u.room = "ops";
  u.participants = {participant(alice, 7, "alice"), participant(ghost, 9, "alice's friend"),
                    participant(f.me, 8, "me")};
  f.answer_then_list(u);
  f.start(std::chrono::milliseconds(700), {alice.fingerprint()});
  ASSERT_TRUE(f.run_until([&] { return f.call->member_count() == 2; }));
  ASSERT_TRUE(f.run_until([&] { return f.relay.count<proto::SenderKey>() >= 2; },
                          3000));  // first + a rotation
  for (const auto& m : f.relay.received) {
    if (const auto* sk = std::get_if<proto::SenderKey>(&m)) {
      EXPECT_EQ(sk->to, alice.fingerprint());
    }
  }
  EXPECT_EQ(f.call->status().unexpected, 1u);
  ASSERT_EQ(f.events.size(), 2u);
  for (const auto& e : f.events) {
    EXPECT_EQ(e.kind, MemberEvent::Kind::kJoined);
    EXPECT_EQ(e.expected, e.who.fingerprint == alice.fingerprint());
    EXPECT_EQ(e.safety_number.size(), 12u * 5 + 11);
  }
  EXPECT_EQ(f.events[0].safety_number,
            crypto::safety_number(alice.signing_public(), f.me.signing_public()));
}

// One malicious relay, every trick in turn, against a call that expects Alice: it lists a ghost,
// forges a key for Alice's session, swaps Alice's session over to the ghost's identity under her
// name, then drops the call and replays Alice's recorded key and audio. Each is refused or
// shown: the ghost is reported as unexpected and gets none of our keys, the forged key and the
// swapped session's audio never play, the swap raises an identity-changed warning, the replay
// is refused; Alice's genuine audio plays before and after.
TEST(HostileRelay, AGhostAForgedKeyAnIdentitySwapAndAReplayAreEachRefusedOrShown) {
  Fixture f;
  const crypto::Identity alice = crypto::Identity::generate(), ghost = crypto::Identity::generate();
  constexpr uint32_t kAlice = 7, kMe = 8, kGhost = 9;
  proto::RoomUpdate honest;
  honest.room = "ops";
  honest.participants = {participant(alice, kAlice, "alice"),
                         participant(ghost, kGhost, "alice's friend"),
                         participant(f.me, kMe, "me")};
  proto::RoomUpdate listed = honest;  // what the relay announces on each (re)join
  f.answer_then_list(listed, kMe);
  f.start(std::chrono::minutes(5), {alice.fingerprint()});
  ASSERT_TRUE(
      f.run_until([&] { return f.call->status().connected && f.call->member_count() == 2; }));

  // 1. The ghost: shown, flagged, keyless.
  EXPECT_EQ(f.call->status().unexpected, 1u);
  const auto event = [&](MemberEvent::Kind k, const std::string& fp) {
    return std::any_of(f.events.begin(), f.events.end(), [&](const MemberEvent& e) {
      return e.kind == k && e.who.fingerprint == fp;
    });
  };
  ASSERT_TRUE(event(MemberEvent::Kind::kJoined, ghost.fingerprint()));
  for (const auto& e : f.events) EXPECT_EQ(e.expected, e.who.fingerprint == alice.fingerprint());

  // Alice speaks, genuinely: heard (and recorded by the relay).
  Member a(f.relay, alice, kAlice);
  const proto::SenderKey recorded_key = a.key_for(f, kMe);
  a.speaks(f, kMe);
  // Until her last frame has played out (50 frames sent in 100 ms take a second to play).
  for (uint64_t before = 0; before != f.frames_heard;) {
    before = f.frames_heard;
    f.run_until([] { return false; }, 300);
  }
  ASSERT_GT(f.frames_heard, 40u);
  const auto recorded_audio = a.wire.sent;
  const uint64_t heard = f.frames_heard;

  // 2. A key for Alice's session, signed by the ghost: refused, its audio silent.
  crypto::OwnSenderKey forged(kAlice);
  forged.rotate();
  forged.rotate();
  f.relay.send(*crypto::seal_sender_key(ghost, forged, to_me(f, kMe)));
  ASSERT_TRUE(f.run_until([&] { return f.call->status().keys_refused == 1; }));
  SenderKeySealer forged_sealer(forged);
  CallEncoder forged_enc(steady_encoder(), forged_sealer, a.wire);
  speak(f, forged_enc);
  EXPECT_EQ(f.frames_heard, heard);

  // 3. Alice's session now names the ghost's identity, under her name: a warning; the ghost's
  // key for the session is taken as the ghost's own (it is, now, and shown as such), but
  // Alice's old key for it is gone: what the relay recorded of her does not play as the swap.
  listed.participants = {participant(ghost, kAlice, "alice"), participant(f.me, kMe, "me")};
  f.relay.send(listed);
  ASSERT_TRUE(
      f.run_until([&] { return event(MemberEvent::Kind::kIdentityChanged, ghost.fingerprint()); }));
  EXPECT_TRUE(event(MemberEvent::Kind::kLeft, alice.fingerprint()));
  EXPECT_EQ(f.call->status().unexpected, 1u);
  f.replay(recorded_audio);
  EXPECT_EQ(f.frames_heard, heard);

  // 4. The relay drops us and, on the redial, lists the honest room again and replays Alice's
  // recorded key and audio: refused and silent.
  listed = honest;
  ASSERT_TRUE(f.redial(2));
  EXPECT_TRUE(replay_is_refused_and_silent(f, recorded_key, recorded_audio));
  EXPECT_EQ(f.frames_heard, heard);

  // Alice, genuinely, on the new connection: heard again. And through it all, none of our keys
  // went to anyone but her.
  a.key.rotate();
  EXPECT_GT(a.speaks(f, kMe), 20u);
  size_t ours = 0;
  for (const auto& m : f.relay.received) {
    if (const auto* sk = std::get_if<proto::SenderKey>(&m)) {
      EXPECT_EQ(sk->to, alice.fingerprint());
      ++ours;
    }
  }
  EXPECT_GE(ours, 2u);  // one per connection at least
}

// After a redial the relay still lists our old session beside the new one (it has not timed
// out). We must take the session the relay's answer names as ours: keying our media to the old
// one made every key we sent a forgery in the relay's eyes, and every redial was hung up again.
// The old session is not announced as a newcomer (it is most likely us, before the redial).
TEST(HostileRelay, OurSessionIsTheOneTheAnswerNamesNotAnOlderOneOfOurs) {
  Fixture f;
  const crypto::Identity alice = crypto::Identity::generate();
  proto::RoomUpdate first, second;
  first.room = second.room = "ops";
  first.participants = {participant(f.me, 5, "me"), participant(alice, 7, "alice")};
  second.participants = {participant(f.me, 5, "me (old)"), participant(alice, 7, "alice"),
                         participant(f.me, 8, "me")};
  int offers = 0;
  f.relay.on_offer = [&](transport::QuicConnection&, const proto::CallOffer& o) {
    auto a = crypto::answer_offer(f.relay.id, o, std::nullopt, f.relay.replay, "good");
    ASSERT_TRUE(a.ok());
    a->answer.session_id = ++offers == 1 ? 5 : 8;
    f.relay.send(a->answer);
    f.relay.send(offers == 1 ? first : second);
  };
  f.start();
  ASSERT_TRUE(f.run_until([&] { return f.relay.count<proto::SenderKey>() == 1; }));
  // The relay goes away (a restart): the call dials again and is answered as session 8.
  f.relay.restart();
  ASSERT_TRUE(
      f.run_until([&] { return offers == 2 && f.relay.count<proto::SenderKey>() == 3; }, 8000));
  std::vector<uint32_t> sessions;
  for (const auto& m : f.relay.received) {
    if (const auto* sk = std::get_if<proto::SenderKey>(&m)) sessions.push_back(sk->session_id);
  }
  EXPECT_EQ(sessions, (std::vector<uint32_t>{5, 8, 8}));
  for (const auto& e : f.events) {
    EXPECT_EQ(e.who.fingerprint, alice.fingerprint()) << "our old session announced as a member";
  }
}

// A second terminal with our identity file is another member: it gets our key (it can open it:
// it holds our identity) and we hear it. The README's two-terminal call, where both clients
// use ~/.wzp/identity, recorded silence while such sessions were skipped.
TEST(HostileRelay, ASecondSessionOfOurIdentityIsAMemberWeHearAndKey) {
  Fixture f;
  const crypto::Identity alice = crypto::Identity::generate();
  proto::RoomUpdate u;
  u.room = "ops";
  u.participants = {participant(f.me, 5, "other terminal"), participant(alice, 7, "alice"),
                    participant(f.me, 8, "me")};
  f.answer_then_list(u, 8);
  f.start();
  ASSERT_TRUE(f.run_until([&] { return f.relay.count<proto::SenderKey>() == 2; }));
  std::set<std::string> to;
  for (const auto& m : f.relay.received) {
    if (const auto* sk = std::get_if<proto::SenderKey>(&m)) {
      EXPECT_EQ(sk->session_id, 8u);
      to.insert(sk->to);
    }
  }
  EXPECT_EQ(to, (std::set<std::string>{alice.fingerprint(), f.me.fingerprint()}));
  EXPECT_EQ(f.call->member_count(), 2u);
  ASSERT_FALSE(f.events.empty());
  EXPECT_TRUE(f.events[0].own_identity);
  EXPECT_EQ(f.events[0].who.session_id, 5u);
}

// Whether a media datagram (full header, as sent before any quality report) opens under `key`.
bool opens(const crypto::ReceivedSenderKey& key, std::span<const uint8_t> d) {
  proto::MediaFrameReader reader;
  auto f = reader.parse(d);
  if (!f) return false;
  std::array<uint8_t, crypto::kMaxAssociatedData> ad{};
  const size_t ad_len = crypto::media_associated_data(*f, ad);
  std::vector<uint8_t> out(f->payload.size());
  size_t n = 0;
  return crypto::MediaKey(key.key, key.session_id, crypto::kRoomDirection)
      .open(f->header.seq, std::span(ad).first(ad_len), f->payload, out, &n);
}

// The relay records the call, then brings in a member of its own (Bob, whose identity it
// holds). Bob is handed a new key, under which nothing sent before he joined opens; Alice gets
// the same new key. On the schedule the key changes again.
TEST(HostileRelay, ALateJoinerCannotReadWhatWasSentBeforeItJoined) {
  Fixture f;
  const crypto::Identity alice = crypto::Identity::generate(), bob = crypto::Identity::generate();
  constexpr uint32_t kAlice = 7, kMe = 8, kBob = 9;
  proto::RoomUpdate u;
  u.room = "ops";
  u.participants = {participant(alice, kAlice, "alice"), participant(f.me, kMe, "me")};
  f.answer_then_list(u);
  f.start(std::chrono::milliseconds(1500));
  // The keys we hand out, opened by whoever they are for (the test holds both identities).
  std::vector<crypto::ReceivedSenderKey> to_alice, to_bob;
  const auto collect = [&] {
    to_alice.clear();
    to_bob.clear();
    for (const auto& m : f.relay.received) {
      const auto* sk = std::get_if<proto::SenderKey>(&m);
      if (!sk) continue;
      // (the test holds both identities, and reads as each on the connection a key names)
      if (auto k = crypto::open_sender_key(alice, *sk, sk->to_ephemeral)) to_alice.push_back(*k);
      if (auto k = crypto::open_sender_key(bob, *sk, sk->to_ephemeral)) to_bob.push_back(*k);
    }
  };
  ASSERT_TRUE(f.run_until([&] { return f.relay.count<proto::SenderKey>() == 1; }));
  ASSERT_TRUE(f.run_until([&] { return f.relay.media.size() >= 3; }, 3000));  // comfort noise
  const size_t before = f.relay.media.size();
  collect();
  ASSERT_EQ(to_alice.size(), 1u);
  for (size_t i = 0; i < before; ++i) EXPECT_TRUE(opens(to_alice[0], f.relay.media[i])) << i;

  u.participants.push_back(participant(bob, kBob, "bob"));
  f.relay.send(u);
  ASSERT_TRUE(f.run_until([&] { return f.relay.count<proto::SenderKey>() == 3; }));
  collect();
  ASSERT_EQ(to_bob.size(), 1u);
  ASSERT_EQ(to_alice.size(), 2u);
  EXPECT_EQ(to_bob[0].key_id, to_alice[1].key_id);
  EXPECT_GT(to_bob[0].key_id, to_alice[0].key_id);
  for (size_t i = 0; i < before; ++i) EXPECT_FALSE(opens(to_bob[0], f.relay.media[i])) << i;
  // What we send from now on opens for Bob.
  ASSERT_TRUE(f.run_until([&] { return f.relay.media.size() >= before + 6; }, 3000));
  EXPECT_TRUE(opens(to_bob[0], f.relay.media.back()));

  // 1.5 s later the schedule replaces the key for both.
  ASSERT_TRUE(f.run_until([&] { return f.relay.count<proto::SenderKey>() == 5; }, 3000));
  collect();
  EXPECT_GT(to_bob.back().key_id, to_bob[0].key_id);
}

// What a call shows of each member, beside who it is: its voice as it plays (the speaking
// indicator), its mute as the relay announces it, and its volume in our mix, which is ours alone
// to set (the relay is never told). Our own mute goes to the relay, once per change.
TEST(RoomCallMembers, SpeakingMutedAndVolumeAreShownPerMember) {
  Fixture f;
  const crypto::Identity alice = crypto::Identity::generate();
  constexpr uint32_t kAlice = 7, kMe = 8;
  proto::RoomUpdate u;
  ASSERT_TRUE(join_with_alice(f, u, alice, kAlice, kMe));
  Member a(f.relay, alice, kAlice);
  f.relay.send(a.key_for(f, kMe));
  CallEncoder enc(steady_encoder(), a.sealer, a.wire);
  std::vector<int16_t> loud(kPcmFrame);
  for (size_t i = 0; i < loud.size(); ++i)
    loud[i] = static_cast<int16_t>(i % 48 < 24 ? 8000 : -8000);
  uint32_t t = 0;
  // A second of her voice, in real time: true if she was shown speaking while it played.
  const auto talk = [&] {
    bool shown = false;
    for (const uint32_t end = t + 1000; t < end; t += 20) {
      enc.push(loud, t);
      enc.flush();
      f.io.run_for(std::chrono::milliseconds(20));
      shown = shown || f.call->speaking(kAlice);
    }
    return shown;
  };
  EXPECT_FALSE(f.call->speaking(kAlice));
  EXPECT_TRUE(talk());
  EXPECT_TRUE(f.run_until([&] { return !f.call->speaking(kAlice); }, 3000));  // and not after
  const uint64_t heard = f.frames_heard;
  EXPECT_GT(heard, 20u);

  // At volume 0 she is still shown speaking, and nothing of her reaches our ears; at 1, again.
  f.call->set_volume(alice.fingerprint(), 0);
  EXPECT_TRUE(talk());
  f.run_until([&] { return !f.call->speaking(kAlice); }, 3000);
  EXPECT_EQ(f.frames_heard, heard);
  f.call->set_volume(alice.fingerprint(), 1);
  talk();
  EXPECT_GT(f.frames_heard, heard + 20);

  // Her mute, as the relay says it.
  const auto alice_muted = [&] { return f.call->members().at(0).muted.value_or(false); };
  EXPECT_FALSE(alice_muted());
  u.participants[0].muted = true;
  f.relay.send(u);
  EXPECT_TRUE(f.run_until(alice_muted));
  EXPECT_EQ(f.call->member_count(), 1u);  // the same member, not a leave and a join
  EXPECT_EQ(
      std::count_if(f.events.begin(), f.events.end(),
                    [](const MemberEvent& e) { return e.kind == MemberEvent::Kind::kJoined; }),
      1);

  // Ours: told to the relay once per change.
  f.call->set_muted(true);
  f.call->set_muted(true);
  EXPECT_TRUE(f.run_until([&] { return f.relay.count<proto::Mute>() == 1; }));
  f.call->set_muted(false);
  EXPECT_TRUE(f.run_until([&] { return f.relay.count<proto::Unmute>() == 1; }));
  f.run_until([] { return false; }, 200);
  EXPECT_EQ(f.relay.count<proto::Mute>(), 1u);
}

}  // namespace
}  // namespace wzp::client
