// 16-bit sequence arithmetic with wrap-around (RFC 1982 serial numbers), and extension of
// wire sequences to 32/64-bit counters by tracking rollovers.
#pragma once

#include <cstdint>

namespace wzp::proto {

// Signed distance from a to b, in (-32768, 32767]: positive when b is after a.
inline int32_t seq_diff(uint16_t a, uint16_t b) {
  return static_cast<int16_t>(static_cast<uint16_t>(b - a));
}
inline bool seq_before(uint16_t a, uint16_t b) { return seq_diff(a, b) > 0; }

// Extends 16-bit wire sequences to a 64-bit counter: each value is placed at the extension
// nearest to the highest one seen, as SRTP does with its rollover counter.
class SeqExtender {
 public:
  uint64_t extend(uint16_t seq) const {
    if (!started_) return seq;
    const int64_t candidate = static_cast<int64_t>(highest_) + seq_diff(low16(), seq);
    return candidate < 0 ? seq : static_cast<uint64_t>(candidate);
  }
  // Records an extended value (after the packet was authenticated).
  void update(uint64_t extended) {
    if (!started_ || extended > highest_) highest_ = extended;
    started_ = true;
  }
  uint64_t highest() const { return highest_; }

 private:
  uint16_t low16() const { return static_cast<uint16_t>(highest_); }
  bool started_ = false;
  uint64_t highest_ = 0;
};

}  // namespace wzp::proto
