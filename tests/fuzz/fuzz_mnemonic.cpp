// BIP39 mnemonic parsing from untrusted text (restore-identity input). Whatever parses must
// encode back to the same words.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/bip39.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = wzp::crypto::mnemonic_to_entropy(text);
  if (r.error) return 0;
  auto again = wzp::crypto::mnemonic_to_entropy(wzp::crypto::entropy_to_mnemonic(r.entropy));
  if (again.error || again.entropy != r.entropy) __builtin_trap();
  return 0;
}
