// Bare datagrams: media sent beside a QUIC connection's packets when its congestion window will
// not let it through.
//
// Why: QUIC only sends while acknowledgements reopen its window. On a path that loses most
// packets both ways (80 %), a packet and its acknowledgement both arrive 4 % of the time, so
// the window fills with packets that are never acknowledged nor declared lost, and only probe
// timeouts (backing off 2x each) move it: the media stops while a fifth of it would arrive.
// RTP over UDP has no such clock, and neither do these. What limits their rate is the call's
// own controller (tiers, the pacer in front of a standing queue); the window still holds every
// datagram it will take, and bare ones go only while it holds one back.
//
// Keys: both ends export 2 x (32 + 12 + 8) bytes from the TLS session
// (RFC 5705/8446 exporter, label "EXPORTER-wzp-bare-datagram"): for each direction a
// ChaCha20-Poly1305 key, an IV and the connection ID the packets carry, the client's to the
// server first. On the wire a bare datagram looks like a QUIC short-header packet:
//
//   0x40 | 6 random bits, connection ID (8), sequence (2, big-endian), sealed payload + 16-byte tag
//
// The sequence is the low 16 bits of a 64-bit counter, extended on receipt nearest the highest
// seen; the nonce is the IV XOR the counter; the additional data is the header. A receiver
// drops what does not open, and what its replay window has seen.
//
// One per established connection; bounded (the window is 256 bytes).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/replay_window.h"

typedef struct api_aead_cipher_hd_st* gnutls_aead_cipher_hd_t;  // gnutls/crypto.h

namespace wzp::transport {

class BareChannel {
 public:
  static constexpr size_t kKeyBytes = 32, kIvBytes = 12, kCidBytes = 8, kSeqBytes = 2,
                          kTagBytes = 16;
  static constexpr size_t kHeaderBytes = 1 + kCidBytes + kSeqBytes;
  static constexpr size_t kOverheadBytes = kHeaderBytes + kTagBytes;
  static constexpr size_t kDirectionBytes = kKeyBytes + kIvBytes + kCidBytes;
  static constexpr size_t kSecretBytes = 2 * kDirectionBytes;  // what the exporter gives
  static constexpr const char* kExporterLabel = "EXPORTER-wzp-bare-datagram";

  // `secret` from the exporter; `server`: which end this is.
  BareChannel(std::span<const uint8_t, kSecretBytes> secret, bool server);
  ~BareChannel();
  BareChannel(const BareChannel&) = delete;
  BareChannel& operator=(const BareChannel&) = delete;

  // The client-to-server ID's first byte is `first` (the same at both ends): that of the
  // server's handshake connection ID, which names the server's worker (QuicWorker), so that a
  // server sharing its port with others gets the bare datagrams of its own connections.
  void route_to_server(uint8_t first) { (server_ ? rx_ : tx_).cid[0] = first; }
  // The connection ID the peer's bare datagrams carry to us.
  std::span<const uint8_t> rx_cid() const { return rx_.cid; }
  // True when `packet` is addressed to our rx_cid(): a bare datagram (or a forgery of one).
  bool addressed_to_us(std::span<const uint8_t> packet) const;

  // Seals `payload` into `out` (at least payload.size() + kOverheadBytes); returns the length.
  // `random_bits` fill the first byte's low six bits.
  size_t seal(std::span<const uint8_t> payload, std::span<uint8_t> out, uint8_t random_bits);

  enum class Opened { kOk, kMalformed, kAuthFailed, kReplayed };
  // Opens a packet addressed_to_us() into `out` (at least packet.size() bytes); *len the
  // payload's length.
  Opened open(std::span<const uint8_t> packet, std::span<uint8_t> out, size_t* len);

 private:
  bool server_;
  struct Direction {
    std::array<uint8_t, kIvBytes> iv{};
    std::array<uint8_t, kCidBytes> cid{};
    gnutls_aead_cipher_hd_t aead = nullptr;
  };
  static std::array<uint8_t, kIvBytes> nonce(const Direction& d, uint64_t counter);

  Direction tx_, rx_;
  uint64_t next_ = 0;
  proto::ReceiveCounter received_;
};

}  // namespace wzp::transport
