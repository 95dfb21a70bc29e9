#include "crypto/bip39.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cctype>

#include "crypto/secret.h"

namespace wzp::crypto {
namespace {

constexpr std::array<std::string_view, 2048> kWords = {
#include "crypto/bip39_english.inc"
};

// Bit i of a big-endian bit string.
int bit_at(std::span<const uint8_t> bytes, size_t i) { return bytes[i / 8] >> (7 - i % 8) & 1; }

}  // namespace

std::string_view bip39_word(size_t index) { return kWords.at(index); }

std::string entropy_to_mnemonic(std::span<const uint8_t> entropy) {
  ensure_sodium();
  assert(entropy.size() >= 16 && entropy.size() <= 32 && entropy.size() % 4 == 0);
  uint8_t hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, entropy.data(), entropy.size());
  const size_t ent_bits = entropy.size() * 8;
  const size_t total_bits = ent_bits + ent_bits / 32;  // checksum: ENT/32 bits of the hash
  std::string out;
  for (size_t w = 0; w < total_bits / 11; ++w) {
    size_t index = 0;
    for (size_t b = w * 11; b < w * 11 + 11; ++b) {
      index = index << 1 | (b < ent_bits ? bit_at(entropy, b) : bit_at(hash, b - ent_bits));
    }
    if (!out.empty()) out += ' ';
    out += kWords[index];
  }
  return out;
}

std::string MnemonicError::message() const {
  switch (kind) {
    case Kind::kWordCount:
      return "mnemonic: " + detail;
    case Kind::kUnknownWord:
      return "mnemonic: '" + detail + "' is not a BIP39 English word";
    case Kind::kChecksum:
      return "mnemonic: checksum mismatch (a word is wrong or out of order)";
  }
  return "mnemonic: invalid";
}

MnemonicResult mnemonic_to_entropy(std::string_view mnemonic) {
  ensure_sodium();
  std::vector<uint16_t> indices;
  size_t i = 0;
  while (i < mnemonic.size()) {
    while (i < mnemonic.size() && std::isspace(static_cast<unsigned char>(mnemonic[i]))) ++i;
    size_t j = i;
    while (j < mnemonic.size() && !std::isspace(static_cast<unsigned char>(mnemonic[j]))) ++j;
    if (j == i) break;
    std::string word(mnemonic.substr(i, j - i));
    std::transform(word.begin(), word.end(), word.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto it = std::lower_bound(kWords.begin(), kWords.end(), word);  // list is sorted
    if (it == kWords.end() || *it != word) {
      return {{}, MnemonicError{MnemonicError::Kind::kUnknownWord, word}};
    }
    indices.push_back(static_cast<uint16_t>(it - kWords.begin()));
    i = j;
  }
  if (indices.size() < 12 || indices.size() > 24 || indices.size() % 3 != 0) {
    return {
        {},
        MnemonicError{MnemonicError::Kind::kWordCount, "expected 12, 15, 18, 21 or 24 words, got " +
                                                           std::to_string(indices.size())}};
  }
  const size_t total_bits = indices.size() * 11;
  const size_t cs_bits = total_bits / 33;
  const size_t ent_bits = total_bits - cs_bits;
  std::vector<uint8_t> entropy(ent_bits / 8, 0);
  uint32_t checksum = 0;
  for (size_t b = 0; b < total_bits; ++b) {
    const int bit = indices[b / 11] >> (10 - b % 11) & 1;
    if (b < ent_bits) {
      entropy[b / 8] |= static_cast<uint8_t>(bit << (7 - b % 8));
    } else {
      checksum = checksum << 1 | bit;
    }
  }
  uint8_t hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, entropy.data(), entropy.size());
  if (checksum != static_cast<uint32_t>(hash[0] >> (8 - cs_bits))) {
    sodium_memzero(entropy.data(), entropy.size());
    return {{}, MnemonicError{MnemonicError::Kind::kChecksum, {}}};
  }
  return {std::move(entropy), std::nullopt};
}

}  // namespace wzp::crypto
