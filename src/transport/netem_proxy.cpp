#include "transport/netem_proxy.h"

#include <functional>

namespace wzp::transport {

namespace asio = boost::asio;
using udp = asio::ip::udp;

struct NetemProxy::Flow {
  udp::endpoint client;
  std::unique_ptr<udp::socket> upstream;  // its local port is what the upstream sees
  std::vector<uint8_t> buf = std::vector<uint8_t>(65536);
  udp::endpoint from;
  Impairment up, down;
  Flow(const NetemConfig& c, uint64_t index)
      : up(with_seed(c.to_upstream, index)), down(with_seed(c.to_client, index + 1000)) {}
  static ImpairmentConfig with_seed(ImpairmentConfig c, uint64_t offset) {
    c.seed += offset;
    return c;
  }
};

NetemProxy::NetemProxy(asio::io_context& io, NetemConfig config)
    : io_(io), config_(std::move(config)), listen_(io), buf_(65536) {}

NetemProxy::~NetemProxy() = default;

uint64_t NetemProxy::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start_).count();
}

void NetemProxy::start() {
  start_ = clock::now();
  listen_.open(config_.listen.protocol());
  listen_.bind(config_.listen);
  if (!config_.log_path.empty()) {
    log_.open(config_.log_path);
    log_ << "ms,direction,bytes,fate,deliver_at_ms\n";
  }
  receive_from_clients();
  schedule_rebinds();
}

void NetemProxy::stop() {
  asio::post(io_, [this] {
    stopped_ = true;
    boost::system::error_code ec;
    listen_.close(ec);
    for (auto& [ep, f] : flows_) f->upstream->close(ec);
    for (auto& t : rebind_timers_) t->cancel();
  });
}

udp::endpoint NetemProxy::local_endpoint() const { return listen_.local_endpoint(); }

NetemStats NetemProxy::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

NetemProxy::Flow& NetemProxy::flow_for(const udp::endpoint& client) {
  auto it = flows_.find(client);
  if (it != flows_.end()) return *it->second;
  auto flow = std::make_shared<Flow>(config_, flows_.size());
  flow->client = client;
  flow->upstream =
      std::make_unique<udp::socket>(io_, udp::endpoint(config_.upstream.protocol(), 0));
  flows_[client] = flow;
  {
    std::lock_guard lock(mu_);
    ++stats_.flows;
  }
  receive_from_upstream(flow);
  return *flow;
}

void NetemProxy::forward(Impairment& imp, ImpairmentCounters& totals, const char* dir,
                         std::vector<uint8_t> packet,
                         std::function<void(const std::vector<uint8_t>&)> send) {
  const uint64_t now = now_ms();
  const auto d = imp.on_packet(now, packet.size());
  {
    std::lock_guard lock(mu_);
    ++totals.received;
    switch (d.fate) {
      case Impairment::Fate::kDelivered:
        totals.delivered += d.deliveries;
        break;
      case Impairment::Fate::kLost:
        ++totals.lost;
        break;
      case Impairment::Fate::kOutage:
        ++totals.outage;
        break;
      case Impairment::Fate::kQueueFull:
        ++totals.queue_drops;
        break;
    }
    totals.duplicated += d.deliveries == 2;
  }
  if (log_.is_open()) {
    static constexpr const char* kFate[] = {"delivered", "lost", "outage", "queue_full"};
    log_ << now << ',' << dir << ',' << packet.size() << ',' << kFate[static_cast<int>(d.fate)]
         << ',' << (d.deliveries ? d.deliver_at_ms[0] : 0) << '\n';
  }
  auto data = std::make_shared<std::vector<uint8_t>>(std::move(packet));
  for (int i = 0; i < d.deliveries; ++i) {
    if (d.deliver_at_ms[i] <= now) {
      send(*data);
      continue;
    }
    auto timer = std::make_shared<asio::steady_timer>(
        io_, start_ + std::chrono::milliseconds(d.deliver_at_ms[i]));
    timer->async_wait([this, timer, data, send](const boost::system::error_code& ec) {
      if (!ec && !stopped_) send(*data);
    });
  }
}

void NetemProxy::receive_from_clients() {
  listen_.async_receive_from(
      asio::buffer(buf_), sender_, [this](const boost::system::error_code& ec, std::size_t n) {
        if (stopped_) return;
        if (!ec) {
          Flow& f = flow_for(sender_);
          std::weak_ptr<Flow> weak = flows_[sender_];
          forward(f.up, stats_.to_upstream, "up",
                  std::vector<uint8_t>(buf_.begin(), buf_.begin() + n),
                  [this, weak](const std::vector<uint8_t>& d) {
                    if (auto fl = weak.lock(); fl && fl->upstream->is_open()) {
                      boost::system::error_code e;
                      fl->upstream->send_to(asio::buffer(d), config_.upstream, 0, e);
                    }
                  });
        }
        receive_from_clients();
      });
}

void NetemProxy::receive_from_upstream(std::shared_ptr<Flow> flow) {
  udp::socket* sock = flow->upstream.get();
  sock->async_receive_from(asio::buffer(flow->buf), flow->from,
                           [this, flow, sock](const boost::system::error_code& ec, std::size_t n) {
                             if (stopped_ || ec == asio::error::operation_aborted) return;
                             if (sock != flow->upstream.get())
                               return;  // rebound: the old socket's loop ends
                             if (!ec) {
                               const udp::endpoint client = flow->client;
                               forward(
                                   flow->down, stats_.to_client, "down",
                                   std::vector<uint8_t>(flow->buf.begin(), flow->buf.begin() + n),
                                   [this, client](const std::vector<uint8_t>& d) {
                                     boost::system::error_code e;
                                     listen_.send_to(asio::buffer(d), client, 0, e);
                                   });
                             }
                             receive_from_upstream(flow);
                           });
}

void NetemProxy::schedule_rebinds() {
  for (uint64_t at : config_.rebind_at_ms) {
    auto timer = std::make_unique<asio::steady_timer>(io_, start_ + std::chrono::milliseconds(at));
    timer->async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !stopped_) rebind_all();
    });
    rebind_timers_.push_back(std::move(timer));
  }
}

void NetemProxy::rebind_all() {
  for (auto& [ep, flow] : flows_) {
    // A new socket, a new source port: what a NAT does when its mapping expires. Replies
    // still in flight to the old port are lost, as they would be.
    auto old = std::move(flow->upstream);
    flow->upstream =
        std::make_unique<udp::socket>(io_, udp::endpoint(config_.upstream.protocol(), 0));
    boost::system::error_code ec;
    old->close(ec);
    receive_from_upstream(flow);
  }
  std::lock_guard lock(mu_);
  ++stats_.rebinds;
}

}  // namespace wzp::transport
