// Chooses the codec and the loss protection from what the receivers measure.
//
// Loss and bandwidth are separate questions (docs/ARCHITECTURE.md, "Loss defence"):
// - Protection follows the loss: the sliding-window FEC sends `ratio` repairs per frame, from
//   a table measured on the same loss patterns the benchmarks use (bench: `wzp-bench fec`),
//   one step more for bursty loss, none at all on a clean path.
// - The codec follows the bytes: the best codec whose frames plus that protection fit the
//   budget on the wire (64 kbit/s, less when the path's capacity is known to be less). Loss
//   alone moves the call down only when the protection it needs no longer fits.
// The loss estimate is the larger of the latest report less its sampling noise (new loss is
// met within one report) and the mean of the last 8 (bursty loss that wanders from second to
// second is met at its level, not at its worst second); protection falls back over 8 s once
// the loss ends. When the budget cannot carry all the protection a codec needs, the codec
// stays as long as it carries 80 % of it (less on the steps to narrowband Opus and Codec2).
// The path's capacity, as the receiver reports it (a queue growing on the way), is a second
// budget, counted as the path counts: every packet's own headers (IP, UDP, QUIC) beside our
// datagrams, which at a voice frame's size are as many bytes again. It is at once a share of the
// capacity that drains the standing queue in about a second (50-80 %), 85 % of it once the
// queue has drained, held for 10 reports (twice as long each time the ceiling is met again
// within a minute, up to two minutes), then 3 % more per report without such a sign, until the
// path no longer limits us (AIMD, as TCP-friendly rate control does). While the path limits us,
// repairs ride in the next frame's packet instead of their own (one packet's headers per frame).
// Loss while the queue overflows is our own excess, and is not protected against. Past 70 % loss no
// window of repairs keeps up inside the budget: the call sends copies of each Opus 6k frame
// instead, as many as the budget allows, five frames to a packet (FecSettings::copies), where it
// would once have moved to Codec2.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

#include "proto/capacity_meter.h"
#include "proto/codec_id.h"
#include "proto/quality_profile.h"

namespace wzp::proto {

struct QualitySample {
  double loss_percent = 0;  // packets lost before FEC
  double rtt_ms = 0;
  double jitter_ms = 0;
  double mean_burst = 1.0;   // mean length of loss runs, in packets
  uint32_t packets = 0;      // packets the loss was measured over (0: unknown)
  double capacity_kbps = 0;  // what the path carried while its queue grew (0: not limited)
  double queue_ms = 0;       // the standing queue on the path with that capacity
  uint32_t reorder = 0;      // deepest reordering seen, packets
};

// A count carried as an optional JSON number in quality messages, read defensively: absent,
// negative or absurd values become 0 or a bound.
inline uint32_t reported_count(const std::optional<double>& v) {
  return static_cast<uint32_t>(std::clamp(v.value_or(0), 0.0, 1e6));
}

struct FecSettings {
  double ratio = 0;     // repair symbols per frame
  uint32_t window = 6;  // frames each repair covers
  bool packed = false;  // repairs leave with the next frame (one packet) rather than between frames
  uint32_t copies = 0;  // > 0: each repair carries copies of the last `copies` frames (heavy loss)
};

class QualityController {
 public:
  static constexpr double kDefaultBudgetKbps = 64;
  static constexpr uint64_t kBoostMs = 10000;
  static constexpr double kBoost = 0.25;

  explicit QualityController(Tier start = Tier::kGood) : tier_(start), pinned_(false) { choose(); }

  // Feeds one report; returns the new tier when it changed.
  std::optional<Tier> on_report(const QualitySample& sample, uint64_t now_ms);
  // The path changed (new address, new network): more protection for a while.
  void on_network_change(uint64_t now_ms) { boost_until_ms_ = now_ms + kBoostMs; }
  // Pins the tier (a user's fixed profile, or a relay's directive); the codec stays inside it.
  void force(Tier tier);
  // A ceiling on our datagrams' bitrate (a user's, kbit/s).
  void set_budget_kbps(double kbps) { budget_kbps_ = kbps; }
  double budget_kbps() const { return budget_kbps_; }
  // What the path may carry of ours, packet headers included (path_kbps); 0 while it has
  // shown no limit.
  double path_budget_kbps() const { return path_budget_kbps_; }

  Tier tier() const { return tier_; }
  CodecId codec() const { return codec_; }
  double loss_estimate() const { return loss_; }
  FecSettings fec(uint64_t now_ms) const;

 private:
  void choose();

  Tier tier_;
  bool pinned_;
  CodecId codec_ = CodecId::kOpus24k;
  bool repeating_ = false;  // past kRepeatFrom loss: Opus 6k, each frame repeated (window 1)
  double loss_ = 0;         // percent, the estimate protection is sized for
  std::array<double, 8> history_{};  // the last reports, less their sampling noise
  size_t next_ = 0;
  double burst_ = 1;  // smoothed mean loss run
  double budget_kbps_ = kDefaultBudgetKbps;
  double path_budget_kbps_ = 0;  // 0: the path has shown no limit
  double capacity_kbps_ = 0;     // the last capacity reported
  uint32_t hold_ = 0;            // reports until the budget may grow again
  uint32_t hold_length_ = 10;
  uint32_t since_capacity_ = UINT32_MAX / 2;  // reports since the last capacity report
  uint64_t boost_until_ms_ = 0;
};

// Repair symbols per frame for a loss of `loss_percent` in runs of `mean_burst` packets.
double protection_ratio(double loss_percent, double mean_burst);
// Bytes per second on the wire (our datagrams: header, AEAD tag, payload) for a codec with
// `ratio` repairs per frame, in kbit/s; repairs of `copies` frames each when that is not 0.
double wire_kbps(CodecId codec, double ratio, uint32_t copies = 0);
// The same with each packet's own headers (kPacketOverheadBytes): one packet per datagram, or
// one per frame when the repairs are `packed` with their next frame.
double path_kbps(CodecId codec, double ratio, bool packed);
// The sliding window suited to a loss and a frame length: short windows at heavy loss (a long
// one mixes in more missing frames than the repairs can resolve), and fewer frames when each
// is long (a window counts frames, and a frame rebuilt from its last repair waited them all).
uint32_t protection_window(double loss_percent, uint32_t frame_ms);

}  // namespace wzp::proto
