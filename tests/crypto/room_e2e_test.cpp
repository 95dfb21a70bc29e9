// End to end in rooms: what a relay holds does not decrypt room media; members can; a member
// who left cannot read what is sent after the rotation.
#include <sodium.h>

#include <array>

#include "crypto/handshake.h"
#include "crypto/sender_keys.h"
#include "test_util.h"

namespace wzp::crypto {
namespace {

struct Member {
  explicit Member(uint32_t session, std::string name)
      : id(Identity::generate()), own(session), name(std::move(name)) {
    redial();
  }
  // A new connection to the relay: a new offer ephemeral (here, its stand-in).
  void redial() { randombytes_buf(connection.data(), connection.size()); }
  proto::Participant as_participant() const {
    proto::Participant p;
    p.session_id = own.session_id();
    p.fingerprint = id.fingerprint();
    p.display_name = name;
    p.identity_pub.assign(id.signing_public().begin(), id.signing_public().end());
    p.agreement_pub.assign(id.agreement_public().begin(), id.agreement_public().end());
    p.agreement_sig = agreement_binding(id);
    p.offer_ephemeral = proto::Bytes(connection.begin(), connection.end());
    return p;
  }
  Identity id;
  std::array<uint8_t, 32> connection{};
  OwnSenderKey own;
  std::string name;
  SenderKeyStore store;
  uint32_t counter = 0;
};

struct Datagram {
  uint32_t session;
  uint16_t seq;
  std::vector<uint8_t> ad, ct, plain;
};

// Everything a relay sees and holds: each datagram, each SenderKey message, its own identity
// and the per-hop handshake keys it shares with each member.
struct RelayView {
  Identity relay_id = Identity::generate();
  std::vector<proto::SenderKey> sender_keys;
  std::vector<Key32> hop_keys;
  std::vector<Datagram> datagrams;
};

Datagram send(Member& m, const std::string& text) {
  Datagram d;
  d.session = m.own.session_id();
  d.seq = static_cast<uint16_t>(m.counter);
  d.ad = {0x00, 0x01};
  d.plain.assign(text.begin(), text.end());
  d.ct.resize(d.plain.size() + kAeadTagBytes);
  m.own.media_key().seal(m.counter++, d.ad, d.plain, d.ct);
  return d;
}

bool member_reads(Member& m, const Datagram& d) {
  std::vector<uint8_t> out(d.ct.size());
  size_t n = 0;
  return m.store.open(d.session, d.seq, d.ad, d.ct, out, &n) == OpenStatus::kOk &&
         std::equal(d.plain.begin(), d.plain.end(), out.begin());
}

// Distributes `from`'s current key to each of `to`, through the relay (which records it).
void distribute(Member& from, std::vector<Member*> to, RelayView& relay, uint64_t now) {
  for (Member* r : to) {
    auto sk = seal_sender_key(from.id, from.own, r->as_participant());
    ASSERT_TRUE(sk.ok()) << sk.error().message();
    relay.sender_keys.push_back(*sk);
    auto opened = open_sender_key(r->id, *sk, r->connection);
    ASSERT_TRUE(opened.ok()) << opened.error().message();
    // The room lists `from` behind its session (RoomCall binds every member it is told of).
    r->store.bind(from.own.session_id(), from.id.fingerprint());
    ASSERT_EQ(r->store.install(std::move(*opened), now), SenderKeyStore::Verdict::kInstalled);
  }
}

// The relay's best attempt: every key it has or can open, as every session and direction.
bool relay_reads(const RelayView& relay, const Datagram& d) {
  std::vector<Key32> candidates = relay.hop_keys;
  for (const auto& sk : relay.sender_keys) {
    std::vector<uint8_t> plain(sk.sealed_key.size());
    if (sk.sealed_key.size() >= crypto_box_SEALBYTES &&
        crypto_box_seal_open(plain.data(), sk.sealed_key.data(), sk.sealed_key.size(),
                             relay.relay_id.agreement_public().data(),
                             relay.relay_id.agreement_secret().data()) == 0) {
      candidates.push_back(Key32(std::span<const uint8_t, 32>(plain.data(), 32)));
    }
    if (open_sender_key(relay.relay_id, sk, sk.to_ephemeral).ok()) return true;
  }
  std::vector<uint8_t> out(d.ct.size());
  size_t n = 0;
  for (const auto& k : candidates) {
    for (uint8_t dir = 0; dir < 2; ++dir) {
      if (MediaKey(k, d.session, dir).open(d.seq, d.ad, d.ct, out, &n)) return true;
    }
  }
  return false;
}

TEST(RoomE2e, RelayCannotDecryptMembersCanAndLeaverLosesAccess) {
  ensure_sodium();
  RelayView relay;
  Member alice(1, "alice"), bob(2, "bob"), carol(3, "carol");
  // Per-hop handshakes between each member and the relay: the relay holds these keys.
  OfferReplayCache replay;
  for (Member* m : {&alice, &bob, &carol}) {
    PendingOffer pending;
    auto ans = answer_offer(relay.relay_id, make_offer(m->id, {"good"}, pending), std::nullopt,
                            replay, "good");
    ASSERT_TRUE(ans.ok());
    relay.hop_keys.push_back(ans->keys.key);
  }
  distribute(alice, {&bob, &carol}, relay, 0);
  distribute(bob, {&alice, &carol}, relay, 0);
  distribute(carol, {&alice, &bob}, relay, 0);

  const auto d1 = send(alice, "hello room");
  relay.datagrams.push_back(d1);
  EXPECT_TRUE(member_reads(bob, d1));
  EXPECT_TRUE(member_reads(carol, d1));
  EXPECT_FALSE(relay_reads(relay, d1));

  // Carol leaves: Alice rotates and gives the new key to Bob only.
  alice.own.rotate();
  distribute(alice, {&bob}, relay, 1000);
  const auto d2 = send(alice, "after carol left");
  EXPECT_TRUE(member_reads(bob, d2));
  EXPECT_FALSE(member_reads(carol, d2));
  EXPECT_FALSE(relay_reads(relay, d2));

  // A packet sent under the old key just before the rotation still opens during the grace
  // period, and not after it.
  Member late_sender(9, "dave");
  distribute(late_sender, {&bob}, relay, 1000);
  const auto old1 = send(late_sender, "in flight 1");
  const auto old2 = send(late_sender, "in flight 2");
  late_sender.own.rotate();
  distribute(late_sender, {&bob}, relay, 1100);
  EXPECT_TRUE(member_reads(bob, old1));
  EXPECT_EQ(bob.store.previous_keys(), 2u);  // alice's and dave's previous keys
  bob.store.expire(1100 + kSenderKeyGraceMs);
  EXPECT_EQ(bob.store.previous_keys(), 0u);
  EXPECT_FALSE(member_reads(bob, old2));
}

TEST(RoomE2e, RelayCannotSubstituteARecipientKey) {
  Member alice(1, "alice"), bob(2, "bob");
  const Identity relay = Identity::generate();
  auto forged = bob.as_participant();
  forged.agreement_pub.assign(relay.agreement_public().begin(), relay.agreement_public().end());
  auto r = seal_sender_key(alice.id, alice.own, forged);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what, "recipient agreement key is not signed by it");
  auto wrong_fp = bob.as_participant();
  wrong_fp.fingerprint = alice.id.fingerprint();
  EXPECT_FALSE(seal_sender_key(alice.id, alice.own, wrong_fp).ok());
}

TEST(RoomE2e, TamperedOrMisaddressedSenderKeyIsRefused) {
  Member alice(1, "alice"), bob(2, "bob"), carol(3, "carol");
  auto sk = *seal_sender_key(alice.id, alice.own, bob.as_participant());
  EXPECT_EQ(open_sender_key(carol.id, sk, carol.connection).error().what,
            "SenderKey not addressed to us");
  auto relabelled = sk;
  relabelled.session_id = 77;  // a relay trying to attribute Alice's key to another session
  EXPECT_EQ(open_sender_key(bob.id, relabelled, bob.connection).error().what,
            "bad signature on SenderKey");
  auto impostor = sk;
  impostor.identity_pub.assign(carol.id.signing_public().begin(), carol.id.signing_public().end());
  EXPECT_FALSE(open_sender_key(bob.id, impostor, bob.connection).ok());
}

// A member (or a relay with a throwaway identity of its own) signs a key for another member's
// session: before keys were bound to the room's membership, it was installed, the victim's
// real keys were refused as stale behind a huge key id, and the attacker's audio played as the
// victim's.
TEST(SenderKeys, RefusesAKeyForAnotherMembersSession) {
  Member alice(1, "alice"), mallory(2, "mallory"), bob(3, "bob");
  RelayView relay;
  bob.store.bind(1, alice.id.fingerprint());
  bob.store.bind(2, mallory.id.fingerprint());
  // Mallory's key, labelled with Alice's session and a key id far ahead of Alice's.
  OwnSenderKey claims_alice(1);
  for (int i = 0; i < 1000; ++i) claims_alice.rotate();
  auto forged = seal_sender_key(mallory.id, claims_alice, bob.as_participant());
  ASSERT_TRUE(forged.ok());
  auto opened = open_sender_key(bob.id, *forged, bob.connection);
  ASSERT_TRUE(opened.ok());  // a valid signature: Mallory's own
  EXPECT_EQ(bob.store.install(std::move(*opened), 0), SenderKeyStore::Verdict::kWrongSender);
  // Mallory's audio under Alice's session does not play.
  Datagram as_alice;
  as_alice.session = 1;
  as_alice.seq = 0;
  as_alice.ad = {0x00, 0x01};
  as_alice.plain = {'h', 'i'};
  as_alice.ct.resize(as_alice.plain.size() + kAeadTagBytes);
  claims_alice.media_key().seal(0, as_alice.ad, as_alice.plain, as_alice.ct);
  EXPECT_FALSE(member_reads(bob, as_alice));
  // Alice's real key still installs, and her audio plays.
  distribute(alice, {&bob}, relay, 0);
  EXPECT_TRUE(member_reads(bob, send(alice, "it is alice")));
  // A key for a session the room does not list is refused too.
  OwnSenderKey nobody(9);
  auto ghost = open_sender_key(bob.id, *seal_sender_key(mallory.id, nobody, bob.as_participant()),
                               bob.connection);
  ASSERT_TRUE(ghost.ok());
  EXPECT_EQ(bob.store.install(std::move(*ghost), 0), SenderKeyStore::Verdict::kNotAMember);
}

// A relay records the key Alice sealed for Bob, and Alice's audio under it. Bob's connection
// drops and he dials again (a new offer ephemeral); the relay replays the recorded key and
// audio as if live. Before keys named the recipient's connection, Bob (a fresh store after the
// redial) installed it and heard the old audio as new. The key is refused, and a relay that
// re-labels it for the new connection breaks Alice's signature.
TEST(SenderKeys, AKeyRecordedOnAnEarlierConnectionIsRefused) {
  Member alice(1, "alice"), bob(3, "bob");
  RelayView relay;
  distribute(alice, {&bob}, relay, 0);
  const auto recorded_audio = send(alice, "said before the redial");
  const proto::SenderKey recorded_key = relay.sender_keys.back();
  EXPECT_TRUE(member_reads(bob, recorded_audio));

  bob.redial();
  bob.store = SenderKeyStore();
  bob.store.bind(1, alice.id.fingerprint());
  auto replayed = open_sender_key(bob.id, recorded_key, bob.connection);
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.error().what, "SenderKey bound to another connection of ours (a replay?)");
  EXPECT_FALSE(member_reads(bob, recorded_audio));

