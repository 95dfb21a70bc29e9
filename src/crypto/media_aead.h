// ChaCha20-Poly1305 (IETF) for media payloads.
//
// Nonce (12 bytes): session_id (u32 BE) || packet counter (u32 BE) || direction (1 byte) ||
// three zero bytes. The counter is the sender's sequence number extended past its 16-bit
// wrap, so under one key a nonce is never reused (keys change long before 2^32 packets).
//
// Associated data: the datagram's header bytes as sent (tag, header, quality report), and for
// a mini frame also the 12-byte header the receiver expanded it to, so that a wrong inference
// (a lost full header, say) fails authentication instead of yielding a mislabelled frame.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "crypto/replay_window.h"
#include "crypto/secret.h"
#include "proto/media_frame.h"

namespace wzp::crypto {

inline constexpr size_t kAeadTagBytes = 16;
inline constexpr size_t kNonceBytes = 12;
inline constexpr size_t kMaxAssociatedData =
    proto::kMaxMediaHeaderBytes + proto::MediaHeader::kSize;

enum class Direction : uint8_t { kOfferer = 0, kAnswerer = 1 };

std::array<uint8_t, kNonceBytes> make_nonce(uint32_t session_id, uint32_t counter,
                                            uint8_t direction);

// Writes the associated data for a frame into `out`; returns its length.
size_t media_associated_data(const proto::MediaFrame& frame,
                             std::span<uint8_t, kMaxAssociatedData> out);

// One key bound to one (session id, direction). Stateless: counters belong to the caller.
class MediaKey {
 public:
  MediaKey() = default;
  MediaKey(const Key32& key, uint32_t session_id, uint8_t direction)
      : key_(key), session_id_(session_id), direction_(direction) {}

  // out must hold plaintext.size() + 16 bytes; returns the ciphertext length.
  size_t seal(uint32_t counter, std::span<const uint8_t> ad, std::span<const uint8_t> plaintext,
              std::span<uint8_t> out) const;
  // out must hold ciphertext.size() - 16 bytes; false when authentication fails.
  bool open(uint32_t counter, std::span<const uint8_t> ad, std::span<const uint8_t> ciphertext,
            std::span<uint8_t> out, size_t* out_len) const;

  void wipe() { key_.wipe(); }
  bool empty() const { return key_.is_zero(); }
  uint32_t session_id() const { return session_id_; }
  uint8_t direction() const { return direction_; }

 private:
  Key32 key_;
  uint32_t session_id_ = 0;
  uint8_t direction_ = 0;
};

}  // namespace wzp::crypto
