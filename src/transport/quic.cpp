#include "transport/quic.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

#include "proto/capacity_meter.h"
#include "proto/hex.h"
#include "proto/prometheus.h"
#include "transport/bare_datagram.h"

namespace wzp::transport {

namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

// Every short-header packet carries the receiver's connection ID: 8 random bytes identify a
// connection among billions and, on a 20-byte voice frame, cost 10 bytes a packet less than
// ngtcp2's usual 18.
constexpr size_t kCidLen = 8;
// The most a short-header packet adds around one DATAGRAM frame: flags, the longest connection
// ID, packet number, frame type and length, AEAD tag.
constexpr size_t kMaxDatagramPacketOverhead = 1 + NGTCP2_MAX_CIDLEN + 4 + 1 + 8 + 16;
constexpr const char* kPriority =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:%DISABLE_TLS13_COMPAT_MODE";

uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

void random_bytes(uint8_t* p, size_t n) { (void)gnutls_rnd(GNUTLS_RND_RANDOM, p, n); }

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

udp::endpoint to_endpoint(const ngtcp2_addr& a) {
  udp::endpoint ep;
  std::memcpy(ep.data(), a.addr, a.addrlen);
  ep.resize(a.addrlen);
  return ep;
}

}  // namespace

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
  uint64_t last_eliciting_ns = 0;  // the last STREAM frame written (see flush)
  int64_t beat_stream = -1;        // ours, unidirectional, for heartbeats (see flush)
  std::function<bool(const std::string&)> verify;  // client: certificate pinning
  std::string peer_fingerprint;
  uint64_t last_activity_ns = 0;
  std::vector<uint8_t> packet;  // where packets are written: max_udp_payload bytes
  // Media beside the packets while the congestion window holds it back (bare_datagram.h):
  // keyed once the handshake is done.
  std::unique_ptr<BareChannel> bare;
  std::vector<uint8_t> bare_buf;

  ~Impl() {
    if (conn) ngtcp2_conn_del(conn);
    if (session) gnutls_deinit(session);
  }
};

struct QuicCallbacks {
  static QuicConnection& self(void* user) { return *static_cast<QuicConnection*>(user); }

  static void rand(uint8_t* dest, size_t len, const ngtcp2_rand_ctx*) { random_bytes(dest, len); }

