/* Regression tests for the hardening review: one test (or more) per item
 * it found, each failing on the code before its fix. The numbers in the
 * test names are the review's items. Related families are also caught by
 * the schedule fuzzer (test_fuzz_sched.c) and the build matrix
 * (tests/matrix.sh).
 *
 * Items tested elsewhere: 5 (fs chunks, test_pool.c), 11 and 12 (the build
 * matrix), 13 (tests/run.sh compares the headers' includes with and
 * without NDEBUG), 20-25 (mini_redis: tests/it_redis.sh, tests/fuzz/). */
#include "check.h"
/* Fault injection: a remote wake pauses right after its push, where the
 * loop may deliver it, close the handle and free the executor (item 2). */
#include <unistd.h>
static int remote_pause_us;
#define EXEC_REMOTE_AFTER_PUSH_()                                              \
    do {                                                                       \
        if (__atomic_load_n(&remote_pause_us, __ATOMIC_RELAXED))               \
            usleep((useconds_t)remote_pause_us);                               \
    } while (0)
#include "../exec.h"
#include "../blocking.h"
#include "../sync.h"
#include "../io.h"
#include <fcntl.h>
#include <sys/wait.h>

static exec_t ex;

static void setup(void) {
    if (exec_init(&ex)) abort();
    ex.log = 0;
}

/* Sleeps ms on the executor's clock, records when it finished. */
typedef struct {
    future_t fut;
    uint64_t ns;
    uint64_t at;
    int *order, *norder, id;
    timer_sleep_t s;
} sleeper_t;

static coro_poll_t sleeper_poll(future_t *self, future_cx_t *cx) {
    sleeper_t *f = (sleeper_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->s, f->ns);
    AWAIT(cx, &f->s);
    f->at = exec_now(exec_of(cx));
    if (f->order) f->order[(*f->norder)++] = f->id;
    ASYNC_END();
}

static void sleeper_init(sleeper_t *f, uint64_t ns) {
    future_init(&f->fut, sleeper_poll, 0);
    f->ns = ns;
    f->at = 0;
    f->order = f->norder = 0;
    f->id = 0;
}

/* ---- 1. spawn trusts no bit of the caller's task memory ------------------ */

static int done_calls;
static void count_done(future_t *f, int err, void *arg) {
    (void)f, (void)err, (void)arg;
    done_calls++;
}

static void test_01_spawn_ignores_garbage_in_task_memory(void) {
    exec_task_t t;
    sleeper_t s;
    int fill;
    for (fill = 0; fill < 256; fill += 0x55) {
        setup();
        memset(&t, fill, sizeof t); /* stale state bits: BOXED, LIVE, ... */
        sleeper_init(&s, TIMER_MS);
        exec_clock_pause(&ex);
        CHECK_EQ(exec_spawn(&t, &ex, &s.fut), 0); /* not "already spawned" */
        CHECK_EQ(exec_run(&ex), 0); /* and no free() of a stack address */
        CHECK(exec_task_done(&t));
        CHECK_EQ(exec_task_err(&t), 0);
        exec_destroy(&ex);
    }
}

/* ---- 7. exec_spawn_detached: on any error the frame is still the caller's */

static void test_07_spawn_detached_refusals_leave_the_frame_alone(void) {
    sleeper_t s, s2;
    exec_task_t t;
    setup();
    done_calls = 0;
    sleeper_init(&s, TIMER_MS);
    CHECK_EQ((exec_spawn_detached)(0, &ex, count_done, 0), -EINVAL);
    CHECK_EQ(done_calls, 0);
    /* -EBUSY: the future already runs as a task */
    memset(&t, 0, sizeof t);
    CHECK_EQ(exec_spawn(&t, &ex, &s.fut), 0);
    CHECK_MISUSE(CHECK_EQ(exec_spawn_detached(&s.fut, &ex, count_done, 0), -EBUSY),
                 "already runs as another task");
    CHECK_EQ(done_calls, 0);
    exec_abort(&t);
    /* -ECANCELED: spawned while shutting down (from inside shutdown: a
     * drop that spawns) */
    ex.closing = 1;
    sleeper_init(&s2, TIMER_MS);
    CHECK_EQ(exec_spawn_detached(&s2.fut, &ex, count_done, 0), -ECANCELED);
    ex.closing = 0;
    CHECK_EQ(done_calls, 0);
    CHECK(!future_done(&s2.fut)); /* not dropped: untouched */
    /* and when it is accepted, done runs exactly once */
    CHECK_EQ(exec_spawn_detached(&s2.fut, &ex, count_done, 0), 0);
    exec_clock_pause(&ex);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(done_calls, 1);
    exec_destroy(&ex); /* ASan/valgrind: no box leaked on any refusal */
}

