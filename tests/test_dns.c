/* Tests of io.h's names: io_resolve_t (numeric hosts without the pool,
 * "localhost" through the real getaddrinfo, a stub resolver for every
 * other name) and io_connect_name_t (RFC 8305 happy eyeballs), each
 * dropped at every point where it waits.
 *
 * Never the network, and nothing of /etc/hosts but "localhost": every
 * other name is the stub's, mapped to loopback addresses of three kinds:
 *   live     a listener (the connect completes at once)
 *   refused  a socket bound but not listening (ECONNREFUSED at once)
 *   hangs    a listener with backlog 0 whose accept queue one connection
 *            already fills: Linux drops the next SYN, so a connect there
 *            stays pending (for the kernel's SYN retries: minutes)
 * Time is the paused clock: "attempt 2 starts 250 ms after attempt 1"
 * is exact. The stub can also hold a lookup on its pool thread until the
 * test releases it, so a drop lands while the job runs. malloc and the
 * reactor's registration can be failed (fault.h). Threads: the pool.
 */
#include "check.h"
#include "fault.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>

/* ---- fault injection ------------------------------------------------------ */

static fault_t f_malloc, f_register;

#define DNS_UNUSED_ __attribute__((unused))
static DNS_UNUSED_ void *dns_malloc(size_t n) { return fault_hit(&f_malloc) ? 0 : malloc(n); }
/* The registration with the reactor: epoll_ctl's ADD, or the poll
 * backend's fstat. */
static DNS_UNUSED_ int dns_epoll_ctl(int e, int op, int fd, struct epoll_event *ev) {
    return op == EPOLL_CTL_ADD && fault_hit(&f_register) ? -1 : epoll_ctl(e, op, fd, ev);
}
static DNS_UNUSED_ int dns_fstat(int fd, struct stat *st) {
    return fault_hit(&f_register) ? -1 : fstat(fd, st);
}
/* getaddrinfo: the real one, or an error (gai_fail), or a made-up list
 * (gai_fake: an AF_UNIX entry to skip, then ::1 and 127.0.0.1; with
 * gai_fake 2 the AF_UNIX entry alone). */
static int gai_fail, gai_fake, gai_fake_errno;
static struct sockaddr_un gai_un;
static struct sockaddr_in6 gai_v6;
static struct sockaddr_in gai_v4;
static struct addrinfo gai_list[3];
static DNS_UNUSED_ int dns_getaddrinfo(const char *host, const char *serv,
                                       const struct addrinfo *hints, struct addrinfo **res) {
    if (gai_fail) {
        errno = gai_fake_errno;
        return gai_fail;
    }
    if (!gai_fake) return getaddrinfo(host, serv, hints, res);
    memset(gai_list, 0, sizeof gai_list);
    gai_un.sun_family = AF_UNIX;
    gai_list[0].ai_family = AF_UNIX;
    gai_list[0].ai_addr = (struct sockaddr *)(void *)&gai_un;
    gai_list[0].ai_addrlen = sizeof gai_un;
    gai_v6.sin6_family = AF_INET6;
    gai_v6.sin6_addr = in6addr_loopback;
    gai_list[1].ai_family = AF_INET6;
    gai_list[1].ai_addr = (struct sockaddr *)(void *)&gai_v6;
    gai_list[1].ai_addrlen = sizeof gai_v6;
    gai_v4.sin_family = AF_INET;
    gai_v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    gai_list[2].ai_family = AF_INET;
    gai_list[2].ai_addr = (struct sockaddr *)(void *)&gai_v4;
    gai_list[2].ai_addrlen = sizeof gai_v4;
    if (gai_fake == 1) {
        gai_list[0].ai_next = &gai_list[1];
        gai_list[1].ai_next = &gai_list[2];
    }
    *res = gai_list;
    return 0;
}
static DNS_UNUSED_ void dns_freeaddrinfo(struct addrinfo *ai) {
    if (ai != gai_list) freeaddrinfo(ai);
}
#define malloc(n) dns_malloc(n)
#define getaddrinfo(...) dns_getaddrinfo(__VA_ARGS__)
#define freeaddrinfo(...) dns_freeaddrinfo(__VA_ARGS__)
#define epoll_ctl(...) dns_epoll_ctl(__VA_ARGS__)
#ifdef EXEC_BACKEND_POLL
#define fstat(...) dns_fstat(__VA_ARGS__)
#endif

/* The drop of a lookup whose job runs detached: let the job finish first
 * when asked, so both orders of the hand-off are seen. */
static void letgo_hook(void);
#define IO_RESOLVE_LETGO_HOOK_(r) ((void)(r), letgo_hook())

#include "../io.h"
#include "paused.h"

#undef malloc

/* ---- the stub resolver ---------------------------------------------------- */

typedef struct {
    const char *name;  /* the one name it knows */
    io_addr_t addrs[10];
    int n;             /* addresses it has */
    int rc;            /* if not 0: the answer instead */
    int lie;           /* return n even when cap is smaller */
    int block;         /* hold each call until release (atomic) */
    int calls, entered, finished, release, gave_up; /* atomic */
    size_t last_cap;
} stub_t;

static stub_t stub;

#define LOAD_(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE_(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

/* Hold for the test's release; a drop that waited for the job (a scoped
 * job: the bug this catches) would wait for ever, so give up after about
 * two seconds and say so. */
static void stub_hold(stub_t *s) {
    int i;
    STORE_(&s->entered, LOAD_(&s->entered) + 1);
    for (i = 0; i < 2000 && !LOAD_(&s->release); i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, 0);
    }
    if (!LOAD_(&s->release)) STORE_(&s->gave_up, 1);
}