  auto relabelled = recorded_key;
  relabelled.to_ephemeral.assign(bob.connection.begin(), bob.connection.end());
  EXPECT_EQ(open_sender_key(bob.id, relabelled, bob.connection).error().what,
            "bad signature on SenderKey");
  // A recipient listed without a connection to bind to gets no key at all.
  auto unbound = bob.as_participant();
  unbound.offer_ephemeral.reset();
  EXPECT_FALSE(seal_sender_key(alice.id, alice.own, unbound).ok());
}

// The room moving a session to another identity (a relay swapping members) drops the keys
// that session had: the newcomer does not inherit the previous member's voice.
TEST(SenderKeys, ASessionThatChangesIdentityLosesItsKeys) {
  Member alice(1, "alice"), bob(3, "bob");
  RelayView relay;
  distribute(alice, {&bob}, relay, 0);
  const auto d = send(alice, "before");
  bob.store.bind(1, Identity::generate().fingerprint());
  EXPECT_FALSE(member_reads(bob, d));
  EXPECT_FALSE(bob.store.has_sender(1));
}

TEST(RoomE2e, ChangedIdentityForAKnownNameIsFlagged) {
  PeerDirectory dir;
  using S = PeerDirectory::Seen;
  EXPECT_EQ(dir.observe("bob", "aaaa"), S::kNew);
  EXPECT_EQ(dir.observe("bob", "aaaa"), S::kKnown);
  EXPECT_EQ(dir.observe("bob", "bbbb"), S::kIdentityChanged);
}

}  // namespace
}  // namespace wzp::crypto
