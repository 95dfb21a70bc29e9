// Signalling: the length-prefixed framing, fed in two pieces, and the JSON decoder behind it.
// Whatever decodes must encode and decode again to the same message.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "proto/signal_framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  wzp::proto::SignalFrameReader reader(4096);
  std::span<const uint8_t> in(data + 1, size - 1);  // data[0] picks where the stream is cut
  const size_t cut = data[0] % (in.size() + 1);
  for (auto piece : {in.first(cut), in.subspan(cut)}) {
    if (!reader.feed(piece)) break;
    while (auto msg = reader.next()) {
      if (!msg->ok()) continue;
      auto again = wzp::proto::decode_signal(wzp::proto::encode_signal(msg->value()));
      if (!again.ok()) __builtin_trap();
      // Doubles may lose their last bit through text; compare the text instead.
      if (wzp::proto::encode_signal(*again) != wzp::proto::encode_signal(msg->value())) {
        __builtin_trap();
      }
    }
  }
  // The same bytes as a signalling datagram: whatever parses encodes to a datagram that parses.
  std::vector<uint8_t> datagram(in.begin(), in.end());
  if (!datagram.empty()) datagram[0] = 0x05;
  if (auto m = wzp::proto::parse_signal_datagram(datagram); m.ok()) {
    const auto again = wzp::proto::signal_datagram(m.value());  // (its text may be longer)
    if (again.size() <= wzp::proto::kMaxSignalDatagram &&
        !wzp::proto::parse_signal_datagram(again).ok()) {
      __builtin_trap();
    }
  }
  // Also the JSON decoder on its own, without framing.
  (void)wzp::proto::decode_signal(
      std::string_view(reinterpret_cast<const char*>(in.data()), in.size()));
  return 0;
}
