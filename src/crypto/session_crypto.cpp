#include "crypto/session_crypto.h"

#include <sodium.h>

#include <algorithm>

#include "crypto/hkdf.h"
#include "proto/bytes.h"

namespace wzp::crypto {
namespace {

constexpr std::string_view kRekeyLabel = "rekey";

std::array<uint8_t, 4> epoch_bytes(uint32_t epoch) {
  std::array<uint8_t, 4> b{};
  proto::store_be32(b.data(), epoch);
  return b;
}

uint8_t other(Direction d) { return d == Direction::kOfferer ? 1 : 0; }

}  // namespace

SessionCrypto::SessionCrypto(const SessionKeys& keys, Direction me)
    : me_(me),
      session_id_(keys.session_id),
      peer_identity_(keys.peer_identity),
      current_(keys.key) {}

MediaKey SessionCrypto::send_key(const Key32& k) const {
  return MediaKey(k, session_id_, static_cast<uint8_t>(me_));
}
MediaKey SessionCrypto::recv_key(const Key32& k) const {
  return MediaKey(k, session_id_, other(me_));
}

size_t SessionCrypto::seal(uint32_t counter, std::span<const uint8_t> ad,
                           std::span<const uint8_t> plaintext, std::span<uint8_t> out) {
  ++sent_since_rekey_;
  const Key32& k = (previous_live_ && !send_on_current_) ? previous_ : current_;
  return send_key(k).seal(counter, ad, plaintext, out);
}

OpenStatus SessionCrypto::open(uint16_t wire_seq, std::span<const uint8_t> ad,
                               std::span<const uint8_t> ciphertext, std::span<uint8_t> out,
                               size_t* out_len) {
  uint64_t counter = 0;
  if (auto st = admit_status(received_.admit(wire_seq, &counter)); st != OpenStatus::kOk) return st;
  const auto c32 = static_cast<uint32_t>(counter);
  bool on_current = recv_key(current_).open(c32, ad, ciphertext, out, out_len);
  if (!on_current &&
      !(previous_live_ && recv_key(previous_).open(c32, ad, ciphertext, out, out_len))) {
    return OpenStatus::kAuthFailed;
  }
  received_.commit(counter);
  ++received_since_rekey_;
  if (on_current && previous_live_) {
    send_on_current_ = true;  // the peer has the new key: so can our datagrams
    if (++opened_on_current_ >= kOldKeyGracePackets) {
      previous_.wipe();
      previous_live_ = false;
    }
  }
  return OpenStatus::kOk;
}

bool SessionCrypto::wants_rekey() const {
  return me_ == Direction::kOfferer && !pending_ &&
         std::max(sent_since_rekey_, received_since_rekey_) >= kRekeyInterval;
}

std::optional<proto::Rekey> SessionCrypto::begin_rekey(const Identity& me) {
  if (pending_) return std::nullopt;
  pending_.emplace();
  ensure_sodium();
  randombytes_buf(pending_->ephemeral_secret.data(), 32);
  crypto_scalarmult_base(pending_->ephemeral_public.data(), pending_->ephemeral_secret.data());
  proto::Rekey msg;
  msg.epoch = epoch_ + 1;
  msg.ephemeral_pub.assign(pending_->ephemeral_public.begin(), pending_->ephemeral_public.end());
  msg.signature =
      sign_ephemeral(me, pending_->ephemeral_public, kRekeyLabel, epoch_bytes(msg.epoch));
  return msg;
}

proto::Result<std::optional<proto::Rekey>> SessionCrypto::on_rekey(const proto::Rekey& msg,
                                                                   const Identity& me) {
  if (msg.epoch != epoch_ + 1)
    return proto::Error{proto::Errc::kBadValue, "rekey epoch out of order"};
  if (!verify_ephemeral(peer_identity_, msg.ephemeral_pub, kRekeyLabel, msg.signature,
                        epoch_bytes(msg.epoch))) {
    return proto::Error{proto::Errc::kBadValue, "bad signature on Rekey"};
  }
  std::optional<proto::Rekey> reply;
  if (!pending_) {
    if (me_ == Direction::kOfferer) {
      return proto::Error{proto::Errc::kBadValue, "unsolicited Rekey from the answerer"};
    }
    reply = begin_rekey(me);
  }
  Key32 shared;
  if (crypto_scalarmult(shared.data(), pending_->ephemeral_secret.data(),
                        msg.ephemeral_pub.data()) != 0) {
    pending_.reset();
    return proto::Error{proto::Errc::kBadValue, "rekey ephemeral key is of low order"};
  }
  pending_.reset();  // wipes our ephemeral secret
  install(shared);
  // The offerer got the reply: the answerer already holds the new key.
  send_on_current_ = me_ == Direction::kOfferer;
  return reply;
}

void SessionCrypto::install(const Key32& shared) {
  Key32 next;
  {
    Secret<kHashLen> prk;
    hkdf_extract(current_.view(), shared.view(), prk.mut());
    hkdf_expand(prk.view(),
                {reinterpret_cast<const uint8_t*>(kRekeyInfo.data()), kRekeyInfo.size()},
                next.mut());
  }
  previous_ = current_;  // the older previous key, if any, is overwritten (wiped)
  previous_live_ = true;
  current_ = next;
  ++epoch_;
  sent_since_rekey_ = 0;
  received_since_rekey_ = 0;
  opened_on_current_ = 0;
}

}  // namespace wzp::crypto
