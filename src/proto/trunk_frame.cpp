#include "proto/trunk_frame.h"

#include "proto/bytes.h"

namespace wzp::proto {

Result<size_t> parse_trunk_frame(std::span<const uint8_t> in, const TrunkLimits& limits,
                                 std::span<TrunkEntry> out) {
  if (in.size() > limits.max_bytes) return Error{Errc::kTooLarge, "trunk frame over the MTU"};
  if (in.size() < kTrunkHeaderBytes) return Error{Errc::kTruncated, "trunk frame count"};
  if (in[0] != tag_byte(FrameTag::kTrunk)) return Error{Errc::kBadValue, "not a trunk frame"};
  const size_t count = load_be16(&in[1]);
  if (count == 0) return Error{Errc::kBadValue, "trunk frame with no entries"};
  if (count > limits.max_entries || count > out.size()) {
    return Error{Errc::kTooLarge, "trunk frame entry count"};
  }
  size_t pos = kTrunkHeaderBytes;
  for (size_t i = 0; i < count; ++i) {
    if (in.size() - pos < kTrunkEntryOverhead) {
      return Error{Errc::kTruncated, "trunk entry header"};
    }
    const uint16_t session = load_be16(&in[pos]);
    const size_t len = load_be16(&in[pos + 2]);
    pos += kTrunkEntryOverhead;
    if (in.size() - pos < len) return Error{Errc::kTruncated, "trunk entry payload"};
    out[i] = TrunkEntry{session, in.subspan(pos, len)};
    pos += len;
  }
  if (pos != in.size()) return Error{Errc::kLengthMismatch, "bytes after the last trunk entry"};
  return count;
}

TrunkBuilder::TrunkBuilder(TrunkLimits limits) : limits_(limits) {
  buf_.reserve(limits_.max_bytes);
  clear();
}

bool TrunkBuilder::try_add(uint16_t session_id, std::span<const uint8_t> payload) {
  if (count_ >= limits_.max_entries || payload.size() > 0xFFFF) return false;
  if (buf_.size() + kTrunkEntryOverhead + payload.size() > limits_.max_bytes) return false;
  const size_t at = buf_.size();
  buf_.resize(at + kTrunkEntryOverhead + payload.size());
  store_be16(&buf_[at], session_id);
  store_be16(&buf_[at + 2], static_cast<uint16_t>(payload.size()));
  std::copy(payload.begin(), payload.end(), buf_.begin() + at + kTrunkEntryOverhead);
  ++count_;
  store_be16(&buf_[1], static_cast<uint16_t>(count_));
  return true;
}

std::span<const uint8_t> TrunkBuilder::bytes() { return buf_; }

void TrunkBuilder::clear() {
  buf_.assign(kTrunkHeaderBytes, 0);
  buf_[0] = tag_byte(FrameTag::kTrunk);
  count_ = 0;
}

}  // namespace wzp::proto
