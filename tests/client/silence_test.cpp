// Silence suppression on speech with pauses: what it saves on the wire, and that the far end
// hears comfort noise, not dead air, in the pauses.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "codec/vad.h"
#include "client/sim_call.h"

namespace wzp::client {
namespace {

// Speech from espeak-ng (Debian), alternating with pauses of background noise: talking half
// the time, as in a conversation.
std::vector<int16_t> speech_with_pauses() {
  const std::string raw = ::testing::TempDir() + "wzp-pauses.raw";
  const std::string cmd =
      "espeak-ng --stdout -s 160 'The relay forwards every packet to the others in the room, "
      "and it never decodes the audio.' | sox -q -t wav - -r 48000 -c 1 -b 16 -e signed -t raw "
      "'" + raw + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "needs espeak-ng and sox";
  std::ifstream f(raw, std::ios::binary);
  std::vector<int16_t> speech;
  for (int16_t s; f.read(reinterpret_cast<char*>(&s), 2);) speech.push_back(s);
  std::remove(raw.c_str());
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
  call.run(frames / 50, {}, [&](uint32_t t) {
    return std::span(audio).subspan(t * kPcmFrame, kPcmFrame);
  });
  return {call.encoder->stats().bytes, call.decoder->stats(), call.output};
}

TEST(SilenceSuppression, SavesBandwidthOnSpeechWithPausesAndFillsPausesWithComfortNoise) {
  const auto audio = speech_with_pauses();
  const CallResult plain = call_with(audio, false);
  const CallResult vad = call_with(audio, true);
  const double saved = 1.0 - static_cast<double>(vad.bytes) / plain.bytes;
  std::printf("silence suppression: %lu bytes with, %lu without: %.1f %% saved; comfort-noise "
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
  call.run(10, [&](uint32_t s) {
    call.encoder->on_peer_quality({.loss_percent = 20, .packets = 200}, s * 1000ull);
  }, [&](uint32_t) { return std::span<const int16_t>(hush); });
  const auto& st = call.encoder->stats();
  EXPECT_GT(call.encoder->fec_config().ratio, 0.5);  // speech would be protected
  EXPECT_EQ(st.speech_frames, 0u);
  EXPECT_GE(st.comfort_noise, 45u);  // one update per 200 ms
  EXPECT_EQ(call.link.sent, st.comfort_noise);
}

}  // namespace
}  // namespace wzp::client
