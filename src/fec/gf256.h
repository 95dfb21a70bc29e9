// Arithmetic in GF(256) with the RFC 6330 polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D), and
// the symbol operations built on it (RFC 6330 §5.7).
#pragma once

#include <cstddef>
#include <cstdint>

namespace wzp::fec::gf256 {

uint8_t mul(uint8_t a, uint8_t b);
uint8_t inv(uint8_t a);   // a != 0
uint8_t exp(unsigned i);  // alpha^i

// dst ^= src over n bytes.
void xor_into(uint8_t* dst, const uint8_t* src, size_t n);
// dst ^= c * src over n bytes.
void muladd_into(uint8_t* dst, const uint8_t* src, uint8_t c, size_t n);
// dst = c * dst over n bytes.
void scale(uint8_t* dst, uint8_t c, size_t n);

}  // namespace wzp::fec::gf256