/* ---- 18. one future spawned into two task records ------------------------ */

static void test_18_future_spawned_twice_is_caught_at_the_second_spawn(void) {
    exec_task_t a, b;
    sleeper_t s;
    setup();
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    sleeper_init(&s, TIMER_MS);
    CHECK_EQ(exec_spawn(&a, &ex, &s.fut), 0);
    CHECK_MISUSE(CHECK_EQ(exec_spawn(&b, &ex, &s.fut), -EBUSY), "already runs");
    CHECK_MISUSE(CHECK_EQ(exec_spawn(&a, &ex, &s.fut), -EBUSY), "already spawned");
    exec_clock_pause(&ex);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(exec_task_done(&a));
    CHECK(!exec_task_done(&b));
    /* finished: the same future may be spawned again once re-initialised */
    sleeper_init(&s, TIMER_MS);
    CHECK_EQ(exec_spawn(&b, &ex, &s.fut), 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(exec_task_done(&b));
    exec_destroy(&ex);
}

/* A record alive on another executor is alive too (found by the coverage
 * tests: it was accepted, linked into two live lists, and the second
 * destroy never returned). */
static coro_poll_t never_poll(future_t *self, future_cx_t *cx) {
    (void)self, (void)cx;
    return CORO_PENDING;
}

static void test_18_task_alive_on_another_executor_is_refused(void) {
    exec_t e2;
    exec_task_t t;
    future_t a, b;
    setup();
    CHECK_EQ(exec_init(&e2), 0);
    memset(&t, 0, sizeof t);
    future_init(&a, never_poll, 0);
    future_init(&b, never_poll, 0);
    CHECK_EQ(exec_spawn(&t, &e2, &a), 0);
    CHECK_MISUSE(CHECK_EQ(exec_spawn(&t, &ex, &b), -EBUSY), "already spawned");
    exec_destroy(&ex);
    exec_destroy(&e2); /* returns: t was in one list only */
    CHECK(exec_task_done(&t));
}

/* ---- 2. a remote wake's tail never outlives close + destroy -------------- */

/* Each thread's wake is its "I am done" signal and its last touch of
 * anything: the loop closes the handles and frees the executor as soon as
 * every wake has been delivered, while the threads may still be inside
 * exec_remote_wake. Both live on the heap, poisoned and freed at once, so
 * ASan (and TSan) see any late touch. */
enum { RW_THREADS = 4 };

typedef struct remote_all remote_all_t;

typedef struct {
    future_waker_t w; /* first: the handle's waker */
    remote_all_t *all;
    int got;
} remote_slot_t;

struct remote_all {
    future_t fut;
    exec_remote_t r[RW_THREADS];
    remote_slot_t slot[RW_THREADS];
    future_waker_t *task;
    int *go;
};

static void remote_slot_wake(future_waker_t *w) {
    remote_slot_t *s = (remote_slot_t *)(void *)w;
    s->got = 1;
    future_wake(s->all->task);
}

static coro_poll_t remote_all_poll(future_t *self, future_cx_t *cx) {
    remote_all_t *f = (remote_all_t *)self;
    int k;
    f->task = cx->waker;
    for (k = 0; k < RW_THREADS; k++)
        if (!f->slot[k].got) return CORO_PENDING;
    return future_finish(self, 0);
}

typedef struct {
    exec_remote_t *r;
    int *go;
} waker_arg_t;

static void *remote_waker(void *p) {
    waker_arg_t *a = (waker_arg_t *)p;
    while (!__atomic_load_n(a->go, __ATOMIC_ACQUIRE)) sched_yield();
    exec_remote_wake(a->r); /* the last touch this thread makes */
    return 0;
}

static void test_02_remote_close_waits_for_wakes_in_flight(void) {
#ifdef CHECK_SLOW
    int rounds = 50;
#else
    int rounds = 1000;
#endif
    int i, k;
    for (i = 0; i < rounds; i++) {
        /* every other round, each waker pauses inside its wake */
        __atomic_store_n(&remote_pause_us, i % 2 ? 200 : 0, __ATOMIC_RELAXED);
        exec_t *e = (exec_t *)malloc(sizeof *e);
        remote_all_t *f = (remote_all_t *)malloc(sizeof *f);
        pthread_t th[RW_THREADS];
        waker_arg_t arg[RW_THREADS];
        int go = 0;
        CHECK(e && f);
        CHECK_EQ(exec_init(e), 0);
        e->log = 0;
        future_init(&f->fut, remote_all_poll, 0);
        for (k = 0; k < RW_THREADS; k++) {
            f->slot[k].w.wake = remote_slot_wake;
            f->slot[k].all = f;
            f->slot[k].got = 0;
            exec_remote_init(&f->r[k], e);
            exec_remote_set_waker(&f->r[k], &f->slot[k].w);
            arg[k].r = &f->r[k];
            arg[k].go = &go;
            pthread_create(&th[k], 0, remote_waker, &arg[k]);
        }
        __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
        CHECK_EQ(exec_block_on(e, &f->fut), 0);
        for (k = 0; k < RW_THREADS; k++) exec_remote_close(&f->r[k]);
        exec_destroy(e);
        memset(e, 0xdd, sizeof *e);
        memset(f, 0xdd, sizeof *f);
        free(e);
        free(f);
        for (k = 0; k < RW_THREADS; k++) pthread_join(th[k], 0);
    }
}

/* ---- 3, 17. a wait that fails is an error, never a spin ------------------ */

typedef struct {
    future_t fut;
    timer_sleep_t s;
    int destroyed;
} self_destroyer_t;

static coro_poll_t self_destroyer_poll(future_t *self, future_cx_t *cx) {
    self_destroyer_t *f = (self_destroyer_t *)self;
    ASYNC_BEGIN(f);
    {
        int before = check_misuses_;
        exec_destroy(exec_of(cx)); /* refused, with a report */
        f->destroyed = check_misuses_ - before == 1 &&
                       strstr(check_last_misuse_, "exec_destroy from inside a task");
    }
    timer_sleep_init(&f->s, 20 * TIMER_MS);
    AWAIT(cx, &f->s);
    ASYNC_END();
}

static void test_17_destroy_from_a_task_is_refused_whole(void) {
    self_destroyer_t f;
    setup();
    memset(&f, 0, sizeof f);
    future_init(&f.fut, self_destroyer_poll, 0);
    CHECK_EQ(exec_block_on(&ex, &f.fut), 0);
    CHECK(f.destroyed);
    CHECK(ex.stats.turns < 10); /* one sleep, not thousands of failed waits */
    CHECK(fcntl(ex.epfd, F_GETFD) >= 0); /* still open */
    exec_destroy(&ex);
}

static void test_03_failed_wait_stops_the_loop_with_its_error(void) {
    sleeper_t s;
    int epfd;
    setup();
    sleeper_init(&s, 20 * TIMER_MS);
    /* The epoll fd goes bad behind the executor's back (a wait that can
     * never work: EBADF). The loop must return the error, not spin. */
    epfd = ex.epfd;
    close(epfd);
    ex.epfd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* not an epoll fd: EINVAL */
    CHECK_EQ(exec_block_on(&ex, &s.fut), -EINVAL);
    CHECK(ex.stats.turns < 10);
    CHECK(future_done(&s.fut)); /* dropped */
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    exec_destroy(&ex);
}

/* ---- 4. the epoll_wait timeout clamps instead of going negative ---------- */

static void test_04_epoll_wait_timeout_clamps(void) {
    CHECK_EQ(exec_timeout_ms_(-1), -1);
    CHECK_EQ(exec_timeout_ms_(0), 0);
    CHECK_EQ(exec_timeout_ms_(1), 1); /* rounded up: never early */
    CHECK_EQ(exec_timeout_ms_(1000000), 1);
    CHECK_EQ(exec_timeout_ms_(1000001), 2);
    CHECK_EQ(exec_timeout_ms_((int64_t)INT_MAX * 1000000), INT_MAX);
    CHECK_EQ(exec_timeout_ms_((int64_t)INT_MAX * 1000000 + 1), INT_MAX); /* 24.8 days */
    CHECK_EQ(exec_timeout_ms_(30 * 24 * 3600 * (int64_t)1000000000), INT_MAX);
    CHECK_EQ(exec_timeout_ms_(INT64_MAX), INT_MAX);
}

/* ---- 6. a waker may cancel and insert timers while the wheel fires ------- */

typedef struct {
    future_waker_t w;
    timer_wheel_t *wheel;
    timer_entry_t *victims[4];
    int nvictims;
    timer_entry_t *spawn;   /* inserted from the wake, deadline +0 / +later */
    uint64_t spawn_at;
    int fired;
    int order;
} chaos_waker_t;

static int chaos_seq;

static void chaos_wake(future_waker_t *w) {
    chaos_waker_t *c = (chaos_waker_t *)w;
    int i;
    c->fired++;
    c->order = chaos_seq++;
    for (i = 0; i < c->nvictims; i++) timer_wheel_cancel(c->wheel, c->victims[i]);
    if (c->spawn) timer_wheel_insert(c->wheel, c->spawn, c->spawn_at, w);
    c->spawn = 0;
}

static void test_06_wheel_advance_survives_cancel_and_insert_from_a_wake(void) {
    enum { N = 64 };
    static timer_wheel_t w;
    static timer_entry_t e[N], extra[N];
    static chaos_waker_t c[N];
    uint64_t t0 = (uint64_t)12345 << 10, d = t0 + 5000; /* all in one tick */
    int i, fired = 0;
    timer_wheel_init(&w, t0);
    chaos_seq = 0;
    for (i = 0; i < N; i++) {
        memset(&c[i], 0, sizeof c[i]);
        c[i].w.wake = chaos_wake;
        c[i].wheel = &w;
        c[i].order = -1;
        memset(&e[i], 0, sizeof e[i]);
        CHECK_EQ(timer_wheel_insert(&w, &e[i], d, &c[i].w), 0);
    }
    /* Each even timer cancels the next odd one (the same slot, already
     * detached by the old walk) and registers a new timer: one due in this
     * same advance, one later. */
    for (i = 0; i + 1 < N; i += 2) {
        c[i].victims[c[i].nvictims++] = &e[i + 1];
        c[i].spawn = &extra[i];
        c[i].spawn_at = i % 4 ? d + 100000 : d; /* d: already due, not linked */
    }
    fired = (int)timer_wheel_advance(&w, d);
    CHECK_EQ(fired, N / 2); /* the odd ones were cancelled before firing */
    for (i = 0; i < N; i++) CHECK_EQ(c[i].fired, i % 2 == 0);
    for (i = 0; i + 2 < N; i += 2) CHECK(c[i].order < c[i + 2].order); /* in order */
    CHECK_EQ(timer_wheel_count(&w), N / 4); /* the later ones wait */
    CHECK_EQ((int)timer_wheel_advance(&w, d + 100000), N / 4);
    CHECK_EQ(timer_wheel_count(&w), 0);
}

/* A waker that advances the wheel again from inside the wake (a loop that
 * polls inline) fires the rest exactly once. */
typedef struct {
    future_waker_t w;
    timer_wheel_t *wheel;
    uint64_t to;
    int fired;
} nested_waker_t;

static void nested_wake(future_waker_t *w) {
    nested_waker_t *n = (nested_waker_t *)w;
    n->fired++;
    if (n->to) timer_wheel_advance(n->wheel, n->to);
}

static void test_06_wheel_advance_from_inside_a_wake(void) {
    static timer_wheel_t w;
    static timer_entry_t e[10];
    static nested_waker_t n[10];
    uint64_t t0 = 1000000;
    int i;
    timer_wheel_init(&w, t0);
    for (i = 0; i < 10; i++) {
        n[i].w.wake = nested_wake;
        n[i].wheel = &w;
        n[i].fired = 0;
        n[i].to = i == 0 ? t0 + 9 * TIMER_MS : 0;
        memset(&e[i], 0, sizeof e[i]);
        timer_wheel_insert(&w, &e[i], t0 + (uint64_t)(i + 1) * TIMER_MS, &n[i].w);
    }
    timer_wheel_advance(&w, t0 + TIMER_MS);
    for (i = 0; i < 10; i++) CHECK_EQ(n[i].fired, i < 9);
    CHECK_EQ(timer_wheel_count(&w), 1);
}

/* ---- 15. equal deadlines fire in registration order, at any alignment ---- */

typedef struct {
    uint64_t ns;
} fake_clock_t;

static uint64_t fake_now(void *ctx) { return ((fake_clock_t *)ctx)->ns; }

/* Waits pre ns, then sleeps until the absolute deadline `until`: so the
 * moment its timer is registered (how far the deadline is, which level of
 * the wheel it starts on) is chosen by pre. */
typedef struct {
    future_t fut;
    uint64_t pre, until;
    int *order, *norder, id;
    timer_sleep_t s;
} late_t;

static coro_poll_t late_poll(future_t *self, future_cx_t *cx) {
    late_t *f = (late_t *)self;
    ASYNC_BEGIN(f);
    if (f->pre) {
        timer_sleep_init(&f->s, f->pre);
        AWAIT(cx, &f->s);
    }
    timer_sleep_until_init(&f->s, f->until);
    AWAIT(cx, &f->s);
    f->order[(*f->norder)++] = f->id;
    ASYNC_END();
}

static void test_15_equal_deadlines_fire_in_registration_order(void) {
    enum { N = 12 };
    uint64_t k;
    for (k = 0; k < 64; k++) {
        fake_clock_t clk;
        exec_task_t t[N];
        late_t f[N];
        int order[N], norder = 0, i;
        uint64_t t0, d;
        setup();
        clk.ns = ((uint64_t)1 << 40) + k * 97; /* where t0 falls on the tick grid */
        exec_set_clock(&ex, fake_now, &clk);
        exec_clock_pause(&ex);
        t0 = exec_now(&ex);
        d = t0 + 5 * TIMER_SEC + 333;
        /* Spawned in reverse, registered in order of pre: task i registers
         * its timer i steps before the deadline, from every level of the
         * wheel (5 s away ... 1 us away), plus two registered together. */
        for (i = N - 1; i >= 0; i--) {
            static const uint64_t pre[N] = {0, 1, 2, 3, 5, 6, 7, 8, 9, 9, 10, 11};
            f[i].pre = pre[i] * (5 * TIMER_SEC / 12) + (i == 11 ? 5 * TIMER_SEC / 12 - 1000 : 0);
            f[i].until = d;
            f[i].order = order;
            f[i].norder = &norder;
            f[i].id = i;
            future_init(&f[i].fut, late_poll, 0);
            memset(&t[i], 0, sizeof t[i]);
            CHECK_EQ(exec_spawn(&t[i], &ex, &f[i].fut), 0);
        }
        CHECK_EQ(exec_run(&ex), 0);
        CHECK_EQ(norder, N);
        CHECK_EQ(exec_now(&ex), d); /* the paused clock lands on it exactly */
        /* 8 and 9 registered at the same moment: spawned 9 first, so polled
         * (and registered) 9 first. */
        for (i = 0; i < N; i++) CHECK_EQ(order[i], i == 8 ? 9 : i == 9 ? 8 : i);
        exec_destroy(&ex);
    }
}

/* ---- 8. time arithmetic saturates ---------------------------------------- */

static void test_08_clock_advance_saturates(void) {
    sleeper_t s;
    setup();
    exec_clock_advance(&ex, UINT64_MAX); /* UBSan: no signed overflow */
    CHECK_EQ(exec_now(&ex), EXEC_CLOCK_MAX);
    exec_clock_advance(&ex, UINT64_MAX);
    CHECK_EQ(exec_now(&ex), EXEC_CLOCK_MAX);
    exec_update_time(&ex);
    CHECK_EQ(exec_now(&ex), EXEC_CLOCK_MAX); /* it stays at the end, no wrap */
    exec_destroy(&ex);
    /* A big step, not to the end, keeps the clock running afterwards. */
    setup();
    exec_clock_advance(&ex, (uint64_t)1 << 62);
    sleeper_init(&s, TIMER_MS);
    CHECK_EQ(exec_block_on(&ex, &s.fut), 0);
    CHECK(s.at >= ((uint64_t)1 << 62) + TIMER_MS);
    exec_destroy(&ex);
}

static void test_08_interval_skip_near_the_end_of_time(void) {
    static timer_wheel_t w;
    timer_interval_t iv;
    future_waker_t nowake;
    future_cx_t cx;
    uint64_t period = (uint64_t)1 << 62;
    nowake.wake = 0;
    future_cx_init(&cx, 0);
    cx.timers = &w;
    timer_wheel_init(&w, 0);
    timer_interval_init(&iv, period + 3, TIMER_MISSED_SKIP);
    CHECK_EQ(future_poll(&iv.fut, &cx), CORO_READY); /* the first tick */
    timer_wheel_advance(&w, 3 * period); /* two periods missed */
    CHECK_EQ(future_poll(&iv.fut, &cx), CORO_READY);
    /* the next tick on the schedule after now, not a wrapped-around one */
    CHECK(iv.next > 3 * period);
    CHECK(iv.next == TIMER_NEVER || iv.next % (period + 3) == 0);
    future_drop(&iv.fut);
    (void)nowake;
}

static int64_t noop_job(void *arg, blocking_job_t *job) {
    (void)arg, (void)job;
    return 1;
}

typedef struct {
    future_t fut;
    blocking_t b[4];
} four_jobs_t;

static blocking_pool_t pool;

static coro_poll_t four_jobs_poll(future_t *self, future_cx_t *cx) {
    four_jobs_t *f = (four_jobs_t *)self;
    ASYNC_BEGIN(f);
    blocking_init(&f->b[0], &pool, noop_job, 0);
    blocking_init(&f->b[1], &pool, noop_job, 0);
    blocking_init(&f->b[2], &pool, noop_job, 0);
    blocking_init(&f->b[3], &pool, noop_job, 0);
    JOIN(cx, &f->b[0], &f->b[1], &f->b[2], &f->b[3]);
    ASYNC_END();
}

static void test_08_pool_keep_alive_forever(void) {
    blocking_pool_opts_t o;
    four_jobs_t f;
    int i;
    setup();
    memset(&o, 0, sizeof o);
    o.threads = 1;
    o.max_threads = 4;
    o.keep_alive_ns = UINT64_MAX; /* "never" */
    CHECK_EQ(blocking_pool_init(&pool, &ex, &o), 0);
    future_init(&f.fut, four_jobs_poll, 0);
    CHECK_EQ(exec_block_on(&ex, &f.fut), 0);
    for (i = 0; i < 50; i++) usleep(1000); /* give a wrapped deadline time to fire */
    CHECK_EQ(blocking_pool_stats(&pool).exited, 0);
    blocking_pool_destroy(&pool);
    exec_destroy(&ex);
}

/* ---- 9. the sleep after a long poll is computed from a fresh clock ------- */

typedef struct {
    future_t fut;
    fake_clock_t *clk;
    timer_sleep_t s;
} burner_t;

static coro_poll_t burner_poll(future_t *self, future_cx_t *cx) {
    burner_t *f = (burner_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->s, 10 * TIMER_MS);
    AWAIT(cx, &f->s); /* registered; its deadline is now + 10 ms */
    ASYNC_END();
}

typedef struct {
    future_t fut;
    fake_clock_t *clk;
} burn_t;

static coro_poll_t burn_poll(future_t *self, future_cx_t *cx) {
    burn_t *f = (burn_t *)self;
    (void)cx;
    f->clk->ns += 50 * TIMER_MS; /* this poll "takes" 50 ms */
    return future_finish(self, 0);
}

static void test_09_idle_timeout_from_a_fresh_clock(void) {
    fake_clock_t clk;
    exec_task_t ta, tb;
    burner_t a;
    burn_t b;
    uint64_t t0;
    setup();
    clk.ns = TIMER_SEC;
    exec_set_clock(&ex, fake_now, &clk);
    memset(&ta, 0, sizeof ta);
    memset(&tb, 0, sizeof tb);
    future_init(&a.fut, burner_poll, 0);
    a.clk = &clk;
    future_init(&b.fut, burn_poll, 0);
    b.clk = &clk;
    t0 = exec_now(&ex);
    exec_spawn(&ta, &ex, &a.fut); /* registers its 10 ms sleep... */
    exec_spawn(&tb, &ex, &b.fut); /* ...then 50 ms pass in this poll */
    CHECK_EQ(exec_run(&ex), 0);
    /* The timer was due when the loop went idle: it fired without the loop
     * sleeping in epoll for the stale 10 ms (the fake clock never moves by
     * itself, so a sleep would have found it still due, but parked). */
    CHECK_EQ(ex.stats.parks, 0);
    CHECK_EQ(exec_now(&ex), t0 + 50 * TIMER_MS);
    exec_destroy(&ex);
}

/* ---- 10. a child started from a job gets a clean signal mask ------------- */

#include <spawn.h>
extern char **environ;

static int64_t spawn_job(void *arg, blocking_job_t *job) {
    int clean = *(int *)arg, st = 0;
    /* grep itself reads its own mask (a shell would reset it first) */
    char *argv[] = {(char *)"grep", (char *)"-q", (char *)"^SigBlk:[[:space:]]*0*$",
                    (char *)"/proc/self/status", 0};
    posix_spawnattr_t attr;
    pid_t pid;
    int rc;
    (void)job;
    if (clean && exec_spawnattr_init(&attr)) return -1;
    rc = posix_spawnp(&pid, "grep", 0, clean ? &attr : 0, argv, environ);
    if (clean) posix_spawnattr_destroy(&attr);
    if (rc) return -1;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1; /* 0: nothing blocked */
}

typedef struct {
    future_t fut;
    blocking_t b;
    int clean;
} spawner_t;

static coro_poll_t spawner_poll(future_t *self, future_cx_t *cx) {
    spawner_t *f = (spawner_t *)self;
    ASYNC_BEGIN(f);
    blocking_init_scoped(&f->b, &pool, spawn_job, &f->clean);
    AWAIT(cx, &f->b);
    ASYNC_END();
}

static void test_10_child_from_a_job_gets_a_clean_mask(void) {
    spawner_t f;
    setup();
    CHECK_EQ(blocking_pool_init(&pool, &ex, 0), 0);
    future_init(&f.fut, spawner_poll, 0);
    f.clean = 0; /* the problem: a pool thread's mask blocks everything */
    CHECK_EQ(exec_block_on(&ex, &f.fut), 0);
    CHECK_EQ(f.b.result, 1);
    future_init(&f.fut, spawner_poll, 0);
    f.clean = 1; /* the one-call fix */
    CHECK_EQ(exec_block_on(&ex, &f.fut), 0);
    CHECK_EQ(f.b.result, 0);
    blocking_pool_destroy(&pool);
    exec_destroy(&ex);
}

/* exec_child_sigreset in a forked child: what the parent ignored, caught
 * and blocked is all back to default in the child, so an exec'd program
 * starts as if from a shell. */
static void on_usr2(int sig) { (void)sig; }

static int child_is_clean(void) {
    struct sigaction sa;
    sigset_t mask;
    int s;
    sigprocmask(SIG_SETMASK, 0, &mask);
    for (s = 1; s < 32; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        if (sigismember(&mask, s) == 1) return 10 + s;
        if (sigaction(s, 0, &sa) == 0 && sa.sa_handler != SIG_DFL) return 50 + s;
    }
    return 0;
}

static void test_10_child_sigreset_after_fork(void) {
    struct sigaction ign, catch_, old1, old2;
    sigset_t block, oldmask;
    pid_t pid;
    int st = -1;
    memset(&ign, 0, sizeof ign);
    memset(&catch_, 0, sizeof catch_);
    ign.sa_handler = SIG_IGN;
    catch_.sa_handler = on_usr2;
    sigaction(SIGUSR1, &ign, &old1);
    sigaction(SIGUSR2, &catch_, &old2);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &oldmask);
    pid = fork();
    if (pid == 0) {
        int dirty = child_is_clean() != 0; /* the inheritance is real */
        exec_child_sigreset();
        _exit(dirty ? child_is_clean() : 99);
    }
    CHECK(pid > 0);
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0); /* 99: nothing was inherited to reset */
    sigprocmask(SIG_SETMASK, &oldmask, 0);
    sigaction(SIGUSR1, &old1, 0);
    sigaction(SIGUSR2, &old2, 0);
}

