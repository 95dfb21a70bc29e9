#include "fec/window_encoder.h"

#include <algorithm>
#include <cstring>

#include "fec/gf256.h"
#include "proto/bytes.h"
#include "proto/media_header.h"

namespace wzp::fec {

void WindowEncoder::configure(const WindowFecConfig& config) {
  config_ = config;
  config_.ratio = std::clamp(config_.ratio, 0.0, 4.0);
  config_.window = std::clamp<uint32_t>(config_.window, 1, kMaxWindow);
  config_.copies = std::min(config_.copies, kMaxWindow);
  ratio_code_ = proto::fec_ratio_to_code(config_.ratio);
  packet_.resize(kWindowRepairInfo + std::max<size_t>(config_.copies, 1) * kMaxWindowSymbol);
  if (config_.ratio == 0) credit_ = 0;
}

void WindowEncoder::push(uint32_t ts, std::span<const uint8_t> frame, uint8_t codec,
                         FecSink& sink) {
  frame = frame.first(std::min(frame.size(), kMaxWindowFrame));
  const uint16_t id = next_id_++;
  Symbol& s = ring_[id % kMaxWindow];
  proto::store_be32(s.bytes.data(), ts);
  s.bytes[4] = codec;
  proto::store_be16(s.bytes.data() + 5, static_cast<uint16_t>(frame.size()));
  std::memcpy(s.bytes.data() + kWindowSymbolHeader, frame.data(), frame.size());
  s.len = kWindowSymbolHeader + frame.size();
  have_ = std::min(have_ + 1, kMaxWindow);

  FecPacket p;
  p.block_id = static_cast<uint8_t>(id >> 8);
  p.esi = static_cast<uint8_t>(id);
  p.codec = codec;
  p.ratio_code = ratio_code_;
  p.timestamp_ms = ts;
  p.payload = frame;
  source_bytes_ += frame.size();
  sink.on_packet(p);

  credit_ += config_.ratio;
  while (credit_ >= 1.0) {
    credit_ -= 1.0;
    if (config_.copies) {
      emit_copies(sink, ts, codec);
    } else {
      emit_repair(sink, ts, codec);
    }
  }
}

// The repair packet_ holds (kWindowRepairInfo + `bytes`), for the frames up to the newest.
void WindowEncoder::send_repair(FecSink& sink, size_t bytes, uint32_t ts, uint8_t codec) {
  const uint16_t end = static_cast<uint16_t>(next_id_ - 1);
  FecPacket p;
  p.is_repair = true;
  p.block_id = static_cast<uint8_t>(end >> 8);
  p.esi = static_cast<uint8_t>(end);
  p.codec = codec;
  p.ratio_code = ratio_code_;
  p.timestamp_ms = ts;
  p.payload = {packet_.data(), kWindowRepairInfo + bytes};
  repair_bytes_ += bytes;
  sink.on_packet(p);
}

void WindowEncoder::emit_copies(FecSink& sink, uint32_t ts, uint8_t codec) {
  const uint16_t end = static_cast<uint16_t>(next_id_ - 1);
  const uint32_t n = std::min(config_.copies, have_);
  packet_[0] = 0;
  packet_[1] = static_cast<uint8_t>(n);
  size_t len = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const Symbol& s = ring_[static_cast<uint16_t>(end - i) % kMaxWindow];
    std::memcpy(packet_.data() + kWindowRepairInfo + len, s.bytes.data(), s.len);
    len += s.len;
  }
  send_repair(sink, len, ts, codec);
}

void WindowEncoder::emit_repair(FecSink& sink, uint32_t ts, uint8_t codec) {
  const uint16_t end = static_cast<uint16_t>(next_id_ - 1);
  const uint32_t w = std::min(config_.window, have_);
  size_t T = 0;
  for (uint32_t j = 0; j < w; ++j) {
    T = std::max(T, ring_[static_cast<uint16_t>(end - (w - 1 - j)) % kMaxWindow].len);
  }
  const uint8_t seed = seed_++;
  packet_[0] = static_cast<uint8_t>(w);
  packet_[1] = seed;
  uint8_t* out = packet_.data() + kWindowRepairInfo;
  std::memset(out, 0, T);
  for (uint32_t j = 0; j < w; ++j) {
    const Symbol& s = ring_[static_cast<uint16_t>(end - (w - 1 - j)) % kMaxWindow];
    gf256::muladd_into(out, s.bytes.data(), window_coefficient(end, seed, j), s.len);
  }
  send_repair(sink, T, ts, codec);
}
}  // namespace wzp::fec
