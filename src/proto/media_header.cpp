#include "proto/media_header.h"

#include <cassert>
#include <cmath>

#include "proto/bytes.h"

namespace wzp::proto {

// Byte 0: [version:1][is_repair:1][codec_id:4][has_quality_report:1][fec_ratio bit 6]
// Byte 1: [fec_ratio bits 5..0][unused:2]
void MediaHeader::write(std::span<uint8_t, kSize> out) const {
  assert(fec_ratio_code <= kMaxFecRatioCode);
  const uint8_t codec_bits = static_cast<uint8_t>(codec) & 0x0F;
  out[0] = static_cast<uint8_t>(kMediaVersion << 7 | (is_repair ? 1 : 0) << 6 | codec_bits << 2 |
                                (has_quality_report ? 1 : 0) << 1 | (fec_ratio_code >> 6 & 1));
  out[1] = static_cast<uint8_t>((fec_ratio_code & 0x3F) << 2);
  store_be16(&out[2], seq);
  store_be32(&out[4], timestamp_ms);
  out[8] = fec_block_id;
  out[9] = fec_symbol_idx;
  out[10] = reserved;
  out[11] = csrc_count;
}

Result<MediaHeader> MediaHeader::parse(std::span<const uint8_t> in) {
  if (in.size() < kSize) return Error{Errc::kTruncated, "media header needs 12 bytes"};
  if ((in[0] >> 7) != kMediaVersion) return Error{Errc::kBadVersion, "media header version"};
  const auto codec = codec_from_wire(in[0] >> 2 & 0x0F);
  if (!codec) return Error{Errc::kUnknownCodec, "media header codec id"};
  MediaHeader h;
  h.is_repair = (in[0] >> 6 & 1) != 0;
  h.codec = *codec;
  h.has_quality_report = (in[0] >> 1 & 1) != 0;
  h.fec_ratio_code = static_cast<uint8_t>((in[0] & 1) << 6 | in[1] >> 2);
  h.seq = load_be16(&in[2]);
  h.timestamp_ms = load_be32(&in[4]);
  h.fec_block_id = in[8];
  h.fec_symbol_idx = in[9];
  h.reserved = in[10];
  h.csrc_count = in[11];
  return h;
}

double MediaHeader::fec_ratio() const { return fec_ratio_from_code(fec_ratio_code); }

uint8_t fec_ratio_to_code(double ratio) {
  if (!(ratio > 0.0)) return 0;  // also catches NaN
  if (ratio >= 2.0) return kMaxFecRatioCode;
  return static_cast<uint8_t>(std::lround(ratio * kMaxFecRatioCode / 2.0));
}

double fec_ratio_from_code(uint8_t code) { return code * 2.0 / kMaxFecRatioCode; }

}  // namespace wzp::proto
