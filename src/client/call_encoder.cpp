#include "client/call_encoder.h"

#include <algorithm>
#include <cmath>

#include "codec/audio_codec.h"
#include "crypto/media_aead.h"

namespace wzp::client {

CallEncoder::CallEncoder(const CallEncoderConfig& config, MediaSealer& sealer, DatagramSink& sink)
    : config_(config),
      sealer_(sealer),
      sink_(sink),
      controller_(config.tier),
      encoder_(controller_.codec(), config.codec_options),
      comfort_noise_(codec::make_encoder(proto::CodecId::kComfortNoise)) {
  if (!config.adaptive) controller_.force(config.tier);
  encoder_.set_codec(controller_.codec());
  const proto::FecSettings f = controller_.fec(0);
  fec_.configure({.ratio = f.ratio, .window = f.window, .copies = f.copies});
  packed_ = f.packed;
  if (config.voice_processing)
    vp_ = std::make_unique<codec::VoiceProcessor>(*config.voice_processing);
  pending_pcm_.reserve(codec::kMaxFrameSamples);
  header_writer_.set_mini_enabled(false);  // until the path has shown itself clean
}

void CallEncoder::on_peer_quality(const proto::QualitySample& sample, uint64_t now_ms) {
  // A pinned tier keeps the loss estimate (for the protection) and the codec inside the tier.
  if (controller_.on_report(sample, now_ms)) ++stats_.tier_changes;
  encoder_.set_expected_loss(static_cast<int>(std::lround(sample.loss_percent)));
  // Mini headers only on a proven clean path: under loss (or reordering, which the peer sees as
  // minis failing) a lost full header costs the minis after it. They come on after enough
  // clean reports, and each time they must be turned off again that bar doubles.
  const bool clean = sample.loss_percent < 0.5 && sample.reorder == 0;
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
  const auto codec = controller_.codec();
  const proto::FecSettings f = controller_.fec(now_ms);
  const fec::WindowFecConfig& cur = fec_.config();
  if (codec != encoder_.codec()) encoder_.set_codec(codec);
  packed_ = f.packed;
  if (f.window != cur.window || f.copies != cur.copies || std::abs(f.ratio - cur.ratio) > 0.05) {
    fec_.configure({.ratio = f.ratio, .window = f.window, .copies = f.copies});
  }
}

void CallEncoder::push(std::span<const int16_t> pcm, uint64_t now_ms) {
  ++stats_.frames_in;
  frame_now_ms_ = now_ms;
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
  send_held(held_count_);  // the last frame's repairs, if nobody paced them out
  fec_.push(pending_ts_, std::span(encoded_).first(len), static_cast<uint8_t>(codec), *this);
  // This frame's repairs leave evenly spread over its interval; on a path that limits us, where
  // every packet's own headers count, together with the next frame in one packet.
  const uint32_t frame_ms = proto::codec_info(encoder_.codec()).frame_ms;
  for (size_t k = 0; k < held_count_; ++k) {
    held(k).due_ms = frame_now_ms_ + (packed_ ? frame_ms : frame_ms * (k + 1) / (held_count_ + 1));
  }
}

void CallEncoder::on_packet(const fec::FecPacket& p) {
  // Comfort noise needs no protection: a lost update only keeps the last noise level a little
  // longer. Unprotected, a listener in silence sends 5 packets a second rather than 10 (and is
  // acknowledged half as often down its own path).
  if (p.is_repair && p.codec == static_cast<uint8_t>(proto::CodecId::kComfortNoise)) return;
  proto::MediaHeader h;
  h.is_repair = p.is_repair;
  h.codec = static_cast<proto::CodecId>(p.codec);
  h.fec_ratio_code = p.ratio_code;
  h.seq = static_cast<uint16_t>(counter_);
  h.timestamp_ms = p.timestamp_ms;
  h.fec_block_id = p.block_id;
  h.fec_symbol_idx = p.esi;
  const proto::QualityReport* report =
      pending_report_ && !p.is_repair ? &*pending_report_ : nullptr;
  const size_t ct_len = p.payload.size() + crypto::kAeadTagBytes;
  std::span<uint8_t> out = datagram_;
  if (p.is_repair) {
    if (held_count_ == kMaxHeld) send_held(1);
    out = held(held_count_).bytes;
  }
  const size_t n = header_writer_.write(h, report, ct_len, out);
  if (report) pending_report_.reset();

  proto::MediaFrame f;
  f.header = h;
  f.header.has_quality_report = report != nullptr;
  f.mini = out[0] == static_cast<uint8_t>(proto::FrameTag::kMini);
  f.header_bytes = out.first(n);
  std::array<uint8_t, crypto::kMaxAssociatedData> ad{};
  const size_t ad_len = crypto::media_associated_data(f, ad);
  const size_t sealed =
      sealer_.seal(counter_, std::span(ad).first(ad_len), p.payload, out.subspan(n));
  ++counter_;
  ++stats_.packets;
  stats_.bytes += n + sealed;
  if (p.is_repair) {
    held(held_count_++).len = n + sealed;
  } else {
    sink_.send(out.first(n + sealed));
  }
}

void CallEncoder::send_held(size_t upto) {
  upto = std::min(upto, held_count_);
  for (size_t i = 0; i < upto; ++i) sink_.send(std::span(held(i).bytes).first(held(i).len));
  held_head_ = (held_head_ + upto) % kMaxHeld;
  held_count_ -= upto;
}

void CallEncoder::pace(uint64_t now_ms) {
  size_t due = 0;
  while (due < held_count_ && held(due).due_ms <= now_ms) ++due;
  if (due) send_held(due);
}

void CallEncoder::flush() { send_held(held_count_); }

}  // namespace wzp::client
