/* Coverage tests of exec.h: the failure paths tests/test_exec.c and
 * tests/test_pool.c cannot provoke, and the rarer branches of the loop.
 *
 * Fault injection: exec.h is header-only, so its calls into libc are
 * compiled into this file. After including every system header exec.h
 * needs (so their declarations are untouched), this file defines macros
 * that rename those calls (epoll_ctl, epoll_wait, syscall, malloc, calloc,
 * pthread_create, sysconf) to wrappers below; the wrappers call the real
 * function unless a test armed a fault_t for them, in which case they fail
 * with the errno the test chose. The renaming is textual and local to this
 * file: it needs no link flag, no dlsym, and works the same under ASan,
 * UBSan, TSan and valgrind (the wrappers call the real functions, which the
 * sanitizers intercept as usual). The wrappers of epoll_wait and of the
 * epoll_pwait2 syscall can also "sleep" on a simulated clock
 * (exec_set_clock): they record the timeout, advance the clock by it and
 * only look (timeout 0), so long timeouts run in microseconds.
 */
#include "check.h"
#include "fault.h"
#include <errno.h>
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
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

/* ---- fault injection -------------------------------------------------------- */

static fault_t f_epoll_ctl, f_epoll_wait, f_pwait2, f_malloc, f_calloc, f_pthread_create,
    f_sysconf;

static void faults_off(void) {
    memset(&f_epoll_ctl, 0, sizeof f_epoll_ctl);
    memset(&f_epoll_wait, 0, sizeof f_epoll_wait);
    memset(&f_pwait2, 0, sizeof f_pwait2);
    memset(&f_malloc, 0, sizeof f_malloc);
    memset(&f_calloc, 0, sizeof f_calloc);
    memset(&f_pthread_create, 0, sizeof f_pthread_create);
    memset(&f_sysconf, 0, sizeof f_sysconf);
}

/* The simulated clock, and waits that advance it instead of sleeping. */
static uint64_t sim_now = 1000 * 1000000ull;
static int sim_sleep;           /* waits advance sim_now (timeout -1 is real) */
static int64_t waits_ms[8];     /* epoll_wait's timeouts, in order */
static int nwaits_ms;

static uint64_t sim_clock(void *ctx) {
    (void)ctx;
    return sim_now;
}

static int cover_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev) {
    if (fault_hit(&f_epoll_ctl)) return -1;
    return epoll_ctl(epfd, op, fd, ev);
}

static int cover_epoll_wait(int epfd, struct epoll_event *evs, int max, int ms) {
    if (nwaits_ms < 8) waits_ms[nwaits_ms++] = ms;
    if (fault_hit(&f_epoll_wait)) return -1;
    if (sim_sleep && ms > 0) {
        sim_now += (uint64_t)ms * 1000000u;
        ms = 0;
    }
    return epoll_wait(epfd, evs, max, ms);
}

/* exec.h calls syscall() only for epoll_pwait2. */
static long cover_syscall(long n, ...) {
    va_list ap;
    int epfd, max;
    struct epoll_event *evs;
    const struct { int64_t tv_sec; long long tv_nsec; } *ts;
    void *sigmask;
    size_t sigsz;
    va_start(ap, n);
    epfd = va_arg(ap, int);
    evs = va_arg(ap, struct epoll_event *);
    max = va_arg(ap, int);
    ts = va_arg(ap, const void *);
    sigmask = va_arg(ap, void *);
    sigsz = va_arg(ap, size_t);
    va_end(ap);
    if (n != SYS_epoll_pwait2) abort();
    if (fault_hit(&f_pwait2)) return -1;
    if (sim_sleep && ts) {
        static const struct { int64_t tv_sec; long long tv_nsec; } zero = {0, 0};
        sim_now += (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
        return syscall(n, epfd, evs, max, &zero, sigmask, sigsz);
    }
    return syscall(n, epfd, evs, max, ts, sigmask, sigsz);
}

static void *cover_malloc(size_t n) {
    if (fault_hit(&f_malloc)) return 0;
    return malloc(n);
}

static void *cover_calloc(size_t n, size_t size) {
    if (fault_hit(&f_calloc)) return 0;
    return calloc(n, size);
}

static int cover_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *),
                                void *arg) {
    if (fault_hit(&f_pthread_create)) return f_pthread_create.err;
    return pthread_create(t, a, fn, arg);
}

static long cover_sysconf(int name) {
    if (fault_hit(&f_sysconf)) return -1;
    return sysconf(name);
}

#define epoll_ctl(...) cover_epoll_ctl(__VA_ARGS__)
#define epoll_wait(...) cover_epoll_wait(__VA_ARGS__)
#define syscall(...) cover_syscall(__VA_ARGS__)
#define malloc(n) cover_malloc(n)
#define calloc(n, s) cover_calloc(n, s)
#define pthread_create(...) cover_pthread_create(__VA_ARGS__)
#define sysconf(n) cover_sysconf(n)

#include "../exec.h"
#include "../blocking.h"

static exec_t ex;

static void setup(void) {
    faults_off();
    sim_sleep = 0;
    nwaits_ms = 0;
    if (exec_init(&ex)) abort();
    ex.log = 0;
}

