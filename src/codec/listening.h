// What a listener hears, measured from the recording alone: the mouth-to-ear delay and the
// share of the sent signal that arrived as itself.
//
// The probe signal is a sequence of 40 ms tone segments whose frequencies are drawn (seeded)
// from a fixed set so that any 11 consecutive segments are all different. A received stretch
// "is" segment i when i's frequency dominates it. Within +-200 ms of where segment i is expected,
// only segment i itself carries that frequency: concealment (which continues the previous
// segment), stale or repeated audio and silence never count, and neither do wrong alignments.
// The expected place follows the playout as it moves (a jitter buffer stretching or shrinking
// its delay shifts everything after it), so delay changes during the call are measured too.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace wzp::codec {

inline constexpr uint32_t kProbeSegmentMs = 40;

struct ProbeSignal {
  std::vector<int16_t> pcm;           // 48 kHz mono
  std::vector<uint8_t> segment_freq;  // index into probe_frequencies(), one per segment
};

// The tone frequencies the probe uses (Hz), all inside every codec's passband.
std::span<const double> probe_frequencies();
ProbeSignal make_probe_signal(double seconds, uint64_t seed, double amplitude = 8000);

struct ListeningResult {
  size_t segments = 0;  // segments of the sent signal considered
  size_t intact = 0;    // arrived as themselves
  double fidelity_percent = 0;
  // Delay from the segment's capture to its playout: the alignment of the recording plus
  // `offset_ms` (the recording's start time minus the signal's start time, and whatever the
  // caller's clock conventions add). Median and 95th percentile over intact segments.
  double mouth_to_ear_ms = 0;
  double mouth_to_ear_p95_ms = 0;
  // Per sent segment: the measured delay, or a negative value where the segment is missing.
  std::vector<double> delay_ms;
};

// received: the recording; offset_ms as above. Segments are considered from `skip_ms` into
// the signal (start-up) to its end.
ListeningResult listen(const ProbeSignal& sent, std::span<const int16_t> received,
                       double offset_ms, double skip_ms = 0);

// Per second of the sent signal: the share of its segments that arrived, and their median delay.
struct ListeningSecond {
  double fidelity_percent = 0;
  double mouth_to_ear_ms = -1;  // negative: nothing arrived in that second
};
std::vector<ListeningSecond> per_second(const ListeningResult& r);

}  // namespace wzp::codec
