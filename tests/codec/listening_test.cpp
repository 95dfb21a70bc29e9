// The listening measurement judges the recording alone: delay by alignment, and only audio that
// is the sent segment itself counts as arrived.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "codec/audio_codec.h"
#include "codec/listening.h"

namespace wzp::codec {
namespace {

constexpr size_t kSeg = kProbeSegmentMs * 48;

std::vector<int16_t> delayed(const ProbeSignal& p, double ms) {
  std::vector<int16_t> out(static_cast<size_t>(ms * 48), 0);
  out.insert(out.end(), p.pcm.begin(), p.pcm.end());
  out.resize(out.size() + 48000, 0);
  return out;
}

TEST(Listening, ProbeSegmentsNeverRepeatWithinElevenSegments) {
  const auto p = make_probe_signal(20, 3);
  ASSERT_EQ(p.segment_freq.size(), 500u);
  for (size_t i = 0; i < p.segment_freq.size(); ++i) {
    for (size_t j = i + 1; j < std::min(p.segment_freq.size(), i + 11); ++j) {
      EXPECT_NE(p.segment_freq[i], p.segment_freq[j]);
    }
  }
}

TEST(Listening, AnExactCopyIsWholeAndItsDelayIsTheShift) {
  const auto p = make_probe_signal(10, 1);
  const auto r = listen(p, delayed(p, 137), 20);
  EXPECT_EQ(r.intact, r.segments);
  EXPECT_DOUBLE_EQ(r.fidelity_percent, 100);
  EXPECT_NEAR(r.mouth_to_ear_ms, 157, 3);  // 137 ms shift + the 20 ms offset
}

TEST(Listening, RepeatedOrSilentSegmentsDoNotCount) {
  const auto p = make_probe_signal(10, 2);
  auto rx = delayed(p, 60);
  const size_t base = 60 * 48;
  // Segment 50 replaced by a copy of segment 49 (stale audio), segments 100-102 silent, and 150
  // replaced by an unrelated tone at 1 kHz.
  std::copy_n(p.pcm.begin() + 49 * kSeg, kSeg, rx.begin() + base + 50 * kSeg);
  std::fill_n(rx.begin() + base + 100 * kSeg, 3 * kSeg, 0);
  for (size_t n = 0; n < kSeg; ++n) {
    rx[base + 150 * kSeg + n] = static_cast<int16_t>(8000 * std::sin(2 * std::numbers::pi * 1000.0 * n / 48000));
  }
  const auto r = listen(p, rx, 0);
  EXPECT_EQ(r.segments - r.intact, 5u);
  EXPECT_LT(r.delay_ms[50], 0);
  EXPECT_LT(r.delay_ms[101], 0);
  EXPECT_LT(r.delay_ms[150], 0);
  EXPECT_GE(r.delay_ms[51], 0);
}

TEST(Listening, FollowsTheDelayWhenPlayoutShifts) {
  const auto p = make_probe_signal(10, 4);
  auto rx = delayed(p, 50);
  // 80 ms of concealment-like silence inserted after 5 s: the rest arrives 80 ms later.
  rx.insert(rx.begin() + 50 * 48 + 125 * kSeg, 80 * 48, 0);
  const auto r = listen(p, rx, 0);
  EXPECT_EQ(r.intact, r.segments);
  EXPECT_NEAR(r.delay_ms[50], 50, 3);
  EXPECT_NEAR(r.delay_ms[200], 130, 3);
}

ListeningResult through(proto::CodecId id, const ProbeSignal& p) {
  auto enc = make_encoder(id);
  auto dec = make_decoder(id);
  const size_t n = frame_samples(id);
  std::vector<int16_t> out(p.pcm.size());
  std::vector<uint8_t> buf(kMaxEncodedBytes);
  for (size_t at = 0; at + n <= p.pcm.size(); at += n) {
    const size_t len = enc->encode(std::span(p.pcm).subspan(at, n), buf);
    dec->decode(std::span(buf).first(len), std::span(out).subspan(at, n));
  }
  return listen(p, out, 0);
}

// The probe is a measure of delivery, not of the codec: every Opus rate carries it whole.
TEST(Listening, SurvivesEveryOpusRate) {
  const auto p = make_probe_signal(10, 5);
  const auto r24 = through(proto::CodecId::kOpus24k, p);
  EXPECT_GE(r24.fidelity_percent, 99.5);
  EXPECT_NEAR(r24.mouth_to_ear_ms, 6.5, 5);  // Opus's look-ahead
  EXPECT_GE(through(proto::CodecId::kOpus16k, p).fidelity_percent, 99.5);
  EXPECT_GE(through(proto::CodecId::kOpus6k, p).fidelity_percent, 93);
  // The narrow-path rung: 60 ms frames at 7 kbit/s render as much as Opus 6k in 40 ms frames
  // (Opus 6k in 60 ms frames rendered 90 %).
  EXPECT_GE(through(proto::CodecId::kOpus7k60, p).fidelity_percent, 94);
}

}  // namespace
}  // namespace wzp::codec
