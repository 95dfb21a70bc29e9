// The FEC receiver fed arbitrary packets: each record is
// [flags][block id][esi][timestamp u16 LE][len] then len payload bytes; bit 0 of flags marks a
// repair. Delivered frames must lie inside the decoder's own buffers or the input.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fec/fec_decoder.h"

namespace {

struct Sink : wzp::fec::FrameSink {
  size_t frames = 0, bytes = 0;
  void on_frame(uint32_t, std::span<const uint8_t> f, bool, uint8_t) override {
    ++frames;
    for (uint8_t b : f) bytes += b;  // touch every byte: ASan checks the view
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wzp::fec::FecDecoder dec;
  Sink sink;
  size_t at = 0;
  while (size - at >= 6) {
    wzp::fec::FecPacket p;
    p.is_repair = data[at] & 1;
    p.block_id = data[at + 1];
    p.esi = data[at + 2];
    p.timestamp_ms = static_cast<uint32_t>(data[at + 3] | data[at + 4] << 8) * 20u;
    const size_t len = data[at + 5];
    at += 6;
    if (size - at < len) break;
    p.payload = {data + at, len};
    at += len;
    dec.on_packet(p, 20, sink);
    if (data[at - 1] == 0xEE) dec.expire(p.timestamp_ms);
  }
  return 0;
}
