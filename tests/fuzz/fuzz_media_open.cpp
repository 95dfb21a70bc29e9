// The receive path of one session: parse a datagram, build its associated data, authenticate.
// Random input must never authenticate, and must leave the session able to open a genuine
// packet afterwards.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "crypto/media_aead.h"
#include "crypto/session_crypto.h"

namespace {

wzp::crypto::SessionKeys fixed_keys() {
  wzp::crypto::SessionKeys k;
  for (size_t i = 0; i < 32; ++i) k.key.data()[i] = static_cast<uint8_t>(i * 7 + 1);
  k.session_id = 0x01020304;
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wzp;
  static const crypto::SessionKeys keys = fixed_keys();
  crypto::SessionCrypto rx(keys, crypto::Direction::kAnswerer);
  proto::MediaFrameReader reader;
  std::vector<uint8_t> out(size);
  std::array<uint8_t, crypto::kMaxAssociatedData> ad{};
  for (uint16_t lost = 0; lost < 2; ++lost) {
    auto f = reader.parse({data, size}, lost);
    if (!f) continue;
    const size_t ad_len = crypto::media_associated_data(*f, ad);
    size_t n = 0;
    if (rx.open(f->header.seq, std::span(ad).first(ad_len), f->payload, out, &n) ==
        crypto::OpenStatus::kOk) {
      __builtin_trap();  // a forgery authenticated
    }
  }
  // A genuine packet still opens.
  crypto::SessionCrypto tx(keys, crypto::Direction::kOfferer);
  const uint8_t hdr[3] = {0, 1, 2};
  const uint8_t pt[8] = {9, 9, 9, 9, 9, 9, 9, 9};
  uint8_t ct[8 + crypto::kAeadTagBytes];
  tx.seal(7, hdr, pt, ct);
  uint8_t back[8];
  size_t n = 0;
  if (rx.open(7, hdr, ct, back, &n) != crypto::OpenStatus::kOk) __builtin_trap();
  return 0;
}
