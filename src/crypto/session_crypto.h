// Media encryption for one hop or one direct call, with rekeying every 2^16 packets.
//
// Rekey (only the offerer starts one, so that two never cross): the offerer sends
// Rekey{epoch+1, fresh eph, sig}; the answerer replies with its own, derives
//   new key = HKDF(salt = old key, ikm = X25519(eph, peer eph), info "warzone-rekey")
// and can receive under both keys at once, but keeps *sending* under the old key until a
// packet under the new key arrives, since its reply may overtake nothing but may be overtaken
// by its datagrams. The offerer switches to sending under the new key when the reply arrives.
// The old key is wiped once 1024 packets have authenticated under the new one (in-flight
// stragglers older than that would be outside the replay window anyway) or at the next rekey.
#pragma once

#include <cstdint>
#include <optional>

#include "crypto/handshake.h"
#include "crypto/identity.h"
#include "crypto/media_aead.h"
#include "crypto/replay_window.h"
#include "proto/result.h"
#include "proto/seq.h"
#include "proto/signal_message.h"

namespace wzp::crypto {

inline constexpr uint64_t kRekeyInterval = uint64_t{1} << 16;
inline constexpr uint64_t kOldKeyGracePackets = 1024;
inline constexpr std::string_view kRekeyInfo = "warzone-rekey";

class SessionCrypto {
 public:
  SessionCrypto(const SessionKeys& keys, Direction me);

  // Encrypts one payload. `counter` is the sender's extended sequence (its low 16 bits are
  // the header's sequence number). Returns the ciphertext length (plaintext + 16).
  size_t seal(uint32_t counter, std::span<const uint8_t> ad, std::span<const uint8_t> plaintext,
              std::span<uint8_t> out);
  // Decrypts a payload whose header carried `wire_seq`: replay check, then the current key and
  // (during a rekey's grace) the previous one. State moves only on success.
  OpenStatus open(uint16_t wire_seq, std::span<const uint8_t> ad,
                  std::span<const uint8_t> ciphertext, std::span<uint8_t> out, size_t* out_len);

  bool wants_rekey() const;
  // Offerer: starts a rekey. Returns nothing while one is already under way.
  std::optional<proto::Rekey> begin_rekey(const Identity& me);
  // Either side: handles the peer's Rekey. The answerer gets its reply to send back.
  proto::Result<std::optional<proto::Rekey>> on_rekey(const proto::Rekey& msg, const Identity& me);

  uint32_t epoch() const { return epoch_; }
  bool sending_on_new_key() const { return !previous_live_ || send_on_current_; }
  bool has_previous_key() const { return previous_live_; }

 private:
  void install(const Key32& shared_from_dh);
  MediaKey send_key(const Key32& k) const;
  MediaKey recv_key(const Key32& k) const;

  Direction me_;
  uint32_t session_id_;
  PublicKey peer_identity_;
  Key32 current_;
  Key32 previous_;
  bool previous_live_ = false;
  bool send_on_current_ = true;
  uint32_t epoch_ = 0;
  uint64_t sent_since_rekey_ = 0;  // either direction reaching 2^16 triggers a rekey
  uint64_t received_since_rekey_ = 0;
  uint64_t opened_on_current_ = 0;
  std::optional<PendingOffer> pending_;  // our rekey ephemeral, until the reply
  ReceiveCounter received_;
};

}  // namespace wzp::crypto