/* ---- little futures ------------------------------------------------------------ */

/* Pending forever; counts polls and drops; may wake a waker when dropped,
 * or spawn a detached task from its drop. */
typedef struct {
    future_t fut;
    int polls, drops;
    future_waker_t *wake_on_drop;
    future_t *spawn_on_drop;
    int spawn_rc;
} stuck_t;

static int done_calls;
static void done_cb(future_t *f, int err, void *arg) {
    (void)f;
    (void)err;
    (void)arg;
    done_calls++;
}

static coro_poll_t stuck_poll(future_t *self, future_cx_t *cx) {
    (void)cx;
    ((stuck_t *)(void *)self)->polls++;
    return CORO_PENDING;
}
static void stuck_drop(future_t *self) {
    stuck_t *s = (stuck_t *)(void *)self;
    s->drops++;
    if (s->wake_on_drop) future_wake(s->wake_on_drop);
    if (s->spawn_on_drop) s->spawn_rc = exec_spawn_detached(s->spawn_on_drop, &ex, done_cb, 0);
}
static void stuck_init(stuck_t *s) {
    memset(s, 0, sizeof *s);
    future_init(&s->fut, stuck_poll, stuck_drop);
}

/* Ready at its first poll with rc. */
typedef struct {
    future_t fut;
    int polls, rc;
} quick_t;
static coro_poll_t quick_poll(future_t *self, future_cx_t *cx) {
    quick_t *q = (quick_t *)(void *)self;
    (void)cx;
    q->polls++;
    return future_finish(self, q->rc);
}
static void quick_init(quick_t *q, int rc) {
    future_init(&q->fut, quick_poll, 0);
    q->polls = 0;
    q->rc = rc;
}

/* Runs fn(cx, arg) inside a task, once. */
typedef struct {
    future_t fut;
    void (*fn)(future_cx_t *cx, void *arg);
    void *arg;
} call_t;
static coro_poll_t call_poll(future_t *self, future_cx_t *cx) {
    call_t *c = (call_t *)(void *)self;
    c->fn(cx, c->arg);
    return future_finish(self, 0);
}
static void call_init(call_t *c, void (*fn)(future_cx_t *, void *), void *arg) {
    future_init(&c->fut, call_poll, 0);
    c->fn = fn;
    c->arg = arg;
}

/* Wakes itself and stays pending n times, then is ready. */
typedef struct {
    future_t fut;
    int left;
} yielder_t;
static coro_poll_t yielder_poll(future_t *self, future_cx_t *cx) {
    yielder_t *y = (yielder_t *)(void *)self;
    if (y->left-- > 0) {
        future_wake(cx->waker);
        return CORO_PENDING;
    }
    return future_finish(self, 0);
}
static void yielder_init(yielder_t *y, int n) {
    future_init(&y->fut, yielder_poll, 0);
    y->left = n;
}

/* A hand-made context: a counting waker, a budget the test sets. */
static int wakes;
static void count_wake(future_waker_t *w) {
    (void)w;
    wakes++;
}
static future_waker_t counter = {count_wake};
static int hand_budget;
static future_cx_t hand_cx_;
static future_cx_t *hand_cx(int budget) {
    memset(&hand_cx_, 0, sizeof hand_cx_);
    hand_cx_.waker = &counter;
    hand_cx_.exec = &ex;
    hand_cx_.timers = &ex.timers;
    hand_budget = budget;
    hand_cx_.budget = budget < 0 ? 0 : &hand_budget;
    return &hand_cx_;
}

/* ---- the clock ------------------------------------------------------------------ */

static void test_clock_saturates(void) {
    setup();
    exec_clock_resume(&ex); /* not paused: nothing to do */
    CHECK_EQ(ex.paused, 0);
    sim_now = 0;
    exec_set_clock(&ex, sim_clock, 0);
    exec_clock_advance(&ex, 10); /* the offset is positive now */
    CHECK(ex.clock_offset > 0);
    sim_now = UINT64_MAX; /* past the end of time: read as the end */
    exec_update_time(&ex);
    CHECK(exec_now(&ex) == EXEC_CLOCK_MAX);
    exec_clock_advance(&ex, UINT64_MAX); /* stays at the end, no wrap */
    CHECK(exec_now(&ex) == EXEC_CLOCK_MAX);
    exec_clock_pause(&ex);
    exec_clock_resume(&ex);
    CHECK(exec_now(&ex) == EXEC_CLOCK_MAX);
    exec_destroy(&ex);
    sim_now = 1000 * 1000000ull;
}

/* ---- spawn ---------------------------------------------------------------------- */

typedef struct {
    exec_t *ex;
    exec_task_t t;
    stuck_t s;
    int rc;
} xthread_t;

static void *xthread_main(void *p) {
    xthread_t *x = (xthread_t *)p;
    x->rc = exec_spawn(&x->t, x->ex, &x->s.fut);
    return 0;
}

static void spawn_from_a_thread(future_cx_t *cx, void *arg) {
    xthread_t *x = (xthread_t *)arg;
    pthread_t th;
    x->ex = exec_of(cx);
    if (pthread_create(&th, 0, xthread_main, x) == 0) pthread_join(th, 0);
}

