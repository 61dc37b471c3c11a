// AES-128-GCM for LiveKit frame E2EE (DESIGN.md §3): no AAD, 12-byte IV, 16-byte tag appended.
// Kept in C because the GCM tag is reached through EVP_CIPHER_CTX_ctrl and the EVP_CTRL_GCM_*
// constants, which read more plainly here than through Swift's imported macros.
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include "cossl_aead.h"

// OpenSSL 3 looks the algorithm up in its provider tables on every EVP_aes_128_gcm() init
// ("implicit fetch"), which costs more than sealing a small frame. Fetch once; an EVP_CIPHER
// is immutable and safe to share between threads (OpenSSL 3 man page crypto(7), "Performance").
static EVP_CIPHER *gcm_cipher = NULL;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;
static void gcm_fetch(void) { gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL); }
static const EVP_CIPHER *aes128gcm(void) {
    pthread_once(&gcm_once, gcm_fetch);
    return gcm_cipher ? gcm_cipher : EVP_aes_128_gcm();
}

// One reusable cipher context per thread and direction: re-initialising a context for the
// same cipher and direction keeps its allocations, where a new context per frame costs a
// malloc/free pair and provider setup (and switching direction re-creates provider state).
// Each call runs start to end on one thread, so a per-thread context is never shared.
static pthread_key_t ctx_keys[2];
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static void ctx_free(void *ctx) { EVP_CIPHER_CTX_free((EVP_CIPHER_CTX *)ctx); }
static void ctx_keys_create(void) {
    (void)pthread_key_create(&ctx_keys[0], ctx_free);
    (void)pthread_key_create(&ctx_keys[1], ctx_free);
}
static EVP_CIPHER_CTX *thread_ctx(int encrypt) {
    pthread_once(&ctx_once, ctx_keys_create);
    pthread_key_t key = ctx_keys[encrypt ? 1 : 0];
    EVP_CIPHER_CTX *ctx = (EVP_CIPHER_CTX *)pthread_getspecific(key);
    if (!ctx) {
        ctx = EVP_CIPHER_CTX_new();
        if (ctx && pthread_setspecific(key, ctx) != 0) {
            EVP_CIPHER_CTX_free(ctx);
            return NULL;
        }
    }
    return ctx;
}

int cossl_aes128gcm_seal(const unsigned char *key16, const unsigned char *iv12,
                         const unsigned char *in, size_t len, unsigned char *out) {
    if (len > (size_t)INT32_MAX) return 0;
    EVP_CIPHER_CTX *ctx = thread_ctx(1);
    if (!ctx) return 0;
    int ok = 0, n = 0, fin = 0;
    if (EVP_EncryptInit_ex(ctx, aes128gcm(), NULL, key16, iv12) == 1 &&
        (len == 0 || EVP_EncryptUpdate(ctx, out, &n, in, (int)len) == 1) &&
        EVP_EncryptFinal_ex(ctx, out + n, &fin) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + len) == 1) {
        ok = 1;
    }
    return ok;
}

int cossl_aes128gcm_open(const unsigned char *key16, const unsigned char *iv12,
                         const unsigned char *in, size_t len, unsigned char *out) {
    if (len < 16 || len - 16 > (size_t)INT32_MAX) return -1;
    size_t body = len - 16;
    EVP_CIPHER_CTX *ctx = thread_ctx(0);
    if (!ctx) return -1;
    int result = -1, n = 0, fin = 0;
    if (EVP_DecryptInit_ex(ctx, aes128gcm(), NULL, key16, iv12) == 1 &&
        (body == 0 || EVP_DecryptUpdate(ctx, out, &n, in, (int)body) == 1) &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)(in + body)) == 1) {
        // DecryptFinal fails exactly when the tag does not verify.
        result = EVP_DecryptFinal_ex(ctx, out + n, &fin) == 1 ? 1 : 0;
    }
    return result;
}

int cossl_pbkdf2_sha256(const unsigned char *password, size_t password_len,
                        const unsigned char *salt, size_t salt_len, unsigned int iterations,
                        unsigned char *out, size_t out_len) {
    if (password_len > (size_t)INT32_MAX || salt_len > (size_t)INT32_MAX ||
        out_len > (size_t)INT32_MAX || iterations == 0 || iterations > (unsigned int)INT32_MAX)
        return 0;
    return PKCS5_PBKDF2_HMAC((const char *)password, (int)password_len, salt, (int)salt_len,
                             (int)iterations, EVP_sha256(), (int)out_len, out) == 1 ? 1 : 0;
}

int cossl_random_bytes(unsigned char *out, size_t len) {
    if (len > (size_t)INT32_MAX) return 0;
    return RAND_bytes(out, (int)len) == 1 ? 1 : 0;
}
