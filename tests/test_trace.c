/* Tests of the async backtrace: what each waiting library future says it
 * is doing (future_describe: timer.h, io.h, blocking.h, fs.h), and
 * exec_dump's tree of tasks, scopes and frames, end to end, in the stall
 * report and the blocked-executor detector's report. Timers run on a bare
 * wheel or the paused clock; I/O on socketpairs; blocking jobs wait on a
 * condition the test releases, fs jobs on FIFOs the test opens. */
#include "check.h"
#include "../fs.h"
#include "../io.h"
#include <sys/stat.h>

/* ---- helpers -------------------------------------------------------------- */

static char said_buf[512];

/* What future f says it is doing. */
static const char *said(const void *f) {
    future_fmt_t o = {said_buf, sizeof said_buf, 0, 0, 0};
    said_buf[0] = 0;
    future_describe((const future_t *)f, &o);
    return said_buf;
}

#define CHECK_SAID(f, want)                                                    \
    do {                                                                       \
        const char *got_ = said(f);                                            \
        if (strcmp(got_, (want)) != 0) {                                       \
            printf("    %s:%d: said \"%s\"\n      wanted \"%s\"\n", __FILE__,  \
                   __LINE__, got_, (want));                                    \
            check_failed_now_ = 1;                                             \
            return;                                                            \
        }                                                                      \
    } while (0)

/* text contains needle (printed in full when not). */
#define CHECK_HAS(text, needle)                                                \
    do {                                                                       \
        if (!strstr((text), (needle))) {                                       \
            printf("    %s:%d: no \"%s\" in:\n%s\n", __FILE__, __LINE__,       \
                   (needle), (text));                                          \
            check_failed_now_ = 1;                                             \
            return;                                                            \
        }                                                                      \
    } while (0)

#define CHECK_TEXT(text, want)                                                 \
    do {                                                                       \
        if (strcmp((text), (want)) != 0) {                                     \
            printf("    %s:%d: got:\n%s    wanted:\n%s", __FILE__, __LINE__,   \
                   (text), (want));                                            \
            check_failed_now_ = 1;                                             \
            return;                                                            \
        }                                                                      \
    } while (0)

/* The async backtrace of f as future_trace gives it, two spaces a level. */
static char trace_buf[1024];
static void trace_line(void *ctx, int depth, const future_t *f) {
    size_t n = strlen(trace_buf);
    (void)ctx;
    snprintf(trace_buf + n, sizeof trace_buf - n, "%*s%s\n", 2 * depth, "", said(f));
}
static const char *trace_of(const void *f) {
    trace_buf[0] = 0;
    future_trace((const future_t *)f, 0, trace_line, 0);
    return trace_buf;
}

/* exec_dump into a string (the caller frees it). */
static char *dump(const exec_t *e) {
    char *buf = 0;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) abort();
    exec_dump(e, mem);
    fclose(mem);
    return buf;
}

static void nop_wake(future_waker_t *w) { (void)w; }
static future_waker_t nop_waker = {nop_wake};

/* A context on ex for polling a future by hand (nothing is woken). */
static future_cx_t cx_on(exec_t *e) {
    future_cx_t cx;
    future_cx_init(&cx, &nop_waker);
    cx.exec = e;
    cx.timers = &e->timers;
    return cx;
}

/* A future that yields until the loop has made n more turns: block on it
 * to let the spawned tasks run, and the reactor look at the fds between
 * turns, without the (paused) clock moving. */
typedef struct {
    future_t fut;
    int turns;
    uint64_t until;
} settle_t;

static coro_poll_t settle_poll(future_t *self, future_cx_t *cx) {
    settle_t *s = (settle_t *)(void *)self;
    exec_t *e = exec_of(cx);
    if (!s->until) s->until = e->stats.turns + (uint64_t)s->turns;
    if (e->stats.turns < s->until) {
        future_wake(cx->waker);
        return CORO_PENDING;
    }
    return future_finish(self, 0);
}

static int settle(exec_t *e, int turns) {
    settle_t s;
    future_init(&s.fut, settle_poll, 0);
    s.turns = turns;
    s.until = 0;
    return exec_block_on(e, &s);
}

static void pause_a_little(void) {
    struct timespec ts = {0, 100000};
    nanosleep(&ts, 0);
}

/* Wait (up to 10 s) until a pool thread has moved b to state st. */
static int reached(const blocking_t *b, int st) {
    int i;
    for (i = 0; i < 100000 && EXEC_LOAD_(&b->state) != st; i++) pause_a_little();
    return EXEC_LOAD_(&b->state) == st;
}

/* ---- a finished future is not asked to describe itself -------------------- */

/* A leaf whose describe hook reads state it lets go of when it finishes
 * (as a name lookup frees its request): a dump that walks a JOIN's
 * finished children must not call it. */
typedef struct {
    future_t fut;
    const char *state; /* 0 once finished */
} fragile_t;