static void test_spawn_misuse(void) {
    stuck_t a, b;
    exec_task_t t1, t2, t3;
    xthread_t x;
    call_t c;
    setup();
    memset(&t1, 0, sizeof t1);
    memset(&t2, 0, sizeof t2);
    memset(&t3, 0, sizeof t3);
    stuck_init(&a);
    stuck_init(&b);
    CHECK_EQ((exec_spawn)(&t1, &ex, 0), -EINVAL);
    CHECK_EQ(exec_spawn(&t1, &ex, &a.fut), 0);
    CHECK_EQ(exec_spawn(&t2, &ex, &b.fut), 0);
    /* t1 is alive (and not first in the live list) */
    CHECK_MISUSE(CHECK_EQ(exec_spawn(&t1, &ex, &b.fut), -EBUSY), "already spawned");
    /* a already runs as t1 */
    CHECK_MISUSE(CHECK_EQ(exec_spawn(&t3, &ex, &a.fut), -EBUSY), "another task");
    CHECK_EQ(ex.nlive, 2);
    /* block_on of a future that is already a task: refused, nothing runs */
    CHECK_MISUSE(CHECK_EQ(exec_block_on(&ex, &a.fut), -EBUSY), "another task");
    CHECK_EQ(a.polls, 0);
    CHECK_EQ(ex.running, 0);
    exec_shutdown(&ex);
    CHECK_EQ(a.drops, 1);
    CHECK_EQ(b.drops, 1);
    CHECK_EQ(exec_task_err(&t1), -ECANCELED);
    /* From another thread while the loop runs: -EPERM, nothing spawned. */
    memset(&x, 0, sizeof x);
    stuck_init(&x.s);
    call_init(&c, spawn_from_a_thread, &x);
    CHECK_MISUSE(CHECK_EQ(exec_block_on(&ex, &c.fut), 0), "another thread");
    CHECK_EQ(x.rc, -EPERM);
    CHECK_EQ(ex.nlive, 0);
    CHECK_EQ(x.s.polls, 0);
    exec_destroy(&ex);
}

