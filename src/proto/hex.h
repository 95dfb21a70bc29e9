// Lowercase hex, for keys and signatures in signalling JSON and for fingerprints.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wzp::proto {

std::string to_hex(std::span<const uint8_t> bytes);
// The value of one hex digit (either case), or -1.
int hex_digit(char c);
// nullopt for an odd length or a character outside [0-9a-fA-F].
std::optional<std::vector<uint8_t>> from_hex(std::string_view text);

}  // namespace wzp::proto