static void fragile_describe(const future_t *f, future_fmt_t *o) {
    const fragile_t *g = (const fragile_t *)(const void *)f;
    future_fmt_str(o, g->state); /* a finished one would pass 0 here */
}

static coro_poll_t fragile_poll(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "fragile", fragile_describe};
    fragile_t *g = (fragile_t *)(void *)self;
    (void)cx;
    future_set_kind(self, &kind);
    if (g->state[0] == 'w') { /* "waiting": one pending poll, then done */
        g->state = "last poll";
        return CORO_PENDING;
    }
    g->state = 0;
    return future_finish(self, 0);
}

static void test_finished_future_is_described_by_name_only(void) {
    fragile_t g;
    future_cx_t cx;
    future_cx_init(&cx, &nop_waker);
    future_init(&g.fut, fragile_poll, 0);
    g.state = "waiting";
    CHECK_EQ(future_poll(&g, &cx), CORO_PENDING);
    CHECK_SAID(&g, "fragile last poll");
    CHECK_EQ(future_poll(&g, &cx), CORO_READY);
    CHECK_SAID(&g, "fragile (finished)"); /* the hook is not called */
}

/* ---- timer.h ------------------------------------------------------------- */

static void test_fmt_duration(void) {
    char b[64];
    future_fmt_t o = {b, sizeof b, 0, 0, 0};
    timer_fmt_duration(&o, 0);
    future_fmt_str(&o, ",");
    timer_fmt_duration(&o, 999);
    future_fmt_str(&o, ",");
    timer_fmt_duration(&o, TIMER_US);
    future_fmt_str(&o, ",");
    timer_fmt_duration(&o, 999999);
    future_fmt_str(&o, ",");
    timer_fmt_duration(&o, TIMER_MS);
    future_fmt_str(&o, ",");
    timer_fmt_duration(&o, 5 * TIMER_SEC + 1);
    CHECK_TEXT(b, "0 ns,999 ns,1 us,999 us,1 ms,5000 ms");
}

static void test_sleep_says_duration_and_time_left(void) {
    timer_wheel_t w;
    future_cx_t cx;
    timer_sleep_t s;
    timer_wheel_init(&w, 0);
    future_cx_init(&cx, &nop_waker);
    cx.timers = &w;
    timer_sleep_init(&s, 10 * TIMER_MS);
    CHECK_SAID(&s, "(not started)"); /* lazy: nothing yet */
    CHECK_EQ(future_poll(&s, &cx), CORO_PENDING);
    CHECK_SAID(&s, "sleep 10 ms (10 ms left)");
    timer_wheel_advance(&w, 7 * TIMER_MS);
    CHECK_SAID(&s, "sleep 10 ms (3 ms left)");
    timer_wheel_advance(&w, 10 * TIMER_MS - 500 * TIMER_US);
    CHECK_SAID(&s, "sleep 10 ms (500 us left)");
    timer_wheel_advance(&w, 10 * TIMER_MS - 750);
    CHECK_SAID(&s, "sleep 10 ms (750 ns left)");
    timer_wheel_advance(&w, 10 * TIMER_MS); /* fires; not yet polled */
    CHECK_SAID(&s, "sleep 10 ms (due)");
    CHECK_EQ(future_poll(&s, &cx), CORO_READY);
    /* a deadline (the clock is at 10 ms) */
    timer_sleep_until_init(&s, 1234 * TIMER_MS);
    CHECK_EQ(future_poll(&s, &cx), CORO_PENDING);
    CHECK_SAID(&s, "sleep until 1234 ms (1224 ms left)");
    future_drop(&s);
    /* short ones: us and ns */
    timer_sleep_init(&s, 500 * TIMER_US);
    CHECK_EQ(future_poll(&s, &cx), CORO_PENDING);
    CHECK_SAID(&s, "sleep 500 us (500 us left)");
    future_drop(&s);
    timer_sleep_init(&s, 40);
    CHECK_EQ(future_poll(&s, &cx), CORO_PENDING);
    CHECK_SAID(&s, "sleep 40 ns (40 ns left)");
    future_drop(&s);
    /* never: registers nothing, waits forever */
    timer_sleep_until_init(&s, TIMER_NEVER);
    CHECK_EQ(future_poll(&s, &cx), CORO_PENDING);
    CHECK_SAID(&s, "sleep forever");
    future_drop(&s);
    timer_sleep_init(&s, TIMER_NEVER - 1); /* saturates */
    CHECK_EQ(future_poll(&s, &cx), CORO_PENDING);
    CHECK_SAID(&s, "sleep forever");
    future_drop(&s);
    CHECK_EQ(timer_wheel_count(&w), 0);
}

/* The deadline stays what it was for every reader (timer_sleep_deadline),
 * though a relative sleep keeps its duration for the description. */
