#include "proto/capacity_meter.h"
#include "proto/hex.h"
#include "transport/quic_callbacks.h"

namespace wzp::transport {

QuicConnection::QuicConnection(asio::io_context& io, QuicEndpoint& endpoint, QuicEvents& events,
                               const QuicConfig& config)
    : io_(io),
      endpoint_(endpoint),
      events_(events),
      config_(config),
      impl_(std::make_unique<Impl>()),
      timer_(io) {
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
  impl_->probe_tag = tag;
  impl_->probe_bytes = bytes;
  ++stats_.probe_trains;
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
  datagram_read_ = owes_ack_ = ack_urgent_ = false;
  const uint64_t ts = now_ns();
  const int rv = ngtcp2_conn_read_pkt(impl_->conn, &p.path, &pi, packet.data(), packet.size(), ts);
  reading_ = false;
  if (owes_ack_ && rv == 0) {
    if (!impl_->ack_owed_ns) impl_->ack_owed_ns = ts;
    impl_->ack_urgent |= ack_urgent_;
  }
  if (!datagram_read_) stats_.control_bytes_received += packet.size() + proto::kIpUdpHeaderBytes;
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
  // What the packet calls for (an acknowledgement, the handshake's next flight) leaves at the
  // end of this turn of the loop, with whatever else the turn queues for the peer: at a relay,
  // the datagrams forwarded to this member from the same batch of packets carry the
  // acknowledgement instead of a packet of its own.
  post_flush();
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

void QuicConnection::pacer_said(bool began_limiting) {
  if (began_limiting) narrowed();
  if (impl_->pacer.wants_train()) probe_again();
}

void QuicConnection::probe_again() {
  asio::post(io_, [this, alive = alive_] {
    if (!*alive || closed_) return;
    stats_.datagrams_shed += impl_->datagrams.size();
    impl_->datagrams.clear();
    send_probe_train(impl_->probe_tag, impl_->probe_bytes);
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
  // The server's handshake ID: the client's destination ID until now.
  impl_->bare->route_to_server(server ? impl_->server_scid0
                                      : ngtcp2_conn_get_dcid(impl_->conn)->data[0]);
  impl_->bare_buf.resize(config_.max_udp_payload + BareChannel::kOverheadBytes);
  // The server routes packets by connection ID: the bare ones' is one more of ours.
  if (server) endpoint_.cid_issued(*this, impl_->bare->rx_cid());
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
  impl_->holding_ack = false;
  std::span<uint8_t> buf = impl_->packet;
  const uint64_t ts = now_ns();
  // A probe train whose tail went unanswered is judged without it (DatagramPacer::poll).
  pacer_said(impl_->pacer.poll(ts));
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
    // behind it only while the stream can write. A probe train goes ahead of both: it measures
    // the path only if it leaves first and together, and what was queued with it (a join's
    // answer) then reaches the peer once the path is measured.
    const bool train_first = !im.datagrams.empty() && im.datagrams.front().probe;
    if (im.stream_id >= 0 && im.stream_written < im.stream_total && !signal_stalled &&
        !train_first) {
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
        im.last_datagram_ns = ts;
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
      // A packet left open (a heartbeat whose datagram was then shed) must be finished: ngtcp2
      // allows no other call on the connection before, and the acknowledgement rides in it.
      if (!open_packet && holds_ack(ts)) {
        im.holding_ack = true;
        break;
      }
      n = ngtcp2_conn_write_pkt(im.conn, &ps.path, &pi, buf.data(), buf.size(), ts);
      open_packet = false;
      if (n >= 0) {
        im.ack_owed_ns = 0;  // written now, or nothing was due
        im.ack_urgent = false;
      }
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

// An acknowledgement waits for a datagram only while datagrams flow to the peer (one is due
// well within the hold), only for the hold, and never past a probe timeout (ngtcp2's packet for
// it goes at once). ngtcp2 adds its owed ACK frame to any packet written after its own ack delay
// (min(max_ack_delay, RTT/8)), so the next datagram carries it; one written sooner does not, and
// the acknowledgement leaves alone at the release. The peer sees the wait as a longer round trip
// (its RTT takes at most our max_ack_delay off), which its pacer's floor absorbs.
bool QuicConnection::holds_ack(uint64_t ts) const {
  const auto& im = *impl_;
  constexpr uint64_t kDatagramsFlowingNs = 150'000'000;
  if (config_.ack_hold_ms == 0 || !established_ || im.ack_owed_ns == 0 || im.ack_urgent ||
      ts >= ack_release_ns() || ts - im.last_datagram_ns > kDatagramsFlowingNs) {
    return false;
  }
  ngtcp2_conn_stat st;
  ngtcp2_conn_get_conn_stat(im.conn, &st);
  return st.loss_detection_timer > ts;
}

uint64_t QuicConnection::ack_release_ns() const {
  return impl_->ack_owed_ns + config_.ack_hold_ms * 1'000'000;
}

int QuicConnection::control_copies() const {
  if (!established_) return 1;  // a client's handshake has its own copies (QuicClient)
  ngtcp2_conn_stat st;
  ngtcp2_conn_get_conn_stat(impl_->conn, &st);
  return 1 + static_cast<int>(std::min<size_t>(st.pto_count, kMaxControlCopies - 1));
}

void QuicConnection::send_packet(std::span<const uint8_t> packet, const udp::endpoint& to,
                                 int copies) {
  for (int i = 0; i < copies; ++i) endpoint_.send_packet(*this, packet, to);
  // A packet written once ngtcp2's ack delay has passed carried the owed acknowledgement.
  auto& im = *impl_;
  if (im.ack_owed_ns) {
    ngtcp2_conn_stat st;
    ngtcp2_conn_get_conn_stat(im.conn, &st);
    const uint64_t delay = std::min<uint64_t>(kMaxAckDelayNs, st.smoothed_rtt / 8);
    if (now_ns() >= im.ack_owed_ns + delay) {
      im.ack_owed_ns = 0;
      im.ack_urgent = false;
    }
  }
  stats_.control_copies += static_cast<uint64_t>(copies - 1);
  stats_.packets_sent += static_cast<uint64_t>(copies);
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
  endpoint_.send_packet(*this, {im.bare_buf.data(), n},
                        to_endpoint(ngtcp2_conn_get_path(im.conn)->remote));
  return true;
}

void QuicConnection::arm_timer() {
  if (closed_) return;
  uint64_t expiry = ngtcp2_conn_get_expiry(impl_->conn);
  if (impl_->holding_ack) {
    // ngtcp2's ack timer has fired or will: the held acknowledgement's release stands in for
    // it, and a probe timeout before the release still wakes us.
    ngtcp2_conn_stat st;
    ngtcp2_conn_get_conn_stat(impl_->conn, &st);
    expiry = std::min(std::max(expiry, ack_release_ns()), st.loss_detection_timer);
  }
  expiry = std::min(expiry, impl_->pacer.deadline());
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
  if (n > 0) send_packet({buf.data(), static_cast<size_t>(n)}, to_endpoint(ps.path.remote), 1);
  fail(reason);
}

void QuicConnection::fail(const std::string& reason) {
  if (!closed_) endpoint_.closed(*this);
  closed_ = true;
  timer_.cancel();
  if (close_reported_) return;
  close_reported_ = true;
  events_.on_closed(*this, reason);
}

}  // namespace wzp::transport
