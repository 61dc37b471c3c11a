#ifndef CCRC32_H
#define CCRC32_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32 (ISO-HDLC / zlib / MCAP: reflected polynomial 0xEDB88320, init and final XOR
/// 0xFFFFFFFF), zlib's calling convention: start with crc = 0, feed the previous result to
/// continue. Uses carry-less multiplication (PCLMULQDQ) when the CPU has it, zlib otherwise.
uint32_t ccrc32_update(uint32_t crc, const void *data, size_t length);

#endif
