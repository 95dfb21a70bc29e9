#include "crypto/identity.h"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "crypto/bip39.h"
#include "crypto/hkdf.h"
#include "proto/hex.h"

namespace wzp::crypto {
namespace {

constexpr std::string_view kFileHeader = "wzp-identity-v1";

}  // namespace

namespace {

// 30 digits for one identity key: 6 groups of 5, each a 40-bit chunk of an iterated hash mod
// 100000. Iterated so that grinding a key whose digits collide with someone's costs work.
std::string safety_half(std::span<const uint8_t, 32> key) {
  ensure_sodium();
  uint8_t h[crypto_hash_sha512_BYTES];
  static constexpr uint8_t kVersion[2] = {0x00, 0x00};
  crypto_hash_sha512_state st;
  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, kVersion, sizeof kVersion);
  crypto_hash_sha512_update(&st, key.data(), key.size());
  crypto_hash_sha512_update(&st, key.data(), key.size());
  crypto_hash_sha512_final(&st, h);
  for (int i = 1; i < 5200; ++i) {  // each round: the last hash, then the key again
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, h, sizeof h);
    crypto_hash_sha512_update(&st, key.data(), key.size());
    crypto_hash_sha512_final(&st, h);
  }
  std::string out;
  for (int g = 0; g < 6; ++g) {
    uint64_t v = 0;
    for (int k = 0; k < 5; ++k) v = (v << 8) | h[g * 5 + k];
    char buf[8];
    std::snprintf(buf, sizeof buf, "%05u", static_cast<unsigned>(v % 100000));
    if (!out.empty()) out += ' ';
    out += buf;
  }
  return out;
}

}  // namespace

std::string safety_number(std::span<const uint8_t, 32> a, std::span<const uint8_t, 32> b) {
  const bool a_first = std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  return a_first ? safety_half(a) + ' ' + safety_half(b) : safety_half(b) + ' ' + safety_half(a);
}

bool is_fingerprint(std::string_view s) {
  if (s.size() != 8 * 4 + 7) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = i % 5 == 4 ? c == ':' : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!ok) return false;
  }
  return true;
}

std::string fingerprint_of(std::span<const uint8_t, 32> ed25519_pub) {
  ensure_sodium();
  uint8_t hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, ed25519_pub.data(), ed25519_pub.size());
  const std::string hex = proto::to_hex(std::span<const uint8_t>(hash, 16));
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 4) {
    if (i) out += ':';
    out += hex.substr(i, 4);
  }
  return out;
}

bool verify_signature(std::span<const uint8_t, 32> ed25519_pub, std::span<const uint8_t> message,
                      std::span<const uint8_t> signature) {
  ensure_sodium();
  if (signature.size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     ed25519_pub.data()) == 0;
}

Identity Identity::generate() {
  ensure_sodium();
  Key32 seed;
  randombytes_buf(seed.data(), seed.size());
  return from_seed(seed.view());
}

Identity Identity::from_seed(std::span<const uint8_t, 32> seed) {
  ensure_sodium();
  Identity id;
  id.seed_ = Key32(seed);
  Key32 sign_seed;
  hkdf({}, seed, kEd25519Info, sign_seed.mut());
  crypto_sign_seed_keypair(id.sign_pub_.data(), id.sign_sec_.data(), sign_seed.data());
  hkdf({}, seed, kX25519Info, id.dh_sec_.mut());
  crypto_scalarmult_base(id.dh_pub_.data(), id.dh_sec_.data());
  return id;
}

Identity Identity::from_mnemonic(std::string_view words) {
  auto r = mnemonic_to_entropy(words);
  if (r.error) throw std::invalid_argument(r.error->message());
  if (r.entropy.size() != 32) {
    sodium_memzero(r.entropy.data(), r.entropy.size());
    throw std::invalid_argument("mnemonic: an identity needs 24 words");
  }
  Identity id = from_seed(std::span<const uint8_t, 32>(r.entropy.data(), 32));
  sodium_memzero(r.entropy.data(), r.entropy.size());
  return id;
}

std::string Identity::mnemonic() const { return entropy_to_mnemonic(seed_.view()); }

Signature Identity::sign(std::span<const uint8_t> message) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), sign_sec_.data());
  return sig;
}

bool Identity::agree(std::span<const uint8_t, 32> peer_pub, Key32& shared) const {
  return crypto_scalarmult(shared.data(), dh_sec_.data(), peer_pub.data()) == 0;
}

void save_identity(const Identity& id, const std::filesystem::path& path) {
  const std::string body = std::string(kFileHeader) + "\n" + proto::to_hex(id.seed()) + "\n";
  // A fresh file of our own beside the target (mkstemp: O_EXCL, mode 0600 from the start, a
  // random name), then renamed over it. A fixed name such as "identity.tmp" could be a link
  // planted to make us write the seed elsewhere, or a file others can read.
  std::string tmp = path.string() + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0)
    throw std::runtime_error("identity: cannot create a file beside " + path.string() + ": " +
                             std::strerror(errno));
  bool ok = ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("identity: cannot write " + path.string() + ": " + std::strerror(err));
  }
}

Identity load_identity(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw std::runtime_error("identity: cannot read " + path.string() + ": " +
                             std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    std::ostringstream msg;
    msg << "identity: " << path.string() << " is accessible by others (mode " << std::oct
        << (st.st_mode & 0777) << "); run chmod 600 on it";
    throw std::runtime_error(msg.str());
  }
  std::ifstream in(path);
  std::string header, seed_hex;
  std::getline(in, header);
  std::getline(in, seed_hex);
  if (header != kFileHeader) {
    throw std::runtime_error("identity: " + path.string() + " is not a wzp identity file");
  }
  auto seed = proto::from_hex(seed_hex);
  if (!seed || seed->size() != 32) {
    throw std::runtime_error("identity: " + path.string() + " has a malformed seed");
  }
  Identity id = Identity::from_seed(std::span<const uint8_t, 32>(seed->data(), 32));
  sodium_memzero(seed->data(), seed->size());
  sodium_memzero(seed_hex.data(), seed_hex.size());
  return id;
}

Identity load_or_create_identity(const std::filesystem::path& path, bool* created) {
  if (std::filesystem::exists(path)) {
    if (created) *created = false;
    return load_identity(path);
  }
  Identity id = Identity::generate();
  save_identity(id, path);
  if (created) *created = true;
  return id;
}

}  // namespace wzp::crypto
