#include "proto/mini_header.h"

#include "proto/bytes.h"

namespace wzp::proto {

void MiniHeader::write(std::span<uint8_t, kSize> out) const {
  store_be16(&out[0], ts_delta_ms);
  store_be16(&out[2], payload_len);
}

Result<MiniHeader> MiniHeader::parse(std::span<const uint8_t> in) {
  if (in.size() < kSize) return Error{Errc::kTruncated, "mini header needs 4 bytes"};
  return MiniHeader{load_be16(&in[0]), load_be16(&in[2])};
}

}  // namespace wzp::proto
