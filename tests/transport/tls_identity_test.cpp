#include "transport/tls_identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "transport/endpoint.h"

namespace wzp::transport {
namespace {

std::filesystem::path temp_dir(const char* name) {
  auto d = std::filesystem::temp_directory_path() /
           (std::string("wzp-tls-") + name + "-" + std::to_string(::getpid()));
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

// The page's relay string used to become a pin-file label as it was: an IPv6 zone id carrying a
// newline wrote a second record, pinning a relay of the attacker's choosing to the attacker's
// certificate. Such strings are refused as addresses and as labels, and nothing is written.
TEST(TlsIdentity, APinFileCannotBeInjectedThroughARelayLabel) {
  const auto dir = temp_dir("inject");
  const auto file = dir / "known_relays";
  KnownRelays pins(file);
  const std::string evil = "[fe80::1%x\n127.0.0.1:4433 EVILFINGERPRINT]:1";
  EXPECT_FALSE(parse_endpoint(evil).endpoint.has_value());
  EXPECT_FALSE(parse_endpoint("[fe80::1%eth0]:4433").endpoint.has_value());
  EXPECT_EQ(pins.check(evil, "aa"), KnownRelays::Verdict::kInvalid);
  EXPECT_EQ(pins.check("127.0.0.1:4433", "aa bb"), KnownRelays::Verdict::kInvalid);
  EXPECT_FALSE(std::filesystem::exists(file));
  // The real relay pins its real certificate; the file holds exactly that record.
  EXPECT_EQ(pins.check("127.0.0.1:4433", "realfp"), KnownRelays::Verdict::kNew);
  EXPECT_EQ(pins.check("127.0.0.1:4433", "EVILFINGERPRINT"), KnownRelays::Verdict::kChanged);
  std::ifstream in(file);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, "127.0.0.1:4433 realfp\n");
  // No temporary files left beside it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
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

// Host names are addresses too (looked up later); the text is still confined to characters
// that are safe in pin files and logs.
TEST(Endpoint, AHostNameIsAnAddressAndJunkIsNot) {
  const auto a = parse_address("relay-1.example.org:4433");
  ASSERT_TRUE(a.address) << a.error;
  EXPECT_EQ(a.address->host, "relay-1.example.org");
  EXPECT_EQ(a.address->port, 4433);
  EXPECT_EQ(a.address->text(), "relay-1.example.org:4433");
  EXPECT_EQ(parse_address("[::1]:5").address->text(), "[::1]:5");
  EXPECT_FALSE(numeric_endpoint(*a.address).endpoint);
  for (const char* bad : {"a_b:1", "a b:1", "relay\n:1", "[fe80::1%eth0]:1", ":1", "host:-1"}) {
    EXPECT_FALSE(parse_address(bad).address) << bad;
  }
  EXPECT_NE(parse_address(std::string(300, 'a') + ":1").error.find("not a host name"),
            std::string::npos);
}

// A numeric address answers without a lookup, and never from inside the call (the caller may
// not be ready for its own callback yet).
TEST(Endpoint, ResolvingANumericAddressAnswersLaterWithoutALookup) {
  boost::asio::io_context io;
  std::optional<EndpointResult> got;
  resolve(io, *parse_address("127.0.0.1:9").address, [&](const EndpointResult& r) { got = r; });
  EXPECT_FALSE(got);
  io.run();
  ASSERT_TRUE(got && got->endpoint);
  EXPECT_EQ(got->endpoint->port(), 9);
  EXPECT_EQ(resolve_now("localhost:7").endpoint->address().to_string(), "127.0.0.1");
  EXPECT_FALSE(resolve_now("bad_name:7").endpoint);
}

}  // namespace
}  // namespace wzp::transport
