#include "proto/trunk_frame.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace wzp::proto {
namespace {

TEST(TrunkFrame, KnownBytesAndRoundTrip) {
  TrunkBuilder b(TrunkLimits{});
  const std::vector<uint8_t> p1 = {0xAA, 0xBB};
  const std::vector<uint8_t> p2 = {0xCC};
  ASSERT_TRUE(b.try_add(0x0102, p1));
  ASSERT_TRUE(b.try_add(0x0304, p2));
  const std::vector<uint8_t> expected = {0x02, 0x00, 0x02, 0x01, 0x02, 0x00, 0x02,
                                         0xAA, 0xBB, 0x03, 0x04, 0x00, 0x01, 0xCC};
  const auto bytes = b.bytes();
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), expected);

  std::array<TrunkEntry, 10> entries;
  auto n = parse_trunk_frame(bytes, TrunkLimits{}, entries);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 2u);
  EXPECT_EQ(entries[0].session_id, 0x0102);
  EXPECT_EQ(std::vector<uint8_t>(entries[0].payload.begin(), entries[0].payload.end()), p1);
  EXPECT_EQ(entries[1].session_id, 0x0304);
  EXPECT_EQ(entries[1].payload.size(), 1u);
}

TEST(TrunkFrame, BuilderRespectsEntryCountAndMtu) {
  TrunkBuilder b(TrunkLimits{.max_entries = 3, .max_bytes = 100});
  const std::vector<uint8_t> p(20, 7);
  EXPECT_TRUE(b.try_add(1, p));
  EXPECT_TRUE(b.try_add(2, p));
  EXPECT_TRUE(b.try_add(3, p));
  EXPECT_FALSE(b.try_add(4, p));  // entry limit
  EXPECT_EQ(b.size(), 3 + 3 * 24u);
  b.clear();
  EXPECT_TRUE(b.empty());
  const std::vector<uint8_t> big(60, 1);
  EXPECT_TRUE(b.try_add(1, big));
  EXPECT_FALSE(b.try_add(2, big));  // 3 + 64 + 64 > 100
  b.clear();
  const std::vector<uint8_t> huge(200, 1);
  EXPECT_FALSE(b.try_add(1, huge));  // never fits: refused with the builder still empty
  EXPECT_TRUE(b.empty());
}

TEST(TrunkFrame, ParserRejectsMalformedFrames) {
  std::array<TrunkEntry, 10> entries;
  const TrunkLimits limits{.max_entries = 2, .max_bytes = 64};
  auto code = [&](std::vector<uint8_t> in) {
    auto r = parse_trunk_frame(in, limits, entries);
    return r.ok() ? std::optional<Errc>() : r.error().code;
  };
  EXPECT_EQ(code({}), Errc::kTruncated);
  EXPECT_EQ(code({0x02, 0x00}), Errc::kTruncated);
  EXPECT_EQ(code({0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00}), Errc::kBadValue);  // a media tag
  EXPECT_EQ(code({0x02, 0x00, 0x00}), Errc::kBadValue);
  EXPECT_EQ(code({0x02, 0x00, 0x03}), Errc::kTooLarge);               // over max_entries
  EXPECT_EQ(code({0x02, 0x00, 0x01, 0x00, 0x01}), Errc::kTruncated);  // entry header cut
  EXPECT_EQ(code({0x02, 0x00, 0x01, 0x00, 0x01, 0x00, 0x05, 1}), Errc::kTruncated);
  EXPECT_EQ(code({0x02, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 1, 9}), Errc::kLengthMismatch);
  EXPECT_EQ(code(std::vector<uint8_t>(65, 0)), Errc::kTooLarge);              // over the MTU
  EXPECT_EQ(code({0x02, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00}), std::nullopt);  // empty payload
}

}  // namespace
}  // namespace wzp::proto
