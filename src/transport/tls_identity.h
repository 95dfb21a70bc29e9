// The relay's TLS certificate and the client's pinning of it.
//
// A relay generates a self-signed ECDSA P-256 certificate on first start and keeps it in its
// state directory; clients pin it by the SHA-256 of its DER encoding on first use and refuse
// a changed one (known_relays file: one "HOST:PORT FINGERPRINT" per line).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace wzp::transport {

struct TlsCertificate {
  std::string cert_pem;
  std::string key_pem;
  std::string fingerprint;  // hex SHA-256 of the DER certificate
};

// Loads cert.pem/key.pem from dir, or creates them (key file mode 0600). Throws
// std::runtime_error naming the file on failure.
TlsCertificate load_or_create_certificate(const std::filesystem::path& dir);
TlsCertificate generate_certificate(const std::string& common_name);
std::string der_fingerprint(const unsigned char* der, size_t len);

// Trust on first use for relay certificates.
class KnownRelays {
 public:
  explicit KnownRelays(std::filesystem::path file) : file_(std::move(file)) {}
  // kInvalid: the label or fingerprint is not one token of printable ASCII (nothing is
  // recorded: a label with a newline in it could otherwise write a pin of its own choosing).
  enum class Verdict { kNew, kMatch, kChanged, kInvalid };
  static bool trusted(Verdict v) { return v == Verdict::kNew || v == Verdict::kMatch; }
  // Checks (and on first use records) the fingerprint seen for relay. The file has one
  // "LABEL FINGERPRINT" record per line; a new record is written by replacing the file whole
  // (a private temporary file renamed over it), so readers never see half a file.
  Verdict check(const std::string& relay, const std::string& fingerprint,
                std::string* pinned = nullptr);

 private:
  std::filesystem::path file_;
};

}  // namespace wzp::transport