  static int new_cid(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t len, void* user) {
    random_bytes(cid->data, len);
    cid->datalen = len;
    random_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN);
    auto& c = self(user);
    if (c.on_new_cid_) c.on_new_cid_({cid->data, cid->datalen});
    return 0;
  }

  static int remove_cid(ngtcp2_conn*, const ngtcp2_cid* cid, void* user) {
    auto& c = self(user);
    if (c.on_retired_cid_) c.on_retired_cid_({cid->data, cid->datalen});
    return 0;
  }

  static int handshake_completed(ngtcp2_conn* conn, void* user) {
    auto& c = self(user);
    c.established_ = true;
    c.key_bare_datagrams(ngtcp2_conn_is_server(conn));
    if (ngtcp2_conn_is_server(conn)) {
      size_t len = 256;
      char name[256];
      unsigned type = 0;
      if (gnutls_server_name_get(c.impl_->session, name, &len, &type, 0) == 0) {
        c.sni_.assign(name, len);
      }
    } else {
      // The client opens the signalling stream.
      ngtcp2_conn_open_bidi_stream(conn, &c.impl_->stream_id, nullptr);
    }
    c.events_.on_established(c);
    return 0;
  }

  static int recv_stream_data(ngtcp2_conn* conn, uint32_t, int64_t stream_id, uint64_t,
                              const uint8_t* data, size_t len, void* user, void*) {
    auto& c = self(user);
    // Server: the client's first bidirectional stream carries signalling (ids 0 mod 4); a
    // unidirectional one carries heartbeats, read and discarded.
    if (c.impl_->stream_id < 0 && stream_id % 4 == 0) c.impl_->stream_id = stream_id;
    ngtcp2_conn_extend_max_stream_offset(conn, stream_id, len);
    ngtcp2_conn_extend_max_offset(conn, len);
    if (stream_id == c.impl_->stream_id && len) c.events_.on_stream(c, {data, len});
    return 0;
  }

  static int acked_stream(ngtcp2_conn*, int64_t, uint64_t offset, uint64_t datalen, void* user,
                          void*) {
    auto& im = *self(user).impl_;
    const uint64_t acked_to = offset + datalen;
    while (!im.stream_chunks.empty() &&
           im.stream_base + im.stream_chunks.front().size() <= acked_to) {
      im.stream_base += im.stream_chunks.front().size();
      im.stream_chunks.pop_front();
    }
    return 0;
  }

  static int recv_datagram(ngtcp2_conn*, uint32_t, const uint8_t* data, size_t len, void* user) {
    auto& c = self(user);
    ++c.stats_.datagrams_received;
    c.events_.on_datagram(c, {data, len});
    return 0;
  }

  static int ack_datagram(ngtcp2_conn*, uint64_t id, void* user) {
    auto& c = self(user);
    ++c.stats_.datagrams_acked;
    // The owner hears of a queue on the way once this packet has been read (never from inside
    // ngtcp2's callback).
    if (c.impl_->pacer.acked(id, now_ns())) c.narrowed();
    return 0;
  }

  static int lost_datagram(ngtcp2_conn*, uint64_t id, void* user) {
    auto& c = self(user);
    ++c.stats_.datagrams_lost;
    if (c.impl_->pacer.lost(id, now_ns())) c.narrowed();
    return 0;
  }

  // The client's certificate check, during the handshake: the leaf's SHA-256, then the
  // caller's pinning decision. Non-zero fails the handshake.
  static int verify_server(gnutls_session_t s) {
    auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(s));
    auto& conn = *static_cast<QuicConnection*>(ref->user_data);
    unsigned n = 0;
    const gnutls_datum_t* certs = gnutls_certificate_get_peers(s, &n);
    if (!certs || n == 0) return -1;
    const std::string fp = der_fingerprint(certs[0].data, certs[0].size);
    conn.impl_->peer_fingerprint = fp;
    return !conn.impl_->verify || conn.impl_->verify(fp) ? 0 : -1;
  }

  static ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref) {
    return static_cast<QuicConnection*>(ref->user_data)->impl_->conn;
  }

  static ngtcp2_callbacks make(bool server) {
    ngtcp2_callbacks cb{};
    if (server) {
      cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    } else {
      cb.client_initial = ngtcp2_crypto_client_initial_cb;
      cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
    }
    cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    cb.encrypt = ngtcp2_crypto_encrypt_cb;
    cb.decrypt = ngtcp2_crypto_decrypt_cb;
    cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb.update_key = ngtcp2_crypto_update_key_cb;
    cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    cb.rand = rand;
    cb.get_new_connection_id = new_cid;
    cb.remove_connection_id = remove_cid;
    cb.handshake_completed = handshake_completed;
    cb.recv_stream_data = recv_stream_data;
    cb.acked_stream_data_offset = acked_stream;
    cb.recv_datagram = recv_datagram;
    cb.ack_datagram = ack_datagram;
    cb.lost_datagram = lost_datagram;
    return cb;
  }

  static void settings_and_params(const QuicConfig& cfg, ngtcp2_settings& s,
                                  ngtcp2_transport_params& p) {
    ngtcp2_settings_default(&s);
    s.initial_ts = now_ns();
    s.max_tx_udp_payload_size = cfg.max_udp_payload;
    s.no_tx_udp_payload_size_shaping = cfg.probe_path_mtu ? 0 : 1;
    s.handshake_timeout = 10 * NGTCP2_SECONDS;
    // BBRv2 paces by measured bandwidth and RTT instead of halving on every loss: random loss
    // on a hostile path is not congestion, and with several datagrams per packet a loss-driven
    // window (Cubic) collapsed to a trickle at 20 % loss (tests/transport/quic_netem_test.cpp).
    s.cc_algo = NGTCP2_CC_ALGO_BBR2;
    // Datagrams are never retransmitted, so acknowledgements only feed congestion control and
    // loss statistics: one per 8 packets (or per max_ack_delay) is plenty, and halves what a
    // relay sends back to busy senders.
    s.ack_thresh = 8;
    ngtcp2_transport_params_default(&p);
    p.initial_max_streams_bidi = 4;
    p.initial_max_streams_uni = 1;  // the peer's heartbeats (see flush)
    p.initial_max_stream_data_uni = 64 * 1024;
    p.initial_max_stream_data_bidi_local = 256 * 1024;
    p.initial_max_stream_data_bidi_remote = 256 * 1024;
    p.initial_max_data = 1024 * 1024;
    p.max_idle_timeout = cfg.idle_timeout_ms * NGTCP2_MILLISECONDS;
    p.max_datagram_frame_size = 65535;
    p.active_connection_id_limit = 4;
    // Media is late after a few ms: acknowledge promptly (the default allows 25 ms), so that
    // loss is detected and the congestion window reopens quickly when packets carry several
    // datagrams and few are in flight.
    p.max_ack_delay = 5 * NGTCP2_MILLISECONDS;
  }
};

QuicConnection::QuicConnection(asio::io_context& io, QuicEvents& events, const QuicConfig& config)
    : io_(io), events_(events), config_(config), impl_(std::make_unique<Impl>()), timer_(io) {
  impl_->ref.get_conn = QuicCallbacks::get_conn;
  impl_->ref.user_data = this;
  impl_->packet.resize(config_.max_udp_payload);
}

QuicConnection::~QuicConnection() {
  *alive_ = false;
  timer_.cancel();
}

QuicStats QuicConnection::stats() const {
  QuicStats s = stats_;
  if (impl_->conn) {
    ngtcp2_conn_stat st;
    ngtcp2_conn_get_conn_stat(impl_->conn, &st);
    s.srtt_ms = st.smoothed_rtt / 1e6;
    s.rttvar_ms = st.rttvar / 1e6;
    s.min_rtt_ms = st.min_rtt == UINT64_MAX ? 0 : st.min_rtt / 1e6;
    s.max_udp_payload = st.max_tx_udp_payload_size;
    s.cwnd = st.cwnd;
    s.bytes_in_flight = st.bytes_in_flight;
    s.pto_count = st.pto_count;
  }
  s.pacer = impl_->pacer.state();
  s.pacer.measuring = impl_->pacer.probing(now_ns());
  return s;
}

bool QuicConnection::send_datagram(std::span<const uint8_t> data) {
  if (closed_ || data.size() > config_.max_udp_payload) {
    ++stats_.datagrams_dropped;
    return false;
  }
  if (impl_->datagrams.size() >= 256) {  // media is perishable: never queue unboundedly
    impl_->datagrams.pop_front();
    ++stats_.datagrams_dropped;
  }
  impl_->datagrams.push_back({now_ns(), {data.begin(), data.end()}});
  post_flush();
  return true;
}

