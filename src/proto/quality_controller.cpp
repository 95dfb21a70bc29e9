#include "proto/quality_controller.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace wzp::proto {
namespace {

// Repairs per frame against random loss, from the sliding-window code's residual loss on
// seeded random and Gilbert-Elliott patterns (tests/fec/window_fec_test.cpp prints the table):
// enough for < 0.5 % of frames missing within about four frames of delay.
struct Point {
  double loss, ratio;
};
constexpr std::array<Point, 11> kProtection = {{{0.5, 0.0},
                                                {0.5, 0.5},
                                                {2, 0.75},
                                                {5, 1.0},
                                                {20, 1.0},
                                                {25, 1.2},
                                                {30, 1.5},
                                                {40, 2.5},
                                                {60, 4.0},
                                                {70, 5.0},
                                                {80, 6.0}}};
constexpr double kMaxRatio = 6.0;
// A datagram's fixed cost: tag, full header, AEAD tag. A repair adds its window fields and the
// symbol's own header.
constexpr double kDatagramBytes = 1 + 12 + 16;
constexpr double kSymbolHeader = 7;
constexpr double kRepairExtra = 2 + kSymbolHeader;
constexpr double kCopiesInfo = 2;
// Moving to a better codec needs this much headroom in the budget, and the current one stays
// while it is this close: no flapping at the edge.
constexpr double kUpHeadroom = 0.85;
constexpr double kEnough = 0.8;
constexpr double kEnoughBeforeCodec2 = 0.3;
constexpr double kEnoughBeforeLongFrames = 0.5;
constexpr double kEnoughBeforeNarrowband = 0.65;
constexpr double kCapacityMargin = 1.6;
// Past this loss the window code's repairs cannot keep up inside the budget (its capacity limit,
// p / (1 - p) repairs a frame with the margin, is more than any Opus rung affords), and plain
// repetition serves better: each frame of Opus 6k sent about five times, each copy a repair over
// a window of one frame in a packet of its own, heard when any copy arrives (1 - p^k of the
// frames, at once, with no window to wait for). Measured on the simulated 80 % random profile
// (wzp-bench hostile, 30 s): the probe heard 61 % within 112 ms and speech 49 %, against 0 % and
// 13 % within 512 ms for Codec2 1200 with window repairs (RED x2 at 85 kbit/s: 55 % and 28 %).
// From 55 % on it would cost the 60 % profile (87 % against 92 % with window repairs).
constexpr double kRepeatFrom = 70;
constexpr CodecId kRepeatCodec = CodecId::kOpus6k;
// Copies of the last five frames in each repair packet: a copy then costs its frame and symbol
// header, not a datagram's header and tag as well, so 64 kbit/s of Opus 6k gives each frame seven
// chances instead of five (at 84 % loss 29 % of the frames missing instead of 43 %), for at most
// four frames (160 ms) of waiting for the last. Simulated, 90 s at 80 % random loss: the probe
// heard 74.6 % within 250 ms and speech 66.4 %, against 61.4 % within 112 ms and 51.1 % with
// one copy a packet; 2, 3, 4 and 6 copies heard 69-75 % and 60-64 % (6 within 310 ms).
constexpr uint32_t kRepeatCopies = 5;
constexpr double kMaxCopyPackets = 4;  // per frame: the window encoder's ceiling
constexpr double kDrain = 0.8;         // of a reported capacity, with no queue standing...
constexpr double kDrainFloor = 0.5;    // ...down to this, so that a standing queue drains
constexpr double kDrainMs = 1000;      // at about this many ms of queue per second
constexpr double kSteady = 0.85;       // of a reported capacity once its queue has drained
constexpr double kProbe = 1.03;        // growth per report without a sign of a queue...
constexpr uint32_t kHoldReports = 10;  // ...once this many have passed since the last,
constexpr uint32_t kMaxHold = 120;     // doubling up to this when the capacity recurs
constexpr uint32_t kRecurWithin = 60;  // within this many reports

constexpr std::array<CodecId, 6> kLadder = {CodecId::kOpus24k,  CodecId::kOpus16k,
                                            CodecId::kOpus9k,   CodecId::kOpus6k,
                                            CodecId::kOpus7k60, CodecId::kCodec2_1200};

Tier tier_of(CodecId c) {
  switch (c) {
    case CodecId::kOpus9k:
    case CodecId::kOpus6k:
    case CodecId::kOpus7k60:
      return Tier::kDegraded;
    case CodecId::kCodec2_1200:
    case CodecId::kCodec2_3200:
      return Tier::kCatastrophic;
    default:
      return Tier::kGood;
  }
}

}  // namespace