/* ---- 14. join_all: a child that wakes itself as it finishes -------------- */

typedef struct {
    future_t fut;
    int polls, need;
} selfwake_t;

static coro_poll_t selfwake_poll(future_t *self, future_cx_t *cx) {
    selfwake_t *f = (selfwake_t *)self;
    future_wake(cx->waker); /* a wake in the very poll that finishes */
    return ++f->polls == f->need ? future_finish(self, 0) : CORO_PENDING;
}

static void test_14_join_all_child_waking_itself_as_it_finishes(void) {
    future_join_all_t j;
    future_join_slot_t slots[3];
    selfwake_t c[3];
    int i;
    setup();
    future_join_all_init(&j, slots, 3, 0);
    for (i = 0; i < 3; i++) {
        future_init(&c[i].fut, selfwake_poll, 0);
        c[i].polls = 0;
        c[i].need = 2 + i; /* the others are still pending after it ends */
        CHECK_EQ(future_join_all_add(&j, &c[i].fut), 0);
    }
    CHECK_EQ(exec_block_on(&ex, &j.fut), 0); /* no poll of a NULL child */
    for (i = 0; i < 3; i++) CHECK_EQ(c[i].polls, 2 + i);
    exec_destroy(&ex);
}

/* ---- 16. ready-with-error spends the budget too -------------------------- */

