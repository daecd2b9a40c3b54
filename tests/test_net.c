/* Tests of io.h's datagrams and Unix domain sockets: UDP over loopback
 * (127.0.0.1, and ::1 where the machine has it), send_to / recv_from and
 * send / recv on a connected socket, truncation, errors as values; Unix
 * stream and datagram sockets by path (in a mkdtemp directory removed at
 * the end) and, on Linux, by abstract name; stale socket files; dropping
 * every datagram future while it waits; and the failure paths, by fault
 * injection (as tests/test_cover_io.c: libc calls renamed to wrappers
 * after every system header). Never the network; time is the paused
 * clock. run.sh builds it for each backend with fds and with -DIO_PORTABLE.
 * No threads: it needs no ThreadSanitizer run.
 */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include "fault.h"

/* ---- fault injection (see tests/fault.h) ---------------------------------- */

static fault_t f_socket, f_socketpair, f_setsockopt, f_bind, f_listen, f_register, f_recvmsg,
    f_sendto, f_lstat, f_fcntl;

#define NET_UNUSED_ __attribute__((unused))
static NET_UNUSED_ int net_socket(int d, int t, int p) {
    return fault_hit(&f_socket) ? -1 : socket(d, t, p);
}
static NET_UNUSED_ int net_socketpair(int d, int t, int p, int sv[2]) {
    return fault_hit(&f_socketpair) ? -1 : socketpair(d, t, p, sv);
}
static NET_UNUSED_ int net_setsockopt(int fd, int l, int o, const void *v, socklen_t n) {
    return fault_hit(&f_setsockopt) ? -1 : setsockopt(fd, l, o, v, n);
}
static NET_UNUSED_ int net_bind(int fd, const struct sockaddr *a, socklen_t n) {
    return fault_hit(&f_bind) ? -1 : bind(fd, a, n);
}
static NET_UNUSED_ int net_listen(int fd, int n) {
    return fault_hit(&f_listen) ? -1 : listen(fd, n);
}
/* The registration with the reactor: epoll_ctl, or the poll backend's fstat. */
static NET_UNUSED_ int net_epoll_ctl(int e, int op, int fd, struct epoll_event *ev) {
    return fault_hit(&f_register) ? -1 : epoll_ctl(e, op, fd, ev);
}
static NET_UNUSED_ int net_fstat(int fd, struct stat *st) {
    return fault_hit(&f_register) ? -1 : fstat(fd, st);
}
static NET_UNUSED_ ssize_t net_recvmsg(int fd, struct msghdr *m, int fl) {
    return fault_hit(&f_recvmsg) ? -1 : recvmsg(fd, m, fl);
}
static NET_UNUSED_ ssize_t net_sendto(int fd, const void *b, size_t n, int fl,
                                      const struct sockaddr *a, socklen_t al) {
    return fault_hit(&f_sendto) ? -1 : sendto(fd, b, n, fl, a, al);
}
static NET_UNUSED_ int net_lstat(const char *p, struct stat *st) {
    return fault_hit(&f_lstat) ? -1 : lstat(p, st);
}
static NET_UNUSED_ int net_fcntl(int fd, int cmd, ...) {
    int arg = 0, with_arg = cmd == F_SETFL || cmd == F_SETFD;
    va_list ap;
    va_start(ap, cmd);
    if (with_arg) arg = va_arg(ap, int);
    va_end(ap);
    if (cmd == F_SETFL && fault_hit(&f_fcntl)) return -1; /* only F_SETFL fails */
    return with_arg ? fcntl(fd, cmd, arg) : fcntl(fd, cmd);
}

#define socket(...) net_socket(__VA_ARGS__)
#define socketpair(...) net_socketpair(__VA_ARGS__)
#define setsockopt(...) net_setsockopt(__VA_ARGS__)
#define bind(...) net_bind(__VA_ARGS__)
#define listen(...) net_listen(__VA_ARGS__)
#define epoll_ctl(...) net_epoll_ctl(__VA_ARGS__)
#define recvmsg(...) net_recvmsg(__VA_ARGS__)
#define sendto(...) net_sendto(__VA_ARGS__)
#define lstat(...) net_lstat(__VA_ARGS__)
#define fcntl(...) net_fcntl(__VA_ARGS__)
#ifdef EXEC_BACKEND_POLL
#define fstat(...) net_fstat(__VA_ARGS__)
#endif

#include "../io.h"
#include "paused.h"

static fault_t *const all_faults[] = {&f_socket, &f_socketpair, &f_setsockopt, &f_bind,
                                      &f_listen, &f_register, &f_recvmsg, &f_sendto,
                                      &f_lstat, &f_fcntl};

static void faults_off(void) {
    size_t i;
    for (i = 0; i < sizeof all_faults / sizeof all_faults[0]; i++)
        memset(all_faults[i], 0, sizeof *all_faults[i]);
}

/* ---- the executor, little futures ----------------------------------------- */

static exec_t ex;
static uint64_t t0;
static char dir[64]; /* the Unix sockets' mkdtemp directory */

static void setup(void) {
    faults_off();
    if (exec_init(&ex)) abort();
    ex.log = 0;
    exec_clock_pause(&ex);
    t0 = exec_now(&ex);
}

static void teardown(void) {
    faults_off();
    exec_destroy(&ex);
}

static uint64_t run_at; /* when the last run1's child finished */
static int run1(future_t *child) { return paused_run1_at(&ex, child, &run_at); }
static int race(future_t *child, uint64_t ms) { return paused_race(&ex, child, ms); }

static int send_raw(int fd, const char *data, const io_addr_t *to) {
    size_t n = strlen(data);
    if (!to) return (int)send(fd, data, n, MSG_NOSIGNAL);
    return (int)sendto(fd, data, n, 0, (const struct sockaddr *)(const void *)&to->ss, to->len);
}

