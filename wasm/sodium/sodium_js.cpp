// libsodium's calls for the WebAssembly build (sodium.h): each one hands its bytes to libsodium's
// JavaScript build (Module.sodium, pre.js) and copies the result back.
#include "sodium.h"

#include <emscripten.h>

#include <cstdlib>
#include <cstring>

namespace {

EM_JS(void, js_random, (unsigned char* p, size_t n),
      { wzpOut(p, Module.sodium.randombytes_buf(n)); });
EM_JS(void, js_sha256, (const unsigned char* p, size_t n, unsigned char* out),
      { wzpOut(out, Module.sodium.crypto_hash_sha256(wzpIn(p, n))); });
EM_JS(void, js_sha512, (const unsigned char* p, size_t n, unsigned char* out),
      { wzpOut(out, Module.sodium.crypto_hash_sha512(wzpIn(p, n))); });
EM_JS(void, js_hmacsha256,
      (const unsigned char* key, size_t klen, const unsigned char* p, size_t n, unsigned char* out),
      {
        var s = Module.sodium;
        var st = s.crypto_auth_hmacsha256_init(wzpIn(key, klen));
        s.crypto_auth_hmacsha256_update(st, wzpIn(p, n));
        wzpOut(out, s.crypto_auth_hmacsha256_final(st));
      });
EM_JS(void, js_sign_seed_keypair, (unsigned char* pk, unsigned char* sk, const unsigned char* seed),
      {
        var kp = Module.sodium.crypto_sign_seed_keypair(wzpIn(seed, 32));
        wzpOut(pk, kp.publicKey);
        wzpOut(sk, kp.privateKey);
      });
EM_JS(void, js_sign_detached,
      (unsigned char* sig, const unsigned char* m, size_t n, const unsigned char* sk),
      { wzpOut(sig, Module.sodium.crypto_sign_detached(wzpIn(m, n), wzpIn(sk, 64))); });
EM_JS(int, js_sign_verify,
      (const unsigned char* sig, const unsigned char* m, size_t n, const unsigned char* pk), {
        try {
          return Module.sodium.crypto_sign_verify_detached(wzpIn(sig, 64), wzpIn(m, n),
                                                           wzpIn(pk, 32))
                     ? 0
                     : -1;
        } catch (e) {
          return -1;
        }
      });
EM_JS(void, js_scalarmult_base, (unsigned char* q, const unsigned char* n),
      { wzpOut(q, Module.sodium.crypto_scalarmult_base(wzpIn(n, 32))); });
EM_JS(int, js_scalarmult, (unsigned char* q, const unsigned char* n, const unsigned char* p), {
  try {
    wzpOut(q, Module.sodium.crypto_scalarmult(wzpIn(n, 32), wzpIn(p, 32)));
    return 0;
  } catch (e) {
    return -1;  // a point of small order: libsodium refuses it
  }
});
EM_JS(void, js_box_seal,
      (unsigned char* c, const unsigned char* m, size_t n, const unsigned char* pk),
      { wzpOut(c, Module.sodium.crypto_box_seal(wzpIn(m, n), wzpIn(pk, 32))); });
EM_JS(int, js_box_seal_open,
      (unsigned char* m, const unsigned char* c, size_t n, const unsigned char* pk,
       const unsigned char* sk),
      {
        try {
          wzpOut(m, Module.sodium.crypto_box_seal_open(wzpIn(c, n), wzpIn(pk, 32), wzpIn(sk, 32)));
          return 0;
        } catch (e) {
          return -1;
        }
      });
EM_JS(int, js_aead_encrypt,
      (unsigned char* c, const unsigned char* m, size_t n, const unsigned char* ad, size_t adn,
       const unsigned char* npub, const unsigned char* k),
      {
        var out = Module.sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
            wzpIn(m, n), adn ? wzpIn(ad, adn) : null, null, wzpIn(npub, 12), wzpIn(k, 32));
        wzpOut(c, out);
        return out.length;
      });
EM_JS(int, js_aead_decrypt,
      (unsigned char* m, const unsigned char* c, size_t n, const unsigned char* ad, size_t adn,
       const unsigned char* npub, const unsigned char* k),
      {
        try {
          var out = Module.sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
              null, wzpIn(c, n), adn ? wzpIn(ad, adn) : null, wzpIn(npub, 12), wzpIn(k, 32));
          wzpOut(m, out);
          return out.length;
        } catch (e) {
          return -1;  // forged or damaged
        }
      });

// Every streaming update: the input kept for _final. Returns libsodium's 0.
int gather(wzp_sodium_gather* g, const unsigned char* in, unsigned long long len) {
  const size_t n = static_cast<size_t>(len);
  if (n == 0) return 0;
  if (g->len + n > g->cap) {
    const size_t cap = (g->len + n) * 2;
    auto* grown = static_cast<unsigned char*>(std::realloc(g->data, cap));
    if (!grown) std::abort();
    g->data = grown;
    g->cap = cap;
  }
  std::memcpy(g->data + g->len, in, n);
  g->len += n;
  return 0;
}

void release(wzp_sodium_gather* g) {
  if (g->data) sodium_memzero(g->data, g->cap);
  std::free(g->data);
  *g = {};
}

// A streaming hash's _final: the gathered input hashed whole, then let go.
int hash_whole(void (*hash)(const unsigned char*, size_t, unsigned char*), wzp_sodium_gather* in,
               unsigned char* out) {
  hash(in->data, in->len, out);
  release(in);
  return 0;
}

}  // namespace

