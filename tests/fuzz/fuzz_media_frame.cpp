// Media datagrams: tag, full or mini header, quality report. The first byte picks whether the
// reader already has context, so both mini-header paths are reached.
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/media_frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  wzp::proto::MediaFrameReader reader;
  if (data[0] & 1) {
    const uint8_t seed[] = {0x00, 0x00, 0x34, 0x00, 0x01, 0, 0, 0, 20, 3, 0, 0, 0};
    auto f = reader.parse(seed);
    if (f) reader.accept(*f);
  }
  std::span<const uint8_t> in(data + 1, size - 1);
  for (uint16_t lost = 0; lost < 3; ++lost) {
    auto f = reader.parse(in, lost);
    if (!f) continue;
    // The views must lie inside the datagram and cover it exactly.
    if (f->header_bytes.size() + f->payload.size() != in.size()) __builtin_trap();
    if (f->header_bytes.data() != in.data()) __builtin_trap();
    reader.accept(*f);
  }
  return 0;
}
