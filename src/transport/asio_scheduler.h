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
    t->async_wait([this, id, t, fn = std::move(fn)](const boost::system::error_code& ec) {
      if (ec) return;
      timers_.erase(id);
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
};

}  // namespace wzp::transport
