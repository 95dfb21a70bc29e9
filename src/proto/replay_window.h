// Anti-replay: a sliding window over extended packet counters. Check before decrypting,
// commit only after the packet authenticated, so forgeries cannot move the window. Used by
// the media AEAD (per sender) and by bare datagrams (per connection, transport/bare_datagram.h).
#pragma once

#include <array>
#include <cstdint>

#include "proto/seq.h"

namespace wzp::proto {

class ReplayWindow {
 public:
  static constexpr uint64_t kSize = 2048;  // packets of reordering tolerated

  enum class Verdict { kFresh, kDuplicate, kTooOld };

  Verdict check(uint64_t counter) const;
  void commit(uint64_t counter);
  uint64_t highest() const { return highest_; }

 private:
  bool test(uint64_t c) const { return bits_[(c % kSize) / 64] >> (c % 64) & 1; }
  void set(uint64_t c) { bits_[(c % kSize) / 64] |= uint64_t{1} << (c % 64); }
  void clear(uint64_t c) { bits_[(c % kSize) / 64] &= ~(uint64_t{1} << (c % 64)); }

  bool started_ = false;
  uint64_t highest_ = 0;
  std::array<uint64_t, kSize / 64> bits_{};
};

// One sender's receive state: extends 16-bit wire sequences to counters and keeps the replay
// window over them. admit() before decrypting, commit() after the packet authenticated.
class ReceiveCounter {
 public:
  // kFresh with the extended counter, or why the packet must be dropped.
  ReplayWindow::Verdict admit(uint16_t wire_seq, uint64_t* counter) const {
    *counter = seq_.extend(wire_seq);
    return replay_.check(*counter);
  }
  void commit(uint64_t counter) {
    seq_.update(counter);
    replay_.commit(counter);
  }

 private:
  SeqExtender seq_;
  ReplayWindow replay_;
};

}  // namespace wzp::proto
