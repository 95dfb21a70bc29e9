// HKDF-SHA256 (RFC 5869) on libsodium's HMAC-SHA256 (Debian's libsodium 1.0.18 predates
// crypto_kdf_hkdf).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace wzp::crypto {

inline constexpr size_t kHashLen = 32;

void hkdf_extract(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                  std::span<uint8_t, kHashLen> prk);
// out.size() must be at most 255 * 32.
void hkdf_expand(std::span<const uint8_t, kHashLen> prk, std::span<const uint8_t> info,
                 std::span<uint8_t> out);
void hkdf(std::span<const uint8_t> salt, std::span<const uint8_t> ikm, std::string_view info,
          std::span<uint8_t> out);

}  // namespace wzp::crypto