static void test_spawn_detached_edges(void) {
    quick_t q, q2;
    stuck_t a, b;
    exec_task_t ta, tb;
    setup();
    done_calls = 0;
    quick_init(&q, 0);
    /* No memory for the box: -ENOMEM, nothing happened to fut. */
    fault_arm(&f_malloc, 0, 1, ENOMEM);
    CHECK_EQ(exec_spawn_detached(&q.fut, &ex, done_cb, 0), -ENOMEM);
    CHECK_EQ(f_malloc.hits, 1);
    CHECK_EQ(ex.nlive, 0);
    /* exec_spawn refuses: the box is freed (ASan / valgrind see no leak). */
    CHECK_EQ((exec_spawn_detached)(0, &ex, done_cb, 0), -EINVAL);
    /* No done callback: the box is simply freed at the end. */
    CHECK_EQ(exec_spawn_detached(&q.fut, &ex, 0, 0), 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(q.polls, 1);
    CHECK_EQ(done_calls, 0);
    /* During shutdown: a drop that wakes a live task (not queued: the wake
     * is ignored) and one that spawns a detached task (-ECANCELED, the box
     * freed, done never called, the future untouched). b is older than a,
     * so a is dropped first while b is still alive. */
    stuck_init(&a);
    stuck_init(&b);
    memset(&ta, 0, sizeof ta);
    memset(&tb, 0, sizeof tb);
    quick_init(&q2, 0);
    CHECK_EQ(exec_spawn(&tb, &ex, &b.fut), 0);
    CHECK_EQ(exec_spawn(&ta, &ex, &a.fut), 0);
    quick_init(&q, 0);
    CHECK_EQ(exec_block_on(&ex, &q.fut), 0); /* a and b ran once */
    CHECK_EQ(a.polls, 1);
    CHECK_EQ(b.polls, 1);
    a.wake_on_drop = &tb.waker;
    a.spawn_on_drop = &q2.fut;
    exec_shutdown(&ex);
    CHECK_EQ(a.spawn_rc, -ECANCELED);
    CHECK_EQ(q2.polls, 0);
    CHECK_EQ(done_calls, 0);
    CHECK_EQ(b.polls, 1); /* the wake did not run it */
    CHECK_EQ(b.drops, 1);
    CHECK_EQ(ex.nlive, 0);
    CHECK(!ex.head);
    exec_destroy(&ex);
}

/* ---- join handles ----------------------------------------------------------------- */

static void test_join_edges(void) {
    exec_task_t t;
    exec_join_t j;
    quick_t q;
    stuck_t s;
    setup();
    /* Done, but the budget is spent: pending (and a wake), then ready. */
    memset(&t, 0, sizeof t);
    quick_init(&q, -EIO);
    CHECK_EQ(exec_spawn(&t, &ex, &q.fut), 0);
    CHECK_EQ(exec_run(&ex), 0);
    exec_join_init(&j, &t);
    wakes = 0;
    CHECK_EQ(future_poll(&j.fut, hand_cx(0)), CORO_PENDING);
    CHECK_EQ(wakes, 1);
    CHECK_EQ(future_poll(&j.fut, hand_cx(1)), CORO_READY);
    CHECK_EQ(future_err(&j.fut), -EIO);
    /* Polled again while it waits (same waker): still one joiner. The task
     * ends (aborted); the join, dropped before it saw that, leaves the
     * finished task alone. */
    stuck_init(&s);
    CHECK_EQ(exec_spawn(&t, &ex, &s.fut), 0);
    exec_join_init(&j, &t);
    CHECK_EQ(future_poll(&j.fut, hand_cx(-1)), CORO_PENDING);
    CHECK_EQ(future_poll(&j.fut, hand_cx(-1)), CORO_PENDING);
    CHECK((t.state & EXEC_TASK_JOINED_) && t.join_ == &j && j.waiting == &counter);
    wakes = 0;
    exec_abort(&t);
    CHECK_EQ(wakes, 1);
    CHECK(!(t.state & EXEC_TASK_JOINED_));
    future_drop(&j.fut);
    CHECK_EQ(exec_task_err(&t), -ECANCELED);
    CHECK_EQ(s.drops, 1);
    /* A join dropped before its first poll still aborts its task. */
    stuck_init(&s);
    CHECK_EQ(exec_spawn(&t, &ex, &s.fut), 0);
    exec_join_init(&j, &t);
    future_drop(&j.fut);
    CHECK(exec_task_done(&t));
    CHECK_EQ(exec_task_err(&t), -ECANCELED);
    CHECK_EQ(s.drops, 1);
    CHECK_EQ(ex.nlive, 0);
    exec_destroy(&ex);
}

/* ---- misuse from inside a task ---------------------------------------------------- */

static int inner_run_rc;
static void misuse_inside(future_cx_t *cx, void *arg) {
    exec_t *e = exec_of(cx);
    (void)arg;
    inner_run_rc = exec_run(e);
    exec_shutdown(e);
    exec_destroy(e);
}

static void test_loop_calls_from_inside_a_task(void) {
    call_t c;
    stuck_t other;
    exec_task_t t;
    setup();
    memset(&t, 0, sizeof t);
    stuck_init(&other);
    CHECK_EQ(exec_spawn(&t, &ex, &other.fut), 0);
    call_init(&c, misuse_inside, 0);
    {
        int before = check_misuses_;
        CHECK_EQ(exec_block_on(&ex, &c.fut), 0);
        CHECK_EQ(check_misuses_ - before, 3); /* run, shutdown, destroy */
    }
    CHECK_EQ(inner_run_rc, -EDEADLK);
    CHECK_EQ(other.drops, 0); /* the refused shutdown dropped nothing */
    CHECK(ex.epfd >= 0);      /* the refused destroy closed nothing */
    CHECK_EQ(ex.nlive, 1);
    exec_destroy(&ex);
    CHECK_EQ(other.drops, 1);
}

/* ---- exec_init failing, the reactor's edges -------------------------------------- */

static void test_init_fails_with_nothing_left_open(void) {
    exec_t e2;
    int before = check_open_fds();
    fault_arm(&f_epoll_ctl, 0, 1, ENOSPC);
    CHECK_EQ(exec_init(&e2), -ENOSPC);
    CHECK_EQ(f_epoll_ctl.hits, 1);
    CHECK_EQ(check_open_fds(), before);
    CHECK_EQ(exec_init(&e2), 0);
    exec_destroy(&e2);
    CHECK_EQ(check_open_fds(), before);
}

static void test_io_forget_and_stop_edges(void) {
    exec_io_t io;
    int fd;
    setup();
    fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(fd >= 0);
    CHECK_EQ(exec_io_start(&io, &ex, fd), 0);
    io.reader = io.writer = &counter;
    exec_io_forget(&io, EXEC_IO_WRITE, 0);
    CHECK(io.reader == &counter && io.writer == 0);
    exec_io_forget(&io, EXEC_IO_READ, 0);
    CHECK(io.reader == 0);
    /* The fd was closed first: epoll_ctl(DEL) fails, which is reported,
     * and the registration is gone all the same. */
    close(fd);
    CHECK_EQ(exec_io_stop(&io), -EBADF);
    CHECK_EQ(ex.nio, 0);
    CHECK_EQ(exec_io_stop(&io), 0); /* stopped already */
    exec_destroy(&ex);
}

/* An fd that is ready is looked at before the paused clock jumps. */
typedef struct {
    future_t fut;
    exec_io_t *io;
} io_wait_t;
static coro_poll_t io_wait_poll(future_t *self, future_cx_t *cx) {
    io_wait_t *w = (io_wait_t *)(void *)self;
    if (exec_io_poll(w->io, cx, EXEC_IO_READ) == CORO_PENDING) return CORO_PENDING;
    return future_finish(self, 0);
}

static void test_paused_clock_looks_at_io_before_jumping(void) {
    exec_io_t io;
    io_wait_t w;
    timer_sleep_t far;
    exec_task_t tf;
    uint64_t t0;
    int fd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
    setup();
    exec_clock_pause(&ex);
    t0 = exec_now(&ex);
    CHECK_EQ(exec_io_start(&io, &ex, fd), 0);
    memset(&tf, 0, sizeof tf);
    timer_sleep_init(&far, 3600 * TIMER_SEC);
    CHECK_EQ(exec_spawn(&tf, &ex, &far.fut), 0);
    future_init(&w.fut, io_wait_poll, 0);
    w.io = &io;
    CHECK_EQ(exec_block_on(&ex, &w.fut), 0);
    CHECK(exec_now(&ex) == t0); /* the readable fd came first: no jump */
    exec_io_stop(&io);
    close(fd);
    exec_destroy(&ex);
}

/* ---- epoll_pwait2 missing, waits that fail ----------------------------------------- */

static void test_epoll_wait_fallback(void) {
    timer_sleep_t s;
    exec_io_t io;
    io_wait_t w;
    uint64_t t0;
    int fd;
    setup();
    sim_now = 1000 * 1000000ull;
    exec_set_clock(&ex, sim_clock, 0);
    sim_sleep = 1;
    /* The kernel has no epoll_pwait2: the loop falls back to epoll_wait,
     * at once and for good, rounding the wait up to whole ms. */
    fault_arm(&f_pwait2, 0, -1, ENOSYS);
    timer_sleep_init(&s, 2500 * TIMER_US);
    t0 = exec_now(&ex);
    CHECK_EQ(exec_block_on(&ex, &s.fut), 0);
    CHECK_EQ(ex.no_pwait2, 1);
    CHECK_EQ(f_pwait2.hits, 1);
    CHECK(nwaits_ms >= 1);
    /* whole ms, rounded up: never early */
    CHECK(exec_now(&ex) - t0 >= 2500 * TIMER_US);
    CHECK(waits_ms[0] >= 1 && waits_ms[0] <= 3);
    /* A wait longer than INT_MAX ms is clamped, then waited again. */
    nwaits_ms = 0;
    timer_sleep_init(&s, (uint64_t)30 * 24 * 3600 * TIMER_SEC);
    CHECK_EQ(exec_block_on(&ex, &s.fut), 0);
    CHECK_EQ(f_pwait2.hits, 1); /* never tried again */
    CHECK(nwaits_ms >= 2);
    CHECK_EQ(waits_ms[0], INT_MAX);
    /* Nothing but an fd to wait for: forever (-1). It is readable. */
    nwaits_ms = 0;
    fd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK_EQ(exec_io_start(&io, &ex, fd), 0);
    future_init(&w.fut, io_wait_poll, 0);
    w.io = &io;
    CHECK_EQ(exec_block_on(&ex, &w.fut), 0);
    CHECK(nwaits_ms >= 1);
    CHECK_EQ(waits_ms[0], -1);
    /* epoll_wait interrupted by a signal: waited again, no error. */
    fault_arm(&f_epoll_wait, 0, 1, EINTR);
    timer_sleep_init(&s, TIMER_MS);
    CHECK_EQ(exec_block_on(&ex, &s.fut), 0);
    CHECK_EQ(f_epoll_wait.hits, 1);
    /* epoll_wait failing for good: the loop stops with the error, the
     * main future is dropped, the executor stays usable. */
    {
        stuck_t st;
        quick_t q;
        stuck_init(&st);
        fault_arm(&f_epoll_wait, 0, 1, EIO);
        CHECK_EQ(exec_block_on(&ex, &st.fut), -EIO);
        CHECK_EQ(st.drops, 1);
        CHECK_EQ(ex.nlive, 0);
        quick_init(&q, 0);
        CHECK_EQ(exec_block_on(&ex, &q.fut), 0);
    }
    exec_io_stop(&io);
    close(fd);
    exec_destroy(&ex);
}

static void test_waits_that_fail(void) {
    timer_sleep_t s;
    yielder_t y;
    stuck_t st;
    exec_io_t io;
    int fd;
    setup();
    sim_now = 1000 * 1000000ull;
    exec_set_clock(&ex, sim_clock, 0);
    sim_sleep = 1;
    /* epoll_pwait2 interrupted: not taken for "missing". (Where the
     * kernel, or valgrind, lacks it, the first wait finds out first.) */
    timer_sleep_init(&s, TIMER_MS);
    CHECK_EQ(exec_block_on(&ex, &s.fut), 0);
    if (!ex.no_pwait2) {
        fault_arm(&f_pwait2, 0, 1, EINTR);
        timer_sleep_init(&s, TIMER_MS);
        CHECK_EQ(exec_block_on(&ex, &s.fut), 0);
        CHECK_EQ(f_pwait2.hits, 1);
        CHECK_EQ(ex.no_pwait2, 0);
    }
    /* With an fd registered, a busy loop looks at I/O each turn; that
     * look failing stops block_on while its task is queued: it is taken
     * off the queue and dropped. */
    fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK_EQ(exec_io_start(&io, &ex, fd), 0);
    yielder_init(&y, 1000);
    fault_arm(&f_pwait2, 0, 1, EIO);
    fault_arm(&f_epoll_wait, 0, 1, EIO); /* and the fallback fails too */
    CHECK_EQ(exec_block_on(&ex, &y.fut), -EIO);
    CHECK_EQ(ex.nlive, 0);
    CHECK(!ex.head);
    CHECK(y.left > 0);
    /* The paused clock's look at I/O failing stops the loop too. */
    exec_clock_pause(&ex);
    timer_sleep_init(&s, TIMER_SEC);
    fault_arm(&f_epoll_wait, 0, 1, EBADF);
    CHECK_EQ(exec_block_on(&ex, &s.fut), -EBADF);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0); /* the sleep was dropped */
    /* And the plain wait failing (an fd, nothing else to wait for). */
    stuck_init(&st);
    fault_arm(&f_epoll_wait, 1, 1, EBADF); /* the paused look passes */
    CHECK_EQ(exec_block_on(&ex, &st.fut), -EBADF);
    CHECK_EQ(st.drops, 1);
    exec_io_stop(&io);
    close(fd);
    exec_destroy(&ex);
}