/* Sends a datagram from raw fd to addr (0: its peer) after ms. */
typedef struct {
    future_t fut;
    int fd;
    const io_addr_t *to;
    const char *data;
    uint64_t ms;
    timer_sleep_t nap;
} later_t;
static coro_poll_t later_poll(future_t *self, future_cx_t *cx) {
    later_t *f = (later_t *)(void *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    if (send_raw(f->fd, f->data, f->to) < 0) ASYNC_RETURN(-EIO);
    ASYNC_END();
}
static void later_init(later_t *f, int fd, const char *data, const io_addr_t *to, uint64_t ms) {
    future_init(&f->fut, later_poll, 0);
    f->fd = fd;
    f->data = data;
    f->to = to;
    f->ms = ms;
}


static void settle(void) { /* run the loop a little: events get dispatched */
    timer_sleep_t s;
    timer_sleep_init(&s, TIMER_MS);
    exec_block_on(&ex, &s.fut);
}

/* What a frame's description function says of it (exec_dump's words). */
static char said_buf[512];
static const char *said_by(void (*fn)(const future_t *, future_fmt_t *), const void *f) {
    future_fmt_t o = {said_buf, sizeof said_buf, 0, 0, 0};
    said_buf[0] = 0;
    fn((const future_t *)f, &o);
    return said_buf;
}

static const char *addr_said(const io_addr_t *a) {
    future_fmt_t o = {said_buf, sizeof said_buf, 0, 0, 0};
    said_buf[0] = 0;
    io_fmt_addr_(&o, a);
    return said_buf;
}

/* A UDP socket bound to host port 0, its address; -1 when host is missing. */
static int udp_on(io_fd_t *f, const char *host, io_addr_t *a) {
    if (io_addr_parse(a, host, 0)) return -1;
    if (io_dgram_bind(f, &ex, a, 0)) return -1;
    return io_local_addr(f, a);
}

/* path inside the test directory */
static const char *in_dir(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/%s", dir, name);
    return buf;
}

/* ---- UDP ------------------------------------------------------------------ */

static void test_udp_send_to_recv_from_v4_v6(void) {
    const char *hosts[2] = {"127.0.0.1", "::1"};
    int i;
    for (i = 0; i < 2; i++) {
        io_fd_t a, b;
        io_addr_t aa, ba;
        io_send_to_t s;
        io_recv_from_t r;
        char buf[16];
        setup();
        if (udp_on(&a, hosts[i], &aa) < 0 && i == 1) { /* no IPv6 here */
            teardown();
            continue;
        }
        CHECK_EQ(udp_on(&b, hosts[i], &ba), 0);
        CHECK(io_addr_port(&aa) > 0);
        io_send_to_init(&s, &a, "ping", 4, &ba);
        CHECK_EQ(run1(&s.fut), 0);
        CHECK_EQ(s.n, 4);
        io_recv_from_init(&r, &b, buf, sizeof buf);
        CHECK_EQ(run1(&r.fut), 0);
        CHECK_EQ(r.n, 4);
        CHECK(memcmp(buf, "ping", 4) == 0);
        CHECK_EQ(r.truncated, 0);
        CHECK_EQ(r.peer.ss.ss_family, aa.ss.ss_family);
        CHECK_EQ(io_addr_port(&r.peer), io_addr_port(&aa));
        /* Answer the sender at the address recv_from gave. */
        io_send_to_init(&s, &b, "pong", 4, &r.peer);
        CHECK_EQ(run1(&s.fut), 0);
        io_recv_from_init(&r, &a, buf, sizeof buf);
        CHECK_EQ(run1(&r.fut), 0);
        CHECK_EQ(r.n, 4);
        CHECK(memcmp(buf, "pong", 4) == 0);
        CHECK_EQ(io_addr_port(&r.peer), io_addr_port(&ba));
        io_fd_close(&a);
        io_fd_close(&b);
        CHECK_EQ(ex.nio, 0);
        teardown();
    }
}

/* recv_from waits for the reactor's edge: it finishes when the datagram
 * comes (30 ms on the paused clock), not before. */
static void test_udp_recv_from_waits(void) {
    io_fd_t b;
    io_addr_t ba;
    io_recv_from_t r;
    later_t w;
    exec_task_t tw = {0};
    int raw = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    char buf[8];
    setup();
    CHECK_EQ(udp_on(&b, "127.0.0.1", &ba), 0);
    later_init(&w, raw, "late", &ba, 30);
    exec_spawn(&tw, &ex, &w.fut);
    io_recv_from_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(run_at - t0, 30 * TIMER_MS);
    CHECK_EQ(r.n, 4);
    CHECK(exec_task_done(&tw));
    close(raw);
    io_fd_close(&b);
    teardown();
}

/* A datagram longer than the buffer: the buffer's worth, truncated set,
 * the rest gone (the next recv gets the next datagram). An empty datagram
 * is n == 0, not an end. */
static void test_udp_truncation_and_empty_datagrams(void) {
    io_fd_t a, b;
    io_addr_t aa, ba;
    io_send_to_t s;
    io_recv_from_t r;
    char buf[4];
    setup();
    CHECK_EQ(udp_on(&a, "127.0.0.1", &aa), 0);
    CHECK_EQ(udp_on(&b, "127.0.0.1", &ba), 0);
    io_send_to_init(&s, &a, "0123456789", 10, &ba);
    CHECK_EQ(run1(&s.fut), 0);
    io_send_to_init(&s, &a, "", 0, &ba);
    CHECK_EQ(run1(&s.fut), 0);
    io_send_to_init(&s, &a, "ab", 2, &ba);
    CHECK_EQ(run1(&s.fut), 0);
    io_send_to_init(&s, &a, "cd", 2, &ba);
    CHECK_EQ(run1(&s.fut), 0);
    io_recv_from_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 4);
    CHECK_EQ(r.truncated, 1);
    CHECK(memcmp(buf, "0123", 4) == 0);
    io_recv_from_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 0); /* the empty one */
    CHECK_EQ(r.truncated, 0);
    io_recv_from_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 2);
    CHECK_EQ(r.truncated, 0);
    CHECK(memcmp(buf, "ab", 2) == 0);
    /* A short datagram did not drain the socket (as a short read of a
     * stream would): the next one is taken without waiting for an edge. */
    io_recv_from_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(race(&r.fut, 5), 0);
    CHECK_EQ(r.n, 2);
    CHECK(memcmp(buf, "cd", 2) == 0);
    io_fd_close(&a);
    io_fd_close(&b);
    teardown();
}

