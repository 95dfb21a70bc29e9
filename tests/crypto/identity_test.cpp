#include "crypto/identity.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include "crypto/bip39.h"
#include "test_util.h"

namespace wzp::crypto {
namespace {

using testing::hex;
using testing::unhex;

// The BIP39 reference vectors (entropy -> English mnemonic), for every entropy length.
TEST(Bip39, ReferenceVectors) {
  const std::pair<const char*, const char*> vecs[] = {
      {"00000000000000000000000000000000",
       "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
       "about"},
      {"7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
       "legal winner thank year wave sausage worth useful legal winner thank yellow"},
      {"80808080808080808080808080808080",
       "letter advice cage absurd amount doctor acoustic avoid letter advice cage above"},
      {"ffffffffffffffffffffffffffffffff", "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong"},
      {"0000000000000000000000000000000000000000000000000000000000000000",
       "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
       "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
       "abandon art"},
      {"7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
       "legal winner thank year wave sausage worth useful legal winner thank year wave sausage "
       "worth useful legal winner thank year wave sausage worth title"},
      {"8080808080808080808080808080808080808080808080808080808080808080",
       "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount "
       "doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless"},
      {"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
       "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
       "zoo vote"},
  };
  for (const auto& [entropy, words] : vecs) {
    EXPECT_EQ(entropy_to_mnemonic(unhex(entropy)), words);
    auto back = mnemonic_to_entropy(words);
    ASSERT_FALSE(back.error.has_value()) << words;
    EXPECT_EQ(hex(back.entropy), entropy);
  }
}

TEST(Bip39, ErrorsNameTheWordOrTheChecksum) {
  auto r = mnemonic_to_entropy("zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zooo");
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->kind, MnemonicError::Kind::kUnknownWord);
  EXPECT_NE(r.error->message().find("'zooo'"), std::string::npos);

  r = mnemonic_to_entropy("zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo");
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->kind, MnemonicError::Kind::kChecksum);
  EXPECT_NE(r.error->message().find("checksum"), std::string::npos);

  r = mnemonic_to_entropy("zoo wrong");
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->kind, MnemonicError::Kind::kWordCount);

  // Case and spacing do not matter.
  r = mnemonic_to_entropy("  ZOO zoo\tzoo zoo zoo zoo zoo zoo zoo zoo zoo\n Wrong ");
  EXPECT_FALSE(r.error.has_value());
}

TEST(Identity, DerivesKeysFromTheSeedAsSpecified) {
  const auto seed = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const auto id = Identity::from_seed(std::span<const uint8_t, 32>(seed.data(), 32));
  // Same seed, same keys; the mnemonic restores it.
  const auto again = Identity::from_mnemonic(id.mnemonic());
  EXPECT_EQ(again.signing_public(), id.signing_public());
  EXPECT_EQ(again.agreement_public(), id.agreement_public());
  const std::string words = id.mnemonic();
  EXPECT_EQ(std::count(words.begin(), words.end(), ' '), 23);
  // The two keys are independent derivations (different HKDF info strings).
  EXPECT_NE(hex(id.signing_public()), hex(id.agreement_public()));
  const std::string fp = id.fingerprint();
  EXPECT_TRUE(std::regex_match(fp, std::regex("([0-9a-f]{4}:){7}[0-9a-f]{4}"))) << fp;
  // Signatures verify under the public key and fail on other messages.
  const std::vector<uint8_t> msg = {1, 2, 3};
  const auto sig = id.sign(msg);
  EXPECT_TRUE(verify_signature(id.signing_public(), msg, sig));
  const std::vector<uint8_t> other = {1, 2, 4};
  EXPECT_FALSE(verify_signature(id.signing_public(), other, sig));
}

// Both sides compute the same 60 digits; another pair, or a relay's key in between, does not.
TEST(Identity, SafetyNumbersAreTheSameOnBothSidesAndDifferPerPair) {
  const auto a = Identity::generate(), b = Identity::generate(), m = Identity::generate();
  const std::string ab = safety_number(a.signing_public(), b.signing_public());
  EXPECT_EQ(ab, safety_number(b.signing_public(), a.signing_public()));
  EXPECT_EQ(ab.size(), 12u * 5 + 11);
  EXPECT_EQ(std::count(ab.begin(), ab.end(), ' '), 11);
  EXPECT_NE(ab, safety_number(a.signing_public(), m.signing_public()));
  EXPECT_NE(ab, safety_number(m.signing_public(), b.signing_public()));
}

TEST(Identity, MnemonicErrorsAreClear) {
  try {
    (void)Identity::from_mnemonic(
        "abandon abandon abandon abandon abandon abandon abandon "
        "abandon abandon abandon abandon about");
    FAIL() << "12 words accepted as an identity";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("24 words"), std::string::npos);
  }
  EXPECT_THROW((void)Identity::from_mnemonic("notaword"), std::invalid_argument);
}

class IdentityFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("wzp-id-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(IdentityFile, CreatedOnFirstUseThenLoaded) {
  const auto path = dir_ / "id";
  bool created = false;
  const auto a = load_or_create_identity(path, &created);
  EXPECT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto b = load_or_create_identity(path, &created);
  EXPECT_FALSE(created);
  EXPECT_EQ(a.fingerprint(), b.fingerprint());
  // The file holds the seed, not the mnemonic.
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content.find(a.mnemonic().substr(0, 10)), std::string::npos);
}

// Someone who can write to the identity's folder plants "id.tmp" as a link to a file of theirs
// (or to one of ours they want clobbered): saving used to write the seed through that fixed
// name. Now the seed goes only to a fresh private file, and the link and its target are
// untouched.
TEST_F(IdentityFile, SavingDoesNotFollowAPlantedTemporaryName) {
  const auto path = dir_ / "id";
  const auto victim = dir_ / "victim";
  { std::ofstream(victim) << "untouched\n"; }
  std::filesystem::create_symlink(victim, dir_ / "id.tmp");
  const auto id = Identity::generate();
  save_identity(id, path);
  std::ifstream in(victim);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "untouched\n");
  EXPECT_TRUE(std::filesystem::is_symlink(dir_ / "id.tmp"));
  EXPECT_EQ(load_identity(path).fingerprint(), id.fingerprint());
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Only the identity, the victim and the planted link: no temporary file left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 3);
}

TEST_F(IdentityFile, RefusesAFileOthersCanRead) {
  const auto path = dir_ / "id";
  save_identity(Identity::generate(), path);
  std::filesystem::permissions(path, std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  try {
    (void)load_identity(path);
    FAIL() << "loaded a group-readable identity";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("accessible by others"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos);
  }
}

TEST_F(IdentityFile, RefusesGarbage) {
  const auto path = dir_ / "id";
  {
    std::ofstream out(path);
    out << "hello\n";
  }
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_THROW((void)load_identity(path), std::runtime_error);
  EXPECT_THROW((void)load_identity(dir_ / "missing"), std::runtime_error);
}

}  // namespace
}  // namespace wzp::crypto
