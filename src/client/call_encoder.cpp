#include "client/call_encoder.h"

#include <algorithm>
#include <cmath>

#include "codec/audio_codec.h"
#include "crypto/media_aead.h"

namespace wzp::client {

CallEncoder::CallEncoder(const CallEncoderConfig& config, MediaSealer& sealer,
                         DatagramSink& sink)
    : config_(config),
      sealer_(sealer),
      sink_(sink),
      controller_(config.tier, config.cellular),
      encoder_(proto::profile_for(config.tier).codec, config.codec_options),
      comfort_noise_(codec::make_encoder(proto::CodecId::kComfortNoise)),
      fec_(fec_config_for(0)) {
  if (config.voice_processing) vp_ = std::make_unique<codec::VoiceProcessor>(*config.voice_processing);
  pending_pcm_.reserve(codec::kMaxFrameSamples);
  header_writer_.set_mini_enabled(false);  // until the path has shown itself clean
}

fec::FecConfig CallEncoder::fec_config_for(uint64_t now_ms) const {
  const auto& p = proto::profile_for(controller_.tier());
  const proto::FecSettings s = controller_.fec(now_ms);
  fec::FecConfig c;
  c.frames_per_block = s.frames_per_block;
  c.ratio = s.ratio;
  c.depth = s.interleave_depth;
  c.slot_ms = p.frame_ms;
  // A block closes at the latest when its last frame slot has passed.
  c.deadline_ms = p.frame_ms * s.frames_per_block * s.interleave_depth;
  c.nominal_frame_bytes = proto::codec_info(p.codec).bitrate_bps * p.frame_ms / 8000;
  return c;
}

void CallEncoder::on_peer_quality(const proto::QualitySample& sample, uint64_t now_ms) {
  if (config_.adaptive) {
    if (controller_.on_report(sample, now_ms)) ++stats_.tier_changes;
  } else {
    (void)controller_.on_report(sample, now_ms);  // keeps the loss estimate for the FEC ratio
    controller_.force(config_.tier);
  }
  encoder_.set_expected_loss(static_cast<int>(std::lround(sample.loss_percent)));
  // Mini headers only on a proven clean path: under loss (or reordering, which the peer sees as
  // minis failing) a lost full header costs the minis after it. They come on after enough
  // clean reports, and each time they must be turned off again that bar doubles.
  const bool clean = sample.loss_percent < 0.5;
  if (!clean && header_minis_on_) mini_bar_ = std::min(mini_bar_ * 2, kMaxCleanReportsForMini);
  clean_reports_ = clean ? clean_reports_ + 1 : 0;
  header_minis_on_ = clean_reports_ >= mini_bar_;
  header_writer_.set_mini_enabled(header_minis_on_);
  apply_tier(now_ms);
}

void CallEncoder::force_tier(proto::Tier tier, uint64_t now_ms) {
  config_.tier = tier;
  controller_.force(tier);
  apply_tier(now_ms);
}

void CallEncoder::apply_tier(uint64_t now_ms) {
  if (!pending_pcm_.empty()) return;  // switch on a frame boundary; retried next frame
  const auto codec = proto::profile_for(controller_.tier()).codec;
  const fec::FecConfig next = fec_config_for(now_ms);
  const fec::FecConfig& cur = fec_.config();
  const bool changed = codec != encoder_.codec() || next.frames_per_block != cur.frames_per_block ||
                       next.depth != cur.depth || std::abs(next.ratio - cur.ratio) > 0.05;
  if (!changed) return;
  encoder_.set_codec(codec);
  fec_.reconfigure(next, *this);
}

void CallEncoder::push(std::span<const int16_t> pcm, uint64_t now_ms) {
  ++stats_.frames_in;
  std::copy_n(pcm.begin(), std::min(pcm.size(), work_.size()), work_.begin());
  if (vp_) vp_->capture(work_);
  // The VAD always runs (its level feeds the status line); it gates only with suppression on.
  const bool voice = vad_.process(work_);
  const bool speech = !config_.silence_suppression || voice ||
                      !pending_pcm_.empty();  // finish a 40 ms frame once started
  if (speech) {
    silence_ms_ = 0;
    if (pending_pcm_.empty()) pending_ts_ = media_ts_;
    pending_pcm_.insert(pending_pcm_.end(), work_.begin(), work_.end());
    const auto codec = encoder_.codec();
    if (pending_pcm_.size() >= codec::frame_samples(codec)) {
      encode_frame(pending_pcm_, codec);
      pending_pcm_.clear();
      ++stats_.speech_frames;
    }
  } else {
    if (silence_ms_ % config_.comfort_noise_interval_ms == 0) {
      pending_ts_ = media_ts_;
      encode_frame(work_, proto::CodecId::kComfortNoise);
      ++stats_.comfort_noise;
    }
    silence_ms_ += 20;
    ++stats_.silent_frames;
  }
  media_ts_ += 20;
  fec_.tick(media_ts_, *this);
  if (now_ms >= last_fec_update_ms_ + 1000) {
    last_fec_update_ms_ = now_ms;
    apply_tier(now_ms);
  }
}

void CallEncoder::encode_frame(std::span<const int16_t> pcm, proto::CodecId codec) {
  size_t len = 0;
  if (codec == proto::CodecId::kComfortNoise) {
    len = comfort_noise_->encode(pcm, encoded_);
  } else {
    len = encoder_.encode(pcm, encoded_);
  }
  if (len == 0) return;
  fec_.push(pending_ts_, std::span(encoded_).first(len), *this, static_cast<uint8_t>(codec));
}

void CallEncoder::on_packet(const fec::FecPacket& p) {
  proto::MediaHeader h;
  h.is_repair = p.is_repair;
  h.codec = static_cast<proto::CodecId>(p.codec);
  h.fec_ratio_code = p.ratio_code;
  h.seq = static_cast<uint16_t>(counter_);
  h.timestamp_ms = p.timestamp_ms;
  h.fec_block_id = p.block_id;
  h.fec_symbol_idx = p.esi;
  const proto::QualityReport* report = pending_report_ ? &*pending_report_ : nullptr;
  const size_t ct_len = p.payload.size() + crypto::kAeadTagBytes;
  const size_t n = header_writer_.write(h, report, ct_len, datagram_);
  pending_report_.reset();

  proto::MediaFrame f;
  f.header = h;
  f.header.has_quality_report = report != nullptr;
  f.mini = datagram_[0] == static_cast<uint8_t>(proto::FrameTag::kMini);
  f.header_bytes = std::span<const uint8_t>(datagram_).first(n);
  std::array<uint8_t, crypto::kMaxAssociatedData> ad{};
  const size_t ad_len = crypto::media_associated_data(f, ad);
  const size_t sealed = sealer_.seal(counter_, std::span(ad).first(ad_len), p.payload,
                                     std::span(datagram_).subspan(n));
  ++counter_;
  ++stats_.packets;
  stats_.bytes += n + sealed;
  sink_.send(std::span(datagram_).first(n + sealed));
}

void CallEncoder::flush() { fec_.flush(*this); }

}  // namespace wzp::client