/* Connected: send / recv need no address, and the kernel drops datagrams
 * from anyone else. */
static void test_udp_connected_send_recv(void) {
    io_fd_t a, b, c;
    io_addr_t aa, ba, ca;
    io_send_t s;
    io_recv_t r;
    io_send_to_t st;
    char buf[8];
    setup();
    CHECK_EQ(udp_on(&a, "127.0.0.1", &aa), 0);
    CHECK_EQ(udp_on(&b, "127.0.0.1", &ba), 0);
    CHECK_EQ(udp_on(&c, "127.0.0.1", &ca), 0);
    CHECK_EQ(io_dgram_connect(&a, &ba), 0);
    CHECK_EQ(io_dgram_connect(&b, &aa), 0);
    CHECK_EQ(io_peer_addr(&a, &ca), 0);
    CHECK_EQ(io_addr_port(&ca), io_addr_port(&ba));
    io_send_to_init(&st, &c, "stranger", 8, &ba); /* filtered out */
    CHECK_EQ(run1(&st.fut), 0);
    io_send_init(&s, &a, "hi", 2);
    CHECK_EQ(run1(&s.fut), 0);
    CHECK_EQ(s.n, 2);
    io_recv_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 2);
    CHECK(memcmp(buf, "hi", 2) == 0);
    CHECK_EQ(r.peer.len, 0); /* recv fills no address */
    io_fd_close(&a);
    io_fd_close(&b);
    io_fd_close(&c);
    teardown();
}

/* Errors are values: a connected UDP socket whose peer port is closed gets
 * -ECONNREFUSED (the ICMP answer), a datagram too big -EMSGSIZE, a send
 * without an address on an unconnected socket -EDESTADDRREQ, a closed
 * handle -EBADF. */
static void test_udp_errors_are_values(void) {
    io_fd_t a, gone;
    io_addr_t aa, ga;
    io_send_t s;
    io_recv_t r;
    io_send_to_t st;
    char buf[8];
    char *big = (char *)calloc(1, 70000);
    setup();
    CHECK_EQ(udp_on(&gone, "127.0.0.1", &ga), 0);
    io_fd_close(&gone); /* its port is free now */
    CHECK_EQ(udp_on(&a, "127.0.0.1", &aa), 0);
    io_send_init(&s, &a, "x", 1);
    CHECK_EQ(run1(&s.fut), -EDESTADDRREQ);
    io_send_to_init(&st, &a, big, 70000, &aa);
    CHECK_EQ(run1(&st.fut), -EMSGSIZE);
    CHECK_EQ(io_dgram_connect(&a, &ga), 0);
    io_send_init(&s, &a, "x", 1);
    CHECK_EQ(run1(&s.fut), 0);
    io_recv_init(&r, &a, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), -ECONNREFUSED);
    io_fd_close(&a);
    io_recv_init(&r, &a, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), -EBADF);
    CHECK_EQ(io_dgram_connect(&a, &ga), -EBADF);
    CHECK_EQ(io_peer_addr(&a, &ga), -EBADF);
    free(big);
    teardown();
}

/* ---- Unix addresses ------------------------------------------------------- */

static void test_unix_addresses(void) {
    io_addr_t a;
    char path[200];
    struct sockaddr_un un;
    size_t max = sizeof un.sun_path - 1; /* the longest path: its NUL fills it */
    memset(path, 'p', sizeof path);
    path[max] = 0;
    CHECK_EQ(io_addr_unix(&a, path), 0);
    CHECK_EQ(a.ss.ss_family, AF_UNIX);
    CHECK_EQ(a.len, offsetof(struct sockaddr_un, sun_path) + max + 1);
    CHECK_EQ(io_addr_port(&a), -1);
    path[max] = 'p';
    path[max + 1] = 0;
    CHECK_EQ(io_addr_unix(&a, path), -ENAMETOOLONG);
    CHECK_EQ(io_addr_unix(&a, ""), -EINVAL);
    CHECK_EQ(io_addr_unix(&a, "@"), -EINVAL);
    path[0] = '@'; /* "@" and max + 1 more: the name fills sun_path after its NUL */
#ifdef __linux__
    CHECK_EQ(io_addr_unix(&a, path), 0);
    CHECK_EQ(a.len, offsetof(struct sockaddr_un, sun_path) + max + 1);
    CHECK_EQ(((struct sockaddr_un *)(void *)&a.ss)->sun_path[0], 0);
    path[max + 1] = 'p';
    path[max + 2] = 0;
    CHECK_EQ(io_addr_unix(&a, path), -ENAMETOOLONG);
    CHECK_EQ(io_addr_unix(&a, "@x"), 0);
    CHECK_EQ(a.len, offsetof(struct sockaddr_un, sun_path) + 2);
#else
    CHECK_EQ(io_addr_unix(&a, "@x"), -EINVAL);
#endif
    CHECK_EQ(io_addr_unix(&a, "./@x"), 0); /* a path that starts with '@' */
}

