#include "proto/quality_controller.h"

#include <gtest/gtest.h>

namespace wzp::proto {
namespace {

QualitySample loss(double pct, double rtt = 50) { return {pct, rtt, 5, 1}; }

TEST(QualityController, DownAfterThreeBadReportsTwoOnCellular) {
  QualityController q;
  EXPECT_FALSE(q.on_report(loss(15), 0));
  EXPECT_FALSE(q.on_report(loss(15), 1));
  EXPECT_EQ(q.on_report(loss(15), 2), Tier::kDegraded);
  QualityController cell(Tier::kGood, /*cellular=*/true);
  EXPECT_FALSE(cell.on_report(loss(15), 0));
  EXPECT_EQ(cell.on_report(loss(15), 1), Tier::kDegraded);
  // RTT alone also counts.
  QualityController slow;
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(slow.on_report(loss(0, 450), i));
  EXPECT_EQ(slow.on_report(loss(0, 450), 2), Tier::kDegraded);
}

TEST(QualityController, OneTierAtATimeAndUpOnlyAfterTenGoodReports) {
  QualityController q;
  for (int i = 0; i < 3; ++i) q.on_report(loss(60), i);
  EXPECT_EQ(q.tier(), Tier::kDegraded);
  for (int i = 0; i < 3; ++i) q.on_report(loss(60), i);
  EXPECT_EQ(q.tier(), Tier::kCatastrophic);
  for (int i = 0; i < 9; ++i) EXPECT_FALSE(q.on_report(loss(2), i));
  EXPECT_EQ(q.on_report(loss(2), 9), Tier::kDegraded);
  for (int i = 0; i < 9; ++i) q.on_report(loss(2), i);
  EXPECT_EQ(q.on_report(loss(2), 9), Tier::kGood);
}

TEST(QualityController, DoesNotFlapAroundAThreshold) {
  QualityController q;
  int changes = 0;
  for (int i = 0; i < 200; ++i) changes += q.on_report(loss(i % 3 == 2 ? 5 : 12), i).has_value();
  EXPECT_EQ(changes, 0);  // never 3 bad in a row
  QualityController r(Tier::kDegraded);
  for (int i = 0; i < 200; ++i) changes += r.on_report(loss(i % 9 == 8 ? 12 : 5), i).has_value();
  EXPECT_EQ(changes, 0);  // never 10 good in a row
}

TEST(QualityController, FecRatioFollowsLossAndBurstsAndNetworkChanges) {
  QualityController q(Tier::kDegraded);
  for (int i = 0; i < 5; ++i) q.on_report({0, 50, 5, 1}, i);  // (10 would move it up)
  EXPECT_NEAR(q.fec(0).ratio, 0.5, 1e-9);  // the tier's own ratio on a clean link
  for (int i = 0; i < 20; ++i) q.on_report({20, 50, 5, 1}, i);
  const double at20 = q.fec(0).ratio;
  EXPECT_GT(at20, 0.5);
  for (int i = 0; i < 20; ++i) q.on_report({20, 50, 5, 3}, i);
  EXPECT_GT(q.fec(0).ratio, at20);  // bursts need more
  q.on_network_change(1000);
  EXPECT_NEAR(q.fec(5000).ratio, std::min(2.0, q.fec(20000).ratio + 0.2), 1e-9);
  EXPECT_LE(q.fec(5000).ratio, 2.0);
}

TEST(QualityController, RequiredRatioGrowsWithLoss) {
  double last = 0;
  for (double p : {0.0, 0.05, 0.1, 0.2, 0.4}) {
    const double r = required_fec_ratio(10, p, 1, 0.005);
    EXPECT_GE(r, last);
    last = r;
  }
  EXPECT_EQ(required_fec_ratio(10, 0, 1, 0.005), 0);
  EXPECT_GE(required_fec_ratio(8, 0.4, 3, 0.005), 1.5);
}

}  // namespace
}  // namespace wzp::proto
