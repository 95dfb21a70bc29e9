#include "codec/listening.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <deque>
#include <limits>
#include <numbers>
#include <random>
#include <utility>

namespace wzp::codec {
namespace {

constexpr uint32_t kRate = 48000;
constexpr size_t kSegment = kProbeSegmentMs * kRate / 1000;  // 1920 samples
constexpr size_t kHop = kRate / 200;                         // 5 ms
constexpr size_t kDistinct = 11;        // any this many consecutive segments differ
constexpr double kAcquireMaxMs = 4000;  // delays searched: 0 to this, from capture to playout
constexpr double kNearJumpMs = 200;     // a jitter buffer's own changes of delay stay within
constexpr double kNearJumpCost = 4;     // segments such a change must win back (see track)
constexpr double kFarJumpCost = 10;     // and one further away
constexpr double kDriftCost = 0.05;     // a 5 ms step: clocks drift, playout stretches
constexpr long kRunHops = 8;            // a segment's matching run: +-40 ms around the path
constexpr long kPlaceHops = 2;          // how far off the path a segment may sit: +-10 ms
constexpr double kMinPurity =
    0.15;  // low-rate codecs smear a tone, noise and concealment fall far below
constexpr double kMinRms = 60;  // about -40 dB of the probe's level: silence is no segment

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

// The first place in the recording (in 5 ms hops from its start) a segment could sit: played no
// sooner than captured. A recording that began before the signal (a listener that joined
// first) places it `-offset_ms` later.
long first_hop(double offset_ms) { return std::max(0L, std::lround(-offset_ms / 5)); }

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

// Speech is judged by its spectral shape, 20 ms at a time: the level in 12 bands from 200 Hz
// to 3.4 kHz (every tier carries that much of the voice), as a 1024-point spectrum of each 20 ms
// window sees it, at 5 ms hops.
constexpr size_t kHalf = kSegment / 2;  // 20 ms
constexpr size_t kFft = 1024;
constexpr size_t kBands = 12;
constexpr double kSpeechSearchMs = 30;  // how far from its neighbours' delay a segment may sit
constexpr uint16_t kSpeechAgree = 6;    // neighbours that must agree on a delay
constexpr double kSpeechRangeDb = 25;   // a segment this far below the loud level is a pause
constexpr double kJudgedRangeDb = 35;   // a half this far below it is too quiet to judge
constexpr double kFloorDb = 25;         // bands further below the half's strongest are noise
constexpr double kMaxLevelDb = 8;  // the same shape, but this much louder or quieter, is not itself
constexpr double kMaxShapeDb = 7;  // RMS band difference still counted as the same sound
constexpr double kChangeDb = 6;    // a segment judged differs this much from the 20 ms before it
constexpr size_t kHalfHops = kHalf / kHop;

struct Shape {
  std::array<float, kBands> db{};
  float level_db = -200;  // 200 Hz - 3.4 kHz, dB re full scale
};

void fft(std::vector<std::complex<double>>& a) {
  const size_t n = a.size();
  for (size_t i = 1, j = 0; i < n; ++i) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    const std::complex<double> step =
        std::polar(1.0, -2 * std::numbers::pi / static_cast<double>(len));
    for (size_t i = 0; i < n; i += len) {
      std::complex<double> w = 1;
      for (size_t k = 0; k < len / 2; ++k, w *= step) {
        const auto u = a[i + k], v = a[i + k + len / 2] * w;
        a[i + k] = u + v;
        a[i + k + len / 2] = u - v;
      }
    }
  }
}

std::vector<Shape> shape_track(std::span<const int16_t> pcm) {
  std::vector<Shape> out;
  if (pcm.size() < kHalf) return out;
  // Band edges spaced evenly on a log scale; each band holds at least one bin.
  std::array<size_t, kBands + 1> edge{};
  for (size_t b = 0; b <= kBands; ++b) {
    const double hz = 200 * std::pow(17.0, static_cast<double>(b) / kBands);
    edge[b] = static_cast<size_t>(std::lround(hz * kFft / kRate));
    if (b > 0) edge[b] = std::max(edge[b], edge[b - 1] + 1);
  }
  std::vector<double> window(kHalf);
  for (size_t i = 0; i < kHalf; ++i)
    window[i] = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * static_cast<double>(i) / kHalf);
  const double full_scale =
      32768.0 * 32768.0 * kHalf * 0.375;  // a full-scale sine's Hann energy, roughly
  std::vector<std::complex<double>> a(kFft);
  const size_t windows = (pcm.size() - kHalf) / kHop + 1;
  out.resize(windows);
  for (size_t w = 0; w < windows; ++w) {
    std::fill(a.begin(), a.end(), 0);
    for (size_t i = 0; i < kHalf; ++i) a[i] = pcm[w * kHop + i] * window[i];
    fft(a);
    double total = 0;
    for (size_t b = 0; b < kBands; ++b) {
      double e = 0;
      for (size_t k = edge[b]; k < edge[b + 1]; ++k) e += std::norm(a[k]);
      total += e;
      out[w].db[b] = static_cast<float>(10 * std::log10(e + 1e-9));
    }
    out[w].level_db = static_cast<float>(10 * std::log10(total / full_scale + 1e-20));
  }
  return out;
}

