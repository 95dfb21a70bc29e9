// The listening measurement judges the recording alone: delay by alignment, and only audio that
// is the sent segment itself counts as arrived.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <random>

#include "codec/audio_codec.h"
#include "codec/listening.h"
#include "speech.h"

namespace wzp::codec {
namespace {

constexpr size_t kSeg = kProbeSegmentMs * 48;

std::vector<int16_t> delayed(const ProbeSignal& p, double ms) {
  std::vector<int16_t> out(static_cast<size_t>(ms * 48), 0);
  out.insert(out.end(), p.pcm.begin(), p.pcm.end());
  out.resize(out.size() + 48000, 0);
  return out;
}

// Places segments [from, to) of `p` at `delay_ms` in `rx`.
void place(const ProbeSignal& p, std::vector<int16_t>& rx, size_t from, size_t to,
           double delay_ms) {
  for (size_t i = from; i < to; ++i) {
    const size_t at = i * kSeg + static_cast<size_t>(delay_ms * 48);
    std::copy_n(p.pcm.begin() + static_cast<std::ptrdiff_t>(i * kSeg), kSeg,
                rx.begin() + static_cast<std::ptrdiff_t>(at));
  }
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
    rx[base + 150 * kSeg + n] =
        static_cast<int16_t>(8000 * std::sin(2 * std::numbers::pi * 1000.0 * n / 48000));
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

// A call whose first seconds played 600 ms later than the rest (a start-up stretch, then a
// playout restart): a wrong alignment holds on by itself, since any frequency recurs within the
// +-200 ms search of a wrong place about 10 times in 16. On real processes such a lock read a
// call heard at 90.6 % within 312 ms as 63.7 % within 837 ms. Once a second the alignment most
// segments agree on exactly takes over.
TEST(Listening, AWrongAlignmentIsLeftForTheOneMostSegmentsAgreeOn) {
  const auto p = make_probe_signal(20, 11);
  std::vector<int16_t> rx(static_cast<size_t>(22 * 48000), 0);
  place(p, rx, 0, 75, 900);    // 3 s at 900 ms
  place(p, rx, 75, 500, 300);  // then at 300 ms
  const auto r = listen(p, rx, 0);
  EXPECT_GE(r.fidelity_percent, 90);
  EXPECT_NEAR(r.mouth_to_ear_ms, 300, 3);
  EXPECT_NEAR(r.delay_ms[450], 300, 3);
}

// A talker's first frames queued behind a join's signalling on a 24 kbit/s path: the playout
// starts 630 ms late and the jitter buffer steps down a 60 ms frame at a time (the frame it
// drops is lost) every eight segments, to 270 ms. Every segment it played is counted at its
// own delay. (Real processes played this, and the earlier tracker, locking onto the delay the
// steady part agreed on, judged its second second 4 % heard where 76 % was.)
TEST(Listening, AJitterBufferSteppingItsDelayDownIsFollowedFrameByFrame) {
  const auto p = make_probe_signal(12, 11);
  std::vector<int16_t> rx(static_cast<size_t>(14 * 48000), 0);
  size_t played = 0;
  double delay = 630;
  size_t i = 25;
  for (int step = 0; step < 6; ++step, delay -= 60) {
    place(p, rx, i, i + 7, delay);  // then the next segment is the dropped frame's
    played += 7;
    i += 8;
  }
  place(p, rx, i, p.segment_freq.size(), delay);
  played += p.segment_freq.size() - i;
  const auto r = listen(p, rx, 0);
  EXPECT_EQ(r.intact, played);
  EXPECT_NEAR(r.delay_ms[30], 630, 3);
  EXPECT_NEAR(r.delay_ms[60], 390, 3);
  EXPECT_NEAR(r.delay_ms[200], 270, 3);
}

// Seconds of silence (an outage) are not filled in with chance matches: at some delay within
// the 4 s searched, a stretch of the recording always holds a few segments' frequencies.
TEST(Listening, AnOutageIsNotFilledWithChanceMatches) {
  const auto p = make_probe_signal(20, 11);
  std::vector<int16_t> rx(static_cast<size_t>(22 * 48000), 0);
  place(p, rx, 0, 200, 50);
  place(p, rx, 275, p.segment_freq.size(), 50);  // 3 s (75 segments) never arrived
  const auto r = listen(p, rx, 0);
  EXPECT_EQ(r.intact, r.segments - 75);
  for (size_t k = 200; k < 275; ++k) EXPECT_LT(r.delay_ms[k], 0) << k;
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

const std::vector<int16_t>& speech() {
  static const auto pcm = interop::espeak_speech(interop::speech_passage());
  return pcm;
}

// Speech through a codec; the frames `lost` names are concealed by the decoder instead.
std::vector<int16_t> decoded(proto::CodecId id, std::span<const int16_t> pcm,
                             const std::function<bool(size_t)>& lost = {}) {
  auto enc = make_encoder(id);
  auto dec = make_decoder(id);
  const size_t n = frame_samples(id);
  std::vector<int16_t> out(pcm.size());
  std::vector<uint8_t> buf(kMaxEncodedBytes);
  for (size_t at = 0, f = 0; at + n <= pcm.size(); at += n, ++f) {
    const size_t len = enc->encode(pcm.subspan(at, n), buf);
    if (lost && lost(f)) {
      dec->conceal(std::span(out).subspan(at, n));
    } else {
      dec->decode(std::span(buf).first(len), std::span(out).subspan(at, n));
    }
  }
  return out;
}

std::vector<int16_t> shifted(std::span<const int16_t> pcm, double ms) {
  std::vector<int16_t> out(static_cast<size_t>(ms * 48), 0);
  out.insert(out.end(), pcm.begin(), pcm.end());
  out.resize(out.size() + 48000, 0);
  return out;
}

// A listener that joined 5 s before the talker: the signal sits 5.3 s into its recording, past
// the 4 s of delay searched from the recording's start. The search starts where the signal
// could first play (offset), not at the recording's start; before, only chance matches at wrong
// places were found, and a call through 60 % loss on each leg read as 18-29 % with no delay.
TEST(Listening, ARecordingThatBeganLongBeforeTheSignalIsSearchedFromTheSignal) {
  const auto p = make_probe_signal(10, 5);
  const auto r = listen(p, delayed(p, 5300), -5000);
  EXPECT_DOUBLE_EQ(r.fidelity_percent, 100);
  EXPECT_NEAR(r.mouth_to_ear_ms, 300, 3);
  ASSERT_FALSE(speech().empty()) << "needs espeak-ng and sox (scripts/install-deps.sh)";
  const auto s = make_speech_signal(speech(), 20);
  const auto rs = listen(s, shifted(s.pcm, 5300), -5000);
  EXPECT_GE(rs.fidelity_percent, 99);
  EXPECT_NEAR(rs.mouth_to_ear_ms, 300, 3);
}

// Speech is judged where it is speech, and a copy is whole wherever it is placed.
TEST(ListeningSpeech, ACopyIsWholeItsDelayIsTheShiftAndPausesAreNotJudged) {
  ASSERT_FALSE(speech().empty()) << "needs espeak-ng and sox (scripts/install-deps.sh)";
  const auto s = make_speech_signal(speech(), 20);
  ASSERT_EQ(s.pcm.size(), 20u * 48000);
  EXPECT_GE(listen(s, shifted(s.pcm, 135), 0).fidelity_percent, 99);
  // 137 ms sits 2 ms off the 5 ms grid the listener searches: a few sharp onsets then differ.
  const auto r = listen(s, shifted(s.pcm, 137), 20);
  EXPECT_GE(r.fidelity_percent, 97);
  EXPECT_NEAR(r.mouth_to_ear_ms, 157, 3);
  // Pauses, and speech that holds still (where concealment could not be told from delivery),
  // are not judged: about a third of the 500 segments are.
  EXPECT_LT(r.segments, 300u);
  EXPECT_GT(r.segments, 100u);
  // Silence, or the speech a second late, or louder by 10 dB, is not what was sent.
  EXPECT_EQ(listen(s, std::vector<int16_t>(s.pcm.size() + 48000, 0), 0).intact, 0u);
  auto loud = shifted(s.pcm, 40);
  for (auto& x : loud) x = static_cast<int16_t>(std::clamp(x * 3.16, -32768.0, 32767.0));
  EXPECT_LT(listen(s, loud, 0).fidelity_percent, 20);
}

// Every tier carries speech as itself on a clean path, so a call that moves down the tiers is
// judged on what arrived, not on the codec.
TEST(ListeningSpeech, EveryTiersCleanDecodeCounts) {
  ASSERT_FALSE(speech().empty());
  const auto s = make_speech_signal(speech(), 20);
  for (const auto id :
       {proto::CodecId::kOpus24k, proto::CodecId::kOpus16k, proto::CodecId::kOpus9k,
        proto::CodecId::kOpus6k, proto::CodecId::kOpus7k60, proto::CodecId::kCodec2_1200}) {
    const auto r = listen(s, decoded(id, s.pcm), 0);
    std::printf("%-12s clean: %.2f %% of %zu segments, delay %.1f ms\n",
                std::string(proto::codec_info(id).name).c_str(), r.fidelity_percent, r.segments,
                r.mouth_to_ear_ms);
    // The lower the rate, the more a codec's own distortion costs: this is the measure's
    // ceiling per tier (Codec2's 40 ms frames smear every other half).
    const double floor = id == proto::CodecId::kOpus24k || id == proto::CodecId::kOpus16k ? 93
                         : id == proto::CodecId::kCodec2_1200                             ? 60
                         : id == proto::CodecId::kOpus6k                                  ? 80
                                                                                          : 88;
    EXPECT_GE(r.fidelity_percent, floor) << proto::codec_info(id).name;
  }
}

// Concealment is not delivery: of the segments the decoder had mostly to invent, few count,
// while most of those delivered whole do (the decoder needs a frame or two after a loss to
// sound like itself again, more so at 6 kbit/s).
TEST(ListeningSpeech, ConcealedSegmentsMostlyDoNotCount) {
  ASSERT_FALSE(speech().empty());
  const auto s = make_speech_signal(speech(), 30);
  for (const auto id : {proto::CodecId::kOpus24k, proto::CodecId::kOpus6k}) {
    const size_t n = frame_samples(id);
    const auto codec_delay =
        static_cast<size_t>(listen(s, decoded(id, s.pcm), 0).mouth_to_ear_ms * 48);
    std::mt19937 rng(3);
    std::vector<bool> lost(s.pcm.size() / n);
    for (size_t f = 0; f < lost.size(); ++f) lost[f] = rng() % 5 == 0;  // 20 % random
    const auto r = listen(s, decoded(id, s.pcm, [&](size_t f) { return lost[f]; }), 0);
    size_t whole = 0, whole_intact = 0, mostly = 0, mostly_intact = 0;
    for (size_t i = 0; i < r.delay_ms.size(); ++i) {
      if (!r.counted[i]) continue;
      // The share of segment i's place in the output that concealment filled.
      size_t concealed = 0;
      for (size_t t = i * kSeg + codec_delay; t < (i + 1) * kSeg + codec_delay; ++t) {
        concealed += t / n < lost.size() && lost[t / n];
      }
      if (concealed == 0) whole += 1, whole_intact += r.delay_ms[i] >= 0;
      if (concealed >= kSeg * 3 / 4) mostly += 1, mostly_intact += r.delay_ms[i] >= 0;
    }
    std::printf(
        "%-12s 20 %% loss: %.2f %% overall; delivered whole %zu/%zu, mostly concealed %zu/%zu\n",
        std::string(proto::codec_info(id).name).c_str(), r.fidelity_percent, whole_intact, whole,
        mostly_intact, mostly);
    // The probe through the same codec and the same lost frames: the two signals agree.
    const auto p = make_probe_signal(30, 5);
    const auto tone = listen(p, decoded(id, p.pcm, [&](size_t f) { return lost[f]; }), 0);
    std::printf("             probe: %.2f %%\n", tone.fidelity_percent);
    EXPECT_LE(mostly_intact, mostly / 4) << proto::codec_info(id).name;
    EXPECT_GE(whole_intact, whole * (id == proto::CodecId::kOpus24k ? 85 : 65) / 100)
        << proto::codec_info(id).name;
    // Stricter than the probe, never more lenient: the tone continues through half a segment.
    EXPECT_LE(r.fidelity_percent, tone.fidelity_percent) << proto::codec_info(id).name;
  }
}

}  // namespace
}  // namespace wzp::codec