static void test_sleep_deadline_unchanged(void) {
    timer_wheel_t w;
    future_cx_t cx;
    timer_sleep_t s;
    timer_wheel_init(&w, 100);
    future_cx_init(&cx, &nop_waker);
    cx.timers = &w;
    timer_sleep_init(&s, 50);
    CHECK_EQ(timer_sleep_deadline(&s), TIMER_NEVER);
    CHECK_EQ(future_poll(&s, &cx), CORO_PENDING);
    CHECK_EQ(timer_sleep_deadline(&s), 150);
    future_drop(&s);
    CHECK_EQ(timer_sleep_deadline(&s), 150);
    timer_sleep_until_init(&s, 400);
    CHECK_EQ(timer_sleep_deadline(&s), 400);
    timer_sleep_reset(&s, 500);
    CHECK_EQ(timer_sleep_deadline(&s), 500);
}

static void test_timeout_says_its_limit_and_shows_its_inner(void) {
    timer_wheel_t w;
    future_cx_t cx;
    timer_sleep_t inner;
    timer_timeout_t t;
    timer_wheel_init(&w, 0);
    future_cx_init(&cx, &nop_waker);
    cx.timers = &w;
    timer_sleep_until_init(&inner, TIMER_NEVER);
    timer_timeout_init(&t, &inner, 100 * TIMER_MS);
    CHECK_EQ(future_poll(&t, &cx), CORO_PENDING);
    timer_wheel_advance(&w, 60 * TIMER_MS);
    CHECK_SAID(&t, "timeout 100 ms (40 ms left)");
    CHECK_TEXT(trace_of(&t), "timeout 100 ms (40 ms left)\n"
                             "  sleep forever\n"
                             "  sleep 100 ms (40 ms left)\n");
    timer_wheel_advance(&w, 100 * TIMER_MS);
    CHECK_EQ(future_poll(&t, &cx), CORO_READY);
    CHECK_EQ(future_err(&t), -ETIMEDOUT);
    CHECK_EQ(timer_wheel_count(&w), 0);
}

static void test_interval_says_period_and_ticks(void) {
    timer_wheel_t w;
    future_cx_t cx;
    timer_interval_t iv;
    timer_wheel_init(&w, 10 * TIMER_MS);
    future_cx_init(&cx, &nop_waker);
    cx.timers = &w;
    timer_interval_init(&iv, 10 * TIMER_MS, TIMER_MISSED_BURST);
    CHECK_EQ(future_poll(&iv, &cx), CORO_READY); /* the first tick: at once */
    CHECK_EQ(future_poll(&iv, &cx), CORO_PENDING);
    CHECK_SAID(&iv, "interval every 10 ms (1 tick)");
    timer_wheel_advance(&w, 14 * TIMER_MS);
    CHECK_TEXT(trace_of(&iv), "interval every 10 ms (1 tick)\n"
                              "  sleep until 20 ms (6 ms left)\n");
    timer_wheel_advance(&w, 20 * TIMER_MS);
    CHECK_EQ(future_poll(&iv, &cx), CORO_READY);
    CHECK_EQ(iv.last, 20 * TIMER_MS);
    CHECK_EQ(future_poll(&iv, &cx), CORO_PENDING);
    CHECK_SAID(&iv, "interval every 10 ms (2 ticks)");
    future_drop(&iv);
    CHECK_EQ(timer_wheel_count(&w), 0);
}

/* ---- io.h ----------------------------------------------------------------- */

static int pair_open(exec_t *e, io_fd_t *a, int *peer) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return -errno;
    *peer = sv[1];
    return io_fd_open(a, e, sv[0]);
}

/* A fresh fd is not ready until the reactor says so: polled by hand (the
 * reactor never runs), every io future waits at its first poll. */
static void test_io_futures_say_their_fd(void) {
    exec_t e;
    future_cx_t cx;
    io_fd_t a;
    int peer, fd;
    char buf[16];
    io_read_t rd;
    io_write_t wr;
    io_readable_t rb;
    io_writable_t wb;
    char want[128];
    CHECK_EQ(exec_init(&e), 0);
    cx = cx_on(&e);
    CHECK_EQ(pair_open(&e, &a, &peer), 0);
    fd = io_fd_get(&a);
    io_read_init(&rd, &a, buf, sizeof buf);
    io_write_init(&wr, &a, "0123456789", 10);
    CHECK_EQ(future_poll(&rd, &cx), CORO_PENDING);
    CHECK_EQ(future_poll(&wr, &cx), CORO_PENDING);
    snprintf(want, sizeof want, "read fd %d", fd);
    CHECK_SAID(&rd, want);
    snprintf(want, sizeof want, "write fd %d (10 bytes)", fd);
    CHECK_SAID(&wr, want);
    future_drop(&rd);
    future_drop(&wr);
    io_readable_init(&rb, &a);
    io_writable_init(&wb, &a);
    CHECK_EQ(future_poll(&rb, &cx), CORO_PENDING);
    CHECK_EQ(future_poll(&wb, &cx), CORO_PENDING);
    snprintf(want, sizeof want, "readable fd %d", fd);
    CHECK_SAID(&rb, want);
    snprintf(want, sizeof want, "writable fd %d", fd);
    CHECK_SAID(&wb, want);
    /* closed under them: they say so (and finish with -EBADF) */
    io_fd_close(&a);
    CHECK_SAID(&rb, "readable (closed fd)");
    CHECK_EQ(future_poll(&rb, &cx), CORO_READY);
    CHECK_EQ(future_err(&rb), -EBADF);
    future_drop(&wb);
    close(peer);
    exec_destroy(&e);
}

