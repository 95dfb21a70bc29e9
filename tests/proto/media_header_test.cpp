#include "proto/media_header.h"

#include <gtest/gtest.h>

#include <array>

#include "proto/quality_report.h"

namespace wzp::proto {
namespace {

MediaHeader sample() {
  MediaHeader h;
  h.is_repair = true;
  h.codec = CodecId::kCodec2_1200;
  h.has_quality_report = true;
  h.fec_ratio_code = 0x55;  // 1010101: high bit 1, low six 010101
  h.seq = 0xBEEF;
  h.timestamp_ms = 0x01020304;
  h.fec_block_id = 7;
  h.fec_symbol_idx = 9;
  h.reserved = 0;
  h.csrc_count = 2;
  return h;
}

TEST(MediaHeader, KnownBytes) {
  std::array<uint8_t, MediaHeader::kSize> out{};
  sample().write(out);
  // byte 0: version 0, repair 1, codec 0100, Q 1, ratio bit6 1 -> 0 1 0100 1 1 = 0x53
  // byte 1: ratio bits 5..0 = 010101, unused 00 -> 0x54
  const std::array<uint8_t, 12> expected = {0x53, 0x54, 0xBE, 0xEF, 0x01, 0x02,
                                            0x03, 0x04, 0x07, 0x09, 0x00, 0x02};
  EXPECT_EQ(out, expected);
}

TEST(MediaHeader, RoundTripsEveryCodecAndRatio) {
  for (uint8_t codec = 0; codec <= kMaxCodecId; ++codec) {
    for (uint8_t ratio = 0; ratio <= kMaxFecRatioCode; ratio += 7) {
      MediaHeader h = sample();
      h.codec = static_cast<CodecId>(codec);
      h.fec_ratio_code = ratio;
      std::array<uint8_t, MediaHeader::kSize> buf{};
      h.write(buf);
      auto parsed = MediaHeader::parse(buf);
      ASSERT_TRUE(parsed.ok());
      EXPECT_EQ(*parsed, h);
    }
  }
}

TEST(MediaHeader, RejectsTruncatedVersionAndUnknownCodec) {
  std::array<uint8_t, MediaHeader::kSize> buf{};
  sample().write(buf);
  EXPECT_EQ(MediaHeader::parse(std::span(buf).first(11)).error().code, Errc::kTruncated);
  auto bad_version = buf;
  bad_version[0] |= 0x80;
  EXPECT_EQ(MediaHeader::parse(bad_version).error().code, Errc::kBadVersion);
  auto bad_codec = buf;
  bad_codec[0] = static_cast<uint8_t>((bad_codec[0] & ~0x3C) | (11 << 2));
  EXPECT_EQ(MediaHeader::parse(bad_codec).error().code, Errc::kUnknownCodec);
}

TEST(MediaHeader, FecRatioCodeCoversZeroToTwo) {
  EXPECT_EQ(fec_ratio_to_code(0.0), 0);
  EXPECT_EQ(fec_ratio_to_code(2.0), 127);
  EXPECT_EQ(fec_ratio_to_code(5.0), 127);
  EXPECT_EQ(fec_ratio_to_code(-1.0), 0);
  for (double r : {0.1, 0.2, 0.5, 1.0, 1.5}) {
    EXPECT_NEAR(fec_ratio_from_code(fec_ratio_to_code(r)), r, 1.0 / 127);
  }
}

TEST(QualityReport, MapsAndClampsMeasurements) {
  const auto r = QualityReport::from_measurements(100.0, 1020.0, 300.0, 28.8);
  EXPECT_EQ(r.loss, 255);
  EXPECT_DOUBLE_EQ(r.loss_percent(), 100.0);
  EXPECT_EQ(r.rtt_ms(), 1020u);
  EXPECT_EQ(r.jitter_ms, 255);
  EXPECT_EQ(r.bitrate_cap_kbps, 29);
  const auto low = QualityReport::from_measurements(-5, 2000, -1, 0);
  EXPECT_EQ(low.loss, 0);
  EXPECT_EQ(low.rtt_4ms, 255);
  EXPECT_EQ(low.jitter_ms, 0);
  std::array<uint8_t, 4> buf{};
  r.write(buf);
  EXPECT_EQ(buf, (std::array<uint8_t, 4>{255, 255, 255, 29}));
  EXPECT_EQ(*QualityReport::parse(buf), r);
  EXPECT_FALSE(QualityReport::parse(std::span(buf).first(3)).ok());
}

}  // namespace
}  // namespace wzp::proto
