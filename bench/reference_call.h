// The WebRTC-style reference for the hostile-network benchmark: libopus at 24 kbit/s in 20 ms
// frames, protected as a browser would, over the same seeded impairment as our call, played
// through an ideal playout buffer (each frame at a fixed delay: the path's 95th percentile plus
// what the protection needs, and not a millisecond of adaptation lost).
//   LBRR:   Opus in-band FEC at the path's nominal loss; a lost frame is rebuilt from the next
//           packet's low-bitrate copy (one frame of delay).
//   RED x2: RFC 2198 redundancy, each packet carries the two previous frames as well (two
//           frames of delay).
// Both measured by the same listener (codec::listen) as our own calls.
#pragma once

#include <cstdint>
#include <string>

#include "client/hostile_profiles.h"
#include "codec/listening.h"

namespace wzp::bench {

enum class Reference { kLbrr, kRed2 };
std::string reference_name(Reference r);

struct ReferenceResult {
  codec::ListeningResult heard;
  double wire_kbps = 0;  // RTP + SRTP + RED headers and payload
};

// both_legs: the packets cross two paths of the profile in turn (the talker's way to the relay
// and the relay's way to the listener, seeds as wzp-bench network gives its two wzp-netem),
// as our own calls do with `--legs both`.
ReferenceResult run_reference(Reference kind, const client::HostileProfile& profile,
                              const codec::ProbeSignal& probe, bool both_legs = false);

}  // namespace wzp::bench