/* ---- Unix stream sockets -------------------------------------------------- */

/* listen / connect / accept by addr; an echo both ways. */
static void unix_stream_round(const io_addr_t *addr, const char *want_to) {
    io_fd_t lis, cli, srv;
    io_connect_t c;
    io_accept_t acc;
    io_write_all_t w;
    io_read_exact_t r;
    io_addr_t la;
    exec_task_t tc = {0};
    char buf[8], want[256];
    CHECK_EQ(io_listen(&lis, &ex, addr, 8, 0), 0);
    CHECK_EQ(io_local_addr(&lis, &la), 0);
    CHECK_EQ(la.len, addr->len);
    CHECK(memcmp(&la.ss, &addr->ss, addr->len) == 0);
    io_connect_init(&c, &cli, addr);
    exec_spawn(&tc, &ex, &c.fut);
    io_accept_init(&acc, &lis);
    CHECK_EQ(run1(&acc.fut), 0);
    CHECK_EQ(acc.peer.ss.ss_family, AF_UNIX); /* an unnamed client */
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(future_err(&c.fut), 0);
    CHECK_EQ(io_fd_open(&srv, &ex, acc.fd), 0);
    CHECK(srv.flags & IO_FD_STREAM_);
    CHECK(cli.flags & IO_FD_STREAM_);
    io_write_all_init(&w, &cli, "hello!", 6);
    CHECK_EQ(run1(&w.fut), 0);
    io_read_exact_init(&r, &srv, buf, 6);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK(memcmp(buf, "hello!", 6) == 0);
    io_write_all_init(&w, &srv, "back", 4);
    CHECK_EQ(run1(&w.fut), 0);
    io_read_exact_init(&r, &cli, buf, 4);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK(memcmp(buf, "back", 4) == 0);
    /* What a waiting connect to it says (exec_dump's words) */
    {
        io_fd_t c2;
        io_connect_t cc;
        io_connect_init(&cc, &c2, addr);
        snprintf(want, sizeof want, "(closed fd) to %s", want_to);
        CHECK(strcmp(said_by(io_connect_describe_, &cc.fut), want) == 0);
    }
    io_fd_close(&srv);
    io_fd_close(&cli);
    io_fd_close(&lis);
    CHECK_EQ(ex.nio, 0);
}

static void test_unix_stream_by_path(void) {
    io_addr_t a;
    char path[128];
    struct stat st;
    setup();
    CHECK_EQ(io_addr_unix(&a, in_dir(path, sizeof path, "s.sock")), 0);
    unix_stream_round(&a, path);
    /* Closing leaves the file (as tokio): a second listen finds it. */
    CHECK_EQ(lstat(path, &st), 0);
    CHECK(S_ISSOCK(st.st_mode));
    {
        io_fd_t lis;
        CHECK_EQ(io_listen(&lis, &ex, &a, 8, 0), -EADDRINUSE);
        CHECK(!io_fd_is_open(&lis));
        CHECK_EQ(io_listen(&lis, &ex, &a, 8, IO_UNLINK), 0); /* the stale file goes */
        io_fd_close(&lis);
    }
    CHECK_EQ(unlink(path), 0);
    teardown();
}

#ifdef __linux__
static void test_unix_stream_abstract(void) {
    io_addr_t a;
    char name[64];
    setup();
    snprintf(name, sizeof name, "@weft-test-net-%d", (int)getpid());
    CHECK_EQ(io_addr_unix(&a, name), 0);
    unix_stream_round(&a, name);
    teardown();
}
#endif

/* Connecting: no file -ENOENT, a stale socket file -ECONNREFUSED, a full
 * backlog -EAGAIN at once on Linux (as tokio); IO_UNLINK removes only a
 * socket file, IO_REUSEPORT means nothing for a path (-EINVAL). */
static void test_unix_connect_errors_and_stale_files(void) {
    io_addr_t a;
    io_fd_t lis, cli;
    io_connect_t c;
    char path[128];
    int fd;
    setup();
    CHECK_EQ(io_addr_unix(&a, in_dir(path, sizeof path, "e.sock")), 0);
    io_connect_init(&c, &cli, &a);
    CHECK_EQ(run1(&c.fut), -ENOENT);
    CHECK(!io_fd_is_open(&cli));
    CHECK_EQ(io_listen(&lis, &ex, &a, 0, IO_REUSEPORT), -EINVAL);
    CHECK_EQ(io_listen(&lis, &ex, &a, 0, 0), 0);
#ifdef __linux__
    { /* backlog 0 holds one connection; the next is refused with EAGAIN */
        io_fd_t c1;
        io_connect_init(&c, &c1, &a);
        CHECK_EQ(run1(&c.fut), 0);
        io_connect_init(&c, &cli, &a);
        CHECK_EQ(run1(&c.fut), -EAGAIN);
        io_fd_close(&c1);
    }
#endif
    io_fd_close(&lis);
    io_connect_init(&c, &cli, &a);
    CHECK_EQ(run1(&c.fut), -ECONNREFUSED); /* the file outlived the listener */
    CHECK_EQ(unlink(path), 0);
    fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600); /* not a socket */
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ(io_listen(&lis, &ex, &a, 8, IO_UNLINK), -EADDRINUSE);
    CHECK_EQ(access(path, F_OK), 0); /* left alone */
    CHECK_EQ(unlink(path), 0);
    CHECK_EQ(io_listen(&lis, &ex, &a, 8, IO_UNLINK), 0); /* nothing there: fine */
    io_fd_close(&lis);
    CHECK_EQ(unlink(path), 0);
    CHECK_EQ(ex.nio, 0);
    teardown();
}

/* ---- Unix datagram sockets ------------------------------------------------ */

