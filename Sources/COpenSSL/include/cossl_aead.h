// AEAD, key derivation and randomness for LiveKit data-track E2EE (docs/WIRE.md).
#ifndef COSSL_AEAD_H
#define COSSL_AEAD_H
#include <stddef.h>

/// AES-128-GCM seal of `len` bytes from `in` into `out` (`len` + 16 bytes: ciphertext, then
/// the tag), no AAD, 12-byte IV. Returns 1 on success, 0 on failure. `in` may equal `out`.
int cossl_aes128gcm_seal(const unsigned char *key16, const unsigned char *iv12,
                         const unsigned char *in, size_t len, unsigned char *out);
/// AES-128-GCM open: `in` is ciphertext followed by its 16-byte tag (`len` >= 16); writes
/// `len` - 16 plaintext bytes to `out`. Returns 1 on success, 0 when authentication fails,
/// -1 on any other error.
int cossl_aes128gcm_open(const unsigned char *key16, const unsigned char *iv12,
                         const unsigned char *in, size_t len, unsigned char *out);
/// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2). Returns 1 on success, 0 on failure.
int cossl_pbkdf2_sha256(const unsigned char *password, size_t password_len,
                        const unsigned char *salt, size_t salt_len, unsigned int iterations,
                        unsigned char *out, size_t out_len);
/// Cryptographically secure random bytes (RAND_bytes). Returns 1 on success.
int cossl_random_bytes(unsigned char *out, size_t len);
#endif
