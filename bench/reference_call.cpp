#include "reference_call.h"

#include <opus/opus.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "transport/impairment.h"

namespace wzp::bench {
namespace {

constexpr size_t kFrame = 960;            // 20 ms at 48 kHz
constexpr double kRtpOverhead = 12 + 10;  // RTP header, SRTP tag
constexpr double kRedHeader = 4;          // per redundant block, RFC 2198
constexpr uint32_t kBitrate = 24000;

struct Enc {
  OpusEncoder* e = nullptr;
  ~Enc() { opus_encoder_destroy(e); }
};
struct Dec {
  OpusDecoder* d = nullptr;
  ~Dec() { opus_decoder_destroy(d); }
};

}  // namespace

std::string reference_name(Reference r) {
  return r == Reference::kLbrr ? "Opus 24k + in-band FEC (LBRR)" : "Opus 24k + RED x2";
}

ReferenceResult run_reference(Reference kind, const client::HostileProfile& profile,
                              const codec::ProbeSignal& probe, bool both_legs) {
  int err = 0;
  Enc enc{opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err)};
  Dec dec{opus_decoder_create(48000, 1, &err)};
  opus_encoder_ctl(enc.e, OPUS_SET_BITRATE(kBitrate));
  opus_encoder_ctl(enc.e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
  // Across two legs the loss compounds: 1 - (1 - p)^2.
  const double p = profile.nominal_loss_percent / 100;
  const int nominal = static_cast<int>(std::lround(100 * (both_legs ? 1 - (1 - p) * (1 - p) : p)));
  if (kind == Reference::kLbrr) {
    opus_encoder_ctl(enc.e, OPUS_SET_INBAND_FEC(1));
    opus_encoder_ctl(enc.e, OPUS_SET_PACKET_LOSS_PERC(nominal));
  }
  const size_t frames = probe.pcm.size() / kFrame;
  std::vector<std::vector<uint8_t>> encoded(frames);
  std::vector<uint8_t> buf(1500);
  for (size_t n = 0; n < frames; ++n) {
    const int len = opus_encode(enc.e, probe.pcm.data() + n * kFrame, kFrame, buf.data(),
                                static_cast<opus_int32>(buf.size()));
    encoded[n].assign(buf.begin(), buf.begin() + std::max(0, len));
  }
  // Packet n leaves when frame n is captured (20 n ms) and carries frame n (and, with RED, the
  // two before it). The same impairment, the same seed, and for a changing loss the same steps.
  const uint32_t redundancy = kind == Reference::kRed2 ? 2 : 0;
  std::vector<uint64_t> arrival(frames, UINT64_MAX);
  double bytes = 0;
  std::unique_ptr<transport::Impairment> path, second;
  uint64_t second_now = 0;  // the second leg sees packets in the order the first delivers them
  std::vector<uint64_t> delays;
  for (size_t n = 0; n < frames; ++n) {
    const uint64_t now = n * 20;
    if (!path) path = std::make_unique<transport::Impairment>(profile.path);
    if (both_legs && !second) {
      auto config = profile.path;
      config.seed += 1000;  // as wzp-bench network seeds the talker's wzp-netem
      second = std::make_unique<transport::Impairment>(config);
    }
    double size = kRtpOverhead + static_cast<double>(encoded[n].size());
    for (uint32_t k = 1; k <= redundancy && k <= n; ++k) size += kRedHeader + encoded[n - k].size();
    if (redundancy) size += 1;
    bytes += size;
    auto d = path->on_packet(now, static_cast<size_t>(size));
    if (d.deliveries > 0 && second) {
      second_now = std::max(second_now, d.deliver_at_ms[0]);
      d = second->on_packet(second_now, static_cast<size_t>(size));
    }
    if (d.deliveries > 0) {
      arrival[n] = d.deliver_at_ms[0];
      delays.push_back(d.deliver_at_ms[0] - now);
    }
  }
  // The ideal buffer: the path's 95th-percentile delay plus the frames the protection waits for.
  std::sort(delays.begin(), delays.end());
  const uint64_t path_p95 = delays.empty() ? 0 : delays[delays.size() * 95 / 100];
  const uint64_t wait = path_p95 + 20 * (kind == Reference::kLbrr ? 1 : redundancy);
  std::vector<int16_t> out(frames * kFrame);
  for (size_t n = 0; n < frames; ++n) {
    const uint64_t due = n * 20 + wait;  // frame n starts playing
    const auto here = [&](size_t i) { return i < frames && arrival[i] <= due; };
    int16_t* pcm = out.data() + n * kFrame;
    int got = -1;
    if (here(n)) {
      got = opus_decode(dec.d, encoded[n].data(), static_cast<opus_int32>(encoded[n].size()), pcm,
                        kFrame, 0);
    } else if (kind == Reference::kLbrr && here(n + 1)) {
      got = opus_decode(dec.d, encoded[n + 1].data(),
                        static_cast<opus_int32>(encoded[n + 1].size()), pcm, kFrame, 1);
    } else if (kind == Reference::kRed2 && (here(n + 1) || here(n + 2))) {
      got = opus_decode(dec.d, encoded[n].data(), static_cast<opus_int32>(encoded[n].size()), pcm,
                        kFrame, 0);
    }
    // Lost: libopus conceals; should that fail too, the slot stays silent (out starts zeroed).
    if (got != static_cast<int>(kFrame)) got = opus_decode(dec.d, nullptr, 0, pcm, kFrame, 0);
    if (got != static_cast<int>(kFrame)) std::fill(pcm, pcm + kFrame, int16_t{0});
  }
  ReferenceResult r;
  // Output frame n plays at 20 n + wait; input frame n was captured over the 20 ms before 20 n.
  r.heard = codec::listen(probe, out, 20.0 + static_cast<double>(wait), 1000);
  r.wire_kbps = bytes * 8 / (static_cast<double>(frames) * 20);
  return r;
}

}  // namespace wzp::bench
