// Silence suppression on speech with pauses: what it saves on the wire, and that the far end
// hears comfort noise, not dead air, in the pauses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>

#include "client/sim_call.h"
#include "codec/vad.h"
#include "speech.h"

namespace wzp::client {
namespace {

// Speech from espeak-ng (Debian), alternating with pauses of background noise: talking half
// the time, as in a conversation.
std::vector<int16_t> speech_with_pauses() {
  const auto speech = interop::espeak_speech(
      "The relay forwards every packet to the others in the room, and it never decodes the audio.",
      160);
  EXPECT_FALSE(speech.empty()) << "needs espeak-ng and sox";
  std::mt19937 rng(7);
  std::normal_distribution<double> hiss(0, 30);  // quiet room noise, RMS 30
  std::vector<int16_t> out;
  for (int round = 0; round < 4; ++round) {
    for (int16_t s : speech) out.push_back(static_cast<int16_t>(s + hiss(rng)));
    for (size_t i = 0; i < speech.size(); ++i) out.push_back(static_cast<int16_t>(hiss(rng)));
  }
  out.resize(out.size() / kPcmFrame * kPcmFrame);
  return out;
}

struct CallResult {
  uint64_t bytes = 0;
  CallDecoderStats rx;
  std::vector<int16_t> played;
};

CallResult call_with(const std::vector<int16_t>& audio, bool suppress) {
  CallEncoderConfig c;
  c.adaptive = false;
  c.silence_suppression = suppress;
  SimCall call(c);
  const auto frames = static_cast<uint32_t>(audio.size() / kPcmFrame);
  call.run(frames / 50, {},
           [&](uint32_t t) { return std::span(audio).subspan(t * kPcmFrame, kPcmFrame); });
  return {call.encoder->stats().bytes, call.decoder->stats(), call.output};
}

TEST(SilenceSuppression, SavesBandwidthOnSpeechWithPausesAndFillsPausesWithComfortNoise) {
  const auto audio = speech_with_pauses();
  const CallResult plain = call_with(audio, false);
  const CallResult vad = call_with(audio, true);
  const double saved = 1.0 - static_cast<double>(vad.bytes) / plain.bytes;
  std::printf(
      "silence suppression: %lu bytes with, %lu without: %.1f %% saved; comfort-noise "
      "slots %lu of %lu\n",
      vad.bytes, plain.bytes, 100 * saved, vad.rx.slots_comfort,
      vad.rx.slots_comfort + vad.rx.slots_decoded + vad.rx.slots_concealed);
  EXPECT_GT(saved, 0.35);  // half the time is pause; hangover and comfort noise cost a little
  EXPECT_GT(vad.rx.slots_comfort, 200u);
  // The pauses are not dead air: comfort noise near the room's level, not zeros.
  const size_t half = audio.size() / 8;  // a point inside the first pause
  const auto pause = std::span(vad.played).subspan(half + kPcmFrame * 30, codec::kSampleRate / 2);
  const double level = codec::rms(pause);
  EXPECT_GT(level, 5);
  EXPECT_LT(level, 150);
}

// Comfort noise is sent unprotected, whatever the protection speech gets: a lost noise update
// only keeps the last level a little longer. A listener in silence on a lossy path used to send
// a repair with each update (10 packets a second instead of 5, each acknowledged down its own,
// perhaps narrow, path).
TEST(SilenceSuppression, ComfortNoiseCarriesNoRepairs) {
  CallEncoderConfig c;
  SimCall call(c);
  const std::vector<int16_t> hush(kPcmFrame, 0);
  call.run(
      10,
      [&](uint32_t s) {
        call.encoder->on_peer_quality({.loss_percent = 20, .packets = 200}, s * 1000ull);
      },
      [&](uint32_t) { return std::span<const int16_t>(hush); });
  const auto& st = call.encoder->stats();
  EXPECT_GT(call.encoder->fec_config().ratio, 0.5);  // speech would be protected
  EXPECT_EQ(st.speech_frames, 0u);
  EXPECT_GE(st.comfort_noise, 45u);  // one update per 200 ms
  EXPECT_EQ(call.link.sent, st.comfort_noise);
}

// What a network observer, or the relay, sees of a call: datagram sizes and times (the header
// is authenticated, not encrypted, and the payload's size shows). Counted per second.
struct Observed {
  std::vector<uint32_t> packets, bytes;
};

struct Tap : DatagramSink {
  Observed seen;
  uint64_t now = 0;
  void send(std::span<const uint8_t> d) override {
    const size_t s = now / 1000;
    if (seen.packets.size() <= s) {
      seen.packets.resize(s + 1);
      seen.bytes.resize(s + 1);
    }
    ++seen.packets[s];
    seen.bytes[s] += static_cast<uint32_t>(d.size());
  }
};

Observed observe(const std::vector<int16_t>& audio, bool suppress) {
  CallEncoderConfig c;
  c.adaptive = false;
  c.silence_suppression = suppress;
  SimCall keys(c);  // for its sealer
  Tap tap;
  CallEncoder enc(c, *keys.tx, tap);
  for (size_t t = 0; t < audio.size() / kPcmFrame; ++t) {
    for (uint64_t sub = 0; sub < 4; ++sub) {
      tap.now = t * 20 + sub * 5;
      if (sub == 0) enc.push(std::span(audio).subspan(t * kPcmFrame, kPcmFrame), tap.now);
      enc.pace(tap.now);
    }
  }
  return tap.seen;
}

// Finding 11 (metadata). With silence suppression the pauses stand out on the wire: an observer
// who counts packets per second tells speech from pause in nearly every second, which is who
// speaks when. With silence suppression off (wzp-client --constant-rate) every second looks
// the same, in packets and in bytes (Opus runs at a constant bit rate): nothing to tell them
// apart. Its cost in bytes is printed (docs/BENCHMARKS.md).
TEST(Metadata, AnObserverCannotTellSpeechFromPausesInAConstantRateCall) {
  const auto audio = speech_with_pauses();
  const size_t segment = audio.size() / 8;        // speech, pause, speech, ... (4 rounds)
  const auto truth = [&](size_t second) -> int {  // 1 speech, 0 pause, -1 a second that straddles
    const size_t a = second * codec::kSampleRate, b = a + codec::kSampleRate - 1;
    if (a / segment != b / segment || b >= audio.size()) return -1;
    return (a / segment) % 2 == 0;
  };
  const auto judge = [&](const Observed& o, size_t& seconds) {  // the observer's best guess
    std::vector<uint32_t> sorted(o.packets.begin(), o.packets.end());
    std::sort(sorted.begin(), sorted.end());
    const double threshold = (sorted.front() + sorted.back()) / 2.0;
    size_t right = 0;
    seconds = 0;
    for (size_t s = 0; s < o.packets.size(); ++s) {
      if (truth(s) < 0) continue;
      ++seconds;
      right += (o.packets[s] > threshold) == (truth(s) == 1);
    }
    return static_cast<double>(right) / seconds;
  };
  const Observed suppressed = observe(audio, true), constant = observe(audio, false);
  size_t n = 0;
  const double told = judge(suppressed, n);
  std::printf(
      "silence suppression: the observer tells speech from pause in %.0f %% of %zu seconds\n",
      100 * told, n);
  EXPECT_GT(told, 0.9);
  EXPECT_GE(n, 8u);

  uint64_t s_bytes = 0, c_bytes = 0;
  for (auto b : suppressed.bytes) s_bytes += b;
  for (auto b : constant.bytes) c_bytes += b;
  std::vector<uint32_t> speech_sizes, pause_sizes;
  for (size_t s = 1; s + 1 < constant.packets.size(); ++s) {  // whole seconds
    if (truth(s) < 0) continue;
    EXPECT_EQ(constant.packets[s], constant.packets[1]) << "second " << s;
    EXPECT_EQ(constant.bytes[s], constant.bytes[1]) << "second " << s;
  }
  std::printf(
      "constant rate: every second %u packets, %u bytes; %.2f x the bytes of silence "
      "suppression (%lu against %lu)\n",
      constant.packets[1], constant.bytes[1], static_cast<double>(c_bytes) / s_bytes, c_bytes,
      s_bytes);
}

}  // namespace
}  // namespace wzp::client
