#include "transport/quic_callbacks.h"

namespace wzp::transport {

struct QuicClient::Tls {
  gnutls_certificate_credentials_t cred = nullptr;
  std::function<bool(const std::string&)> verify;
  std::string fingerprint;
  ~Tls() {
    if (cred) gnutls_certificate_free_credentials(cred);
  }
};

uint8_t sni_route_byte(std::string_view sni) {
  uint32_t h = 2166136261u;
  for (const char c : sni) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return static_cast<uint8_t>(h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24));
}

QuicClient::QuicClient(asio::io_context& io, const udp::endpoint& server, const std::string& sni,
                       std::function<bool(const std::string&)> verify, QuicEvents& events,
                       QuicConfig config)
    : io_(io),
      server_(server),
      socket_(std::make_unique<udp::socket>(io, udp::endpoint(server.protocol(), 0))),
      tls_(std::make_unique<Tls>()),
      conn_(new QuicConnection(io, *this, events, config)),
      buf_(65536) {
  tls_->verify = std::move(verify);
  gnutls_certificate_allocate_credentials(&tls_->cred);
  QuicConnection* c = conn_.get();
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  QuicCallbacks::settings_and_params(config, settings, params);
  ngtcp2_cid dcid, scid;
  dcid.datalen = kCidLen;
  random_bytes(dcid.data, kCidLen);
  if (config.steer_by_sni) dcid.data[0] = sni_route_byte(sni);
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

void QuicClient::send_packet(QuicConnection& c, std::span<const uint8_t> d,
                             const udp::endpoint& to) {
  // Until the handshake is done each packet leaves kHandshakeCopies times: through heavy loss
  // a handshake needs each of its flights across, and the probe timeout doubles from one try
  // to the next (joins through 80 % loss each way: 7 of 8 within 20 s, against 4 of 8 within
  // 30 s sending each once). The relay drops the copies as duplicates (a server asking for a
  // Retry answers each copy of the first Initial). Only the client repeats itself: a server
  // that did so before the client's address is validated would amplify a spoofed sender.
  // Media never goes out twice.
  for (int i = 0; i < (c.established() ? 1 : kHandshakeCopies); ++i) {
    boost::system::error_code ec;
    socket_->send_to(asio::buffer(d.data(), d.size()), to, 0, ec);
  }
}

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
