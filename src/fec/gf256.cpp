#include "fec/gf256.h"

#include <array>
#include <cstring>

namespace wzp::fec::gf256 {
namespace {

struct Tables {
  std::array<uint8_t, 512> exp{};
  std::array<uint8_t, 256> log{};
  std::array<std::array<uint8_t, 256>, 256> mul{};  // full product table: one load per byte

  Tables() {
    unsigned x = 1;
    for (unsigned i = 0; i < 255; ++i) {
      exp[i] = static_cast<uint8_t>(x);
      log[x] = static_cast<uint8_t>(i);
      x <<= 1;
      if (x & 0x100) x ^= 0x11D;
    }
    for (unsigned i = 255; i < 512; ++i) exp[i] = exp[i - 255];
    for (unsigned a = 1; a < 256; ++a) {
      for (unsigned b = 1; b < 256; ++b) mul[a][b] = exp[log[a] + log[b]];
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

uint8_t mul(uint8_t a, uint8_t b) { return tables().mul[a][b]; }

uint8_t inv(uint8_t a) { return tables().exp[255 - tables().log[a]]; }

uint8_t exp(unsigned i) { return tables().exp[i % 255]; }

void xor_into(uint8_t* dst, const uint8_t* src, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, dst + i, 8);
    std::memcpy(&b, src + i, 8);
    a ^= b;
    std::memcpy(dst + i, &a, 8);
  }
  for (; i < n; ++i) dst[i] ^= src[i];
}

void muladd_into(uint8_t* dst, const uint8_t* src, uint8_t c, size_t n) {
  if (c == 0) return;
  if (c == 1) return xor_into(dst, src, n);
  const auto& row = tables().mul[c];
  for (size_t i = 0; i < n; ++i) dst[i] ^= row[src[i]];
}

void scale(uint8_t* dst, uint8_t c, size_t n) {
  if (c == 1) return;
  const auto& row = tables().mul[c];
  for (size_t i = 0; i < n; ++i) dst[i] = row[dst[i]];
}

}  // namespace wzp::fec::gf256
