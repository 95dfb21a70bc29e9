#include "transport/tls_identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "transport/endpoint.h"

namespace wzp::transport {
namespace {

std::filesystem::path temp_dir(const char* name) {
  auto d = std::filesystem::temp_directory_path() / (std::string("wzp-tls-") + name + "-" +
                                                     std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  return d;
}

TEST(TlsIdentity, RelayCertificateIsCreatedOnceAndKept) {
  const auto dir = temp_dir("cert");
  const auto a = load_or_create_certificate(dir);
  const auto b = load_or_create_certificate(dir);
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.fingerprint.size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);  // the private key is not readable by others
  EXPECT_NE(generate_certificate("x").fingerprint, a.fingerprint);
  std::filesystem::remove_all(dir);
}

TEST(TlsIdentity, KnownRelaysPinOnFirstUseAndRefuseAChange) {
  const auto dir = temp_dir("pins");
  KnownRelays pins(dir / "known_relays");
  EXPECT_EQ(pins.check("127.0.0.1:4433", "aa"), KnownRelays::Verdict::kNew);
  EXPECT_EQ(pins.check("127.0.0.1:4433", "aa"), KnownRelays::Verdict::kMatch);
  std::string pinned;
  EXPECT_EQ(pins.check("127.0.0.1:4433", "bb", &pinned), KnownRelays::Verdict::kChanged);
  EXPECT_EQ(pinned, "aa");
  EXPECT_EQ(pins.check("127.0.0.1:4434", "bb"), KnownRelays::Verdict::kNew);
  std::filesystem::remove_all(dir);
}

TEST(Endpoint, ParsesAndNamesTheProblem) {
  EXPECT_EQ(parse_endpoint("127.0.0.1:4433").endpoint->port(), 4433);
  EXPECT_TRUE(parse_endpoint("[::1]:5000").endpoint->address().is_v6());
  EXPECT_EQ(parse_endpoint("localhost:1").endpoint->address().to_string(), "127.0.0.1");
  EXPECT_NE(parse_endpoint("127.0.0.1").error.find("no :PORT"), std::string::npos);
  EXPECT_NE(parse_endpoint("1.2.3.4:99999").error.find("not a port"), std::string::npos);
  EXPECT_NE(parse_endpoint("relay.example:1").error.find("not an IP"), std::string::npos);
  EXPECT_NE(parse_endpoint("[::1:5").error.find("[IPV6]:PORT"), std::string::npos);
}

}  // namespace
}  // namespace wzp::transport
