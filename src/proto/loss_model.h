// Packet-loss models for simulation: independent random loss and Gilbert-Elliott burst loss.
// Deterministic for a seed, so that tests and benchmarks are reproducible; the impairment
// proxy (wzp-netem) uses the same models on real packets.
#pragma once

#include <cstdint>
#include <random>

namespace wzp::proto {

class LossModel {
 public:
  virtual ~LossModel() = default;
  virtual bool lose() = 0;  // draws the fate of the next packet
};

class NoLoss : public LossModel {
 public:
  bool lose() override { return false; }
};

class RandomLoss : public LossModel {
 public:
  RandomLoss(double probability, uint64_t seed) : p_(probability), rng_(seed) {}
  bool lose() override { return std::uniform_real_distribution<double>(0, 1)(rng_) < p_; }

 private:
  double p_;
  std::mt19937_64 rng_;
};

// Two-state Markov chain: in the bad state packets are lost with loss_bad, in the good state
// with loss_good.
class GilbertElliott : public LossModel {
 public:
  GilbertElliott(double p_good_to_bad, double p_bad_to_good, double loss_good, double loss_bad,
                 uint64_t seed)
      : p_gb_(p_good_to_bad),
        p_bg_(p_bad_to_good),
        loss_good_(loss_good),
        loss_bad_(loss_bad),
        rng_(seed) {}

  // All packets lost in the bad state, none in the good: mean loss and mean burst length.
  static GilbertElliott with_bursts(double mean_loss, double mean_burst, uint64_t seed) {
    const double p_bg = 1.0 / mean_burst;
    const double p_gb = mean_loss * p_bg / (1.0 - mean_loss);
    return GilbertElliott(p_gb, p_bg, 0.0, 1.0, seed);
  }

  bool lose() override {
    const double u = uniform();
    bad_ = bad_ ? !(u < p_bg_) : u < p_gb_;
    return uniform() < (bad_ ? loss_bad_ : loss_good_);
  }

 private:
  double uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  double p_gb_, p_bg_, loss_good_, loss_bad_;
  bool bad_ = false;
  std::mt19937_64 rng_;
};

}  // namespace wzp::proto
