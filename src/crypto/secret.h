// Fixed-size secrets that wipe themselves, and libsodium's one-time initialisation.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <span>

namespace wzp::crypto {

// Calls sodium_init() once; every entry point that uses libsodium calls this first.
void ensure_sodium();

template <size_t N>
class Secret {
 public:
  Secret() { bytes_.fill(0); }
  explicit Secret(std::span<const uint8_t, N> from) {
    std::copy(from.begin(), from.end(), bytes_.begin());
  }
  Secret(const Secret& o) : bytes_(o.bytes_) {}
  Secret& operator=(const Secret& o) {
    bytes_ = o.bytes_;
    return *this;
  }
  ~Secret() { wipe(); }

  void wipe() { sodium_memzero(bytes_.data(), N); }
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  std::span<const uint8_t, N> view() const { return bytes_; }
  std::span<uint8_t, N> mut() { return bytes_; }
  bool is_zero() const { return sodium_is_zero(bytes_.data(), N) == 1; }
  static constexpr size_t size() { return N; }

 private:
  std::array<uint8_t, N> bytes_;
};

using Key32 = Secret<32>;
using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

}  // namespace wzp::crypto
