#include "crypto/handshake.h"

#include <cstring>
#include <deque>
#include <random>

#include "crypto/session_crypto.h"
#include "test_util.h"

namespace wzp::crypto {
namespace {

struct Pair {
  Identity alice = Identity::generate();
  Identity bob = Identity::generate();
  OfferReplayCache replay;
};

// A completed handshake: the offerer's keys and the answerer's.
std::pair<SessionKeys, SessionKeys> establish(Pair& p) {
  PendingOffer pending;
  auto answered =
      answer_offer(p.bob, make_offer(p.alice, {"good"}, pending), std::nullopt, p.replay, "good");
  EXPECT_TRUE(answered.ok());
  auto keys = finish_offer(pending, answered->answer, std::nullopt);
  EXPECT_TRUE(keys.ok());
  return {std::move(*keys), std::move(answered->keys)};
}

TEST(Handshake, BothSidesDeriveTheSameKeyAndSeeEachOther) {
  Pair p;
  PendingOffer pending;
  const auto offer = make_offer(p.alice, {"good", "degraded"}, pending);
  auto answered = answer_offer(p.bob, offer, p.alice.fingerprint(), p.replay, "good");
  ASSERT_TRUE(answered.ok()) << answered.error().message();
  auto keys = finish_offer(pending, answered->answer, p.bob.fingerprint());
  ASSERT_TRUE(keys.ok()) << keys.error().message();
  EXPECT_EQ(testing::hex(keys->key.view()), testing::hex(answered->keys.key.view()));
  EXPECT_EQ(keys->session_id, answered->keys.session_id);
  EXPECT_EQ(keys->peer_identity, p.bob.signing_public());
  EXPECT_EQ(answered->keys.peer_identity, p.alice.signing_public());
  EXPECT_EQ(answered->answer.chosen_profile, "good");
  // Offers carry the agreement key, bound to the identity.
  ASSERT_TRUE(offer.agreement_pub && offer.agreement_sig);
  EXPECT_TRUE(
      verify_agreement_binding(offer.identity_pub, *offer.agreement_pub, *offer.agreement_sig));
}

TEST(Handshake, BadSignatureIsRefused) {
  Pair p;
  PendingOffer pending;
  auto offer = make_offer(p.alice, {"good"}, pending);
  offer.signature[5] ^= 1;
  auto r = answer_offer(p.bob, offer, std::nullopt, p.replay, "good");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what, "bad signature on CallOffer");

  // A valid signature over another ephemeral key is just as bad.
  PendingOffer other;
  auto offer2 = make_offer(p.alice, {"good"}, pending);
  offer2.ephemeral_pub = make_offer(p.alice, {"good"}, other).ephemeral_pub;
  EXPECT_FALSE(answer_offer(p.bob, offer2, std::nullopt, p.replay, "good").ok());

  // And on the answer.
  auto offer3 = make_offer(p.alice, {"good"}, pending);
  auto answered = answer_offer(p.bob, offer3, std::nullopt, p.replay, "good");
  ASSERT_TRUE(answered.ok());
  answered->answer.signature[0] ^= 0x80;
  auto fin = finish_offer(pending, answered->answer, std::nullopt);
  ASSERT_FALSE(fin.ok());
  EXPECT_EQ(fin.error().what, "bad signature on CallAnswer");
}

// An answer signed for one offer does not finish another: a relay cannot replay an old answer
// (and the keys behind it) to a new connection.
TEST(Handshake, AnAnswerIsBoundToItsOffer) {
  Pair p;
  PendingOffer first, second;
  auto answered =
      answer_offer(p.bob, make_offer(p.alice, {"good"}, first), std::nullopt, p.replay, "good");
  ASSERT_TRUE(answered.ok());
  (void)make_offer(p.alice, {"good"}, second);
  EXPECT_TRUE(finish_offer(first, answered->answer, std::nullopt).ok());
  auto replayed = finish_offer(second, answered->answer, std::nullopt);
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.error().what, "bad signature on CallAnswer");
}

TEST(Handshake, UnexpectedIdentityIsRefused) {
  Pair p;
  const Identity mallory = Identity::generate();
  PendingOffer pending;
  const auto offer = make_offer(mallory, {"good"}, pending);
  auto r = answer_offer(p.bob, offer, p.alice.fingerprint(), p.replay, "good");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what, "unexpected identity: fingerprint differs");

  // The caller expecting Bob refuses an answer from Mallory.
  const auto offer2 = make_offer(p.alice, {"good"}, pending);
  auto answered = answer_offer(mallory, offer2, std::nullopt, p.replay, "good");
  ASSERT_TRUE(answered.ok());
  EXPECT_FALSE(finish_offer(pending, answered->answer, p.bob.fingerprint()).ok());
}

TEST(Handshake, ReplayedOfferIsRefused) {
  Pair p;
  PendingOffer pending;
  const auto offer = make_offer(p.alice, {"good"}, pending);
  ASSERT_TRUE(answer_offer(p.bob, offer, std::nullopt, p.replay, "good").ok());
  auto again = answer_offer(p.bob, offer, std::nullopt, p.replay, "good");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().what, "replayed CallOffer");
}

