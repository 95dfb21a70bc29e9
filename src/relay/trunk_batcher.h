// Media toward one receiver, as the relay sends it: each datagram of a member goes out as a
// trunk frame naming the member's session. Toward relays (and clients, with trunk_clients)
// frames are batched: entries wait up to the flush interval or until the frame is full, sized to
// the receiver's path MTU, so that a relay link carries one datagram for many members' frames.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "proto/scheduler.h"
#include "proto/trunk_frame.h"
#include "relay/session.h"
#include "relay/stats.h"

namespace wzp::relay {

class TrunkBatcher {
 public:
  // The longest datagram forwarded: one entry of a trunk frame of at most kMaxFrameBytes.
  static constexpr size_t kMaxFrameBytes = 2048;
  static constexpr size_t kMaxDatagram =
      kMaxFrameBytes - proto::kTrunkHeaderBytes - proto::kTrunkEntryOverhead;

  // A datagram sent on its own: a trunk frame of one entry.
  static constexpr proto::TrunkLimits kSingle{.max_entries = 1, .max_bytes = kMaxFrameBytes};
  // `datagram` of session `from` as such a frame, built in `single` (made with kSingle);
  // nothing when it is longer than kMaxDatagram.
  static std::optional<std::span<const uint8_t>> single_frame(proto::TrunkBuilder& single,
                                                              uint16_t from,
                                                              std::span<const uint8_t> datagram);

  // Each batch waits at most flush_ms (at least 1) before it goes.
  TrunkBatcher(proto::Scheduler& scheduler, RelayStats& stats, uint64_t flush_ms);
  ~TrunkBatcher();
  TrunkBatcher(const TrunkBatcher&) = delete;
  TrunkBatcher& operator=(const TrunkBatcher&) = delete;

  // One copy of `from`'s datagram to `to`: at once in a frame of its own, or into to's batch.
  void deliver(Session& to, uint16_t from, std::span<const uint8_t> datagram, bool batch);
  // Sends every waiting batch now.
  void flush_all();
  // `s` is going: its batch is dropped and never touched again.
  void forget(Session& s);
  // No timer runs after this (shutdown).
  void stop();

 private:
  void flush(Session& s);

  proto::Scheduler& scheduler_;
  RelayStats& stats_;
  uint64_t flush_ms_;
  uint64_t timer_ = 0;                   // the flush's timer id, 0 when none is armed
  std::vector<Session*> pending_;        // sessions with a batch waiting
  proto::TrunkBuilder single_{kSingle};  // unbatched
};

}  // namespace wzp::relay