static int stub_resolve(void *ctx, const char *host, int port, io_addr_t *out, size_t cap) {
    stub_t *s = (stub_t *)ctx;
    int i, n;
    (void)port; /* the table has whole addresses: each its own port */
    __atomic_add_fetch(&s->calls, 1, __ATOMIC_SEQ_CST);
    s->last_cap = cap;
    if (LOAD_(&s->block)) stub_hold(s);
    STORE_(&s->finished, LOAD_(&s->finished) + 1);
    if (!s->name || strcmp(host, s->name)) return -ENOENT;
    if (s->rc) return s->rc;
    n = s->n < (int)cap ? s->n : (int)cap;
    for (i = 0; i < n; i++) out[i] = s->addrs[i];
    return s->lie ? s->n : n;
}

static void stub_set(const char *name) {
    memset(&stub, 0, sizeof stub);
    stub.name = name;
}

static void stub_add(const io_addr_t *a) { stub.addrs[stub.n++] = *a; }

/* ---- loopback endpoints --------------------------------------------------- */

static int have6; /* ::1 works here */
static int fds_[64], nfds_;

static void keep_fd(int fd) { fds_[nfds_++] = fd; }

static void close_kept(void) {
    while (nfds_) close(fds_[--nfds_]);
}

static void loop_addr(io_addr_t *a, int v6) {
    if (io_addr_parse(a, v6 ? "::1" : "127.0.0.1", 0)) abort();
}

/* A bound socket on loopback, listening with backlog (or not, backlog < 0):
 * its address in *a. */
static int bound(io_addr_t *a, int v6, int backlog) {
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    loop_addr(a, v6);
    if (fd < 0 || bind(fd, (struct sockaddr *)(void *)&a->ss, a->len) < 0) abort();
    if (backlog >= 0 && listen(fd, backlog) < 0) abort();
    a->len = sizeof a->ss;
    if (getsockname(fd, (struct sockaddr *)(void *)&a->ss, &a->len) < 0) abort();
    keep_fd(fd);
    return fd;
}

static int live(io_addr_t *a, int v6) { return bound(a, v6, 16); }
static void refused(io_addr_t *a, int v6) { (void)bound(a, v6, -1); }

/* A listener whose accept queue is full: connects there stay pending. */
static void hangs(io_addr_t *a, int v6) {
    int c, lis = bound(a, v6, 0);
    struct pollfd p;
    (void)lis;
    c = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c < 0) abort();
    keep_fd(c);
    if (connect(c, (struct sockaddr *)(void *)&a->ss, a->len) < 0 && errno != EINPROGRESS) abort();
    p.fd = c;
    p.events = POLLOUT;
    if (poll(&p, 1, 5000) != 1) abort(); /* the one that fills the queue */
}

/* Accept the connection waiting on listener fd: 1 if there was one. */
static int accept_one(int lis) {
    int c = accept4(lis, 0, 0, SOCK_NONBLOCK);
    if (c < 0) return 0;
    close(c);
    return 1;
}

static int same_addr(const io_addr_t *a, const io_addr_t *b) {
    return a->len == b->len && !memcmp(&a->ss, &b->ss, a->len);
}

/* ---- the executor, the pool, a driver ------------------------------------- */

static exec_t ex;
static blocking_pool_t pool;
static uint64_t t0, run_at;

static void setup(void) {
    blocking_pool_opts_t o;
    memset(&f_malloc, 0, sizeof f_malloc);
    memset(&f_register, 0, sizeof f_register);
    paused_init(&ex);
    memset(&o, 0, sizeof o);
    o.threads = 1;
    o.max_threads = 1; /* one job at a time: a second one stays queued */
    if (blocking_pool_init(&pool, &ex, &o)) abort();
    t0 = exec_now(&ex);
    stub_set(0);
}

static void teardown(void) {
    STORE_(&stub.release, 1);
    blocking_pool_destroy(&pool); /* joins: a detached job is done */
    exec_destroy(&ex);
    close_kept();
}

static int run1(future_t *f) { return paused_run1_at(&ex, f, &run_at); }
static int race(future_t *f, uint64_t ms) { return paused_race(&ex, f, ms); }

/* drive: poll a (and b, if given) once, then re-poll nothing until
 * until() says so (the executor spins: the pool job holds the paused
 * clock, so a sleep would not do), describe a's tree, drop both. */
typedef struct {
    future_t fut;
    future_t *a, *b;
    int (*until)(void);
    int started;
    int repoll; /* poll a again while waiting (else it is left alone) */
    int ready; /* a was ready at its first poll */
    char text[512];
} drive_t;

static void drive_emit(void *ctx, int depth, const future_t *f) {
    drive_t *d = (drive_t *)ctx;
    future_fmt_t o;
    size_t len = strlen(d->text);
    (void)depth;
    memset(&o, 0, sizeof o);
    o.buf = d->text + len;
    o.cap = sizeof d->text - len;
    future_describe(f, &o);
    if (len + o.len + 2 < sizeof d->text) strcat(d->text, "|");
}

static coro_poll_t drive_poll(future_t *self, future_cx_t *cx) {
    drive_t *d = (drive_t *)(void *)self;
    if (!d->started) {
        d->started = 1;
        if (future_poll(d->a, cx) == CORO_READY) {
            d->ready = 1;
            return future_finish(self, 0);
        }
        if (d->b) (void)future_poll(d->b, cx);
    }
    if (d->until && !d->until()) {
        if (d->repoll && future_poll(d->a, cx) == CORO_READY) {
            d->ready = 1;
            return future_finish(self, 0);
        }
        sched_yield();
        future_wake(cx->waker);
        return CORO_PENDING;
    }
    future_trace(d->a, 0, drive_emit, d);
    future_drop(d->a);
    if (d->b) future_drop(d->b);
    return future_finish(self, 0);
}

static int drive_ex(drive_t *d, future_t *a, future_t *b, int (*until)(void), int repoll) {
    memset(d, 0, sizeof *d);
    d->repoll = repoll;
    future_init(&d->fut, drive_poll, 0);
    d->a = a;
    d->b = b;
    d->until = until;
    return exec_block_on(&ex, &d->fut);
}

static int drive(drive_t *d, future_t *a, future_t *b, int (*until)(void)) {
    return drive_ex(d, a, b, until, 0);
}

static int stub_entered1(void) { return LOAD_(&stub.entered) >= 1; }

