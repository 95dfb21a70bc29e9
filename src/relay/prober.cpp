#include "relay/prober.h"

#include <cmath>

#include "proto/bytes.h"
#include "proto/media_frame.h"
#include "proto/prometheus.h"
#include "proto/room_name.h"
#include "proto/signal_framing.h"

namespace wzp::relay {

using proto::family;
using proto::label_value;
using proto::Sample;
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kLostAfter = std::chrono::seconds(2);
constexpr auto kRedialAfter = std::chrono::seconds(5);
constexpr size_t kWindow = 60;  // decided probes the loss ratio is taken over

}  // namespace

struct Prober::Peer : transport::QuicEvents {
  ProbeTarget target;
  ProbeStats stats;
  std::unique_ptr<transport::QuicClient> client;
  bool resolving = false, resolved = false;
  Clock::time_point dialled{};
  uint32_t next_seq = 0;
  std::deque<std::pair<uint32_t, Clock::time_point>> outstanding;
  std::deque<bool> decided;  // true: answered
  bool have_rtt = false;

  void on_established(transport::QuicConnection&) override { stats.up = true; }
  void on_closed(transport::QuicConnection&, const std::string&) override { stats.up = false; }
  void on_datagram(transport::QuicConnection&, std::span<const uint8_t> d) override {
    if (d.size() != 13 || d[0] != static_cast<uint8_t>(proto::FrameTag::kProbeReply)) return;
    const uint32_t seq = proto::load_be32(&d[1]);
    for (auto it = outstanding.begin(); it != outstanding.end(); ++it) {
      if (it->first != seq) continue;
      const double rtt =
          std::chrono::duration<double, std::milli>(Clock::now() - it->second).count();
      if (have_rtt) stats.jitter_ms += (std::abs(rtt - stats.rtt_ms) - stats.jitter_ms) / 16;
      stats.rtt_ms = rtt;
      have_rtt = true;
      ++stats.answered;
      decide(true);
      outstanding.erase(it);
      return;
    }
  }
  void decide(bool answered) {
    decided.push_back(answered);
    if (decided.size() > kWindow) decided.pop_front();
    size_t lost = 0;
    for (bool a : decided) lost += !a;
    stats.loss = static_cast<double>(lost) / static_cast<double>(decided.size());
  }
};

Prober::Prober(boost::asio::io_context& io, std::vector<ProbeTarget> peers, std::string relay_id,
               std::chrono::milliseconds interval)
    : io_(io), relay_id_(std::move(relay_id)), interval_(interval), timer_(io) {
  for (auto& t : peers) {
    auto p = std::make_unique<Peer>();
    p->target = std::move(t);
    dial(*p);
    peers_.push_back(std::move(p));
  }
  tick();
}

Prober::~Prober() {
  *alive_ = false;
  stop();
}

void Prober::stop() {
  stopped_ = true;
  timer_.cancel();
  for (auto& p : peers_) {
    if (p->client) p->client->connection().close("probe stopped");
  }
}

void Prober::dial(Peer& p) {
  if (p.client) {
    // Freed after this turn of the loop: it may be mid-callback.
    std::shared_ptr<transport::QuicClient> old(std::move(p.client));
    boost::asio::post(io_, [old] {});
  }
  p.dialled = Clock::now();
  if (p.target.name) {
    // A peer named by host is looked up before each dial: one that moved is found.
    p.resolving = true;
    transport::resolve(
        io_, *p.target.name, [this, &p, alive = alive_](const transport::EndpointResult& r) {
          if (!*alive || stopped_) return;
          p.resolving = false;
          if (r.endpoint) p.target.endpoint = *r.endpoint, p.resolved = true;
          if (p.resolved) connect(p);  // on failure, the last address it had; or none: tick retries
        });
    return;
  }
  connect(p);
}

void Prober::connect(Peer& p) {
  p.client = std::make_unique<transport::QuicClient>(
      io_, p.target.endpoint, proto::room_sni("wzp-probe"), p.target.verify, p);
  p.client->connection().send_stream(proto::frame_signal(proto::FederationHello{relay_id_, 1, {}}));
}

void Prober::tick() {
  if (stopped_) return;
  const auto now = Clock::now();
  for (auto& pp : peers_) {
    Peer& p = *pp;
    while (!p.outstanding.empty() && now - p.outstanding.front().second > kLostAfter) {
      p.outstanding.pop_front();
      p.decide(false);
    }
    if (!p.client) {  // being looked up, or the name has not resolved yet
      if (!p.resolving && now - p.dialled >= kRedialAfter) dial(p);
      continue;
    }
    auto& conn = p.client->connection();
    if (conn.closed()) {
      if (now - p.dialled >= kRedialAfter) dial(p);
      continue;
    }
    if (!conn.established()) continue;
    // [0x03][seq u32][our clock, µs u64]: the peer sends it back with tag 0x04.
    std::array<uint8_t, 13> probe{};
    probe[0] = static_cast<uint8_t>(proto::FrameTag::kProbe);
    proto::store_be32(&probe[1], p.next_seq);
    proto::store_be64(
        &probe[5],
        static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count()));
    if (conn.send_datagram(probe)) {
      p.outstanding.emplace_back(p.next_seq, now);
      ++p.stats.sent;
    }
    ++p.next_seq;
  }
  timer_.expires_after(interval_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

const ProbeStats& Prober::stats(size_t peer) const { return peers_.at(peer)->stats; }

std::string Prober::metrics_text() const {
  std::string out;
  const auto each = [&](const char* name, const char* type, const char* help, auto value) {
    std::vector<Sample> samples;
    for (const auto& p : peers_) {
      samples.push_back({"{peer=\"" + label_value(p->target.label) + "\"}", value(p->stats)});
    }
    family(out, name, type, help, samples);
  };
  if (peers_.empty()) return out;
  each("wzp_relay_probe_up", "gauge", "1 while the probe connection to the peer is up.",
       [](const ProbeStats& s) { return s.up ? 1.0 : 0.0; });
  each("wzp_relay_probe_rtt_seconds", "gauge", "Latest probe round-trip time to the peer.",
       [](const ProbeStats& s) { return s.rtt_ms / 1000; });
  each("wzp_relay_probe_jitter_seconds", "gauge",
       "Smoothed variation of successive probe round trips (RFC 3550).",
       [](const ProbeStats& s) { return s.jitter_ms / 1000; });
  each("wzp_relay_probe_loss_ratio", "gauge", "Probes unanswered within 2 s, over the last 60.",
       [](const ProbeStats& s) { return s.loss; });
  each("wzp_relay_probes_sent_total", "counter", "Probes sent to the peer.",
       [](const ProbeStats& s) { return static_cast<double>(s.sent); });
  each("wzp_relay_probes_answered_total", "counter", "Probe replies received from the peer.",
       [](const ProbeStats& s) { return static_cast<double>(s.answered); });
  return out;
}

}  // namespace wzp::relay