static void test_accept_and_connect_say_where(void) {
    exec_t e;
    future_cx_t cx;
    io_fd_t lis, cli;
    io_addr_t addr;
    io_accept_t acc;
    io_connect_t con;
    char want[128];
    CHECK_EQ(exec_init(&e), 0);
    cx = cx_on(&e);
    CHECK_EQ(io_addr_parse(&addr, "127.0.0.1", 0), 0);
    CHECK_EQ(io_listen(&lis, &e, &addr, 16, 0), 0);
    CHECK_EQ(io_local_addr(&lis, &addr), 0);
    io_accept_init(&acc, &lis);
    CHECK_EQ(future_poll(&acc, &cx), CORO_PENDING);
    snprintf(want, sizeof want, "accept fd %d", io_fd_get(&lis));
    CHECK_SAID(&acc, want);
    acc.backing_off = 1; /* as under EMFILE without a spare fd */
    snprintf(want, sizeof want, "accept fd %d (out of fds: retrying in %d ms)",
             io_fd_get(&lis), IO_ACCEPT_BACKOFF_MS);
    CHECK_SAID(&acc, want);
    acc.backing_off = 0;
    io_connect_init(&con, &cli, &addr);
    CHECK_EQ(future_poll(&con, &cx), CORO_PENDING);
    snprintf(want, sizeof want, "connect fd %d to 127.0.0.1:%d", io_fd_get(&cli),
             io_addr_port(&addr));
    CHECK_SAID(&con, want);
    future_drop(&con);
    future_drop(&acc);
    /* IPv6, where the machine has it */
    CHECK_EQ(io_addr_parse(&addr, "::1", 9), 0);
    io_connect_init(&con, &cli, &addr);
    if (future_poll(&con, &cx) == CORO_PENDING) {
        snprintf(want, sizeof want, "connect fd %d to [::1]:9", io_fd_get(&cli));
        CHECK_SAID(&con, want);
        future_drop(&con);
    }
    io_fd_close(&lis);
    exec_destroy(&e);
}

static void test_signal_wait_names_its_signals(void) {
    exec_t e;
    future_cx_t cx;
    io_signal_t sig;
    io_signal_recv_t r;
    sigset_t set;
    char want[128];
    CHECK_EQ(exec_init(&e), 0);
    cx = cx_on(&e);
    CHECK_EQ(io_signal_open(&sig, &e, 0), 0); /* SIGINT and SIGTERM */
    io_signal_recv_init(&r, &sig);
    CHECK_EQ(future_poll(&r, &cx), CORO_PENDING);
    CHECK_SAID(&r, "signal wait (SIGINT, SIGTERM)");
    future_drop(&r);
    io_signal_close(&sig);
    sigemptyset(&set); /* a common one by name, another by number */
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGURG);
    CHECK_EQ(io_signal_open(&sig, &e, &set), 0);
    io_signal_recv_init(&r, &sig);
    CHECK_EQ(future_poll(&r, &cx), CORO_PENDING);
    snprintf(want, sizeof want, SIGUSR2 < SIGURG ? "signal wait (SIGUSR2, %d)"
                                                 : "signal wait (%d, SIGUSR2)", SIGURG);
    CHECK_SAID(&r, want);
    future_drop(&r);
    io_signal_close(&sig);
    sigemptyset(&set);
    CHECK_EQ(io_signal_open(&sig, &e, &set), 0);
    io_signal_recv_init(&r, &sig);
    CHECK_EQ(future_poll(&r, &cx), CORO_PENDING);
    CHECK_SAID(&r, "signal wait (no signal)");
    future_drop(&r);
    io_signal_close(&sig);
    exec_destroy(&e);
}

/* read_exact and write_all say how far they got: tasks on the executor,
 * so that the reactor sees the fds ready and bytes move. */
