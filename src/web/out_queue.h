// The bridge's per-page queues, which allocate nothing once warm.
//
// What waits to be written to one page's WebSocket: at most kMaxWaiting messages, the oldest
// dropped first when the page stops reading, never the one being written (async_write sends
// from its buffer). Buffers are recycled: once warm, a 20 ms frame per page costs no
// allocation.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace wzp::web {

// A fixed ring of the newest N items: pushing onto a full ring overwrites the oldest. Nothing is
// allocated after construction.
template <class T, size_t N>
class NewestRing {
 public:
  T& push_back() {
    if (count_ == N) pop_front();
    ++count_;
    return items_[(head_ + count_ - 1) % N];
  }
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  const T& front() const { return items_[head_]; }
  void pop_front() {
    head_ = (head_ + 1) % N;
    --count_;
  }

 private:
  std::array<T, N> items_{};
  size_t head_ = 0, count_ = 0;
};

class OutQueue {
 public:
  static constexpr size_t kMaxWaiting = 50;

  struct Message {
    std::vector<uint8_t> bytes;
    bool binary = false;
  };

  // Queues a copy of `bytes`; true when it is the only message (the caller starts writing).
  bool push(std::span<const uint8_t> bytes, bool binary) {
    if (count_ > kMaxWaiting) drop_second();
    Message& m = ring_[(head_ + count_) % ring_.size()];
    m.bytes.assign(bytes.begin(), bytes.end());  // within the slot's capacity once warm
    m.binary = binary;
    ++count_;
    return count_ == 1;
  }
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  // The message being written (valid until pop()).
  const Message& front() const { return ring_[head_]; }
  // The front was written.
  void pop() {
    head_ = (head_ + 1) % ring_.size();
    --count_;
  }
  uint64_t dropped() const { return dropped_; }

 private:
  // The oldest message not being written goes: the rest move up one, each keeping its buffer.
  void drop_second() {
    for (size_t i = 1; i + 1 < count_; ++i) {
      std::swap(ring_[(head_ + i) % ring_.size()], ring_[(head_ + i + 1) % ring_.size()]);
    }
    --count_;
    ++dropped_;
  }

  std::array<Message, kMaxWaiting + 2> ring_;
  size_t head_ = 0, count_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace wzp::web