/* A remote wake that comes while the loop prepares to sleep: a timer due
 * at the loop's last clock read, whose waker is a relay that wakes a
 * remote handle (from the loop's own thread, as any thread may). The loop
 * must then not sleep. */
typedef struct {
    future_t fut;
    exec_remote_t r;
    timer_sleep_t nap;
    future_waker_t relay;
    future_cx_t sub;
    int stage;
} relay_t;

static void relay_wake(future_waker_t *w) {
    relay_t *f = (relay_t *)(void *)((char *)w - offsetof(relay_t, relay));
    exec_remote_wake(&f->r);
}

static coro_poll_t relay_poll(future_t *self, future_cx_t *cx) {
    relay_t *f = (relay_t *)(void *)self;
    if (f->stage == 0) {
        exec_remote_init(&f->r, exec_of(cx));
        exec_remote_set_waker(&f->r, cx->waker);
        f->relay.wake = relay_wake;
        f->sub = *cx;
        f->sub.waker = &f->relay;
        f->sub.budget = 0;
        timer_sleep_init(&f->nap, TIMER_MS);
        if (future_poll(&f->nap.fut, &f->sub) != CORO_PENDING) return future_finish(self, -EIO);
        sim_now += 5 * TIMER_MS; /* this poll "took" 5 ms */
        f->stage = 1;
        return CORO_PENDING;
    }
    if (future_poll(&f->nap.fut, &f->sub) != CORO_READY) return CORO_PENDING;
    exec_remote_close(&f->r);
    return future_finish(self, 0);
}