static void unix_dgram_round(const char *pa, const char *pb) {
    io_addr_t aa, ba;
    io_fd_t a, b, u;
    io_send_to_t s;
    io_recv_from_t r;
    char buf[4];
    CHECK_EQ(io_addr_unix(&aa, pa), 0);
    CHECK_EQ(io_addr_unix(&ba, pb), 0);
    CHECK_EQ(io_dgram_bind(&a, &ex, &aa, IO_UNLINK), 0);
    CHECK_EQ(io_dgram_bind(&b, &ex, &ba, IO_UNLINK), 0);
    CHECK(!(a.flags & IO_FD_STREAM_));
    io_send_to_init(&s, &a, "hello", 5, &ba);
    CHECK_EQ(run1(&s.fut), 0);
    CHECK_EQ(s.n, 5);
    io_recv_from_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 4);
    CHECK_EQ(r.truncated, 1);
    CHECK(memcmp(buf, "hell", 4) == 0);
    CHECK_EQ(r.peer.len, aa.len); /* the sender's name: answer it */
    CHECK(memcmp(&r.peer.ss, &aa.ss, aa.len) == 0);
    CHECK(strcmp(addr_said(&r.peer), pa) == 0);
    /* From an unbound socket: an unnamed sender */
    CHECK_EQ(io_dgram_open(&u, &ex, AF_UNIX), 0);
    io_send_to_init(&s, &u, "u", 1, &ba);
    CHECK_EQ(run1(&s.fut), 0);
    io_recv_from_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 1);
    CHECK(r.peer.len <= offsetof(struct sockaddr_un, sun_path));
    CHECK(strcmp(addr_said(&r.peer), "(unnamed)") == 0);
    io_fd_close(&u);
    io_fd_close(&a);
    io_fd_close(&b);
    CHECK_EQ(ex.nio, 0);
}

static void test_unix_dgram_by_path(void) {
    char pa[128], pb[128];
    setup();
    unix_dgram_round(in_dir(pa, sizeof pa, "a.dgram"), in_dir(pb, sizeof pb, "b.dgram"));
    CHECK_EQ(unlink(pa), 0); /* closing left the files */
    CHECK_EQ(unlink(pb), 0);
    teardown();
}

#ifdef __linux__
static void test_unix_dgram_abstract(void) {
    char pa[64], pb[64];
    setup();
    snprintf(pa, sizeof pa, "@weft-net-a-%d", (int)getpid());
    snprintf(pb, sizeof pb, "@weft-net-b-%d", (int)getpid());
    unix_dgram_round(pa, pb);
    teardown();
}
#endif

/* Connected Unix datagrams: io_dgram_connect by path, and socketpairs of
 * both types. A peer gone: -ECONNREFUSED; shut down for writing: -EPIPE
 * and never a SIGPIPE (IO_PORTABLE: through the blocked-SIGPIPE write). */
static void test_unix_connected_and_pairs(void) {
    io_fd_t a, b, u;
    io_addr_t ba;
    io_send_t s;
    io_recv_t r;
    char path[128], buf[8];
    setup();
    CHECK_EQ(io_addr_unix(&ba, in_dir(path, sizeof path, "c.dgram")), 0);
    CHECK_EQ(io_dgram_bind(&b, &ex, &ba, 0), 0);
    CHECK_EQ(io_dgram_open(&u, &ex, AF_UNIX), 0);
    CHECK_EQ(io_dgram_connect(&u, &ba), 0);
    io_send_init(&s, &u, "to b", 4);
    CHECK_EQ(run1(&s.fut), 0);
    io_recv_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 4);
    io_fd_close(&b);
    io_send_init(&s, &u, "to b", 4);
    CHECK_EQ(run1(&s.fut), -ECONNREFUSED);
    io_fd_close(&u);
    CHECK_EQ(unlink(path), 0);
    CHECK_EQ(io_addr_unix(&ba, in_dir(path, sizeof path, "missing")), 0);
    CHECK_EQ(io_dgram_open(&u, &ex, AF_UNIX), 0);
    CHECK_EQ(io_dgram_connect(&u, &ba), -ENOENT);
    io_fd_close(&u);
    /* pairs */
    CHECK_EQ(io_socketpair(&a, &b, &ex, SOCK_DGRAM), 0);
    CHECK(!(a.flags & IO_FD_STREAM_));
    io_send_init(&s, &a, "dgram", 5);
    CHECK_EQ(run1(&s.fut), 0);
    io_recv_init(&r, &b, buf, 2);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 2);
    CHECK_EQ(r.truncated, 1);
    CHECK_EQ(shutdown(a.io.fd, SHUT_WR), 0);
    io_send_init(&s, &a, "x", 1);
    CHECK_EQ(run1(&s.fut), -EPIPE); /* and we are alive: no SIGPIPE */
    io_fd_close(&a);
    io_fd_close(&b);
    CHECK_EQ(io_socketpair(&a, &b, &ex, SOCK_STREAM), 0);
    CHECK(a.flags & IO_FD_STREAM_);
    io_send_init(&s, &a, "stream", 6); /* send / recv on a stream work too */
    CHECK_EQ(run1(&s.fut), 0);
    io_recv_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 6);
    io_fd_close(&a);
    io_recv_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 0); /* the end of a stream */
    io_fd_close(&b);
    CHECK_EQ(io_socketpair(&a, &b, &ex, 12345), -EINVAL);
    CHECK(!io_fd_is_open(&a) && !io_fd_is_open(&b));
    CHECK_EQ(ex.nio, 0);
    teardown();
}

/* ---- waiting: descriptions, misuse, drops --------------------------------- */

