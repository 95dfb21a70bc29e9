#include "client/echo_probe.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>

#include "codec/audio_analysis.h"
#include "codec/vad.h"

namespace wzp::client {
namespace {

constexpr size_t kWindow = EchoProbe::kRate;         // 1 s
constexpr size_t kTone = EchoProbe::kRate * 8 / 10;  // 800 ms
constexpr size_t kBlock = EchoProbe::kRate / 200;    // 5 ms, the onset resolution

}  // namespace

void EchoProbe::fill(std::span<int16_t> pcm) {
  for (auto& s : pcm) {
    const size_t w = sent_ / kWindow, in = sent_ % kWindow;
    const double f = kFreqs[w % std::size(kFreqs)];
    s = in < kTone
            ? static_cast<int16_t>(amplitude_ * std::sin(2 * std::numbers::pi * f * in / kRate))
            : 0;
    ++sent_;
  }
}

void EchoProbe::heard(std::span<const int16_t> pcm) {
  received_.insert(received_.end(), pcm.begin(), pcm.end());
}

EchoWindow EchoProbe::measure(int index) const {
  EchoWindow w;
  w.index = index;
  w.freq_sent = kFreqs[static_cast<size_t>(index) % std::size(kFreqs)];
  const size_t start = static_cast<size_t>(index) * kWindow;
  // The onset: the first 5 ms block at a quarter of the sent level that follows a quiet one
  // (the previous window's tone may still be playing when this window starts). The search
  // begins 100 ms early so that a zero-delay loop's silence is seen too.
  const std::span<const int16_t> all(received_);
  const double loud = amplitude_ / 4 / std::numbers::sqrt2;
  size_t onset = SIZE_MAX;
  bool quiet_seen = false;
  const size_t from_at = start >= kRate / 10 ? start - kRate / 10 : 0;
  for (size_t at = from_at; at + kBlock <= std::min(all.size(), start + kWindow); at += kBlock) {
    const bool is_loud = codec::rms(all.subspan(at, kBlock)) > loud;
    if (!is_loud) quiet_seen = true;
    if (is_loud && quiet_seen && at >= start) {
      onset = at;
      break;
    }
  }
  if (onset == SIZE_MAX) return w;
  // Measure the tone's middle, clear of the onset's codec transient and its tail.
  const size_t from = onset + kRate / 10, len = kRate / 2;
  if (from + len > all.size()) return w;
  const auto part = all.subspan(from, len);
  w.heard = true;
  w.delay_ms = static_cast<double>(onset - start) * 1000.0 / kRate;
  w.freq_heard = codec::dominant_frequency(part);
  const double p = std::clamp(codec::tone_purity(part, w.freq_sent), 1e-6, 1 - 1e-6);
  w.snr_db = std::min(60.0, 10 * std::log10(p / (1 - p)));
  return w;
}

std::vector<EchoWindow> EchoProbe::take_finished() {
  std::vector<EchoWindow> out;
  // A window is done once a whole second more has been played after it.
  while (received_.size() >= static_cast<size_t>(next_window_ + 2) * kWindow) {
    out.push_back(measure(next_window_++));
  }
  return out;
}

std::string EchoProbe::verdict(const std::vector<EchoWindow>& all) {
  if (all.empty()) return "no result (the test was too short)";
  // The first window settles the jitter buffer; it is judged only when it is all there is.
  const auto judged = all.size() >= 3 ? std::span(all).subspan(1) : std::span(all);
  size_t heard = 0, good = 0;
  for (const auto& w : judged) {
    if (!w.heard) continue;
    ++heard;
    if (w.delay_ms < 400 && w.snr_db > 10 &&
        std::abs(w.freq_heard - w.freq_sent) < w.freq_sent * 0.02) {
      ++good;
    }
  }
  const double share = static_cast<double>(good) / static_cast<double>(judged.size());
  if (heard == 0) return "FAIL: nothing came back";
  if (share >= 0.9) return "GOOD: the path carries clear audio";
  if (share >= 0.5) return "DEGRADED: audio comes back, but with loss, noise or delay";
  return "POOR: most windows were lost or distorted";
}

}  // namespace wzp::client