bool QuicConnection::send_probe_train(uint8_t tag, size_t bytes) {
  // Each probe needs a packet of its own (two that share one measure nothing), and they must
  // leave first and together: only on a connection with nothing queued yet.
  if (closed_ || bytes == 0 || !impl_->datagrams.empty() ||
      bytes + kMaxDatagramPacketOverhead > config_.max_udp_payload ||
      2 * bytes <= config_.max_udp_payload) {
    return false;
  }
  std::vector<uint8_t> probe(bytes, 0);
  probe[0] = tag;
  const uint64_t ts = now_ns();
  impl_->pacer.probe(impl_->next_dgram_id, ts);
  for (uint64_t i = 0; i < DatagramPacer::kProbes; ++i)
    impl_->datagrams.push_back({ts, probe, true});
  post_flush();
  return true;
}

void QuicConnection::send_stream(std::span<const uint8_t> data) {
  if (closed_ || data.empty()) return;
  // A peer that stops reading (never extends our stream's flow control, never acknowledges)
  // would have us queue every message to it without end: past the bound it is cut off. The
  // close happens from a posted handler, never inside an ngtcp2 callback that called us.
  if (impl_->stream_total - impl_->stream_base + data.size() > kMaxUnackedSignalBytes) {
    if (stats_.signal_overflows++ == 0) {
      asio::post(io_, [this, alive = alive_] {
        if (*alive)
          close("signalling not read: over " + std::to_string(kMaxUnackedSignalBytes) +
                " bytes queued");
      });
    }
    return;
  }
  impl_->stream_chunks.emplace_back(data.begin(), data.end());
  impl_->stream_total += data.size();
  post_flush();
}

int QuicConnection::read(const udp::endpoint& local, const udp::endpoint& from,
                         std::span<const uint8_t> packet) {
  if (closed_) return -1;
  if (packet.empty()) return 0;  // legal on the wire, meaningless to QUIC
  PathStore p;
  p.set(local, from);
  ngtcp2_pkt_info pi{};
  reading_ = true;
  const int rv =
      ngtcp2_conn_read_pkt(impl_->conn, &p.path, &pi, packet.data(), packet.size(), now_ns());
  reading_ = false;
  if (auto why = std::exchange(pending_close_, std::nullopt); why && rv == 0) {
    remote_ = from;
    close(*why);
    return 0;
  }
  if (rv != 0) {
    if (rv == NGTCP2_ERR_DRAINING) {
      // The peer closed: pass on its reason phrase when it gave one.
      ngtcp2_connection_close_error ccerr;
      ngtcp2_conn_get_connection_close_error(impl_->conn, &ccerr);
      fail(ccerr.reasonlen
               ? "closed by peer: " +
                     std::string(reinterpret_cast<const char*>(ccerr.reason), ccerr.reasonlen)
               : std::string("closed by peer"));
    } else if (rv == NGTCP2_ERR_DROP_CONN) {
      fail("dropped");
    } else if (rv == NGTCP2_ERR_CRYPTO) {
      fail(std::string("TLS handshake failed: ") +
           gnutls_alert_get_name(
               static_cast<gnutls_alert_description_t>(ngtcp2_conn_get_tls_alert(impl_->conn))));
    } else {
      fail(std::string("QUIC error: ") + ngtcp2_strerror(rv));
    }
    return rv;
  }
  remote_ = from;
  flush();
  return 0;
}

// One flush per turn of the event loop however many sends were queued in it.
void QuicConnection::post_flush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  asio::post(io_, [this, alive = alive_] {
    if (*alive) flush();
  });
}

void QuicConnection::narrowed() {
  asio::post(io_, [this, alive = alive_] {
    if (*alive && !closed_) events_.on_narrow_path(*this);
  });
}

void QuicConnection::key_bare_datagrams(bool server) {
  std::array<uint8_t, BareChannel::kSecretBytes> secret{};
  const std::string_view label = BareChannel::kExporterLabel;
  if (gnutls_prf_rfc5705(impl_->session, label.size(), label.data(), 0, nullptr, secret.size(),
                         reinterpret_cast<char*>(secret.data())) != 0) {
    return;  // no exporter: media waits for the window as before
  }
  impl_->bare = std::make_unique<BareChannel>(secret, server);
  impl_->bare_buf.resize(config_.max_udp_payload + BareChannel::kOverheadBytes);
  // The server routes packets by connection ID: the bare ones' is one more of ours.
  if (server && on_new_cid_) on_new_cid_(impl_->bare->rx_cid());
}

bool QuicConnection::take_bare(std::span<const uint8_t> packet) {
  auto& im = *impl_;
  if (closed_ || !im.bare || !im.bare->addressed_to_us(packet)) return false;
  size_t len = 0;
  if (im.bare->open(packet, im.bare_buf, &len) != BareChannel::Opened::kOk) {
    ++stats_.bare_rejected;
    return true;
  }
  ++stats_.bare_received;
  ++stats_.datagrams_received;
  events_.on_datagram(*this, {im.bare_buf.data(), len});
  return true;
}

