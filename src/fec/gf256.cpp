#include "fec/gf256.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WZP_GF256_X86 1
#endif

namespace wzp::fec::gf256 {
namespace {

struct Tables {
  std::array<uint8_t, 512> exp{};
  std::array<uint8_t, 256> log{};
  std::array<std::array<uint8_t, 256>, 256> mul{};  // full product table: one load per byte
  // Split tables for SIMD shuffles: c * low nibble, c * (high nibble << 4).
  alignas(32) std::array<std::array<uint8_t, 32>, 256> nibbles{};

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
    for (unsigned c = 0; c < 256; ++c) {
      for (unsigned x = 0; x < 16; ++x) {
        nibbles[c][x] = mul[c][x];
        nibbles[c][16 + x] = mul[c][x << 4];
      }
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

#ifdef WZP_GF256_X86
// dst ^= c * src, 32 bytes at a time: each byte's two nibbles index 16-entry product tables.
__attribute__((target("avx2"))) size_t muladd_avx2(uint8_t* dst, const uint8_t* src,
                                                   const uint8_t* tables, size_t n) {
  const __m256i lo =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tables)));
  const __m256i hi =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tables + 16)));
  const __m256i mask = _mm256_set1_epi8(0x0F);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    const __m256i l = _mm256_shuffle_epi8(lo, _mm256_and_si256(v, mask));
    const __m256i h = _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi64(v, 4), mask));
    __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(dst + i));
    d = _mm256_xor_si256(d, _mm256_xor_si256(l, h));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), d);
  }
  return i;
}

using MulAddKernel = size_t (*)(uint8_t*, const uint8_t*, const uint8_t*, size_t);

MulAddKernel pick_kernel() {
  __builtin_cpu_init();
  // Without AVX2 the scalar product table serves (about 8x slower on audio blocks).
  return __builtin_cpu_supports("avx2") ? muladd_avx2 : nullptr;
}

const MulAddKernel kKernel = pick_kernel();
#endif

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
  size_t i = 0;
#ifdef WZP_GF256_X86
  if (kKernel) i = kKernel(dst, src, tables().nibbles[c].data(), n);
#endif
  const auto& row = tables().mul[c];
  for (; i < n; ++i) dst[i] ^= row[src[i]];
}

void scale(uint8_t* dst, uint8_t c, size_t n) {
  if (c == 1) return;
  const auto& row = tables().mul[c];
  for (size_t i = 0; i < n; ++i) dst[i] = row[dst[i]];
}

}  // namespace wzp::fec::gf256
