// Thin shim over OpenSSL 3 for Swift: the headers, plus functions wrapping the APIs that are
// macros (and so invisible to Swift). Add wrappers here, named `cossl_*`, as layers need them.
#ifndef COPENSSL_H
#define COPENSSL_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

/// OpenSSL's version number, so Swift code and tests can say what they run on.
unsigned long cossl_version_number(void);

// DTLS helpers for WebRTCData (macros in OpenSSL 3, so Swift cannot see them).
/// DTLSv1_get_timeout: milliseconds until the handshake retransmission timer fires, or -1 when
/// no timer runs.
long cossl_dtls_get_timeout_ms(SSL *ssl);
/// DTLSv1_handle_timeout: retransmits the last flight if its timer expired. <0 on failure.
int cossl_dtls_handle_timeout(SSL *ssl);
/// The handshake retransmission timer of a real-time DTLS session: a flight's first timeout is
/// 400 ms, doubled at each expiry up to 3 s (RFC 9147 §5.8.2 recommends 400 ms for DTLS-SRTP,
/// whose users notice a setup delay; OpenSSL's default is RFC 6347's 1 s). The RFC's 60 s
/// ceiling keeps a handshake from adding to congestion on an unknown path; ours runs on a pair
/// ICE checks just proved, its flights are a few datagrams, and the whole join has a deadline
/// (RoomOptions.timeout, 15 s) that one flight backed off to 6.4 s would mostly spend. pion
/// retransmits every second flat; libwebrtc caps its SCTP timers' backoff at 3 s for the same
/// reason (a link that recovers should not wait out a long backoff).
#define COSSL_DTLS_INITIAL_TIMEOUT_US 400000u
#define COSSL_DTLS_MAX_TIMEOUT_US 3000000u
void cossl_dtls_use_realtime_timer(SSL *ssl);
/// The timer's next value in microseconds after one of `timer_us` (0: a flight starts).
unsigned int cossl_dtls_next_timer_us(unsigned int timer_us);
/// SSL_set_mtu with SSL_OP_NO_QUERY_MTU: the datagram size the DTLS record layer must respect.
long cossl_ssl_set_mtu(SSL *ssl, long mtu);
/// BIO_set_mem_eof_return: makes an empty memory BIO report "retry" instead of EOF.
long cossl_bio_set_mem_eof_return(BIO *bio, long value);
/// BIO_pending on a memory BIO.
long cossl_bio_pending(BIO *bio);
/// Sets the groups offered for ECDHE (SSL_CTX_set1_groups_list is a macro).
long cossl_ctx_set1_groups_list(SSL_CTX *ctx, const char *list);
/// Generates an EC key on the named curve (EVP_EC_gen is a variadic macro).
EVP_PKEY *cossl_generate_ec_key(int nid);

// AES-128-GCM, PBKDF2 and RNG for data-track E2EE (Sources/DataTracks).
#include "cossl_aead.h"
#endif