void QuicConnection::flush() {
  flush_posted_ = false;
  if (closed_ || !impl_->conn) return;
  std::span<uint8_t> buf = impl_->packet;
  const uint64_t ts = now_ns();
  auto& queue = impl_->datagrams;
  while (!queue.empty() && ts - queue.front().at_ns > config_.max_datagram_wait_ms * 1'000'000) {
    queue.pop_front();
    ++stats_.datagrams_expired;
  }
  // Several queued datagrams share one packet when they fit (FLAG_MORE): fewer packets, AEAD
  // operations and system calls per datagram. While a packet is open (WRITE_MORE), the same
  // path, packet info, buffer and timestamp must be passed back.
  ngtcp2_path_storage ps;
  ngtcp2_pkt_info pi{};
  bool open_packet = false;
  bool signal_stalled = false;
  bool carries_media = false;  // the packet being written holds a datagram
  const int copies = control_copies();
  for (int guard = 0; guard < 512; ++guard) {
    if (!open_packet) {
      ngtcp2_path_storage_zero(&ps);
      pi = {};
    }
    ngtcp2_ssize n = 0;
    auto& im = *impl_;
    // Packets of DATAGRAM frames alone arm no probe timeout (ngtcp2 retransmits nothing of
    // them), so an outage that fills the congestion window with them leaves nothing that will
    // ever be acknowledged: no loss is declared, the window never reopens, and the connection
    // stays mute after the path is back until its idle timeout. One byte on a unidirectional
    // stream of its own, at most every kHeartbeatNs while media flows, is something to probe
    // with (the receiver discards it; an empty STREAM frame did not arm the probe timer).
    constexpr uint64_t kHeartbeatNs = 100'000'000;
    if (established_ && !im.datagrams.empty() && ts - im.last_eliciting_ns > kHeartbeatNs &&
        !open_packet) {
      if (im.beat_stream < 0 && ngtcp2_conn_get_streams_uni_left(im.conn) > 0) {
        ngtcp2_conn_open_uni_stream(im.conn, &im.beat_stream, nullptr);
      }
      // Sent or not (an older peer, the window full): the next in 100 ms.
      im.last_eliciting_ns = ts;
      if (im.beat_stream >= 0) {
        static const uint8_t kBeat = 0;  // ngtcp2 keeps a pointer to it until acknowledged
        ngtcp2_vec v{const_cast<uint8_t*>(&kBeat), 1};
        ngtcp2_ssize taken = -1;
        n = ngtcp2_conn_writev_stream(im.conn, &ps.path, &pi, buf.data(), buf.size(), &taken,
                                      NGTCP2_WRITE_STREAM_FLAG_MORE, im.beat_stream, &v, 1, ts);
        if (taken > 0) ++stats_.heartbeats;
        if (n == NGTCP2_ERR_WRITE_MORE) {
          open_packet = true;
          continue;
        }
        if (n < 0 && n != NGTCP2_ERR_STREAM_DATA_BLOCKED) {
          fail(std::string("write: ") + ngtcp2_strerror(static_cast<int>(n)));
          return;
        }
        if (n > 0) {
          send_packet({buf.data(), static_cast<size_t>(n)}, to_endpoint(ps.path.remote),
                      std::exchange(carries_media, false) ? 1 : copies);
          continue;
        }
      }
    }
    // Signalling goes ahead of media: it is small (keys, reports, directives) and a sender key
    // queued behind a congested path's media would leave that media unreadable. Media waited
    // behind it only while the stream can write.
    if (im.stream_id >= 0 && im.stream_written < im.stream_total && !signal_stalled) {
      // The unsent part of the stream, from the chunk that holds stream_written.
      uint64_t base = im.stream_base;
      size_t i = 0;
      while (base + im.stream_chunks[i].size() <= im.stream_written)
        base += im.stream_chunks[i++].size();
      const auto& chunk = im.stream_chunks[i];
      const size_t skip = static_cast<size_t>(im.stream_written - base);
      ngtcp2_vec v{const_cast<uint8_t*>(chunk.data() + skip), chunk.size() - skip};
      ngtcp2_ssize taken = -1;
      n = ngtcp2_conn_writev_stream(im.conn, &ps.path, &pi, buf.data(), buf.size(), &taken, 0,
                                    im.stream_id, &v, 1, ts);
      if (taken > 0) {
        im.stream_written += static_cast<uint64_t>(taken);
        im.last_eliciting_ns = ts;
      } else {
        signal_stalled = true;  // flow control or the congestion window: media may still go
      }
      open_packet = false;
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR) {
        n = ngtcp2_conn_write_pkt(im.conn, &ps.path, &pi, buf.data(), buf.size(), ts);
        if (n == 0) continue;  // nothing else to say: the media's turn
      }
      if (n == 0) continue;  // the window is full: the media's turn still (bare, see send_bare)
    } else if (established_ && !im.datagrams.empty()) {
      const auto& d = im.datagrams.front().bytes;
      // A datagram no packet on this path can hold yet (a new path starts at 1200 bytes and
      // probes upward) would wait at the head, blocking every datagram behind it, since nothing
      // written looks the same as a full congestion window: it is dropped and counted instead.
      if (d.size() + kMaxDatagramPacketOverhead >
          std::min(buf.size(), ngtcp2_conn_get_path_max_tx_udp_payload_size(im.conn))) {
        ++stats_.datagrams_dropped;
        im.datagrams.pop_front();
        continue;
      }
      // A queue on the way: what would wait in it is shed instead (see DatagramPacer).
      const size_t on_wire = d.size() + (open_packet ? 0 : proto::kPacketOverheadBytes);
      if (!im.pacer.admit(on_wire, ts, im.datagrams.front().probe)) {
        ++stats_.datagrams_shed;
        im.datagrams.pop_front();
        continue;
      }
      ngtcp2_vec v{const_cast<uint8_t*>(d.data()), d.size()};
      int accepted = 0;
      const uint32_t flags = im.datagrams.size() > 1 ? NGTCP2_WRITE_DATAGRAM_FLAG_MORE : 0;
      n = ngtcp2_conn_writev_datagram(im.conn, &ps.path, &pi, buf.data(), buf.size(), &accepted,
                                      flags, im.next_dgram_id, &v, 1, ts);
      if (accepted) {
        carries_media = true;
        im.pacer.sent(im.next_dgram_id, on_wire, ts);
        ++im.next_dgram_id;
        ++stats_.datagrams_sent;
        im.datagrams.pop_front();
      }
      if (n == NGTCP2_ERR_WRITE_MORE) {
        open_packet = true;
        continue;
      }
      open_packet = false;
      if (!accepted && n == 0) {
        // Held back. By pacing, for a moment: the next event retries. By a full window, on a
        // path that drops most acknowledgements it may stay full for seconds (see
        // bare_datagram.h): the datagram goes beside the packets instead.
        if (!send_bare()) break;
        continue;
      }
      if (n < 0 && !accepted) {
        ++stats_.datagrams_dropped;
        im.datagrams.pop_front();
        continue;
      }
    } else {
      n = ngtcp2_conn_write_pkt(im.conn, &ps.path, &pi, buf.data(), buf.size(), ts);
      open_packet = false;
    }
    if (n < 0) {
      fail(std::string("write: ") + ngtcp2_strerror(static_cast<int>(n)));
      return;
    }
    if (n == 0) break;
    send_packet({buf.data(), static_cast<size_t>(n)}, to_endpoint(ps.path.remote),
                std::exchange(carries_media, false) ? 1 : copies);
  }
  arm_timer();
}

