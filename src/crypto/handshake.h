// The per-hop handshake: each side sends a fresh X25519 ephemeral key signed by its Ed25519
// identity; the session key is HKDF-SHA256 of their X25519 result.
//
//   offerer                                    answerer
//   CallOffer{identity, eph_o, sig(eph_o || "call-offer")}  ->
//                                               verify, check replay and expected identity
//   <-  CallAnswer{identity, eph_a, sig(eph_a || "call-answer"), chosen_profile}
//   verify, check expected identity
//   both: key = HKDF(X25519(eph, peer eph), info "warzone-session-key")
//         session_id = first 4 bytes of HKDF(same, info "warzone-session-id")
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "crypto/secret.h"
#include "proto/result.h"
#include "proto/signal_message.h"

namespace wzp::crypto {

inline constexpr std::string_view kSessionKeyInfo = "warzone-session-key";
inline constexpr std::string_view kSessionIdInfo = "warzone-session-id";

struct SessionKeys {
  Key32 key;
  uint32_t session_id = 0;
  PublicKey peer_identity{};  // the peer's verified Ed25519 key
};

// The offerer's ephemeral secret, kept until the answer arrives.
struct PendingOffer {
  Key32 ephemeral_secret;
  PublicKey ephemeral_public{};
};

// Remembers the ephemeral keys of offers already answered, so a captured offer cannot be
// replayed to open a second session. Bounded: the oldest entries are forgotten first.
class OfferReplayCache {
 public:
  explicit OfferReplayCache(size_t capacity = 65536) : capacity_(capacity) {}
  // True when the key was new (and is now remembered).
  bool remember(const PublicKey& ephemeral);

 private:
  size_t capacity_;
  std::set<PublicKey> seen_;
  std::deque<PublicKey> order_;
};

// Signs our static X25519 key so that peers (not the relay) can trust it for sealing.
proto::Bytes agreement_binding(const Identity& me);
bool verify_agreement_binding(std::span<const uint8_t> identity_pub,
                              std::span<const uint8_t> agreement_pub,
                              std::span<const uint8_t> signature);

proto::CallOffer make_offer(const Identity& me, std::vector<std::string> profiles,
                            PendingOffer& pending);

struct Answered {
  proto::CallAnswer answer;
  SessionKeys keys;
};

// expected_fingerprint: when set, an offer from any other identity is refused.
proto::Result<Answered> answer_offer(const Identity& me, const proto::CallOffer& offer,
                                     const std::optional<std::string>& expected_fingerprint,
                                     OfferReplayCache& replay, std::string chosen_profile);

proto::Result<SessionKeys> finish_offer(const PendingOffer& pending,
                                        const proto::CallAnswer& answer,
                                        const std::optional<std::string>& expected_fingerprint);

// Presence registration, bound to one connection to one relay: Ed25519 over
// "register-presence" || timestamp_ms (u64 BE) || challenge, the nonce the relay gave that
// connection. A relay that captured a registration cannot replay it to another relay (which
// gives its own challenge), nor on a later connection.
proto::Bytes sign_presence(const Identity& me, uint64_t timestamp_ms,
                           std::span<const uint8_t> challenge);
// A RegisterPresence for `me`, stamped with the wall clock (the relay refuses stale ones).
// Without a challenge, it asks the relay for one (the relay registers nothing on it).
proto::RegisterPresence make_presence(const Identity& me,
                                      std::optional<std::span<const uint8_t>> challenge = {});
bool verify_presence(std::span<const uint8_t> identity_pub, uint64_t timestamp_ms,
                     std::span<const uint8_t> challenge, std::span<const uint8_t> signature);
// A fresh random nonce of `n` bytes (a relay's presence challenge).
proto::Bytes random_nonce(size_t n);

// HKDF from an X25519 result to the session key and id (shared by handshake and tests).
SessionKeys derive_session(const Key32& shared);

// Signs eph || label and checks the same; shared by offers, answers and rekeys.
proto::Bytes sign_ephemeral(const Identity& me, const PublicKey& eph, std::string_view label,
                            std::span<const uint8_t> suffix = {});
bool verify_ephemeral(std::span<const uint8_t> identity_pub, std::span<const uint8_t> eph,
                      std::string_view label, std::span<const uint8_t> signature,
                      std::span<const uint8_t> suffix = {});

}  // namespace wzp::crypto
