#include "client/call_decoder.h"

#include <algorithm>
#include <cstring>

#include "client/call_encoder.h"
#include "codec/audio_codec.h"
#include "crypto/media_aead.h"

namespace wzp::client {

CallDecoder::CallDecoder(const CallDecoderConfig& config, MediaOpener& opener)
    : config_(config), opener_(opener), jb_(config.jitter) {}

void CallDecoder::on_datagram(std::span<const uint8_t> d, uint64_t arrival_ms,
                              uint64_t control_bytes) {
  ++stats_.datagrams;
  arrival_ms_ = arrival_ms;
  // A mini header's inference may be off by frames lost just before it, or by reordering:
  // try the plain inference, then nearby ones. Authentication decides.
  // Last, the timestamp by the codec's cadence, for a run whose full header was lost.
  struct Try {
    int shift;
    bool previous, by_cadence;
  };
  static constexpr Try kTries[] = {{0, false, false},  {1, false, false},  {2, false, false},
                                   {-1, false, false}, {-2, false, false}, {-3, false, false},
                                   {3, false, false},  {0, true, false},   {1, true, false},
                                   {-1, true, false},  {-2, true, false},  {2, true, false},
                                   {1, false, true},   {2, false, true},   {3, false, true}};
  for (auto [shift, previous, by_cadence] : kTries) {
    auto frame = reader_.parse(d, shift, previous, by_cadence);
    if (!frame) {
      ++(frame.error().code == proto::Errc::kNoContext ? stats_.dropped_auth
                                                       : stats_.dropped_malformed);
      return;
    }
    std::array<uint8_t, crypto::kMaxAssociatedData> ad{};
    const size_t ad_len = crypto::media_associated_data(*frame, ad);
    size_t plain_len = 0;
    const auto st = opener_.open(frame->header.seq, std::span(ad).first(ad_len), frame->payload,
                                 plain_, &plain_len);
    if (st != crypto::OpenStatus::kOk) {
      // A full header's verdict is final; a mini's may just mean a wrong inference (which can
      // also land on a sequence already received).
      if (frame->mini) continue;
      if (st == crypto::OpenStatus::kReplayed || st == crypto::OpenStatus::kTooOld) {
        ++stats_.dropped_replay;
        return;
      }
      break;
    }
    reader_.accept(*frame);
    note_sequence(frame->header.seq);
    capacity_.on_datagram(d.size(), arrival_ms, frame->header.timestamp_ms, control_bytes);
    if (frame->report) peer_report_ = frame->report;
    fec::FecPacket p;
    p.is_repair = frame->header.is_repair;
    p.block_id = frame->header.fec_block_id;
    p.esi = frame->header.fec_symbol_idx;
    p.ratio_code = frame->header.fec_ratio_code;
    p.codec = static_cast<uint8_t>(frame->header.codec);
    p.timestamp_ms = frame->header.timestamp_ms;
    p.payload = std::span<const uint8_t>(plain_).first(plain_len);
    fec_.on_packet(p, *this);
    return;
  }
  ++stats_.dropped_auth;
}

void CallDecoder::on_frame(uint32_t ts, std::span<const uint8_t> frame, bool recovered,
                           uint8_t codec) {
  if (frame.size() + 1 > stored_.size()) return;
  stats_.frames_recovered += recovered;
  if (!recovered) drift_.add(arrival_ms_, ts);  // a recovered frame's arrival says nothing
  // The jitter buffer holds [codec][frame].
  stored_[0] = codec;
  std::memcpy(&stored_[1], frame.data(), frame.size());
  const auto id = static_cast<proto::CodecId>(codec);
  jb_.put(ts, std::span(stored_).first(frame.size() + 1), proto::codec_info(id).frame_ms,
          arrival_ms_, id == proto::CodecId::kComfortNoise, recovered);
}

void CallDecoder::pull(std::span<int16_t> pcm, uint64_t now_ms) {
  const size_t n = std::min(pcm.size(), kPcmFrame);
  if (decoded_used_ < decoded_have_) {  // the second half of a 40 ms frame
    std::copy_n(&decoded_[decoded_used_], n, pcm.begin());
    decoded_used_ += n;
    return;
  }
  const auto step = jb_.pop(now_ms);
  decoded_used_ = decoded_have_ = 0;
  auto out =
      std::span(decoded_).first(std::max<size_t>(n, step.duration_ms * codec::kSamplesPerMs));
  switch (step.kind) {
    case proto::JitterBuffer::Step::kWaiting:
      std::fill_n(pcm.begin(), n, 0);
      ++stats_.slots_waiting;
      return;
    case proto::JitterBuffer::Step::kFrame: {
      const auto id = static_cast<proto::CodecId>(step.data[0]);
      const size_t samples = codec::frame_samples(id);
      out = std::span(decoded_).first(std::max(samples, n));
      if (id == proto::CodecId::kComfortNoise) {
        in_silence_ = true;
        out = std::span(decoded_).first(n);
        decoder_.decode(id, step.data.subspan(1), out);
        stats_.slots_comfort += 1;
      } else {
        in_silence_ = false;
        decoder_.decode(id, step.data.subspan(1), out.first(samples));
        stats_.slots_decoded += samples / kPcmFrame;
      }
      break;
    }
    case proto::JitterBuffer::Step::kConceal:
      // In silence the last codec is comfort noise, whose concealment continues the noise.
      decoder_.conceal(out);
      (in_silence_ ? stats_.slots_comfort : stats_.slots_concealed) += out.size() / kPcmFrame;
      break;
  }
  decoded_have_ = out.size();
  std::copy_n(out.begin(), n, pcm.begin());
  decoded_used_ = n;
}

void CallDecoder::note_sequence(uint16_t seq) {
  const uint64_t ext = seq_ext_.extend(seq);
  seq_ext_.update(ext);
  loss_.on_packet(ext);
}

proto::QualitySample CallDecoder::take_measurement(uint64_t now_ms) {
  proto::QualitySample s;
  const proto::CapacityReport cap = capacity_.take(now_ms);
  s.capacity_kbps = cap.capacity_kbps;
  s.queue_ms = cap.queue_ms;
  const proto::LossReport loss = loss_.take();
  s.loss_percent = loss.loss_percent;
  s.mean_burst = loss.mean_burst;
  s.packets = loss.packets;
  s.reorder = loss.reorder_depth;
  s.jitter_ms = jb_.stats().jitter_ms;
  return s;
}

std::optional<proto::QualityReport> CallDecoder::take_peer_report() {
  auto r = peer_report_;
  peer_report_.reset();
  return r;
}

}  // namespace wzp::client