int QuicConnection::control_copies() const {
  if (!established_) return 1;  // a client's handshake has its own copies (QuicClient)
  ngtcp2_conn_stat st;
  ngtcp2_conn_get_conn_stat(impl_->conn, &st);
  return 1 + static_cast<int>(std::min<size_t>(st.pto_count, kMaxControlCopies - 1));
}

void QuicConnection::send_packet(std::span<const uint8_t> packet, const udp::endpoint& to,
                                 int copies) {
  for (int i = 0; i < copies; ++i) send_(packet, to);
  stats_.control_copies += static_cast<uint64_t>(copies - 1);
}

bool QuicConnection::send_bare() {
  auto& im = *impl_;
  if (!im.bare || im.datagrams.empty() || im.datagrams.front().probe) return false;
  ngtcp2_conn_stat st;
  ngtcp2_conn_get_conn_stat(im.conn, &st);
  if (st.bytes_in_flight + im.datagrams.front().bytes.size() <= st.cwnd) return false;  // pacing
  uint8_t r = 0;
  random_bytes(&r, 1);
  const size_t n = im.bare->seal(im.datagrams.front().bytes, im.bare_buf, r);
  im.datagrams.pop_front();
  if (n == 0) {
    ++stats_.datagrams_dropped;
    return true;
  }
  ++stats_.bare_sent;
  send_({im.bare_buf.data(), n}, to_endpoint(ngtcp2_conn_get_path(im.conn)->remote));
  return true;
}

void QuicConnection::arm_timer() {
  if (closed_) return;
  const uint64_t expiry = ngtcp2_conn_get_expiry(impl_->conn);
  const uint64_t now = now_ns();
  // An expiry already past that handle_expiry and flush cannot move (nothing the congestion
  // window lets out, say) would re-arm at zero forever and starve the event loop: wait at least
  // a millisecond then.
  constexpr uint64_t kMinWaitNs = 1'000'000;
  timer_.expires_after(std::chrono::nanoseconds(expiry > now ? expiry - now : kMinWaitNs));
  timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive || closed_) return;
    const int rv = ngtcp2_conn_handle_expiry(impl_->conn, now_ns());
    if (rv != 0) {
      fail(rv == NGTCP2_ERR_IDLE_CLOSE ? "idle timeout"
                                       : std::string("timer: ") + ngtcp2_strerror(rv));
      return;
    }
    flush();
  });
}

void QuicConnection::close(const std::string& reason) {
  if (closed_ || !impl_->conn) return;
  // Called from our events while ngtcp2 is reading a packet (an owner closing in on_stream,
  // say): ngtcp2 forbids calling it back from its callbacks, so the close waits until
  // ngtcp2_conn_read_pkt has returned (read() does it then).
  if (reading_) {
    if (!pending_close_) {
      pending_close_ = reason;
      ++stats_.deferred_closes;
    }
    return;
  }
  flush();  // what is queued (a Hangup saying why, say) goes out ahead of the close
  if (closed_) return;
  std::span<uint8_t> buf = impl_->packet;
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_set_application_error(
      &ccerr, 0, reinterpret_cast<const uint8_t*>(reason.data()), reason.size());
  const auto n = ngtcp2_conn_write_connection_close(impl_->conn, &ps.path, &pi, buf.data(),
                                                    buf.size(), &ccerr, now_ns());
  if (n > 0) send_({buf.data(), static_cast<size_t>(n)}, to_endpoint(ps.path.remote));
  fail(reason);
}

void QuicConnection::fail(const std::string& reason) {
  if (!closed_ && on_dead_) on_dead_();
  closed_ = true;
  timer_.cancel();
  if (close_reported_) return;
  close_reported_ = true;
  events_.on_closed(*this, reason);
}

// ---- TLS sessions ----

namespace {

const gnutls_datum_t kAlpnDatum{reinterpret_cast<unsigned char*>(const_cast<char*>(kAlpn)), 5};

gnutls_session_t make_session(bool server, gnutls_certificate_credentials_t cred,
                              ngtcp2_crypto_conn_ref* ref) {
  gnutls_session_t s = nullptr;
  const unsigned flags = (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_ENABLE_EARLY_DATA |
                         GNUTLS_NO_END_OF_EARLY_DATA;
  if (gnutls_init(&s, flags) != 0) throw std::runtime_error("tls: gnutls_init");
  if (gnutls_priority_set_direct(s, kPriority, nullptr) != 0 ||
      (server ? ngtcp2_crypto_gnutls_configure_server_session(s)
              : ngtcp2_crypto_gnutls_configure_client_session(s)) != 0 ||
      gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) != 0) {
    gnutls_deinit(s);
    throw std::runtime_error("tls: session setup");
  }
  gnutls_session_set_ptr(s, ref);
  gnutls_alpn_set_protocols(s, &kAlpnDatum, 1, GNUTLS_ALPN_MANDATORY);
  return s;
}

}  // namespace

