#include <linux/filter.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

#include "proto/prometheus.h"
#include "transport/quic_callbacks.h"

namespace wzp::transport {

struct QuicServer::Tls {
  gnutls_certificate_credentials_t cred = nullptr;
  ~Tls() {
    if (cred) gnutls_certificate_free_credentials(cred);
  }
};

uint8_t QuicWorker::route_byte(uint8_t random) const {
  if (count <= 1) return random;
  // The largest multiple of count not above `random`, plus index; back one step when that
  // passes 255. Still spread over the byte's range, so IDs stay unguessable beyond the index.
  unsigned b = random - random % count + index;
  if (b > 255) b -= count;
  return static_cast<uint8_t>(b);
}

namespace {

// The placement's clock (worker_placement.h), in milliseconds.
uint64_t now_ms() { return now_ns() / NGTCP2_MILLISECONDS; }

// The classic BPF program a reuseport group runs on each packet (the UDP payload from offset
// 0) to choose its socket: the first byte of the destination connection ID, byte 6 of a long
// header (flags, version, ID length, ID) or byte 1 of a short one, modulo the group's size. A
// packet too short to hold it aborts the program, which returns 0: the first socket.
void attach_steering(int fd, size_t count) {
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x80, 0, 2),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),
      BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 1),
      BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, static_cast<uint32_t>(count)),
      BPF_STMT(BPF_RET | BPF_A, 0),
  };
  sock_fprog prog{static_cast<unsigned short>(std::size(code)), code};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            "quic: steering packets to workers (SO_ATTACH_REUSEPORT_CBPF)");
  }
}

udp::socket open_socket(asio::io_context& io, const udp::endpoint& listen,
                        const QuicWorker& worker) {
  if (worker.count <= 1) return udp::socket(io, listen);
  udp::socket s(io, listen.protocol());
  const int one = 1;
  if (::setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    throw std::system_error(errno, std::generic_category(), "quic: SO_REUSEPORT");
  }
  s.bind(listen);
  if (worker.index == 0) attach_steering(s.native_handle(), worker.count);
  return s;
}

}  // namespace

QuicServer::QuicServer(asio::io_context& io, const udp::endpoint& listen,
                       const TlsCertificate& cert, QuicEvents& events, QuicConfig config,
                       QuicWorker worker)
    : io_(io),
      socket_(open_socket(io, listen, worker)),
      out_(io, socket_),
      events_(events),
      config_(config),
      tls_(std::make_unique<Tls>()),
      worker_(worker) {
  if (worker.count == 0 || worker.index >= worker.count || worker.count > 256) {
    throw std::invalid_argument("quic: worker index out of range");
  }
  if (worker_.count > 1 && !worker_.placement) {
    if (worker_.index != 0) {
      throw std::invalid_argument("quic: a worker other than 0 needs its group's placement");
    }
    worker_.placement = std::make_shared<WorkerPlacement>(worker_.count);
  }
  if (worker_.placement && worker_.placement->workers() != worker_.count) {
    throw std::invalid_argument("quic: the group's placement is for another number of workers");
  }
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
  if (worker_.placement) {
    retry_secret_ = worker_.placement->retry_secret();
  } else {
    random_bytes(retry_secret_.data(), retry_secret_.size());
  }
  receive();
}

QuicServer::~QuicServer() {
  stopped_ = true;
  for (const auto& [c, byte] : placed_) {
    worker_.placement->closed(byte, worker_.index, now_ms());
  }
}

void QuicServer::stop() {
  stopped_ = true;
  for (auto& c : conns_) c->close("server shutting down");
  out_.flush();  // the close frames leave before the socket does
  boost::system::error_code ec;
  socket_.close(ec);
}

