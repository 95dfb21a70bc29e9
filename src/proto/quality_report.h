// The 4-byte quality report trailer carried when the header's Q flag is set.
#pragma once

#include <cstdint>
#include <span>

#include "proto/result.h"

namespace wzp::proto {

struct QualityReport {
  static constexpr size_t kSize = 4;

  uint8_t loss = 0;              // 0..255 maps onto 0..100 %
  uint8_t rtt_4ms = 0;           // RTT in 4 ms units, 0..1020 ms
  uint8_t jitter_ms = 0;         // 0..255 ms
  uint8_t bitrate_cap_kbps = 0;  // 0 = no cap

  // Clamps every measurement into its field's range.
  static QualityReport from_measurements(double loss_percent, double rtt_ms, double jitter_ms,
                                         double bitrate_cap_kbps);
  double loss_percent() const { return loss * 100.0 / 255.0; }
  uint32_t rtt_ms() const { return rtt_4ms * 4u; }

  void write(std::span<uint8_t, kSize> out) const;
  static Result<QualityReport> parse(std::span<const uint8_t> in);
  bool operator==(const QualityReport&) const = default;
};

}  // namespace wzp::proto
