#include "transport/impairment.h"

#include <algorithm>

namespace wzp::transport {

Impairment::Impairment(const ImpairmentConfig& config) : config_(config), rng_(config.seed) {
  if (config.burst_loss > 0) {
    loss_ = std::make_unique<proto::GilbertElliott>(
        proto::GilbertElliott::with_bursts(config.burst_loss, config.mean_burst, config.seed + 1));
  } else if (config.loss > 0) {
    loss_ = std::make_unique<proto::RandomLoss>(config.loss, config.seed + 1);
  } else {
    loss_ = std::make_unique<proto::NoLoss>();
  }
}

uint64_t Impairment::jittered(uint64_t at) {
  uint64_t t = at + config_.delay_ms;
  if (config_.jitter_ms) t += std::uniform_int_distribution<uint32_t>(0, config_.jitter_ms)(rng_);
  if (!config_.reorder) t = std::max(t, last_delivery_);
  last_delivery_ = std::max(last_delivery_, t);
  return t;
}

void Impairment::follow_steps(uint64_t now) {
  const uint64_t step = now / std::max<uint64_t>(1, config_.step_ms);
  if (step == step_) return;
  step_ = step;
  // Each step draws from its own seed, so a step's fates do not depend on the ones before.
  loss_ = std::make_unique<proto::RandomLoss>(config_.loss_steps[step % config_.loss_steps.size()],
                                              config_.seed + 1 + step);
}

Impairment::Decision Impairment::on_packet(uint64_t now, size_t bytes) {
  ++counters_.received;
  if (!config_.loss_steps.empty()) follow_steps(now);
  Decision d;
  for (const auto& o : config_.outages) {
    if (now >= o.start_ms && now < o.start_ms + o.duration_ms) {
      ++counters_.outage;
      d.fate = Fate::kOutage;
      return d;
    }
  }
  if (loss_->lose()) {
    ++counters_.lost;
    d.fate = Fate::kLost;
    return d;
  }
  uint64_t leaves = now;
  if (config_.rate_kbps) {
    // Packets queue for the capped link; a full queue drops the newcomer (tail drop).
    std::erase_if(in_queue_, [&](uint64_t t) { return t <= now; });
    if (in_queue_.size() >= config_.queue_packets) {
      ++counters_.queue_drops;
      d.fate = Fate::kQueueFull;
      return d;
    }
    const uint64_t tx_us = bytes * 8 * 1000 / config_.rate_kbps;
    link_free_at_us_ = std::max(link_free_at_us_, now * 1000) + tx_us;
    leaves = (link_free_at_us_ + 999) / 1000;
    in_queue_.push_back(leaves);
  }
  d.deliver_at_ms[d.deliveries++] = jittered(leaves);
  if (config_.duplicate > 0 &&
      std::uniform_real_distribution<double>(0, 1)(rng_) < config_.duplicate) {
    d.deliver_at_ms[d.deliveries++] = jittered(leaves);
    ++counters_.duplicated;
  }
  counters_.delivered += d.deliveries;
  return d;
}

}  // namespace wzp::transport
