#include "crypto/media_aead.h"

#include <sodium.h>

#include <cassert>

#include "proto/bytes.h"

namespace wzp::crypto {

std::array<uint8_t, kNonceBytes> make_nonce(uint32_t session_id, uint32_t counter,
                                            uint8_t direction) {
  std::array<uint8_t, kNonceBytes> n{};
  proto::store_be32(&n[0], session_id);
  proto::store_be32(&n[4], counter);
  n[8] = direction;
  return n;
}

size_t media_associated_data(const proto::MediaFrame& frame,
                             std::span<uint8_t, kMaxAssociatedData> out) {
  const size_t n = frame.header_bytes.size();
  assert(n <= proto::kMaxMediaHeaderBytes);
  std::copy(frame.header_bytes.begin(), frame.header_bytes.end(), out.begin());
  if (!frame.mini) return n;
  frame.header.write(out.subspan(n).first<proto::MediaHeader::kSize>());
  return n + proto::MediaHeader::kSize;
}

size_t MediaKey::seal(uint32_t counter, std::span<const uint8_t> ad,
                      std::span<const uint8_t> plaintext, std::span<uint8_t> out) const {
  assert(out.size() >= plaintext.size() + kAeadTagBytes);
  const auto nonce = make_nonce(session_id_, counter, direction_);
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &len, plaintext.data(), plaintext.size(),
                                            ad.data(), ad.size(), nullptr, nonce.data(),
                                            key_.data());
  return static_cast<size_t>(len);
}

bool MediaKey::open(uint32_t counter, std::span<const uint8_t> ad,
                    std::span<const uint8_t> ciphertext, std::span<uint8_t> out,
                    size_t* out_len) const {
  if (ciphertext.size() < kAeadTagBytes || out.size() < ciphertext.size() - kAeadTagBytes) {
    return false;
  }
  const auto nonce = make_nonce(session_id_, counter, direction_);
  unsigned long long len = 0;
  const int rc = crypto_aead_chacha20poly1305_ietf_decrypt(
      out.data(), &len, nullptr, ciphertext.data(), ciphertext.size(), ad.data(), ad.size(),
      nonce.data(), key_.data());
  if (rc != 0) return false;
  *out_len = static_cast<size_t>(len);
  return true;
}

}  // namespace wzp::crypto
