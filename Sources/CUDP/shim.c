#ifdef __linux__
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/socket.h>
#include "CUDP.h"

_Static_assert(sizeof(struct cudp_mmsghdr) == sizeof(struct mmsghdr), "cudp_mmsghdr must match mmsghdr");
_Static_assert(offsetof(struct cudp_mmsghdr, msg_len) == offsetof(struct mmsghdr, msg_len),
               "cudp_mmsghdr must match mmsghdr");

int cudp_recvmmsg(int fd, struct cudp_mmsghdr *messages, unsigned int count, int flags) {
    return recvmmsg(fd, (struct mmsghdr *)messages, count, flags, NULL);
}

int cudp_sendmmsg(int fd, struct cudp_mmsghdr *messages, unsigned int count, int flags) {
    return sendmmsg(fd, (struct mmsghdr *)messages, count, flags);
}
#endif