typedef struct {
    future_t fut;
    sync_chan_t *ch;
    sync_chan_recv_t r;
    sync_oneshot_t *os;
    sync_oneshot_recv_t or_;
    sync_notify_t *n;
    sync_notified_t nd;
    io_fd_t *fd;
    io_read_t rd;
    char byte;
    int kind, i, *other_polls, seen_other, before;
} spinner_t;

static coro_poll_t spinner_poll(future_t *self, future_cx_t *cx) {
    spinner_t *f = (spinner_t *)self;
    int v;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < 1000; f->i++) {
        f->before = *f->other_polls;
        if (f->kind == 0) {
            sync_chan_recv_init(&f->r, f->ch, &v);
            AWAIT(cx, &f->r); /* -EPIPE at once: closed */
        } else if (f->kind == 1) {
            sync_oneshot_recv_init(&f->or_, f->os, &v);
            AWAIT(cx, &f->or_); /* -EPIPE at once: sender gone */
        } else if (f->kind == 3) {
            io_read_init(&f->rd, f->fd, &f->byte, 1);
            AWAIT(cx, &f->rd); /* -EBADF at once: the fd was closed */
        } else {
            sync_notified_init(&f->nd, f->n);
            sync_notify_waiters(f->n);
            AWAIT(cx, &f->nd); /* ready at once: notify_waiters since init */
        }
        if (*f->other_polls != f->before) f->seen_other++;
    }
    ASYNC_END();
}

