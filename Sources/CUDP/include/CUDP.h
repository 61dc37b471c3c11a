// Batched UDP socket calls for the WebRTCData transport (Linux).
//
// glibc declares recvmmsg(2), sendmmsg(2) and `struct mmsghdr` only under _GNU_SOURCE, and
// Swift's Glibc module is built without it, so Swift cannot see them. This shim declares a
// struct of the same layout (checked in shim.c) and thin wrappers, nothing else.
#pragma once

#include <sys/socket.h>

#ifdef __linux__

/// `struct mmsghdr`: one datagram's header and, on return, its length in bytes.
struct cudp_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

/// recvmmsg(2) without a timeout: up to `count` queued datagrams, or -1 with errno.
int cudp_recvmmsg(int fd, struct cudp_mmsghdr *messages, unsigned int count, int flags);

/// sendmmsg(2): how many of the first `count` messages were sent, or -1 with errno.
int cudp_sendmmsg(int fd, struct cudp_mmsghdr *messages, unsigned int count, int flags);

/// MSG_TRUNC (a datagram was longer than its buffer): an enum constant in glibc that the
/// importer does not always carry over as a plain integer.
static const int cudp_msg_trunc = MSG_TRUNC;

#endif
