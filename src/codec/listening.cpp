#include "codec/listening.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <random>

namespace wzp::codec {
namespace {

constexpr uint32_t kRate = 48000;
constexpr size_t kSegment = kProbeSegmentMs * kRate / 1000;  // 1920 samples
constexpr size_t kHop = kRate / 200;                          // 5 ms
constexpr size_t kDistinct = 11;     // any this many consecutive segments differ
constexpr double kSearchMs = 200;    // how far from the tracked delay a segment may sit
constexpr double kAcquireMaxMs = 4000;
constexpr size_t kAcquireSegments = 50;
constexpr size_t kAcquireMin = 10;   // wrong alignments match ~1 in 16 by chance
constexpr size_t kLostBeforeReacquire = 25;
constexpr double kMinPurity = 0.15;  // low-rate codecs smear a tone, noise and concealment fall far below
constexpr double kMinRms = 60;       // about -40 dB of the probe's level: silence is no segment

constexpr std::array<double, 16> kFreqs = {300,  500,  700,  900,  1100, 1300, 1500, 1700,
                                           1900, 2100, 2300, 2500, 2700, 2900, 3100, 3300};

// Which probe frequency dominates each 40 ms window, at 5 ms hops; -1 where none does.
std::vector<int8_t> label_track(std::span<const int16_t> pcm) {
  std::vector<int8_t> labels;
  if (pcm.size() < kSegment) return labels;
  const size_t windows = (pcm.size() - kSegment) / kHop + 1;
  labels.assign(windows, -1);
  std::array<double, kFreqs.size()> coeff{};
  for (size_t f = 0; f < kFreqs.size(); ++f) {
    coeff[f] = 2 * std::cos(2 * std::numbers::pi * kFreqs[f] / kRate);
  }
  for (size_t w = 0; w < windows; ++w) {
    const int16_t* x = pcm.data() + w * kHop;
    double energy = 0;
    for (size_t n = 0; n < kSegment; ++n) energy += static_cast<double>(x[n]) * x[n];
    if (std::sqrt(energy / kSegment) < kMinRms) continue;
    // Goertzel at every probe frequency at once (the inner loop vectorises).
    std::array<double, kFreqs.size()> s1{}, s2{};
    for (size_t n = 0; n < kSegment; ++n) {
      for (size_t f = 0; f < kFreqs.size(); ++f) {
        const double s0 = x[n] + coeff[f] * s1[f] - s2[f];
        s2[f] = s1[f];
        s1[f] = s0;
      }
    }
    double best = 0;
    int best_f = -1;
    for (size_t f = 0; f < kFreqs.size(); ++f) {
      const double power = s1[f] * s1[f] + s2[f] * s2[f] - coeff[f] * s1[f] * s2[f];
      if (power > best) best = power, best_f = static_cast<int>(f);
    }
    // A pure tone at the window's frequency gives 2|X|^2 / (N E) = 1.
    const double purity = 2 * best / (static_cast<double>(kSegment) * energy);
    if (purity >= kMinPurity) labels[w] = static_cast<int8_t>(best_f);
  }
  return labels;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

std::span<const double> probe_frequencies() { return kFreqs; }

ProbeSignal make_probe_signal(double seconds, uint64_t seed, double amplitude) {
  ProbeSignal s;
  const auto segments = static_cast<size_t>(seconds * 1000 / kProbeSegmentMs);
  std::mt19937_64 rng(seed);
  s.segment_freq.reserve(segments);
  for (size_t i = 0; i < segments; ++i) {
    std::vector<uint8_t> allowed;
    for (uint8_t f = 0; f < kFreqs.size(); ++f) {
      const size_t from = i >= kDistinct - 1 ? i - (kDistinct - 1) : 0;
      if (std::find(s.segment_freq.begin() + static_cast<std::ptrdiff_t>(from),
                    s.segment_freq.end(), f) == s.segment_freq.end()) {
        allowed.push_back(f);
      }
    }
    s.segment_freq.push_back(allowed[rng() % allowed.size()]);
  }
  s.pcm.resize(segments * kSegment);
  double phase = 0;  // continuous across segments: no clicks for the codecs to spend bits on
  for (size_t i = 0; i < segments; ++i) {
    const double step = 2 * std::numbers::pi * kFreqs[s.segment_freq[i]] / kRate;
    for (size_t n = 0; n < kSegment; ++n) {
      s.pcm[i * kSegment + n] = static_cast<int16_t>(std::lround(amplitude * std::sin(phase)));
      phase = std::fmod(phase + step, 2 * std::numbers::pi);
    }
  }
  return s;
}

ListeningResult listen(const ProbeSignal& sent, std::span<const int16_t> received,
                       double offset_ms, double skip_ms) {
  ListeningResult r;
  const std::vector<int8_t> labels = label_track(received);
  const size_t n = sent.segment_freq.size();
  r.delay_ms.assign(n, -1);
  const auto first = std::min(n, static_cast<size_t>(std::max(0.0, skip_ms) / kProbeSegmentMs));
  r.segments = n - first;
  // Whether segment i sits at a delay of `hops` 5 ms steps in the recording.
  const auto at = [&](size_t i, long hops) {
    const long w = static_cast<long>(i * kSegment / kHop) + hops;
    return w >= 0 && static_cast<size_t>(w) < labels.size() &&
           labels[static_cast<size_t>(w)] == static_cast<int8_t>(sent.segment_freq[i]);
  };
  // The delay that most of the next segments agree on.
  const auto acquire = [&](size_t from) -> long {
    const long max_hops = static_cast<long>(kAcquireMaxMs / 5);
    long best = -1;
    size_t best_count = 0;
    for (long d = 0; d <= max_hops; ++d) {
      size_t count = 0;
      for (size_t i = from; i < std::min(n, from + kAcquireSegments); ++i) count += at(i, d);
      if (count > best_count) best_count = count, best = d;
    }
    return best_count >= kAcquireMin ? best : -1;
  };
  const long search = static_cast<long>(kSearchMs / 5);
  long track = -1;
  size_t missed = 0;
  std::vector<double> delays;
  for (size_t i = first; i < n; ++i) {
    if (track < 0 || missed >= kLostBeforeReacquire) {
      const long d = acquire(i);
      if (d >= 0) track = d;
      missed = 0;
    }
    if (track < 0) continue;
    // The matching run nearest the tracked delay; its middle is the segment's place.
    long found = -1;
    for (long k = 0; k <= search && found < 0; ++k) {
      if (at(i, track - k)) found = track - k;
      else if (at(i, track + k)) found = track + k;
    }
    if (found < 0) {
      ++missed;
      continue;
    }
    long lo = found, hi = found;
    while (lo > track - search && at(i, lo - 1)) --lo;
    while (hi < track + search && at(i, hi + 1)) ++hi;
    track = (lo + hi) / 2;
    missed = 0;
    ++r.intact;
    r.delay_ms[i] = static_cast<double>(lo + hi) * 2.5 + offset_ms;
    delays.push_back(r.delay_ms[i]);
  }
  r.fidelity_percent = r.segments ? 100.0 * static_cast<double>(r.intact) / r.segments : 0;
  r.mouth_to_ear_ms = percentile(delays, 0.5);
  r.mouth_to_ear_p95_ms = percentile(delays, 0.95);
  return r;
}

std::vector<ListeningSecond> per_second(const ListeningResult& r) {
  constexpr size_t kPerSecond = 1000 / kProbeSegmentMs;
  std::vector<ListeningSecond> out;
  for (size_t s = 0; s * kPerSecond < r.delay_ms.size(); ++s) {
    std::vector<double> d;
    size_t total = 0;
    for (size_t i = s * kPerSecond; i < std::min(r.delay_ms.size(), (s + 1) * kPerSecond); ++i) {
      ++total;
      if (r.delay_ms[i] >= 0) d.push_back(r.delay_ms[i]);
    }
    ListeningSecond sec;
    sec.fidelity_percent = total ? 100.0 * static_cast<double>(d.size()) / total : 0;
    if (!d.empty()) sec.mouth_to_ear_ms = percentile(d, 0.5);
    out.push_back(sec);
  }
  return out;
}

}  // namespace wzp::codec