void QuicServer::receive() {
  socket_.async_wait(udp::socket::wait_read, [this](const boost::system::error_code& ec) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    // Take what is queued in this turn, in batches of 32 (bounded, so that timers and sends
    // still get their turn) instead of one trip through epoll each. The packets they trigger
    // leave together, in one sendmmsg.
    for (int round = 0; round < 2 && !stopped_; ++round) {
      const size_t n = in_.receive(socket_.native_handle());
      for (size_t i = 0; i < n && !stopped_; ++i) handle(in_.packet(i), in_.from(i));
      if (n < UdpBatchReceiver::kBatch) break;
    }
    dropped_ += in_.take_oversized();
    reap();
    if (!stopped_) receive();
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
  // The worker this client's first ID is placed on (worker_placement.h: its room's): a Retry
  // sends the client there. One back with a Retry token was placed when it first came.
  uint8_t byte = hd.dcid.datalen > 0 ? hd.dcid.data[0] : 0;
  if (odcid) {
    byte = odcid->datalen > 0 ? odcid->data[0] : 0;
  } else if (worker_.placement) {
    const size_t to = worker_.placement->place(byte, now_ms());
    if (to != worker_.index) {
      if (send_retry(hd, from, to)) ++limits_.placed_elsewhere;
      return;
    }
  }
  const auto [in_progress, from_source] = half_open(from);
  if (!odcid &&
      (from_source >= limits_.retry_above_per_source || in_progress >= limits_.retry_above)) {
    if (send_retry(hd, from, worker_.index)) ++limits_.retries;
    return;
  }
  if (from_source >= limits_.max_half_open_per_source || in_progress >= limits_.max_half_open) {
    ++limits_.refused;  // even validated: this address (or everyone) has enough in progress
    ++dropped_;
    return;
  }
  auto conn = std::unique_ptr<QuicConnection>(new QuicConnection(io_, *this, events_, config_));
  conn->remote_ = from;
  QuicConnection* c = conn.get();
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
  stamp_cid({scid.data, scid.datalen});
  c->impl_->server_scid0 = scid.data[0];
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
  if (worker_.placement) {
    placed_[c] = byte;
    worker_.placement->opened(byte, worker_.index, now_ms());
  }
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
  proto::family(out, (name + "_quic_placed_elsewhere_total").c_str(), "counter",
                "Retry packets sent to move a new client to the worker its room is placed on "
                "(the workers' rooms kept even).",
                {{"", n(limits_.placed_elsewhere)}});
  proto::family(out, (name + "_quic_initials_refused_total").c_str(), "counter",
                "New-connection Initials dropped, by reason.",
                {{R"({reason="bad_token"})", n(limits_.bad_tokens)},
                 {R"({reason="too_many_in_progress"})", n(limits_.refused)}});
  return out;
}

bool QuicServer::send_retry(const ngtcp2_pkt_hd& hd, const udp::endpoint& from, size_t to) {
  std::array<uint8_t, NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN> token{};
  ngtcp2_cid scid;
  scid.datalen = kCidLen;
  random_bytes(scid.data, kCidLen);
  // The client's next Initial goes to worker `to`.
  scid.data[0] = QuicWorker{to, worker_.count, nullptr}.route_byte(scid.data[0]);
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
    return false;
  }
  out_.queue({packet.data(), static_cast<size_t>(n)}, from);
  return true;
}

void QuicServer::send_packet(QuicConnection&, std::span<const uint8_t> packet,
                             const udp::endpoint& to) {
  out_.queue(packet, to);
}

void QuicServer::cid_issued(QuicConnection& c, std::span<const uint8_t> cid) {
  add_cid(&c, std::string(reinterpret_cast<const char*>(cid.data()), cid.size()));
}

void QuicServer::cid_retired(QuicConnection& c, std::span<const uint8_t> cid) {
  const std::string key(reinterpret_cast<const char*>(cid.data()), cid.size());
  if (auto it = by_cid_.find(key); it != by_cid_.end() && it->second == &c) by_cid_.erase(it);
  auto& mine = cids_of_[&c];
  mine.erase(std::remove(mine.begin(), mine.end(), key), mine.end());
}

void QuicServer::stamp_cid(std::span<uint8_t> cid) {
  if (!cid.empty()) cid[0] = worker_.route_byte(cid[0]);
}

void QuicServer::closed(QuicConnection& c) { dead_.push_back(&c); }

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
    if (auto p = placed_.find(c); p != placed_.end()) {
      worker_.placement->closed(p->second, worker_.index, now_ms());
      placed_.erase(p);
    }
    auto it =
        std::find_if(conns_.begin(), conns_.end(), [c](const auto& p) { return p.get() == c; });
    if (it != conns_.end()) conns_.erase(it);
  }
}

}  // namespace wzp::transport
