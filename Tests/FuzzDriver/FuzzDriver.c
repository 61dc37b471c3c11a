// libFuzzer's entry is declared in include/FuzzDriver.h; this file holds the one helper Swift
// cannot reach through Glibc (unshare and SIOCSIFFLAGS need _GNU_SOURCE and variadic ioctl).
#define _GNU_SOURCE
#include "FuzzDriver.h"

#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int trackbag_fuzz_isolate_network(void) {
    // The calling thread moves into a new network namespace (network_namespaces(7)); sockets
    // made by it afterwards belong to that namespace whichever thread uses them.
    if (unshare(CLONE_NEWNET) != 0) return -1;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    int status = ioctl(fd, SIOCGIFFLAGS, &request);
    if (status == 0) {
        request.ifr_flags |= IFF_UP;
        status = ioctl(fd, SIOCSIFFLAGS, &request);
    }
    close(fd);
    return status == 0 ? 0 : -1;
}
