// TrunkFrame parsing, and rebuilding what was parsed: the builder must reproduce the input.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/trunk_frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const wzp::proto::TrunkLimits limits{.max_entries = 16, .max_bytes = 1452};
  std::array<wzp::proto::TrunkEntry, 16> entries;
  std::span<const uint8_t> in(data, size);
  auto n = wzp::proto::parse_trunk_frame(in, limits, entries);
  if (!n) return 0;
  wzp::proto::TrunkBuilder builder(limits);
  for (size_t i = 0; i < *n; ++i) {
    if (!builder.try_add(entries[i].session_id, entries[i].payload)) __builtin_trap();
  }
  const auto out = builder.bytes();
  if (out.size() != size || !std::equal(out.begin(), out.end(), data)) __builtin_trap();
  return 0;
}
