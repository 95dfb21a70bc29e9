// The whole media pipeline over a simulated link, deterministic (fixed seeds, simulated
// clock): the share of playout slots filled with decoded audio at each tier's design loss.
#include <gtest/gtest.h>

#include "client/sim_call.h"
#include "codec/vad.h"

namespace wzp::client {
namespace {

CallEncoderConfig pinned(proto::Tier tier) {
  CallEncoderConfig c;
  c.tier = tier;
  c.adaptive = false;
  c.silence_suppression = false;
  return c;
}

void report(const char* name, const SimCall& call) {
  const auto& s = call.decoder->stats();
  const auto& j = call.decoder->jitter_stats();
  std::printf(
      "%s: filled %.3f %% (decoded %lu, concealed %lu), recovered %lu, link loss %.1f %%, "
      "delay target %u ms, fec ratio %.2f\n",
      name, 100 * call.filled(), s.slots_decoded, s.slots_concealed, s.frames_recovered,
      100.0 * call.link.dropped / call.link.sent, j.target_delay_ms,
      call.encoder->fec_config().ratio);
  std::printf(
      "  datagrams %lu, auth drops %lu, replay drops %lu, malformed %lu; jb late %lu "
      "lost %lu underruns %lu acc %lu dec %lu dup %lu; fec repairs expired %lu malformed %lu\n",
      s.datagrams, s.dropped_auth, s.dropped_replay, s.dropped_malformed, j.late, j.lost,
      j.underruns, j.accelerated, j.decelerated, j.duplicates,
      call.decoder->fec_stats().repairs_expired, call.decoder->fec_stats().malformed);
}

// A path with 40 ms of delay and the given loss.
transport::ImpairmentConfig lossy(double loss, uint64_t seed) {
  auto p = SimLink::clean();
  p.loss = loss;
  p.seed = seed;
  return p;
}

// A minute of a 440 Hz tone on a pinned tier through `path`; returns the call for checks.
std::unique_ptr<SimCall> run_pinned(proto::Tier tier, const transport::ImpairmentConfig& path,
                                    const char* name) {
  auto call = std::make_unique<SimCall>(pinned(tier));
  call->link.set_path(path);
  call->run(60);
  report(name, *call);
  return call;
}

TEST(Pipeline, Good5PercentRandomLossFills99Percent) {
  auto call = run_pinned(proto::Tier::kGood, lossy(0.05, 1), "good, 5 % random");
  EXPECT_GE(call->filled(), 0.99);
  // The tone arrives intact.
  const auto tail = std::span(call->output).subspan(call->output.size() / 2, codec::kSampleRate);
  EXPECT_NEAR(codec::dominant_frequency(tail), 440, 2);
}

TEST(Pipeline, Degraded20PercentRandomLossFills98Percent) {
  EXPECT_GE(run_pinned(proto::Tier::kDegraded, lossy(0.20, 2), "degraded, 20 % random")->filled(),
            0.98);
}

TEST(Pipeline, Catastrophic40PercentBurstLossFills95Percent) {
  auto path = SimLink::clean();
  path.burst_loss = 0.40;
  path.mean_burst = 3;
  path.seed = 3;
  EXPECT_GE(
      run_pinned(proto::Tier::kCatastrophic, path, "catastrophic, 40 % Gilbert-Elliott burst 3")
          ->filled(),
      0.95);
}

TEST(Pipeline, CleanLinkWithJitterPlaysEverything) {
  SimCall call(pinned(proto::Tier::kGood));
  auto path = SimLink::clean();
  path.jitter_ms = 60;
  call.link.set_path(path);
  call.run(30);
  report("good, clean, 0-60 ms jitter", call);
  EXPECT_GE(call.filled(), 0.995);
}

// Loss rises then falls. Moderate loss is met with repairs, not a worse codec; only loss whose
// protection no longer fits the budget moves the call down, within two reports; it climbs back
// once, about 8 s after the loss ends, and the tone keeps playing through every switch.
TEST(Pipeline, TierFollowsWhatTheProtectionNeedsWithoutFlappingOrGaps) {
  CallEncoderConfig c;
  c.silence_suppression = false;
  SimCall call(c);
  auto path = SimLink::clean();
  path.seed = 4;
  path.step_ms = 1000;
  for (uint32_t s = 0; s < 100; ++s)
    path.loss_steps.push_back(s < 10 ? 0 : s < 30 ? 0.15 : s < 45 ? 0.5 : 0);
  call.link.set_path(path);
  call.run(90);
  const auto& tiers = call.tier_by_second;
  auto first = [&](proto::Tier t, size_t from) {
    for (size_t i = from; i < tiers.size(); ++i) {
      if (tiers[i] == t) return i;
    }
    return tiers.size();
  };
  const size_t down = first(proto::Tier::kDegraded, 0);
  const size_t back = first(proto::Tier::kGood, down);
  std::printf("tier: degraded from s=%zu, good again from s=%zu\n", down, back);
  for (size_t i = 0; i < 30; ++i)
    EXPECT_EQ(tiers[i], proto::Tier::kGood) << "15 % needs no lower tier, s=" << i;
  EXPECT_GE(down, 30u);
  EXPECT_LE(down, 32u);  // within two reports of 50 % loss
  EXPECT_GE(back, 45u);
  EXPECT_LE(back, 56u);  // back within ~10 s of the loss ending
  int changes = 0;
  for (size_t i = 1; i < tiers.size(); ++i) changes += tiers[i] != tiers[i - 1];
  EXPECT_LE(changes, 3);  // down (perhaps through two steps) and up: no flapping
  // Audio never stops: no 100 ms of output after start-up is silent.
  const size_t window = codec::kSampleRate / 10;
  for (size_t w = 30; w + 20 < call.output.size() / window; ++w) {
    EXPECT_GT(codec::rms(std::span(call.output).subspan(w * window, window)), 60)
        << "100 ms window at " << w * 0.1 << " s";
  }
  EXPECT_GE(call.filled(), 0.97);
}

}  // namespace
}  // namespace wzp::client
