// The hostile paths every call must survive (issue: "calls that beat WebRTC on hostile
// networks"), and a listener's verdict on a call over each: the share of the probe signal that
// arrived as itself and the mouth-to-ear delay, from the recording alone. The same profiles
// drive the deterministic tests (a SimCall over the impairment model) and the real-process
// benchmark (wzp-netem with the same settings and seed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codec/listening.h"
#include "proto/jitter_buffer.h"
#include "transport/impairment.h"

namespace wzp::client {

struct HostileProfile {
  std::string name;  // as the benchmark's cases are named: "clean", "20 % random", ...
  transport::ImpairmentConfig path;
  double nominal_loss_percent = 0;  // for charts and the reference's expected loss
};

// clean; 5 % and 20 % random; 40 % Gilbert-Elliott burst 3; 60 % and 80 % random; a 3 s
// outage at 8 s; 200 +- 80 ms jitter; a 24 kbit/s cap with 10 % loss; loss changing every 10 s.
const std::vector<HostileProfile>& hostile_profiles();
const HostileProfile* hostile_profile(const std::string& name);

struct SimListening {
  codec::ListeningResult heard;
  double wire_kbps = 0;              // our datagrams, sender side
  double path_loss_percent = 0;      // what the path did to packets
  double measured_loss_percent = 0;  // what the receiver measured before FEC
  double residual_loss_percent = 0;  // frames concealed after FEC, of frames played
  std::vector<int> tier_by_second;
  proto::JitterStats jitter;
};

// A call of `seconds` over the profile in simulation: adaptive sender, probe signal (seed 11)
// or the signal given (codec::make_speech_signal), the receiver's recording judged by
// codec::listen. Deterministic.
SimListening simulate_listening(const HostileProfile& profile, uint32_t seconds);
SimListening simulate_listening(const HostileProfile& profile, uint32_t seconds,
                                const codec::ProbeSignal& signal);

}  // namespace wzp::client
