// Everything the relay counts, summed over its life (live connections' transport counters are
// added when scraped: Relay::metrics_text).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>

#include "proto/prometheus.h"

namespace wzp::relay {

struct RelayStats {
  uint64_t datagrams_in = 0, datagrams_out = 0, bytes_in = 0, bytes_out = 0;
  uint64_t dropped_not_joined = 0, dropped_not_media = 0, dropped_send = 0, dropped_rate = 0,
           cut_off = 0;
  uint64_t dropped_oversized = 0;    // too long for a trunk entry (over 2041 bytes)
  uint64_t signal_rate_dropped = 0;  // signalling messages over kSignalRate, not handled
  uint64_t signal_errors = 0, handshakes_ok = 0, handshakes_failed = 0, forged_sender_keys = 0;
  uint64_t invites_refused = 0;  // offers for an invite-only room without its key
  uint64_t presence = 0, calls_offered = 0, calls_connected = 0;
  uint64_t calls_abroad_taken = 0, calls_abroad_refused = 0;  // call messages from other relays
  uint64_t auth_valid = 0, auth_refused = 0, auth_unavailable = 0, idle_expired = 0;
  uint64_t trunk_frames = 0, trunk_entries = 0, probes_reflected = 0;
  uint64_t stale_dropped = 0;  // on connections now closed (live ones are summed when scraped)
  uint64_t shed = 0;           // the same: shed in front of a queue (DatagramPacer)
  uint64_t probe_trains = 0;   // the same: probe trains sent
  uint64_t bare_sent = 0, bare_received = 0, bare_rejected = 0;  // the same: bare datagrams
  uint64_t narrow_paths = 0;  // narrow ways to a member found (a probe train or a standing queue)
  // Quality reports and directives in datagrams (proto::signal_datagram): reports taken, copies
  // of one already had (or older than it), datagrams refused (not a QualityUpdate or a member's
  // SenderKey, or not parsable), directive copies sent.
  uint64_t signal_datagrams_in = 0, signal_datagrams_stale = 0, dropped_bad_signal = 0;
  uint64_t signal_datagrams_out = 0;
  // SenderKeys in datagrams: members' copies taken, copies of a key already passed on (dropped),
  // copies the relay sent.
  uint64_t key_datagrams_in = 0, key_datagrams_stale = 0, key_datagrams_out = 0;
  // Time from a datagram's arrival to its last copy handed to the transport, microseconds.
  proto::LatencyHistogram<7> latency{{5, 10, 25, 50, 100, 250, 1000}, 1e-6};
};

// The media families (datagrams in and out, drops by reason, cut-offs, forwarding latency) of
// `st`: the room logic's, and a worker's that forwards media itself (workers.h); a scrape sums
// them.
void media_metrics(std::string& out, const RelayStats& st);

}  // namespace wzp::relay
