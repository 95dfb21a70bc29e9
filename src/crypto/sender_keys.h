// End-to-end room media: each member encrypts its media under its own random sender key,
// which it hands to every other member sealed to that member's X25519 key and signed with its
// own Ed25519 key. The relay forwards SenderKey messages it cannot open and never holds a key
// that decrypts media.
//
// Keys rotate when a member leaves (the leaver never receives the new key), when one joins
// (it never receives the key that protected what came before) and on a schedule;
// receivers keep a sender's previous key for a short grace period, for packets in flight.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "crypto/identity.h"
#include "crypto/media_aead.h"
#include "crypto/replay_window.h"
#include "proto/result.h"
#include "proto/seq.h"
#include "proto/signal_message.h"

namespace wzp::crypto {

inline constexpr uint64_t kSenderKeyGraceMs = 2000;
inline constexpr uint8_t kRoomDirection = 0;  // sender keys are one-way: one direction byte

// Our own sender key.
class OwnSenderKey {
 public:
  explicit OwnSenderKey(uint32_t session_id);
  void rotate();  // fresh random key, key_id + 1
  uint32_t key_id() const { return key_id_; }
  uint32_t session_id() const { return session_id_; }
  const Key32& key() const { return key_; }
  MediaKey media_key() const { return MediaKey(key_, session_id_, kRoomDirection); }

 private:
  uint32_t session_id_;
  uint32_t key_id_ = 0;
  Key32 key_;
};

// Seals our current key for one recipient, after checking the recipient's binding between
// identity and agreement key (so a relay cannot substitute its own key), and binds it to the
// recipient's connection (its offer_ephemeral).
proto::Result<proto::SenderKey> seal_sender_key(const Identity& me, const OwnSenderKey& key,
                                                const proto::Participant& recipient);

struct ReceivedSenderKey {
  std::string from;
  uint32_t session_id = 0;
  uint32_t key_id = 0;
  Key32 key;
};

// Verifies and opens a SenderKey addressed to us on the connection whose CallOffer carried
// our_ephemeral: a key sealed for an earlier connection of ours (recorded and replayed by a
// relay after a redial) is refused, and with it the audio recorded under it.
proto::Result<ReceivedSenderKey> open_sender_key(const Identity& me, const proto::SenderKey& msg,
                                                 std::span<const uint8_t> our_ephemeral);

// Receiver side: one key (and a previous one in grace) per sender session, accepted only
// from the identity the room's membership binds to that session: a member (or a relay with an
// identity of its own) cannot hand out a key for somebody else's session, and so can neither
// speak as that member nor lock its real keys out with a huge key id.
class SenderKeyStore {
 public:
  enum class Verdict { kInstalled, kStale, kNotAMember, kWrongSender };
  // The member behind a session, as the room lists it. A different identity for a bound
  // session replaces the binding and drops that session's keys.
  void bind(uint32_t session_id, const std::string& fingerprint);
  Verdict install(ReceivedSenderKey key, uint64_t now_ms);
  // Drops the session's binding and keys.
  void forget(uint32_t session_id);
  // Drops previous keys whose grace has run out.
  void expire(uint64_t now_ms);
  OpenStatus open(uint32_t session_id, uint16_t wire_seq, std::span<const uint8_t> ad,
                  std::span<const uint8_t> ciphertext, std::span<uint8_t> out, size_t* out_len);
  bool has_sender(uint32_t session_id) const { return senders_.count(session_id) != 0; }
  size_t previous_keys() const;

 private:
  struct Sender {
    uint32_t key_id = 0;
    Key32 key;
    std::optional<Key32> previous;
    uint64_t previous_until_ms = 0;
    ReceiveCounter received;
  };
  std::map<uint32_t, Sender> senders_;
  std::map<uint32_t, std::string> members_;  // session id -> fingerprint
};

// Trust on first use for the people behind fingerprints: remembers which fingerprint a
// display name came with, and reports when the same name shows up with another identity.
class PeerDirectory {
 public:
  enum class Seen { kNew, kKnown, kIdentityChanged };
  Seen observe(const std::string& display_name, const std::string& fingerprint);

 private:
  std::map<std::string, std::string> by_name_;
};

}  // namespace wzp::crypto
