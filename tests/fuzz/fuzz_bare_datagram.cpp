// A bare datagram's receive path (transport/bare_datagram.h) fed arbitrary packets: nothing may
// crash, nothing forged may open, and what the other end seals still opens afterwards.
// Input: [flags][packet...]; flag bit 0 writes our connection ID into the packet (so that the
// header checks pass and the sequence and AEAD paths are reached).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "transport/bare_datagram.h"

using wzp::transport::BareChannel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::array<uint8_t, BareChannel::kSecretBytes> secret = [] {
    std::array<uint8_t, BareChannel::kSecretBytes> s{};
    for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(i * 7 + 1);
    return s;
  }();
  static BareChannel server(secret, true), client(secret, false);
  if (size == 0) return 0;
  std::vector<uint8_t> packet(data + 1, data + size);
  if ((data[0] & 1) && packet.size() > BareChannel::kCidBytes) {
    const auto cid = server.rx_cid();
    std::memcpy(packet.data() + 1, cid.data(), cid.size());
  }
  std::vector<uint8_t> out(packet.size() + 1);
  size_t len = 0;
  if (server.open(packet, out, &len) == BareChannel::Opened::kOk)
    __builtin_trap();  // a forgery opened
  const std::vector<uint8_t> payload(
      packet.begin(),
      packet.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(packet.size(), 64)));
  std::vector<uint8_t> sealed(payload.size() + BareChannel::kOverheadBytes);
  sealed.resize(client.seal(payload, sealed, data[0]));
  std::vector<uint8_t> opened(sealed.size());
  if (server.open(sealed, opened, &len) != BareChannel::Opened::kOk || len != payload.size() ||
      std::memcmp(opened.data(), payload.data(), len) != 0) {
    __builtin_trap();
  }
  return 0;
}
