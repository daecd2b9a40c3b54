/* Tests of io.h: readiness, read / write / read_exact / write_all on pipes
 * and socketpairs, TCP over loopback (IPv4 and IPv6), errors as values,
 * accept under EMFILE, signals, and dropping every I/O future while it
 * waits. Time is the paused clock: no test sleeps on the wall clock.
 * run.sh builds it for each backend with fds (epoll, -DEXEC_BACKEND_POLL)
 * and again with -DIO_PORTABLE, which takes io.h's POSIX fallbacks (no
 * accept4, SOCK_NONBLOCK, MSG_NOSIGNAL, sigtimedwait or signalfd): the
 * signal tests differ there (a handler and a self-pipe, not a mask). */
#include "check.h"
#include "../io.h"
#include <sys/resource.h>
#include <sys/eventfd.h>

static exec_t ex;

static uint64_t t0; /* the paused clock at setup */

static void setup(void) {
    if (exec_init(&ex)) abort();
    ex.log = 0;
    exec_clock_pause(&ex);
    t0 = exec_now(&ex);
}

/* ---- little futures ----------------------------------------------------- */

/* Awaits one child future (any io.h future) and records its error. */
typedef struct {
    future_t fut;
    future_t *child;
    int err;
    uint64_t at; /* exec_now when it finished */
} await1_t;

static coro_poll_t await1_poll(future_t *self, future_cx_t *cx) {
    await1_t *f = (await1_t *)self;
    ASYNC_BEGIN(f);
    AWAIT(cx, f->child);
    f->err = future_err(f->child);
    f->at = exec_now(exec_of(cx));
    ASYNC_END();
}

static void await1_init(await1_t *f, future_t *child) {
    future_init(&f->fut, await1_poll, 0);
    f->child = child;
    f->err = 12345;
    f->at = 0;
}

/* Runs child until it finishes or ms (paused clock) pass: then it is
 * dropped. which: 0 = child finished, 1 = dropped by the timer. */
typedef struct {
    future_t fut;
    future_t *child;
    timer_sleep_t nap;
    uint64_t ms;
    int which;
} race_t;

static coro_poll_t race_poll(future_t *self, future_cx_t *cx) {
    race_t *f = (race_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    SELECT(cx, f->which, f->child, &f->nap);
    ASYNC_END();
}

static void race_init(race_t *f, future_t *child, uint64_t ms) {
    future_init(&f->fut, race_poll, 0);
    f->child = child;
    f->ms = ms;
    f->which = -1;
}

/* Writes bytes to a raw fd after ms (paused clock). */
typedef struct {
    future_t fut;
    int fd;
    const char *data;
    size_t len;
    uint64_t ms;
    int close_after;
    timer_sleep_t nap;
} later_write_t;

static coro_poll_t later_write_poll(future_t *self, future_cx_t *cx) {
    later_write_t *f = (later_write_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    if (f->len && write(f->fd, f->data, f->len) != (ssize_t)f->len) ASYNC_RETURN(-EIO);
    if (f->close_after) close(f->fd);
    ASYNC_END();
}

static void later_write_init(later_write_t *f, int fd, const char *data, uint64_t ms) {
    future_init(&f->fut, later_write_poll, 0);
    f->fd = fd;
    f->data = data;
    f->len = data ? strlen(data) : 0;
    f->ms = ms;
    f->close_after = 0;
}

static void nonblock_pair(int sv[2]) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) abort();
}

/* A listener on loopback (v4 or v6), its port; -1 when v6 is missing. */
static int loopback_listener(io_fd_t *l, const char *host, int backlog) {
    io_addr_t a;
    if (io_addr_parse(&a, host, 0)) return -1;
    if (io_listen(l, &ex, &a, backlog, 0)) return -1;
    io_local_addr(l, &a);
    return io_addr_port(&a);
}

/* ---- readiness, read, write ----------------------------------------------- */

