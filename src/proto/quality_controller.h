// Chooses the quality tier and the FEC settings from measured loss, RTT and burstiness.
//
// Tier (hysteresis, one step at a time):
//   GOOD -> DEGRADED        loss > 10 % or RTT > 400 ms for 3 consecutive reports (2 on cellular)
//   DEGRADED -> CATASTROPHIC loss > 40 % or RTT > 600 ms, same count
//   up one tier              after 10 consecutive good reports (loss < 10 % and RTT < 400 ms)
// FEC ratio: the smallest ratio (in steps of 0.1, at least the tier's own) for which a block
// of the tier's size, losing packets in bursts of the measured mean length, is expected to be
// recoverable with probability 99.5 %; plus 0.2 for 10 s after a network change; at most 2.0.
#pragma once

#include <cstdint>
#include <optional>

#include "proto/quality_profile.h"

namespace wzp::proto {

struct QualitySample {
  double loss_percent = 0;  // packets lost before FEC
  double rtt_ms = 0;
  double jitter_ms = 0;
  double mean_burst = 1.0;  // mean length of loss runs, in packets
};

struct FecSettings {
  double ratio = 0;
  uint32_t frames_per_block = 5;
  uint32_t interleave_depth = 1;
};

class QualityController {
 public:
  static constexpr uint32_t kDownReports = 3;
  static constexpr uint32_t kDownReportsCellular = 2;
  static constexpr uint32_t kUpReports = 10;
  static constexpr uint64_t kBoostMs = 10000;
  static constexpr double kBoost = 0.2;

  explicit QualityController(Tier start = Tier::kGood, bool cellular = false)
      : tier_(start), cellular_(cellular) {}

  // Feeds one report; returns the new tier when it changed.
  std::optional<Tier> on_report(const QualitySample& sample, uint64_t now_ms);
  // The path changed (new address, new network): temporary FEC boost.
  void on_network_change(uint64_t now_ms) { boost_until_ms_ = now_ms + kBoostMs; }
  // Pins the tier (a user's fixed profile, or a relay's directive).
  void force(Tier tier);

  Tier tier() const { return tier_; }
  FecSettings fec(uint64_t now_ms) const;

 private:
  Tier tier_;
  bool cellular_;
  uint32_t bad_run_ = 0;
  uint32_t good_run_ = 0;
  double loss_ = 0;   // smoothed
  double burst_ = 1;  // smoothed
  uint64_t boost_until_ms_ = 0;
};

// The FEC ratio needed so that a block of n frames is lost with probability under `miss`,
// given packet loss p and mean burst length b (bursts treated as independent units).
double required_fec_ratio(uint32_t n, double p, double b, double miss);

}  // namespace wzp::proto