static void test_remote_wake_while_parking(void) {
    relay_t f;
    uint64_t parks;
    setup();
    sim_now = 1000 * 1000000ull;
    exec_set_clock(&ex, sim_clock, 0);
    memset(&f, 0, sizeof f);
    future_init(&f.fut, relay_poll, 0);
    parks = ex.stats.parks;
    CHECK_EQ(exec_block_on(&ex, &f.fut), 0);
    CHECK_EQ(f.stage, 1);
    CHECK_EQ(ex.stats.parks, parks); /* it never slept */
    CHECK_EQ(ex.nremote, 0);
    exec_destroy(&ex);
}

/* ---- the pool's failures ------------------------------------------------------------- */

static void test_pool_init_failures(void) {
    blocking_pool_t pool;
    blocking_pool_opts_t o;
    int before;
    setup();
    before = check_open_fds();
    memset(&o, 0, sizeof o);
    o.threads = 2;
    o.max_threads = 4;
    /* The second thread cannot start: -EAGAIN, the first is joined. */
    fault_arm(&f_pthread_create, 1, 1, EAGAIN);
    CHECK_EQ(blocking_pool_init(&pool, &ex, &o), -EAGAIN);
    CHECK_EQ(f_pthread_create.hits, 1);
    CHECK(pool.slots == 0);
    /* No memory for the thread table. */
    fault_arm(&f_calloc, 0, 1, ENOMEM);
    CHECK_EQ(blocking_pool_init(&pool, &ex, &o), -ENOMEM);
    CHECK_EQ(f_calloc.hits, 1);
    /* Default options, and no CPU count: one thread. */
    fault_arm(&f_sysconf, 0, 1, EINVAL);
    CHECK_EQ(blocking_pool_init(&pool, &ex, 0), 0);
    CHECK_EQ(f_sysconf.hits, 1);
    CHECK_EQ(blocking_pool_threads(&pool), 1);
    CHECK_EQ(pool.max, 16);
    blocking_pool_destroy(&pool);
    blocking_pool_destroy(&pool); /* twice: nothing */
    CHECK_EQ(check_open_fds(), before);
    exec_destroy(&ex);
}

/* A job that waits until the test lets it go. */
static int gate_open, gate_entered;
static int64_t gated_job(void *arg, blocking_job_t *job) {
    int i;
    (void)job;
    __atomic_add_fetch(&gate_entered, 1, __ATOMIC_SEQ_CST);
    for (i = 0; i < 20000 && !__atomic_load_n(&gate_open, __ATOMIC_SEQ_CST); i++) {
        struct timespec ts = {0, 500000};
        nanosleep(&ts, 0);
    }
    return (int64_t)(intptr_t)arg;
}

