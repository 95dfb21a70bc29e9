// The receiver's side of the audio FEC: source frames are handed on the moment they arrive;
// a block's lost frames are handed on as soon as K of its symbols are in and it decodes;
// blocks that can no longer help (2 s older than the newest) are forgotten.
//
// Blocks are tracked by their 8-bit id in a fixed table of 256 entries, so nothing is
// allocated per packet once each entry's buffers have grown.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <span>
#include <vector>

#include "fec/fec_packet.h"
#include "fec/raptorq.h"

namespace wzp::fec {

inline constexpr uint32_t kBlockLifetimeMs = 2000;

// What one sender can make us hold (its packets choose K, T and how many symbols arrive):
// symbols and stashed payloads of all its blocks together, and the declared size (K x T) of
// one block. An honest sender at 64 kbit/s with as many repairs as sources holds about 32 KB
// over a block lifetime; a block of 20 ms frames about 1 KB. Past the budget, the packet's
// frame is still delivered, only its use for recovery is dropped (FecDecoderStats::over_budget).
inline constexpr size_t kMaxHeldBytes = size_t{1} << 20;
inline constexpr size_t kMaxBlockBytes = 32 * 1024;

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void on_frame(uint32_t timestamp_ms, std::span<const uint8_t> frame, bool recovered,
                        uint8_t codec) = 0;
};

struct FecDecoderStats {
  uint64_t frames_direct = 0;
  uint64_t frames_recovered = 0;
  uint64_t duplicates = 0;
  uint64_t malformed = 0;       // packets or recovered blocks that do not parse
  uint64_t blocks_decoded = 0;  // blocks that needed and got a decode
  uint64_t blocks_expired = 0;  // forgotten with frames still missing
  uint64_t over_budget = 0;     // symbols or payloads not kept: kMaxHeldBytes reached
};

class FecDecoder {
 public:
  // slot_ms: the frame duration, to rebuild recovered frames' timestamps.
  void on_packet(const FecPacket& packet, uint32_t slot_ms, FrameSink& sink);
  // Forgets blocks whose base timestamp is kBlockLifetimeMs older than now_ms.
  void expire(uint32_t now_ms);
  const FecDecoderStats& stats() const { return stats_; }
  size_t held_bytes() const { return held_; }  // counted against kMaxHeldBytes

 private:
  struct Block {
    bool active = false;
    bool info = false;  // K and T known (from a repair packet)
    bool done = false;
    uint8_t codec = 0;
    uint32_t base_ts = 0;
    uint32_t K = 0;
    size_t T = 0;
    std::bitset<kMaxBlockSymbols> delivered;  // by the ESI a frame starts at
    std::bitset<kMaxBlockSymbols> have;       // source ESIs received (stashed or added)
    RaptorQDecoder decoder;
    std::vector<uint8_t> stash;  // source payloads received before K and T: [esi][len u16][bytes]
    size_t held = 0;             // this block's share of held_
  };

  Block& block_for(const FecPacket& packet);
  void add_source(Block& b, uint8_t esi, std::span<const uint8_t> payload);
  void try_decode(Block& b, uint32_t slot_ms, FrameSink& sink);
  // Counts `bytes` against the budget for `b`; false (and counted) when over it.
  bool reserve(Block& b, size_t bytes);
  // Gives back everything `b` holds, memory included (a block done, expired or reused).
  void release(Block& b);

  std::array<Block, 256> blocks_;
  std::vector<uint8_t> padded_;
  FecDecoderStats stats_;
  size_t held_ = 0;
};

}  // namespace wzp::fec