extern "C" {

int sodium_init(void) { return 0; }  // pre.js loaded libsodium before main()

void sodium_memzero(void* pnt, size_t len) {
  volatile unsigned char* p = static_cast<volatile unsigned char*>(pnt);
  while (len--) *p++ = 0;
}

int sodium_is_zero(const unsigned char* n, size_t nlen) {
  unsigned char d = 0;
  for (size_t i = 0; i < nlen; ++i) d |= n[i];
  return d == 0;
}

void randombytes_buf(void* buf, size_t size) {
  if (size) js_random(static_cast<unsigned char*>(buf), size);
}

int crypto_hash_sha256(unsigned char* out, const unsigned char* in, unsigned long long inlen) {
  js_sha256(in, static_cast<size_t>(inlen), out);
  return 0;
}
int crypto_hash_sha256_init(crypto_hash_sha256_state* state) {
  *state = {};
  return 0;
}
int crypto_hash_sha256_update(crypto_hash_sha256_state* state, const unsigned char* in,
                              unsigned long long inlen) {
  return gather(&state->in, in, inlen);
}
int crypto_hash_sha256_final(crypto_hash_sha256_state* state, unsigned char* out) {
  return hash_whole(js_sha256, &state->in, out);
}
int crypto_hash_sha512_init(crypto_hash_sha512_state* state) {
  *state = {};
  return 0;
}
int crypto_hash_sha512_update(crypto_hash_sha512_state* state, const unsigned char* in,
                              unsigned long long inlen) {
  return gather(&state->in, in, inlen);
}
int crypto_hash_sha512_final(crypto_hash_sha512_state* state, unsigned char* out) {
  return hash_whole(js_sha512, &state->in, out);
}
int crypto_auth_hmacsha256_init(crypto_auth_hmacsha256_state* state, const unsigned char* key,
                                size_t keylen) {
  *state = {};
  return gather(&state->key, key, keylen);
}
int crypto_auth_hmacsha256_update(crypto_auth_hmacsha256_state* state, const unsigned char* in,
                                  unsigned long long inlen) {
  return gather(&state->in, in, inlen);
}
int crypto_auth_hmacsha256_final(crypto_auth_hmacsha256_state* state, unsigned char* out) {
  js_hmacsha256(state->key.data, state->key.len, state->in.data, state->in.len, out);
  release(&state->key);
  release(&state->in);
  return 0;
}

int crypto_sign_seed_keypair(unsigned char* pk, unsigned char* sk, const unsigned char* seed) {
  js_sign_seed_keypair(pk, sk, seed);
  return 0;
}
int crypto_sign_detached(unsigned char* sig, unsigned long long* siglen_p, const unsigned char* m,
                         unsigned long long mlen, const unsigned char* sk) {
  js_sign_detached(sig, m, static_cast<size_t>(mlen), sk);
  if (siglen_p) *siglen_p = crypto_sign_BYTES;
  return 0;
}
int crypto_sign_verify_detached(const unsigned char* sig, const unsigned char* m,
                                unsigned long long mlen, const unsigned char* pk) {
  return js_sign_verify(sig, m, static_cast<size_t>(mlen), pk);
}
int crypto_scalarmult_base(unsigned char* q, const unsigned char* n) {
  js_scalarmult_base(q, n);
  return 0;
}
int crypto_scalarmult(unsigned char* q, const unsigned char* n, const unsigned char* p) {
  return js_scalarmult(q, n, p);
}
int crypto_box_seal(unsigned char* c, const unsigned char* m, unsigned long long mlen,
                    const unsigned char* pk) {
  js_box_seal(c, m, static_cast<size_t>(mlen), pk);
  return 0;
}
int crypto_box_seal_open(unsigned char* m, const unsigned char* c, unsigned long long clen,
                         const unsigned char* pk, const unsigned char* sk) {
  if (clen < crypto_box_SEALBYTES) return -1;
  return js_box_seal_open(m, c, static_cast<size_t>(clen), pk, sk);
}
int crypto_aead_chacha20poly1305_ietf_encrypt(unsigned char* c, unsigned long long* clen_p,
                                              const unsigned char* m, unsigned long long mlen,
                                              const unsigned char* ad, unsigned long long adlen,
                                              const unsigned char*, const unsigned char* npub,
                                              const unsigned char* k) {
  const int n =
      js_aead_encrypt(c, m, static_cast<size_t>(mlen), ad, static_cast<size_t>(adlen), npub, k);
  if (clen_p) *clen_p = static_cast<unsigned long long>(n);
  return 0;
}
int crypto_aead_chacha20poly1305_ietf_decrypt(unsigned char* m, unsigned long long* mlen_p,
                                              unsigned char*, const unsigned char* c,
                                              unsigned long long clen, const unsigned char* ad,
                                              unsigned long long adlen, const unsigned char* npub,
                                              const unsigned char* k) {
  if (mlen_p) *mlen_p = 0;
  if (clen < crypto_aead_chacha20poly1305_ietf_ABYTES) return -1;
  const int n =
      js_aead_decrypt(m, c, static_cast<size_t>(clen), ad, static_cast<size_t>(adlen), npub, k);
  if (n < 0) return -1;
  if (mlen_p) *mlen_p = static_cast<unsigned long long>(n);
  return 0;
}

}  // extern "C"
