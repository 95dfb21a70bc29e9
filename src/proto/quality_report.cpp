#include "proto/quality_report.h"

#include <algorithm>
#include <cmath>

namespace wzp::proto {
namespace {

uint8_t clamp_u8(double v) {
  if (!(v > 0.0)) return 0;  // negative or NaN
  return static_cast<uint8_t>(std::lround(std::min(v, 255.0)));
}

}  // namespace

QualityReport QualityReport::from_measurements(double loss_percent, double rtt_ms, double jitter_ms,
                                               double bitrate_cap_kbps) {
  QualityReport r;
  r.loss = clamp_u8(loss_percent * 255.0 / 100.0);
  r.rtt_4ms = clamp_u8(rtt_ms / 4.0);
  r.jitter_ms = clamp_u8(jitter_ms);
  r.bitrate_cap_kbps = clamp_u8(bitrate_cap_kbps);
  return r;
}

void QualityReport::write(std::span<uint8_t, kSize> out) const {
  out[0] = loss;
  out[1] = rtt_4ms;
  out[2] = jitter_ms;
  out[3] = bitrate_cap_kbps;
}

Result<QualityReport> QualityReport::parse(std::span<const uint8_t> in) {
  if (in.size() < kSize) return Error{Errc::kTruncated, "quality report needs 4 bytes"};
  return QualityReport{in[0], in[1], in[2], in[3]};
}

}  // namespace wzp::proto
