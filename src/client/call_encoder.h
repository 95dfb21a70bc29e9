// The sending half of a call: PCM -> voice processing -> voice activity / comfort noise ->
// codec -> FEC -> header -> AEAD -> datagram. Shared by the CLI client, the web bridge and
// the benchmarks. Time comes in as arguments; datagrams go out through a sink.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "client/media_crypto.h"
#include "codec/adaptive_codec.h"
#include "codec/vad.h"
#include "codec/voice_processing.h"
#include "fec/window_encoder.h"
#include "proto/media_frame.h"
#include "proto/quality_controller.h"

namespace wzp::client {

inline constexpr size_t kPcmFrame = 20 * codec::kSamplesPerMs;  // the pipeline's 20 ms unit

class DatagramSink {
 public:
  virtual ~DatagramSink() = default;
  virtual void send(std::span<const uint8_t> datagram) = 0;
};

struct CallEncoderConfig {
  proto::Tier tier = proto::Tier::kGood;
  bool adaptive = true;  // false: the tier is pinned (--profile good|degraded|catastrophic)
  bool silence_suppression = true;
  std::optional<codec::VoiceProcessingConfig> voice_processing;  // none: off
  codec::EncoderOptions codec_options;
  uint32_t comfort_noise_interval_ms = 200;
};

struct CallEncoderStats {
  uint64_t frames_in = 0;      // 20 ms PCM frames pushed
  uint64_t speech_frames = 0;  // codec frames encoded
  uint64_t comfort_noise = 0;  // CN frames sent
  uint64_t silent_frames = 0;  // 20 ms frames suppressed
  uint64_t packets = 0;
  uint64_t bytes = 0;  // datagram bytes
  uint64_t tier_changes = 0;
};

// Repairs do not leave with their frame: they are held and sent spread over the frame's interval
// (pace()), so that they travel in other packets than the frame they protect and a lost packet
// costs one symbol, not the frame and its protection together. On a path whose capacity limits
// us they leave with the next frame instead (still not with their own), one packet per frame.
class CallEncoder : private fec::FecSink {
 public:
  CallEncoder(const CallEncoderConfig& config, MediaSealer& sealer, DatagramSink& sink);

  // 20 ms of 48 kHz mono PCM (kPcmFrame samples), captured at now_ms.
  void push(std::span<const int16_t> pcm, uint64_t now_ms);
  // Sends the held repairs that are due by now_ms; call it every few ms between pushes.
  void pace(uint64_t now_ms);
  // What the peer measured on our stream (from its quality reports).
  void on_peer_quality(const proto::QualitySample& sample, uint64_t now_ms);
  // The path changed (new address): temporary FEC boost.
  void on_network_change(uint64_t now_ms) { controller_.on_network_change(now_ms); }
  // A relay's QualityDirective or a user's choice.
  void force_tier(proto::Tier tier, uint64_t now_ms);
  // Our own receive statistics, carried to the peer in the next full header.
  void set_outgoing_report(const proto::QualityReport& report) { pending_report_ = report; }
  // Sends every held repair: end of a call.
  void flush();

  proto::Tier tier() const { return controller_.tier(); }
  const fec::WindowFecConfig& fec_config() const { return fec_.config(); }
  proto::CodecId codec() const { return encoder_.codec(); }
  // The controller's current loss estimate (percent), for status lines.
  double loss_estimate() const { return controller_.loss_estimate(); }
  double path_budget_kbps() const { return controller_.path_budget_kbps(); }
  const CallEncoderStats& stats() const { return stats_; }
  // RMS of the last captured frame (after voice processing), for level meters.
  double input_level() const { return vad_.last_rms(); }

 private:
  void on_packet(const fec::FecPacket& p) override;
  void apply_tier(uint64_t now_ms);
  void encode_frame(std::span<const int16_t> pcm, proto::CodecId codec);
  void send_held(size_t upto);

  struct Held {
    uint64_t due_ms = 0;
    size_t len = 0;
    std::array<uint8_t, 2048> bytes{};
  };
  static constexpr size_t kMaxHeld = 8;

  CallEncoderConfig config_;
  MediaSealer& sealer_;
  DatagramSink& sink_;
  proto::QualityController controller_;
  std::unique_ptr<codec::VoiceProcessor> vp_;
  codec::Vad vad_;
  codec::AdaptiveEncoder encoder_;
  std::unique_ptr<codec::Encoder> comfort_noise_;
  fec::WindowEncoder fec_;
  proto::MediaHeaderWriter header_writer_;
  std::vector<int16_t> pending_pcm_;  // 20 ms pieces of a 40 ms codec frame
  uint32_t media_ts_ = 0;             // ms of media produced so far
  uint32_t pending_ts_ = 0;
  uint32_t silence_ms_ = 0;
  uint32_t counter_ = 0;  // packet counter: sequence and AEAD nonce
  uint64_t last_fec_update_ms_ = 0;
  uint64_t frame_now_ms_ = 0;  // when the frame being encoded was pushed
  bool packed_ = false;        // repairs leave with the next frame (FecSettings::packed)
  Held& held(size_t i) { return held_[(held_head_ + i) % kMaxHeld]; }
  std::array<Held, kMaxHeld> held_{};  // a ring: held_count_ from held_head_
  size_t held_head_ = 0, held_count_ = 0;
  static constexpr uint32_t kMaxCleanReportsForMini = 320;
  uint32_t mini_bar_ = 5;  // clean reports needed before mini headers
  uint32_t clean_reports_ = 0;
  bool header_minis_on_ = false;
  std::optional<proto::QualityReport> pending_report_;
  std::array<uint8_t, codec::kMaxEncodedBytes> encoded_{};
  std::array<uint8_t, 2048> datagram_{};
  std::array<int16_t, kPcmFrame> work_{};
  CallEncoderStats stats_;
};

}  // namespace wzp::client
