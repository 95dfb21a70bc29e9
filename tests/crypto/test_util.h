// Helpers shared by the crypto tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto/hex.h"

namespace wzp::crypto::testing {

inline std::vector<uint8_t> unhex(const std::string& s) {
  auto v = proto::from_hex(s);
  EXPECT_TRUE(v.has_value()) << s;
  return v.value_or(std::vector<uint8_t>{});
}

inline std::string hex(std::span<const uint8_t> b) { return proto::to_hex(b); }

}  // namespace wzp::crypto::testing