static void test_exact_io_says_progress(void) {
    exec_t e;
    io_fd_t a, b;
    int pa, pb, small = 4096;
    exec_task_t tr = {0}, tw = {0};
    io_read_exact_t rx;
    io_write_all_t wx;
    static char big[1 << 20];
    char buf[8], want[160], *text;
    CHECK_EQ(exec_init(&e), 0);
    exec_clock_pause(&e);
    CHECK_EQ(pair_open(&e, &a, &pa), 0);
    CHECK_EQ(pair_open(&e, &b, &pb), 0);
    setsockopt(io_fd_get(&b), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    CHECK_EQ(write(pa, "abc", 3), 3);
    io_read_exact_init(&rx, &a, buf, sizeof buf);
    io_write_all_init(&wx, &b, big, sizeof big);
    CHECK_EQ(exec_spawn(&tr, &e, &rx), 0);
    exec_task_set_name(&tr, "rx");
    CHECK_EQ(exec_spawn(&tw, &e, &wx), 0);
    exec_task_set_name(&tw, "tx");
    CHECK_EQ(settle(&e, 6), 0);
    CHECK_EQ(rx.n, 3);
    snprintf(want, sizeof want, "read_exact fd %d (3/8 bytes)", io_fd_get(&a));
    CHECK_SAID(&rx, want);
    CHECK(wx.n > 0 && wx.n < sizeof big);
    snprintf(want, sizeof want, "write_all fd %d (%zu/%zu bytes)", io_fd_get(&b), wx.n,
             sizeof big);
    CHECK_SAID(&wx, want);
    text = dump(&e); /* newest first */
    snprintf(want, sizeof want,
             "  task \"tx\"\n    write_all fd %d (%zu/%zu bytes)\n"
             "  task \"rx\"\n    read_exact fd %d (3/8 bytes)\n",
             io_fd_get(&b), wx.n, sizeof big, io_fd_get(&a));
    CHECK_TEXT(text, want);
    free(text);
    exec_shutdown(&e);
    io_fd_close(&a);
    io_fd_close(&b);
    close(pa);
    close(pb);
    exec_destroy(&e);
}

/* ---- blocking.h ---------------------------------------------------------- */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open, gate_entered;

static int64_t gate_job(void *arg, blocking_job_t *job) {
    (void)arg;
    (void)job;
    pthread_mutex_lock(&gate_mu);
    gate_entered++;
    pthread_cond_broadcast(&gate_cv);
    while (!gate_open) pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    return 7;
}

static void gate_set(int open) {
    pthread_mutex_lock(&gate_mu);
    gate_open = open;
    if (!open) gate_entered = 0;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

static void gate_wait_entered(int n) {
    pthread_mutex_lock(&gate_mu);
    while (gate_entered < n) pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
}

static void test_spawn_blocking_says_queued_or_running(void) {
    exec_t e;
    blocking_pool_t pool;
    blocking_pool_opts_t o;
    blocking_t a, b;
    exec_task_t ta = {0}, tb = {0};
    char *text;
    memset(&o, 0, sizeof o);
    o.threads = o.max_threads = 1; /* one job runs, the next waits */
    CHECK_EQ(exec_init(&e), 0);
    exec_clock_pause(&e);
    CHECK_EQ(blocking_pool_init(&pool, &e, &o), 0);
    gate_set(0);
    blocking_init(&a, &pool, gate_job, 0);
    blocking_init(&b, &pool, gate_job, 0);
    CHECK_SAID(&a, "(not started)");
    CHECK_EQ(exec_spawn(&ta, &e, &a), 0);
    exec_task_set_name(&ta, "job a");
    CHECK_EQ(settle(&e, 1), 0); /* a is submitted first */
    CHECK_EQ(exec_spawn(&tb, &e, &b), 0);
    exec_task_set_name(&tb, "job b");
    CHECK_EQ(settle(&e, 1), 0);
    gate_wait_entered(1);
    CHECK(reached(&a, BLOCKING_RUNNING_));
    CHECK_SAID(&a, "spawn_blocking (running)"); /* no time passed */
    CHECK_SAID(&b, "spawn_blocking (queued)");
    exec_clock_advance(&e, 12 * TIMER_MS);
    CHECK_SAID(&a, "spawn_blocking (running, submitted 12 ms ago)");
    CHECK_SAID(&b, "spawn_blocking (queued, submitted 12 ms ago)");
    text = dump(&e);
    CHECK_TEXT(text, "  task \"job b\"\n    spawn_blocking (queued, submitted 12 ms ago)\n"
                     "  task \"job a\"\n    spawn_blocking (running, submitted 12 ms ago)\n");
    free(text);
    gate_set(1);
    CHECK(reached(&a, BLOCKING_DONE_)); /* done, its task not yet polled */
    CHECK_SAID(&a, "spawn_blocking (done)");
    CHECK_EQ(exec_run(&e), 0);
    CHECK_EQ(a.result, 7);
    CHECK_EQ(b.result, 7);
    exec_destroy(&e);
    blocking_pool_destroy(&pool);
}

/* ---- fs.h ----------------------------------------------------------------- */

/* One chunk of an fs_chunks_t, awaited from an async body. */
typedef struct {
    future_t fut;
    fs_chunks_t ch;
} chunk1_t;

static coro_poll_t chunk1_poll(future_t *self, future_cx_t *cx) {
    chunk1_t *f = (chunk1_t *)(void *)self;
    ASYNC_BEGIN(f);
    AWAIT(cx, &f->ch);
    ASYNC_RETURN(future_err(&f->ch));
    ASYNC_END();
}

/* The jobs block in open(2) on FIFOs until the test opens the other end:
 * each is seen queued behind the others, then running, then done. */
static void test_fs_helpers_say_path_and_state(void) {
    exec_t e;
    blocking_pool_t pool;
    blocking_pool_opts_t o;
    char dir[] = "/tmp/weft_trace_XXXXXX", pa[64], pb[64], pc[64], want[256];
    char buf[16], chunk[16], got[16], *text;
    fs_read_t r;
    fs_write_t w;
    chunk1_t c;
    exec_task_t tr = {0}, tw = {0}, tc = {0};
    int fd;
    memset(&o, 0, sizeof o);
    o.threads = o.max_threads = 1;
    CHECK(mkdtemp(dir) != 0);
    snprintf(pa, sizeof pa, "%s/a", dir);
    snprintf(pb, sizeof pb, "%s/b", dir);
    snprintf(pc, sizeof pc, "%s/c", dir);
    CHECK_EQ(mkfifo(pa, 0600), 0);
    CHECK_EQ(mkfifo(pb, 0600), 0);
    CHECK_EQ(mkfifo(pc, 0600), 0);
    CHECK_EQ(exec_init(&e), 0);
    exec_clock_pause(&e);
    CHECK_EQ(blocking_pool_init(&pool, &e, &o), 0);
    fs_read_init(&r, &pool, pa, buf, sizeof buf);
    fs_write_init(&w, &pool, pb, "hello", 5);
    future_init(&c.fut, chunk1_poll, 0);
    fs_chunks_init(&c.ch, &pool, pc, chunk, sizeof chunk);
    CHECK_EQ(exec_spawn(&tr, &e, &r), 0);
    exec_task_set_name(&tr, "reader");
    CHECK_EQ(settle(&e, 1), 0); /* the read is first in line */
    CHECK_EQ(exec_spawn(&tw, &e, &w), 0);
    exec_task_set_name(&tw, "writer");
    CHECK_EQ(exec_spawn(&tc, &e, &c), 0);
    exec_task_set_name(&tc, "chunks");
    CHECK_EQ(settle(&e, 2), 0);
    CHECK(reached(&r.op.job, BLOCKING_RUNNING_));
    snprintf(want, sizeof want, "fs read \"%s\" (running)", pa);
    CHECK_SAID(&r, want);
    CHECK_SAID(&r.op.job, "spawn_blocking (running)");
    snprintf(want, sizeof want, "fs write \"%s\" (5 bytes, queued)", pb);
    CHECK_SAID(&w, want);
    /* the tree: each helper with its job beneath it */
    text = dump(&e);
    snprintf(want, sizeof want,
             "  task \"chunks\"\n    %s\n      fs chunks \"%s\" (chunk at 0, queued)\n"
             "        spawn_blocking (queued)\n",
             c.fut.co.at, pc);
    CHECK_HAS(text, want);
    snprintf(want, sizeof want,
             "  task \"reader\"\n    fs read \"%s\" (running)\n      spawn_blocking (running)\n",
             pa);
    CHECK_HAS(text, want);
    free(text);
    /* let the read through: it is done; the write runs */
    fd = open(pa, O_WRONLY);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "hi", 2), 2);
    close(fd);
    CHECK(reached(&r.op.job, BLOCKING_DONE_));
    snprintf(want, sizeof want, "fs read \"%s\" (done)", pa);
    CHECK_SAID(&r, want);
    CHECK(reached(&w.op.job, BLOCKING_RUNNING_));
    snprintf(want, sizeof want, "fs write \"%s\" (5 bytes, running)", pb);
    CHECK_SAID(&w, want);
    fd = open(pb, O_RDONLY);
    CHECK(fd >= 0);
    while (read(fd, got, sizeof got) > 0) {}
    close(fd);
    CHECK(reached(&c.ch.op.job, BLOCKING_RUNNING_));
    snprintf(want, sizeof want, "fs chunks \"%s\" (chunk at 0, running)", pc);
    CHECK_SAID(&c.ch, want);
    fd = open(pc, O_WRONLY);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ(exec_run(&e), 0);
    CHECK_EQ(exec_task_err(&tr), 0);
    CHECK_EQ(r.len, 2);
    CHECK_EQ(exec_task_err(&tw), 0);
    CHECK_EQ(w.written, 5);
    CHECK(exec_task_done(&tc));
    exec_destroy(&e);
    blocking_pool_destroy(&pool);
    unlink(pa);
    unlink(pb);
    unlink(pc);
    rmdir(dir);
}