double protection_ratio(double loss, double burst) {
  if (loss < kProtection[0].loss) return 0;
  double r = kProtection.back().ratio;
  for (size_t i = 1; i < kProtection.size(); ++i) {
    if (loss <= kProtection[i].loss) {
      const auto& a = kProtection[i - 1];
      const auto& b = kProtection[i];
      r = b.loss == a.loss ? b.ratio
                           : a.ratio + (b.ratio - a.ratio) * (loss - a.loss) / (b.loss - a.loss);
      break;
    }
  }
  // Runs longer than random loss makes by itself (1 / (1 - p)) take several frames' packets at
  // once: up to half as much again.
  const double random_run = 1 / std::max(0.05, 1 - loss / 100);
  r *= 1 + std::clamp(0.25 * (burst - random_run), 0.0, 0.5);
  return std::min(r, kMaxRatio);
}

// Six 60 ms frames are 360 ms that a frame rebuilt from the window's last repair waited, and
// the jitter buffer's recovery quantile holds the whole call to such waits (simulated cap
// profile, 30 s: 91 % within 450 ms with 6, 92 % within 335 ms with 4, 90 % within 270 ms
// with 2).
uint32_t protection_window(double loss, uint32_t frame_ms) {
  return loss < 70 && frame_ms < 60 ? 6 : 4;
}

double wire_kbps(CodecId codec, double ratio, uint32_t copies) {
  const auto& c = codec_info(codec);
  const double frame = c.bitrate_bps * c.frame_ms / 8000.0;
  const double repair = copies ? kDatagramBytes + kCopiesInfo + copies * (kSymbolHeader + frame)
                               : kDatagramBytes + kRepairExtra + frame;
  const double per_frame = kDatagramBytes + frame + ratio * repair;
  return per_frame * 8 / c.frame_ms;
}

double path_kbps(CodecId codec, double ratio, bool packed) {
  const double packets = packed ? 1 : 1 + ratio;
  return wire_kbps(codec, ratio) + packets * kPacketOverheadBytes * 8 / codec_info(codec).frame_ms;
}

// The protection a codec can carry inside `budget` kbit/s of datagrams and `path_budget` of the
// path (0: unlimited).
double affordable_ratio(CodecId codec, double budget, double path_budget, uint32_t copies = 0) {
  const auto within = [&](double limit, auto kbps) {
    const double zero = kbps(0.0), one = kbps(1.0);
    return limit <= zero ? 0.0 : (limit - zero) / (one - zero);
  };
  double r = within(budget, [&](double x) { return wire_kbps(codec, x, copies); });
  if (path_budget > 0)
    r = std::min(r, within(path_budget, [&](double x) { return path_kbps(codec, x, true); }));
  return std::max(0.0, r);
}

std::optional<Tier> QualityController::on_report(const QualitySample& s, uint64_t) {
  const double p = std::clamp(s.loss_percent, 0.0, 100.0);
  // One report's loss is a sample: at 20 % over 100 packets it wanders +-4 points, and bursty
  // loss wanders far more from second to second. The estimate is the worst of the last
  // kHistory reports, each less its sampling noise.
  const double q = p / 100;
  const double noise = s.packets ? 100 * std::sqrt(q * (1 - q) / s.packets) : 0;
  // While a queue overflows, its drops are our own excess, not the path's loss: more repairs
  // would only overflow it more. Such a report adds nothing to the loss estimate (a capacity
  // known without a queue, from a handshake's flight, is no overflow).
  if (s.capacity_kbps <= 0 || s.queue_ms <= 0) {
    history_[next_++ % history_.size()] = p;
    // New loss is met at once (this report, less its noise); loss that lasts is met at its
    // average over the reports kept, which for bursty loss wandering from second to second is
    // its true level rather than its worst sample.
    const size_t kept = std::min(next_, history_.size());
    double sum = 0;
    for (size_t i = 0; i < kept; ++i) sum += history_[i];
    loss_ = std::max(p - noise, sum / static_cast<double>(kept));
  }
  if (loss_ < 0.2) loss_ = 0;
  if (p > 0) burst_ += 0.3 * (std::max(1.0, s.mean_burst) - burst_);
  if (s.capacity_kbps > 0) {
    capacity_kbps_ = s.capacity_kbps;
    if (s.queue_ms <= 0) {
      // A capacity with no queue standing in front of it (a probe train's verdict, passed on
      // with each directive while it is recent): the steady share of it.
      path_budget_kbps_ = kSteady * s.capacity_kbps;
    } else {
      // Below the capacity by what empties the standing queue in about a second (sending at a
      // share f of the capacity drains (1 - f) s of queue per second), within [floor, kDrain].
      // Each report's queue sets the share anew (a share of the capacity, never of the budget,
      // so reports of one queue do not compound): a queue still growing when its first report
      // was sent is met at its full length.
      const double drain = std::clamp(1 - s.queue_ms / kDrainMs, kDrainFloor, kDrain);
      const double share = drain * s.capacity_kbps;
      path_budget_kbps_ = path_budget_kbps_ == 0 ? share : std::min(path_budget_kbps_, share);
    }
    // A capacity met again soon after the last time is a real ceiling: wait longer each time
    // before probing past it.
    hold_length_ =
        since_capacity_ < kRecurWithin ? std::min(hold_length_ * 2, kMaxHold) : kHoldReports;
    hold_ = hold_length_;
    since_capacity_ = 0;
  } else if (hold_ > 0) {
    // The queue is gone: what the path carried is known, and a share of it just below is safe
    // (the rest is for acknowledgements, signalling and the measurement's error).
    if (since_capacity_ == 0)
      path_budget_kbps_ = std::max(path_budget_kbps_, kSteady * capacity_kbps_);
    --hold_;
    ++since_capacity_;
  } else {
    ++since_capacity_;
    // Past what the most we would send needs (the best codec with all the protection our own
    // budget allows, each repair in its own packet), the path no longer limits us.
    path_budget_kbps_ *= kProbe;
    const CodecId best = kLadder.front();
    if (path_budget_kbps_ > path_kbps(best, affordable_ratio(best, budget_kbps_, 0), false))
      path_budget_kbps_ = 0;
  }
  const Tier before = tier_;
  choose();
  if (tier_ != before) return tier_;
  return std::nullopt;
}

