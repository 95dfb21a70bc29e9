// The whole receive path of a call fed arbitrary datagrams: header parsing and mini-header
// expansion, authentication, FEC, jitter buffer and playout. Records are [len u8][bytes];
// after each, one 20 ms of playout is pulled. Nothing may crash, and a forged datagram must
// never reach the jitter buffer.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "client/call_decoder.h"
#include "client/call_encoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wzp;
  crypto::SessionKeys keys;
  for (size_t i = 0; i < 32; ++i) keys.key.data()[i] = static_cast<uint8_t>(3 * i);
  keys.session_id = 42;
  crypto::SessionCrypto rx(keys, crypto::Direction::kAnswerer);
  client::SessionMediaCrypto opener(rx);
  client::CallDecoder dec({}, opener);
  std::vector<int16_t> pcm(client::kPcmFrame);
  size_t at = 0;
  uint64_t now = 0;
  while (at < size) {
    const size_t len = data[at++];
    if (size - at < len) break;
    dec.on_datagram({data + at, len}, now);
    at += len;
    dec.pull(pcm, now);
    now += 20;
  }
  if (dec.jitter_stats().received != 0) __builtin_trap();  // nothing authenticated
  return 0;
}