typedef struct {
    future_t fut;
    int polls;
    int *stop;
} ticker_t;

static coro_poll_t ticker_poll(future_t *self, future_cx_t *cx) {
    ticker_t *f = (ticker_t *)self;
    f->polls++;
    if (*f->stop) return future_finish(self, 0);
    future_wake(cx->waker);
    return CORO_PENDING;
}

static void test_16_error_paths_spend_the_budget(void) {
    int kind;
    for (kind = 0; kind < 4; kind++) {
        static int buf[4];
        sync_chan_t ch;
        sync_oneshot_t os;
        sync_notify_t n;
        io_fd_t fd;
        int slot, stop = 0, pipefd[2];
        exec_task_t ts, tt;
        spinner_t sp;
        ticker_t tk;
        setup();
        sync_chan_init(&ch, buf, 4, sizeof(int));
        sync_chan_close(&ch);
        sync_oneshot_init(&os, &slot, sizeof slot);
        sync_oneshot_tx_drop(&os);
        sync_notify_init(&n);
        CHECK_EQ(pipe(pipefd), 0);
        close(pipefd[1]);
        CHECK_EQ(io_fd_open(&fd, &ex, pipefd[0]), 0);
        io_fd_close(&fd);
        memset(&sp, 0, sizeof sp);
        sp.fd = &fd;
        future_init(&sp.fut, spinner_poll, 0);
        sp.ch = &ch;
        sp.os = &os;
        sp.n = &n;
        sp.kind = kind;
        sp.other_polls = &tk.polls;
        future_init(&tk.fut, ticker_poll, 0);
        tk.polls = 0;
        tk.stop = &stop;
        memset(&ts, 0, sizeof ts);
        memset(&tt, 0, sizeof tt);
        exec_spawn(&ts, &ex, &sp.fut);
        exec_spawn(&tt, &ex, &tk.fut);
        while (!exec_task_done(&ts)) exec_turn_(&ex, &ts);
        stop = 1;
        CHECK_EQ(exec_run(&ex), 0);
        /* 1000 operations at a budget of EXEC_BUDGET per poll: the ticker
         * ran in between at least 1000 / EXEC_BUDGET times. */
        CHECK(sp.seen_other >= 1000 / EXEC_BUDGET - 1);
        exec_destroy(&ex);
    }
}

