// How the call pipeline reaches its keys: a per-hop or direct-call session (SessionCrypto) or
// room sender keys (OwnSenderKey out, SenderKeyStore in), behind one pair of interfaces.
#pragma once

#include <cstdint>
#include <span>

#include "crypto/media_aead.h"
#include "crypto/sender_keys.h"
#include "crypto/session_crypto.h"

namespace wzp::client {

class MediaSealer {
 public:
  virtual ~MediaSealer() = default;
  virtual size_t seal(uint32_t counter, std::span<const uint8_t> ad,
                      std::span<const uint8_t> plaintext, std::span<uint8_t> out) = 0;
};

class MediaOpener {
 public:
  virtual ~MediaOpener() = default;
  virtual crypto::OpenStatus open(uint16_t wire_seq, std::span<const uint8_t> ad,
                                  std::span<const uint8_t> ciphertext, std::span<uint8_t> out,
                                  size_t* out_len) = 0;
};

// A direct call's (or a hop's) session: both directions.
class SessionMediaCrypto final : public MediaSealer, public MediaOpener {
 public:
  explicit SessionMediaCrypto(crypto::SessionCrypto& s) : s_(s) {}
  size_t seal(uint32_t counter, std::span<const uint8_t> ad, std::span<const uint8_t> pt,
              std::span<uint8_t> out) override {
    return s_.seal(counter, ad, pt, out);
  }
  crypto::OpenStatus open(uint16_t seq, std::span<const uint8_t> ad, std::span<const uint8_t> ct,
                          std::span<uint8_t> out, size_t* len) override {
    return s_.open(seq, ad, ct, out, len);
  }

 private:
  crypto::SessionCrypto& s_;
};

// Room media we send: our own sender key.
class SenderKeySealer final : public MediaSealer {
 public:
  explicit SenderKeySealer(const crypto::OwnSenderKey& k) : k_(k) {}
  size_t seal(uint32_t counter, std::span<const uint8_t> ad, std::span<const uint8_t> pt,
              std::span<uint8_t> out) override {
    return k_.media_key().seal(counter, ad, pt, out);
  }

 private:
  const crypto::OwnSenderKey& k_;
};

// Room media from one sender, opened with the key it gave us.
class SenderKeyOpener final : public MediaOpener {
 public:
  SenderKeyOpener(crypto::SenderKeyStore& store, uint32_t session)
      : store_(store), session_(session) {}
  crypto::OpenStatus open(uint16_t seq, std::span<const uint8_t> ad, std::span<const uint8_t> ct,
                          std::span<uint8_t> out, size_t* len) override {
    return store_.open(session_, seq, ad, ct, out, len);
  }

 private:
  crypto::SenderKeyStore& store_;
  uint32_t session_;
};

}  // namespace wzp::client
