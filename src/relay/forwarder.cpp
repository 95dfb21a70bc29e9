#include "relay/forwarder.h"
#include "proto/json_text.h"

#include <nlohmann/json.hpp>

#include "proto/prometheus.h"
#include "proto/signal_framing.h"

namespace wzp::relay {

using proto::family;

// One client's pipe: the downstream connection (owned by the QuicServer) and the upstream
// client connection to the remote relay (owned here).
struct Forwarder::Pipe : transport::QuicEvents {
  Forwarder& f;
  transport::QuicConnection* down;
  uint64_t serial;
  TokenBucket bucket;
  std::unique_ptr<transport::QuicClient> up;

  Pipe(Forwarder& owner, transport::QuicConnection* d, uint64_t s) : f(owner), down(d), serial(s) {}

  void on_datagram(transport::QuicConnection&, std::span<const uint8_t> d) override {
    if (down->send_datagram(d)) {
      ++f.stats_.datagrams_down;
      f.stats_.bytes_down += d.size();
    } else {
      ++f.stats_.dropped_send;
    }
  }
  void on_stream(transport::QuicConnection&, std::span<const uint8_t> d) override {
    f.stats_.signal_bytes_down += d.size();
    down->send_stream(d);
  }
  void on_closed(transport::QuicConnection&, const std::string& reason) override {
    // The far relay ended it (its Hangup, if any, has already passed down the stream).
    if (reason.find("handshake") != std::string::npos) ++f.stats_.upstream_failures;
    f.log("upstream_closed", *this, reason);
    down->close("upstream relay: " + reason);
  }
};

Forwarder::Forwarder(boost::asio::io_context& io, ForwarderConfig config)
    : io_(io), clock_(io), config_(std::move(config)) {
  if (config_.remote_name) look_up_remote();
}

void Forwarder::look_up_remote() {
  if (looking_up_) return;
  looking_up_ = true;
  looked_up_ms_ = clock_.now_ms();
  transport::resolve(
      io_, *config_.remote_name, [this, alive = alive_](const transport::EndpointResult& r) {
        if (!*alive) return;
        looking_up_ = false;
        if (r.endpoint) {
          config_.remote = *r.endpoint;
          remote_known_ = true;
        } else {
          const std::string line = proto::json_text(
              nlohmann::ordered_json{{"event", "remote_lookup_failed"}, {"reason", r.error}});
          if (config_.log) config_.log(line);
        }
      });
}

Forwarder::~Forwarder() { *alive_ = false; }

void Forwarder::on_established(transport::QuicConnection& c) {
  if (config_.remote_name) {
    if (!looked_up_ms_ || clock_.now_ms() - *looked_up_ms_ > 10000) look_up_remote();
    if (!remote_known_) {
      c.close("the remote relay's address is not known yet");
      return;
    }
  }
  (void)open(c, config_.remote, config_.verify_remote);
}

bool Forwarder::open(transport::QuicConnection& c, const boost::asio::ip::udp::endpoint& remote,
                     std::function<bool(const std::string&)> verify) {
  if (pipes_.size() >= config_.max_sessions) {
    c.close("relay full");
    return false;
  }
  auto p = std::make_unique<Pipe>(*this, &c, ++last_serial_);
  p->up = std::make_unique<transport::QuicClient>(io_, remote, c.sni(), std::move(verify), *p);
  // First on the upstream stream, before any of the client's bytes: who we are.
  p->up->connection().send_stream(
      proto::frame_signal(proto::FederationHello{config_.relay_id, 1, {}}));
  ++stats_.pipes_opened;
  log("pipe_open", *p, {});
  pipes_[&c] = std::move(p);
  return true;
}

void Forwarder::on_datagram(transport::QuicConnection& c, std::span<const uint8_t> d) {
  auto it = pipes_.find(&c);
  if (it == pipes_.end()) return;
  Pipe& p = *it->second;
  if (!admit(p.bucket, config_.rate, clock_.now_ms(), stats_.dropped_rate, stats_.cut_off, [&] {
        log("cut_off", p, "packet rate exceeded");
        c.close("packet rate exceeded");
      })) {
    return;
  }
  if (p.up->connection().send_datagram(d)) {
    ++stats_.datagrams_up;
    stats_.bytes_up += d.size();
  } else {
    ++stats_.dropped_send;
  }
}

void Forwarder::on_stream(transport::QuicConnection& c, std::span<const uint8_t> d) {
  auto it = pipes_.find(&c);
  if (it == pipes_.end()) return;
  stats_.signal_bytes_up += d.size();
  it->second->up->connection().send_stream(d);
}

void Forwarder::on_closed(transport::QuicConnection& c, const std::string& reason) {
  auto it = pipes_.find(&c);
  if (it == pipes_.end()) return;
  log("pipe_closed", *it->second, reason);
  drop(&c);
}

// Closes the upstream and frees the pipe later: the call may come from inside one of the
// pipe's own callbacks.
void Forwarder::drop(transport::QuicConnection* down) {
  auto it = pipes_.find(down);
  if (it == pipes_.end()) return;
  std::shared_ptr<Pipe> p(std::move(it->second));
  pipes_.erase(it);
  p->up->connection().close("client left");
  boost::asio::post(io_, [p] {});
}

void Forwarder::shutdown(const std::string& reason) {
  std::vector<transport::QuicConnection*> all;
  for (auto& [c, p] : pipes_) all.push_back(c);
  for (auto* c : all) {
    c->send_stream(proto::frame_signal(proto::Hangup{std::nullopt, reason}));
    c->close(reason);
  }
}

void Forwarder::log(const char* event, const Pipe& p, const std::string& reason) {
  nlohmann::ordered_json j = {{"event", event}, {"pipe", p.serial}};
  if (!reason.empty()) j["reason"] = reason;
  const std::string line = proto::json_text(j);
  if (config_.log) config_.log(line);
}

std::string Forwarder::metrics_text(bool alone) const {
  const auto& st = stats_;
  const auto n = [](uint64_t v) { return static_cast<double>(v); };
  std::string out;
  if (alone)
    family(out, "wzp_relay_sessions", "gauge", "Open client sessions.", {{"", n(pipes_.size())}});
  family(out, "wzp_relay_forward_pipes_total", "counter",
         "Client sessions piped to the remote relay (forward mode).", {{"", n(st.pipes_opened)}});
  family(out, "wzp_relay_forward_upstream_failures_total", "counter",
         "Pipes whose connection to the remote relay failed its handshake.",
         {{"", n(st.upstream_failures)}});
  family(out, "wzp_relay_forward_datagrams_total", "counter",
         "Datagrams piped: up toward the remote relay, down toward clients.",
         {{R"({direction="up"})", n(st.datagrams_up)},
          {R"({direction="down"})", n(st.datagrams_down)}});
  family(out, "wzp_relay_forward_bytes_total", "counter", "Datagram bytes piped, by direction.",
         {{R"({direction="up"})", n(st.bytes_up)}, {R"({direction="down"})", n(st.bytes_down)}});
  family(out, "wzp_relay_forward_signal_bytes_total", "counter", "Signalling bytes piped.",
         {{R"({direction="up"})", n(st.signal_bytes_up)},
          {R"({direction="down"})", n(st.signal_bytes_down)}});
  if (!alone) {
    family(out, "wzp_relay_forward_pipes_open", "gauge",
           "Client sessions piped to their room's home relay now.", {{"", n(pipes_.size())}});
    return out;
  }
  family(out, "wzp_relay_dropped_total", "counter", "Datagrams dropped, by reason.",
         {{R"({reason="send_failed"})", n(st.dropped_send)},
          {R"({reason="rate_limited"})", n(st.dropped_rate)}});
  family(out, "wzp_relay_cut_off_total", "counter", "Sessions cut off for flooding.",
         {{"", n(st.cut_off)}});
  return out;
}

}  // namespace wzp::relay