static void test_what_a_waiting_datagram_future_says(void) {
    io_fd_t a;
    io_addr_t aa;
    io_send_to_t s;
    io_recv_from_t rf;
    io_send_t sn;
    io_recv_t r;
    char want[128], buf[4];
    int fd;
    setup();
    CHECK_EQ(udp_on(&a, "127.0.0.1", &aa), 0);
    fd = io_fd_get(&a);
    io_recv_from_init(&rf, &a, buf, sizeof buf);
    io_recv_init(&r, &a, buf, sizeof buf);
    io_send_init(&sn, &a, "abc", 3);
    io_send_to_init(&s, &a, "abcd", 4, &aa);
    snprintf(want, sizeof want, "fd %d", fd);
    CHECK(strcmp(said_by(io_msg_describe_, &rf), want) == 0);
    CHECK(strcmp(said_by(io_msg_describe_, &r), want) == 0);
    snprintf(want, sizeof want, "fd %d (3 bytes)", fd);
    CHECK(strcmp(said_by(io_msg_describe_, &sn), want) == 0);
    snprintf(want, sizeof want, "fd %d (4 bytes to 127.0.0.1:%d)", fd, io_addr_port(&aa));
    CHECK(strcmp(said_by(io_msg_describe_, &s), want) == 0);
    CHECK_EQ(io_addr_parse(&aa, "::1", 53), 0);
    CHECK(strcmp(addr_said(&aa), "[::1]:53") == 0);
    aa.ss.ss_family = AF_UNSPEC;
    CHECK(strcmp(addr_said(&aa), "?") == 0);
    { /* a kernel's name that fills sun_path without a NUL */
        struct sockaddr_un *un = (struct sockaddr_un *)(void *)&aa.ss;
        memset(&aa, 0, sizeof aa);
        un->sun_family = AF_UNIX;
        memset(un->sun_path, 'z', sizeof un->sun_path);
        aa.len = sizeof aa.ss;
        CHECK_EQ(strlen(addr_said(&aa)), sizeof un->sun_path);
    }
    io_fd_close(&a);
    teardown();
}

/* Two bound Unix datagram sockets, a connected to b, b's queue full: a's
 * sends wait. How many datagrams filled it. */
static int full_pair(io_fd_t *a, io_fd_t *b, io_addr_t *ba, char *pa, char *pb) {
    io_addr_t aa;
    int n = 0;
    if (io_addr_unix(&aa, in_dir(pa, 128, "fa")) || io_addr_unix(ba, in_dir(pb, 128, "fb")) ||
        io_dgram_bind(a, &ex, &aa, IO_UNLINK) || io_dgram_bind(b, &ex, ba, IO_UNLINK) ||
        io_dgram_connect(a, ba))
        return -1;
    while (send(a->io.fd, "d", 1, MSG_DONTWAIT) == 1) n++;
    return n;
}

/* Each future waits, is dropped by losing a race to a timer, is freed;
 * then its fd becomes ready: ASan and valgrind catch a wake that still
 * reaches it. And the drop lost nothing: a datagram is taken, or sent,
 * only by the poll that returns it. */
static void drop_while_waiting(future_t *fut, io_fd_t *f, unsigned dir) {
    CHECK_EQ(race(fut, 5), 1); /* the timer won */
    CHECK_EQ(future_err(fut), -ECANCELED);
    if (dir == EXEC_IO_READ) CHECK(f->io.reader == 0);
    else CHECK(f->io.writer == 0);
}

static void test_drop_every_datagram_future_while_it_waits(void) {
    io_fd_t a, b;
    io_addr_t ba;
    io_recv_from_t r;
    char pa[128], pb[128], buf[8];
    int filled, got = 0, i;
    setup();
    filled = full_pair(&a, &b, &ba, pa, pb);
    CHECK(filled > 0);
    for (i = 0; i < 2; i++) { /* send, send_to: both wait for room */
        io_msg_t *s = (io_msg_t *)calloc(1, sizeof *s);
        if (i == 0) io_send_init(s, &a, "lost?", 5);
        else io_send_to_init(s, &a, "lost?", 5, &ba);
        drop_while_waiting(&s->fut, &a, EXEC_IO_WRITE);
        free(s);
    }
    while (recv(b.io.fd, buf, sizeof buf, MSG_DONTWAIT) > 0) got++;
    CHECK_EQ(got, filled); /* the dropped sends sent nothing */
    settle();              /* a is writable: nothing wakes the freed frames */
    CHECK(a.io.ready & EXEC_IO_WRITE);
    for (i = 0; i < 2; i++) { /* recv, recv_from: both wait for a datagram */
        io_msg_t *m = (io_msg_t *)calloc(1, sizeof *m);
        if (i == 0) io_recv_init(m, &b, buf, sizeof buf);
        else io_recv_from_init(m, &b, buf, sizeof buf);
        drop_while_waiting(&m->fut, &b, EXEC_IO_READ);
        free(m);
    }
    CHECK_EQ(send(a.io.fd, "kept", 4, 0), 4);
    settle(); /* b is readable: nothing wakes the freed frames */
    io_recv_from_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 4); /* the dropped receivers took nothing */
    { /* dropped before its first poll */
        io_recv_t r0;
        io_recv_init(&r0, &b, buf, 4);
        future_drop(&r0.fut);
        CHECK(b.io.reader == 0);
    }
    io_fd_close(&a);
    io_fd_close(&b);
    unlink(pa);
    unlink(pb);
    CHECK_EQ(ex.nio, 0);
    teardown();
}

/* A second receiver on one fd is misuse (-EBUSY, reported); closing the
 * fd under a waiting receiver finishes it with -EBADF. */
