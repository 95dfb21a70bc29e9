#include "crypto/sender_keys.h"

#include <sodium.h>

#include <algorithm>

#include "crypto/handshake.h"
#include "proto/bytes.h"

namespace wzp::crypto {
namespace {

constexpr std::string_view kSenderKeyLabel = "sender-key";
constexpr size_t kSealedPlain = 32 + 4 + 4;

std::vector<uint8_t> signed_part(const proto::SenderKey& m) {
  uint8_t ids[8];
  proto::store_be32(ids, m.session_id);
  proto::store_be32(ids + 4, m.key_id);
  // Zero separators keep the two variable-length names unambiguous.
  const std::string_view parts[] = {
      kSenderKeyLabel,
      m.from,
      std::string_view("\0", 1),
      m.to,
      std::string_view("\0", 1),
      {reinterpret_cast<const char*>(ids), sizeof ids},
      {reinterpret_cast<const char*>(m.sealed_key.data()), m.sealed_key.size()},
      {reinterpret_cast<const char*>(m.to_ephemeral.data()), m.to_ephemeral.size()}};
  std::string out;
  for (auto p : parts) out.append(p);
  return std::vector<uint8_t>(out.begin(), out.end());
}

}  // namespace

OwnSenderKey::OwnSenderKey(uint32_t session_id) : session_id_(session_id) { rotate(); }

void OwnSenderKey::rotate() {
  ensure_sodium();
  randombytes_buf(key_.data(), key_.size());
  ++key_id_;
}

proto::Result<proto::SenderKey> seal_sender_key(const Identity& me, const OwnSenderKey& key,
                                                const proto::Participant& recipient) {
  if (recipient.identity_pub.size() != 32 || recipient.agreement_pub.size() != 32) {
    return proto::Error{proto::Errc::kBadValue, "recipient keys must be 32 bytes"};
  }
  if (fingerprint_of(std::span<const uint8_t, 32>(recipient.identity_pub.data(), 32)) !=
      recipient.fingerprint) {
    return proto::Error{proto::Errc::kBadValue, "recipient fingerprint does not match its key"};
  }
  if (!verify_agreement_binding(recipient.identity_pub, recipient.agreement_pub,
                                recipient.agreement_sig)) {
    return proto::Error{proto::Errc::kBadValue, "recipient agreement key is not signed by it"};
  }
  if (!recipient.offer_ephemeral || recipient.offer_ephemeral->size() != 32) {
    return proto::Error{proto::Errc::kBadValue,
                        "recipient has no 32-byte offer ephemeral to bind to"};
  }
  uint8_t plain[kSealedPlain];
  std::copy_n(key.key().data(), 32, plain);
  proto::store_be32(plain + 32, key.key_id());
  proto::store_be32(plain + 36, key.session_id());
  proto::SenderKey m;
  m.from = me.fingerprint();
  m.to = recipient.fingerprint;
  m.identity_pub.assign(me.signing_public().begin(), me.signing_public().end());
  m.session_id = key.session_id();
  m.key_id = key.key_id();
  m.to_ephemeral = *recipient.offer_ephemeral;
  m.sealed_key.resize(kSealedPlain + crypto_box_SEALBYTES);
  crypto_box_seal(m.sealed_key.data(), plain, sizeof plain, recipient.agreement_pub.data());
  sodium_memzero(plain, sizeof plain);
  const auto sig = me.sign(signed_part(m));
  m.signature.assign(sig.begin(), sig.end());
  return m;
}

proto::Result<ReceivedSenderKey> open_sender_key(const Identity& me, const proto::SenderKey& m,
                                                 std::span<const uint8_t> our_ephemeral) {
  if (m.to != me.fingerprint())
    return proto::Error{proto::Errc::kBadValue, "SenderKey not addressed to us"};
  if (our_ephemeral.size() != 32 || !std::equal(m.to_ephemeral.begin(), m.to_ephemeral.end(),
                                                our_ephemeral.begin(), our_ephemeral.end())) {
    return proto::Error{proto::Errc::kBadValue,
                        "SenderKey bound to another connection of ours (a replay?)"};
  }
  if (m.identity_pub.size() != 32 ||
      fingerprint_of(std::span<const uint8_t, 32>(m.identity_pub.data(), 32)) != m.from) {
    return proto::Error{proto::Errc::kBadValue, "SenderKey identity does not match its sender"};
  }
  if (!verify_signature(std::span<const uint8_t, 32>(m.identity_pub.data(), 32), signed_part(m),
                        m.signature)) {
    return proto::Error{proto::Errc::kBadValue, "bad signature on SenderKey"};
  }
  if (m.sealed_key.size() != kSealedPlain + crypto_box_SEALBYTES) {
    return proto::Error{proto::Errc::kBadValue, "SenderKey sealed key has the wrong size"};
  }
  uint8_t plain[kSealedPlain];
  if (crypto_box_seal_open(plain, m.sealed_key.data(), m.sealed_key.size(),
                           me.agreement_public().data(), me.agreement_secret().data()) != 0) {
    return proto::Error{proto::Errc::kBadValue, "SenderKey does not open with our key"};
  }
  ReceivedSenderKey out;
  out.from = m.from;
  out.key = Key32(std::span<const uint8_t, 32>(plain, 32));
  out.key_id = proto::load_be32(plain + 32);
  out.session_id = proto::load_be32(plain + 36);
  sodium_memzero(plain, sizeof plain);
  // The sealed ids must agree with the signed ones: nobody re-labels a key.
  if (out.key_id != m.key_id || out.session_id != m.session_id) {
    return proto::Error{proto::Errc::kBadValue, "SenderKey ids disagree with the sealed ones"};
  }
  return out;
}

void SenderKeyStore::bind(uint32_t session_id, const std::string& fingerprint) {
  auto [it, fresh] = members_.try_emplace(session_id, fingerprint);
  if (!fresh && it->second != fingerprint) {
    it->second = fingerprint;
    senders_.erase(session_id);  // the previous member's keys say nothing about this one
  }
}

SenderKeyStore::Verdict SenderKeyStore::install(ReceivedSenderKey k, uint64_t now_ms) {
  const auto member = members_.find(k.session_id);
  if (member == members_.end()) return Verdict::kNotAMember;
  if (member->second != k.from) return Verdict::kWrongSender;
  auto [it, fresh] = senders_.try_emplace(k.session_id);
  Sender& s = it->second;
  if (!fresh) {
    if (k.key_id <= s.key_id) return Verdict::kStale;  // stale or repeated: keep the newer key
    s.previous = s.key;
    s.previous_until_ms = now_ms + kSenderKeyGraceMs;
  }
  s.key_id = k.key_id;
  s.key = k.key;
  return Verdict::kInstalled;
}

void SenderKeyStore::forget(uint32_t session_id) {
  senders_.erase(session_id);
  members_.erase(session_id);
}

void SenderKeyStore::expire(uint64_t now_ms) {
  for (auto& [id, s] : senders_) {
    if (s.previous && now_ms >= s.previous_until_ms) s.previous.reset();
  }
}

size_t SenderKeyStore::previous_keys() const {
  size_t n = 0;
  for (const auto& [id, s] : senders_) n += s.previous.has_value();
  return n;
}

OpenStatus SenderKeyStore::open(uint32_t session_id, uint16_t wire_seq, std::span<const uint8_t> ad,
                                std::span<const uint8_t> ciphertext, std::span<uint8_t> out,
                                size_t* out_len) {
  auto it = senders_.find(session_id);
  if (it == senders_.end()) return OpenStatus::kAuthFailed;
  Sender& s = it->second;
  uint64_t counter = 0;
  if (auto st = admit_status(s.received.admit(wire_seq, &counter)); st != OpenStatus::kOk)
    return st;
  const auto c32 = static_cast<uint32_t>(counter);
  const bool ok =
      MediaKey(s.key, session_id, kRoomDirection).open(c32, ad, ciphertext, out, out_len) ||
      (s.previous &&
       MediaKey(*s.previous, session_id, kRoomDirection).open(c32, ad, ciphertext, out, out_len));
  if (!ok) return OpenStatus::kAuthFailed;
  s.received.commit(counter);
  return OpenStatus::kOk;
}

PeerDirectory::Seen PeerDirectory::observe(const std::string& display_name,
                                           const std::string& fingerprint) {
  auto [it, fresh] = by_name_.try_emplace(display_name, fingerprint);
  if (fresh) return Seen::kNew;
  if (it->second == fingerprint) return Seen::kKnown;
  it->second = fingerprint;
  return Seen::kIdentityChanged;
}

}  // namespace wzp::crypto
