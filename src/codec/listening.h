// What a listener hears, measured from the recording alone: the mouth-to-ear delay and the
// share of the sent signal that arrived as itself.
//
// The probe signal is a sequence of 40 ms tone segments whose frequencies are drawn (seeded)
// from a fixed set so that any 11 consecutive segments are all different. A received stretch
// "is" segment i when i's frequency dominates it. Within +-200 ms of where segment i is expected,
// only segment i itself carries that frequency: concealment (which continues the previous
// segment), stale or repeated audio and silence never count, and neither do wrong alignments.
// The playout is followed as it moves (a jitter buffer stretching or shrinking its delay shifts
// everything after it): the path of delays through the recording that explains the most
// segments, where changing the delay costs what a few segments gain, so that a jitter buffer
// stepping its delay down frame by frame is followed and chance matches (a wrong place holds
// a given segment about 1 time in 16) never fill in lost audio.
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
// A recording of speech (48 kHz mono), repeated to fill `seconds`: a signal without tone
// segments, which listen() judges as speech (listen_speech).
ProbeSignal make_speech_signal(std::vector<int16_t> pcm, double seconds);

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
  // Per sent segment, whether it was judged (speech: pauses are not); empty: all were.
  std::vector<uint8_t> counted;
  size_t first = 0;  // segments before this one (the start-up skipped) are not judged
};

// received: the recording; offset_ms as above. Segments are considered from `skip_ms` into
// the signal (start-up) to its end.
ListeningResult listen(const ProbeSignal& sent, std::span<const int16_t> received, double offset_ms,
                       double skip_ms = 0);

// Speech (espeak-ng in the benchmarks): a 40 ms segment of the sent speech arrived as itself
// when both its 20 ms halves land about as loud (8 dB) and with the same spectral shape (12
// log-spaced bands from 200 Hz to 3.4 kHz, which every tier carries: RMS difference at most
// 7 dB above a floor 25 dB under the strongest band), each nearer to itself than to the 20 ms
// before it (what concealment would have continued). Judged are the segments of speech (within
// 25 dB of the talker's loud level) that move on (a half differs from the 20 ms before it by
// 6 dB): in a held vowel concealment cannot be told from delivery, so it counts neither way.
// Speech repeats itself, so the delay is not followed from match to match: a segment counts
// where it matches within 30 ms of the delay its neighbours (a second either side) agree on.
// Calibrated in tests/codec/listening_test.cpp: a clean decode counts 93-95 % at Opus 24k and
// 16k, 82-92 % at the lower Opus rungs, ~66 % at Codec2 1200 (the measure's ceiling per tier);
// of segments concealment filled three quarters of, few count; never more lenient than the probe.
ListeningResult listen_speech(std::span<const int16_t> sent, std::span<const int16_t> received,
                              double offset_ms, double skip_ms = 0);

// Per second of the sent signal: the share of its segments that arrived, and their median delay.
struct ListeningSecond {
  double fidelity_percent = 0;  // NaN for a second wholly before the start-up skipped
  double mouth_to_ear_ms = -1;  // negative: nothing arrived in that second
};
std::vector<ListeningSecond> per_second(const ListeningResult& r);

}  // namespace wzp::codec
