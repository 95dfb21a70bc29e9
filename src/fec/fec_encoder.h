// The sender's block manager: frames go out at once as source packets; each block of N frames
// (closed early by a deadline) is RaptorQ-encoded and its ceil(K x ratio) repair symbols follow,
// paced between later frames.
//
// Interleaving of depth D assigns frame i to the block of slot i mod D, so consecutive packets
// on the wire belong to different blocks and a burst of losses takes few symbols from any
// one block; source frames are never delayed by it. The price is recovery delay: a block spans
// N x D frames.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "fec/fec_packet.h"
#include "fec/raptorq.h"

namespace wzp::fec {

struct FecConfig {
  uint32_t frames_per_block = 5;
  double ratio = 0.2;               // repair symbols per source symbol, 0..2
  uint32_t depth = 1;               // interleaving depth
  uint32_t deadline_ms = 400;       // a block closes this long after its first frame
  uint32_t slot_ms = 20;            // frame duration
  size_t nominal_frame_bytes = 60;  // first guess for symbol sizing
};

class FecEncoder {
 public:
  explicit FecEncoder(const FecConfig& config);

  // New settings (a tier switch): open blocks are closed under the old ones first.
  void reconfigure(const FecConfig& config, FecSink& sink);
  // One encoded frame of `codec`, captured at ts_ms. A codec change closes the open block.
  void push(uint32_t ts_ms, std::span<const uint8_t> frame, FecSink& sink, uint8_t codec = 0);
  // Closes blocks past their deadline; sends repairs that have waited long enough.
  void tick(uint32_t now_ms, FecSink& sink);
  // Closes every block and sends every repair (end of a call, tests).
  void flush(FecSink& sink);

  const FecConfig& config() const { return config_; }
  uint64_t source_bytes() const { return source_bytes_; }
  uint64_t repair_bytes() const { return repair_bytes_; }  // symbols only, no repair info

 private:
  struct OpenBlock {
    bool open = false;
    uint8_t id = 0, codec = 0;
    uint32_t base_ts = 0, last_ts = 0, frames = 0, K = 0;
    size_t T = 0;
    std::vector<uint8_t> symbols;
  };
  struct RepairBlock {
    uint8_t id = 0, K = 0, codec = 0;
    uint32_t base_ts = 0, closed_ts = 0, count = 0, next = 0;
    size_t T = 0;
    std::vector<uint8_t> symbols;  // count x T
  };

  void apply(const FecConfig& config);
  void open(OpenBlock& b, uint32_t ts);
  void close(OpenBlock& b, uint32_t now_ms);
  void emit_repair(FecSink& sink);  // one repair from the head block, round robin
  uint32_t repair_count(uint32_t K) const;

  FecConfig config_;
  uint8_t ratio_code_ = 0;
  std::vector<OpenBlock> blocks_;  // one per interleaving slot
  uint64_t frame_index_ = 0;
  uint8_t next_id_ = 0;
  double frame_bytes_ema_;
  double credit_ = 0;
  RaptorQEncoder encoder_;
  std::vector<RepairBlock> pool_;  // repair blocks, reused
  std::vector<size_t> queue_;      // indices into pool_, round-robin order
  std::vector<size_t> free_;       // unused pool_ entries
  std::vector<uint8_t> packet_;    // scratch for one packet's payload
  uint64_t source_bytes_ = 0, repair_bytes_ = 0;
};

}  // namespace wzp::fec
