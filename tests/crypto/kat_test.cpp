// Known-answer tests from the RFCs for every primitive the media path relies on.
#include <sodium.h>

#include "crypto/hkdf.h"
#include "crypto/media_aead.h"
#include "crypto/secret.h"
#include "test_util.h"

namespace wzp::crypto {
namespace {

using testing::hex;
using testing::unhex;

// RFC 8439 §2.8.2: the AEAD_CHACHA20_POLY1305 example.
TEST(Kat, ChaCha20Poly1305Rfc8439) {
  ensure_sodium();
  const std::string text =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  const auto key = unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const auto nonce = unhex("070000004041424344454647");
  const auto aad = unhex("50515253c0c1c2c3c4c5c6c7");
  std::vector<uint8_t> out(text.size() + 16);
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(
      out.data(), &len, reinterpret_cast<const uint8_t*>(text.data()), text.size(), aad.data(),
      aad.size(), nullptr, nonce.data(), key.data());
  ASSERT_EQ(len, text.size() + 16);
  EXPECT_EQ(hex(std::span(out).first(text.size())),
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca967128"
            "2fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab"
            "324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116");
  EXPECT_EQ(hex(std::span(out).last(16)), "1ae10b594f09e26a7e902ecbd0600691");

  // Our MediaKey produces the same bytes when its nonce fields spell the RFC's nonce:
  // session_id 0x07000000, counter 0x40414243, direction 0x44 would need the trailing bytes
  // 45 46 47, which our nonce fixes at zero, so check the layout separately instead.
  EXPECT_EQ(hex(make_nonce(0x07000000, 0x40414243, 1)), "070000004041424301000000");
}

// RFC 7748 §5.2 (first vector) and §6.1 (Diffie-Hellman).
TEST(Kat, X25519Rfc7748) {
  ensure_sodium();
  uint8_t out[32];
  const auto k = unhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
  const auto u = unhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
  ASSERT_EQ(crypto_scalarmult(out, k.data(), u.data()), 0);
  EXPECT_EQ(hex(out), "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");

  const auto a = unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const auto b = unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  uint8_t a_pub[32], b_pub[32], s1[32], s2[32];
  crypto_scalarmult_base(a_pub, a.data());
  crypto_scalarmult_base(b_pub, b.data());
  EXPECT_EQ(hex(a_pub), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(hex(b_pub), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  ASSERT_EQ(crypto_scalarmult(s1, a.data(), b_pub), 0);
  ASSERT_EQ(crypto_scalarmult(s2, b.data(), a_pub), 0);
  EXPECT_EQ(hex(s1), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(hex(s2), hex(s1));
}

// RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte).
TEST(Kat, Ed25519Rfc8032) {
  ensure_sodium();
  struct Vec {
    const char* secret;
    const char* pub;
    const char* msg;
    const char* sig;
  };
  const Vec vecs[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
       "1cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
       "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
  };
  for (const auto& v : vecs) {
    uint8_t pk[32], sk[64], sig[64];
    crypto_sign_seed_keypair(pk, sk, unhex(v.secret).data());
    EXPECT_EQ(hex(pk), v.pub);
    const auto msg = unhex(v.msg);
    crypto_sign_detached(sig, nullptr, msg.data(), msg.size(), sk);
    EXPECT_EQ(hex(sig), v.sig);
    EXPECT_EQ(crypto_sign_verify_detached(sig, msg.data(), msg.size(), pk), 0);
  }
}

// RFC 5869 Appendix A, test cases 1, 2 and 3 (SHA-256).
TEST(Kat, HkdfSha256Rfc5869) {
  struct Vec {
    std::string ikm, salt, info, prk, okm;
  };
  auto range = [](int from, int to) {
    std::vector<uint8_t> v;
    for (int i = from; i < to; ++i) v.push_back(static_cast<uint8_t>(i));
    return hex(v);
  };
  const Vec vecs[] = {
      {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", range(0, 13), range(0xf0, 0xfa),
       "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
      {range(0, 0x50), range(0x60, 0xb0), range(0xb0, 0x100),
       "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c"
       "65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
      {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
       "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
  };
  for (const auto& v : vecs) {
    const auto ikm = unhex(v.ikm), salt = unhex(v.salt), info = unhex(v.info);
    std::array<uint8_t, 32> prk{};
    hkdf_extract(salt, ikm, prk);
    EXPECT_EQ(hex(prk), v.prk);
    std::vector<uint8_t> okm(v.okm.size() / 2);
    hkdf_expand(prk, info, okm);
    EXPECT_EQ(hex(okm), v.okm);
  }
}

}  // namespace
}  // namespace wzp::crypto
