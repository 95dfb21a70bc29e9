// proto::Scheduler on an io_context's steady clock, for code that is tested on SimScheduler.
// Timers live in slots that are reused once their callback has run or was cancelled, so a
// caller that schedules all the time (a call's 5 ms steps) allocates nothing once warm.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "proto/scheduler.h"

namespace wzp::transport {

class AsioScheduler final : public proto::Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& io)
      : io_(io), start_(std::chrono::steady_clock::now()) {}
  ~AsioScheduler() override {
    *alive_ = false;
    for (auto& s : slots_) s.timer->cancel();
  }
  uint64_t now_ms() const override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - start_)
                                     .count());
  }
  // The id is the slot's generation (from 1, so never 0) and its index.
  uint64_t call_after(uint64_t delay_ms, std::function<void()> fn) override {
    uint32_t index;
    if (free_.empty()) {
      index = static_cast<uint32_t>(slots_.size());
      slots_.push_back({std::make_unique<boost::asio::steady_timer>(io_), {}, 0, false});
    } else {
      index = free_.back();
      free_.pop_back();
    }
    Slot& s = slots_[index];
    const uint32_t gen = ++s.gen;
    s.armed = true;
    s.fn = std::move(fn);
    s.timer->expires_after(std::chrono::milliseconds(delay_ms));
    s.timer->async_wait([this, index, gen, alive = alive_](const boost::system::error_code& ec) {
      // A handler already queued when its timer was cancelled (or re-armed, or the scheduler
      // went) runs with no error: the slot's generation says whether it still stands.
      if (ec || !*alive) return;
      Slot& slot = slots_[index];
      if (!slot.armed || slot.gen != gen) return;
      auto f = std::move(slot.fn);
      release(index);
      f();  // may schedule again, into this very slot
    });
    return (static_cast<uint64_t>(gen) << 32) | index;
  }
  void cancel(uint64_t id) override {
    const auto index = static_cast<uint32_t>(id & 0xffffffffu);
    if (index >= slots_.size()) return;
    Slot& s = slots_[index];
    if (!s.armed || s.gen != static_cast<uint32_t>(id >> 32)) return;
    s.timer->cancel();
    release(index);
  }

 private:
  struct Slot {
    std::unique_ptr<boost::asio::steady_timer> timer;
    std::function<void()> fn;
    uint32_t gen = 0;
    bool armed = false;
  };
  void release(uint32_t index) {
    slots_[index].armed = false;
    slots_[index].fn = nullptr;
    free_.push_back(index);
  }

  boost::asio::io_context& io_;
  std::chrono::steady_clock::time_point start_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  // Checked by handlers that may run after we are gone (a cancelled wait still calls back).
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wzp::transport
