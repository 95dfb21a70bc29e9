// The sliding-window FEC receiver fed arbitrary packets: each record is
// [flags][id hi][id lo][codec][len] then len payload bytes; bit 0 of flags marks a repair.
// Delivered frames must lie inside the decoder's own buffers or the input, and their codec must
// be a valid one.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fec/window_decoder.h"
#include "proto/codec_id.h"

namespace {

struct Sink : wzp::fec::FrameSink {
  size_t bytes = 0;
  bool repairs = false;
  void on_frame(uint32_t, std::span<const uint8_t> f, bool recovered, uint8_t codec) override {
    for (uint8_t b : f) bytes += b;  // touch every byte: ASan checks the view
    if (recovered && !wzp::proto::codec_from_wire(codec)) __builtin_trap();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wzp::fec::WindowDecoder dec;
  Sink sink;
  size_t at = 0;
  uint32_t ts = 0;
  while (size - at >= 5) {
    wzp::fec::FecPacket p;
    p.is_repair = data[at] & 1;
    p.block_id = data[at + 1];
    p.esi = data[at + 2];
    p.codec = data[at + 3] % 9;
    p.timestamp_ms = ts += 20;
    const size_t len = data[at + 4] * (data[at] & 2 ? 8 : 1);  // long repairs too
    at += 5;
    if (size - at < len) break;
    p.payload = {data + at, len};
    at += len;
    dec.on_packet(p, sink);
  }
  return 0;
}
