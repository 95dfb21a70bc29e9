/* The part of libsodium's API that WarzonePhone uses, for the WebAssembly build (wasm/): the
 * same names, signatures and constants as <sodium.h>, carried out by libsodium itself in its
 * JavaScript build (npm libsodium-wrappers-sumo, loaded by pre.js) through sodium_js.cpp.
 * Debian has no WebAssembly build of libsodium; this keeps the primitives libsodium's own.
 *
 * Streaming hash and HMAC states collect their input and hash it whole at _final (the inputs
 * here are small: keys, labels, transcripts); a state must be finalised once, and may be
 * zeroed after. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define crypto_hash_sha256_BYTES 32U
#define crypto_hash_sha512_BYTES 64U
#define crypto_auth_hmacsha256_BYTES 32U
#define crypto_sign_BYTES 64U
#define crypto_sign_PUBLICKEYBYTES 32U
#define crypto_sign_SECRETKEYBYTES 64U
#define crypto_sign_SEEDBYTES 32U
#define crypto_scalarmult_BYTES 32U
#define crypto_scalarmult_SCALARBYTES 32U
#define crypto_box_PUBLICKEYBYTES 32U
#define crypto_box_SECRETKEYBYTES 32U
#define crypto_box_SEALBYTES 48U
#define crypto_aead_chacha20poly1305_ietf_KEYBYTES 32U
#define crypto_aead_chacha20poly1305_ietf_NPUBBYTES 12U
#define crypto_aead_chacha20poly1305_ietf_ABYTES 16U

/* Input gathered until _final (see above). */
typedef struct wzp_sodium_gather {
  unsigned char* data;
  size_t len, cap;
} wzp_sodium_gather;
typedef struct crypto_hash_sha256_state {
  wzp_sodium_gather in;
} crypto_hash_sha256_state;
typedef struct crypto_hash_sha512_state {
  wzp_sodium_gather in;
} crypto_hash_sha512_state;
typedef struct crypto_auth_hmacsha256_state {
  wzp_sodium_gather key, in;
} crypto_auth_hmacsha256_state;

int sodium_init(void);
void sodium_memzero(void* pnt, size_t len);
int sodium_is_zero(const unsigned char* n, size_t nlen);
void randombytes_buf(void* buf, size_t size);

int crypto_hash_sha256(unsigned char* out, const unsigned char* in, unsigned long long inlen);
int crypto_hash_sha256_init(crypto_hash_sha256_state* state);
int crypto_hash_sha256_update(crypto_hash_sha256_state* state, const unsigned char* in,
                              unsigned long long inlen);
int crypto_hash_sha256_final(crypto_hash_sha256_state* state, unsigned char* out);
int crypto_hash_sha512_init(crypto_hash_sha512_state* state);
int crypto_hash_sha512_update(crypto_hash_sha512_state* state, const unsigned char* in,
                              unsigned long long inlen);
int crypto_hash_sha512_final(crypto_hash_sha512_state* state, unsigned char* out);
int crypto_auth_hmacsha256_init(crypto_auth_hmacsha256_state* state, const unsigned char* key,
                                size_t keylen);
int crypto_auth_hmacsha256_update(crypto_auth_hmacsha256_state* state, const unsigned char* in,
                                  unsigned long long inlen);
int crypto_auth_hmacsha256_final(crypto_auth_hmacsha256_state* state, unsigned char* out);

int crypto_sign_seed_keypair(unsigned char* pk, unsigned char* sk, const unsigned char* seed);
int crypto_sign_detached(unsigned char* sig, unsigned long long* siglen_p, const unsigned char* m,
                         unsigned long long mlen, const unsigned char* sk);
int crypto_sign_verify_detached(const unsigned char* sig, const unsigned char* m,
                                unsigned long long mlen, const unsigned char* pk);
int crypto_scalarmult_base(unsigned char* q, const unsigned char* n);
int crypto_scalarmult(unsigned char* q, const unsigned char* n, const unsigned char* p);
int crypto_box_seal(unsigned char* c, const unsigned char* m, unsigned long long mlen,
                    const unsigned char* pk);
int crypto_box_seal_open(unsigned char* m, const unsigned char* c, unsigned long long clen,
                         const unsigned char* pk, const unsigned char* sk);
int crypto_aead_chacha20poly1305_ietf_encrypt(unsigned char* c, unsigned long long* clen_p,
                                              const unsigned char* m, unsigned long long mlen,
                                              const unsigned char* ad, unsigned long long adlen,
                                              const unsigned char* nsec, const unsigned char* npub,
                                              const unsigned char* k);
int crypto_aead_chacha20poly1305_ietf_decrypt(unsigned char* m, unsigned long long* mlen_p,
                                              unsigned char* nsec, const unsigned char* c,
                                              unsigned long long clen, const unsigned char* ad,
                                              unsigned long long adlen, const unsigned char* npub,
                                              const unsigned char* k);

#ifdef __cplusplus
}
#endif