// How different two 20 ms windows sound: the RMS difference of their band levels (dB) once
// their overall levels are matched, bands further below `ref`'s strongest than kFloorDb
// counted at that floor.
double shape_distance(const Shape& ref, const Shape& other) {
  const float peak = *std::max_element(ref.db.begin(), ref.db.end());
  const float floor = peak - static_cast<float>(kFloorDb);
  const float shift = other.level_db - ref.level_db;
  double sum = 0;
  for (size_t b = 0; b < kBands; ++b) {
    const double d = std::max(other.db[b] - shift, floor) - std::max(ref.db[b], floor);
    sum += d * d;
  }
  return std::sqrt(sum / kBands);
}

// Segment i arrived, its matching windows `lo`..`hi` hops into the recording.
void arrived(ListeningResult& r, size_t i, long lo, long hi, double offset_ms) {
  ++r.intact;
  r.delay_ms[i] = static_cast<double>(lo + hi) * 2.5 + offset_ms;
}

void summarise(ListeningResult& r) {
  std::vector<double> delays;
  for (const double d : r.delay_ms) {
    if (d >= 0) delays.push_back(d);
  }
  r.fidelity_percent = r.segments ? 100.0 * static_cast<double>(r.intact) / r.segments : 0;
  r.mouth_to_ear_ms = percentile(delays, 0.5);
  r.mouth_to_ear_p95_ms = percentile(delays, 0.95);
}

