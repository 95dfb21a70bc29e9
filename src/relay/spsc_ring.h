// A bounded queue from one thread to one other, without a lock: the producer fills a slot and
// publishes it, the consumer uses it and hands it back. Slots are reused, so a message type
// holding a vector keeps its capacity and the steady state allocates nothing.
#pragma once

#include <atomic>
#include <cstddef>
#include <new>
#include <stdexcept>
#include <vector>

namespace wzp::relay {

template <class T>
class SpscRing {
 public:
  // `capacity`: a power of two.
  explicit SpscRing(size_t capacity) : slots_(capacity), mask_(capacity - 1) {
    if (capacity == 0 || (capacity & mask_) != 0) {
      throw std::invalid_argument("SpscRing: capacity must be a power of two");
    }
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer: fill(T&) writes the next slot, which is then published. False, and fill is not
  // called, when the ring is full.
  template <class Fill>
  bool push(Fill&& fill) {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) == slots_.size()) return false;
    fill(slots_[head & mask_]);
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer: use(T&) on each published slot, oldest first, at most `limit`; returns how many.
  template <class Use>
  size_t drain(Use&& use, size_t limit = static_cast<size_t>(-1)) {
    const size_t head = head_.load(std::memory_order_acquire);
    size_t tail = tail_.load(std::memory_order_relaxed);
    size_t n = 0;
    for (; tail != head && n < limit; ++tail, ++n) {
      use(slots_[tail & mask_]);
      tail_.store(tail + 1, std::memory_order_release);  // the slot goes back at once
    }
    return n;
  }

  // Producer: no slot is free now (the consumer may free one at any time).
  bool full() const {
    return head_.load(std::memory_order_relaxed) - tail_.load(std::memory_order_acquire) ==
           slots_.size();
  }

  size_t capacity() const { return slots_.size(); }

 private:
  std::vector<T> slots_;
  const size_t mask_;
  // Apart, so that the two threads do not write one cache line.
  alignas(64) std::atomic<size_t> head_{0};  // written by the producer
  alignas(64) std::atomic<size_t> tail_{0};  // written by the consumer
};

}  // namespace wzp::relay
