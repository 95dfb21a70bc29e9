#include "fec/raptorq.h"

#include <gtest/gtest.h>

#include <random>

#include "fec/gf256.h"
#include "fec/rfc6330.h"

namespace wzp::fec {
namespace {

std::vector<uint8_t> random_block(uint32_t K, size_t T, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> d(K * T);
  for (auto& b : d) b = static_cast<uint8_t>(rng());
  return d;
}

TEST(Gf256, FieldLaws) {
  for (unsigned a = 1; a < 256; ++a) {
    EXPECT_EQ(gf256::mul(static_cast<uint8_t>(a), gf256::inv(static_cast<uint8_t>(a))), 1);
    EXPECT_EQ(gf256::mul(static_cast<uint8_t>(a), 1), a);
    EXPECT_EQ(gf256::mul(static_cast<uint8_t>(a), 0), 0);
  }
  EXPECT_EQ(gf256::exp(8), 0x1D);  // alpha^8 = x^4 + x^3 + x^2 + 1 under 0x11D
  EXPECT_EQ(gf256::mul(0x53, 0xCA), gf256::mul(0xCA, 0x53));
}

TEST(Rfc6330, ParamsFollowTable2) {
  const auto p = rfc6330::params_for(10);
  EXPECT_EQ(p.K_prime, 10u);
  EXPECT_EQ(p.J, 254u);
  EXPECT_EQ(p.S, 7u);
  EXPECT_EQ(p.H, 10u);
  EXPECT_EQ(p.W, 17u);
  EXPECT_EQ(p.L, 27u);
  EXPECT_EQ(p.P, 10u);
  EXPECT_EQ(p.P1, 11u);
  const auto q = rfc6330::params_for(11);  // rounds up to the next K' in the table
  EXPECT_EQ(q.K_prime, 12u);
  EXPECT_EQ(rfc6330::isi_of(q, 10), 10u);
  EXPECT_EQ(rfc6330::isi_of(q, 11), 12u);  // first repair ESI skips the padding symbol
  EXPECT_EQ(rfc6330::params_for(rfc6330::kMaxK).K_prime, rfc6330::kMaxK);
}

TEST(RaptorQ, SystematicSourceSymbolsAreTheData) {
  for (uint32_t K : {1u, 7u, 10u, 33u}) {
    const auto data = random_block(K, 32, K);
    RaptorQEncoder enc;
    enc.encode(K, 32, data);
    std::vector<uint8_t> sym(32);
    for (uint32_t i = 0; i < K; ++i) {
      enc.symbol(i, sym);
      EXPECT_TRUE(std::equal(sym.begin(), sym.end(), data.begin() + i * 32)) << K << "/" << i;
    }
  }
}

// Every K from 1 to 256: drop a spread of source symbols, replace them with repairs, decode.
TEST(RaptorQ, RecoversLostSourceSymbolsForEveryKUpTo256) {
  std::mt19937 rng(1);
  for (uint32_t K = 1; K <= 256; ++K) {
    const size_t T = 16;
    const auto data = random_block(K, T, K + 1000);
    RaptorQEncoder enc;
    enc.encode(K, T, data);
    RaptorQDecoder dec;
    dec.reset(K, T);
    std::vector<uint8_t> sym(T);
    const uint32_t lost = std::max<uint32_t>(1, K / 4);
    for (uint32_t i = lost; i < K; ++i) {  // the first `lost` source symbols are missing
      enc.symbol(i, sym);
      dec.add(i, sym);
    }
    uint32_t esi = K;
    while (!dec.decode()) {  // add repairs until it decodes; K+2 almost always suffices
      ASSERT_LT(esi, K + lost + 5) << "K=" << K;
      enc.symbol(esi, sym);
      dec.add(esi++, sym);
    }
    for (uint32_t i = 0; i < K; ++i) {
      ASSERT_TRUE(
          std::equal(data.begin() + i * T, data.begin() + (i + 1) * T, dec.source(i).begin()))
          << "K=" << K << " symbol " << i;
    }
  }
}

TEST(RaptorQ, DecoderRefusesDuplicatesAndWrongSizes) {
  RaptorQDecoder dec;
  dec.reset(4, 8);
  std::vector<uint8_t> sym(8, 1);
  EXPECT_TRUE(dec.add(5, sym));
  EXPECT_FALSE(dec.add(5, sym));
  EXPECT_FALSE(dec.add(6, std::vector<uint8_t>(7)));
  EXPECT_FALSE(dec.decode());  // one symbol of four
}

TEST(RaptorQ, AllSourceSymbolsNeedNoDecoding) {
  RaptorQDecoder dec;
  dec.reset(3, 8);
  std::vector<uint8_t> sym(8);
  for (uint32_t i = 0; i < 3; ++i) {
    sym[0] = static_cast<uint8_t>(i);
    dec.add(i, sym);
  }
  EXPECT_TRUE(dec.complete());
  EXPECT_EQ(dec.source(2)[0], 2);
}

}  // namespace
}  // namespace wzp::fec
