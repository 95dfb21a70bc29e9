// The fate of packets on an impaired path, decided from a seeded random source and the
// packet's arrival time alone, so that the same seed and the same traffic give the same
// result. The impairment proxy (wzp-netem) applies it to real UDP; tests use it directly.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "proto/loss_model.h"

namespace wzp::transport {

struct Outage {
  uint64_t start_ms = 0;
  uint64_t duration_ms = 0;
};

struct ImpairmentConfig {
  double loss = 0;              // independent random loss, 0..1
  double burst_loss = 0;        // Gilbert-Elliott mean loss, 0..1 (replaces `loss` when set)
  double mean_burst = 3;        // Gilbert-Elliott mean burst length, packets
  uint32_t delay_ms = 0;        // fixed one-way delay
  uint32_t jitter_ms = 0;       // extra delay, uniform 0..jitter
  bool reorder = true;          // false: jitter never lets a packet overtake an earlier one
  double duplicate = 0;         // probability a packet is delivered twice
  uint32_t rate_kbps = 0;       // bandwidth cap (0: none)
  uint32_t queue_packets = 64;  // packets waiting for the capped link before drops
  std::vector<Outage> outages;  // blackouts: everything in them is lost
  // Random loss that changes every step_ms (0..1 per step, cycling), replacing `loss`.
  std::vector<double> loss_steps;
  uint64_t step_ms = 10000;
  uint64_t seed = 1;
};

struct ImpairmentCounters {
  uint64_t received = 0, delivered = 0, lost = 0, outage = 0, queue_drops = 0, duplicated = 0;
};

class Impairment {
 public:
  explicit Impairment(const ImpairmentConfig& config);

  enum class Fate : uint8_t { kDelivered, kLost, kOutage, kQueueFull };
  struct Decision {
    Fate fate = Fate::kDelivered;
    uint64_t deliver_at_ms[2] = {0, 0};  // one or two deliveries (a duplicate)
    int deliveries = 0;
  };
  // A packet of `bytes` arriving at now_ms (ms since the path started).
  Decision on_packet(uint64_t now_ms, size_t bytes);

  const ImpairmentCounters& counters() const { return counters_; }
  const ImpairmentConfig& config() const { return config_; }

 private:
  uint64_t jittered(uint64_t at);
  void follow_steps(uint64_t now_ms);

  ImpairmentConfig config_;
  std::unique_ptr<proto::LossModel> loss_;
  uint64_t step_ = UINT64_MAX;  // the loss step in force
  std::mt19937_64 rng_;
  uint64_t last_delivery_ = 0;
  uint64_t link_free_at_us_ = 0;    // the capped link's serialisation clock
  std::vector<uint64_t> in_queue_;  // delivery times of packets still queued on the link
  ImpairmentCounters counters_;
};

}  // namespace wzp::transport