/* ---- the hook: the job lets go first -------------------------------------- */

static int letgo_job_first; /* the next detached drop: release the stub and
                               wait until the job has let go */
static uint64_t ran_before;

static void letgo_hook(void) {
    if (!letgo_job_first) return;
    letgo_job_first = 0;
    STORE_(&stub.release, 1);
    while (blocking_pool_stats(&pool).ran == ran_before) sched_yield();
}

/* ---- errors ---------------------------------------------------------------- */

static void test_eai_errno(void) {
    CHECK_EQ(io_eai_errno(0), 0);
    CHECK_EQ(io_eai_errno(EAI_NONAME), -ENOENT);
#ifdef EAI_NODATA
    CHECK_EQ(io_eai_errno(EAI_NODATA), -ENOENT);
#endif
#ifdef EAI_ADDRFAMILY
    CHECK_EQ(io_eai_errno(EAI_ADDRFAMILY), -ENOENT);
#endif
    CHECK_EQ(io_eai_errno(EAI_AGAIN), -EAGAIN);
    CHECK_EQ(io_eai_errno(EAI_FAIL), -EIO);
    CHECK_EQ(io_eai_errno(EAI_MEMORY), -ENOMEM);
    CHECK_EQ(io_eai_errno(EAI_FAMILY), -EINVAL);
    CHECK_EQ(io_eai_errno(EAI_SOCKTYPE), -EINVAL);
    CHECK_EQ(io_eai_errno(EAI_BADFLAGS), -EINVAL);
    CHECK_EQ(io_eai_errno(EAI_SERVICE), -EINVAL);
    errno = EMFILE;
    CHECK_EQ(io_eai_errno(EAI_SYSTEM), -EMFILE);
    errno = 0;
    CHECK_EQ(io_eai_errno(EAI_SYSTEM), -EIO);
    CHECK_EQ(io_eai_errno(12345), -EIO);
}

/* ---- resolve ---------------------------------------------------------------- */

/* A numeric host is parsed where it stands: no pool (0 here), no resolver
 * call, no allocation. */
static void test_resolve_numeric(void) {
    io_resolve_t r;
    io_addr_t out[2], want;
    setup();
    stub_set("x.test");
    fault_arm(&f_malloc, 0, -1, ENOMEM); /* any allocation would fail */
    io_resolve_init(&r, 0, "127.0.0.1", 8080, out, 2);
    r.resolver = stub_resolve;
    r.resolver_ctx = &stub;
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 1);
    io_addr_parse(&want, "127.0.0.1", 8080);
    CHECK(same_addr(&out[0], &want));
    io_resolve_init(&r, 0, "::1", 443, out, 1);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 1);
    CHECK_EQ(out[0].ss.ss_family, AF_INET6);
    CHECK_EQ(io_addr_port(&out[0]), 443);
    io_resolve_init(&r, 0, 0, 1, out, 1); /* 0: 127.0.0.1, as io_addr_parse */
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(out[0].ss.ss_family, AF_INET);
    CHECK_EQ(run_at, t0);
    CHECK_EQ(LOAD_(&stub.calls), 0);
    CHECK_EQ(blocking_pool_stats(&pool).submitted, 0);
    fault_arm(&f_malloc, 0, 0, 0);
    teardown();
}

/* "localhost" is the one name every system resolves (to loopback). */
static void test_resolve_localhost(void) {
    io_resolve_t r;
    io_addr_t out[8];
    size_t i;
    setup();
    io_resolve_init(&r, &pool, "localhost", 80, out, 8);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK(r.n >= 1 && r.n <= 8);
    for (i = 0; i < r.n; i++) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)&out[i].ss;
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)&out[i].ss;
        CHECK_EQ(io_addr_port(&out[i]), 80);
        if (out[i].ss.ss_family == AF_INET)
            CHECK_EQ(((const unsigned char *)&v4->sin_addr)[0], 127);
        else
            CHECK(out[i].ss.ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr));
    }
    CHECK_EQ(blocking_pool_stats(&pool).submitted, 1);
    /* The default resolver directly: cap bounds it, ctx is unused. */
    CHECK_EQ(io_resolver_getaddrinfo(0, "localhost", 7, out, 1), 1);
    CHECK_EQ(io_addr_port(&out[0]), 7);
    teardown();
}

/* The default resolver's other paths, through a faked getaddrinfo: its
 * error mapped, other families skipped, the port set in both families,
 * nothing usable at all. */
static void test_resolve_gai_paths(void) {
    io_resolve_t r;
    io_addr_t out[4];
    setup();
    gai_fail = EAI_AGAIN;
    io_resolve_init(&r, &pool, "x.test", 53, out, 4);
    CHECK_EQ(run1(&r.fut), -EAGAIN);
    gai_fail = EAI_SYSTEM;
    gai_fake_errno = EMFILE;
    io_resolve_init(&r, &pool, "x.test", 53, out, 4);
    CHECK_EQ(run1(&r.fut), -EMFILE);
    gai_fail = 0;
    gai_fake = 1;
    io_resolve_init(&r, &pool, "x.test", 53, out, 4);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 2);
    CHECK_EQ(out[0].ss.ss_family, AF_INET6);
    CHECK_EQ(io_addr_port(&out[0]), 53);
    CHECK_EQ(out[1].ss.ss_family, AF_INET);
    CHECK_EQ(io_addr_port(&out[1]), 53);
    io_resolve_init(&r, &pool, "x.test", 53, out, 1); /* cap stops the walk */
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 1);
    CHECK_EQ(out[0].ss.ss_family, AF_INET6);
    gai_fake = 2;
    io_resolve_init(&r, &pool, "x.test", 53, out, 4);
    CHECK_EQ(run1(&r.fut), -ENOENT);
    gai_fake = 0;
    /* never polled: its drop has nothing to undo */
    io_resolve_init(&r, &pool, "x.test", 53, out, 4);
    future_drop(&r.fut);
    CHECK_EQ(future_err(&r.fut), -ECANCELED);
    teardown();
}