// The playout path through the recording that explains the most segments: for each sent
// segment a delay (in 5 ms hops), held from segment to segment, moved a hop at a time along
// audio that matches (free-running clocks, a playout that stretches), and changed outright at
// a cost the segments after the change must win back: kNearJumpCost within kNearJumpMs (a
// jitter buffer dropping or adding a frame or two), kFarJumpCost further (a restart). A
// segment arrived where the path's delay holds it. By chance a wrong place holds a given
// segment about 1 time in 16, so lost audio is not filled in with chance matches: a detour
// to them and back must gain more than twice a jump's cost. (Viterbi over the segments;
// `at(i, hops)` says whether segment i sits `hops` 5 ms steps into the recording.)
template <typename At>
ListeningResult track(size_t n, const At& at, double offset_ms, double skip_ms) {
  ListeningResult r;
  r.delay_ms.assign(n, -1);
  const auto first = std::min(n, static_cast<size_t>(std::max(0.0, skip_ms) / kProbeSegmentMs));
  r.first = first;
  r.segments = n - first;
  if (first == n) return r;
  const long lo = first_hop(offset_ms);
  const size_t hops = static_cast<size_t>(kAcquireMaxMs / 5) + 1;
  const size_t near_hops = static_cast<size_t>(kNearJumpMs / 5);
  // Segment i is held at delay `hops` when it sits within kPlaceHops of it (a segment cut
  // short where playout moved sits a little off its neighbours).
  const auto near = [&](size_t i, long hops) {
    for (long k = -kPlaceHops; k <= kPlaceHops; ++k) {
      if (at(i, hops + k)) return true;
    }
    return false;
  };
  // score[d]: the best path ending at delay lo + d; src: where each segment's came from.
  std::vector<double> score(hops, 0), next(hops), near_best(hops);
  std::vector<uint16_t> near_at(hops);
  std::vector<uint16_t> src((n - first) * hops);
  std::deque<size_t> window;  // candidates for the running maximum, best first
  for (size_t i = first; i < n; ++i) {
    const size_t row = i - first;
    // The best within near_hops of each d, by a sliding-window maximum.
    window.clear();
    size_t added = 0;
    for (size_t d = 0; d < hops; ++d) {
      for (; added < hops && added <= d + near_hops; ++added) {
        while (!window.empty() && score[window.back()] <= score[added]) window.pop_back();
        window.push_back(added);
      }
      while (window.front() + near_hops < d) window.pop_front();
      near_best[d] = score[window.front()];
      near_at[d] = static_cast<uint16_t>(window.front());
    }
    const size_t best =
        static_cast<size_t>(std::max_element(score.begin(), score.end()) - score.begin());
    for (size_t d = 0; d < hops; ++d) {
      const bool match = near(i, lo + static_cast<long>(d));
      double v = score[d];
      size_t from = d;
      if (match && d > 0 && score[d - 1] - kDriftCost > v)
        v = score[d - 1] - kDriftCost, from = d - 1;
      if (match && d + 1 < hops && score[d + 1] - kDriftCost > v) {
        v = score[d + 1] - kDriftCost, from = d + 1;
      }
      if (near_best[d] - kNearJumpCost > v) v = near_best[d] - kNearJumpCost, from = near_at[d];
      if (score[best] - kFarJumpCost > v) v = score[best] - kFarJumpCost, from = best;
      src[row * hops + d] = static_cast<uint16_t>(from);
      next[d] = v + (match ? 1 : 0);
    }
    score.swap(next);
  }
  // Back along the path: where it holds a segment, the matching run around it is its place.
  size_t d = static_cast<size_t>(std::max_element(score.begin(), score.end()) - score.begin());
  for (size_t row = n - first; row-- > 0;) {
    const size_t i = first + row;
    long place = lo + static_cast<long>(d);
    if (near(i, place)) {
      place -= kPlaceHops;  // the lowest hop near the path that holds it
      while (!at(i, place)) ++place;
      long a = place, b = place;
      while (a > place - kRunHops && at(i, a - 1)) --a;
      while (b < place + kRunHops && at(i, b + 1)) ++b;
      arrived(r, i, a, b, offset_ms);
    }
    d = src[row * hops + d];
  }
  summarise(r);
  return r;
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

ListeningResult listen(const ProbeSignal& sent, std::span<const int16_t> received, double offset_ms,
                       double skip_ms) {
  if (sent.segment_freq.empty()) return listen_speech(sent.pcm, received, offset_ms, skip_ms);
  const std::vector<int8_t> labels = label_track(received);
  // Whether segment i sits at a delay of `hops` 5 ms steps in the recording.
  const auto at = [&](size_t i, long hops) {
    const long w = static_cast<long>(i * kSegment / kHop) + hops;
    return w >= 0 && static_cast<size_t>(w) < labels.size() &&
           labels[static_cast<size_t>(w)] == static_cast<int8_t>(sent.segment_freq[i]);
  };
  return track(sent.segment_freq.size(), at, offset_ms, skip_ms);
}

ProbeSignal make_speech_signal(std::vector<int16_t> pcm, double seconds) {
  ProbeSignal s;
  const auto want = static_cast<size_t>(seconds * kRate) / kSegment * kSegment;
  if (pcm.empty()) return s;
  s.pcm.reserve(want);
  while (s.pcm.size() < want) {
    s.pcm.insert(
        s.pcm.end(), pcm.begin(),
        pcm.begin() + static_cast<std::ptrdiff_t>(std::min(pcm.size(), want - s.pcm.size())));
  }
  return s;
}

ListeningResult listen_speech(std::span<const int16_t> sent, std::span<const int16_t> received,
                              double offset_ms, double skip_ms) {
  const std::vector<Shape> tx = shape_track(sent), rx = shape_track(received);
  const size_t n = sent.size() / kSegment;
  std::vector<double> levels;
  for (const auto& s : tx) levels.push_back(s.level_db);
  const double loud = percentile(levels, 0.95);
  const auto judged_half = [&](size_t h) {
    return h >= kHalfHops && h < tx.size() && tx[h].level_db >= loud - kJudgedRangeDb;
  };
  // Judged: speech (within kSpeechRangeDb of the talker's loud level, the 95th percentile of
  // the 20 ms levels) that changes (a half differs from the 20 ms before it by kChangeDb).
  // Concealment continues what came before, so only where speech moves on can it be told from
  // delivery; a steady vowel is neither counted nor held against the call.
  std::vector<uint8_t> counted(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const size_t a = i * kSegment / kHop, b = a + kHalfHops;
    if (b >= tx.size()) continue;
    const double level =
        10 *
        std::log10((std::pow(10, tx[a].level_db / 10) + std::pow(10, tx[b].level_db / 10)) / 2);
    bool moves = false;
    for (size_t h : {a, b})
      moves = moves || (judged_half(h) && shape_distance(tx[h], tx[h - kHalfHops]) >= kChangeDb);
    counted[i] = level >= loud - kSpeechRangeDb && moves;
  }
  // A half arrived as itself: about as loud, the same shape, and nearer to itself than to the
  // 20 ms before it (what concealment would have played).
  const auto at = [&](size_t i, long hops) {
    const size_t a = i * kSegment / kHop;
    for (const size_t h : {a, a + kHalfHops}) {
      const long w = static_cast<long>(h) + hops;
      if (h >= tx.size() || w < 0 || static_cast<size_t>(w) >= rx.size()) return false;
      const Shape& got = rx[static_cast<size_t>(w)];
      if (!judged_half(h)) {
        if (got.level_db > loud - kSpeechRangeDb) return false;  // a quiet half stays quiet
        continue;
      }
      if (std::abs(got.level_db - tx[h].level_db) > kMaxLevelDb) return false;
      const double self = shape_distance(tx[h], got);
      if (self > kMaxShapeDb || self >= shape_distance(tx[h - kHalfHops], got)) return false;
    }
    return true;
  };
  // Speech repeats itself, so a single match far from the delay so far proves little: every
  // judged segment's matches are collected over the whole search range, and a segment arrived
  // where it matches within kSpeechSearchMs of the delay its neighbours (a second either side)
  // agree on most. Playout that moves is followed at that pace, with no continuity to lose.
  ListeningResult r;
  r.delay_ms.assign(n, -1);
  r.counted = counted;
  const auto first = std::min(n, static_cast<size_t>(std::max(0.0, skip_ms) / kProbeSegmentMs));
  r.first = first;
  const long min_hop = first_hop(offset_ms),
             max_hop = min_hop + static_cast<long>(kAcquireMaxMs / 5);
  std::vector<std::vector<long>> matches(n);
  for (size_t i = first; i < n; ++i) {
    if (!counted[i]) continue;
    ++r.segments;
    for (long d = min_hop; d <= max_hop; ++d) {
      if (at(i, d)) matches[i].push_back(d);
    }
  }
  constexpr long kSpread = 2;  // neighbours within 10 ms agree
  const long search = static_cast<long>(kSpeechSearchMs / 5);
  const size_t reach = 1000 / kProbeSegmentMs;
  std::vector<uint16_t> votes(static_cast<size_t>(max_hop - min_hop + 1));
  for (size_t i = first; i < n; ++i) {
    if (matches[i].empty()) continue;
    std::fill(votes.begin(), votes.end(), 0);
    for (size_t j = i > reach ? i - reach : 0; j < std::min(n, i + reach + 1); ++j) {
      long last = -1;  // one vote per neighbour and lag
      for (const long m : matches[j]) {
        for (long d = std::max({min_hop, m - kSpread, last + 1});
             d <= std::min(max_hop, m + kSpread); ++d)
          ++votes[static_cast<size_t>(d - min_hop)];
        last = std::min(max_hop, m + kSpread);
      }
    }
    const auto best = std::max_element(votes.begin(), votes.end());
    if (*best < kSpeechAgree) continue;
    const long consensus = min_hop + (best - votes.begin());
    // The matching run nearest the consensus; its middle is the segment's place.
    long found = -1;
    for (const long m : matches[i]) {
      if (std::abs(m - consensus) <= search &&
          (found < 0 || std::abs(m - consensus) < std::abs(found - consensus)))
        found = m;
    }
    if (found < 0) continue;
    long lo = found, hi = found;
    while (std::binary_search(matches[i].begin(), matches[i].end(), lo - 1)) --lo;
    while (std::binary_search(matches[i].begin(), matches[i].end(), hi + 1)) ++hi;
    arrived(r, i, lo, hi, offset_ms);
  }
  summarise(r);
  return r;
}

std::vector<ListeningSecond> per_second(const ListeningResult& r) {
  constexpr size_t kPerSecond = 1000 / kProbeSegmentMs;
  std::vector<ListeningSecond> out;
  for (size_t s = 0; s * kPerSecond < r.delay_ms.size(); ++s) {
    std::vector<double> d;
    size_t total = 0;
    for (size_t i = s * kPerSecond; i < std::min(r.delay_ms.size(), (s + 1) * kPerSecond); ++i) {
      if (i < r.first || (!r.counted.empty() && !r.counted[i])) continue;
      ++total;
      if (r.delay_ms[i] >= 0) d.push_back(r.delay_ms[i]);
    }
    ListeningSecond sec;
    // A second with nothing to judge: before the start-up skipped, nothing to show; a pause
    // in speech keeps the second before's figure.
    sec.fidelity_percent = total ? 100.0 * static_cast<double>(d.size()) / total
                           : (s + 1) * kPerSecond <= r.first || out.empty()
                               ? std::numeric_limits<double>::quiet_NaN()
                               : out.back().fidelity_percent;
    if (!d.empty()) sec.mouth_to_ear_ms = percentile(d, 0.5);
    out.push_back(sec);
  }
  return out;
}

}  // namespace wzp::codec
