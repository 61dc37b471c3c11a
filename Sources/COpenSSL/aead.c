// AES-128-GCM for LiveKit frame E2EE (docs/WIRE.md): no AAD, 12-byte IV, 16-byte tag appended.
// Kept in C because the GCM tag is reached through EVP_CIPHER_CTX_ctrl and the EVP_CTRL_GCM_*
// constants, which read more plainly here than through Swift's imported macros.
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <openssl/crypto.h>
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

// One reusable cipher context per thread and direction, remembering the key it holds: when the
// next frame uses the same key (the usual case) only the IV is set, which skips the AES key
// schedule and GHASH setup (about half the cost of sealing a 256-byte frame), and no context is
// allocated per frame. Each call runs start to end on one thread, so a context is never shared.
struct gcm_slot {
    EVP_CIPHER_CTX *ctx;
    unsigned char key[16];
    int keyed;
};
static pthread_key_t slot_keys[2];
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static void slot_free(void *p) {
    struct gcm_slot *slot = (struct gcm_slot *)p;
    EVP_CIPHER_CTX_free(slot->ctx);
    OPENSSL_cleanse(slot->key, sizeof slot->key);
    OPENSSL_free(slot);
}
static void slot_keys_create(void) {
    (void)pthread_key_create(&slot_keys[0], slot_free);
    (void)pthread_key_create(&slot_keys[1], slot_free);
}
static struct gcm_slot *thread_slot(int encrypt) {
    pthread_once(&slot_once, slot_keys_create);
    pthread_key_t key = slot_keys[encrypt ? 1 : 0];
    struct gcm_slot *slot = (struct gcm_slot *)pthread_getspecific(key);
    if (slot) return slot;
    slot = (struct gcm_slot *)OPENSSL_zalloc(sizeof *slot);
    if (!slot) return NULL;
    slot->ctx = EVP_CIPHER_CTX_new();
    if (!slot->ctx || pthread_setspecific(key, slot) != 0) {
        EVP_CIPHER_CTX_free(slot->ctx);
        OPENSSL_free(slot);
        return NULL;
    }
    return slot;
}
/// Sets key (only when it changed) and IV for one message.
static int slot_start(struct gcm_slot *slot, int encrypt, const unsigned char *key16,
                      const unsigned char *iv12) {
    int same = slot->keyed && CRYPTO_memcmp(slot->key, key16, 16) == 0;
    const EVP_CIPHER *cipher = same ? NULL : aes128gcm();
    const unsigned char *key = same ? NULL : key16;
    int ok = encrypt ? EVP_EncryptInit_ex(slot->ctx, cipher, NULL, key, iv12)
                     : EVP_DecryptInit_ex(slot->ctx, cipher, NULL, key, iv12);
    if (ok == 1 && !same) {
        memcpy(slot->key, key16, 16);
        slot->keyed = 1;
    } else if (ok != 1) {
        slot->keyed = 0;
    }
    return ok == 1;
}

int cossl_aes128gcm_seal(const unsigned char *key16, const unsigned char *iv12,
                         const unsigned char *in, size_t len, unsigned char *out) {
    if (len > (size_t)INT32_MAX) return 0;
    struct gcm_slot *slot = thread_slot(1);
    if (!slot) return 0;
    int n = 0, fin = 0;
    if (slot_start(slot, 1, key16, iv12) &&
        (len == 0 || EVP_EncryptUpdate(slot->ctx, out, &n, in, (int)len) == 1) &&
        EVP_EncryptFinal_ex(slot->ctx, out + n, &fin) == 1 &&
        EVP_CIPHER_CTX_ctrl(slot->ctx, EVP_CTRL_GCM_GET_TAG, 16, out + len) == 1) {
        return 1;
    }
    slot->keyed = 0;  // unknown state: set the key again next time
    return 0;
}

int cossl_aes128gcm_open(const unsigned char *key16, const unsigned char *iv12,
                         const unsigned char *in, size_t len, unsigned char *out) {
    if (len < 16 || len - 16 > (size_t)INT32_MAX) return -1;
    size_t body = len - 16;
    struct gcm_slot *slot = thread_slot(0);
    if (!slot) return -1;
    int n = 0, fin = 0;
    if (slot_start(slot, 0, key16, iv12) &&
        (body == 0 || EVP_DecryptUpdate(slot->ctx, out, &n, in, (int)body) == 1) &&
        EVP_CIPHER_CTX_ctrl(slot->ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)(in + body)) == 1) {
        // DecryptFinal fails exactly when the tag does not verify.
        if (EVP_DecryptFinal_ex(slot->ctx, out + n, &fin) == 1) return 1;
        slot->keyed = 0;
        return 0;
    }
    slot->keyed = 0;
    return -1;
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
