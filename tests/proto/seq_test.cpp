#include "proto/seq.h"

#include <gtest/gtest.h>

namespace wzp::proto {
namespace {

TEST(Seq, DiffWrapsAround) {
  EXPECT_EQ(seq_diff(65535, 0), 1);
  EXPECT_EQ(seq_diff(0, 65535), -1);
  EXPECT_EQ(seq_diff(65000, 200), 736);
  EXPECT_TRUE(seq_before(65530, 3));
  EXPECT_FALSE(seq_before(3, 65530));
  EXPECT_FALSE(seq_before(7, 7));
}

TEST(Seq, ExtenderFollowsRolloversAndReordering) {
  SeqExtender ext;
  uint64_t expected = 65530;
  for (int i = 0; i < 20; ++i, ++expected) {
    const auto wire = static_cast<uint16_t>(expected);
    ASSERT_EQ(ext.extend(wire), expected);
    ext.update(ext.extend(wire));
  }
  EXPECT_EQ(ext.highest(), 65549u);
  // A late packet from before the wrap extends into the previous cycle.
  EXPECT_EQ(ext.extend(65533), 65533u);
  ext.update(65533);
  EXPECT_EQ(ext.highest(), 65549u);
  // Three full cycles later the counter keeps counting.
  for (uint64_t v = 65550; v < 65550 + 3 * 65536; v += 1000) {
    ASSERT_EQ(ext.extend(static_cast<uint16_t>(v)), v);
    ext.update(v);
  }
}

TEST(Seq, ExtenderNeverGoesNegative) {
  SeqExtender ext;
  ext.update(ext.extend(2));
  EXPECT_EQ(ext.extend(65535), 65535u);  // would be -1: taken as a fresh value instead
}

}  // namespace
}  // namespace wzp::proto
