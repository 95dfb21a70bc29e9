// A Redis connection for the relay's cluster directory (relay/directory.h): commands are
// pipelined on one TCP connection and each reply goes to its command's callback, in order.
//
// Redis is a helper, never a dependency of a call: while it is unreachable a command fails at
// once (its callback gets nullptr) rather than queueing, the connection is retried with a
// backoff from 100 ms to 2 s, and every state change is said once through on_state. A server
// that stops answering (a reply overdue by reply_timeout) counts as gone. Single-threaded: use
// it on its io_context's thread.
#pragma once

#include <utility>  // before Asio (Boost 1.74 with g++ 12)

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proto/resp.h"
#include "transport/endpoint.h"

namespace wzp::transport {

struct RedisConfig {
  Address address;
  std::chrono::milliseconds reply_timeout{2000};
  size_t max_in_flight = 20000;  // commands awaiting a reply; past it, new ones fail
  std::chrono::milliseconds min_backoff{100}, max_backoff{2000};
  // Sent with AUTH first on every connection when set (requirepass; a user too for Redis ACLs).
  // The connection is up only once Redis has taken them; a refusal is said like an outage.
  std::string username, password;
};

struct RedisCounters {
  uint64_t commands = 0;       // sent
  uint64_t error_replies = 0;  // answered with an error
  uint64_t failed = 0;         // never sent (not connected, too many in flight) or lost unanswered
  uint64_t connects = 0;
  uint64_t disconnects = 0;
};

class RedisClient {
 public:
  // nullptr when the command failed (see above); otherwise the reply, which may be an error.
  using Reply = std::function<void(const proto::RespValue*)>;
  // up, and why not when down (the first failure of each outage and each recovery are said).
  using OnState = std::function<void(bool up, const std::string& why)>;

  RedisClient(boost::asio::io_context& io, RedisConfig config, OnState on_state = {});
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  void command(std::vector<std::string> args, Reply done = {});
  bool up() const { return up_; }
  const RedisCounters& counters() const { return counters_; }
  const RedisConfig& config() const { return config_; }
  // Closes the connection and stops retrying; pending commands fail.
  void stop();

 private:
  void dial();
  void connected();
  void ready();
  void enqueue(std::vector<std::string> args, Reply done);
  void read();
  void flush();
  void lost(const std::string& why);
  void check_overdue();

  struct Pending {
    Reply done;
    std::chrono::steady_clock::time_point sent;
  };

  boost::asio::io_context& io_;
  RedisConfig config_;
  OnState on_state_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer retry_, watchdog_;
  std::chrono::milliseconds backoff_;
  proto::RespParser parser_;
  std::deque<Pending> pending_;
  std::string out_, writing_;
  std::vector<uint8_t> in_;
  // linked_: the TCP connection is open; up_: and Redis has taken our password (if any).
  bool linked_ = false, up_ = false, dialling_ = false, stopped_ = false, said_down_ = false;
  RedisCounters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wzp::transport