// ---- server ----

struct QuicServer::Tls {
  gnutls_certificate_credentials_t cred = nullptr;
  ~Tls() {
    if (cred) gnutls_certificate_free_credentials(cred);
  }
};

QuicServer::QuicServer(asio::io_context& io, const udp::endpoint& listen,
                       const TlsCertificate& cert, QuicEvents& events, QuicConfig config)
    : io_(io),
      socket_(io, listen),
      out_(io, socket_),
      events_(events),
      config_(config),
      tls_(std::make_unique<Tls>()),
      buf_(65536) {
  local_ = socket_.local_endpoint();
  socket_.non_blocking(true);  // receive() drains what is already queued without blocking
  // Every member's packets and any flood of junk share this socket's queue: at the default
  // (about 200 kB, a few hundred packets of kernel bookkeeping) a burst of junk fills it and
  // the kernel drops members' media with it. 4 MiB, or what net.core.rmem_max allows.
  boost::system::error_code ignored;
  socket_.set_option(asio::socket_base::receive_buffer_size(kReceiveBufferBytes), ignored);
  gnutls_certificate_allocate_credentials(&tls_->cred);
  gnutls_datum_t c{reinterpret_cast<unsigned char*>(const_cast<char*>(cert.cert_pem.data())),
                   static_cast<unsigned>(cert.cert_pem.size())};
  gnutls_datum_t k{reinterpret_cast<unsigned char*>(const_cast<char*>(cert.key_pem.data())),
                   static_cast<unsigned>(cert.key_pem.size())};
  if (gnutls_certificate_set_x509_key_mem(tls_->cred, &c, &k, GNUTLS_X509_FMT_PEM) < 0) {
    throw std::runtime_error("tls: the relay certificate or key does not load");
  }
  random_bytes(retry_secret_.data(), retry_secret_.size());
  receive();
}

QuicServer::~QuicServer() { stopped_ = true; }

void QuicServer::stop() {
  stopped_ = true;
  for (auto& c : conns_) c->close("server shutting down");
  out_.flush();  // the close frames leave before the socket does
  boost::system::error_code ec;
  socket_.close(ec);
}

void QuicServer::receive() {
  socket_.async_receive_from(
      asio::buffer(buf_), from_, [this](const boost::system::error_code& ec, std::size_t n) {
        if (stopped_ || ec == asio::error::operation_aborted) return;
        if (!ec) handle({buf_.data(), n}, from_);
        // Under load more packets are already waiting: take them in this turn (bounded, so that
        // timers and sends still get their turn) instead of one trip through epoll each. The
        // packets they trigger leave together, in one sendmmsg.
        for (int more = 0; more < 32 && !stopped_; ++more) {
          boost::system::error_code again;
          const size_t m = socket_.receive_from(asio::buffer(buf_), from_, 0, again);
          if (again) break;
          handle({buf_.data(), m}, from_);
        }
        reap();
        receive();
      });
}

