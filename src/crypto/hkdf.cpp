#include "crypto/hkdf.h"

#include <sodium.h>

#include <algorithm>
#include <cassert>

#include "crypto/secret.h"

namespace wzp::crypto {

void hkdf_extract(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                  std::span<uint8_t, kHashLen> prk) {
  ensure_sodium();
  // An absent salt is HashLen zero bytes (RFC 5869 §2.2).
  uint8_t zeros[kHashLen] = {};
  if (salt.empty()) salt = zeros;
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, salt.data(), salt.size());
  crypto_auth_hmacsha256_update(&st, ikm.data(), ikm.size());
  crypto_auth_hmacsha256_final(&st, prk.data());
  sodium_memzero(&st, sizeof st);
}

void hkdf_expand(std::span<const uint8_t, kHashLen> prk, std::span<const uint8_t> info,
                 std::span<uint8_t> out) {
  ensure_sodium();
  assert(out.size() <= 255 * kHashLen);
  uint8_t t[kHashLen];
  size_t t_len = 0;
  for (uint8_t counter = 1; !out.empty(); ++counter) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, prk.data(), prk.size());
    crypto_auth_hmacsha256_update(&st, t, t_len);
    crypto_auth_hmacsha256_update(&st, info.data(), info.size());
    crypto_auth_hmacsha256_update(&st, &counter, 1);
    crypto_auth_hmacsha256_final(&st, t);
    sodium_memzero(&st, sizeof st);
    t_len = kHashLen;
    const size_t n = std::min(out.size(), kHashLen);
    std::copy_n(t, n, out.begin());
    out = out.subspan(n);
  }
  sodium_memzero(t, sizeof t);
}

void hkdf(std::span<const uint8_t> salt, std::span<const uint8_t> ikm, std::string_view info,
          std::span<uint8_t> out) {
  Secret<kHashLen> prk;
  hkdf_extract(salt, ikm, prk.mut());
  hkdf_expand(prk.view(), {reinterpret_cast<const uint8_t*>(info.data()), info.size()}, out);
}

}  // namespace wzp::crypto
