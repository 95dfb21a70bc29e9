// The code's own failure rate: with K + h symbols received at random (h = 0, 1, 2), decoding
// must fail no more often than RFC 6330 promises: under 1 %, 0.01 % and 0.0001 %.
#include <gtest/gtest.h>

#include <random>

#include "fec/raptorq.h"

namespace wzp::fec {
namespace {

double failure_rate(uint32_t K, uint32_t h, int trials, uint32_t seed) {
  const size_t T = 8;  // the rate depends only on which ESIs arrive, not on the content
  std::vector<uint8_t> data(K * T, 0x5A);
  RaptorQEncoder enc;
  enc.encode(K, T, data);
  // Candidate ESIs: all source symbols and as many repairs again.
  const uint32_t pool_size = 2 * K + 8;
  std::vector<std::vector<uint8_t>> symbols(pool_size, std::vector<uint8_t>(T));
  for (uint32_t e = 0; e < pool_size; ++e) enc.symbol(e, symbols[e]);
  std::mt19937 rng(seed);
  std::vector<uint32_t> pool(pool_size);
  RaptorQDecoder dec;
  int failures = 0;
  for (int t = 0; t < trials; ++t) {
    for (uint32_t i = 0; i < pool_size; ++i) pool[i] = i;
    // Partial Fisher-Yates: the first K + h entries are a uniform random subset.
    for (uint32_t i = 0; i < K + h; ++i) {
      std::uniform_int_distribution<uint32_t> pick(i, pool_size - 1);
      std::swap(pool[i], pool[pick(rng)]);
    }
    dec.reset(K, T);
    for (uint32_t i = 0; i < K + h; ++i) dec.add(pool[i], symbols[pool[i]]);
    failures += !dec.decode();
  }
  return static_cast<double>(failures) / trials;
}

TEST(RaptorQFailureRate, WithinTheRfcPromiseOver100000Trials) {
  constexpr int kTrials = 100000;
  for (uint32_t K : {10u}) {
    const double h0 = failure_rate(K, 0, kTrials, 11);
    const double h1 = failure_rate(K, 1, kTrials, 12);
    const double h2 = failure_rate(K, 2, kTrials, 13);
    RecordProperty("K10_fail_h0_percent", std::to_string(h0 * 100));
    RecordProperty("K10_fail_h1_percent", std::to_string(h1 * 100));
    RecordProperty("K10_fail_h2_percent", std::to_string(h2 * 100));
    std::printf("K=%u: failure with K symbols %.4f %%, K+1 %.4f %%, K+2 %.5f %%\n", K, h0 * 100,
                h1 * 100, h2 * 100);
    EXPECT_LT(h0, 0.01);
    EXPECT_LT(h1, 0.0001);
    EXPECT_LT(h2, 0.000001);
  }
}

}  // namespace
}  // namespace wzp::fec
