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
// AES-128-GCM, PBKDF2 and RNG for data-track E2EE (Sources/DataTracks).
#include "cossl_aead.h"
#endif