static void wait_entered(int n) {
    int i;
    for (i = 0; i < 20000 && __atomic_load_n(&gate_entered, __ATOMIC_SEQ_CST) < n; i++) {
        struct timespec ts = {0, 500000};
        nanosleep(&ts, 0);
    }
}

/* Wait until n pool threads sit idle (a fresh thread may not be there yet,
 * and a submit would then grow the pool instead of waking it). */
static void wait_idle(blocking_pool_t *pool, unsigned n) {
    int i;
    for (i = 0; i < 20000; i++) {
        unsigned idle;
        struct timespec ts = {0, 500000};
        pthread_mutex_lock(&pool->lock);
        idle = pool->nidle;
        pthread_mutex_unlock(&pool->lock);
        if (idle >= n) return;
        nanosleep(&ts, 0);
    }
}

/* b[0] runs (held at the gate) on the only thread; b[1..3] queue; b[2],
 * in the middle of the queue, is dropped; then the gate opens. */
typedef struct {
    future_t fut;
    blocking_pool_t *pool;
    blocking_t b[4];
    int grow_fails; /* arm pthread_create to fail when b[1] is submitted */
} queue_t;

static coro_poll_t queue_poll(future_t *self, future_cx_t *cx) {
    queue_t *q = (queue_t *)(void *)self;
    int i;
    ASYNC_BEGIN(q);
    for (i = 0; i < 4; i++) blocking_init(&q->b[i], q->pool, gated_job, (void *)(intptr_t)(i + 1));
    if (future_poll(&q->b[0].fut, cx) != CORO_PENDING) ASYNC_RETURN(-EIO);
    wait_entered(1);
    if (q->grow_fails) fault_arm(&f_pthread_create, 0, 1, EAGAIN);
    for (i = 1; i < 4; i++)
        if (future_poll(&q->b[i].fut, cx) != CORO_PENDING) ASYNC_RETURN(-EIO);
    future_drop(&q->b[2].fut); /* unlinked from the middle: never runs */
    __atomic_store_n(&gate_open, 1, __ATOMIC_SEQ_CST);
    JOIN(cx, &q->b[0], &q->b[1], &q->b[3]);
    ASYNC_END();
}

static void run_queue(unsigned max, int grow_fails) {
    blocking_pool_t pool;
    blocking_pool_opts_t o;
    blocking_pool_stats_t st;
    queue_t q;
    setup();
    gate_open = gate_entered = 0;
    memset(&o, 0, sizeof o);
    o.threads = 1;
    o.max_threads = max;
    o.keep_alive_ns = UINT64_MAX; /* extra threads never time out */
    CHECK_EQ(blocking_pool_init(&pool, &ex, &o), 0);
    wait_idle(&pool, 1);
    memset(&q, 0, sizeof q);
    future_init(&q.fut, queue_poll, 0);
    q.pool = &pool;
    q.grow_fails = grow_fails;
    CHECK_EQ(exec_block_on(&ex, &q.fut), 0);
    CHECK_EQ(q.b[0].result, 1);
    CHECK_EQ(q.b[1].result, 2);
    CHECK_EQ(q.b[3].result, 4);
    CHECK_EQ(future_err(&q.b[2].fut), -ECANCELED);
    st = blocking_pool_stats(&pool);
    CHECK_EQ(st.ran, 3);
    CHECK_EQ(st.cancelled, 1);
    if (grow_fails) {
        CHECK_EQ(f_pthread_create.hits, 1);
        CHECK_EQ(st.created, max); /* b[2]'s submit grew it instead */
    }
    blocking_pool_destroy(&pool);
    CHECK_EQ(ex.nremote, 0);
    CHECK_EQ(ex.holds, 0);
    exec_destroy(&ex);
}

static void test_pool_queue_unlink_from_the_middle(void) { run_queue(1, 0); }
static void test_pool_grow_failure_waits_its_turn(void) { run_queue(2, 1); }

/* A finished job seen with the budget spent: pending, then its result. */
static int64_t forty_two(void *arg, blocking_job_t *job) {
    (void)arg;
    (void)job;
    return 42;
}

typedef struct {
    future_t fut;
    blocking_pool_t *pool;
    blocking_t b;
    int spent_pending;
} done_spent_t;

static coro_poll_t done_spent_poll(future_t *self, future_cx_t *cx) {
    done_spent_t *d = (done_spent_t *)(void *)self;
    future_cx_t sub;
    int zero = 0, i;
    if (!d->spent_pending) {
        blocking_init(&d->b, d->pool, forty_two, 0);
        if (future_poll(&d->b.fut, cx) != CORO_PENDING) return future_finish(self, -EIO);
        for (i = 0; i < 20000 && blocking_pool_stats(d->pool).ran < 1; i++) {
            struct timespec ts = {0, 500000};
            nanosleep(&ts, 0);
        }
        sub = *cx;
        sub.budget = &zero;
        if (future_poll(&d->b.fut, &sub) != CORO_PENDING) return future_finish(self, -EIO);
        d->spent_pending = 1;
        return CORO_PENDING; /* the spent budget woke us */
    }
    if (future_poll(&d->b.fut, cx) == CORO_PENDING) return CORO_PENDING;
    return future_finish(self, future_err(&d->b.fut));
}

