// A user's identity: a 32-byte seed (shown as 24 BIP39 words) from which the Ed25519 signing
// key and the X25519 key-agreement key are derived with HKDF-SHA256.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "crypto/secret.h"

namespace wzp::crypto {

inline constexpr std::string_view kEd25519Info = "warzone-ed25519";
inline constexpr std::string_view kX25519Info = "warzone-x25519";

// The first 16 bytes of SHA-256 of an Ed25519 public key, as 8 groups of 4 hex digits
// joined by ':' (39 characters).
std::string fingerprint_of(std::span<const uint8_t, 32> ed25519_pub);
// Whether `s` has fingerprint_of's form: eight groups of four lowercase hex digits joined by ':'.
bool is_fingerprint(std::string_view s);
// The safety number of two identities (Signal's idea): 60 digits in 12 groups of 5, the same
// whichever side computes it, that two people compare out of band (read aloud, in person) to
// know that no relay stands between them with keys of its own. Each half is 30 digits from
// 5200 rounds of SHA-512 over that side's key; the halves are ordered by key.
std::string safety_number(std::span<const uint8_t, 32> a, std::span<const uint8_t, 32> b);

bool verify_signature(std::span<const uint8_t, 32> ed25519_pub, std::span<const uint8_t> message,
                      std::span<const uint8_t> signature);

class Identity {
 public:
  static Identity generate();
  static Identity from_seed(std::span<const uint8_t, 32> seed);
  // Throws std::invalid_argument naming the bad word or the checksum.
  static Identity from_mnemonic(std::string_view words);

  std::string mnemonic() const;
  std::string fingerprint() const { return fingerprint_of(sign_pub_); }
  const PublicKey& signing_public() const { return sign_pub_; }
  const PublicKey& agreement_public() const { return dh_pub_; }
  Signature sign(std::span<const uint8_t> message) const;
  // X25519 with the static agreement key; false for a low-order peer key.
  bool agree(std::span<const uint8_t, 32> peer_pub, Key32& shared) const;
  const Key32& agreement_secret() const { return dh_sec_; }
  std::span<const uint8_t, 32> seed() const { return seed_.view(); }

 private:
  Identity() = default;
  Key32 seed_;
  Secret<64> sign_sec_;  // libsodium's seed || public key form
  PublicKey sign_pub_{};
  Key32 dh_sec_;
  PublicKey dh_pub_{};
};

// Identity files hold the seed as hex under a version line. Like ssh, loading refuses a file
// that its group or others can read. All failures throw std::runtime_error with the path.
void save_identity(const Identity& id, const std::filesystem::path& path);
Identity load_identity(const std::filesystem::path& path);
// Loads the file, or creates it with a fresh identity when it does not exist.
Identity load_or_create_identity(const std::filesystem::path& path, bool* created = nullptr);

}  // namespace wzp::crypto
