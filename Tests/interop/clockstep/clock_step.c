/* An LD_PRELOAD shim that steps one process's system clock, as NTP's first sync or an
 * operator's `date -s` would, without touching the machine's clock: CLOCK_REALTIME (and
 * gettimeofday, time) jump by TB_CLOCK_STEP_NS nanoseconds once TB_CLOCK_STEP_AFTER_MS
 * milliseconds of CLOCK_MONOTONIC have passed since the process first read the time.
 * Monotonic and boot-time clocks are left alone, as a real step leaves them. Linux time
 * namespaces cannot do this: they offset CLOCK_MONOTONIC and CLOCK_BOOTTIME only. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime(void) {
    static clock_gettime_fn fn;
    clock_gettime_fn f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
    if (!f) {
        f = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
        __atomic_store_n(&fn, f, __ATOMIC_RELEASE);
    }
    return f;
}

static int64_t env_int(const char *name) {
    const char *v = getenv(name);
    return v ? strtoll(v, NULL, 10) : 0;
}

/* The offset to add to the real CLOCK_REALTIME now: 0 before the step, the step after it. */
static int64_t offset_ns(void) {
    static int64_t start_ns; /* monotonic ns of the first reading, 0 until then */
    struct timespec m;
    real_clock_gettime()(CLOCK_MONOTONIC, &m);
    int64_t now = (int64_t)m.tv_sec * 1000000000 + m.tv_nsec;
    int64_t expected = 0;
    __atomic_compare_exchange_n(&start_ns, &expected, now, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    int64_t start = __atomic_load_n(&start_ns, __ATOMIC_ACQUIRE);
    if (now - start < env_int("TB_CLOCK_STEP_AFTER_MS") * 1000000) return 0;
    return env_int("TB_CLOCK_STEP_NS");
}

static void shift(struct timespec *ts, int64_t by) {
    int64_t ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + by;
    ts->tv_sec = ns / 1000000000;
    ts->tv_nsec = ns % 1000000000;
    if (ts->tv_nsec < 0) { ts->tv_nsec += 1000000000; ts->tv_sec -= 1; }
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    int rc = real_clock_gettime()(id, ts);
    if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) shift(ts, offset_ns());
    return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    (void)tz;
    struct timespec ts;
    int rc = clock_gettime(CLOCK_REALTIME, &ts);
    if (rc == 0 && tv) { tv->tv_sec = ts.tv_sec; tv->tv_usec = ts.tv_nsec / 1000; }
    return rc;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}