/* ---- exec_dump, end to end ----------------------------------------------- */

/* Waits for a 50 ms sleep under a 100 ms timeout. */
typedef struct {
    future_t fut;
    timer_sleep_t nap;
    timer_timeout_t limit;
} napper_t;

static coro_poll_t napper_poll(future_t *self, future_cx_t *cx) {
    napper_t *f = (napper_t *)(void *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, 50 * TIMER_MS);
    timer_timeout_init(&f->limit, &f->nap, 100 * TIMER_MS);
    AWAIT(cx, &f->limit);
    ASYNC_END();
}

static void test_dump_names_tasks_and_kinds(void) {
    exec_t e;
    exec_task_t tn = {0}, tu = {0};
    napper_t n;
    timer_sleep_t bare;
    char want[512], *text;
    CHECK_EQ(exec_init(&e), 0);
    exec_clock_pause(&e);
    future_init(&n.fut, napper_poll, 0);
    timer_sleep_init(&bare, 20 * TIMER_MS);
    CHECK_EQ(exec_spawn(&tn, &e, &n), 0);
    exec_task_set_name(&tn, "napper");
    CHECK_EQ(exec_spawn(&tu, &e, &bare), 0); /* no name */
    CHECK_EQ(settle(&e, 2), 0);
    exec_clock_advance(&e, 15 * TIMER_MS);
    text = dump(&e);
    snprintf(want, sizeof want,
             "  task 0x%llx\n"
             "    sleep 20 ms (5 ms left)\n"
             "  task \"napper\"\n"
             "    %s\n"
             "      timeout 100 ms (85 ms left)\n"
             "        sleep 50 ms (35 ms left)\n"
             "        sleep 100 ms (85 ms left)\n",
             (unsigned long long)(uintptr_t)&tu, n.fut.co.at);
    CHECK_TEXT(text, want);
    CHECK_HAS(n.fut.co.at, "test_trace.c:");
    free(text);
    exec_destroy(&e);
}

