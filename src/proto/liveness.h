// The one liveness rule for a connection to a relay, a call's (RoomCall) and the signalling
// session's (QuicSignalConnector) alike. A relay that was killed sends no close and a path that
// went down says nothing either, while QUIC's idle timeout is 30 s: so once answered we Ping
// every 500 ms, and judge the connection by how long the relay has said nothing.
//
// - A dial not answered within 3 s has failed.
// - Nothing heard for 2 s: the connection is in doubt. A call, which has media state worth
//   keeping, checks the path with a probe (a relay that answers a probe but not us has lost our
//   session: redial; a path that answers nothing is waited out).
// - Nothing heard for 3 s: the connection is lost to whoever has nothing to keep (signalling
//   redials at once).
//
// Pure logic: time is passed in (ms on any monotonic clock), so the rule is tested on the
// simulated clock and its users read time from their proto::Scheduler.
#pragma once

#include <cstdint>

namespace wzp::proto {

struct LivenessRule {
  uint64_t ping_every_ms = 500;
  uint64_t answer_within_ms = 3000;
  uint64_t doubt_after_ms = 2000;
  uint64_t silent_after_ms = 3000;
};

class Liveness {
 public:
  enum class State : uint8_t {
    kDialling,  // waiting for the relay's answer, still in time
    kNoAnswer,  // the dial was not answered in time
    kAlive,     // heard from recently
    kInDoubt,   // silent for doubt_after_ms
    kSilent,    // silent for silent_after_ms
  };

  explicit Liveness(LivenessRule rule = {}) : rule_(rule) {}

  // A new dial at `now`: nothing heard on it yet.
  void dialled(uint64_t now) {
    dialled_ = heard_ = last_ping_ = now;
    answered_ = false;
  }
  // The relay answered the dial (the handshake completed, or the room took us in).
  void answered(uint64_t now) {
    if (!answered_) answered_at_ = now;
    answered_ = true;
    heard(now);
  }
  // Anything at all arrived from the relay.
  void heard(uint64_t now) {
    if (now > heard_) heard_ = now;
  }

  State state(uint64_t now) const {
    if (!answered_) {
      return now - dialled_ > rule_.answer_within_ms ? State::kNoAnswer : State::kDialling;
    }
    const uint64_t quiet = now > heard_ ? now - heard_ : 0;
    if (quiet > rule_.silent_after_ms) return State::kSilent;
    if (quiet > rule_.doubt_after_ms) return State::kInDoubt;
    return State::kAlive;
  }
  // True when a Ping should go now (answered, and ping_every_ms since the last one): the caller
  // sends it.
  bool ping_due(uint64_t now) {
    if (!answered_ || now - last_ping_ < rule_.ping_every_ms) return false;
    last_ping_ = now;
    return true;
  }
  // Answered at least `ms` ago: the connection has held (a reconnect schedule starts over).
  bool held_for(uint64_t now, uint64_t ms) const { return answered_ && now - answered_at_ >= ms; }
  uint64_t since_dialled(uint64_t now) const { return now > dialled_ ? now - dialled_ : 0; }
  const LivenessRule& rule() const { return rule_; }

 private:
  LivenessRule rule_;
  uint64_t dialled_ = 0, heard_ = 0, last_ping_ = 0, answered_at_ = 0;
  bool answered_ = false;
};

}  // namespace wzp::proto
