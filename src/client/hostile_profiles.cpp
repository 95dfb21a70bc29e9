#include "client/hostile_profiles.h"

#include "client/sim_call.h"

namespace wzp::client {
namespace {

// The signalling a talker's join puts on the listener's path (bytes of each packet, from the
// wzp-netem log of a real call: the relay's directives, the room update naming the talker and
// the talker's sender key, coalesced by QUIC as it was there), the relay's acknowledgement of
// the listener's packets (one every 100 ms there, an ACK frame riding in the next media packet:
// QuicConfig::ack_hold_ms), and the relay's probe datagrams.
constexpr size_t kJoinSignalling[] = {84, 744, 617, 677};
constexpr size_t kAckFrameBytes = 7;
constexpr uint32_t kAckTicks = 5;
constexpr uint32_t kResendTicks = 25;
constexpr double kProbeBytes = 640;

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
  // Where the path is capped, what else the listener's path carries takes its time on the link
  // too (the real calls' wzp-netem log shows it): the join's signalling just before the talker's
  // first frame (the room update, the talker's sender key on the stream and its copy in a
  // datagram), the relay's acknowledgements of the listener's own packets, and what is lost
  // of the signalling sent again half a second later. The relay's probe train has measured the
  // path by then, and its verdict reaches the talker with the join.
  std::vector<std::pair<uint32_t, size_t>> resend;  // tick due, bytes
  const auto signal = [&](uint32_t t, size_t bytes) {
    if (!call.link.occupy(bytes)) resend.emplace_back(t + kResendTicks, bytes);
  };
  const bool capped = profile.path.rate_kbps > 0;
  call.on_tick = [&](uint32_t t) {
    if (!capped) return;
    if (t % kAckTicks == 0) call.link.riding += kAckFrameBytes;
    for (size_t i = 0; i < resend.size();) {
      if (resend[i].first != t) {
        ++i;
        continue;
      }
      const size_t bytes = resend[i].second;
      resend.erase(resend.begin() + static_cast<long>(i));
      signal(t, bytes);
    }
  };
  const auto on_second = [&](uint32_t second) {
    if (!capped || second != 0) return;
    for (size_t bytes : kJoinSignalling) signal(0, bytes);
    proto::QualitySample probed;
    probed.capacity_kbps = profile.path.rate_kbps * (kProbeBytes + proto::kPacketOverheadBytes) /
                           (kProbeBytes + proto::kQuicPacketBytes);
    call.encoder->on_peer_quality(probed, 0);
  };
  call.run(seconds, on_second, [&](uint32_t t) {
    return std::span<const int16_t>(probe.pcm).subspan(t * kPcmFrame, kPcmFrame);
  });
  // Of the media's packets (the path's counters count the others' too).
  const uint64_t path_received = call.link.packets, path_lost = call.link.packets_lost;
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