void QualityController::force(Tier tier) {
  tier_ = tier;
  pinned_ = true;
  choose();
}

void QualityController::choose() {
  const double r = protection_ratio(loss_, burst_);
  const auto rank = [](CodecId c) {
    return std::find(kLadder.begin(), kLadder.end(), c) - kLadder.begin();
  };
  // A codec serves when it carries the protection, or most of it: a worse codec for the last
  // fifth of the repairs is a poorer trade than those repairs, and for the step from Opus to
  // Codec2 (a far worse voice) even half of them is. Below the loss's capacity limit
  // (p / (1 - p) repairs per frame, with a margin) no protection works: then it must move on.
  const double q = std::min(loss_, 95.0) / 100;
  const double limit = kCapacityMargin * q / (1 - q);
  // A codec must fit the path as it is now (no feeding a queue that drains), but its repairs are
  // judged by what the path carries for good (the steady share of its capacity): while a queue
  // drains, the repairs give way for the moment, not the codec.
  const double path =
      path_budget_kbps_ > 0 ? std::max(path_budget_kbps_, kSteady * capacity_kbps_) : 0;
  const auto serves = [&](CodecId c) {
    const double slack = rank(c) < rank(codec_) ? kUpHeadroom : 1.0;
    const double affordable = affordable_ratio(c, budget_kbps_ * slack, path * slack);
    const double enough = c == CodecId::kOpus7k60 ? kEnoughBeforeCodec2
                          : c == CodecId::kOpus6k ? kEnoughBeforeLongFrames
                          : c == CodecId::kOpus9k ? kEnoughBeforeNarrowband
                                                  : kEnough;
    const bool path_fits =
        path_budget_kbps_ == 0 || path_kbps(c, 0, true) <= path_budget_kbps_ * slack;
    return wire_kbps(c, 0) <= budget_kbps_ * slack && path_fits && affordable >= enough * r &&
           (r == 0 || affordable >= limit);
  };
  repeating_ = !pinned_ && loss_ >= kRepeatFrom && path_budget_kbps_ == 0 &&
               wire_kbps(kRepeatCodec, 1) <= budget_kbps_;
  if (repeating_) {
    codec_ = kRepeatCodec;
    tier_ = tier_of(codec_);
    return;
  }
  CodecId pick = kLadder.back();
  double pick_cost = 0;
  for (CodecId c : kLadder) {
    if (pinned_ && tier_of(c) != tier_) continue;
    // While the path limits us, a step down that saves the path no bytes is no step: Codec2's
    // 40 ms frames carry as many packet headers as Opus 7k's 60 ms ones, for a far worse voice.
    const double cost = path_kbps(c, 0, true);
    if (path_budget_kbps_ > 0 && pick_cost > 0 && cost > 0.98 * pick_cost) continue;
    pick = c;  // the best that serves; with a pinned tier, its last codec if none does
    pick_cost = cost;
    if (serves(c)) break;
  }
  codec_ = pick;
  tier_ = tier_of(pick);
}

FecSettings QualityController::fec(uint64_t now_ms) const {
  FecSettings f;
  f.ratio = protection_ratio(loss_, burst_);
  if (now_ms < boost_until_ms_) f.ratio += kBoost;
  f.ratio =
      std::min({f.ratio, kMaxRatio, affordable_ratio(codec_, budget_kbps_, path_budget_kbps_)});
  f.window = repeating_ ? 1 : protection_window(loss_, codec_info(codec_).frame_ms);
  f.packed = path_budget_kbps_ > 0;
  if (repeating_) {
    // Every chance counts at this loss: the whole budget goes to copies.
    f.copies = kRepeatCopies;
    f.ratio = std::min(kMaxCopyPackets, affordable_ratio(codec_, budget_kbps_, 0, f.copies));
  }
  return f;
}

}  // namespace wzp::proto
