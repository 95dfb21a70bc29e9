#include "client/hostile_profiles.h"

#include "client/sim_call.h"

namespace wzp::client {
namespace {

HostileProfile make(std::string name, double nominal, transport::ImpairmentConfig c) {
  c.seed = 7;
  if (c.delay_ms == 0) c.delay_ms = 1;  // loopback
  return {std::move(name), c, nominal};
}

}  // namespace

const std::vector<HostileProfile>& hostile_profiles() {
  static const std::vector<HostileProfile> p = [] {
    std::vector<HostileProfile> v;
    v.push_back(make("clean", 0, {}));
    v.push_back(make("5 % random", 5, {.loss = 0.05}));
    v.push_back(make("20 % random", 20, {.loss = 0.20}));
    v.push_back(make("40 % Gilbert-Elliott burst 3", 40, {.burst_loss = 0.40, .mean_burst = 3}));
    v.push_back(make("60 % random", 60, {.loss = 0.60}));
    v.push_back(make("80 % random", 80, {.loss = 0.80}));
    v.push_back(make("3 s outage", 0, {.outages = {{8000, 3000}}}));
    v.push_back(make("200 ± 80 ms jitter", 0, {.delay_ms = 120, .jitter_ms = 160}));
    v.push_back(make("24 kbit/s cap + 10 % loss", 10, {.loss = 0.10, .rate_kbps = 24}));
    v.push_back(
        make("loss changing every 10 s", 15, {.loss_steps = {0, 0.20, 0.05, 0.40, 0, 0.10}}));
    return v;
  }();
  return p;
}

const HostileProfile* hostile_profile(const std::string& name) {
  for (const auto& p : hostile_profiles()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

SimListening simulate_listening(const HostileProfile& profile, uint32_t seconds) {
  return simulate_listening(profile, seconds, codec::make_probe_signal(seconds, 11));
}

SimListening simulate_listening(const HostileProfile& profile, uint32_t seconds,
                                const codec::ProbeSignal& probe) {
  CallEncoderConfig ec;
  ec.silence_suppression = false;  // the probe never pauses; speech is sent as a file would be
  SimCall call(ec);
  call.link.set_path(profile.path);
  call.run(seconds, {}, [&](uint32_t t) {
    return std::span<const int16_t>(probe.pcm).subspan(t * kPcmFrame, kPcmFrame);
  });
  const auto& c = call.link.path->counters();
  const uint64_t path_received = c.received, path_lost = c.lost + c.outage + c.queue_drops;
  SimListening r;
  // Output sample k plays at k/48 ms; input sample j was captured 20 ms before its frame was
  // pushed at (j/960)*20 ms: the mouth-to-ear delay is the alignment plus one frame.
  r.heard = codec::listen(probe, call.output, 20, 1000);
  r.wire_kbps = static_cast<double>(call.link.bytes_sent) * 8 / seconds / 1000;
  r.path_loss_percent = path_received ? 100.0 * path_lost / path_received : 0;
  const auto& st = call.decoder->stats();
  const uint64_t seq_expected = call.link.sent;
  r.measured_loss_percent =
      seq_expected ? 100.0 * (1.0 - static_cast<double>(st.datagrams) / seq_expected) : 0;
  const auto& j = call.decoder->jitter_stats();
  r.residual_loss_percent =
      j.played + j.lost ? 100.0 * static_cast<double>(j.lost) / (j.played + j.lost) : 0;
  r.jitter = j;
  for (auto t : call.tier_by_second) r.tier_by_second.push_back(static_cast<int>(t));
  return r;
}

}  // namespace wzp::client
