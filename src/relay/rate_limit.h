// A per-source token bucket: `rate` packets/s sustained, `burst` at once. A source that keeps
// exceeding it (`cut_off_after` packets over the rate) is to be cut off by the caller.
#pragma once

#include <algorithm>
#include <cstdint>

namespace wzp::relay {

struct RateLimit {
  double rate = 400;  // datagrams/s per session (media is 25-100)
  double burst = 800;
  uint64_t cut_off_after = 2000;
};

// Signalling messages per session: an honest member sends a report and two Pings a second (up
// to five reports while a queue fills its path) and a SenderKey per member on joins and
// rotations; each message can cost an Ed25519 verification (RegisterPresence) or a message to
// every member of its room.
inline constexpr RateLimit kSignalRate{.rate = 50, .burst = 200, .cut_off_after = 500};

class TokenBucket {
 public:
  enum class Verdict { kPass, kDrop, kCutOff };

  // now_ms: a monotonic clock in milliseconds (the relay's scheduler).
  Verdict take(const RateLimit& limit, uint64_t now_ms) {
    if (!started_) {
      tokens_ = limit.burst;
      started_ = true;
    } else if (now_ms > refilled_ms_) {
      tokens_ = std::min(limit.burst,
                         tokens_ + limit.rate * static_cast<double>(now_ms - refilled_ms_) / 1000);
    }
    refilled_ms_ = std::max(refilled_ms_, now_ms);
    if (tokens_ >= 1) {
      tokens_ -= 1;
      return Verdict::kPass;
    }
    return ++over_ >= limit.cut_off_after ? Verdict::kCutOff : Verdict::kDrop;
  }
  uint64_t over_rate() const { return over_; }

 private:
  double tokens_ = 0;
  bool started_ = false;
  uint64_t refilled_ms_ = 0;
  uint64_t over_ = 0;
};

// The bucket's verdict applied: true when the datagram may pass; a refusal is counted in
// `dropped`, and a source over its allowance is counted in `cut_off` and handed to `cut`.
template <class CutOff>
bool admit(TokenBucket& bucket, const RateLimit& limit, uint64_t now_ms, uint64_t& dropped,
           uint64_t& cut_off, CutOff&& cut) {
  const auto v = bucket.take(limit, now_ms);
  if (v == TokenBucket::Verdict::kPass) return true;
  ++dropped;
  if (v == TokenBucket::Verdict::kCutOff) {
    ++cut_off;
    cut();
  }
  return false;
}

}  // namespace wzp::relay