/* Spawns three sleeps into a scope named "workers" (one of them done at
 * once), then sleeps 5 ms itself. */
typedef struct {
    future_t fut;
    exec_scope_t scope;
    exec_task_t tw[3];
    timer_sleep_t w[3];
    timer_sleep_t nap;
    int i;
} boss_t;

static coro_poll_t boss_poll(future_t *self, future_cx_t *cx) {
    static const char *const names[3] = {"w0", "w1", "w2"};
    boss_t *f = (boss_t *)(void *)self;
    ASYNC_BEGIN(f);
    EXEC_SCOPE_INIT(cx, &f->scope);
    exec_scope_set_name(&f->scope, "workers");
    for (f->i = 0; f->i < 3; f->i++) {
        timer_sleep_init(&f->w[f->i], f->i == 1 ? 0 : 10 * TIMER_MS);
        exec_scope_spawn(&f->scope, &f->tw[f->i], &f->w[f->i]);
        exec_task_set_name(&f->tw[f->i], names[f->i]);
    }
    timer_sleep_init(&f->nap, 5 * TIMER_MS);
    AWAIT(cx, &f->nap);
    ASYNC_END();
}

static void test_dump_shows_scopes_under_their_owner(void) {
    exec_t e;
    exec_task_t tb = {0};
    boss_t b;
    char want[512], *text;
    CHECK_EQ(exec_init(&e), 0);
    exec_clock_pause(&e);
    memset(&b, 0, sizeof b);
    future_init(&b.fut, boss_poll, 0);
    CHECK_EQ(exec_spawn(&tb, &e, &b), 0);
    exec_task_set_name(&tb, "boss");
    CHECK_EQ(settle(&e, 3), 0);
    text = dump(&e);
    snprintf(want, sizeof want,
             "  task \"boss\"\n"
             "    %s\n"
             "      sleep 5 ms (5 ms left)\n"
             "    scope \"workers\" (2 running, 1 done)\n"
             "      task \"w2\"\n"
             "        sleep 10 ms (10 ms left)\n"
             "      task \"w0\"\n"
             "        sleep 10 ms (10 ms left)\n",
             b.fut.co.at);
    CHECK_TEXT(text, want);
    free(text);
    exec_destroy(&e);
}

/* EXEC_SPAWN's task is owned by this frame, exec_spawn's (from inside a
 * task) by the task's root: both show nested under the parent. */
typedef struct {
    future_t fut;
    exec_task_t ct, rt;
    timer_sleep_t child, other, nap;
} parent_t;

static coro_poll_t parent_poll(future_t *self, future_cx_t *cx) {
    parent_t *f = (parent_t *)(void *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->child, 10 * TIMER_MS);
    EXEC_SPAWN(cx, &f->ct, &f->child);
    exec_task_set_name(&f->ct, "child");
    timer_sleep_init(&f->other, 20 * TIMER_MS);
    exec_spawn(&f->rt, exec_of(cx), &f->other);
    timer_sleep_init(&f->nap, 5 * TIMER_MS);
    AWAIT(cx, &f->nap);
    ASYNC_END();
}

