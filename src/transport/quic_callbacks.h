// ngtcp2's callbacks into a QuicConnection, and the settings every connection starts with.
#pragma once

#include "proto/frame_tag.h"
#include "transport/quic_internal.h"

namespace wzp::transport {

struct QuicCallbacks {
  static QuicConnection& self(void* user) { return *static_cast<QuicConnection*>(user); }

  static void rand(uint8_t* dest, size_t len, const ngtcp2_rand_ctx*) { random_bytes(dest, len); }

  static int new_cid(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t len, void* user) {
    auto& c = self(user);
    random_bytes(cid->data, len);
    cid->datalen = len;
    c.endpoint_.stamp_cid({cid->data, len});
    random_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN);
    c.endpoint_.cid_issued(c, {cid->data, cid->datalen});
    return 0;
  }

  static int remove_cid(ngtcp2_conn*, const ngtcp2_cid* cid, void* user) {
    auto& c = self(user);
    c.endpoint_.cid_retired(c, {cid->data, cid->datalen});
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
    c.owes_ack_ = true;
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
    c.datagram_read_ = true;
    c.owes_ack_ = true;
    // A probe train measures the path by when each probe's acknowledgement comes back: those
    // leave on ngtcp2's schedule, never held for a datagram (QuicConfig::ack_hold_ms).
    if (len && data[0] == proto::tag_byte(proto::FrameTag::kProbe)) c.ack_urgent_ = true;
    c.events_.on_datagram(c, {data, len});
    return 0;
  }

  static int ack_datagram(ngtcp2_conn*, uint64_t id, void* user) {
    auto& c = self(user);
    ++c.stats_.datagrams_acked;
    // The owner hears of a queue on the way once this packet has been read (never from inside
    // ngtcp2's callback).
    c.pacer_said(c.impl_->pacer.acked(id, now_ns()));
    return 0;
  }

  static int lost_datagram(ngtcp2_conn*, uint64_t id, void* user) {
    auto& c = self(user);
    ++c.stats_.datagrams_lost;
    c.pacer_said(c.impl_->pacer.lost(id, now_ns()));
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
    p.max_ack_delay = kMaxAckDelayNs;
  }
};

}  // namespace wzp::transport