/* ---- 19. SELECT from fresh frames starts at varying branches ------------- */

typedef struct {
    future_t fut;
    future_ready_t a, b, c;
    int which, i, wins[3];
} fresh_select_t;

static coro_poll_t fresh_select_poll(future_t *self, future_cx_t *cx) {
    fresh_select_t *f = (fresh_select_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < 999; f->i++) {
        f->which = 0; /* a fresh frame each time: zeroed */
        future_ready_init(&f->a, 0);
        future_ready_init(&f->b, 0);
        future_ready_init(&f->c, 0);
        SELECT(cx, f->which, &f->a, &f->b, &f->c);
        f->wins[f->which]++;
    }
    ASYNC_END();
}

static void test_19_select_from_fresh_frames_is_fair(void) {
    fresh_select_t f;
    setup();
    memset(&f, 0, sizeof f);
    future_init(&f.fut, fresh_select_poll, 0);
    CHECK_EQ(exec_block_on(&ex, &f.fut), 0);
    CHECK_EQ(f.wins[0], 333);
    CHECK_EQ(f.wins[1], 333);
    CHECK_EQ(f.wins[2], 333);
    exec_destroy(&ex);
}

int main(void) {
    RUN(test_01_spawn_ignores_garbage_in_task_memory);
    RUN(test_02_remote_close_waits_for_wakes_in_flight);
    RUN(test_03_failed_wait_stops_the_loop_with_its_error);
    RUN(test_04_epoll_wait_timeout_clamps);
    RUN(test_06_wheel_advance_survives_cancel_and_insert_from_a_wake);
    RUN(test_06_wheel_advance_from_inside_a_wake);
    RUN(test_07_spawn_detached_refusals_leave_the_frame_alone);
    RUN(test_08_clock_advance_saturates);
    RUN(test_08_interval_skip_near_the_end_of_time);
    RUN(test_08_pool_keep_alive_forever);
    RUN(test_09_idle_timeout_from_a_fresh_clock);
    RUN(test_10_child_from_a_job_gets_a_clean_mask);
    RUN(test_10_child_sigreset_after_fork);
    RUN(test_14_join_all_child_waking_itself_as_it_finishes);
    RUN(test_15_equal_deadlines_fire_in_registration_order);
    RUN(test_16_error_paths_spend_the_budget);
    RUN(test_17_destroy_from_a_task_is_refused_whole);
    RUN(test_18_future_spawned_twice_is_caught_at_the_second_spawn);
    RUN(test_18_task_alive_on_another_executor_is_refused);
    RUN(test_19_select_from_fresh_frames_is_fair);
    return check_summary();
}
