#include "transport/bare_datagram.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace wzp::transport {

BareChannel::BareChannel(std::span<const uint8_t, kSecretBytes> secret, bool server)
    : server_(server) {
  auto load = [&](Direction& d, size_t at) {
    gnutls_datum_t key{const_cast<uint8_t*>(secret.data() + at), kKeyBytes};
    if (gnutls_aead_cipher_init(&d.aead, GNUTLS_CIPHER_CHACHA20_POLY1305, &key) != 0) {
      throw std::runtime_error("bare datagrams: no ChaCha20-Poly1305 in GnuTLS");
    }
    std::copy_n(secret.data() + at + kKeyBytes, kIvBytes, d.iv.begin());
    std::copy_n(secret.data() + at + kKeyBytes + kIvBytes, kCidBytes, d.cid.begin());
  };
  // The client's direction first.
  load(server ? rx_ : tx_, 0);
  load(server ? tx_ : rx_, kDirectionBytes);
}

BareChannel::~BareChannel() {
  for (auto* d : {&tx_, &rx_}) {
    if (d->aead) gnutls_aead_cipher_deinit(d->aead);
  }
}

std::array<uint8_t, BareChannel::kIvBytes> BareChannel::nonce(const Direction& d,
                                                              uint64_t counter) {
  auto n = d.iv;
  for (size_t i = 0; i < 8; ++i) n[kIvBytes - 1 - i] ^= static_cast<uint8_t>(counter >> (8 * i));
  return n;
}

bool BareChannel::addressed_to_us(std::span<const uint8_t> packet) const {
  return packet.size() >= kOverheadBytes && (packet[0] & 0xc0) == 0x40 &&
         std::memcmp(packet.data() + 1, rx_.cid.data(), kCidBytes) == 0;
}

size_t BareChannel::seal(std::span<const uint8_t> payload, std::span<uint8_t> out,
                         uint8_t random_bits) {
  if (out.size() < payload.size() + kOverheadBytes) return 0;
  const uint64_t counter = next_++;
  out[0] = static_cast<uint8_t>(0x40 | (random_bits & 0x3f));
  std::copy(tx_.cid.begin(), tx_.cid.end(), out.begin() + 1);
  out[1 + kCidBytes] = static_cast<uint8_t>(counter >> 8);
  out[2 + kCidBytes] = static_cast<uint8_t>(counter);
  const auto n = nonce(tx_, counter);
  size_t sealed = out.size() - kHeaderBytes;
  if (gnutls_aead_cipher_encrypt(tx_.aead, n.data(), n.size(), out.data(), kHeaderBytes, kTagBytes,
                                 payload.data(), payload.size(), out.data() + kHeaderBytes,
                                 &sealed) != 0) {
    return 0;
  }
  return kHeaderBytes + sealed;
}

BareChannel::Opened BareChannel::open(std::span<const uint8_t> packet, std::span<uint8_t> out,
                                      size_t* len) {
  *len = 0;
  if (!addressed_to_us(packet) || out.size() < packet.size()) return Opened::kMalformed;
  const auto wire = static_cast<uint16_t>(packet[1 + kCidBytes] << 8 | packet[2 + kCidBytes]);
  uint64_t counter = 0;
  if (received_.admit(wire, &counter) != proto::ReplayWindow::Verdict::kFresh)
    return Opened::kReplayed;
  const auto n = nonce(rx_, counter);
  size_t opened = out.size();
  if (gnutls_aead_cipher_decrypt(rx_.aead, n.data(), n.size(), packet.data(), kHeaderBytes,
                                 kTagBytes, packet.data() + kHeaderBytes,
                                 packet.size() - kHeaderBytes, out.data(), &opened) != 0) {
    return Opened::kAuthFailed;
  }
  received_.commit(counter);
  *len = opened;
  return Opened::kOk;
}

}  // namespace wzp::transport
