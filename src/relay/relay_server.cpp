#include "relay/relay_server.h"

#include <chrono>

#include "proto/signal_framing.h"

namespace wzp::relay {

void QuicPeer::send_signal(const proto::SignalMessage& msg) {
  conn_.send_stream(proto::frame_signal(msg));
}

RelayServer::RelayServer(boost::asio::io_context& io, const crypto::Identity& identity,
                         RelayConfig config)
    : scheduler_(io), relay_(scheduler_, identity, std::move(config)) {}

RelayServer::~RelayServer() = default;

Peer* RelayServer::peer_of(transport::QuicConnection& c) {
  closed_.clear();
  auto it = peers_.find(&c);
  return it == peers_.end() ? nullptr : it->second.get();
}

void RelayServer::on_established(transport::QuicConnection& c) {
  closed_.clear();
  auto& peer = peers_[&c];
  peer = std::make_unique<QuicPeer>(c);
  relay_.connected(*peer, c.sni(),
                   c.remote().address().to_string() + ":" + std::to_string(c.remote().port()));
}

void RelayServer::on_datagram(transport::QuicConnection& c, std::span<const uint8_t> d) {
  if (Peer* p = peer_of(c)) {
    peer_datagram(*p, d);
  } else {
    stray_datagram();
  }
}

void RelayServer::stray_datagram() {
  ++relay_.stats().datagrams_in;  // counted as the relay counts a datagram of no session
  ++relay_.stats().dropped_not_joined;
}

void RelayServer::peer_datagram(Peer& p, std::span<const uint8_t> d) {
  const auto start = std::chrono::steady_clock::now();
  if (relay_.datagram(p, d)) {
    relay_.stats().latency.observe(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
  }
}

void RelayServer::on_stream(transport::QuicConnection& c, std::span<const uint8_t> d) {
  if (Peer* p = peer_of(c)) relay_.stream(*p, d);
}

void RelayServer::on_narrow_path(transport::QuicConnection& c) {
  if (Peer* p = peer_of(c)) relay_.narrow_path(*p);
}

void RelayServer::on_closed(transport::QuicConnection& c, const std::string&) {
  auto it = peers_.find(&c);
  if (it == peers_.end()) return;
  relay_.closed(*it->second);
  closed_.push_back(std::move(it->second));
  peers_.erase(it);
}

}  // namespace wzp::relay
