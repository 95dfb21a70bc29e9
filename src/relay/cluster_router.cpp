#include "relay/cluster_router.h"

#include <nlohmann/json.hpp>
#include <set>

#include "proto/json_text.h"
#include "proto/prometheus.h"
#include "transport/endpoint.h"

namespace wzp::relay {

void link_calls_abroad(DirectCalls& calls, Directory& directory,
                       std::function<void(const std::string&)> log) {
  CallsAbroad abroad;
  abroad.self = directory.relay_id();
  abroad.locate = [&directory](const std::string& fp,
                               std::function<void(std::optional<RelayAt>)> done) {
    directory.locate(fp, std::move(done));
  };
  abroad.post = [&directory](const std::string& relay_id, const proto::SignalMessage& msg) {
    directory.post(relay_id, proto::encode_signal(msg));
  };
  calls.set_abroad(std::move(abroad));
  directory.on_inbox([&calls, log = std::move(log)](const std::string& from,
                                                    const std::string& text) {
    auto msg = proto::decode_signal(text);
    if (!msg.ok()) {
      if (log) {
        log(proto::json_text(nlohmann::ordered_json{{"event", "inbox_dropped"},
                                                    {"from", from},
                                                    {"reason", std::string(msg.error().what)}}));
      }
      return;
    }
    calls.on_abroad(from, msg.value());
  });
}

ClusterRouter::ClusterRouter(boost::asio::io_context& io, RelayServer& local, Forwarder& pipes,
                             Directory& directory,
                             std::function<bool(const std::string&)> local_only,
                             std::function<std::optional<RelayAt>(const std::string&)> fixed_home,
                             std::function<void(const std::string&)> log)
    : io_(io),
      local_(local),
      pipes_(pipes),
      directory_(directory),
      local_only_(std::move(local_only)),
      fixed_home_(std::move(fixed_home)),
      log_(std::move(log)),
      watch_(io) {
  watch_homes();
}

void ClusterRouter::watch_homes() {
  watch_.expires_after(std::chrono::milliseconds(Directory::kPublishEveryMs));
  watch_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    std::set<std::string> homes;
    for (const auto& [c, home] : decided_)
      if (home) homes.insert(*home);
    for (const auto& home : homes) {
      directory_.alive(home, [this, alive, home](std::optional<bool> listed) {
        if (!*alive || !listed || *listed) return;  // alive, or nothing known (Redis away)
        std::vector<transport::QuicConnection*> gone;
        for (const auto& [c, h] : decided_)
          if (h == home) gone.push_back(c);
        for (auto* c : gone) {
          ++stats_.homes_lost;
          log("home_lost", *c, home);
          c->close("the room's home relay is gone; join again");
        }
      });
    }
    watch_homes();
  });
}

ClusterRouter::~ClusterRouter() { *alive_ = false; }

void ClusterRouter::on_established(transport::QuicConnection& c) {
  if (local_only_(c.sni())) return serve_here(c, {});
  if (auto home = fixed_home_ ? fixed_home_(c.sni()) : std::nullopt) return route(c, home, {});
  waiting_[&c];
}

void ClusterRouter::serve_here(transport::QuicConnection& c, const std::vector<uint8_t>& stream) {
  ++stats_.here;
  decided_[&c] = std::nullopt;
  local_.on_established(c);
  if (!stream.empty()) local_.on_stream(c, stream);
}

void ClusterRouter::on_stream(transport::QuicConnection& c, std::span<const uint8_t> d) {
  if (auto it = decided_.find(&c); it != decided_.end()) {
    return it->second ? pipes_.on_stream(c, d) : local_.on_stream(c, d);
  }
  auto w = waiting_.find(&c);
  if (w == waiting_.end()) return;
  Waiting& wait = w->second;
  wait.stream.insert(wait.stream.end(), d.begin(), d.end());
  if (wait.asked) {
    // Bytes after the first frame, while the home is looked up: bounded like one frame.
    if (wait.stream.size() > 2 * proto::kMaxSignalFrame) c.close("signalling before a room");
    return;
  }
  if (!wait.reader.feed(d)) return c.close("bad signalling frame");
  auto first = wait.reader.next();
  if (!first) return;  // not a whole frame yet (the reader bounds it)
  // Another relay's pipe or prober is always served here: a pipe is never piped on.
  if (*first && std::holds_alternative<proto::FederationHello>(**first)) {
    const std::vector<uint8_t> stream = std::move(wait.stream);
    waiting_.erase(w);
    return serve_here(c, stream);
  }
  wait.asked = true;
  decide(c);
}

