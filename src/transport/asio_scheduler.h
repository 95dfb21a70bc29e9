// proto::Scheduler on an io_context's steady clock, for code that is tested on SimScheduler.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <chrono>
#include <map>
#include <memory>

#include "proto/scheduler.h"

namespace wzp::transport {

class AsioScheduler final : public proto::Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& io)
      : io_(io), start_(std::chrono::steady_clock::now()) {}
  ~AsioScheduler() override {
    *alive_ = false;
    for (auto& [id, t] : timers_) t->cancel();
  }
  uint64_t now_ms() const override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - start_)
                                     .count());
  }
  uint64_t call_after(uint64_t delay_ms, std::function<void()> fn) override {
    const uint64_t id = ++next_;
    auto t = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(delay_ms));
    timers_[id] = t;
    t->async_wait(
        [this, id, t, alive = alive_, fn = std::move(fn)](const boost::system::error_code& ec) {
          // A handler already queued when it was cancelled (or the scheduler went) runs with no
          // error: the map says whether it still stands.
          if (ec || !*alive) return;
          auto it = timers_.find(id);
          if (it == timers_.end()) return;
          timers_.erase(it);
          fn();
        });
    return id;
  }
  void cancel(uint64_t id) override {
    if (auto it = timers_.find(id); it != timers_.end()) {
      it->second->cancel();
      timers_.erase(it);
    }
  }

 private:
  boost::asio::io_context& io_;
  std::chrono::steady_clock::time_point start_;
  std::map<uint64_t, std::shared_ptr<boost::asio::steady_timer>> timers_;
  uint64_t next_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wzp::transport
