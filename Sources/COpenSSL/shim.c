#include "COpenSSL.h"

unsigned long cossl_version_number(void) { return OpenSSL_version_num(); }

long cossl_dtls_get_timeout_ms(SSL *ssl) {
    struct timeval tv = {0, 0};
    if (DTLSv1_get_timeout(ssl, &tv) != 1) return -1;
    return (long)tv.tv_sec * 1000 + (long)(tv.tv_usec / 1000);
}

int cossl_dtls_handle_timeout(SSL *ssl) { return (int)DTLSv1_handle_timeout(ssl); }

// OpenSSL calls this with 0 when a flight starts its timer and with the current value when the
// timer expired; it returns the next value in microseconds.
unsigned int cossl_dtls_next_timer_us(unsigned int timer_us) {
    if (timer_us == 0) return COSSL_DTLS_INITIAL_TIMEOUT_US;
    return timer_us >= COSSL_DTLS_MAX_TIMEOUT_US / 2 ? COSSL_DTLS_MAX_TIMEOUT_US : timer_us * 2;
}

static unsigned int cossl_dtls_realtime_timer(SSL *ssl, unsigned int timer_us) {
    (void)ssl;
    return cossl_dtls_next_timer_us(timer_us);
}

void cossl_dtls_use_realtime_timer(SSL *ssl) { DTLS_set_timer_cb(ssl, cossl_dtls_realtime_timer); }

long cossl_ssl_set_mtu(SSL *ssl, long mtu) {
    // Without NO_QUERY_MTU OpenSSL asks the (memory) BIO for a path MTU and ignores ours.
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    return SSL_set_mtu(ssl, mtu);
}

long cossl_bio_set_mem_eof_return(BIO *bio, long value) { return BIO_set_mem_eof_return(bio, value); }

long cossl_bio_pending(BIO *bio) { return (long)BIO_pending(bio); }

long cossl_ctx_set1_groups_list(SSL_CTX *ctx, const char *list) { return SSL_CTX_set1_groups_list(ctx, list); }

EVP_PKEY *cossl_generate_ec_key(int nid) {
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
    if (ctx == NULL) return NULL;
    if (EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, nid) <= 0
        || EVP_PKEY_keygen(ctx, &key) <= 0) {
        key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return key;
}
