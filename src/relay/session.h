// One connection to the relay as its logic sees it: who it is, where it is joined, what it has
// reported, and the bounded state each part of the relay keeps for it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/quality_report.h"
#include "proto/seq.h"
#include "proto/signal_framing.h"
#include "proto/signal_message.h"
#include "proto/trunk_frame.h"
#include "relay/peer.h"
#include "relay/rate_limit.h"

namespace wzp::relay {

struct Session {
  Peer* peer = nullptr;
  uint16_t id = 0;
  uint64_t serial = 0;  // unique for the relay's lifetime (ids and pointers are reused)
  std::string room;     // the SNI: the hashed room name
  bool joined = false;
  bool closed = false;
  bool peer_relay = false;          // opened with FederationHello
  std::string presence;             // fingerprint registered for direct calls, if any
  proto::Bytes presence_challenge;  // this connection's nonce a registration must sign
  TokenBucket bucket;               // per-source packet rate
  TokenBucket signal_bucket;        // its signalling messages (kSignalRate)
  // The auth gate (auth_gate.h): what arrived while the token was checked, at most kMaxHeld.
  enum class Auth { kNone, kPending, kValid } auth = Auth::kNone;
  std::vector<proto::SignalMessage> held;
  uint64_t last_active_ms = 0;
  // Media waiting for the next trunk flush (trunk_batcher.h).
  struct Batch {
    std::optional<proto::TrunkBuilder> frame;
    size_t mtu = 0;
    bool pending = false;
  } batch;
  std::optional<proto::QualityUpdate> quality;  // its latest report
  proto::NewestSeq report_seq;  // that report's seq: a copy or an older one is not taken
  // The relay's measurement of the path to it (see Rooms::on_narrow_path), in force for kLegMs.
  static constexpr uint64_t kLegMs = 30000;
  struct Leg {
    double capacity_kbps = 0, queue_ms = 0;
    uint64_t at_ms = 0;
  } leg;
  proto::Participant info;
  proto::SignalFrameReader reader;
  // The sender keys lately passed to it in datagram copies, as (sender session, key id): each
  // key's copies go once, however many of the sender's own copies arrive (Rooms).
  static constexpr size_t kKeysCopied = 8;
  std::array<std::pair<uint32_t, uint32_t>, kKeysCopied> keys_copied{};
  size_t keys_copied_next = 0;
  // True the first time (sender session, key id) is seen here; remembered, the oldest forgotten.
  bool first_copy_of(uint32_t session, uint32_t key_id) {
    const auto k = std::make_pair(session, key_id + 1);  // +1: the zero entry is empty
    for (const auto& e : keys_copied) {
      if (e == k) return false;
    }
    keys_copied[keys_copied_next++ % kKeysCopied] = k;
    return true;
  }

  void send(const proto::SignalMessage& msg) { peer->send_signal(msg); }
};

}  // namespace wzp::relay