/* More addresses than room: the kept ones are a subsequence of the list
 * (its order), as many as fit, and neither family is crowded out (each
 * keeps min(its count, half of cap) at least). Random lists of IPv6,
 * IPv4 and other entries, every cap from 1 to 8. */
static void test_take_keeps_both_families(void) {
    struct addrinfo ai[24];
    struct sockaddr_in6 v6[24];
    struct sockaddr_in v4[24];
    io_addr_t out[8];
    unsigned seed = 12345;
    int round;
    for (round = 0; round < 2000; round++) {
        size_t len, i, cap, n, j, got4 = 0, got6 = 0, n4 = 0, n6 = 0;
        seed = seed * 1103515245u + 12345u;
        len = (seed >> 16) % 24;
        cap = 1 + (seed >> 8) % 8;
        memset(ai, 0, sizeof ai);
        for (i = 0; i < len; i++) {
            unsigned kind;
            seed = seed * 1103515245u + 12345u;
            kind = (seed >> 16) % 5; /* 0, 1: v6, 2, 3: v4, 4: neither */
            if (kind < 2) {
                memset(&v6[i], 0, sizeof v6[i]);
                v6[i].sin6_family = AF_INET6;
                v6[i].sin6_addr.s6_addr[15] = (unsigned char)i;
                ai[i].ai_family = AF_INET6;
                ai[i].ai_addr = (struct sockaddr *)(void *)&v6[i];
                ai[i].ai_addrlen = sizeof v6[i];
                n6++;
            } else if (kind < 4) {
                memset(&v4[i], 0, sizeof v4[i]);
                v4[i].sin_family = AF_INET;
                v4[i].sin_addr.s_addr = htonl(0x0a000000u + (unsigned)i);
                ai[i].ai_family = AF_INET;
                ai[i].ai_addr = (struct sockaddr *)(void *)&v4[i];
                ai[i].ai_addrlen = sizeof v4[i];
                n4++;
            } else {
                ai[i].ai_family = AF_UNIX;
            }
            ai[i].ai_next = i + 1 < len ? &ai[i + 1] : 0;
        }
        n = io_addrinfo_take_(len ? ai : 0, 80, out, cap);
        CHECK_EQ(n, n4 + n6 < cap ? n4 + n6 : cap);
        for (i = 0, j = 0; i < n; i++) { /* in the list's order */
            size_t at;
            if (out[i].ss.ss_family == AF_INET6) {
                const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)&out[i].ss;
                at = a->sin6_addr.s6_addr[15];
                got6++;
            } else {
                const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)&out[i].ss;
                CHECK_EQ(out[i].ss.ss_family, AF_INET);
                at = ntohl(a->sin_addr.s_addr) - 0x0a000000u;
                got4++;
            }
            CHECK(at >= j && at < len);
            CHECK_EQ(io_addr_port(&out[i]), 80);
            j = at + 1;
        }
        if (got4 < (n4 < cap / 2 ? n4 : cap / 2) || got6 < (n6 < cap / 2 ? n6 : cap / 2))
            printf("    round %d: %zu v6, %zu v4, cap %zu: kept %zu v6, %zu v4\n", round, n6,
                   n4, cap, got6, got4);
        CHECK(got4 >= (n4 < cap / 2 ? n4 : cap / 2));
        CHECK(got6 >= (n6 < cap / 2 ? n6 : cap / 2));
    }
}

static void test_resolve_stub(void) {
    io_resolve_t r;
    io_addr_t out[3], a;
    int i;
    setup();
    stub_set("three.test");
    for (i = 0; i < 3; i++) {
        io_addr_parse(&a, "127.0.0.1", 1000 + i);
        stub_add(&a);
    }
    /* cap 2: the first two, in the resolver's order */
    io_resolve_init(&r, &pool, "three.test", 1, out, 2);
    r.resolver = stub_resolve;
    r.resolver_ctx = &stub;
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 2);
    CHECK_EQ(stub.last_cap, 2);
    CHECK_EQ(io_addr_port(&out[0]), 1000);
    CHECK_EQ(io_addr_port(&out[1]), 1001);
    /* a resolver that says more than cap is held to cap */
    stub.lie = 1;
    io_resolve_init(&r, &pool, "three.test", 1, out, 1);
    r.resolver = stub_resolve;
    r.resolver_ctx = &stub;
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 1);
    /* errors are values */
    io_resolve_init(&r, &pool, "other.test", 1, out, 3);
    r.resolver = stub_resolve;
    r.resolver_ctx = &stub;
    CHECK_EQ(run1(&r.fut), -ENOENT);
    CHECK_EQ(r.n, 0);
    stub.rc = -EAGAIN;
    io_resolve_init(&r, &pool, "three.test", 1, out, 3);
    r.resolver = stub_resolve;
    r.resolver_ctx = &stub;
    CHECK_EQ(run1(&r.fut), -EAGAIN);
    stub.rc = 0;
    stub.n = 0; /* no address, no error: -ENOENT */
    io_resolve_init(&r, &pool, "three.test", 1, out, 3);
    r.resolver = stub_resolve;
    r.resolver_ctx = &stub;
    CHECK_EQ(run1(&r.fut), -ENOENT);
    teardown();
}