static void test_two_receivers_and_close_while_waiting(void) {
    io_fd_t a, b;
    io_recv_t r1, r2;
    exec_task_t t1 = {0};
    char buf[4];
    setup();
    CHECK_EQ(io_socketpair(&a, &b, &ex, SOCK_DGRAM), 0);
    io_recv_init(&r1, &b, buf, sizeof buf);
    exec_spawn(&t1, &ex, &r1.fut);
    settle(); /* r1 parks */
    CHECK(b.io.reader != 0);
    io_recv_init(&r2, &b, buf, sizeof buf);
    CHECK_MISUSE(CHECK_EQ(run1(&r2.fut), -EBUSY), "two futures wait to read");
    io_fd_close(&b);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(future_err(&r1.fut), -EBADF);
    io_fd_close(&a);
    teardown();
}

/* Closed and opened again (another fd, the same io_fd_t) before a waiting
 * future runs: the future ends with -EBADF, as on the closed fd, and the
 * new file's data is left for its own futures. A datagram recv, a stream
 * read and a buffered read_line, each on both backends. */
static void reopen_under(io_fd_t *b, int type, const char *data) {
    int sv[2];
    io_fd_close(b);
    CHECK_EQ(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
    CHECK_EQ(write(sv[1], data, strlen(data)), (ssize_t)strlen(data));
    CHECK_EQ(io_fd_open(b, &ex, sv[0]), 0);
    close(sv[1]);
}
static void test_closed_and_opened_again_while_waiting(void) {
    io_fd_t a, b;
    io_recv_t r;
    io_read_t rd;
    io_reader_t in;
    io_read_line_t line;
    exec_task_t t = {0};
    char buf[16], rbuf[32];
    setup();
    CHECK_EQ(io_socketpair(&a, &b, &ex, SOCK_DGRAM), 0);
    io_recv_init(&r, &b, buf, sizeof buf);
    exec_spawn(&t, &ex, &r.fut);
    settle(); /* parked */
    reopen_under(&b, SOCK_DGRAM, "new");
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(future_err(&r.fut), -EBADF);
    io_recv_init(&r, &b, buf, sizeof buf); /* the new file's datagram */
    CHECK_EQ(run1(&r.fut), 0);
    CHECK(r.n == 3 && memcmp(buf, "new", 3) == 0);
    io_fd_close(&a);
    io_fd_close(&b);
    /* a stream read */
    CHECK_EQ(io_socketpair(&a, &b, &ex, SOCK_STREAM), 0);
    io_read_init(&rd, &b, buf, sizeof buf);
    exec_spawn(&t, &ex, &rd.fut);
    settle();
    reopen_under(&b, SOCK_STREAM, "fresh");
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(future_err(&rd.fut), -EBADF);
    io_read_init(&rd, &b, buf, sizeof buf);
    CHECK_EQ(run1(&rd.fut), 0);
    CHECK(rd.n == 5 && memcmp(buf, "fresh", 5) == 0);
    io_fd_close(&a);
    io_fd_close(&b);
    /* a buffered line: the old half line is not joined to the new bytes */
    CHECK_EQ(io_socketpair(&a, &b, &ex, SOCK_STREAM), 0);
    CHECK_EQ(write(io_fd_get(&a), "old-", 4), 4);
    io_reader_init(&in, &b, rbuf, sizeof rbuf);
    io_read_line_init(&line, &in, 16);
    exec_spawn(&t, &ex, &line.fut);
    settle(); /* "old-" buffered, waiting for the rest */
    reopen_under(&b, SOCK_STREAM, "new\n");
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(future_err(&line.fut), -EBADF);
    io_fd_close(&a);
    io_fd_close(&b);
    teardown();
}

/* ---- failure paths, by fault injection ------------------------------------ */

static void test_set_up_failures_leave_nothing_open(void) {
    io_fd_t f, g;
    io_addr_t a, u;
    char path[128];
    int fds;
    setup();
    fds = check_open_fds();
    CHECK_EQ(io_addr_parse(&a, "127.0.0.1", 0), 0);
    CHECK_EQ(io_addr_unix(&u, in_dir(path, sizeof path, "f.sock")), 0);
    fault_arm(&f_socket, 0, 1, EMFILE);
    CHECK_EQ(io_dgram_bind(&f, &ex, &a, 0), -EMFILE);
    fault_arm(&f_socket, 0, 1, EMFILE);
    CHECK_EQ(io_dgram_open(&f, &ex, AF_INET), -EMFILE);
    fault_arm(&f_setsockopt, 0, 1, ENOPROTOOPT);
    CHECK_EQ(io_dgram_bind(&f, &ex, &a, IO_REUSEPORT), -ENOPROTOOPT);
    fault_arm(&f_setsockopt, 0, 1, ENOPROTOOPT);
    CHECK_EQ(io_listen(&f, &ex, &a, 8, 0), -ENOPROTOOPT); /* SO_REUSEADDR */
    if (io_addr_parse(&a, "::1", 0) == 0 && io_dgram_bind(&f, &ex, &a, 0) == 0) { /* IPv6 here */
        io_fd_close(&f);
        fault_arm(&f_setsockopt, 0, 1, ENOPROTOOPT);
        CHECK_EQ(io_dgram_bind(&f, &ex, &a, 0), -ENOPROTOOPT); /* IPV6_V6ONLY */
    }
    fault_arm(&f_bind, 0, 1, EACCES);
    CHECK_EQ(io_dgram_bind(&f, &ex, &u, 0), -EACCES);
    fault_arm(&f_lstat, 0, 1, EACCES);
    CHECK_EQ(io_dgram_bind(&f, &ex, &u, IO_UNLINK), -EACCES);
    /* After bind made the file: it goes again. */
    fault_arm(&f_register, 0, 1, ENOMEM);
    CHECK_EQ(io_dgram_bind(&f, &ex, &u, 0), -ENOMEM);
    CHECK(access(path, F_OK) < 0);
    fault_arm(&f_listen, 0, 1, EINVAL);
    CHECK_EQ(io_listen(&f, &ex, &u, 8, 0), -EINVAL);
    CHECK(access(path, F_OK) < 0);
    fault_arm(&f_register, 0, 1, ENOMEM);
    CHECK_EQ(io_listen(&f, &ex, &u, 8, 0), -ENOMEM);
    CHECK(access(path, F_OK) < 0);
    fault_arm(&f_register, 0, 1, ENOMEM);
    CHECK_EQ(io_dgram_open(&f, &ex, AF_UNIX), -ENOMEM);
    fault_arm(&f_socketpair, 0, 1, EMFILE);
    CHECK_EQ(io_socketpair(&f, &g, &ex, SOCK_DGRAM), -EMFILE);
    fault_arm(&f_register, 0, 1, ENOMEM); /* a's */
    CHECK_EQ(io_socketpair(&f, &g, &ex, SOCK_DGRAM), -ENOMEM);
    fault_arm(&f_register, 1, 1, ENOMEM); /* b's */
    CHECK_EQ(io_socketpair(&f, &g, &ex, SOCK_DGRAM), -ENOMEM);
    CHECK(!io_fd_is_open(&f) && !io_fd_is_open(&g));
#ifndef IO_SOCK_FLAGS_ /* socket + fcntl (IO_PORTABLE) */
    fault_arm(&f_fcntl, 0, 1, EBADF);
    CHECK_EQ(io_dgram_open(&f, &ex, AF_INET), -EBADF);
    fault_arm(&f_fcntl, 0, 1, EBADF);
    CHECK_EQ(io_socketpair(&f, &g, &ex, SOCK_STREAM), -EBADF);
    fault_arm(&f_fcntl, 1, 1, EBADF);
    CHECK_EQ(io_socketpair(&f, &g, &ex, SOCK_STREAM), -EBADF);
#endif
    faults_off();
    CHECK_EQ(check_open_fds(), fds);
    CHECK_EQ(ex.nio, 0);
    teardown();
}

/* EINTR is retried; EAGAIN (a datagram another process took first) waits
 * for the next edge; any other errno is the result. */
static void test_datagram_call_errors(void) {
    io_fd_t a, b;
    io_send_t s;
    io_recv_t r;
    later_t w;
    exec_task_t tw = {0};
    char buf[8];
    setup();
    CHECK_EQ(io_socketpair(&a, &b, &ex, SOCK_DGRAM), 0);
    CHECK_EQ(send(a.io.fd, "one", 3, 0), 3);
    fault_arm(&f_recvmsg, 0, 2, EINTR);
    io_recv_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), 0);
    CHECK_EQ(r.n, 3);
    CHECK_EQ(f_recvmsg.hits, 2);
    CHECK_EQ(send(a.io.fd, "two", 3, 0), 3);
    settle();
    fault_arm(&f_recvmsg, 0, 1, EAGAIN); /* the ready bit goes: wait */
    later_init(&w, a.io.fd, "three", 0, 20);
    exec_spawn(&tw, &ex, &w.fut);
    io_recv_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), 0);
