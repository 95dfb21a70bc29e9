// wzp-netem's engine: a UDP proxy between a listen address and an upstream address that
// impairs each direction of each flow (a flow is one client address) with its own seeded
// Impairment, and can rebind the source port the upstream sees (a NAT rebinding) at set times.
#pragma once

#include <utility>  // before Asio: Boost 1.74 with g++ 12 needs std::exchange declared

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "transport/impairment.h"

namespace wzp::transport {

struct NetemConfig {
  boost::asio::ip::udp::endpoint listen;
  boost::asio::ip::udp::endpoint upstream;
  ImpairmentConfig to_upstream;        // client -> upstream
  ImpairmentConfig to_client;          // upstream -> client
  std::vector<uint64_t> rebind_at_ms;  // the upstream-facing source port changes at these times
  std::string log_path;                // optional per-packet CSV log
};

struct NetemStats {
  ImpairmentCounters to_upstream, to_client;
  uint64_t flows = 0, rebinds = 0;
};

class NetemProxy {
 public:
  NetemProxy(boost::asio::io_context& io, NetemConfig config);
  ~NetemProxy();

  // Binds and starts forwarding (throws std::system_error when the address is taken).
  void start();
  void stop();
  boost::asio::ip::udp::endpoint local_endpoint() const;
  NetemStats stats() const;  // safe from any thread

 private:
  struct Flow;
  using clock = std::chrono::steady_clock;

  uint64_t now_ms() const;
  void receive_from_clients();
  void receive_from_upstream(std::shared_ptr<Flow> flow);
  Flow& flow_for(const boost::asio::ip::udp::endpoint& client);
  void forward(Impairment& imp, ImpairmentCounters& totals, const char* dir,
               std::vector<uint8_t> packet, std::function<void(const std::vector<uint8_t>&)> send);
  void schedule_rebinds();
  void rebind_all();

  boost::asio::io_context& io_;
  NetemConfig config_;
  boost::asio::ip::udp::socket listen_;
  clock::time_point start_;
  boost::asio::ip::udp::endpoint sender_;
  std::vector<uint8_t> buf_;
  std::map<boost::asio::ip::udp::endpoint, std::shared_ptr<Flow>> flows_;
  std::vector<std::unique_ptr<boost::asio::steady_timer>> rebind_timers_;
  std::ofstream log_;
  mutable std::mutex mu_;
  NetemStats stats_;
  bool stopped_ = false;
};

}  // namespace wzp::transport