void QuicServer::handle(std::span<const uint8_t> pkt, const udp::endpoint& from) {
  // An empty UDP datagram is legal on the wire, and ngtcp2's decoder asserts on one (the
  // server-receive fuzz target found it): drop it first.
  if (pkt.empty()) {
    ++dropped_;
    return;
  }
  ngtcp2_version_cid vc;
  if (ngtcp2_pkt_decode_version_cid(&vc, pkt.data(), pkt.size(), kCidLen) != 0) {
    ++dropped_;
    return;
  }
  const std::string_view dcid(reinterpret_cast<const char*>(vc.dcid), vc.dcidlen);
  if (auto it = by_cid_.find(dcid); it != by_cid_.end()) {
    if (!it->second->take_bare(pkt)) it->second->read(local_, from, pkt);
    return;
  }
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, pkt.data(), pkt.size()) != 0) {
    ++dropped_;  // not an Initial for a new connection: garbage, or for one long gone
    return;
  }
  // Address validation. An Initial costs us a connection and a TLS session until its
  // handshake ends or times out; one with a spoofed source would cost them for nothing. Past a
  // few handshakes in progress (from this address, or in all), a new one is first sent a Retry:
  // only a client that receives at the address it claims can come back with the token.
  std::optional<ngtcp2_cid> odcid;  // the client's first DCID, when its Retry token checks out
  if (hd.token.len > 0 && hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
    ngtcp2_cid o;
    if (ngtcp2_crypto_verify_retry_token(
            &o, hd.token.base, hd.token.len, retry_secret_.data(), retry_secret_.size(), hd.version,
            from.data(), static_cast<ngtcp2_socklen>(from.size()), &hd.dcid,
            kRetryTokenLifetimeMs * NGTCP2_MILLISECONDS, now_ns()) != 0) {
      ++limits_.bad_tokens;
      ++dropped_;
      return;
    }
    odcid = o;
  }
  const auto [in_progress, from_source] = half_open(from);
  if (!odcid &&
      (from_source >= limits_.retry_above_per_source || in_progress >= limits_.retry_above)) {
    return send_retry(hd, from);
  }
  if (from_source >= limits_.max_half_open_per_source || in_progress >= limits_.max_half_open) {
    ++limits_.refused;  // even validated: this address (or everyone) has enough in progress
    ++dropped_;
    return;
  }
  auto conn = std::unique_ptr<QuicConnection>(new QuicConnection(io_, events_, config_));
  conn->remote_ = from;
  QuicConnection* c = conn.get();
  c->send_ = [this](std::span<const uint8_t> d, const udp::endpoint& to) { out_.queue(d, to); };
  c->on_new_cid_ = [this, c](std::span<const uint8_t> cid) {
    add_cid(c, std::string(reinterpret_cast<const char*>(cid.data()), cid.size()));
  };
  c->on_retired_cid_ = [this, c](std::span<const uint8_t> cid) {
    const std::string key(reinterpret_cast<const char*>(cid.data()), cid.size());
    if (auto it = by_cid_.find(key); it != by_cid_.end() && it->second == c) by_cid_.erase(it);
    auto& mine = cids_of_[c];
    mine.erase(std::remove(mine.begin(), mine.end(), key), mine.end());
  };
  c->on_dead_ = [this, c] { dead_.push_back(c); };
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  QuicCallbacks::settings_and_params(config_, settings, params);
  params.original_dcid = hd.dcid;
  if (odcid) {
    // After a Retry: the client's first DCID came back inside the token, and the DCID it uses
    // now is the one our Retry gave it.
    params.original_dcid = *odcid;
    params.retry_scid = hd.dcid;
    params.retry_scid_present = 1;
    settings.token = hd.token;
  }
  params.stateless_reset_token_present = 1;
  random_bytes(params.stateless_reset_token, NGTCP2_STATELESS_RESET_TOKENLEN);
  ngtcp2_cid scid;
  scid.datalen = kCidLen;
  random_bytes(scid.data, kCidLen);
  PathStore p;
  p.set(local_, from);
  const auto cb = QuicCallbacks::make(true);
  if (ngtcp2_conn_server_new(&c->impl_->conn, &hd.scid, &scid, &p.path, hd.version, &cb, &settings,
                             &params, nullptr, c) != 0) {
    ++dropped_;
    return;
  }
  c->impl_->session = make_session(true, tls_->cred, &c->impl_->ref);
  ngtcp2_conn_set_tls_native_handle(c->impl_->conn, c->impl_->session);
  ngtcp2_conn_set_keep_alive_timeout(c->impl_->conn, config_.keepalive_ms * NGTCP2_MILLISECONDS);
  add_cid(c, std::string(reinterpret_cast<const char*>(scid.data), scid.datalen));
  add_cid(c, std::string(dcid));  // the client's first DCID, until it switches to ours
  conns_.push_back(std::move(conn));
  c->read(local_, from, pkt);
}

std::pair<size_t, size_t> QuicServer::half_open(const udp::endpoint& from) const {
  size_t all = 0, from_source = 0;
  for (const auto& c : conns_) {
    if (c->established_ || c->closed_) continue;
    ++all;
    from_source += c->remote_.address() == from.address();
  }
  return {all, from_source};
}

std::string QuicServer::metrics_text(const std::string& name) const {
  std::string out;
  const auto n = [](uint64_t v) { return static_cast<double>(v); };
  proto::family(
      out, (name + "_quic_connections").c_str(), "gauge",
      "QUIC connections held, in any state (a closed one is freed with the next packets read).",
      {{"", n(conns_.size())}});
  proto::family(out, (name + "_quic_connection_ids").c_str(), "gauge",
                "Connection IDs routed to a connection of ours.", {{"", n(by_cid_.size())}});
  proto::family(out, (name + "_quic_handshakes_in_progress").c_str(), "gauge",
                "QUIC connections whose handshake has not finished.",
                {{"", n(half_open({}).first)}});
  proto::family(out, (name + "_quic_packets_dropped_total").c_str(), "counter",
                "UDP packets that were no QUIC packet for a connection of ours or a new one.",
                {{"", n(dropped_)}});
  proto::family(out, (name + "_quic_retries_total").c_str(), "counter",
                "Retry packets sent: a client asked to prove its address first.",
                {{"", n(limits_.retries)}});
  proto::family(out, (name + "_quic_initials_refused_total").c_str(), "counter",
                "New-connection Initials dropped, by reason.",
                {{R"({reason="bad_token"})", n(limits_.bad_tokens)},
                 {R"({reason="too_many_in_progress"})", n(limits_.refused)}});
  return out;
}

void QuicServer::send_retry(const ngtcp2_pkt_hd& hd, const udp::endpoint& from) {
  std::array<uint8_t, NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN> token{};
  ngtcp2_cid scid;
  scid.datalen = kCidLen;
  random_bytes(scid.data, kCidLen);
  const auto tokenlen = ngtcp2_crypto_generate_retry_token(
      token.data(), retry_secret_.data(), retry_secret_.size(), hd.version, from.data(),
      static_cast<ngtcp2_socklen>(from.size()), &scid, &hd.dcid, now_ns());
  std::array<uint8_t, 256> packet{};  // smaller than the Initial it answers: no amplification
  const auto n = tokenlen < 0 ? -1
                              : ngtcp2_crypto_write_retry(packet.data(), packet.size(), hd.version,
                                                          &hd.scid, &scid, &hd.dcid, token.data(),
                                                          static_cast<size_t>(tokenlen));
  if (n <= 0) {
    ++dropped_;
    return;
  }
  ++limits_.retries;
  out_.queue({packet.data(), static_cast<size_t>(n)}, from);
}

// IDs are random (ours) or looked up before a connection is made for them (a client's first
// DCID), so one never has two owners; removals check the owner all the same.
void QuicServer::add_cid(QuicConnection* c, std::string cid) {
  by_cid_[cid] = c;
  cids_of_[c].push_back(std::move(cid));
}

