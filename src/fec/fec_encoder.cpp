#include "fec/fec_encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "fec/frame_packing.h"
#include "proto/media_header.h"

namespace wzp::fec {

FecEncoder::FecEncoder(const FecConfig& config) { apply(config); }

void FecEncoder::reconfigure(const FecConfig& config, FecSink& sink) {
  flush(sink);
  apply(config);
}

void FecEncoder::apply(const FecConfig& config) {
  config_ = config;
  config_.depth = std::max<uint32_t>(1, config_.depth);
  config_.frames_per_block = std::clamp<uint32_t>(config_.frames_per_block, 1, 64);
  ratio_code_ = proto::fec_ratio_to_code(config_.ratio);
  blocks_.resize(config_.depth);
  for (auto& b : blocks_) b.open = false;
  frame_index_ = 0;
  frame_bytes_ema_ = static_cast<double>(config_.nominal_frame_bytes);
  packet_.resize(kRepairInfoBytes + 2048 + kFramePrefix);
}

uint32_t FecEncoder::repair_count(uint32_t K) const {
  const auto r = static_cast<uint32_t>(std::ceil(K * config_.ratio - 1e-9));
  return std::min(r, kMaxBlockSymbols - K);
}

void FecEncoder::open(OpenBlock& b, uint32_t ts) {
  b.open = true;
  b.id = next_id_++;
  b.base_ts = b.last_ts = ts;
  b.frames = b.K = 0;
  b.T = symbol_size_for(static_cast<size_t>(std::lround(frame_bytes_ema_)));
  b.symbols.clear();
}

void FecEncoder::close(OpenBlock& b, uint32_t now_ms) {
  b.open = false;
  const uint32_t R = repair_count(b.K);
  if (R == 0 || b.K == 0) return;
  encoder_.encode(b.K, b.T, b.symbols);
  size_t idx;
  if (!free_.empty()) {
    idx = free_.back();
    free_.pop_back();
  } else {
    idx = pool_.size();
    pool_.emplace_back();
  }
  RepairBlock& r = pool_[idx];
  r.id = b.id;
  r.codec = b.codec;
  r.K = static_cast<uint8_t>(b.K);  // K <= 255 when any repair fits (K + R <= 256)
  r.base_ts = b.base_ts;
  r.closed_ts = now_ms;
  r.count = R;
  r.next = 0;
  r.T = b.T;
  r.symbols.resize(R * b.T);
  for (uint32_t i = 0; i < R; ++i) encoder_.symbol(b.K + i, {&r.symbols[i * b.T], b.T});
  queue_.push_back(idx);
}

void FecEncoder::emit_repair(FecSink& sink) {
  const size_t idx = queue_.front();
  queue_.erase(queue_.begin());
  RepairBlock& r = pool_[idx];
  packet_[0] = r.K;
  packet_[1] = static_cast<uint8_t>(r.T / 8);
  std::memcpy(&packet_[kRepairInfoBytes], &r.symbols[r.next * r.T], r.T);
  FecPacket p;
  p.is_repair = true;
  p.block_id = r.id;
  p.esi = static_cast<uint8_t>(r.K + r.next);
  p.codec = r.codec;
  p.ratio_code = ratio_code_;
  p.timestamp_ms = r.base_ts;
  p.payload = {packet_.data(), kRepairInfoBytes + r.T};
  repair_bytes_ += r.T;
  ++r.next;
  if (r.next < r.count) {
    queue_.push_back(idx);  // round robin: the next repair comes from another block
  } else {
    free_.push_back(idx);
  }
  sink.on_packet(p);
}

void FecEncoder::push(uint32_t ts, std::span<const uint8_t> frame, FecSink& sink, uint8_t codec) {
  frame = frame.first(std::min(frame.size(), kMaxFrameBytes));
  // Blocks of other slots whose deadline has passed close now.
  for (auto& b : blocks_) {
    if (b.open && ts - b.base_ts >= config_.deadline_ms) close(b, ts);
  }
  OpenBlock& b = blocks_[frame_index_++ % config_.depth];
  uint32_t gap = 0;
  if (b.open) {
    gap = (ts - b.last_ts + config_.slot_ms / 2) / config_.slot_ms;
    const size_t k = b.K + symbols_for(frame.size(), b.T);
    const auto wanted_repairs = static_cast<size_t>(std::ceil(k * config_.ratio - 1e-9));
    if (gap > kMaxSlotGap || k + wanted_repairs > kMaxBlockSymbols || codec != b.codec) {
      close(b, ts);
    }
  }
  if (!b.open) {
    open(b, ts);
    b.codec = codec;
    gap = 0;
  }
  const size_t written = write_frame(frame, gap, packet_);
  const size_t n = symbols_for(frame.size(), b.T);
  const size_t at = b.symbols.size();
  b.symbols.resize(at + n * b.T, 0);
  std::memcpy(&b.symbols[at], packet_.data(), written);

  FecPacket p;
  p.block_id = b.id;
  p.codec = codec;
  p.esi = static_cast<uint8_t>(b.K);
  p.ratio_code = ratio_code_;
  p.timestamp_ms = ts;
  p.payload = {packet_.data(), written};
  source_bytes_ += written;
  sink.on_packet(p);

  b.K += static_cast<uint32_t>(n);
  b.last_ts = ts;
  frame_bytes_ema_ += 0.1 * (static_cast<double>(frame.size()) - frame_bytes_ema_);
  if (++b.frames >= config_.frames_per_block) close(b, ts);

  // Pace repairs at the code rate times the depth, round robin over blocks: each block's
  // repairs are spread over about N frames, interleaved with the other blocks' packets.
  if (queue_.empty()) {
    credit_ = 0;
  } else {
    credit_ = std::min(credit_ + config_.ratio * config_.depth * static_cast<double>(n), 4.0);
    while (credit_ >= 1.0 && !queue_.empty()) {
      emit_repair(sink);
      credit_ -= 1.0;
    }
  }
}

void FecEncoder::tick(uint32_t now, FecSink& sink) {
  for (auto& b : blocks_) {
    if (b.open && now - b.base_ts >= config_.deadline_ms) close(b, now);
  }
  // Repairs that pacing has held for longer than an interleaving round go out now.
  const uint32_t hold = config_.depth * config_.slot_ms;
  while (!queue_.empty() && now - pool_[queue_.front()].closed_ts >= hold) emit_repair(sink);
}

void FecEncoder::flush(FecSink& sink) {
  for (auto& b : blocks_) {
    if (b.open) close(b, b.last_ts);
  }
  while (!queue_.empty()) emit_repair(sink);
}

}  // namespace wzp::fec
