// RESP replies (what Redis, or whatever answers on its port, sends the relay): the parser takes
// the bytes in two pieces, never crashes, never yields a value past its bounds, and once
// failed stays failed.
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/resp.h"

namespace {

size_t depth_of(const wzp::proto::RespValue& v) {
  size_t d = 0;
  for (const auto& i : v.items) d = std::max(d, depth_of(i));
  return v.type == wzp::proto::RespValue::Type::kArray ? d + 1 : d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const wzp::proto::RespLimits limits{
      .max_bulk = 256, .max_items = 64, .max_depth = 3, .max_buffered = 4096, .max_line = 128};
  wzp::proto::RespParser p(limits);
  const size_t cut = size ? data[0] % (size + 1) : 0;
  const std::span<const uint8_t> all(data, size);
  for (const auto piece : {all.first(cut), all.subspan(cut)}) {
    const bool fed = p.feed(piece);
    if (!fed && !p.failed()) __builtin_trap();
    while (auto v = p.next()) {
      if (v->text.size() > limits.max_line + limits.max_bulk) __builtin_trap();
      if (v->items.size() > limits.max_items) __builtin_trap();
      if (depth_of(*v) > limits.max_depth + 1) __builtin_trap();
    }
  }
  if (p.failed() && (p.feed(all) || p.next())) __builtin_trap();
  return 0;
}
