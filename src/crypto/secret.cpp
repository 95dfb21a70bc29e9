#include "crypto/secret.h"

#include <stdexcept>

namespace wzp::crypto {

void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium failed to initialise");
}

}  // namespace wzp::crypto
