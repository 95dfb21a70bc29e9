// How fast a sender's media clock runs against ours: a least-squares line through (arrival
// time, arrival time - media timestamp); its slope is the rate difference. Jitter scatters the
// points but not the slope, so over tens of seconds the estimate settles to a few ppm.
// Positive: the sender's clock is fast (its media arrives ever earlier than its timestamps say).
#pragma once

#include <cstdint>
#include <optional>

namespace wzp::proto {

class DriftEstimator {
 public:
  void add(uint64_t arrival_ms, uint32_t media_ts_ms) {
    if (!first_) {
      first_ = arrival_ms;
      last_ts_ = media_ts_ms;
      ts_ = 0;
    } else {
      ts_ += static_cast<int32_t>(media_ts_ms - last_ts_);  // unwraps across 2^32
      last_ts_ = media_ts_ms;
    }
    const double x = static_cast<double>(arrival_ms - *first_);
    const double y = x - static_cast<double>(ts_);
    ++n_;
    sx_ += x;
    sy_ += y;
    sxx_ += x * x;
    sxy_ += x * y;
  }
  // Parts per million, once at least `min_span_ms` of arrivals are in.
  std::optional<double> ppm(double min_span_ms = 5000) const {
    if (n_ < 10) return std::nullopt;
    const double var = sxx_ - sx_ * sx_ / n_;
    const double mean_x = sx_ / n_;
    if (var <= 0 || mean_x * 2 < min_span_ms) return std::nullopt;
    const double slope = (sxy_ - sx_ * sy_ / n_) / var;
    return -slope * 1e6;
  }
  uint64_t samples() const { return n_; }

 private:
  std::optional<uint64_t> first_;
  uint32_t last_ts_ = 0;
  int64_t ts_ = 0;
  uint64_t n_ = 0;
  double sx_ = 0, sy_ = 0, sxx_ = 0, sxy_ = 0;
};

}  // namespace wzp::proto
