#include "proto/drift_estimator.h"

#include <gtest/gtest.h>

#include <random>

namespace wzp::proto {
namespace {

// A sender 0.5 % fast, 20 ms frames, arrivals jittered by up to 60 ms: the estimate is within
// 200 ppm of 5000 after a minute, and a true-rate sender reads near zero.
TEST(DriftEstimator, FindsTheSendersClockRateThroughJitter) {
  for (const double true_ppm : {5000.0, 0.0, -2000.0}) {
    DriftEstimator d;
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> jitter(0, 60);
    uint32_t ts = 4294960000u;  // wraps during the run
    for (int i = 0; i < 3000; ++i) {
      const double sent_at = i * 20.0 / (1 + true_ppm / 1e6);
      d.add(static_cast<uint64_t>(1000 + sent_at + jitter(rng)), ts);
      ts += 20;
    }
    ASSERT_TRUE(d.ppm());
    EXPECT_NEAR(*d.ppm(), true_ppm, 200) << true_ppm;
  }
}

TEST(DriftEstimator, SaysNothingUntilItHasEnoughTime) {
  DriftEstimator d;
  for (int i = 0; i < 50; ++i) d.add(static_cast<uint64_t>(i * 20), static_cast<uint32_t>(i * 20));
  EXPECT_FALSE(d.ppm());  // one second of data
}

}  // namespace
}  // namespace wzp::proto
