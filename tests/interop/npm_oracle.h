// Runs tests/interop/raptorq_oracle.mjs (npm raptorq) on a batch of jobs and returns its lines.
// Shared by the interop tests and wzp-bench, which measure against the same package.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wzp::interop {

// Throws std::runtime_error when node or the package is missing.
std::vector<std::string> run_oracle(const std::vector<std::string>& jobs);
// The block content both sides use: byte i = (i*131 + K*17 + T*3 + (i>>8)*7) & 255.
std::vector<uint8_t> block_data(uint32_t K, size_t T);
std::string sha256_hex(const std::vector<uint8_t>& bytes);

}  // namespace wzp::interop
