// RFC 6330 building blocks: the parameters of a source block, Rand, Deg, Tuple, and the
// columns an encoding symbol combines (§5.3). docs/PROTOCOL.md §7 and
// ../shared/reference/rfc6330/ALGORITHM.md have the rules; this file follows them literally.
#pragma once

#include <cstdint>

namespace wzp::fec::rfc6330 {

inline constexpr uint32_t kMaxK = 56403;

struct Params {
  uint32_t K;        // source symbols
  uint32_t K_prime;  // K' from Table 2 (>= K)
  uint32_t J, S, H, W;
  uint32_t L, P, P1, B, U;
};

// Parameters for a block of K source symbols, 1 <= K <= kMaxK.
Params params_for(uint32_t K);

uint32_t rand(uint32_t y, uint32_t i, uint32_t m);
uint32_t deg(uint32_t v, uint32_t W);

struct Tuple {
  uint32_t d, a, b, d1, a1, b1;
};
Tuple tuple(const Params& p, uint32_t isi);

// Calls f(column) for each intermediate symbol that encoding symbol `isi` combines (the
// walk of Enc(), §5.3.5.3). Columns are distinct.
template <class F>
void for_each_column(const Params& p, uint32_t isi, F&& f) {
  const Tuple t = tuple(p, isi);
  uint32_t b = t.b;
  f(b);
  for (uint32_t j = 1; j < t.d; ++j) {
    b = (b + t.a) % p.W;
    f(b);
  }
  uint32_t b1 = t.b1;
  while (b1 >= p.P) b1 = (b1 + t.a1) % p.P1;
  f(p.W + b1);
  for (uint32_t j = 1; j < t.d1; ++j) {
    b1 = (b1 + t.a1) % p.P1;
    while (b1 >= p.P) b1 = (b1 + t.a1) % p.P1;
    f(p.W + b1);
  }
}

// ISI of an ESI: source ESIs map to themselves, repair ESIs skip the K' - K padding symbols.
inline uint32_t isi_of(const Params& p, uint32_t esi) {
  return esi < p.K ? esi : esi + (p.K_prime - p.K);
}

}  // namespace wzp::fec::rfc6330