static void test_pool_done_job_respects_the_budget(void) {
    blocking_pool_t pool;
    blocking_pool_opts_t o;
    done_spent_t d;
    setup();
    memset(&o, 0, sizeof o);
    o.threads = 1;
    CHECK_EQ(blocking_pool_init(&pool, &ex, &o), 0);
    memset(&d, 0, sizeof d);
    future_init(&d.fut, done_spent_poll, 0);
    d.pool = &pool;
    CHECK_EQ(exec_block_on(&ex, &d.fut), 0);
    CHECK_EQ(d.spent_pending, 1);
    CHECK_EQ(d.b.result, 42);
    blocking_pool_destroy(&pool);
    exec_destroy(&ex);
}

/* ---- the blocked-executor detector ---------------------------------------------------- */

typedef struct {
    future_t fut;
    timer_sleep_t nap;
} inner_t;
static coro_poll_t inner_poll(future_t *self, future_cx_t *cx) {
    inner_t *f = (inner_t *)(void *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, TIMER_MS);
    AWAIT(cx, &f->nap);
    ASYNC_END();
}
typedef struct {
    future_t fut;
    inner_t in;
} outer_t;
static coro_poll_t outer_poll(future_t *self, future_cx_t *cx) {
    outer_t *f = (outer_t *)(void *)self;
    ASYNC_BEGIN(f);
    future_init(&f->in.fut, inner_poll, 0);
    AWAIT(cx, &f->in);
    ASYNC_END();
}

/* Turning the detector on from inside a poll (EXEC_MAIN's programs can
 * only do it there): that poll is timed from the call, not from 0. */
typedef struct {
    future_t fut;
    FILE *out;
} turn_on_t;

static coro_poll_t turn_on_poll(future_t *self, future_cx_t *cx) {
    turn_on_t *f = (turn_on_t *)(void *)self;
    exec_set_block_threshold(exec_of(cx), 50 * TIMER_MS, f->out);
    return future_finish(self, 0);
}

static void test_block_detector_turned_on_in_a_poll(void) {
    turn_on_t t;
    setup();
    t.out = tmpfile();
    CHECK(t.out != 0);
    future_init(&t, turn_on_poll, 0);
    CHECK_EQ(exec_block_on(&ex, &t), 0);
    CHECK_EQ(ex.block_reports, 0); /* a quick poll: no report */
    fclose(t.out);
    exec_destroy(&ex);
}

static void test_block_detector_reports(void) {
    FILE *out = tmpfile();
    outer_t o;
    timer_sleep_t bare;
    char text[4096];
    size_t n;
    setup();
    CHECK(out != 0);
    exec_clock_pause(&ex);
    exec_set_block_threshold(&ex, 1, out); /* every poll takes longer */
    future_init(&o.fut, outer_poll, 0);
    CHECK_EQ(exec_block_on(&ex, &o.fut), 0);
    CHECK_EQ(ex.block_reports, 2); /* the first poll, and the last */
    /* A bare leaf future: nothing in the chain has a location. */
    timer_sleep_init(&bare, TIMER_MS);
    CHECK_EQ(exec_block_on(&ex, &bare.fut), 0);
    CHECK_EQ(ex.block_reports, 4);
    rewind(out);
    n = fread(text, 1, sizeof text - 1, out);
    text[n] = 0;
    fclose(out);
    CHECK(strstr(text, "blocked executor") != 0);
    CHECK(strstr(text, "resumed at the start (root future), the start (deepest child)") != 0);
    CHECK(strstr(text, "stopped at test_cover_exec.c:") ||       /* inner's AWAIT: */
          strstr(text, "stopped at tests/test_cover_exec.c:"));  /* __FILE_NAME__ or __FILE__ */
    CHECK(strstr(text, "stopped at the start, waiting on sleep 1 ms") != 0); /* the bare sleep */
    CHECK(strstr(text, ", waiting on sleep") != 0); /* inner's AWAIT: a sleep below it */
    CHECK(strstr(text, "its end (the task finished)") != 0);
    exec_destroy(&ex);
}

int main(void) {
    RUN(test_clock_saturates);
    RUN(test_spawn_misuse);
    RUN(test_spawn_detached_edges);
    RUN(test_join_edges);
    RUN(test_loop_calls_from_inside_a_task);
    RUN(test_init_fails_with_nothing_left_open);
    RUN(test_io_forget_and_stop_edges);
    RUN(test_paused_clock_looks_at_io_before_jumping);
    RUN(test_epoll_wait_fallback);
    RUN(test_waits_that_fail);
    RUN(test_remote_wake_while_parking);
    RUN(test_pool_init_failures);
    RUN(test_pool_queue_unlink_from_the_middle);
    RUN(test_pool_grow_failure_waits_its_turn);
    RUN(test_pool_done_job_respects_the_budget);
    RUN(test_block_detector_reports);
    RUN(test_block_detector_turned_on_in_a_poll);
    return check_summary();
}
