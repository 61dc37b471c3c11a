// zlib (Debian zlib1g-dev) for Swift. inflateInit2/deflateInit2 are macros Swift cannot call,
// so they are wrapped here as static inline functions.
#include <zlib.h>

// windowBits 15 + 32: accept a gzip (RFC 1952) or zlib (RFC 1950) header, detected automatically.
static inline int czlib_inflate_init_auto(z_stream *stream) { return inflateInit2(stream, 15 + 32); }

// windowBits 15 + 16: write a gzip (RFC 1952) wrapper.
static inline int czlib_deflate_init_gzip(z_stream *stream) {
    return deflateInit2(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