static void test_resolve_bad(void) {
    io_resolve_t r;
    io_addr_t out[1];
    setup();
    io_resolve_init(&r, &pool, "localhost", 70000, out, 1);
    CHECK_EQ(run1(&r.fut), -EINVAL);
    io_resolve_init(&r, &pool, "localhost", -1, out, 1);
    CHECK_EQ(run1(&r.fut), -EINVAL);
    io_resolve_init(&r, &pool, "localhost", 1, out, 0);
    CHECK_MISUSE(CHECK_EQ(run1(&r.fut), -EINVAL), "no room");
    io_resolve_init(&r, &pool, "localhost", 1, 0, 1);
    CHECK_MISUSE(CHECK_EQ(run1(&r.fut), -EINVAL), "no room");
    io_resolve_init(&r, 0, "localhost", 1, out, 1);
    CHECK_MISUSE(CHECK_EQ(run1(&r.fut), -EINVAL), "without a blocking_pool_t");
    /* the request cannot be made: -ENOMEM, nothing submitted */
    fault_arm(&f_malloc, 0, 1, ENOMEM);
    io_resolve_init(&r, &pool, "localhost", 1, out, 1);
    CHECK_EQ(run1(&r.fut), -ENOMEM);
    CHECK_EQ(blocking_pool_stats(&pool).submitted, 0);
    /* a pool shut down: its -ECANCELED */
    blocking_pool_shutdown(&pool, BLOCKING_POOL_CANCEL);
    io_resolve_init(&r, &pool, "localhost", 1, out, 1);
    CHECK_EQ(run1(&r.fut), -ECANCELED);
    teardown();
}

/* Dropped while its job runs: the drop returns at once (the job is
 * detached, not waited for), and the late result goes nowhere near the
 * frame or out, both freed before the job ends (ASan). Dropped while
 * queued: the job never runs. */
static void test_resolve_drop_running_and_queued(void) {
    io_resolve_t *r1 = (io_resolve_t *)malloc(sizeof *r1), *r2 = (io_resolve_t *)malloc(sizeof *r2);
    io_addr_t *out1 = (io_addr_t *)malloc(2 * sizeof *out1), *out2 = (io_addr_t *)malloc(2 * sizeof *out2);
    io_addr_t a;
    drive_t d;
    setup();
    stub_set("slow.test");
    io_addr_parse(&a, "127.0.0.1", 9);
    stub_add(&a);
    stub.block = 1;
    io_resolve_init(r1, &pool, "slow.test", 9, out1, 2);
    io_resolve_init(r2, &pool, "slow.test", 9, out2, 2);
    r1->resolver = r2->resolver = stub_resolve;
    r1->resolver_ctx = r2->resolver_ctx = &stub;
    CHECK_EQ(drive(&d, &r1->fut, &r2->fut, stub_entered1), 0);
    CHECK(strstr(d.text, "resolve slow.test:9|spawn_blocking (running") != 0);
    CHECK_EQ(LOAD_(&stub.finished), 0); /* the drop did not wait for the job */
    CHECK(r1->job.detached);
    free(r1);
    free(r2);
    free(out1);
    free(out2);
    STORE_(&stub.release, 1);
    blocking_pool_shutdown(&pool, BLOCKING_POOL_DRAIN); /* the job ends, frees its request */
    CHECK_EQ(LOAD_(&stub.gave_up), 0);
    CHECK_EQ(LOAD_(&stub.calls), 1); /* r2 never ran */
    CHECK_EQ(blocking_pool_stats(&pool).cancelled, 1);
    teardown();
}

/* The other order of the hand-off: the detached job lets go first, the
 * drop frees (valgrind: no leak, no double free). */
static void test_resolve_drop_job_first(void) {
    io_resolve_t r;
    io_addr_t out[1], a;
    drive_t d;
    setup();
    stub_set("slow.test");
    io_addr_parse(&a, "127.0.0.1", 9);
    stub_add(&a);
    stub.block = 1;
    io_resolve_init(&r, &pool, "slow.test", 9, out, 1);
    r.resolver = stub_resolve;
    r.resolver_ctx = &stub;
    ran_before = blocking_pool_stats(&pool).ran;
    letgo_job_first = 1;
    CHECK_EQ(drive(&d, &r.fut, 0, stub_entered1), 0);
    CHECK(r.job.detached);
    CHECK_EQ(LOAD_(&stub.finished), 1);
    teardown();
}

/* Done on the pool but never polled again, then dropped: the request is
 * the future's to free. */
static int job_done(void);
static io_resolve_t *done_r;
static int job_done(void) { return EXEC_LOAD_(&done_r->job.state) == BLOCKING_DONE_; }

static void test_resolve_drop_done_unseen(void) {
    io_resolve_t r;
    io_addr_t out[1], a;
    drive_t d;
    memset(out, 0, sizeof out);
    setup();
    stub_set("quick.test");
    io_addr_parse(&a, "127.0.0.1", 9);
    stub_add(&a);
    io_resolve_init(&r, &pool, "quick.test", 9, out, 1);
    r.resolver = stub_resolve;
    r.resolver_ctx = &stub;
    done_r = &r;
    CHECK_EQ(drive(&d, &r.fut, 0, job_done), 0);
    CHECK(!r.job.detached);
    CHECK_EQ(out[0].len, 0); /* nothing copied: dropped */
    CHECK_EQ(future_err(&r.fut), -ECANCELED);
    teardown();
}

/* ---- connect by name --------------------------------------------------------- */

/* The name through getaddrinfo: "localhost" to a listener on 127.0.0.1
 * (an ::1 that localhost may also name refuses first: happy eyeballs
 * moves on at once). */
static void test_connect_localhost(void) {
    io_connect_name_t c;
    io_fd_t f;
    io_addr_t a;
    int lis;
    setup();
    lis = live(&a, 0);
    io_connect_name_init(&c, &f, &pool, "localhost", io_addr_port(&a));
    CHECK_EQ(run1(&c.fut), 0);
    CHECK(io_fd_is_open(&f));
    CHECK(same_addr(&c.addr, &a));
    CHECK(accept_one(lis));
    io_fd_close(&f);
    teardown();
}

/* A numeric host: no pool, one attempt, f open at once. */
static void test_connect_numeric(void) {
    io_connect_name_t c;
    io_fd_t f;
    io_addr_t a, peer;
    int lis;
    setup();
    lis = live(&a, 0);
    io_connect_name_init(&c, &f, 0, "127.0.0.1", io_addr_port(&a));
    CHECK_EQ(run1(&c.fut), 0);
    CHECK_EQ(run_at, t0);
    CHECK_EQ(c.attempts, 1);
    CHECK(same_addr(&c.addr, &a));
    CHECK_EQ(io_peer_addr(&f, &peer), 0);
    CHECK(same_addr(&peer, &a));
    CHECK(accept_one(lis));
    io_fd_close(&f);
    /* a resolve error is the future's */
    io_connect_name_init(&c, &f, 0, "127.0.0.1", 99999);
    CHECK_EQ(run1(&c.fut), -EINVAL);
    CHECK(!io_fd_is_open(&f));
    teardown();
}

