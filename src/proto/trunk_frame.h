// TrunkFrame: several sessions' datagrams batched into one datagram, [tag 0x02][count u16] then
// count x [session_id u16][len u16][payload]. Bounded by an entry count and the path MTU. The
// relay sends every member's media to the others so (one entry, or a batch), naming its session.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "proto/frame_tag.h"
#include "proto/result.h"

namespace wzp::proto {

struct TrunkLimits {
  size_t max_entries = 10;
  size_t max_bytes = 1452;  // the datagram's size, tag and count included
};

struct TrunkEntry {
  uint16_t session_id = 0;
  std::span<const uint8_t> payload;  // a view into the parsed frame
};

inline constexpr size_t kTrunkHeaderBytes = 3;  // tag and count
inline constexpr size_t kTrunkEntryOverhead = 4;

// Parses a datagram into `out` (which must hold limits.max_entries) and returns the number of
// entries. Another tag, zero entries, more than the limit, a length running past the end or
// trailing bytes are errors; nothing is allocated.
Result<size_t> parse_trunk_frame(std::span<const uint8_t> in, const TrunkLimits& limits,
                                 std::span<TrunkEntry> out);

// Accumulates entries for one receiver into a reusable buffer.
class TrunkBuilder {
 public:
  explicit TrunkBuilder(TrunkLimits limits);

  // False when the entry would break a limit; the caller flushes and tries again. An entry
  // too large for even an empty frame is refused with the builder empty.
  bool try_add(uint16_t session_id, std::span<const uint8_t> payload);
  bool empty() const { return count_ == 0; }
  size_t count() const { return count_; }
  size_t size() const { return buf_.size(); }
  // The datagram, tag included; valid until the next try_add() or clear().
  std::span<const uint8_t> bytes();
  void clear();

 private:
  TrunkLimits limits_;
  std::vector<uint8_t> buf_;
  size_t count_ = 0;
};

}  // namespace wzp::proto