TEST(Handshake, LowOrderEphemeralIsRefused) {
  Pair p;
  PendingOffer pending;
  auto offer = make_offer(p.alice, {"good"}, pending);
  auto answered = answer_offer(p.bob, offer, std::nullopt, p.replay, "good");
  ASSERT_TRUE(answered.ok());
  // Bob's answer re-signed over the all-zero point by Bob himself: valid signature, bad key.
  PublicKey zero{};
  answered->answer.ephemeral_pub.assign(32, 0);
  answered->answer.signature = sign_ephemeral(p.bob, zero, "call-answer", pending.ephemeral_public);
  auto fin = finish_offer(pending, answered->answer, std::nullopt);
  ASSERT_FALSE(fin.ok());
  EXPECT_EQ(fin.error().what, "peer ephemeral key is of low order");
}

// Two SessionCryptos exchanging media both ways through a reordering network while the offerer
// rekeys several times; the signalling stream is slower than the datagrams. Nothing is lost.
TEST(Rekey, MediaFlowsAcrossRekeysWithoutLoss) {
  Pair p;
  const auto [offerer_keys, answerer_keys] = establish(p);
  SessionCrypto a(offerer_keys, Direction::kOfferer);
  SessionCrypto b(answerer_keys, Direction::kAnswerer);

  struct Packet {
    uint16_t seq;
    std::vector<uint8_t> ad, ct;
    uint32_t payload;
  };
  std::mt19937 rng(7);
  std::deque<Packet> to_b, to_a;                                // datagrams in flight
  std::deque<std::pair<int, proto::Rekey>> sig_to_b, sig_to_a;  // (deliver at tick, msg)
  uint32_t sent_a = 0, sent_b = 0, got_a = 0, got_b = 0;
  const uint32_t kTicks = 3 * 65536 + 5000;

  auto send = [&](SessionCrypto& s, uint32_t& counter, std::deque<Packet>& q) {
    Packet pk;
    pk.seq = static_cast<uint16_t>(counter);
    pk.ad = {0x00, static_cast<uint8_t>(counter)};
    pk.payload = counter;
    std::vector<uint8_t> pt(4);
    std::memcpy(pt.data(), &pk.payload, 4);
    pk.ct.resize(4 + kAeadTagBytes);
    s.seal(counter, pk.ad, pt, pk.ct);
    ++counter;
    // Occasionally swap with the previous packet: reordering.
    q.push_back(std::move(pk));
    if (q.size() >= 2 && rng() % 8 == 0) std::swap(q[q.size() - 1], q[q.size() - 2]);
  };
  auto receive = [&](SessionCrypto& s, std::deque<Packet>& q, uint32_t& got) {
    while (q.size() > 3) {  // three packets stay in flight
      Packet pk = std::move(q.front());
      q.pop_front();
      std::vector<uint8_t> pt(4);
      size_t n = 0;
      const auto st = s.open(pk.seq, pk.ad, pk.ct, pt, &n);
      ASSERT_EQ(st, OpenStatus::kOk) << "packet " << pk.payload;
      uint32_t v;
      std::memcpy(&v, pt.data(), 4);
      ASSERT_EQ(v, pk.payload);
      ++got;
    }
  };

  for (uint32_t tick = 0; tick < kTicks; ++tick) {
    send(a, sent_a, to_b);
    send(b, sent_b, to_a);
    if (a.wants_rekey()) sig_to_b.emplace_back(tick + 40, *a.begin_rekey(p.alice));
    while (!sig_to_b.empty() && sig_to_b.front().first <= static_cast<int>(tick)) {
      auto reply = b.on_rekey(sig_to_b.front().second, p.bob);
      ASSERT_TRUE(reply.ok()) << reply.error().message();
      ASSERT_TRUE(reply->has_value());
      sig_to_a.emplace_back(tick + 40, **reply);
      sig_to_b.pop_front();
    }
    while (!sig_to_a.empty() && sig_to_a.front().first <= static_cast<int>(tick)) {
      auto none = a.on_rekey(sig_to_a.front().second, p.alice);
      ASSERT_TRUE(none.ok()) << none.error().message();
      EXPECT_FALSE(none->has_value());
      sig_to_a.pop_front();
    }
    receive(b, to_b, got_b);
    receive(a, to_a, got_a);
  }
  EXPECT_EQ(a.epoch(), 3u);
  EXPECT_EQ(b.epoch(), 3u);
  EXPECT_EQ(got_b, sent_a - 3);
  EXPECT_EQ(got_a, sent_b - 3);
  EXPECT_FALSE(a.has_previous_key());  // the old keys were wiped after the grace
  EXPECT_FALSE(b.has_previous_key());
}

TEST(Rekey, ForgedOrOutOfOrderRekeyIsRefused) {
  Pair p;
  const auto [offerer_keys, answerer_keys] = establish(p);
  SessionCrypto a(offerer_keys, Direction::kOfferer);
  SessionCrypto b(answerer_keys, Direction::kAnswerer);
  const Identity mallory = Identity::generate();
  auto forged = *SessionCrypto(offerer_keys, Direction::kOfferer).begin_rekey(mallory);
  EXPECT_EQ(b.on_rekey(forged, p.bob).error().what, "bad signature on Rekey");
  auto real = *a.begin_rekey(p.alice);
  real.epoch = 5;
  EXPECT_EQ(b.on_rekey(real, p.bob).error().what, "rekey epoch out of order");
  EXPECT_EQ(b.epoch(), 0u);
}

}  // namespace
}  // namespace wzp::crypto
