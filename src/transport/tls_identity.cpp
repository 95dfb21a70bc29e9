#include "transport/tls_identity.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sys/stat.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "proto/hex.h"

namespace wzp::transport {
namespace {

void check(int rc, const char* what) {
  if (rc < 0) throw std::runtime_error(std::string("tls: ") + what + ": " + gnutls_strerror(rc));
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) throw std::runtime_error("tls: cannot read " + p.string());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Copies a GnuTLS-allocated datum into a string and frees it.
std::string take(gnutls_datum_t d) {
  std::string s(reinterpret_cast<char*>(d.data), d.size);
  gnutls_free(d.data);
  return s;
}

std::string fingerprint_of_pem(const std::string& pem) {
  gnutls_x509_crt_t crt;
  check(gnutls_x509_crt_init(&crt), "crt init");
  gnutls_datum_t d{reinterpret_cast<unsigned char*>(const_cast<char*>(pem.data())),
                   static_cast<unsigned>(pem.size())};
  const int rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM);
  gnutls_datum_t der{};
  if (rc >= 0) check(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der), "export der");
  gnutls_x509_crt_deinit(crt);
  check(rc, "import certificate");
  std::string fp = der_fingerprint(der.data, der.size);
  gnutls_free(der.data);
  return fp;
}

}  // namespace

std::string der_fingerprint(const unsigned char* der, size_t len) {
  unsigned char hash[32];
  check(gnutls_hash_fast(GNUTLS_DIG_SHA256, der, len, hash), "sha256");
  return proto::to_hex(hash);
}

TlsCertificate generate_certificate(const std::string& common_name) {
  gnutls_x509_privkey_t key;
  gnutls_x509_crt_t crt;
  check(gnutls_x509_privkey_init(&key), "key init");
  check(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
        "generate key");
  check(gnutls_x509_crt_init(&crt), "crt init");
  const time_t now = time(nullptr);
  unsigned char serial[16];
  check(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial), "serial");
  serial[0] &= 0x7F;  // a positive integer
  check(gnutls_x509_crt_set_version(crt, 3), "version");
  check(gnutls_x509_crt_set_serial(crt, serial, sizeof serial), "serial");
  check(gnutls_x509_crt_set_activation_time(crt, now - 3600), "activation");
  check(gnutls_x509_crt_set_expiration_time(crt, now + 20LL * 365 * 86400), "expiration");
  check(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, common_name.data(),
                                      static_cast<unsigned>(common_name.size())),
        "subject");
  check(gnutls_x509_crt_set_key(crt, key), "set key");
  check(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "wzp-relay", 9,
                                             GNUTLS_FSAN_SET),
        "san");
  check(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), "self-sign");
  TlsCertificate c;
  gnutls_datum_t out{};
  check(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out), "export certificate");
  c.cert_pem = take(out);
  check(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &out), "export key");
  c.key_pem = take(out);
  gnutls_x509_crt_deinit(crt);
  gnutls_x509_privkey_deinit(key);
  c.fingerprint = fingerprint_of_pem(c.cert_pem);
  return c;
}

TlsCertificate load_or_create_certificate(const std::filesystem::path& dir) {
  const auto cert = dir / "cert.pem", key = dir / "key.pem";
  if (std::filesystem::exists(cert) && std::filesystem::exists(key)) {
    TlsCertificate c{read_file(cert), read_file(key), {}};
    c.fingerprint = fingerprint_of_pem(c.cert_pem);
    return c;
  }
  std::filesystem::create_directories(dir);
  TlsCertificate c = generate_certificate("wzp-relay");
  {
    std::ofstream(cert) << c.cert_pem;
    const mode_t old = ::umask(077);
    std::ofstream k(key);
    k << c.key_pem;
    ::umask(old);
    if (!k) throw std::runtime_error("tls: cannot write " + key.string());
  }
  return c;
}

namespace {

// One field of a pin record: printable ASCII, no space, bounded.
bool pin_token(std::string_view s) {
  return !s.empty() && s.size() <= 256 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 127; });
}

}  // namespace

KnownRelays::Verdict KnownRelays::check(const std::string& relay, const std::string& fp,
                                        std::string* pinned) {
  if (!pin_token(relay) || !pin_token(fp)) return Verdict::kInvalid;
  std::map<std::string, std::string> known;
  std::string text;
  if (std::ifstream in(file_); in) {
    std::stringstream s;
    s << in.rdbuf();
    text = s.str();
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      const auto space = line.find(' ');
      if (space == std::string::npos) continue;
      const std::string r = line.substr(0, space), f = line.substr(space + 1);
      if (pin_token(r) && pin_token(f)) known.emplace(r, f);  // the first record of a label wins
    }
  }
  if (auto it = known.find(relay); it != known.end()) {
    if (pinned) *pinned = it->second;
    return it->second == fp ? Verdict::kMatch : Verdict::kChanged;
  }
  if (!text.empty() && text.back() != '\n') text += '\n';
  text += relay + ' ' + fp + '\n';
  if (file_.has_parent_path()) std::filesystem::create_directories(file_.parent_path());
  std::string tmp = file_.string() + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());  // O_EXCL, mode 0600, a name nobody could plant
  if (fd < 0)
    throw std::runtime_error("known relays: cannot create a file beside " + file_.string());
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), file_.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("known relays: cannot write " + file_.string());
  }
  return Verdict::kNew;
}

}  // namespace wzp::transport
