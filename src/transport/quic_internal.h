// What the QUIC files share and nobody else needs: ngtcp2 and GnuTLS types, the connection's
// state (QuicConnection::Impl) and small helpers. quic_connection.cpp is the connection,
// quic_server.cpp the server endpoint, quic_client.cpp the client endpoint, quic_tls.cpp the TLS
// sessions, quic_callbacks.h ngtcp2's callbacks into a connection.
#pragma once

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <stdexcept>

#include "transport/bare_datagram.h"
#include "transport/quic.h"

namespace wzp::transport {

namespace asio = boost::asio;
using udp = asio::ip::udp;

// Every short-header packet carries the receiver's connection ID: 8 random bytes identify a
// connection among billions and, on a 20-byte voice frame, cost 10 bytes a packet less than
// ngtcp2's usual 18.
inline constexpr size_t kCidLen = 8;
// The most a short-header packet adds around one DATAGRAM frame: flags, the longest connection
// ID, packet number, frame type and length, AEAD tag.
inline constexpr size_t kMaxDatagramPacketOverhead = 1 + NGTCP2_MAX_CIDLEN + 4 + 1 + 8 + 16;
inline constexpr const char* kPriority =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:%DISABLE_TLS13_COMPAT_MODE";

inline uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

inline void random_bytes(uint8_t* p, size_t n) { (void)gnutls_rnd(GNUTLS_RND_RANDOM, p, n); }

// ngtcp2 wants sockaddrs: keep endpoints' storage next to the path that points at them.
struct PathStore {
  sockaddr_storage local{}, remote{};
  ngtcp2_path path{};
  void set(const udp::endpoint& l, const udp::endpoint& r) {
    std::memcpy(&local, l.data(), l.size());
    std::memcpy(&remote, r.data(), r.size());
    path.local = {reinterpret_cast<ngtcp2_sockaddr*>(&local),
                  static_cast<ngtcp2_socklen>(l.size())};
    path.remote = {reinterpret_cast<ngtcp2_sockaddr*>(&remote),
                   static_cast<ngtcp2_socklen>(r.size())};
  }
};

inline udp::endpoint to_endpoint(const ngtcp2_addr& a) {
  udp::endpoint ep;
  std::memcpy(ep.data(), a.addr, a.addrlen);
  ep.resize(a.addrlen);
  return ep;
}

// The acknowledgement delay we advertise (quic_callbacks.h says why so short).
inline constexpr uint64_t kMaxAckDelayNs = 5'000'000;

struct QuicConnection::Impl {
  ngtcp2_conn* conn = nullptr;
  gnutls_session_t session = nullptr;
  ngtcp2_crypto_conn_ref ref{};
  PathStore path;
  int64_t stream_id = -1;
  // Stream bytes stay put until acknowledged (ngtcp2 keeps pointers into them).
  std::deque<std::vector<uint8_t>> stream_chunks;
  uint64_t stream_written = 0;  // offset handed to ngtcp2
  uint64_t stream_base = 0;     // offset of stream_chunks.front()
  uint64_t stream_total = 0;    // offset after the last queued byte
  struct Queued {
    uint64_t at_ns;
    std::vector<uint8_t> bytes;
    bool probe = false;  // of a probe train (send_probe_train)
  };
  std::deque<Queued> datagrams;
  uint64_t next_dgram_id = 0;
  DatagramPacer pacer;
  uint8_t probe_tag = 0;  // the last probe train's, for another (probe_again)
  size_t probe_bytes = 0;
  uint64_t last_eliciting_ns = 0;  // the last STREAM frame written (see flush)
  // Acknowledgements held for a datagram to carry them (QuicConfig::ack_hold_ms): since when one
  // is owed (0: none), whether it may not wait, the last datagram written, and whether the last
  // flush left one waiting (arm_timer then wakes at its release, not at ngtcp2's ack timer).
  uint64_t ack_owed_ns = 0;
  bool ack_urgent = false;
  uint64_t last_datagram_ns = 0;
  bool holding_ack = false;
  int64_t beat_stream = -1;  // ours, unidirectional, for heartbeats (see flush)
  std::function<bool(const std::string&)> verify;  // client: certificate pinning
  std::string peer_fingerprint;
  uint64_t last_activity_ns = 0;
  std::vector<uint8_t> packet;  // where packets are written: max_udp_payload bytes
  // Media beside the packets while the congestion window holds it back (bare_datagram.h):
  // keyed once the handshake is done.
  std::unique_ptr<BareChannel> bare;
  std::vector<uint8_t> bare_buf;
  uint8_t server_scid0 = 0;  // server: the first byte of the ID it answered the handshake with

  ~Impl() {
    if (conn) ngtcp2_conn_del(conn);
    if (session) gnutls_deinit(session);
  }
};

// A TLS 1.3 session for QUIC (ALPN wzp/1), its pointer the connection's crypto ref.
gnutls_session_t make_session(bool server, gnutls_certificate_credentials_t cred,
                              ngtcp2_crypto_conn_ref* ref);

}  // namespace wzp::transport
