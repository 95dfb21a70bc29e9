#include "fec/frame_packing.h"

#include <algorithm>
#include <cassert>

namespace wzp::fec {

size_t write_frame(std::span<const uint8_t> frame, uint32_t slot_gap, std::span<uint8_t> out) {
  assert(frame.size() <= kMaxFrameBytes && slot_gap <= kMaxSlotGap);
  assert(out.size() >= kFramePrefix + frame.size());
  const uint16_t prefix = static_cast<uint16_t>(frame.size() | slot_gap << 11);
  out[0] = static_cast<uint8_t>(prefix);
  out[1] = static_cast<uint8_t>(prefix >> 8);
  std::copy(frame.begin(), frame.end(), out.begin() + kFramePrefix);
  return kFramePrefix + frame.size();
}

proto::Result<PackedFrame> read_frame(std::span<const uint8_t> in, size_t T) {
  if (in.size() < kFramePrefix) return proto::Error{proto::Errc::kTruncated, "frame prefix"};
  const uint16_t prefix = static_cast<uint16_t>(in[0] | in[1] << 8);
  PackedFrame f;
  const size_t len = prefix & 0x7FF;
  f.slot_gap = prefix >> 11;
  if (in.size() - kFramePrefix < len) {
    return proto::Error{proto::Errc::kLengthMismatch, "frame longer than its symbols"};
  }
  f.data = in.subspan(kFramePrefix, len);
  f.symbols = T == 0 ? 0 : symbols_for(len, T);
  return f;
}

}  // namespace wzp::fec