static void use_stub(io_connect_name_t *c) {
    c->resolver = stub_resolve;
    c->resolver_ctx = &stub;
}

/* IPv6 first, refused at once: IPv4 starts at once, not after the delay,
 * and wins (in slot 1: moved to f). */
static void test_he_fail_fast(void) {
    io_connect_name_t c;
    io_fd_t f;
    io_addr_t v4, v6, peer;
    int lis, before;
    if (!have6) return;
    setup();
    stub_set("dual.test");
    lis = live(&v4, 0);
    refused(&v6, 1);
    stub_add(&v4); /* the resolver's order: v4 first; v6 is tried first */
    stub_add(&v6);
    before = check_open_fds();
    io_connect_name_init(&c, &f, &pool, "dual.test", 1);
    use_stub(&c);
    CHECK_EQ(run1(&c.fut), 0);
    CHECK_EQ(run_at, t0);
    CHECK_EQ(c.attempts, 2);
    CHECK(same_addr(&c.addr, &v4));
    CHECK_EQ(io_peer_addr(&f, &peer), 0);
    CHECK(same_addr(&peer, &v4));
    CHECK_EQ(check_open_fds(), before + 1); /* f alone */
    CHECK(accept_one(lis));
    io_fd_close(&f);
    teardown();
}

/* IPv6 first, hanging: IPv4 starts exactly the delay later and wins; the
 * hanging attempt is closed. */
static void test_he_delay(void) {
    static const uint64_t delays[2] = {IO_CONNECT_DELAY_MS * TIMER_MS, 100 * TIMER_MS};
    io_connect_name_t c;
    io_fd_t f;
    io_addr_t v4, v6;
    int lis, before, i;
    if (!have6) return;
    setup();
    stub_set("dual.test");
    lis = live(&v4, 0);
    hangs(&v6, 1);
    stub_add(&v4);
    stub_add(&v6);
    for (i = 0; i < 2; i++) {
        uint64_t start = exec_now(&ex);
        before = check_open_fds();
        io_connect_name_init(&c, &f, &pool, "dual.test", 1);
        use_stub(&c);
        if (i) c.delay_ns = delays[i];
        CHECK_EQ(run1(&c.fut), 0);
        CHECK_EQ(run_at - start, delays[i]);
        CHECK_EQ(c.attempts, 2);
        CHECK(same_addr(&c.addr, &v4));
        CHECK_EQ(check_open_fds(), before + 1);
        CHECK(accept_one(lis));
        io_fd_close(&f);
    }
    teardown();
}

/* The order: the resolver says v4a v4b v6a v6b; happy eyeballs tries v6a
 * v4a v6b v4b. Only v6b answers: the third attempt, at 2 delays. */
static void test_he_interleave(void) {
    io_connect_name_t c;
    io_fd_t f;
    io_addr_t v4a, v4b, v6a, v6b;
    int lis, before;
    if (!have6) return;
    setup();
    stub_set("four.test");
    hangs(&v4a, 0);
    hangs(&v4b, 0);
    hangs(&v6a, 1);
    lis = live(&v6b, 1);
    stub_add(&v4a);
    stub_add(&v4b);
    stub_add(&v6a);
    stub_add(&v6b);
    before = check_open_fds();
    io_connect_name_init(&c, &f, &pool, "four.test", 1);
    use_stub(&c);
    CHECK_EQ(run1(&c.fut), 0);
    CHECK_EQ(run_at - t0, 2 * IO_CONNECT_DELAY_MS * TIMER_MS);
    CHECK_EQ(c.attempts, 3);
    CHECK(same_addr(&c.addr, &v6b));
    CHECK_EQ(check_open_fds(), before + 1);
    CHECK(accept_one(lis));
    io_fd_close(&f);
    teardown();
}

/* A failure while another attempt is in flight starts the next at once:
 * A hangs (0 ms), B refuses (250 ms: at once), so C starts at 250 ms,
 * not at 500. */
static void test_he_fail_while_in_flight(void) {
    io_connect_name_t c;
    io_fd_t f;
    io_addr_t a, b, ok;
    int lis;
    setup();
    stub_set("abc.test");
    hangs(&a, 0);
    refused(&b, 0);
    lis = live(&ok, 0);
    stub_add(&a);
    stub_add(&b);
    stub_add(&ok);
    io_connect_name_init(&c, &f, &pool, "abc.test", 1);
    use_stub(&c);
    CHECK_EQ(run1(&c.fut), 0);
    CHECK_EQ(run_at - t0, IO_CONNECT_DELAY_MS * TIMER_MS);
    CHECK_EQ(c.attempts, 3);
    CHECK(same_addr(&c.addr, &ok));
    CHECK(accept_one(lis));
    io_fd_close(&f);
    teardown();
}

/* A failure in the middle of the delay: A (slot 0: f's socket) hangs
 * until a second task shuts its socket down at 100 ms (ECONNRESET); B
 * starts then, and the delay restarts from there: C at 350 ms. */
typedef struct {
    future_t fut;
    timer_sleep_t nap;
    io_fd_t *f;
    int rc;
} killer_t;

static coro_poll_t killer_poll(future_t *self, future_cx_t *cx) {
    killer_t *k = (killer_t *)(void *)self;
    ASYNC_BEGIN(k);
    timer_sleep_init(&k->nap, 100 * TIMER_MS);
    AWAIT(cx, &k->nap);
    k->rc = shutdown(io_fd_get(k->f), SHUT_RDWR);
    ASYNC_END();
}

typedef struct {
    future_t fut;
    io_connect_name_t *c;
    killer_t k;
    uint64_t at;
} both_t;

