#include "proto/quality_controller.h"

#include <algorithm>
#include <cmath>

namespace wzp::proto {
namespace {

constexpr double kGoodLoss = 10, kGoodRtt = 400;
constexpr double kBadLoss = 40, kBadRtt = 600;

// P(X > k) for X ~ Binomial(n, p).
double binomial_tail(uint32_t n, double p, uint32_t k) {
  if (k >= n) return 0;
  double term = std::pow(1 - p, n);  // P(X = 0)
  double cdf = term;
  for (uint32_t i = 1; i <= k; ++i) {
    term *= (static_cast<double>(n - i + 1) / i) * (p / (1 - p));
    cdf += term;
  }
  return std::max(0.0, 1 - cdf);
}

}  // namespace

double required_fec_ratio(uint32_t n, double p, double b, double miss) {
  if (p <= 0) return 0;
  p = std::min(p, 0.95);
  b = std::max(b, 1.0);
  for (int tenth = 0; tenth <= 20; ++tenth) {
    const double r = tenth / 10.0;
    const uint32_t total = n + static_cast<uint32_t>(std::ceil(n * r - 1e-9));
    const uint32_t budget = total - n;
    // Losses come in bursts of b packets: count bursts, not packets.
    const auto units = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(total / b)));
    const auto unit_budget = static_cast<uint32_t>(std::floor(budget / b));
    if (binomial_tail(units, p, unit_budget) < miss) return r;
  }
  return 2.0;
}

std::optional<Tier> QualityController::on_report(const QualitySample& s, uint64_t) {
  loss_ += 0.3 * (s.loss_percent - loss_);
  burst_ += 0.3 * (s.mean_burst - burst_);
  const uint32_t down_needed = cellular_ ? kDownReportsCellular : kDownReports;
  bool bad = false;
  switch (tier_) {
    case Tier::kGood: bad = s.loss_percent > kGoodLoss || s.rtt_ms > kGoodRtt; break;
    case Tier::kDegraded: bad = s.loss_percent > kBadLoss || s.rtt_ms > kBadRtt; break;
    case Tier::kCatastrophic: bad = false; break;
  }
  const bool good = s.loss_percent < kGoodLoss && s.rtt_ms < kGoodRtt;
  bad_run_ = bad ? bad_run_ + 1 : 0;
  good_run_ = good ? good_run_ + 1 : 0;
  if (bad_run_ >= down_needed) {
    tier_ = static_cast<Tier>(static_cast<uint8_t>(tier_) + 1);
    bad_run_ = good_run_ = 0;
    return tier_;
  }
  if (good_run_ >= kUpReports && tier_ != Tier::kGood) {
    tier_ = static_cast<Tier>(static_cast<uint8_t>(tier_) - 1);
    bad_run_ = good_run_ = 0;
    return tier_;
  }
  return std::nullopt;
}

void QualityController::force(Tier tier) {
  tier_ = tier;
  bad_run_ = good_run_ = 0;
}

FecSettings QualityController::fec(uint64_t now_ms) const {
  const QualityProfile& p = profile_for(tier_);
  FecSettings f;
  f.frames_per_block = p.frames_per_block;
  f.interleave_depth = p.interleave_depth;
  const double p_loss = std::clamp(loss_ / 100.0, 0.0, 0.95);
  // Interleaving spreads bursts over `depth` blocks: each block sees shorter runs.
  const double burst = std::max(1.0, burst_ / f.interleave_depth);
  f.ratio = std::max(p.fec_ratio, required_fec_ratio(p.frames_per_block, p_loss, burst, 0.005));
  if (now_ms < boost_until_ms_) f.ratio += kBoost;
  f.ratio = std::min(f.ratio, 2.0);
  return f;
}

}  // namespace wzp::proto
