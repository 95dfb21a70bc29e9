// What the audio FEC layer puts into (and takes from) one media packet.
//
// Header fields: fec_block_id, fec_symbol_idx (the ESI of the payload's first symbol),
// is_repair, fec_ratio. Payloads:
//   source: one frame as written by write_frame() (prefix + frame, no padding);
//   repair: [K u8][T/8 u8] then one T-byte repair symbol. The packet's timestamp is the
//           block's base timestamp (its first frame's).
#pragma once

#include <cstdint>
#include <span>

namespace wzp::fec {

inline constexpr size_t kRepairInfoBytes = 2;
inline constexpr uint32_t kMaxBlockSymbols = 256;  // ESIs are one byte

struct FecPacket {
  bool is_repair = false;
  uint8_t block_id = 0;
  uint8_t esi = 0;
  uint8_t ratio_code = 0;
  uint8_t codec = 0;  // the block's codec id: a block never mixes codecs
  uint32_t timestamp_ms = 0;
  std::span<const uint8_t> payload;
};

class FecSink {
 public:
  virtual ~FecSink() = default;
  virtual void on_packet(const FecPacket& packet) = 0;
};

}  // namespace wzp::fec
