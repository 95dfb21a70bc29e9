#include "crypto/handshake.h"

#include <sodium.h>

#include <chrono>

#include "crypto/hkdf.h"

namespace wzp::crypto {
namespace {

constexpr std::string_view kOfferLabel = "call-offer";
constexpr std::string_view kAnswerLabel = "call-answer";
constexpr std::string_view kAgreementLabel = "agreement-key";

std::vector<uint8_t> concat(std::span<const uint8_t> a, std::string_view label,
                            std::span<const uint8_t> suffix) {
  std::vector<uint8_t> m(a.begin(), a.end());
  m.insert(m.end(), label.begin(), label.end());
  m.insert(m.end(), suffix.begin(), suffix.end());
  return m;
}

void new_ephemeral(Key32& secret, PublicKey& pub) {
  ensure_sodium();
  randombytes_buf(secret.data(), secret.size());
  crypto_scalarmult_base(pub.data(), secret.data());
}

// X25519 then HKDF; fails for a low-order peer key (all-zero shared secret).
proto::Result<SessionKeys> agree_ephemeral(const Key32& my_secret, std::span<const uint8_t> peer) {
  if (peer.size() != 32)
    return proto::Error{proto::Errc::kBadValue, "ephemeral key must be 32 bytes"};
  Key32 shared;
  if (crypto_scalarmult(shared.data(), my_secret.data(), peer.data()) != 0) {
    return proto::Error{proto::Errc::kBadValue, "peer ephemeral key is of low order"};
  }
  return derive_session(shared);
}

std::optional<proto::Error> check_identity(std::span<const uint8_t> identity_pub,
                                           const std::optional<std::string>& expected) {
  if (identity_pub.size() != 32) {
    return proto::Error{proto::Errc::kBadValue, "identity key must be 32 bytes"};
  }
  if (expected &&
      fingerprint_of(std::span<const uint8_t, 32>(identity_pub.data(), 32)) != *expected) {
    return proto::Error{proto::Errc::kBadValue, "unexpected identity: fingerprint differs"};
  }
  return std::nullopt;
}

}  // namespace

bool OfferReplayCache::remember(const PublicKey& ephemeral) {
  if (!seen_.insert(ephemeral).second) return false;
  order_.push_back(ephemeral);
  if (order_.size() > capacity_) {
    seen_.erase(order_.front());
    order_.pop_front();
  }
  return true;
}

SessionKeys derive_session(const Key32& shared) {
  SessionKeys k;
  hkdf({}, shared.view(), kSessionKeyInfo, k.key.mut());
  uint8_t id[4];
  hkdf({}, shared.view(), kSessionIdInfo, id);
  k.session_id = static_cast<uint32_t>(id[0]) << 24 | id[1] << 16 | id[2] << 8 | id[3];
  return k;
}

proto::Bytes sign_ephemeral(const Identity& me, const PublicKey& eph, std::string_view label,
                            std::span<const uint8_t> suffix) {
  const auto sig = me.sign(concat(eph, label, suffix));
  return proto::Bytes(sig.begin(), sig.end());
}

bool verify_ephemeral(std::span<const uint8_t> identity_pub, std::span<const uint8_t> eph,
                      std::string_view label, std::span<const uint8_t> signature,
                      std::span<const uint8_t> suffix) {
  if (identity_pub.size() != 32 || eph.size() != 32) return false;
  return verify_signature(std::span<const uint8_t, 32>(identity_pub.data(), 32),
                          concat(eph, label, suffix), signature);
}

namespace {

std::vector<uint8_t> presence_message(uint64_t ts, std::span<const uint8_t> challenge) {
  static constexpr std::string_view kLabel = "register-presence";
  std::vector<uint8_t> m(kLabel.begin(), kLabel.end());
  for (int shift = 56; shift >= 0; shift -= 8) m.push_back(static_cast<uint8_t>(ts >> shift));
  m.insert(m.end(), challenge.begin(), challenge.end());
  return m;
}

}  // namespace

proto::Bytes sign_presence(const Identity& me, uint64_t timestamp_ms,
                           std::span<const uint8_t> challenge) {
  const auto sig = me.sign(presence_message(timestamp_ms, challenge));
  return proto::Bytes(sig.begin(), sig.end());
}

proto::RegisterPresence make_presence(const Identity& me,
                                      std::optional<std::span<const uint8_t>> challenge) {
  proto::RegisterPresence reg;
  reg.identity_pub.assign(me.signing_public().begin(), me.signing_public().end());
  reg.timestamp_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
  if (challenge) reg.challenge = proto::Bytes(challenge->begin(), challenge->end());
  reg.signature = sign_presence(me, reg.timestamp_ms, reg.challenge.value_or(proto::Bytes{}));
  return reg;
}

bool verify_presence(std::span<const uint8_t> identity_pub, uint64_t timestamp_ms,
                     std::span<const uint8_t> challenge, std::span<const uint8_t> signature) {
  if (identity_pub.size() != 32) return false;
  return verify_signature(std::span<const uint8_t, 32>(identity_pub.data(), 32),
                          presence_message(timestamp_ms, challenge), signature);
}

proto::Bytes random_nonce(size_t n) {
  ensure_sodium();
  proto::Bytes out(n);
  randombytes_buf(out.data(), out.size());
  return out;
}

proto::Bytes agreement_binding(const Identity& me) {
  return sign_ephemeral(me, me.agreement_public(), kAgreementLabel);
}

bool verify_agreement_binding(std::span<const uint8_t> identity_pub,
                              std::span<const uint8_t> agreement_pub,
                              std::span<const uint8_t> signature) {
  return verify_ephemeral(identity_pub, agreement_pub, kAgreementLabel, signature);
}

proto::CallOffer make_offer(const Identity& me, std::vector<std::string> profiles,
                            PendingOffer& pending) {
  new_ephemeral(pending.ephemeral_secret, pending.ephemeral_public);
  proto::CallOffer offer;
  offer.identity_pub.assign(me.signing_public().begin(), me.signing_public().end());
  offer.ephemeral_pub.assign(pending.ephemeral_public.begin(), pending.ephemeral_public.end());
  offer.signature = sign_ephemeral(me, pending.ephemeral_public, kOfferLabel);
  offer.supported_profiles = std::move(profiles);
  offer.agreement_pub = proto::Bytes(me.agreement_public().begin(), me.agreement_public().end());
  offer.agreement_sig = agreement_binding(me);
  return offer;
}

proto::Result<Answered> answer_offer(const Identity& me, const proto::CallOffer& offer,
                                     const std::optional<std::string>& expected_fingerprint,
                                     OfferReplayCache& replay, std::string chosen_profile) {
  if (auto err = check_identity(offer.identity_pub, expected_fingerprint)) return *err;
  if (!verify_ephemeral(offer.identity_pub, offer.ephemeral_pub, kOfferLabel, offer.signature)) {
    return proto::Error{proto::Errc::kBadValue, "bad signature on CallOffer"};
  }
  PublicKey eph{};
  std::copy(offer.ephemeral_pub.begin(), offer.ephemeral_pub.end(), eph.begin());
  if (!replay.remember(eph)) return proto::Error{proto::Errc::kBadValue, "replayed CallOffer"};

  PendingOffer mine;
  new_ephemeral(mine.ephemeral_secret, mine.ephemeral_public);
  auto keys = agree_ephemeral(mine.ephemeral_secret, offer.ephemeral_pub);
  if (!keys) return keys.error();
  std::copy(offer.identity_pub.begin(), offer.identity_pub.end(), keys->peer_identity.begin());

  Answered out{{}, std::move(*keys)};
  out.answer.identity_pub.assign(me.signing_public().begin(), me.signing_public().end());
  out.answer.ephemeral_pub.assign(mine.ephemeral_public.begin(), mine.ephemeral_public.end());
  // Over the offer's ephemeral key too: an answer belongs to one offer, and an old answer
  // replayed to a new offer does not verify.
  out.answer.signature =
      sign_ephemeral(me, mine.ephemeral_public, kAnswerLabel, offer.ephemeral_pub);
  out.answer.chosen_profile = std::move(chosen_profile);
  return out;
}

proto::Result<SessionKeys> finish_offer(const PendingOffer& pending,
                                        const proto::CallAnswer& answer,
                                        const std::optional<std::string>& expected_fingerprint) {
  if (auto err = check_identity(answer.identity_pub, expected_fingerprint)) return *err;
  if (!verify_ephemeral(answer.identity_pub, answer.ephemeral_pub, kAnswerLabel, answer.signature,
                        pending.ephemeral_public)) {
    return proto::Error{proto::Errc::kBadValue, "bad signature on CallAnswer"};
  }
  auto keys = agree_ephemeral(pending.ephemeral_secret, answer.ephemeral_pub);
  if (!keys) return keys.error();
  std::copy(answer.identity_pub.begin(), answer.identity_pub.end(), keys->peer_identity.begin());
  return keys;
}

}  // namespace wzp::crypto
