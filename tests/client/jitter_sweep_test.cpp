#include "client/jitter_sweep.h"

#include <gtest/gtest.h>

namespace wzp::client {
namespace {

// More fixed delay never conceals more; a buffer shorter than the jitter conceals the most; the
// adaptive buffer conceals little: on this link (0-80 ms jitter, 2 % loss, 30 s) less than a
// fixed 60 ms at about 100 ms of delay.
TEST(JitterSweep, DelayBuysConcealmentAndTheAdaptiveBufferConcealsLittle) {
  SweepOptions o;
  o.seconds = 30;
  o.fixed_delays_ms = {20, 60, 120, 200};
  const auto points = run_jitter_sweep(o);
  ASSERT_EQ(points.size(), 5u);
  for (const auto& p : points) {
    std::printf("%-14s delay %6.1f ms  concealed %5.2f %%  late %lu\n", p.label.c_str(), p.delay_ms,
                p.concealed, p.late);
  }
  for (size_t i = 1; i < 4; ++i) EXPECT_LE(points[i].concealed, points[i - 1].concealed + 0.5);
  EXPECT_GT(points[0].concealed, 2 * points[2].concealed);  // 20 ms against 0-80 ms of jitter
  const auto& adaptive = points.back();
  EXPECT_LT(adaptive.concealed, 1.5);
  EXPECT_LT(adaptive.delay_ms, 400);
  const auto svg = sweep_svg(points, o);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("adaptive"), std::string::npos);
}

}  // namespace
}  // namespace wzp::client
