// Time as a dependency: code that waits asks a Scheduler, so that tests drive it with a
// simulated clock (SimScheduler) and apps with a real one (an Asio timer).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

namespace wzp::proto {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual uint64_t now_ms() const = 0;
  // Runs fn after delay_ms; returns an id for cancel(). fn runs on the scheduler's thread.
  virtual uint64_t call_after(uint64_t delay_ms, std::function<void()> fn) = 0;
  virtual void cancel(uint64_t id) = 0;
};

// A simulated clock: nothing happens until advance() moves time, then due callbacks run in
// time order (and in scheduling order for equal times).
class SimScheduler final : public Scheduler {
 public:
  uint64_t now_ms() const override { return now_; }
  uint64_t call_after(uint64_t delay_ms, std::function<void()> fn) override {
    const uint64_t id = ++next_id_;
    queue_.emplace(std::make_pair(now_ + delay_ms, id), std::move(fn));
    return id;
  }
  void cancel(uint64_t id) override {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->first.second == id) {
        queue_.erase(it);
        return;
      }
    }
  }
  // Moves time forward by ms, running everything that falls due on the way.
  void advance(uint64_t ms) {
    const uint64_t until = now_ + ms;
    while (!queue_.empty() && queue_.begin()->first.first <= until) {
      auto node = queue_.extract(queue_.begin());
      now_ = node.key().first;
      node.mapped()();
    }
    now_ = until;
  }
  size_t pending() const { return queue_.size(); }

 private:
  uint64_t now_ = 0;
  uint64_t next_id_ = 0;
  std::map<std::pair<uint64_t, uint64_t>, std::function<void()>> queue_;
};

}  // namespace wzp::proto
