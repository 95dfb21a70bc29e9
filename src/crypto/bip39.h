// BIP39 mnemonics: entropy <-> English words with the SHA-256 checksum BIP39 defines.
// An identity seed is 32 bytes of entropy, shown as 24 words.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <optional>

namespace wzp::crypto {

// entropy: 16, 20, 24, 28 or 32 bytes; returns the words joined by single spaces.
std::string entropy_to_mnemonic(std::span<const uint8_t> entropy);

struct MnemonicError {
  enum class Kind { kWordCount, kUnknownWord, kChecksum } kind;
  std::string detail;  // the offending word, or a description
  std::string message() const;
};

struct MnemonicResult {
  std::vector<uint8_t> entropy;  // empty on error
  std::optional<MnemonicError> error;
};

// Accepts any whitespace between words and either case.
MnemonicResult mnemonic_to_entropy(std::string_view mnemonic);

std::string_view bip39_word(size_t index);

}  // namespace wzp::crypto
