#include "proto/loss_meter.h"

#include <algorithm>
#include <cmath>

namespace wzp::proto {

bool LossMeter::in_outage(uint64_t seq) const {
  for (const auto& r : outages_) {
    if (r.from <= r.to && seq >= r.from && seq <= r.to) return true;
  }
  return false;
}

void LossMeter::on_packet(uint64_t ext) {
  if (!started_) {
    started_ = true;
    highest_ = ext;
    unreported_ = ext;
    received_.reset();
    received_.set(ext % kSpan);
    return;
  }
  if (ext + kSpan <= highest_ || ext < unreported_) return;  // long since counted
  if (ext > highest_) {
    const uint64_t gap = ext - highest_ - 1;
    for (uint64_t s = highest_ + 1; s < ext && s <= highest_ + kSpan; ++s)
      received_.reset(s % kSpan);
    if (gap >= outage_gap_) {
      // The oldest slot makes room.
      auto* slot = std::min_element(outages_.begin(), outages_.end(),
                                    [](const Range& a, const Range& b) { return a.to < b.to; });
      *slot = {highest_ + 1, ext - 1};
      outage_packets_ += static_cast<uint32_t>(std::min<uint64_t>(gap, UINT32_MAX));
    }
    highest_ = ext;
  } else {
    reorder_ = std::max(reorder_, static_cast<double>(highest_ - ext));
    depth_ = std::max(depth_, static_cast<uint32_t>(std::min<uint64_t>(highest_ - ext, kSpan)));
  }
  received_.set(ext % kSpan);
}

LossReport LossMeter::take() {
  LossReport r;
  r.outage_packets = outage_packets_;
  r.reorder_depth = depth_;
  outage_packets_ = depth_ = 0;
  r.loss_percent = last_loss_;  // until packets show otherwise
  r.mean_burst = last_burst_;
  if (!started_) return r;
  // Packets that may still be overtaken wait for the next report (two more than the deepest
  // reordering of late, which is forgotten slowly).
  const auto hold = reorder_ > 0 ? static_cast<uint64_t>(std::ceil(reorder_)) + 2 : 0;
  reorder_ *= 0.95;
  if (highest_ < hold || highest_ - hold < unreported_) return r;
  const uint64_t upto = highest_ - hold;
  const uint64_t from = std::max(unreported_, upto + 1 > kSpan ? upto + 1 - kSpan : 0);
  uint64_t lost = 0, runs = 0;
  bool in_run = false;
  for (uint64_t s = from; s <= upto; ++s) {
    if (in_outage(s)) {
      in_run = false;
      continue;
    }
    ++r.packets;
    if (received_.test(s % kSpan)) {
      in_run = false;
    } else {
      ++lost;
      if (!in_run) ++runs;
      in_run = true;
    }
  }
  unreported_ = upto + 1;
  for (auto& o : outages_) {
    if (o.from <= o.to && o.to <= upto) o = {};  // covered: forgotten
  }
  if (r.packets == 0) return r;
  r.loss_percent = 100.0 * static_cast<double>(lost) / r.packets;
  r.mean_burst = runs ? static_cast<double>(lost) / static_cast<double>(runs) : 1.0;
  last_loss_ = r.loss_percent;
  last_burst_ = r.mean_burst;
  // The run of losses this loss makes once in a thousand (p^n = 0.001) is not an outage.
  const double q = r.loss_percent / 100;
  outage_gap_ = kOutageGap;
  if (q > 0 && q < 1) {
    const double n = std::ceil(std::log(0.001) / std::log(q));
    outage_gap_ = static_cast<uint64_t>(
        std::clamp(n, static_cast<double>(kOutageGap), static_cast<double>(kMaxOutageGap)));
  } else if (q >= 1) {
    outage_gap_ = kMaxOutageGap;
  }
  return r;
}

}  // namespace wzp::proto
