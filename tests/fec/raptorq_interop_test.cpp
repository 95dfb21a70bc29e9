// Bit-exactness against an independent RFC 6330 implementation (npm raptorq).
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "fec/raptorq.h"
#include "npm_oracle.h"

namespace wzp::fec {
namespace {

using interop::block_data;
using interop::run_oracle;
using interop::sha256_hex;

constexpr uint32_t kRepairs = 51;  // ESIs K..K+50

std::vector<uint32_t> ks_under_test() {
  std::vector<uint32_t> ks;
  for (uint32_t k = 1; k <= 200; ++k) ks.push_back(k);
  for (uint32_t k : {256u, 300u, 479u, 500u, 777u, 1000u}) ks.push_back(k);
  return ks;
}

// Our repair symbols for ESIs K..K+R-1, keeping the first `keep` bytes of each.
std::vector<uint8_t> our_repairs(uint32_t K, size_t T, size_t keep) {
  RaptorQEncoder enc;
  enc.encode(K, T, block_data(K, T));
  std::vector<uint8_t> sym(T), all;
  for (uint32_t e = K; e < K + kRepairs; ++e) {
    enc.symbol(e, sym);
    all.insert(all.end(), sym.begin(), sym.begin() + keep);
  }
  return all;
}

using Case = std::pair<uint32_t, size_t>;  // K, T

// The oracle's hash of repair symbols K..K+50 for each case; `cmd` is encode or encodepad.
std::vector<std::string> oracle_repair_hashes(const std::string& cmd,
                                              const std::vector<Case>& cases) {
  std::vector<std::string> jobs;
  for (const auto& [K, T] : cases) {
    jobs.push_back(cmd + " " + std::to_string(K) + " " + std::to_string(T) + " " +
                   std::to_string(kRepairs));
  }
  const auto lines = run_oracle(jobs);
  EXPECT_EQ(lines.size(), cases.size());
  std::vector<std::string> hashes;
  for (const auto& line : lines) {
    std::istringstream in(line);
    std::string k, t, hash;
    in >> k >> t >> hash;
    hashes.push_back(hash);
  }
  hashes.resize(cases.size());
  return hashes;
}

TEST(RaptorQInterop, RepairSymbolsMatchNpmRaptorq) {
  std::vector<Case> cases;
  for (uint32_t K : ks_under_test()) {
    for (size_t T : {64, 256, 1280}) cases.emplace_back(K, T);
  }
  const auto hashes = oracle_repair_hashes("encode", cases);
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto [K, T] = cases[i];
    EXPECT_EQ(sha256_hex(our_repairs(K, T, T)), hashes[i]) << "K=" << K << " T=" << T;
  }
}

// Audio tiers use 8..32-byte symbols; the package refuses symbols under 64 bytes, and every
// symbol operation is byte-wise, so zero-padding to 64 and keeping the first T bytes must agree.
TEST(RaptorQInterop, SmallSymbolsMatchNpmRaptorqThroughPadding) {
  std::vector<Case> cases;
  for (uint32_t K = 1; K <= 64; ++K) {
    for (size_t T : {8, 16, 32}) cases.emplace_back(K, T);
  }
  const auto hashes = oracle_repair_hashes("encodepad", cases);
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto [K, T] = cases[i];
    EXPECT_EQ(sha256_hex(our_repairs(K, T, T)), hashes[i]) << "K=" << K << " T=" << T;
  }
}

// Decodability depends only on which ESIs arrived, so a bit-exact decoder must succeed exactly
// when the reference does, failures included.
TEST(RaptorQInterop, DecoderSucceedsExactlyWhenNpmRaptorqDoes) {
  std::mt19937 rng(2024);
  struct Case {
    uint32_t K;
    std::vector<uint32_t> esis;
  };
  std::vector<Case> cases;
  for (uint32_t K : {3u, 5u, 10u, 16u, 50u}) {
    for (int trial = 0; trial < 400; ++trial) {
      std::vector<uint32_t> pool(2 * K + 4);
      for (uint32_t i = 0; i < pool.size(); ++i) pool[i] = i;
      std::shuffle(pool.begin(), pool.end(), rng);
      pool.resize(K + (trial % 8 == 0 ? 1 : 0));  // mostly exactly K symbols
      cases.push_back({K, pool});
    }
  }
  std::vector<std::string> jobs;
  for (const auto& c : cases) {
    std::string j = "decode " + std::to_string(c.K) + " 64 ";
    for (size_t i = 0; i < c.esis.size(); ++i) {
      if (i) j += ',';
      j += std::to_string(c.esis[i]);
    }
    jobs.push_back(j);
  }
  const auto lines = run_oracle(jobs);
  ASSERT_EQ(lines.size(), cases.size());
  int failures = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const auto data = block_data(c.K, 64);
    RaptorQEncoder enc;
    enc.encode(c.K, 64, data);
    RaptorQDecoder dec;
    dec.reset(c.K, 64);
    std::vector<uint8_t> sym(64);
    for (uint32_t e : c.esis) {
      enc.symbol(e, sym);
      dec.add(e, sym);
    }
    const bool ours = dec.decode();
    EXPECT_EQ(ours, lines[i] == "ok") << "K=" << c.K << " case " << i;
    if (!ours) {
      ++failures;
      continue;
    }
    for (uint32_t s = 0; s < c.K; ++s) {
      ASSERT_TRUE(
          std::equal(data.begin() + s * 64, data.begin() + (s + 1) * 64, dec.source(s).begin()))
          << "K=" << c.K << " symbol " << s;
    }
  }
  RecordProperty("decode_failures", failures);
}

}  // namespace
}  // namespace wzp::fec