static coro_poll_t both_poll(future_t *self, future_cx_t *cx) {
    both_t *b = (both_t *)(void *)self;
    ASYNC_BEGIN(b);
    JOIN(cx, &b->c->fut, &b->k.fut);
    ASYNC_END();
}

static void test_he_fail_mid_delay(void) {
    io_connect_name_t c;
    io_fd_t f;
    io_addr_t a, b, ok;
    both_t both;
    int lis;
    setup();
    stub_set("mid.test");
    hangs(&a, 0);
    hangs(&b, 0);
    lis = live(&ok, 0);
    stub_add(&a);
    stub_add(&b);
    stub_add(&ok);
    io_connect_name_init(&c, &f, &pool, "mid.test", 1);
    use_stub(&c);
    memset(&both, 0, sizeof both);
    future_init(&both.fut, both_poll, 0);
    both.c = &c;
    both.k.f = &f;
    future_init(&both.k.fut, killer_poll, 0);
    CHECK_EQ(run1(&both.fut), 0);
    CHECK_EQ(both.k.rc, 0);
    CHECK_EQ(future_err(&c.fut), 0);
    CHECK_EQ(run_at - t0, (100 + IO_CONNECT_DELAY_MS) * TIMER_MS);
    CHECK_EQ(c.attempts, 3);
    CHECK(same_addr(&c.addr, &ok));
    CHECK(accept_one(lis));
    io_fd_close(&f);
    teardown();
}

/* One family only: the resolver's order, one delay apart. */
static void test_he_one_family(void) {
    io_connect_name_t c;
    io_fd_t f;
    io_addr_t h1, h2, ok;
    int lis;
    setup();
    stub_set("v4.test");
    hangs(&h1, 0);
    hangs(&h2, 0);
    lis = live(&ok, 0);
    stub_add(&h1);
    stub_add(&h2);
    stub_add(&ok);
    io_connect_name_init(&c, &f, &pool, "v4.test", 1);
    use_stub(&c);
    CHECK_EQ(run1(&c.fut), 0);
    CHECK_EQ(run_at - t0, 2 * IO_CONNECT_DELAY_MS * TIMER_MS);
    CHECK_EQ(c.attempts, 3);
    CHECK(same_addr(&c.addr, &ok));
    CHECK(accept_one(lis));
    io_fd_close(&f);
    teardown();
}

/* Every address refuses: the last failure's error, at once; f closed,
 * nothing left open. An unknown name: the resolver's error. */
static void test_he_all_fail(void) {
    io_connect_name_t c;
    io_fd_t f;
    io_addr_t r1, r2;
    int before;
    setup();
    stub_set("dead.test");
    refused(&r1, have6);
    refused(&r2, 0);
    stub_add(&r1);
    stub_add(&r2);
    before = check_open_fds();
    io_connect_name_init(&c, &f, &pool, "dead.test", 1);
    use_stub(&c);
    CHECK_EQ(run1(&c.fut), -ECONNREFUSED);
    CHECK_EQ(run_at, t0);
    CHECK_EQ(c.attempts, 2);
    CHECK(!io_fd_is_open(&f));
    CHECK_EQ(check_open_fds(), before);
    /* the name unknown: the resolver's error */
    io_connect_name_init(&c, &f, &pool, "nope.test", 1);
    use_stub(&c);
    CHECK_EQ(run1(&c.fut), -ENOENT);
    CHECK_EQ(c.attempts, 0);
    teardown();
}

/* At most IO_CONNECT_MAX_ATTEMPTS in flight: with that many hanging
 * first, the live address after them never starts; timer_timeout ends
 * it, every socket closed. */
static void test_he_max_attempts_timeout(void) {
    io_connect_name_t c;
    timer_timeout_t t;
    io_fd_t f;
    io_addr_t h, ok;
    int i, before;
    setup();
    stub_set("many.test");
    for (i = 0; i < IO_CONNECT_MAX_ATTEMPTS; i++) {
        hangs(&h, 0);
        stub_add(&h);
    }
    (void)live(&ok, 0);
    stub_add(&ok);
    before = check_open_fds();
    io_connect_name_init(&c, &f, &pool, "many.test", 1);
    use_stub(&c);
    timer_timeout_init(&t, &c, 5 * TIMER_SEC);
    CHECK_EQ(run1(&t.fut), -ETIMEDOUT);
    CHECK_EQ(run_at - t0, 5 * TIMER_SEC);
    CHECK_EQ(c.attempts, IO_CONNECT_MAX_ATTEMPTS);
    CHECK(!io_fd_is_open(&f));
    CHECK_EQ(check_open_fds(), before);
    teardown();
}

/* A zero delay starts every attempt at once (up to the limit). */
static void test_he_zero_delay(void) {
    io_connect_name_t c;
    io_fd_t f;
    io_addr_t h1, h2, ok;
    int lis;
    setup();
    stub_set("z.test");
    hangs(&h1, 0);
    hangs(&h2, 0);
    lis = live(&ok, 0);
    stub_add(&h1);
    stub_add(&h2);
    stub_add(&ok);
    io_connect_name_init(&c, &f, &pool, "z.test", 1);
    use_stub(&c);
    c.delay_ns = 0;
    CHECK_EQ(run1(&c.fut), 0);
    CHECK_EQ(run_at, t0);
    CHECK_EQ(c.attempts, 3);
    CHECK(accept_one(lis));
    io_fd_close(&f);
    teardown();
}

/* Dropped with 1, 2, 3 attempts in flight (after 100, 300, 600 ms), by
 * a SELECT against a sleep: every socket closed, f closed, and the frame
 * freed at once while the loop runs on (ASan: nothing points into it). */
