// A real redis-server for tests (Debian's), on a port of its own, with nothing saved to disk.
// stop() and start() again on the same port play an outage.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "integration/process.h"

namespace wzp::testing {

class RedisServer {
 public:
  // `extra`: more redis-server arguments (say {"--requirepass", "secret"}).
  explicit RedisServer(std::vector<std::string> extra = {})
      : port_(free_tcp_port()), extra_(std::move(extra)) {
    start();
  }
  // Starts it (again) and waits until it says it is ready; false if it did not in 10 s.
  bool start() {
    std::vector<std::string> argv = {"/usr/bin/redis-server",
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--protected-mode",
                                     "no"};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    process_ = std::make_unique<Process>(argv);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      const auto line = process_->read_line(std::chrono::milliseconds(500));
      if (line && line->find("Ready to accept connections") != std::string::npos) return true;
      if (process_->poll_exit()) return false;
    }
    return false;
  }
  void stop() {
    process_->signal(SIGKILL);
    process_->wait(std::chrono::seconds(5));
  }
  // SIGSTOP / SIGCONT: a server that holds its connections and answers nothing.
  void freeze() { process_->signal(SIGSTOP); }
  void thaw() { process_->signal(SIGCONT); }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  uint16_t port_;
  std::vector<std::string> extra_;
  std::unique_ptr<Process> process_;
};

}  // namespace wzp::testing
