// Loss before FEC on one incoming stream, as the impairment on the path caused it: packets that
// never came, over the sequence numbers since the last report.
//
// Reordering is not loss: a report counts only sequence numbers older than the deepest
// reordering seen lately, so a packet overtaken by its successors still counts as received.
// An outage is not a loss rate either (no FEC can fix a second of silence, and it says nothing
// about the path since): a gap longer than the loss of late makes likely is left out, and
// counted apart. That is kOutageGap on a path losing little; on one losing most packets, runs
// that long are what the loss itself makes (at 96 % a third of the gaps are 25 or more), so
// the bound grows with the loss measured, to the run that loss makes once in a thousand, at
// most kMaxOutageGap. Duplicates count once. State is a fixed ring of the last kSpan sequence
// numbers. A report over no packets at all (nothing came) repeats the last one's loss: nothing
// arriving is no sign of the path getting better.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>

namespace wzp::proto {

struct LossReport {
  double loss_percent = 0;
  double mean_burst = 1.0;  // mean length of runs of lost packets
  uint32_t packets = 0;     // sequence numbers the report covers
  uint32_t outage_packets = 0;
  uint32_t reorder_depth = 0;  // deepest reordering since the last report, packets
};

class LossMeter {
 public:
  static constexpr uint64_t kSpan = 1024;
  static constexpr uint64_t kOutageGap = 25;
  static constexpr uint64_t kMaxOutageGap = 150;

  // An authenticated packet with extended sequence number `ext`.
  void on_packet(uint64_t ext);
  // What happened since the last report.
  LossReport take();

 private:
  bool in_outage(uint64_t seq) const;

  bool started_ = false;
  uint64_t highest_ = 0;
  uint64_t unreported_ = 0;  // the oldest sequence number no report has covered yet
  double reorder_ = 0;       // deepest recent reordering, packets
  std::bitset<kSpan> received_;
  struct Range {
    uint64_t from = 1, to = 0;  // inclusive; from > to: unused
  };
  std::array<Range, 8> outages_{};
  uint32_t outage_packets_ = 0;
  uint32_t depth_ = 0;                     // since the last report
  uint64_t outage_gap_ = kOutageGap;       // gaps this long or longer are outages
  double last_loss_ = 0, last_burst_ = 1;  // the last report over any packets
};

}  // namespace wzp::proto
