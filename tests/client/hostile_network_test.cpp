// Every hostile profile, in simulation (the impairment model wzp-netem applies, fixed seeds, a
// simulated clock): what a listener hears, judged from the recording alone.
#include <gtest/gtest.h>

#include <cstdio>

#include "client/hostile_profiles.h"

namespace wzp::client {
namespace {

constexpr uint32_t kSeconds = 40;

SimListening run(const std::string& name) {
  const auto* p = hostile_profile(name);
  EXPECT_NE(p, nullptr) << name;
  const auto r = simulate_listening(*p, kSeconds);
  std::printf("%-30s fidelity %6.2f %%  mouth-to-ear %5.0f ms (p95 %4.0f)  %5.1f kbit/s  "
              "loss path %5.1f %% measured %5.1f %% after FEC %5.2f %%  tiers",
              name.c_str(), r.heard.fidelity_percent, r.heard.mouth_to_ear_ms,
              r.heard.mouth_to_ear_p95_ms, r.wire_kbps, r.path_loss_percent,
              r.measured_loss_percent, r.residual_loss_percent);
  for (size_t s = 0; s < r.tier_by_second.size(); s += 5) std::printf(" %d", r.tier_by_second[s]);
  std::printf("\n    jb: lost %lu late %lu acc %lu dec %lu underruns %lu target %u\n", r.jitter.lost,
              r.jitter.late, r.jitter.accelerated, r.jitter.decelerated, r.jitter.underruns,
              r.jitter.target_delay_ms);
  // Our loss estimate agrees with what the path did.
  EXPECT_NEAR(r.measured_loss_percent, r.path_loss_percent, 2) << name;
  return r;
}

TEST(HostileNetwork, Report) {
  for (const auto& p : hostile_profiles()) run(p.name);
}

}  // namespace
}  // namespace wzp::client