// Frees the connections closed since the last call, with their IDs: work only for those.
void QuicServer::reap() {
  if (dead_.empty()) return;
  for (QuicConnection* c : std::exchange(dead_, {})) {
    if (auto mine = cids_of_.find(c); mine != cids_of_.end()) {
      for (const auto& cid : mine->second) {
        if (auto it = by_cid_.find(cid); it != by_cid_.end() && it->second == c) by_cid_.erase(it);
      }
      cids_of_.erase(mine);
    }
    auto it =
        std::find_if(conns_.begin(), conns_.end(), [c](const auto& p) { return p.get() == c; });
    if (it != conns_.end()) conns_.erase(it);
  }
}

// ---- client ----

struct QuicClient::Tls {
  gnutls_certificate_credentials_t cred = nullptr;
  std::function<bool(const std::string&)> verify;
  std::string fingerprint;
  ~Tls() {
    if (cred) gnutls_certificate_free_credentials(cred);
  }
};

QuicClient::QuicClient(asio::io_context& io, const udp::endpoint& server, const std::string& sni,
                       std::function<bool(const std::string&)> verify, QuicEvents& events,
                       QuicConfig config)
    : io_(io),
      server_(server),
      socket_(std::make_unique<udp::socket>(io, udp::endpoint(server.protocol(), 0))),
      tls_(std::make_unique<Tls>()),
      conn_(new QuicConnection(io, events, config)),
      buf_(65536) {
  tls_->verify = std::move(verify);
  gnutls_certificate_allocate_credentials(&tls_->cred);
  QuicConnection* c = conn_.get();
  c->send_ = [this, c](std::span<const uint8_t> d, const udp::endpoint& to) {
    // Until the handshake is done each packet leaves kHandshakeCopies times: through heavy loss
    // a handshake needs each of its flights across, and the probe timeout doubles from one try
    // to the next (joins through 80 % loss each way: 7 of 8 within 20 s, against 4 of 8 within
    // 30 s sending each once). The relay drops the copies as duplicates (a server asking for a
    // Retry answers each copy of the first Initial). Only the client repeats itself: a server
    // that did so before the client's address is validated would amplify a spoofed sender.
    // Media never goes out twice.
    for (int i = 0; i < (c->established_ ? 1 : kHandshakeCopies); ++i) {
      boost::system::error_code ec;
      socket_->send_to(asio::buffer(d.data(), d.size()), to, 0, ec);
    }
  };
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  QuicCallbacks::settings_and_params(config, settings, params);
  ngtcp2_cid dcid, scid;
  dcid.datalen = kCidLen;
  random_bytes(dcid.data, kCidLen);
  scid.datalen = kCidLen;
  random_bytes(scid.data, kCidLen);
  local_ = socket_->local_endpoint();
  PathStore p;
  p.set(local_, server_);
  const auto cb = QuicCallbacks::make(false);
  if (ngtcp2_conn_client_new(&c->impl_->conn, &dcid, &scid, &p.path, NGTCP2_PROTO_VER_V1, &cb,
                             &settings, &params, nullptr, c) != 0) {
    throw std::runtime_error("quic: cannot create the client connection");
  }
  c->impl_->session = make_session(false, tls_->cred, &c->impl_->ref);
  gnutls_server_name_set(c->impl_->session, GNUTLS_NAME_DNS, sni.data(), sni.size());
  // Pinning: GnuTLS calls this during the handshake with the peer's certificates.
  c->impl_->verify = [tls = tls_.get()](const std::string& fp) {
    tls->fingerprint = fp;
    return tls->verify ? tls->verify(fp) : true;
  };
  gnutls_session_set_verify_function(c->impl_->session, QuicCallbacks::verify_server);
  ngtcp2_conn_set_tls_native_handle(c->impl_->conn, c->impl_->session);
  ngtcp2_conn_set_keep_alive_timeout(c->impl_->conn, config.keepalive_ms * NGTCP2_MILLISECONDS);
  receive();
  c->flush();
}

QuicClient::~QuicClient() {
  *alive_ = false;
  conn_->close("client closed");  // tell the server now rather than let it time out
  boost::system::error_code ec;
  if (socket_) socket_->close(ec);
}

const std::string& QuicClient::server_fingerprint() const { return tls_->fingerprint; }

void QuicClient::receive() {
  udp::socket* sock = socket_.get();
  // A datagram that arrived before the socket closed completes anyway, perhaps after we are
  // gone (a call destroyed in a handler of its own turn, as the bridge does with a page's):
  // the flag, not `this`, says whether we still exist.
  sock->async_receive_from(
      asio::buffer(buf_), from_,
      [this, sock, alive = alive_](const boost::system::error_code& ec, std::size_t n) {
        if (!*alive || ec == asio::error::operation_aborted || sock != socket_.get()) return;
        if (!ec && !conn_->take_bare({buf_.data(), n}))
          conn_->read(local_, from_, {buf_.data(), n});
        if (!conn_->closed()) receive();
      });
}

void QuicClient::migrate() {
  // A new socket is a new local port: ngtcp2 validates the new path and moves to it.
  auto fresh = std::make_unique<udp::socket>(io_, udp::endpoint(server_.protocol(), 0));
  PathStore p;
  p.set(fresh->local_endpoint(), server_);
  auto old = std::move(socket_);
  socket_ = std::move(fresh);
  local_ = socket_->local_endpoint();
  boost::system::error_code ec;
  old->close(ec);
  ngtcp2_conn_initiate_immediate_migration(conn_->impl_->conn, &p.path, now_ns());
  receive();
  conn_->flush();
}

}  // namespace wzp::transport
