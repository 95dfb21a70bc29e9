#include "npm_oracle.h"

#include <sodium.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "proto/hex.h"

namespace wzp::interop {

std::vector<std::string> run_oracle(const std::vector<std::string>& jobs) {
  const std::string dir = WZP_SOURCE_DIR;
  const std::string input = "/tmp/wzp-raptorq-jobs-" + std::to_string(::getpid()) + ".txt";
  {
    std::ofstream out(input);
    for (const auto& j : jobs) out << j << "\n";
  }
  const std::string cmd =
      "cd '" + dir + "' && node tests/interop/raptorq_oracle.mjs < '" + input + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run node");
  std::string output;
  char buf[65536];
  while (size_t n = fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  const int rc = ::pclose(p);
  std::remove(input.c_str());
  if (rc != 0) throw std::runtime_error("npm raptorq oracle failed (scripts/install-deps.sh?)");
  std::vector<std::string> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<uint8_t> block_data(uint32_t K, size_t T) {
  std::vector<uint8_t> d(K * T);
  for (size_t i = 0; i < d.size(); ++i) {
    d[i] = static_cast<uint8_t>((i * 131 + K * 17 + T * 3 + (i >> 8) * 7) & 255);
  }
  return d;
}

std::string sha256_hex(const std::vector<uint8_t>& bytes) {
  uint8_t h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, bytes.data(), bytes.size());
  return proto::to_hex(h);
}

}  // namespace wzp::interop