void ClusterRouter::decide(transport::QuicConnection& c) {
  directory_.home_of(c.sni(), [this, alive = alive_, conn = &c](std::optional<RelayAt> home) {
    if (!*alive) return;
    auto w = waiting_.find(conn);
    if (w == waiting_.end()) return;  // it closed meanwhile
    const std::vector<uint8_t> stream = std::move(w->second.stream);
    waiting_.erase(w);
    route(*conn, home, stream);
  });
}

void ClusterRouter::route(transport::QuicConnection& c, const std::optional<RelayAt>& home,
                          const std::vector<uint8_t>& stream) {
  if (!home) {
    ++stats_.lookups_failed;
    log("room_here", c, "directory unavailable");
    return serve_here(c, stream);
  }
  if (home->relay_id == directory_.relay_id()) return serve_here(c, stream);
  const auto to = transport::parse_endpoint(home->address);
  if (!to.endpoint) {
    // A host name, or nonsense: served here rather than held (names: issue 19).
    ++stats_.lookups_failed;
    log("room_here", c, "home relay address " + home->address + ": " + to.error);
    return serve_here(c, stream);
  }
  const std::string pinned = home->fingerprint;
  if (!pipes_.open(c, *to.endpoint, [pinned](const std::string& fp) { return fp == pinned; }))
    return;  // closed: this relay pipes its most already
  ++stats_.piped;
  decided_[&c] = home->relay_id;
  log("room_piped", c, home->relay_id + " at " + home->address);
  if (!stream.empty()) pipes_.on_stream(c, stream);
}

void ClusterRouter::on_datagram(transport::QuicConnection& c, std::span<const uint8_t> d) {
  if (auto it = decided_.find(&c); it != decided_.end()) {
    return it->second ? pipes_.on_datagram(c, d) : local_.on_datagram(c, d);
  }
  ++stats_.undecided_dropped;
}

void ClusterRouter::on_closed(transport::QuicConnection& c, const std::string& reason) {
  waiting_.erase(&c);
  auto it = decided_.find(&c);
  if (it == decided_.end()) return;
  const bool piped = it->second.has_value();
  decided_.erase(it);
  piped ? pipes_.on_closed(c, reason) : local_.on_closed(c, reason);
}

void ClusterRouter::on_narrow_path(transport::QuicConnection& c) {
  if (auto it = decided_.find(&c); it != decided_.end() && !it->second) local_.on_narrow_path(c);
}

std::vector<std::pair<std::string, size_t>> ClusterRouter::piped_rooms() const {
  std::map<std::string, size_t> rooms;
  for (const auto& [c, home] : decided_) {
    if (home) ++rooms[c->sni()];
  }
  return {rooms.begin(), rooms.end()};
}

void ClusterRouter::log(const char* event, const transport::QuicConnection& c,
                        const std::string& detail) {
  if (!log_) return;
  log_(proto::json_text(
      nlohmann::ordered_json{{"event", event}, {"room", c.sni()}, {"detail", detail}}));
}

std::string ClusterRouter::metrics_text() const {
  const auto n = [](uint64_t v) { return static_cast<double>(v); };
  std::string out;
  proto::family(out, "wzp_relay_cluster_connections_total", "counter",
                "Client connections by where their room is hosted: here, or piped to its home.",
                {{R"({room="here"})", n(stats_.here)}, {R"({room="piped"})", n(stats_.piped)}});
  proto::family(out, "wzp_relay_cluster_home_lookups_failed_total", "counter",
                "Rooms served here because the directory could not name their home.",
                {{"", n(stats_.lookups_failed)}});
  proto::family(out, "wzp_relay_cluster_homes_lost_total", "counter",
                "Piped members closed because their room's home relay left the directory.",
                {{"", n(stats_.homes_lost)}});
  proto::family(out, "wzp_relay_cluster_undecided_datagrams_dropped_total", "counter",
                "Datagrams from a connection whose room was still being looked up.",
                {{"", n(stats_.undecided_dropped)}});
  out += pipes_.metrics_text(false);
  return out;
}

}  // namespace wzp::relay
