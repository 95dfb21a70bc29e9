#include "fec/fec_decoder.h"

#include <algorithm>
#include <cstring>

#include "fec/frame_packing.h"

namespace wzp::fec {

FecDecoder::Block& FecDecoder::block_for(const FecPacket& p) {
  Block& b = blocks_[p.block_id];
  // An id seen again long after its last use is a new block (ids wrap every 256 blocks).
  const uint32_t d = p.timestamp_ms - b.base_ts;
  const bool stale = b.active && std::min(d, 0u - d) >= kBlockLifetimeMs;
  if (!b.active || stale) {
    if (stale && !b.done) ++stats_.blocks_expired;
    release(b);
    b.active = true;
    b.info = b.done = false;
    b.base_ts = p.timestamp_ms;
    b.delivered.reset();
    b.have.reset();
  }
  return b;
}

bool FecDecoder::reserve(Block& b, size_t bytes) {
  if (held_ + bytes > kMaxHeldBytes) {
    ++stats_.over_budget;
    return false;
  }
  held_ += bytes;
  b.held += bytes;
  return true;
}

void FecDecoder::release(Block& b) {
  held_ -= b.held;
  b.held = 0;
  // Freed, not only cleared: a block that once held a lot must not keep its capacity.
  std::vector<uint8_t>().swap(b.stash);
  b.decoder = RaptorQDecoder{};
}

void FecDecoder::add_source(Block& b, uint8_t esi, std::span<const uint8_t> payload) {
  // Re-pad the packet form (prefix + frame) to whole symbols, as the sender's block holds it.
  auto frame = read_frame(payload, 0);
  if (!frame) return;
  const size_t used = kFramePrefix + frame->data.size();
  const size_t n = symbols_for(frame->data.size(), b.T);
  if (!reserve(b, n * b.T)) return;
  padded_.assign(n * b.T, 0);
  std::memcpy(padded_.data(), payload.data(), used);
  for (size_t i = 0; i < n && esi + i < b.K; ++i) {
    b.decoder.add(static_cast<uint32_t>(esi + i), {&padded_[i * b.T], b.T});
  }
}

void FecDecoder::on_packet(const FecPacket& p, uint32_t slot_ms, FrameSink& sink) {
  if (!p.is_repair) {
    auto frame = read_frame(p.payload, 0);
    if (!frame) {
      ++stats_.malformed;
      return;
    }
    Block& b = block_for(p);
    if (p.timestamp_ms - b.base_ts >= 0x80000000u) b.base_ts = p.timestamp_ms;  // earliest seen
    if (b.delivered.test(p.esi)) {
      ++stats_.duplicates;
      return;
    }
    b.delivered.set(p.esi);
    b.have.set(p.esi);
    ++stats_.frames_direct;
    b.codec = p.codec;
    sink.on_frame(p.timestamp_ms, frame->data, false, p.codec);
    if (b.done) return;
    if (b.info) {
      add_source(b, p.esi, p.payload);
      try_decode(b, slot_ms, sink);
    } else {
      // Keep it until a repair tells K and T.
      if (!reserve(b, 3 + p.payload.size())) return;
      const auto len = static_cast<uint16_t>(p.payload.size());
      b.stash.push_back(p.esi);
      b.stash.push_back(static_cast<uint8_t>(len));
      b.stash.push_back(static_cast<uint8_t>(len >> 8));
      b.stash.insert(b.stash.end(), p.payload.begin(), p.payload.end());
    }
    return;
  }

  if (p.payload.size() < kRepairInfoBytes) {
    ++stats_.malformed;
    return;
  }
  const uint32_t K = p.payload[0];
  const size_t T = static_cast<size_t>(p.payload[1]) * 8;
  if (K == 0 || T == 0 || p.payload.size() != kRepairInfoBytes + T || p.esi < K ||
      K * T > kMaxBlockBytes) {
    ++stats_.malformed;
    return;
  }
  Block& b = block_for(p);
  b.base_ts = p.timestamp_ms;  // repairs carry the block's base timestamp
  b.codec = p.codec;
  if (b.done) return;
  if (!b.info) {
    if (!reserve(b, K * T)) return;  // the decoder's source buffer
    b.info = true;
    b.K = K;
    b.T = T;
    b.decoder.reset(K, T);
    for (size_t at = 0; at + 3 <= b.stash.size();) {
      const uint8_t esi = b.stash[at];
      const size_t len = b.stash[at + 1] | b.stash[at + 2] << 8;
      if (esi < K) add_source(b, esi, {&b.stash[at + 3], len});
      at += 3 + len;
    }
    std::vector<uint8_t>().swap(b.stash);  // its bytes stay counted: they are in the decoder now
  } else if (K != b.K || T != b.T) {
    ++stats_.malformed;  // repairs of one block disagree: keep the first description
    return;
  }
  // Repairs beyond what any decode could use (2K + 16) are not kept.
  if (b.decoder.received() >= 2 * b.K + 16) {
    ++stats_.over_budget;
    return;
  }
  if (!reserve(b, T)) return;
  if (!b.decoder.add(p.esi, p.payload.subspan(kRepairInfoBytes))) {
    ++stats_.duplicates;
    held_ -= T;  // not kept
    b.held -= T;
  }
  try_decode(b, slot_ms, sink);
}

void FecDecoder::try_decode(Block& b, uint32_t slot_ms, FrameSink& sink) {
  if (b.decoder.received() < b.K) return;
  const bool needed = !b.decoder.complete();
  if (!b.decoder.decode()) return;
  b.done = true;
  if (needed) ++stats_.blocks_decoded;
  // Walk the block's frames in order, rebuilding timestamps from the slot gaps.
  uint32_t ts = b.base_ts;
  for (uint32_t esi = 0; esi < b.K;) {
    const auto first = b.decoder.source(esi);
    const auto rest = std::span<const uint8_t>(first.data(), (b.K - esi) * b.T);
    auto frame = read_frame(rest, b.T);
    if (!frame) {
      ++stats_.malformed;
      return;
    }
    ts += frame->slot_gap * slot_ms;
    if (!b.delivered.test(esi)) {
      b.delivered.set(esi);
      ++stats_.frames_recovered;
      sink.on_frame(ts, frame->data, true, b.codec);
    }
    esi += static_cast<uint32_t>(frame->symbols);
  }
  release(b);  // every frame is out: nothing of it is needed any more
}

void FecDecoder::expire(uint32_t now_ms) {
  for (Block& b : blocks_) {
    if (!b.active) continue;
    const uint32_t age = now_ms - b.base_ts;
    if (age < 0x80000000u && age >= kBlockLifetimeMs) {
      if (!b.done && b.info && b.decoder.received() < b.K) ++stats_.blocks_expired;
      b.active = false;
      release(b);
    }
  }
}

}  // namespace wzp::fec