#ifdef EXEC_BACKEND_POLL
    CHECK(run_at - t0 <= 21 * TIMER_MS); /* level-triggered: "two" wakes it */
#else
    CHECK_EQ(run_at - t0, 21 * TIMER_MS); /* the next edge: "three" (and settle's 1 ms) */
#endif
    CHECK_EQ(r.n, 3); /* "two", still queued */
    fault_arm(&f_recvmsg, 0, 1, ENOMEM);
    io_recv_init(&r, &b, buf, sizeof buf);
    CHECK_EQ(run1(&r.fut), -ENOMEM);
    fault_arm(&f_sendto, 0, 2, EINTR);
    io_send_init(&s, &a, "four", 4);
#ifdef IO_NOSIGPIPE_SEND_
    CHECK_EQ(run1(&s.fut), 0); /* send(), not sendto: not faulted */
    fault_arm(&f_sendto, 0, 0, 0);
#else
    CHECK_EQ(run1(&s.fut), 0);
#endif
    {
        io_addr_t any;
        io_send_to_t st;
        memset(&any, 0, sizeof any);
        any.ss.ss_family = AF_UNIX;
        any.len = sizeof(sa_family_t);
        fault_arm(&f_sendto, 0, 2, EINTR);
        io_send_to_init(&st, &a, "five", 4, &any);
        CHECK(run1(&st.fut) < 0); /* no such address: an error, after EINTR twice */
        CHECK_EQ(f_sendto.hits, 2);
    }
    io_fd_close(&a);
    io_fd_close(&b);
    teardown();
}

int main(void) {
    if (!mkdtemp(strcpy(dir, "/tmp/weft-net-XXXXXX"))) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_udp_send_to_recv_from_v4_v6);
    RUN(test_udp_recv_from_waits);
    RUN(test_udp_truncation_and_empty_datagrams);
    RUN(test_udp_connected_send_recv);
    RUN(test_udp_errors_are_values);
    RUN(test_unix_addresses);
    RUN(test_unix_stream_by_path);
#ifdef __linux__
    RUN(test_unix_stream_abstract);
#endif
    RUN(test_unix_connect_errors_and_stale_files);
    RUN(test_unix_dgram_by_path);
#ifdef __linux__
    RUN(test_unix_dgram_abstract);
#endif
    RUN(test_unix_connected_and_pairs);
    RUN(test_what_a_waiting_datagram_future_says);
    RUN(test_drop_every_datagram_future_while_it_waits);
    RUN(test_two_receivers_and_close_while_waiting);
    RUN(test_closed_and_opened_again_while_waiting);
    RUN(test_set_up_failures_leave_nothing_open);
    RUN(test_datagram_call_errors);
    if (rmdir(dir) < 0) { /* every test removed its files */
        printf("    the test directory %s is not empty\n", dir);
        check_failed_++;
    }
    return check_summary();
}
