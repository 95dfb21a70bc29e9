// Decoding the common audio case (K <= 16, T = 256) allocates nothing once the decoder's
// buffers have grown: every global allocation in the loop is counted.
#include <gtest/gtest.h>

#include <random>

#include "fec/raptorq.h"
#include "support/count_allocations.h"

namespace wzp::fec {
namespace {

TEST(RaptorQAlloc, SteadyStateDecodingAllocatesNothing) {
  constexpr size_t T = 256;
  std::mt19937 rng(5);
  // Pre-computed symbols for every K, so the loop itself only decodes.
  std::vector<std::vector<std::vector<uint8_t>>> symbols(17);
  for (uint32_t K = 1; K <= 16; ++K) {
    std::vector<uint8_t> data(K * T);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    RaptorQEncoder enc;
    enc.encode(K, T, data);
    for (uint32_t e = 0; e < 2 * K + 4; ++e) {
      symbols[K].emplace_back(T);
      enc.symbol(e, symbols[K].back());
    }
  }
  RaptorQDecoder dec;
  std::vector<uint32_t> order(40);
  auto run = [&](int rounds) {
    int decoded = 0;
    for (int r = 0; r < rounds; ++r) {
      const uint32_t K = 1 + r % 16;
      const uint32_t n = 2 * K + 4;
      for (uint32_t i = 0; i < n; ++i) order[i] = i;
      std::shuffle(order.begin(), order.begin() + n, rng);
      dec.reset(K, T);
      for (uint32_t i = 0; i < K + 2; ++i) dec.add(order[i], symbols[K][order[i]]);
      decoded += dec.decode();
    }
    return decoded;
  };
  run(200);  // warm-up: buffers grow to the largest block
  const long before = test::allocations();
  const int decoded = run(2000);
  const long during = test::allocations() - before;
  EXPECT_GE(decoded, 1990);
  EXPECT_EQ(during, 0) << "allocations while decoding 2000 blocks";
}

}  // namespace
}  // namespace wzp::fec
