// Media AEAD cost: our seal+open of a 100-byte payload with its header as associated data
// (through SessionCrypto, with replay window and sequence extension), against libsodium's raw
// crypto_aead_chacha20poly1305_ietf on the same data in the same run.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <array>

#include "crypto/handshake.h"
#include "crypto/session_crypto.h"
#include "micro.h"
#include "suites.h"

namespace wzp::bench {
namespace {

constexpr size_t kPayload = 100;
constexpr size_t kHeader = 13;

// The same buffers for both sides of the comparison.
struct PacketBuffers {
  std::array<uint8_t, kHeader> ad{};
  std::array<uint8_t, kPayload> pt{};
  std::array<uint8_t, kPayload + 16> ct{};
  std::array<uint8_t, kPayload> back{};
};

void BM_CryptoRawLibsodium(benchmark::State& state) {
  crypto::ensure_sodium();
  std::array<uint8_t, 32> key{};
  randombytes_buf(key.data(), key.size());
  PacketBuffers b;
  auto& [ad, pt, ct, back] = b;
  uint32_t counter = 0;
  for (auto _ : state) {
    const auto nonce = crypto::make_nonce(1, counter++, 0);
    unsigned long long n = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(ct.data(), &n, pt.data(), pt.size(), ad.data(),
                                              ad.size(), nullptr, nonce.data(), key.data());
    const int rc =
        crypto_aead_chacha20poly1305_ietf_decrypt(back.data(), &n, nullptr, ct.data(), ct.size(),
                                                  ad.data(), ad.size(), nonce.data(), key.data());
    benchmark::DoNotOptimize(rc);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CryptoRawLibsodium);

void BM_CryptoSessionSealOpen(benchmark::State& state) {
  crypto::ensure_sodium();
  crypto::SessionKeys keys;
  randombytes_buf(keys.key.data(), 32);
  keys.session_id = 1;
  crypto::SessionCrypto tx(keys, crypto::Direction::kOfferer);
  crypto::SessionCrypto rx(keys, crypto::Direction::kAnswerer);
  PacketBuffers b;
  auto& [ad, pt, ct, back] = b;
  uint32_t counter = 0;
  for (auto _ : state) {
    tx.seal(counter, ad, pt, ct);
    size_t n = 0;
    const auto st = rx.open(static_cast<uint16_t>(counter), ad, ct, back, &n);
    benchmark::DoNotOptimize(st);
    ++counter;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CryptoSessionSealOpen);

}  // namespace

std::vector<Measurement> run_crypto_suite() {
  const auto runs = run_micro("BM_Crypto");
  const auto ours = runs.at("BM_CryptoSessionSealOpen");
  const auto ref = runs.at("BM_CryptoRawLibsodium");
  return {
      {"crypto", "seal+open 100 B + header", "rate", ours.items_per_second, "packets/s",
       ref.items_per_second, true},
      {"crypto", "seal+open 100 B + header", "time", ours.ns_per_iter / 1000.0, "us/packet",
       ref.ns_per_iter / 1000.0, false},
  };
}

}  // namespace wzp::bench
