// Runs an io_context until `done` holds or a deadline passes (the bound keeps a broken test
// from hanging); returns whether it holds. For tests whose events come from real sockets.
#pragma once

#include <utility>  // before Asio (Boost 1.74 with g++ 12)

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>

namespace wzp::testing {

inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done, int ms = 5000,
                      int step_ms = 10) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(step_ms));
  }
  return done();
}

}  // namespace wzp::testing
