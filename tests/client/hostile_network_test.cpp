// Every hostile profile, in simulation (the impairment model wzp-netem applies, fixed seeds, a
// simulated clock): what a listener hears, judged from the recording alone, held to the bounds
// of the hostile-network issue. Where a bound is below the target the target is named
// beside it: those are gaps still open, not goals met.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>

#include "client/hostile_profiles.h"
#include "proto/quality_profile.h"
#include "speech.h"

namespace wzp::client {
namespace {

constexpr uint32_t kSeconds = 40;

SimListening run(const HostileProfile& p, uint32_t seconds = kSeconds,
                 const codec::ProbeSignal* signal = nullptr) {
  const auto r = signal ? simulate_listening(p, seconds, *signal) : simulate_listening(p, seconds);
  std::printf(
      "%-30s fidelity %6.2f %%  mouth-to-ear %5.0f ms (p95 %4.0f)  %5.1f kbit/s  "
      "loss path %5.1f %% measured %5.1f %% after FEC %5.2f %%  tiers",
      p.name.c_str(), r.heard.fidelity_percent, r.heard.mouth_to_ear_ms,
      r.heard.mouth_to_ear_p95_ms, r.wire_kbps, r.path_loss_percent, r.measured_loss_percent,
      r.residual_loss_percent);
  for (size_t s = 0; s < r.tier_by_second.size(); s += 5) std::printf(" %d", r.tier_by_second[s]);
  // %llu: the counters are 64-bit, and `unsigned long` is 32 bits in WebAssembly.
  using ull = unsigned long long;
  std::printf("\n    jb: lost %llu late %llu acc %llu dec %llu underruns %llu target %u\n",
              ull{r.jitter.lost}, ull{r.jitter.late}, ull{r.jitter.accelerated},
              ull{r.jitter.decelerated}, ull{r.jitter.underruns}, r.jitter.target_delay_ms);
  // Our loss estimate (before FEC) agrees with what the path did.
  EXPECT_NEAR(r.measured_loss_percent, r.path_loss_percent, 2) << p.name;
  return r;
}

struct Bound {
  const char* profile;
  double min_fidelity;      // percent of probe segments that arrived as themselves
  double max_mouth_to_ear;  // ms, median; 0: not judged
  double max_kbps;          // on the wire; 0: not judged
};

// Figures measured on this code, 40 s calls: see docs/BENCHMARKS.md.
const Bound kBounds[] = {
    // 100 % natively; 99.90 % (one probe segment of 975) with libopus's portable C build in
    // WebAssembly, whose float rounding differs from Debian's SSE build.
    {"clean", 99.8, 60, 0},
    {"5 % random", 99.5, 100, 64},
    {"20 % random", 98.5, 150, 64},  // target 99 %: 98.97 % measured
    {"40 % Gilbert-Elliott burst 3", 95, 300, 64},
    {"60 % random", 90, 400, 64},
    // The jitter's own p95 (120 ms + 95 % of 160 ms) plus 60 ms.
    {"200 ± 80 ms jitter", 99, 120 + 152 + 60, 0},
    // Target 95 % within 300 ms: 90.26 % within 345 ms measured (90.46 % within 348 ms in
    // WebAssembly, whose libopus rounds differently), Opus 7k in 60 ms frames with
    // its repairs riding in the next frame's packet, on a path that also carries what the real
    // one does (the join's signalling, a room update naming only the talker, the relay's
    // acknowledgements riding in the frames: hostile_profiles.cpp). Without those the
    // simulation heard 95.08 % within 290 ms, where real calls heard 89-92 % within 280 ms.
    {"24 kbit/s cap + 10 % loss", 89, 350, 24},
    {"loss changing every 10 s", 98, 150, 64},
};

// Test names and failure messages show the profile, not the bytes of the struct.
void PrintTo(const Bound& b, std::ostream* os) { *os << b.profile; }

class HostileBound : public testing::TestWithParam<Bound> {};

TEST_P(HostileBound, FidelityDelayAndBitrate) {
  const Bound& b = GetParam();
  const auto* p = hostile_profile(b.profile);
  ASSERT_NE(p, nullptr) << b.profile;
  const auto r = run(*p);
  EXPECT_GE(r.heard.fidelity_percent, b.min_fidelity) << b.profile;
  if (b.max_mouth_to_ear > 0) {
    EXPECT_LE(r.heard.mouth_to_ear_ms, b.max_mouth_to_ear) << b.profile;
  }
  if (b.max_kbps > 0) {
    EXPECT_LE(r.wire_kbps, b.max_kbps) << b.profile;
  }
}

std::string bound_name(const testing::TestParamInfo<Bound>& info) {
  std::string n;
  for (const char* c = info.param.profile; *c; ++c) {
    if (std::isalnum(static_cast<unsigned char>(*c))) n += *c;
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(Profiles, HostileBound, testing::ValuesIn(kBounds), bound_name);

// The same calls with espeak-ng speech instead of the probe (codec::listen_speech: each 40 ms
// of speech that moves on arrived as itself, or not). 30 s calls, as `wzp-bench hostile
// --signal speech` makes them; the references of that run beside each bound (LBRR / RED x2).
// The speech measure's own ceiling is ~95-97 % even for a clean decode (listening_test.cpp).
const Bound kSpeechBounds[] = {
    {"clean", 95, 60, 0},                           // 96.49 (97.37 / 97.37)
    {"20 % random", 94, 150, 64},                   // 95.61 (90.79 / 96.49)
    {"40 % Gilbert-Elliott burst 3", 85, 300, 64},  // 86.84 (71.49 / 80.70)
    {"60 % random", 78, 400, 64},                   // 80.26 (47.37 / 67.98)
    // Opus 6k with copies, five frames to a packet, 252 ms (one to a packet: 49.12 %; Codec2
    // with window repairs: 12.72 %).
    {"80 % random", 64, 300, 64},                   // 68.42 (2.19 / 27.63)
    {"200 ± 80 ms jitter", 95, 120 + 152 + 60, 0},  // 96.05 (97.37 / 97.37)
    // 74.56 (91.23 within 1.8 s / 68.42); 72.81 while the relay's acknowledgements took packets
    // of their own, 87.72 before the path carried them and the join's signalling at all.
    {"24 kbit/s cap + 10 % loss", 71.5, 345, 24},
    {"loss changing every 10 s", 90, 150, 64},  // 92.11 (95.18 / 96.05)
};

class HostileSpeech : public testing::TestWithParam<Bound> {};

TEST_P(HostileSpeech, FidelityDelayAndBitrate) {
  if (!interop::kCanSpeak) GTEST_SKIP() << "no espeak-ng inside WebAssembly";
  static const auto speech = interop::espeak_speech(interop::speech_passage());
  ASSERT_FALSE(speech.empty()) << "needs espeak-ng and sox (scripts/install-deps.sh)";
  const Bound& b = GetParam();
  const auto* p = hostile_profile(b.profile);
  ASSERT_NE(p, nullptr) << b.profile;
  const auto signal = codec::make_speech_signal(speech, 30);
  const auto r = run(*p, 30, &signal);
  EXPECT_GE(r.heard.fidelity_percent, b.min_fidelity) << b.profile;
  if (b.max_mouth_to_ear > 0) {
    EXPECT_LE(r.heard.mouth_to_ear_ms, b.max_mouth_to_ear) << b.profile;
  }
  if (b.max_kbps > 0) {
    EXPECT_LE(r.wire_kbps, b.max_kbps) << b.profile;
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, HostileSpeech, testing::ValuesIn(kSpeechBounds), bound_name);

// 80 % random loss: past what window repairs carry, the call sends each Opus 6k frame with
// copies in the packets that follow (it once fell to Codec2 1200, of which the probe heard
// nothing and speech 13 %).
TEST(HostileNetwork, EightyPercentLossRepeatsOpusFramesAndIsHeard) {
  const auto r = run(*hostile_profile("80 % random"));
  EXPECT_EQ(r.tier_by_second.back(), static_cast<int>(proto::Tier::kDegraded));
  // 74.2 % within 250 ms, copies five frames to a packet (one to a packet: 61 % within 112 ms);
  // RED x2 at 85 kbit/s: 54.6 % (30 s). Target: within 500 ms.
  EXPECT_GE(r.heard.fidelity_percent, 70);
  EXPECT_LE(r.heard.mouth_to_ear_ms, 300);
  EXPECT_LE(r.wire_kbps, 64);
}

// Delay per second of the sent signal; -1 where nothing of that second arrived.
std::vector<double> delay_by_second(const SimListening& r) {
  std::vector<double> d;
  for (const auto& s : codec::per_second(r.heard)) d.push_back(s.mouth_to_ear_ms);
  return d;
}

HostileProfile steps(std::vector<double> loss) {
  HostileProfile p{"loss steps", {}, 0};
  p.path.seed = 7;
  p.path.delay_ms = 1;
  p.path.loss_steps = std::move(loss);
  p.path.step_ms = 10000;
  return p;
}

// New loss is met within its first second (protection from the first report on), and once it
// ends the delay is back at the clean path's within 2 s.
TEST(HostileNetwork, ReactsWithinASecondAndReturnsToTheCleanDelayWithinTwo) {
  const auto clean = run(*hostile_profile("clean"), 30);
  const auto r = run(steps({0, 0.2, 0}), 30);
  const auto per = codec::per_second(r.heard);
  const auto delay = delay_by_second(r);
  // Loss from 10 s to 20 s. The receiver's first report after 10 s brings the protection.
  EXPECT_EQ(r.tier_by_second[9], 0);
  EXPECT_GE(per[10].fidelity_percent, 88);  // the first second of loss, before any repair
  for (size_t s = 11; s < 20; ++s) EXPECT_GE(per[s].fidelity_percent, 92) << s;
  for (size_t s = 22; s < 29; ++s) {
    EXPECT_LE(delay[s], clean.heard.mouth_to_ear_ms + 10) << "second " << s;
    EXPECT_GE(per[s].fidelity_percent, 96) << s;
  }
}

// A 3 s blackout: what is sent after the path returns is heard within 200 ms of its return,
// at the clean path's delay.
TEST(HostileNetwork, AudioIsBackWithin200MsOfAnOutageEnding) {
  const auto* p = hostile_profile("3 s outage");
  const auto r = run(*p);
  const auto& o = p->path.outages.at(0);
  const double back_ms = static_cast<double>(o.start_ms + o.duration_ms);
  // The first segment captured after the path returned that arrived, and when it played.
  const auto first = static_cast<size_t>(back_ms / codec::kProbeSegmentMs);
  size_t i = first;
  while (i < r.heard.delay_ms.size() && r.heard.delay_ms[i] < 0) ++i;
  ASSERT_LT(i, r.heard.delay_ms.size());
  const double played_at = static_cast<double>(i * codec::kProbeSegmentMs) + r.heard.delay_ms[i];
  EXPECT_LE(played_at - back_ms, 200);
  const auto delay = delay_by_second(r);
  const auto s = static_cast<size_t>(back_ms / 1000);
  for (size_t k = s + 1; k < s + 10; ++k) EXPECT_LE(delay[k], 60) << "second " << k;
  // Everything but the blackout arrived.
  EXPECT_GE(r.heard.fidelity_percent, 100.0 * (kSeconds - 1 - 3.5) / (kSeconds - 1));
}

}  // namespace
}  // namespace wzp::client
