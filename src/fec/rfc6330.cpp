#include "fec/rfc6330.h"

#include <algorithm>
#include <array>
#include <cassert>

namespace wzp::fec::rfc6330 {
namespace {

constexpr uint32_t kV[4][256] = {
#include "fec/rfc6330_rand_tables.inc"
};

struct Row {
  uint32_t k_prime, j, s, h, w;
};
constexpr Row kTable2[] = {
#include "fec/rfc6330_systematic.inc"
};

// §5.3.5.2: cumulative degree distribution.
constexpr std::array<uint32_t, 31> kDegreeCdf = {
    0,       5243,    529531,  704294,  791675,  844104,  879057,  904023,
    922747,  937311,  948962,  958494,  966438,  973160,  978921,  983914,
    988283,  992138,  995565,  998631,  1001391, 1003887, 1006157, 1008229,
    1010129, 1011876, 1013490, 1014983, 1016370, 1017662, 1048576};

bool is_prime(uint32_t n) {
  if (n < 2) return false;
  for (uint32_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

}  // namespace

uint32_t rand(uint32_t y, uint32_t i, uint32_t m) {
  const uint32_t x0 = (y + i) & 0xFF;
  const uint32_t x1 = ((y >> 8) + i) & 0xFF;
  const uint32_t x2 = ((y >> 16) + i) & 0xFF;
  const uint32_t x3 = ((y >> 24) + i) & 0xFF;
  return (kV[0][x0] ^ kV[1][x1] ^ kV[2][x2] ^ kV[3][x3]) % m;
}

uint32_t deg(uint32_t v, uint32_t W) {
  uint32_t d = 1;
  while (d < 30 && v >= kDegreeCdf[d]) ++d;
  return std::min(d, W - 2);
}

Params params_for(uint32_t K) {
  assert(K >= 1 && K <= kMaxK);
  const Row* row = std::lower_bound(std::begin(kTable2), std::end(kTable2), K,
                                    [](const Row& r, uint32_t k) { return r.k_prime < k; });
  Params p{};
  p.K = K;
  p.K_prime = row->k_prime;
  p.J = row->j;
  p.S = row->s;
  p.H = row->h;
  p.W = row->w;
  p.L = p.K_prime + p.S + p.H;
  p.P = p.L - p.W;
  p.P1 = p.P;
  while (!is_prime(p.P1)) ++p.P1;
  p.B = p.W - p.S;
  p.U = p.P - p.H;
  return p;
}

Tuple tuple(const Params& p, uint32_t X) {
  uint32_t A = 53591 + p.J * 997;
  if (A % 2 == 0) A += 1;
  const uint32_t B = 10267 * (p.J + 1);
  const uint32_t y = B + X * A;  // mod 2^32 by unsigned wrap-around
  Tuple t;
  t.d = deg(rand(y, 0, 1u << 20), p.W);
  t.a = 1 + rand(y, 1, p.W - 1);
  t.b = rand(y, 2, p.W);
  t.d1 = t.d < 4 ? 2 + rand(X, 3, 2) : 2;
  t.a1 = 1 + rand(X, 4, p.P1 - 1);
  t.b1 = rand(X, 5, p.P1);
  return t;
}

}  // namespace wzp::fec::rfc6330