static void test_pipe_read_waits_for_the_writer(void) {
    int p[2];
    io_fd_t r;
    io_read_t rd;
    await1_t a;
    later_write_t w;
    exec_task_t tw = {0};
    char buf[16];
    setup();
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK_EQ(io_fd_open(&r, &ex, p[0]), 0);
    io_read_init(&rd, &r, buf, sizeof buf);
    await1_init(&a, &rd.fut);
    later_write_init(&w, p[1], "hello", 30);
    exec_spawn(&tw, &ex, &w.fut);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
    CHECK_EQ(a.err, 0);
    CHECK_EQ(rd.n, 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(a.at - t0, 30 * TIMER_MS); /* it waited for the write, no earlier */
    /* The writer closes: the end of the stream is n == 0, not an error. */
    close(p[1]);
    io_read_init(&rd, &r, buf, sizeof buf);
    await1_init(&a, &rd.fut);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
    CHECK_EQ(a.err, 0);
    CHECK_EQ(rd.n, 0);
    CHECK_EQ(io_fd_close(&r), 0);
    CHECK_EQ(ex.nio, 0);
    exec_destroy(&ex);
}

/* A waiting read is polled once to park and once when woken: no busy loop,
 * no syscall in between (the ready bit says not ready). */
static void test_waiting_read_is_not_polled_again(void) {
    int p[2];
    io_fd_t r;
    io_read_t rd;
    await1_t a;
    later_write_t w;
    exec_task_t ta = {0}, tw = {0};
    char buf[4];
    uint64_t polls0;
    setup();
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK_EQ(io_fd_open(&r, &ex, p[0]), 0);
    io_read_init(&rd, &r, buf, sizeof buf);
    await1_init(&a, &rd.fut);
    later_write_init(&w, p[1], "x", 500);
    polls0 = ex.stats.polls;
    exec_spawn(&ta, &ex, &a.fut);
    exec_spawn(&tw, &ex, &w.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(rd.n, 1);
    CHECK(ex.stats.polls - polls0 <= 5); /* 2 for the reader, 2 for the writer */
    io_fd_close(&r);
    close(p[1]);
    exec_destroy(&ex);
}

static void test_eventfd_readable(void) {
    int efd = eventfd(0, EFD_CLOEXEC);
    io_fd_t f;
    io_readable_t rd;
    await1_t a;
    later_write_t w;
    exec_task_t tw = {0};
    uint64_t one = 1, got = 0;
    setup();
    CHECK(efd >= 0);
    CHECK_EQ(io_fd_open(&f, &ex, efd), 0);
    io_readable_init(&rd, &f);
    await1_init(&a, &rd.fut);
    later_write_init(&w, efd, 0, 7);
    w.len = sizeof one;
    w.data = (const char *)&one;
    exec_spawn(&tw, &ex, &w.fut);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
    CHECK_EQ(a.err, 0);
    CHECK_EQ(a.at - t0, 7 * TIMER_MS);
    CHECK_EQ(io_try_read(&f, &got, sizeof got), 8);
    CHECK_EQ(got, 1);
    CHECK_EQ(io_try_read(&f, &got, sizeof got), -EAGAIN);
    CHECK(!(f.io.ready & EXEC_IO_READ));
    /* Not ready: no syscall, -EAGAIN straight away. */
    CHECK_EQ(io_try_read(&f, &got, sizeof got), -EAGAIN);
    io_fd_close(&f);
    exec_destroy(&ex);
}

/* write_all of 4 MiB through a socketpair while another task read_exacts it:
 * both park and resume many times on the socket buffer. */
typedef struct {
    future_t fut;
    io_fd_t *fd;
    io_rw_t op;
    char *buf;
    size_t len;
    int write;
} bulk_t;

static coro_poll_t bulk_poll(future_t *self, future_cx_t *cx) {
    bulk_t *f = (bulk_t *)self;
    ASYNC_BEGIN(f);
    if (f->write) io_write_all_init(&f->op, f->fd, f->buf, f->len);
    else io_read_exact_init(&f->op, f->fd, f->buf, f->len);
    AWAIT_TRY(cx, &f->op);
    if (f->write) io_shutdown(f->fd, SHUT_WR);
    ASYNC_END();
}

static void test_write_all_and_read_exact_through_a_socketpair(void) {
    enum { N = 4 << 20 };
    int sv[2];
    io_fd_t a, b;
    bulk_t w, r;
    exec_task_t tw = {0}, tr = {0};
    char *src = (char *)malloc(N), *dst = (char *)calloc(1, N), extra[4];
    size_t i;
    io_read_t rd;
    await1_t aw;
    setup();
    for (i = 0; i < N; i++) src[i] = (char)(i * 7 + i / 4096);
    nonblock_pair(sv);
    CHECK_EQ(io_fd_open(&a, &ex, sv[0]), 0);
    CHECK_EQ(io_fd_open(&b, &ex, sv[1]), 0);
    future_init(&w.fut, bulk_poll, 0);
    w.fd = &a, w.buf = src, w.len = N, w.write = 1;
    future_init(&r.fut, bulk_poll, 0);
    r.fd = &b, r.buf = dst, r.len = N, r.write = 0;
    exec_spawn(&tw, &ex, &w.fut);
    exec_spawn(&tr, &ex, &r.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(exec_task_err(&tw), 0);
    CHECK_EQ(exec_task_err(&tr), 0);
    CHECK_EQ(w.op.n, N);
    CHECK_EQ(r.op.n, N);
    CHECK(memcmp(src, dst, N) == 0);
    /* SHUT_WR: b sees the end, and b -> a still works. */
    io_read_init(&rd, &b, extra, sizeof extra);
    await1_init(&aw, &rd.fut);
    CHECK_EQ(exec_block_on(&ex, &aw.fut), 0);
    CHECK_EQ(rd.n, 0);
    CHECK_EQ(write(sv[1], "ok", 2), 2);
    io_read_init(&rd, &a, extra, sizeof extra);
    await1_init(&aw, &rd.fut);
    CHECK_EQ(exec_block_on(&ex, &aw.fut), 0);
    CHECK_EQ(rd.n, 2);
    io_fd_close(&a);
    io_fd_close(&b);
    free(src);
    free(dst);
    exec_destroy(&ex);
}

static void test_read_exact_at_the_end_is_io_eof(void) {
    int sv[2];
    io_fd_t b;
    io_read_exact_t rd;
    await1_t a;
    later_write_t w;
    exec_task_t tw = {0};
    char buf[10];
    setup();
    nonblock_pair(sv);
    CHECK_EQ(io_fd_open(&b, &ex, sv[1]), 0);
    later_write_init(&w, sv[0], "abc", 5);
    w.close_after = 1;
    exec_spawn(&tw, &ex, &w.fut);
    io_read_exact_init(&rd, &b, buf, sizeof buf);
    await1_init(&a, &rd.fut);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
    CHECK_EQ(a.err, IO_EOF);
    CHECK_EQ(rd.n, 3); /* the progress made */
    CHECK(memcmp(buf, "abc", 3) == 0);
    io_fd_close(&b);
    exec_destroy(&ex);
}

/* Data and the hangup in one edge: the short read must not wait for an
 * edge that already came (the hup bit keeps the fd ready). */
static void test_short_read_then_end_does_not_hang(void) {
    int sv[2];
    io_fd_t b;
    io_read_t rd;
    await1_t a;
    char buf[64];
    setup();
    nonblock_pair(sv);
    CHECK_EQ(write(sv[0], "abc", 3), 3);
    close(sv[0]);
    CHECK_EQ(io_fd_open(&b, &ex, sv[1]), 0);
    io_read_init(&rd, &b, buf, sizeof buf);
    await1_init(&a, &rd.fut);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
    CHECK_EQ(rd.n, 3);
    io_read_init(&rd, &b, buf, sizeof buf);
    await1_init(&a, &rd.fut);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0); /* a hang would be -EDEADLK */
    CHECK_EQ(a.err, 0);
    CHECK_EQ(rd.n, 0);
    io_fd_close(&b);
    exec_destroy(&ex);
}

/* ---- errors as values ------------------------------------------------------ */

static void test_epipe_not_sigpipe(void) {
    int sv[2], p[2];
    io_fd_t a, pw;
    io_write_all_t w;
    await1_t aw;
    setup();
    /* A socket whose peer is gone. */
    nonblock_pair(sv);
    close(sv[1]);
    CHECK_EQ(io_fd_open(&a, &ex, sv[0]), 0);
    io_write_all_init(&w, &a, "data", 4);
    await1_init(&aw, &w.fut);
    CHECK_EQ(exec_block_on(&ex, &aw.fut), 0);
    CHECK_EQ(aw.err, -EPIPE);
    /* A pipe whose reader is gone: SIGPIPE's default would kill us. */
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    close(p[0]);
    CHECK_EQ(io_fd_open(&pw, &ex, p[1]), 0);
    io_write_all_init(&w, &pw, "data", 4);
    await1_init(&aw, &w.fut);
    CHECK_EQ(exec_block_on(&ex, &aw.fut), 0);
    CHECK_EQ(aw.err, -EPIPE);
    {
        sigset_t pending;
        sigpending(&pending);
        CHECK(!sigismember(&pending, SIGPIPE)); /* consumed, not left pending */
    }
    io_fd_close(&a);
    io_fd_close(&pw);
    exec_destroy(&ex);
}

/* Accepts one connection into *out. */
typedef struct {
    future_t fut;
    io_fd_t *lis, *out;
    io_accept_t acc;
} acceptor_t;

static coro_poll_t acceptor_poll(future_t *self, future_cx_t *cx) {
    acceptor_t *f = (acceptor_t *)self;
    ASYNC_BEGIN(f);
    io_accept_init(&f->acc, f->lis);
    AWAIT_TRY(cx, &f->acc);
    ASYNC_RETURN(io_fd_open(f->out, exec_of(cx), f->acc.fd));
    ASYNC_END();
}

static void acceptor_init(acceptor_t *f, io_fd_t *lis, io_fd_t *out) {
    future_init(&f->fut, acceptor_poll, 0);
    f->lis = lis;
    f->out = out;
}

/* A client and a server end over loopback TCP, through io_connect and
 * io_accept. 0 or -1 (no such address family here). */
static int tcp_pair(const char *host, io_fd_t *cli, io_fd_t *srv, io_fd_t *lis) {
    io_addr_t addr;
    io_connect_t c;
    acceptor_t acc;
    exec_task_t ta = {0};
    await1_t a;
    int port = loopback_listener(lis, host, 16);
    if (port < 0) return -1;
    io_addr_parse(&addr, host, port);
    acceptor_init(&acc, lis, srv);
    exec_spawn(&ta, &ex, &acc.fut);
    io_connect_init(&c, cli, &addr);
    await1_init(&a, &c.fut);
    if (exec_block_on(&ex, &a.fut) || a.err) return -2;
    if (exec_run(&ex) || exec_task_err(&ta)) return -3;
    return 0;
}

static void test_tcp_v4_and_v6_echo(void) {
    const char *hosts[2] = {"127.0.0.1", "::1"};
    int i;
    for (i = 0; i < 2; i++) {
        io_fd_t lis, cli, srv;
        io_write_all_t w;
        io_read_exact_t r;
        await1_t a;
        char buf[6];
        int rc;
        setup();
        rc = tcp_pair(hosts[i], &cli, &srv, &lis);
        if (rc == -1 && i == 1) { /* no IPv6 on this host */
            exec_destroy(&ex);
            continue;
        }
        CHECK_EQ(rc, 0);
        io_write_all_init(&w, &cli, "hello!", 6);
        await1_init(&a, &w.fut);
        CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
        CHECK_EQ(a.err, 0);
        io_read_exact_init(&r, &srv, buf, 6);
        await1_init(&a, &r.fut);
        CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
        CHECK_EQ(a.err, 0);
        CHECK(memcmp(buf, "hello!", 6) == 0);
        io_fd_close(&cli);
        io_fd_close(&srv);
        io_fd_close(&lis);
        CHECK_EQ(ex.nio, 0);
        exec_destroy(&ex);
    }
}

static void test_connection_reset_is_a_value(void) {
    io_fd_t lis, cli, srv;
    io_read_t r;
    await1_t a;
    char buf[8];
    struct linger lg;
    setup();
    CHECK_EQ(tcp_pair("127.0.0.1", &cli, &srv, &lis), 0);
    lg.l_onoff = 1;
    lg.l_linger = 0; /* close sends RST */
    CHECK(setsockopt(cli.io.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    io_fd_close(&cli);
    io_read_init(&r, &srv, buf, sizeof buf);
    await1_init(&a, &r.fut);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
    CHECK_EQ(a.err, -ECONNRESET);
    io_fd_close(&srv);
    io_fd_close(&lis);
    exec_destroy(&ex);
}

static void test_connect_refused(void) {
    io_fd_t lis, cli;
    io_addr_t addr;
    io_connect_t c;
    await1_t a;
    int port;
    setup();
    port = loopback_listener(&lis, "127.0.0.1", 1);
    CHECK(port > 0);
    io_fd_close(&lis); /* the port is free now: nobody listens */
    io_addr_parse(&addr, "127.0.0.1", port);
    io_connect_init(&c, &cli, &addr);
    await1_init(&a, &c.fut);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
    CHECK_EQ(a.err, -ECONNREFUSED);
    CHECK(!io_fd_is_open(&cli));
    CHECK_EQ(io_fd_close(&cli), 0); /* closing the failed handle is harmless */
    CHECK_EQ(ex.nio, 0);
    exec_destroy(&ex);
}

/* A listener whose accept queue is full drops SYNs: a connect to it stays
 * in progress, and timer.h's timeout turns it into -ETIMEDOUT (instantly,
 * on the paused clock). The dropped connect closes its socket. */
static void test_connect_under_timeout(void) {
    io_fd_t lis, cli;
    io_addr_t addr;
    io_connect_t c;
    timer_timeout_t limit;
    await1_t a;
    int port, fill[4], i, nfill = 0;
    setup();
    port = loopback_listener(&lis, "127.0.0.1", 0);
    CHECK(port > 0);
    io_addr_parse(&addr, "127.0.0.1", port);
    for (i = 0; i < 4; i++) { /* fill the accept queue with raw connects */
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (connect(fill[i], (struct sockaddr *)&addr.ss, addr.len) == 0 || errno == EINPROGRESS)
            nfill++;
    }
    io_connect_init(&c, &cli, &addr);
    timer_timeout_init(&limit, &c.fut, 3 * TIMER_SEC);
    await1_init(&a, &limit.fut);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
    CHECK_EQ(a.err, -ETIMEDOUT);
    CHECK_EQ(a.at - t0, 3 * TIMER_SEC);
    CHECK(!io_fd_is_open(&cli)); /* the half-open socket was closed */
    for (i = 0; i < 4; i++) close(fill[i]);
    io_fd_close(&lis);
    CHECK_EQ(ex.nio, 0);
    CHECK(nfill > 0);
    exec_destroy(&ex);
}

static void test_close_while_waiting_is_ebadf(void) {
    int sv[2];
    io_fd_t b;
    io_read_t r;
    await1_t a;
    exec_task_t ta = {0};
    char buf[4];
    setup();
    nonblock_pair(sv);
    CHECK_EQ(io_fd_open(&b, &ex, sv[1]), 0);
    io_read_init(&r, &b, buf, sizeof buf);
    await1_init(&a, &r.fut);
    exec_spawn(&ta, &ex, &a.fut);
    {
        future_yield_t y;
        future_yield_init(&y);
        exec_block_on(&ex, &y.fut); /* the reader parks */
    }
    CHECK(b.io.reader != 0);
    io_fd_close(&b);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(a.err, -EBADF);
    close(sv[0]);
    exec_destroy(&ex);
}

static void test_two_readers_is_misuse(void) {
    int sv[2];
    io_fd_t b;
    io_read_t r1, r2;
    await1_t a1, a2;
    exec_task_t t1 = {0}, t2 = {0};
    char buf[4];
    setup();
    nonblock_pair(sv);
    CHECK_EQ(io_fd_open(&b, &ex, sv[1]), 0);
    io_read_init(&r1, &b, buf, sizeof buf);
    io_read_init(&r2, &b, buf, sizeof buf);
    await1_init(&a1, &r1.fut);
    await1_init(&a2, &r2.fut);
    exec_spawn(&t1, &ex, &a1.fut);
    exec_spawn(&t2, &ex, &a2.fut);
    {
        future_yield_t y;
        future_yield_init(&y);
        CHECK_MISUSE(exec_block_on(&ex, &y.fut), "two futures wait to read");
    }
    CHECK_EQ(a2.err, -EBUSY);
    CHECK(!exec_task_done(&t1)); /* the first still waits */
    exec_abort(&t1);
    CHECK(b.io.reader == 0);
    io_fd_close(&b);
    close(sv[0]);
    exec_destroy(&ex);
}

/* An io_fd_t belongs to the executor it was opened on: a future on it
 * polled by another executor would park its waker where only the first
 * one's reactor (maybe on another thread) wakes it. Misuse, reported. */
static void test_fd_polled_on_another_executor_is_misuse(void) {
    exec_t other;
    int sv[2];
    io_fd_t b;
    io_read_t r;
    char buf[4];
    setup();
    CHECK_EQ(exec_init(&other), 0);
    other.log = 0;
    nonblock_pair(sv);
    CHECK_EQ(io_fd_open(&b, &ex, sv[1]), 0);
    io_read_init(&r, &b, buf, sizeof buf);
    CHECK_MISUSE(CHECK_EQ(exec_block_on(&other, &r.fut), -EINVAL), "another executor");
    CHECK(b.io.reader == 0);
    io_fd_close(&b);
    close(sv[0]);
    exec_destroy(&other);
    exec_destroy(&ex);
}

/* ---- drop every I/O future while it waits ----------------------------- */

/* Each future is heap-allocated, made to wait, dropped by losing a race to
 * a timer, freed, and then its fd is made ready: ASan / valgrind catch any
 * wake that still reaches it. */
static void drop_while_waiting(future_t *fut, io_fd_t *f, unsigned dir) {
    race_t race;
    race_init(&race, fut, 5);
    CHECK_EQ(exec_block_on(&ex, &race.fut), 0);
    CHECK_EQ(race.which, 1); /* the timer won: fut was dropped waiting */
    CHECK(future_done(fut));
    CHECK_EQ(future_err(fut), -ECANCELED);
    if (dir & EXEC_IO_READ) CHECK(f->io.reader == 0);
    if (dir & EXEC_IO_WRITE) CHECK(f->io.writer == 0);
}

static void settle(void) { /* run the loop a little: events get dispatched */
    {
        timer_sleep_t s;
        await1_t a;
        timer_sleep_init(&s, TIMER_MS);
        await1_init(&a, &s.fut);
        exec_block_on(&ex, &a.fut);
    }
}

static void fill_socket(int fd) {
    static char junk[65536];
    while (send(fd, junk, sizeof junk, MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {}
}

static void test_drop_every_io_future_while_it_waits(void) {
    int sv[2];
    io_fd_t a, b, lis, cli;
    io_addr_t addr;
    char *buf = (char *)malloc(1 << 20);
    int port, fill[4], i;
    setup();
    nonblock_pair(sv);
    CHECK_EQ(io_fd_open(&a, &ex, sv[0]), 0);
    CHECK_EQ(io_fd_open(&b, &ex, sv[1]), 0);
    { /* readable */
        io_readable_t *r = (io_readable_t *)calloc(1, sizeof *r);
        io_readable_init(r, &b);
        drop_while_waiting(&r->fut, &b, EXEC_IO_READ);
        free(r);
    }
    { /* read */
        io_read_t *r = (io_read_t *)calloc(1, sizeof *r);
        io_read_init(r, &b, buf, 16);
        drop_while_waiting(&r->fut, &b, EXEC_IO_READ);
        free(r);
    }
    { /* read_exact, part-way: 3 of 10 bytes came */
        io_read_exact_t *r = (io_read_exact_t *)calloc(1, sizeof *r);
        CHECK_EQ(write(sv[0], "abc", 3), 3);
        io_read_exact_init(r, &b, buf, 10);
        drop_while_waiting(&r->fut, &b, EXEC_IO_READ);
        CHECK_EQ(r->n, 3); /* not cancel-safe: the progress is reported */
        free(r);
    }
    CHECK_EQ(write(sv[0], "x", 1), 1); /* events for the freed readers */
    settle();
    /* Fill a's send buffer: writers wait. */
    fill_socket(sv[0]);
    settle();
    { /* writable */
        io_writable_t *w = (io_writable_t *)calloc(1, sizeof *w);
        io_writable_init(w, &a);
        exec_io_clear(&a.io, EXEC_IO_WRITE);
        drop_while_waiting(&w->fut, &a, EXEC_IO_WRITE);
        free(w);
    }
    { /* write */
        io_write_t *w = (io_write_t *)calloc(1, sizeof *w);
        io_write_init(w, &a, buf, 16);
        drop_while_waiting(&w->fut, &a, EXEC_IO_WRITE);
        free(w);
    }
    { /* write_all, part-way: 1 MiB does not fit */
        io_write_all_t *w = (io_write_all_t *)calloc(1, sizeof *w);
        io_write_all_init(w, &a, buf, 1 << 20);
        drop_while_waiting(&w->fut, &a, EXEC_IO_WRITE);
        free(w);
    }
    { /* drain b: a becomes writable, the freed writers must not be woken */
        while (read(sv[1], buf, 1 << 20) > 0) {}
        settle();
        CHECK(a.io.ready & EXEC_IO_WRITE);
    }
    /* accept */
    port = loopback_listener(&lis, "127.0.0.1", 0);
    CHECK(port > 0);
    {
        io_accept_t *ac = (io_accept_t *)calloc(1, sizeof *ac);
        io_accept_init(ac, &lis);
        drop_while_waiting(&ac->fut, &lis, EXEC_IO_READ);
        free(ac);
    }
    io_addr_parse(&addr, "127.0.0.1", port);
    for (i = 0; i < 4; i++) { /* events on the listener; then its queue is full */
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (connect(fill[i], (struct sockaddr *)&addr.ss, addr.len) < 0) CHECK(errno == EINPROGRESS);
    }
    settle();
    { /* connect, to the full listener: it stays in progress */
        io_connect_t *c = (io_connect_t *)calloc(1, sizeof *c);
        io_connect_init(c, &cli, &addr);
        drop_while_waiting(&c->fut, &cli, 0);
        CHECK(!io_fd_is_open(&cli)); /* its socket was closed */
        free(c);
    }
    { /* signal recv */
        io_signal_t sig;
        sigset_t set;
        io_signal_recv_t *r = (io_signal_recv_t *)calloc(1, sizeof *r);
        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        CHECK_EQ(io_signal_open(&sig, &ex, &set), 0);
        io_signal_recv_init(r, &sig);
        drop_while_waiting(&r->fut, &sig.fd, EXEC_IO_READ);
        free(r);
        raise(SIGUSR2); /* blocked: pending, the signalfd becomes readable */
        settle();
        CHECK(sig.fd.io.ready & EXEC_IO_READ);
        CHECK_EQ(io_signal_close(&sig), 0); /* discards it: we live on */
    }
    /* Dropping before the first poll is fine too. */
    {
        io_read_t r;
        io_read_init(&r, &b, buf, 4);
        future_drop(&r.fut);
        CHECK(b.io.reader == 0);
    }
    for (i = 0; i < 4; i++) close(fill[i]);
    io_fd_close(&lis);
    io_fd_close(&a);
    io_fd_close(&b);
    CHECK_EQ(ex.nio, 0);
    free(buf);
    exec_destroy(&ex);
}

/* ---- accept under EMFILE -------------------------------------------------- */

/* Accepts until *stop, counting, and closing each connection. */
typedef struct {
    future_t fut;
    io_fd_t *lis;
    io_accept_t acc;
    int accepted, polls, dropped;
} acc_loop_t;

static coro_poll_t acc_loop_poll(future_t *self, future_cx_t *cx) {
    acc_loop_t *f = (acc_loop_t *)self;
    f->polls++;
    ASYNC_BEGIN(f);
    for (;;) {
        io_accept_init(&f->acc, f->lis);
        AWAIT_TRY(cx, &f->acc);
        f->dropped += (int)f->acc.dropped;
        close(f->acc.fd);
        f->accepted++;
    }
    ASYNC_END();
}

static void test_accept_under_emfile_does_not_spin(void) {
    struct rlimit old, low;
    io_fd_t lis;
    io_addr_t addr;
    acc_loop_t loop;
    exec_task_t tl = {0};
    int fds[256], n = 0, cl[8], i, port, polls_before;
    setup();
    port = loopback_listener(&lis, "127.0.0.1", 64);
    CHECK(port > 0);
    CHECK(lis.spare >= 0);
    io_addr_parse(&addr, "127.0.0.1", port);
    future_init(&loop.fut, acc_loop_poll, 0);
    loop.lis = &lis;
    loop.accepted = loop.polls = loop.dropped = 0;
    exec_spawn(&tl, &ex, &loop.fut);
    settle();
    /* Client sockets first, then fill the table up to a low limit. */
    for (i = 0; i < 8; i++) cl[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = 256;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    while (n < 256 && (fds[n] = dup(0)) >= 0) n++;
    for (i = 0; i < 4; i++) /* four connect while no fd is free */
        if (connect(cl[i], (struct sockaddr *)&addr.ss, addr.len) < 0) CHECK(errno == EINPROGRESS);
    polls_before = loop.polls;
    settle();
    settle();
    /* It drained them (closed: the clients see the end) and now waits: a
     * few polls, not a spin. */
    CHECK(loop.polls - polls_before <= 4);
    CHECK_EQ(loop.accepted, 0);
    CHECK(lis.spare >= 0); /* the spare is back */
    /* Free fds: the next connection is accepted. */
    while (n > 0) close(fds[--n]);
    setrlimit(RLIMIT_NOFILE, &old);
    if (connect(cl[4], (struct sockaddr *)&addr.ss, addr.len) < 0) CHECK(errno == EINPROGRESS);
    settle();
    CHECK(loop.accepted >= 1);
    CHECK(loop.dropped >= 1); /* 4, but valgrind's own fds may leave one queued */
    CHECK(loop.dropped + loop.accepted <= 5);
    {
        char c;
        CHECK(read(cl[0], &c, 1) <= 0); /* a drained one was closed */
    }
    exec_abort(&tl);
    for (i = 0; i < 8; i++) close(cl[i]);
    io_fd_close(&lis);
    exec_destroy(&ex);
}

/* ---- signals --------------------------------------------------------------- */

static void test_signal_recv(void) {
    io_signal_t sig;
    io_signal_recv_t r;
    await1_t a;
    sigset_t set;
    setup();
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK_EQ(io_signal_open(&sig, &ex, &set), 0);
    raise(SIGUSR1);
    io_signal_recv_init(&r, &sig);
    await1_init(&a, &r.fut);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
    CHECK_EQ(a.err, 0);
    CHECK_EQ(r.signo, SIGUSR1);
    CHECK_EQ(io_signal_close(&sig), 0);
    /* The default set is SIGINT and SIGTERM (ctrl_c). */
    CHECK_EQ(io_signal_open(&sig, &ex, 0), 0);
    CHECK(sigismember(&sig.set, SIGINT) && sigismember(&sig.set, SIGTERM));
    raise(SIGTERM);
    io_signal_recv_init(&r, &sig);
    await1_init(&a, &r.fut);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
    CHECK_EQ(r.signo, SIGTERM);
    CHECK_EQ(io_signal_close(&sig), 0);
    CHECK_EQ(ex.nio, 0);
    exec_destroy(&ex);
}

/* A signal sent to the process while the loop waits for it: the loop
 * wakes. Without signalfd the loop thread blocks it here, so the handler
 * runs on the other thread and writes to the pipe from there. */
static void *kill_me_with_sigusr1(void *arg) {
    (void)arg;
#ifndef IO_SIGNALFD_
    {
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, SIGUSR1);
        pthread_sigmask(SIG_UNBLOCK, &one, 0); /* this thread catches it */
    }
#endif
    kill(getpid(), SIGUSR1);
    return 0;
}

static void test_signal_from_another_thread(void) {
    io_signal_t sig;
    io_signal_recv_t r;
    await1_t a;
    sigset_t set;
    pthread_t th;
    setup();
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, 0);
    CHECK_EQ(io_signal_open(&sig, &ex, &set), 0);
    io_signal_recv_init(&r, &sig);
    await1_init(&a, &r.fut);
    CHECK(pthread_create(&th, 0, kill_me_with_sigusr1, 0) == 0);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
    pthread_join(th, 0);
    CHECK_EQ(a.err, 0);
    CHECK_EQ(r.signo, SIGUSR1);
    CHECK_EQ(io_signal_close(&sig), 0);
    pthread_sigmask(SIG_UNBLOCK, &set, 0);
    exec_destroy(&ex);
}

#ifdef IO_SIGNALFD_
/* Two signal handles closed in the order they were opened: closing the
 * first must not unblock the second's signal (a SIGUSR2 would then kill
 * the process), nor anything blocked since. */
static void test_signal_close_keeps_other_handles_blocked(void) {
    io_signal_t s1, s2;
    sigset_t set1, set2, cur, pipe_set;
    setup();
    sigemptyset(&set1);
    sigaddset(&set1, SIGUSR1);
    sigemptyset(&set2);
    sigaddset(&set2, SIGUSR2);
    CHECK_EQ(io_signal_open(&s1, &ex, &set1), 0);
    CHECK_EQ(io_signal_open(&s2, &ex, &set2), 0);
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &pipe_set, 0); /* the app blocks one more */
    CHECK_EQ(io_signal_close(&s1), 0);
    pthread_sigmask(SIG_SETMASK, 0, &cur);
    CHECK(!sigismember(&cur, SIGUSR1));
    CHECK(sigismember(&cur, SIGUSR2)); /* s2 still open */
    CHECK(sigismember(&cur, SIGHUP));
    CHECK_EQ(io_signal_close(&s2), 0);
    pthread_sigmask(SIG_SETMASK, 0, &cur);
    CHECK(!sigismember(&cur, SIGUSR2));
    CHECK(sigismember(&cur, SIGHUP));
    pthread_sigmask(SIG_UNBLOCK, &pipe_set, 0);
    CHECK_EQ(ex.nio, 0);
    exec_destroy(&ex);
}
#else /* a handler and a self-pipe */

/* Receives one signal from s on x: its number, -errno, or -ETIMEDOUT
 * when none came within a second (of the paused clock: at once, once
 * what is in the pipe has been read). */
static int recv_one(exec_t *x, io_signal_t *s) {
    io_signal_recv_t r;
    race_t race;
    io_signal_recv_init(&r, s);
    race_init(&race, &r.fut, 1000);
    if (exec_block_on(x, &race.fut)) return -9999;
    if (race.which != 0) return -ETIMEDOUT;
    return future_err(&r.fut) ? future_err(&r.fut) : r.signo;
}

/* The handles of these tests are static: a failed CHECK returns with
 * them still open, and the handler must not then walk into a dead stack
 * frame (it would crash the tests after, not report this one). */

/* Every handle watching a signal gets each delivery, on any executor,
 * and deliveries are not coalesced: three raises are three receives. */
static void test_signal_every_handle_gets_every_delivery(void) {
    static exec_t ex2;
    static io_signal_t s1, s2;
    sigset_t set1, set2;
    unsigned char b;
    int i;
    setup();
    CHECK_EQ(exec_init(&ex2), 0);
    ex2.log = 0;
    exec_clock_pause(&ex2);
    sigemptyset(&set1);
    sigaddset(&set1, SIGUSR1);
    set2 = set1;
    sigaddset(&set2, SIGUSR2);
    CHECK_EQ(io_signal_open(&s1, &ex, &set1), 0);
    CHECK_EQ(io_signal_open(&s2, &ex2, &set2), 0);
    for (i = 0; i < 3; i++) raise(SIGUSR1);
    raise(SIGUSR2);
    for (i = 0; i < 3; i++) CHECK_EQ(recv_one(&ex, &s1), SIGUSR1);
    for (i = 0; i < 3; i++) CHECK_EQ(recv_one(&ex2, &s2), SIGUSR1);
    CHECK_EQ(recv_one(&ex2, &s2), SIGUSR2);
    CHECK_EQ(io_try_read(&s1.fd, &b, 1), -EAGAIN); /* nothing more for s1 */
    /* s1 closes first: s2 still catches SIGUSR1. */
    CHECK_EQ(io_signal_close(&s1), 0);
    raise(SIGUSR1);
    CHECK_EQ(recv_one(&ex2, &s2), SIGUSR1);
    CHECK_EQ(io_signal_close(&s2), 0);
    CHECK(io_signal_global_.list == 0);
    CHECK_EQ(ex.nio, 0);
    CHECK_EQ(ex2.nio, 0);
    exec_destroy(&ex2);
    exec_destroy(&ex);
}

static volatile sig_atomic_t app_caught;
static void app_handler(int sig) {
    (void)sig;
    app_caught++;
}

static sighandler_t handler_of(int sig) {
    struct sigaction cur;
    sigaction(sig, 0, &cur);
    return cur.sa_handler;
}

/* The app's own handler does not run while a handle watches its signal,
 * and is back when the last one closes (in whatever order they close);
 * a signal that had none is back to SIG_DFL. */
static void test_signal_close_restores_actions(void) {
    struct sigaction app, before;
    static io_signal_t s1, s2;
    sigset_t set1, set2;
    setup();
    memset(&app, 0, sizeof app);
    app.sa_handler = app_handler;
    sigemptyset(&app.sa_mask);
    sigaction(SIGUSR1, &app, &before);
    app_caught = 0;
    sigemptyset(&set1);
    sigaddset(&set1, SIGUSR1);
    set2 = set1;
    sigaddset(&set2, SIGUSR2);
    CHECK(handler_of(SIGUSR2) == SIG_DFL);
    CHECK_EQ(io_signal_open(&s1, &ex, &set1), 0);
    CHECK_EQ(io_signal_open(&s2, &ex, &set2), 0);
    CHECK(handler_of(SIGUSR1) != app_handler);
    raise(SIGUSR1);
    CHECK_EQ(app_caught, 0);
    CHECK_EQ(io_signal_close(&s1), 0); /* s2 still watches both */
    CHECK(handler_of(SIGUSR1) != app_handler);
    raise(SIGUSR1);
    CHECK_EQ(app_caught, 0);
    CHECK_EQ(recv_one(&ex, &s2), SIGUSR1);
    CHECK_EQ(recv_one(&ex, &s2), SIGUSR1);
    CHECK_EQ(io_signal_close(&s2), 0);
    CHECK(handler_of(SIGUSR1) == app_handler);
    CHECK(handler_of(SIGUSR2) == SIG_DFL);
    raise(SIGUSR1);
    CHECK_EQ(app_caught, 1);
    sigaction(SIGUSR1, &before, 0);
    exec_destroy(&ex);
}

/* The pipe full (the loop far behind): the handler neither blocks nor
 * changes errno, the deliveries that do not fit are lost, and the ones
 * that fit are all received. */
static void test_signal_pipe_full(void) {
    static io_signal_t s;
    sigset_t set;
    static unsigned char buf[1 << 16];
    int cap, i, lost_errno, got;
    ssize_t rest;
    setup();
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK_EQ(io_signal_open(&s, &ex, &set), 0);
    cap = fcntl(s.wfd, F_SETPIPE_SZ, 4096); /* the smallest: fewer raises */
    if (cap < 0 || cap > (int)sizeof buf) cap = 0; /* CHECKed below */
    for (i = 0; i < cap; i++) raise(SIGUSR1);
    errno = EDOM;
    raise(SIGUSR1); /* no room: lost */
    lost_errno = errno;
    got = recv_one(&ex, &s);
    rest = read(io_fd_get(&s.fd), buf, sizeof buf);
    CHECK_EQ(io_signal_close(&s), 0);
    exec_destroy(&ex);
    CHECK(cap > 0);
    CHECK_EQ(lost_errno, EDOM);
    CHECK_EQ(got, SIGUSR1);
    CHECK_EQ(rest, cap - 1);
}
#endif /* IO_SIGNALFD_ */

/* Every fd io.h makes is non-blocking and close-on-exec from the start
 * (socket, accept; the signalfd or the signal pipe), whichever way this
 * system makes them (SOCK_NONBLOCK, accept4, or fcntl after the call). */
static int nonblocking_cloexec(int fd) {
    int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
    return fl >= 0 && (fl & O_NONBLOCK) && fdfl >= 0 && (fdfl & FD_CLOEXEC);
}

static void test_new_fds_are_nonblocking_and_cloexec(void) {
    io_fd_t lis, cli, srv;
    io_accept_t acc;
    io_addr_t addr;
    io_signal_t sig;
    await1_t a;
    int c;
    setup();
    CHECK_EQ(tcp_pair("127.0.0.1", &cli, &srv, &lis), 0);
    CHECK(nonblocking_cloexec(io_fd_get(&lis)));
    CHECK(nonblocking_cloexec(io_fd_get(&cli)));
    /* An accepted fd as accept gives it (io_fd_open would set O_NONBLOCK). */
    io_local_addr(&lis, &addr);
    c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(connect(c, (struct sockaddr *)&addr.ss, addr.len) == 0);
    io_accept_init(&acc, &lis);
    await1_init(&a, &acc.fut);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
    CHECK_EQ(a.err, 0);
    CHECK(nonblocking_cloexec(acc.fd));
    close(acc.fd);
    close(c);
    CHECK_EQ(io_signal_open(&sig, &ex, 0), 0);
    CHECK(nonblocking_cloexec(io_fd_get(&sig.fd)));
#ifndef IO_SIGNALFD_
    CHECK(nonblocking_cloexec(sig.wfd)); /* a blocking one would hang a handler */
#endif
    CHECK_EQ(io_signal_close(&sig), 0);
    io_fd_close(&cli);
    io_fd_close(&srv);
    io_fd_close(&lis);
    CHECK_EQ(ex.nio, 0);
    exec_destroy(&ex);
}

/* ---- misc ------------------------------------------------------------------ */

static void test_addresses_and_sizes(void) {
    io_addr_t a;
    CHECK_EQ(io_addr_parse(&a, "127.0.0.1", 6379), 0);
    CHECK_EQ(io_addr_port(&a), 6379);
    CHECK_EQ(io_addr_parse(&a, "::1", 80), 0);
    CHECK_EQ(a.ss.ss_family, AF_INET6);
    CHECK_EQ(io_addr_parse(&a, 0, 1), 0);
    CHECK_EQ(a.ss.ss_family, AF_INET);
    CHECK_EQ(io_addr_parse(&a, "localhost", 1), -EINVAL); /* no DNS */
    CHECK_EQ(io_addr_parse(&a, "1.2.3.4", 70000), -EINVAL);
#ifdef EXEC_BACKEND_POLL
    CHECK(sizeof(io_fd_t) <= 48 + 2 * sizeof(void *)); /* + its link in the fd list */
#else
    CHECK(sizeof(io_fd_t) <= 48);
#endif
    /* A future_t header (56 B on 64-bit) plus what the operation needs. */
    CHECK(sizeof(io_read_t) <= sizeof(future_t) + 48);
    CHECK(sizeof(io_readable_t) <= sizeof(future_t) + 24);
}

static void test_regular_file_is_eperm(void) {
    io_fd_t f;
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    setup();
    CHECK(fd >= 0);
    CHECK_EQ(io_fd_open(&f, &ex, fd), -EPERM);
    CHECK(!io_fd_is_open(&f));
    CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK)); /* fd untouched */
    close(fd);
    exec_destroy(&ex);
}

int main(void) {
    RUN(test_pipe_read_waits_for_the_writer);
    RUN(test_waiting_read_is_not_polled_again);
    RUN(test_eventfd_readable);
    RUN(test_write_all_and_read_exact_through_a_socketpair);
    RUN(test_read_exact_at_the_end_is_io_eof);
    RUN(test_short_read_then_end_does_not_hang);
    RUN(test_epipe_not_sigpipe);
    RUN(test_tcp_v4_and_v6_echo);
    RUN(test_connection_reset_is_a_value);
    RUN(test_connect_refused);
    RUN(test_connect_under_timeout);
    RUN(test_close_while_waiting_is_ebadf);
    RUN(test_two_readers_is_misuse);
    RUN(test_fd_polled_on_another_executor_is_misuse);
    RUN(test_drop_every_io_future_while_it_waits);
    RUN(test_accept_under_emfile_does_not_spin);
    RUN(test_signal_recv);
    RUN(test_signal_from_another_thread);
#ifdef IO_SIGNALFD_
    RUN(test_signal_close_keeps_other_handles_blocked);
#else
    RUN(test_signal_every_handle_gets_every_delivery);
    RUN(test_signal_close_restores_actions);
    RUN(test_signal_pipe_full);
#endif
    RUN(test_new_fds_are_nonblocking_and_cloexec);
    RUN(test_addresses_and_sizes);
    RUN(test_regular_file_is_eperm);
    return check_summary();
}
