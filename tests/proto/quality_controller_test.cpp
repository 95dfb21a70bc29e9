#include "proto/quality_controller.h"

#include <gtest/gtest.h>

namespace wzp::proto {
namespace {

QualitySample loss(double pct, uint32_t packets = 100, double burst = 1) {
  return {pct, 50, 5, burst, packets};
}

TEST(QualityController, ACleanPathSendsNoRepairsAtAll) {
  QualityController q;
  for (int i = 0; i < 5; ++i) q.on_report(loss(0), i);
  EXPECT_EQ(q.fec(0).ratio, 0);
  EXPECT_EQ(q.codec(), CodecId::kOpus24k);
}

TEST(QualityController, ProtectionMeetsNewLossWithinOneReport) {
  QualityController q;
  q.on_report(loss(0), 0);
  q.on_report(loss(20), 1);
  // Less the sampling noise of 100 packets (4 points at 20 %), but protection at once.
  EXPECT_NEAR(q.loss_estimate(), 16, 0.5);
  EXPECT_GE(q.fec(0).ratio, 0.8);
}

TEST(QualityController, LossAloneKeepsOpusUntilTheProtectionNoLongerFits) {
  QualityController q;
  for (int i = 0; i < 5; ++i) q.on_report(loss(5), i);
  EXPECT_EQ(q.tier(), Tier::kGood);
  for (int i = 0; i < 5; ++i) q.on_report(loss(20), i);
  // 20 %: Opus wideband still, with (most of) a repair per frame inside 64 kbit/s.
  EXPECT_EQ(q.tier(), Tier::kGood);
  EXPECT_GE(q.fec(0).ratio, 0.8);
  EXPECT_LE(wire_kbps(q.codec(), q.fec(0).ratio), QualityController::kDefaultBudgetKbps * 1.05);
  for (int i = 0; i < 5; ++i) q.on_report(loss(40, 100, 3), i);
  EXPECT_EQ(q.tier(), Tier::kDegraded);
  EXPECT_LE(wire_kbps(q.codec(), q.fec(0).ratio), QualityController::kDefaultBudgetKbps * 1.05);
  for (int i = 0; i < 5; ++i) q.on_report(loss(85), i);
  EXPECT_EQ(q.tier(), Tier::kCatastrophic);
}

TEST(QualityController, ASmallBudgetMovesDownWithoutAnyLoss) {
  QualityController q;
  q.set_budget_kbps(24);
  q.on_report(loss(0), 0);
  EXPECT_NE(q.codec(), CodecId::kOpus24k);
  EXPECT_LE(wire_kbps(q.codec(), q.fec(0).ratio), 24);
}

TEST(QualityController, ClimbsBackWithoutFlapping) {
  QualityController q;
  for (int i = 0; i < 5; ++i) q.on_report(loss(40, 100, 3), i);
  ASSERT_EQ(q.tier(), Tier::kDegraded);
  int changes = 0;
  Tier last = q.tier();
  for (int i = 0; i < 30; ++i) {
    q.on_report(loss(0), i);
    changes += q.tier() != last;
    last = q.tier();
  }
  EXPECT_EQ(q.tier(), Tier::kGood);
  EXPECT_EQ(q.codec(), CodecId::kOpus24k);
  EXPECT_LE(changes, 1);
  // A noisy 20 %: seconds of 14-28 % never push the call out of Opus wideband.
  QualityController n;
  const double noisy[] = {20, 14, 27, 19, 23, 16, 28, 21, 18, 25};
  for (int r = 0; r < 10; ++r) {
    for (double l : noisy) {
      n.on_report(loss(l), 0);
      EXPECT_EQ(n.tier(), Tier::kGood) << l;
    }
  }
}

TEST(QualityController, APinnedTierKeepsItsCodecFamilyAndStillProtects) {
  QualityController q;
  q.force(Tier::kCatastrophic);
  for (int i = 0; i < 5; ++i) q.on_report(loss(10), i);
  EXPECT_EQ(q.codec(), CodecId::kCodec2_1200);
  EXPECT_GT(q.fec(0).ratio, 0.5);
  q.force(Tier::kGood);
  for (int i = 0; i < 5; ++i) q.on_report(loss(60), i);
  EXPECT_EQ(q.tier(), Tier::kGood);
}

TEST(QualityController, RatioGrowsWithLossAndBurstsAndNetworkChanges) {
  double last = -1;
  for (double p : {0.0, 1.0, 5.0, 10.0, 20.0, 40.0, 60.0, 80.0}) {
    const double r = protection_ratio(p, 1);
    EXPECT_GE(r, last);
    last = r;
  }
  EXPECT_EQ(protection_ratio(0, 1), 0);
  EXPECT_GT(protection_ratio(40, 1), protection_ratio(20, 1));
  EXPECT_GT(protection_ratio(80, 1), protection_ratio(40, 1));
  EXPECT_GT(protection_ratio(20, 3), protection_ratio(20, 1));
  QualityController q;
  q.set_budget_kbps(200);  // so that the budget does not cap the boost
  for (int i = 0; i < 5; ++i) q.on_report(loss(10), i);
  q.on_network_change(1000);
  EXPECT_NEAR(q.fec(5000).ratio, q.fec(20000).ratio + QualityController::kBoost, 1e-9);
}

}  // namespace
}  // namespace wzp::proto
