// Our BIP39 against an independent implementation (npm bip39), on random entropies.
#include <sodium.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "crypto/bip39.h"
#include "crypto/secret.h"
#include "test_util.h"

namespace wzp::crypto {
namespace {

TEST(Bip39Interop, MatchesNpmBip39OnRandomEntropy) {
  ensure_sodium();
  const std::string dir = WZP_SOURCE_DIR;
  const std::string input = ::testing::TempDir() + "wzp-bip39-entropy.txt";
  std::vector<std::string> entropies;
  {
    std::ofstream out(input);
    for (int i = 0; i < 100; ++i) {
      std::vector<uint8_t> e(i % 5 == 0 ? 16 : 32);
      randombytes_buf(e.data(), e.size());
      entropies.push_back(testing::hex(e));
      out << entropies.back() << "\n";
    }
  }
  const std::string cmd = "cd '" + dir + "' && NODE_PATH='" + dir +
                          "/node_modules' node tests/interop/bip39_mnemonic.js < '" + input + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  ASSERT_EQ(::pclose(p), 0) << "node failed: is npm bip39 installed (scripts/install-deps.sh)?";
  std::istringstream lines(output);
  std::string line;
  size_t i = 0;
  for (; std::getline(lines, line); ++i) {
    ASSERT_LT(i, entropies.size());
    EXPECT_EQ(entropy_to_mnemonic(testing::unhex(entropies[i])), line) << entropies[i];
  }
  EXPECT_EQ(i, entropies.size());
}

}  // namespace
}  // namespace wzp::crypto
