// The receiving half of a call: datagram -> header (mini expansion) -> anti-replay + AEAD ->
// FEC (source frames at once, recovered ones when their block decodes) -> jitter buffer ->
// decode or conceal, comfort noise in silence -> 20 ms of PCM per pull().
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "client/media_crypto.h"
#include "codec/adaptive_codec.h"
#include "fec/window_decoder.h"
#include "proto/capacity_meter.h"
#include "proto/drift_estimator.h"
#include "proto/jitter_buffer.h"
#include "proto/loss_meter.h"
#include "proto/media_frame.h"
#include "proto/quality_controller.h"
#include "proto/quality_report.h"
#include "proto/seq.h"

namespace wzp::client {

struct CallDecoderConfig {
  // frame_ms stays 20: the playout step. The buffer's target covers FEC recovery by itself:
  // rebuilt frames count with the time they were rebuilt.
  proto::JitterConfig jitter;
};

struct CallDecoderStats {
  uint64_t datagrams = 0;
  uint64_t dropped_malformed = 0;
  uint64_t dropped_auth = 0;  // failed authentication (or mini frames out of context)
  uint64_t dropped_replay = 0;
  uint64_t slots_decoded = 0;     // 20 ms output slots filled from real frames
  uint64_t slots_concealed = 0;   // slots of loss concealment
  uint64_t slots_comfort = 0;     // slots of comfort noise (silence at the sender)
  uint64_t slots_waiting = 0;     // before playout started
  uint64_t frames_recovered = 0;  // by FEC
};

// When a receiver reports what it measured (QualityUpdate, or a simulated call's report):
// once a second, and after 200 ms when a stream shows a queue filling fast on its way to us,
// so that its sender cuts before that queue is seconds long. In 20 ms frames.
inline constexpr uint64_t kReportFrames = 50;
inline constexpr uint64_t kUrgentReportFrames = 10;
inline bool report_due(uint64_t frames_since_last, bool queue_growing) {
  return frames_since_last >= kReportFrames ||
         (frames_since_last >= kUrgentReportFrames && queue_growing);
}

class CallDecoder : private fec::FrameSink {
 public:
  CallDecoder(const CallDecoderConfig& config, MediaOpener& opener);

  // `control_bytes`: the transport's count of bytes in packets without datagrams so far
  // (QuicStats::control_bytes_received), for the capacity meter; kNoControl: not known.
  void on_datagram(std::span<const uint8_t> datagram, uint64_t arrival_ms,
                   uint64_t control_bytes = proto::CapacityMeter::kNoControl);
  // Fills kPcmFrame samples (20 ms) of playout.
  void pull(std::span<int16_t> pcm, uint64_t now_ms);

  // Loss (before FEC: datagrams that never came), burstiness and, when the path's queue is
  // growing, its capacity, since the last call (once a second), for the peer's controller.
  proto::QualitySample take_measurement(uint64_t now_ms);
  // The latest quality report the peer attached to its media.
  std::optional<proto::QualityReport> take_peer_report();

  // Media waiting in the jitter buffer (0 once everything received has been played).
  uint32_t buffered_ms() const { return jb_.buffered_ms(); }
  // A queue is filling fast on the way to us: take_measurement() now rather than at the second.
  bool queue_growing() const { return capacity_.growing(); }
  const CallDecoderStats& stats() const { return stats_; }
  const proto::JitterStats& jitter_stats() const { return jb_.stats(); }
  const fec::WindowDecoderStats& fec_stats() const { return fec_.stats(); }
  // The sender's media clock against ours, once there is enough to say (ppm, + = fast).
  std::optional<double> drift_ppm() const { return drift_.ppm(); }

 private:
  void on_frame(uint32_t ts, std::span<const uint8_t> frame, bool recovered,
                uint8_t codec) override;
  void note_sequence(uint16_t seq);

  CallDecoderConfig config_;
  MediaOpener& opener_;
  proto::MediaFrameReader reader_;
  fec::WindowDecoder fec_;
  proto::JitterBuffer jb_;
  codec::AdaptiveDecoder decoder_;
  uint64_t arrival_ms_ = 0;
  bool in_silence_ = false;
  std::array<int16_t, codec::kMaxFrameSamples> decoded_{};
  size_t decoded_have_ = 0, decoded_used_ = 0;
  std::array<uint8_t, 2048> plain_{};
  std::array<uint8_t, 2048> stored_{};
  proto::SeqExtender seq_ext_;
  proto::LossMeter loss_;
  proto::CapacityMeter capacity_;
  std::optional<proto::QualityReport> peer_report_;
  proto::DriftEstimator drift_;
  CallDecoderStats stats_;
};

}  // namespace wzp::client