static void test_drop_connecting(void) {
    static const uint64_t at[3] = {100, 300, 600};
    io_addr_t h[3];
    int i, before;
    setup();
    stub_set("h.test");
    for (i = 0; i < 3; i++) {
        hangs(&h[i], i == 1 ? 0 : have6);
        stub_add(&h[i]);
    }
    for (i = 0; i < 3; i++) {
        io_connect_name_t *c = (io_connect_name_t *)malloc(sizeof *c);
        io_fd_t *f = (io_fd_t *)malloc(sizeof *f);
        timer_sleep_t nap;
        before = check_open_fds();
        io_connect_name_init(c, f, &pool, "h.test", 1);
        use_stub(c);
        CHECK_EQ(race(&c->fut, at[i]), 1);
        CHECK_EQ(c->attempts, (unsigned)i + 1);
        CHECK(!io_fd_is_open(f));
        CHECK_EQ(check_open_fds(), before);
        free(c);
        free(f);
        timer_sleep_init(&nap, 2 * TIMER_SEC); /* the loop runs on */
        CHECK_EQ(run1(&nap.fut), 0);
    }
    teardown();
}

/* Dropped while resolving: the lookup's drop (detached job), nothing
 * opened; exec_dump's words at both points. */
static int one_in_flight(void);
static io_connect_name_t *watch_c;
static int one_in_flight(void) { return watch_c->nlive == 1; }
static int two_in_flight(void) { return watch_c->nlive >= 2; }

static void test_drop_resolving_and_describe(void) {
    io_connect_name_t *c = (io_connect_name_t *)malloc(sizeof *c);
    io_fd_t f;
    io_addr_t h;
    drive_t d;
    int before;
    setup();
    stub_set("slow.test");
    hangs(&h, 0);
    stub_add(&h);
    stub.block = 1;
    before = check_open_fds();
    io_connect_name_init(c, &f, &pool, "slow.test", 443);
    use_stub(c);
    CHECK_EQ(drive(&d, &c->fut, 0, stub_entered1), 0);
    CHECK(strstr(d.text, "connect_name slow.test:443 (resolving)|resolve slow.test:443|"
                         "spawn_blocking (running") != 0);
    CHECK(!io_fd_is_open(&f));
    free(c);
    STORE_(&stub.release, 1);
    blocking_pool_shutdown(&pool, BLOCKING_POOL_DRAIN);
    CHECK_EQ(LOAD_(&stub.gave_up), 0);
    CHECK_EQ(check_open_fds(), before);
    teardown();

    /* with an attempt in flight: its words (host 0 is 127.0.0.1) */
    setup();
    hangs(&h, 0);
    {
        io_connect_name_t c2;
        io_connect_name_init(&c2, &f, 0, 0, io_addr_port(&h));
        watch_c = &c2;
        CHECK_EQ(drive(&d, &c2.fut, 0, one_in_flight), 0);
        CHECK(strstr(d.text, "connect_name 127.0.0.1:") != 0);
        CHECK(strstr(d.text, "(1 attempt in flight, 1 of 1 addresses tried)|connect fd") != 0);
    }
    teardown();

    /* two in flight, a third waiting for the delay's sleep */
    setup();
    stub_set("h3.test");
    hangs(&h, 0);
    stub_add(&h);
    stub_add(&h);
    stub_add(&h);
    {
        io_connect_name_t c3;
        io_connect_name_init(&c3, &f, &pool, "h3.test", 1);
        use_stub(&c3);
        watch_c = &c3;
        CHECK_EQ(race(&c3.fut, 300), 1); /* two started: 0 and 250 ms */
        CHECK_EQ(c3.attempts, 2);
        io_connect_name_init(&c3, &f, &pool, "h3.test", 1);
        use_stub(&c3);
        c3.delay_ns = 0;
        CHECK_EQ(drive_ex(&d, &c3.fut, 0, two_in_flight, 1), 0);
        CHECK(!d.ready);
        CHECK(strstr(d.text, "(3 attempts in flight, 3 of 3 addresses tried)") != 0);
    }
    teardown();
}

/* The winner in slot 1 (slot 0 hangs: a failed slot 0 would be reused)
 * cannot be registered as f: that error, and every socket closed. */
static void test_win_register_fails(void) {
    io_connect_name_t c;
    io_fd_t f;
    io_addr_t v4, v6;
    int before;
    setup();
    stub_set("dual.test");
    (void)live(&v4, 0);
    hangs(&v6, have6);
    stub_add(&v6); /* tried first (IPv6, or the first of two IPv4) */
    stub_add(&v4);
    before = check_open_fds();
    io_connect_name_init(&c, &f, &pool, "dual.test", 1);
    use_stub(&c);
    fault_arm(&f_register, 2, 1, ENOMEM); /* both attempts, then the move */
    CHECK_EQ(run1(&c.fut), -ENOMEM);
    CHECK_EQ(f_register.hits, 1);
    CHECK(!io_fd_is_open(&f));
    CHECK_EQ(check_open_fds(), before + 0);
    teardown();
}

int main(void) {
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    io_addr_t a;
    signal(SIGPIPE, SIG_IGN);
    loop_addr(&a, 1);
    have6 = s >= 0 && bind(s, (struct sockaddr *)(void *)&a.ss, a.len) == 0;
    if (s >= 0) close(s);
    if (!have6) printf("(no ::1 here: the IPv6 cases are skipped)\n");
    RUN(test_eai_errno);
    RUN(test_resolve_numeric);
    RUN(test_resolve_localhost);
    RUN(test_resolve_gai_paths);
    RUN(test_take_keeps_both_families);
    RUN(test_resolve_stub);
    RUN(test_resolve_bad);
    RUN(test_resolve_drop_running_and_queued);
    RUN(test_resolve_drop_job_first);
    RUN(test_resolve_drop_done_unseen);
    RUN(test_connect_localhost);
    RUN(test_connect_numeric);
    RUN(test_he_fail_fast);
    RUN(test_he_delay);
    RUN(test_he_interleave);
    RUN(test_he_fail_while_in_flight);
    RUN(test_he_fail_mid_delay);
    RUN(test_he_one_family);
    RUN(test_he_all_fail);
    RUN(test_he_max_attempts_timeout);
    RUN(test_he_zero_delay);
    RUN(test_drop_connecting);
    RUN(test_drop_resolving_and_describe);
    RUN(test_win_register_fails);
    return check_summary();
}