static void test_dump_nests_spawned_tasks_under_their_parent(void) {
    exec_t e;
    exec_task_t tp = {0};
    parent_t p;
    char want[512], *text;
    CHECK_EQ(exec_init(&e), 0);
    exec_clock_pause(&e);
    memset(&p, 0, sizeof p);
    future_init(&p.fut, parent_poll, 0);
    CHECK_EQ(exec_spawn(&tp, &e, &p), 0);
    exec_task_set_name(&tp, "parent");
    CHECK_EQ(settle(&e, 3), 0);
    text = dump(&e);
    snprintf(want, sizeof want,
             "  task \"parent\"\n"
             "    %s\n"
             "      sleep 5 ms (5 ms left)\n"
             "    task 0x%llx\n"
             "      sleep 20 ms (20 ms left)\n"
             "    task \"child\"\n"
             "      sleep 10 ms (10 ms left)\n",
             p.fut.co.at, (unsigned long long)(uintptr_t)&p.rt);
    CHECK_TEXT(text, want);
    free(text);
    exec_destroy(&e);
}

/* main joins a task that sleeps forever: nothing can wake either. */
typedef struct {
    future_t fut;
    exec_task_t *task;
    exec_join_t join;
} joiner_t;

static coro_poll_t joiner_poll(future_t *self, future_cx_t *cx) {
    joiner_t *f = (joiner_t *)(void *)self;
    ASYNC_BEGIN(f);
    exec_join_init(&f->join, f->task);
    AWAIT(cx, &f->join);
    ASYNC_END();
}

static void test_stall_report_names_tasks_and_kinds(void) {
    exec_t e;
    exec_task_t tf = {0};
    timer_sleep_t never;
    joiner_t j;
    char *buf = 0, want[512];
    size_t len = 0;
    FILE *mem;
    CHECK_EQ(exec_init(&e), 0);
    exec_clock_pause(&e);
    timer_sleep_until_init(&never, TIMER_NEVER);
    CHECK_EQ(exec_spawn(&tf, &e, &never), 0);
    exec_task_set_name(&tf, "forever");
    future_init(&j.fut, joiner_poll, 0);
    j.task = &tf;
    mem = open_memstream(&buf, &len);
    CHECK(mem != 0);
    e.log = mem;
    CHECK_EQ(exec_block_on(&e, &j), -EDEADLK);
    fclose(mem);
    e.log = 0;
    CHECK_HAS(buf, "nothing can wake them");
    snprintf(want, sizeof want,
             "  task \"main\"\n"
             "    %s\n"
             "      join task \"forever\"\n"
             "  task \"forever\"\n"
             "    sleep forever\n",
             j.fut.co.at);
    CHECK_HAS(buf, want);
    free(buf);
    exec_destroy(&e);
}

/* A poll that holds the thread for 2 ms. */
typedef struct {
    future_t fut;
} hog_t;

static coro_poll_t hog_poll(future_t *self, future_cx_t *cx) {
    uint64_t t0 = timer_clock_monotonic();
    (void)cx;
    while (timer_clock_monotonic() - t0 < 2 * TIMER_MS) {}
    return future_finish(self, 0);
}

static void test_block_detector_names_the_task(void) {
    exec_t e;
    exec_task_t th = {0};
    hog_t h;
    FILE *out = tmpfile();
    char text[4096];
    size_t n;
    CHECK(out != 0);
    CHECK_EQ(exec_init(&e), 0);
    exec_set_block_threshold(&e, TIMER_MS, out);
    future_init(&h.fut, hog_poll, 0);
    CHECK_EQ(exec_spawn(&th, &e, &h), 0);
    exec_task_set_name(&th, "hog");
    CHECK_EQ(settle(&e, 1), 0);
    CHECK(exec_task_done(&th));
    rewind(out);
    n = fread(text, 1, sizeof text - 1, out);
    text[n] = 0;
    fclose(out);
    CHECK_HAS(text, "exec: blocked executor: task \"hog\" held the thread for ");
    exec_destroy(&e);
}

int main(void) {
    RUN(test_finished_future_is_described_by_name_only);
    RUN(test_fmt_duration);
    RUN(test_sleep_says_duration_and_time_left);
    RUN(test_sleep_deadline_unchanged);
    RUN(test_timeout_says_its_limit_and_shows_its_inner);
    RUN(test_interval_says_period_and_ticks);
    RUN(test_io_futures_say_their_fd);
    RUN(test_accept_and_connect_say_where);
    RUN(test_signal_wait_names_its_signals);
    RUN(test_exact_io_says_progress);
    RUN(test_spawn_blocking_says_queued_or_running);
    RUN(test_fs_helpers_say_path_and_state);
    RUN(test_dump_names_tasks_and_kinds);
    RUN(test_dump_shows_scopes_under_their_owner);
    RUN(test_dump_nests_spawned_tasks_under_their_parent);
    RUN(test_stall_report_names_tasks_and_kinds);
    RUN(test_block_detector_names_the_task);
    return check_summary();
}
