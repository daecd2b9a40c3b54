/* Tests of exec.h's blocking pool (blocking_pool_t, blocking_t), its
 * cancellation protocol, fs.h's file helpers and the blocked-executor
 * detector. Runs under ASan/UBSan, TSan and valgrind (tests/run.sh). */
#include "check.h"
/* A test hook: run before a submit's push (blocking_pool_submit_), to
 * shut the pool down exactly between a submit's check and its push. */
struct blocking_pool;
static void (*before_push)(struct blocking_pool *);
#define BLOCKING_BEFORE_PUSH_(p)                                               \
    do {                                                                       \
        if (before_push) before_push(p);                                       \
    } while (0)
#include "../fs.h"
#include <sys/syscall.h>

#ifdef CHECK_SLOW
enum { JOBS = 10000, STRESS = 300, STORM_ROUNDS = 8, BUSY_JOBS = 60 };
#else
enum { JOBS = 10000, STRESS = 3000, STORM_ROUNDS = 400, BUSY_JOBS = 3000 };
#endif

static exec_t ex;
static blocking_pool_t pool;
static int live; /* set up and not yet torn down */

static void teardown(void);

static void setup_grow(unsigned threads, unsigned max, size_t cap, uint64_t keep_alive,
                       uint64_t grow_after) {
    blocking_pool_opts_t o;
    if (live) teardown(); /* the last test failed before its teardown */
    if (exec_init(&ex)) abort();
    ex.log = 0;
    memset(&o, 0, sizeof o);
    o.threads = threads;
    o.max_threads = max;
    o.queue_cap = cap;
    o.keep_alive_ns = keep_alive;
    o.grow_after_ns = grow_after;
    if (blocking_pool_init(&pool, &ex, &o)) abort();
    live = 1;
}

static void setup_with(unsigned threads, unsigned max, size_t cap, uint64_t keep_alive) {
    setup_grow(threads, max, cap, keep_alive, 0);
}

static void setup(void) { setup_with(0, 0, 0, 0); }

static void teardown(void) {
    exec_destroy(&ex);
    blocking_pool_destroy(&pool);
    live = 0;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wait (really) until *p == v, for at most 10 s. */
static int wait_for(int *p, int v) {
    uint64_t end = now_ns() + 10 * TIMER_SEC;
    while (EXEC_LOAD_(p) != v) {
        if (now_ns() > end) return 0;
        usleep(100);
    }
    return 1;
}

/* Runs the loop once through: every spawned task gets its first poll. */
typedef struct {
    future_t fut;
} once_t;

static coro_poll_t once_poll(future_t *self, future_cx_t *cx) {
    once_t *f = (once_t *)self;
    ASYNC_BEGIN(f);
    YIELD_NOW(cx);
    ASYNC_END();
}

static void run_once(void) {
    once_t o;
    future_init(&o.fut, once_poll, 0);
    exec_block_on(&ex, &o.fut);
}

/* ---- jobs --------------------------------------------------------------- */

static int64_t add_job(void *arg, blocking_job_t *job) {
    (void)job;
    return (int64_t)(intptr_t)arg + 1;
}

static int64_t fail_job(void *arg, blocking_job_t *job) {
    (void)arg;
    job->err = -EIO;
    return 7;
}

static int64_t twice_job(void *arg, blocking_job_t *job) {
    (void)job;
    return 2 * (int64_t)(intptr_t)arg;
}

/* A job that waits for a gate, and says what it saw. Its state is static
 * (it must outlive a detached job). */
typedef struct {
    int started, gate, finished, saw_stop, discarded;
    int64_t discarded_value;
    int until_stop; /* return as soon as the stop flag rises */
    int64_t value;
    int *frame_flag; /* scoped jobs: written in the (borrowed) frame */
} gate_t;

static int64_t gate_job(void *arg, blocking_job_t *job) {
    gate_t *g = (gate_t *)arg;
    uint64_t end = now_ns() + 10 * TIMER_SEC;
    EXEC_STORE_(&g->started, 1);
    while (!EXEC_LOAD_(&g->gate) && now_ns() < end) {
        if (g->until_stop && blocking_stopping(job)) break;
        usleep(200);
    }
    if (blocking_stopping(job)) EXEC_STORE_(&g->saw_stop, 1);
    if (g->frame_flag) *g->frame_flag = 1;
    EXEC_STORE_(&g->finished, 1);
    return g->value;
}

static void gate_discard(void *arg, int64_t result) {
    gate_t *g = (gate_t *)arg;
    g->discarded_value = result;
    EXEC_STORE_(&g->discarded, 1);
}

static int counted_runs;
static int64_t count_job(void *arg, blocking_job_t *job) {
    (void)arg;
    (void)job;
    EXEC_ADD_(&counted_runs, 1);
    return 0;
}

/* ---- basics ------------------------------------------------------------- */

static void test_job_result_and_error(void) {
    blocking_t a, b;
    setup();
    blocking_init(&a, &pool, add_job, (void *)(intptr_t)41);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
    CHECK_EQ(a.result, 42);
    blocking_init(&b, &pool, fail_job, 0);
    CHECK_EQ(exec_block_on(&ex, &b.fut), -EIO);
    CHECK_EQ(b.result, 7);
    CHECK_EQ(ex.nremote, 0); /* the remote handles are closed */
    CHECK_EQ(ex.holds, 0);   /* and the clock holds released */
    teardown();
}

static void test_init_is_lazy(void) {
    blocking_t a;
    setup();
    counted_runs = 0;
    blocking_init(&a, &pool, count_job, 0);
    usleep(2000);
    CHECK_EQ(EXEC_LOAD_(&counted_runs), 0);
    CHECK_EQ(blocking_pool_stats(&pool).submitted, 0);
    CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
    CHECK_EQ(EXEC_LOAD_(&counted_runs), 1);
    teardown();
}

/* 10,000 jobs under future_join_all_t: every result right, and the pool
 * never has more threads than its maximum (no thread per job). */
static void test_ten_thousand_jobs(void) {
    blocking_t *b = (blocking_t *)calloc(JOBS, sizeof *b);
    future_join_slot_t *slots = (future_join_slot_t *)calloc(JOBS, sizeof *slots);
    future_join_all_t all;
    blocking_pool_stats_t st;
    int i, bad = 0;
    setup_with(2, 8, 0, 0);
    future_join_all_init(&all, slots, JOBS, 0);
    for (i = 0; i < JOBS; i++) {
        blocking_init(&b[i], &pool, twice_job, (void *)(intptr_t)i);
        future_join_all_add(&all, &b[i].fut);
    }
    CHECK_EQ(exec_block_on(&ex, &all.fut), 0);
    for (i = 0; i < JOBS; i++)
        if (b[i].result != 2 * i || future_err(&b[i].fut) != 0) bad++;
    CHECK_EQ(bad, 0);
    st = blocking_pool_stats(&pool);
    CHECK_EQ(st.ran, JOBS);
    CHECK(st.created <= 8);
    CHECK(blocking_pool_threads(&pool) <= 8);
    CHECK_EQ(ex.nremote, 0);
    CHECK_EQ(ex.holds, 0);
    teardown();
    free(b);
    free(slots);
}

/* ---- cancellation ------------------------------------------------------- */

static void test_dropped_before_start_never_runs(void) {
    static gate_t g;
    exec_task_t ta = {0}, tb = {0};
    blocking_t a, b;
    setup_with(1, 1, 0, 0); /* one thread: b waits behind a */
    memset(&g, 0, sizeof g);
    counted_runs = 0;
    blocking_init(&a, &pool, gate_job, &g);
    blocking_init(&b, &pool, count_job, 0);
    exec_spawn(&ta, &ex, &a.fut);
    exec_spawn(&tb, &ex, &b.fut);
    run_once();
    CHECK(wait_for(&g.started, 1));
    CHECK_EQ(EXEC_LOAD_(&b.state), BLOCKING_QUEUED_);
    exec_abort(&tb); /* drop b while it is queued */
    CHECK_EQ(EXEC_LOAD_(&b.state), BLOCKING_IDLE_);
    CHECK_EQ(exec_task_err(&tb), -ECANCELED);
    CHECK_EQ(blocking_pool_stats(&pool).cancelled, 1);
    CHECK_EQ(b.detached, 0);
    EXEC_STORE_(&g.gate, 1);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(exec_task_done(&ta));
    CHECK_EQ(blocking_pool_stats(&pool).ran, 1);
    blocking_pool_shutdown(&pool, BLOCKING_POOL_DRAIN);
    CHECK_EQ(EXEC_LOAD_(&counted_runs), 0); /* b never ran */
    CHECK_EQ(ex.nremote, 0);
    CHECK_EQ(ex.holds, 0);
    teardown();
}

/* Detached: drop returns at once, the frame is freed at once (ASan and
 * valgrind see any later touch), the job finishes, sees its stop flag, and
 * its result goes to the discard hook. */
static void test_dropped_while_running_detached(void) {
    static gate_t g;
    exec_task_t t = {0};
    blocking_t *b = (blocking_t *)malloc(sizeof *b);
    setup();
    memset(&g, 0, sizeof g);
    g.value = 99;
    blocking_init(b, &pool, gate_job, &g);
    b->discard = gate_discard;
    exec_spawn(&t, &ex, &b->fut);
    run_once();
    CHECK(wait_for(&g.started, 1));
    exec_abort(&t);
    CHECK_EQ(b->detached, 1);
    CHECK_EQ(EXEC_LOAD_(&g.finished), 0); /* drop did not wait */
    CHECK_EQ(ex.nremote, 0);
    CHECK_EQ(ex.holds, 0);
    memset(b, 0xab, sizeof *b);
    free(b);
    EXEC_STORE_(&g.gate, 1);
    CHECK(wait_for(&g.discarded, 1));
    CHECK_EQ(g.discarded_value, 99);
    CHECK_EQ(EXEC_LOAD_(&g.saw_stop), 1);
    CHECK_EQ(exec_run(&ex), 0);
    teardown();
}

/* Scoped: drop raises the stop flag and waits for the job, which may write
 * into the frame until it returns. */
typedef struct {
    blocking_t b;
    int written;
} scoped_frame_t;

static void test_dropped_while_running_scoped(void) {
    static gate_t g;
    exec_task_t t = {0};
    scoped_frame_t *f = (scoped_frame_t *)malloc(sizeof *f);
    setup();
    memset(&g, 0, sizeof g);
    g.until_stop = 1;
    f->written = 0;
    g.frame_flag = &f->written;
    blocking_init_scoped(&f->b, &pool, gate_job, &g);
    exec_spawn(&t, &ex, &f->b.fut);
    run_once();
    CHECK(wait_for(&g.started, 1));
    exec_abort(&t); /* returns only once the job has returned */
    CHECK_EQ(EXEC_LOAD_(&g.finished), 1);
    CHECK_EQ(EXEC_LOAD_(&g.saw_stop), 1);
    CHECK_EQ(f->written, 1);
    CHECK_EQ(f->b.detached, 0);
    CHECK_EQ(ex.nremote, 0);
    CHECK_EQ(ex.holds, 0);
    free(f);
    CHECK_EQ(exec_run(&ex), 0);
    teardown();
}

/* A job done and its wake queued, but not yet seen: drop takes it off the
 * pool's finished list, and the last job in flight closes the pool's
 * remote handle (taking it off the executor's queue). */
static void test_dropped_after_done_before_seen(void) {
    static gate_t g;
    exec_task_t t = {0};
    blocking_t b;
    setup();
    memset(&g, 0, sizeof g);
    blocking_init(&b, &pool, gate_job, &g);
    exec_spawn(&t, &ex, &b.fut);
    run_once();
    CHECK(wait_for(&g.started, 1));
    EXEC_STORE_(&g.gate, 1); /* it finishes while the loop is not running */
    {
        uint64_t end = now_ns() + 10 * TIMER_SEC;
        while (EXEC_LOAD_(&b.state) != BLOCKING_DONE_ && now_ns() < end) usleep(100);
    }
    CHECK_EQ(EXEC_LOAD_(&b.state), BLOCKING_DONE_);
    CHECK(EXEC_LOAD_(&ex.remote) == &pool.remote);
    CHECK(EXEC_LOAD_(&pool.finished) == &b.link);
    exec_abort(&t);
    CHECK(EXEC_LOAD_(&ex.remote) == 0);
    CHECK(EXEC_LOAD_(&pool.finished) == 0);
    CHECK_EQ(ex.nremote, 0);
    CHECK_EQ(ex.holds, 0);
    teardown();
}

/* A job that returned a resource (an fd, a pointer) and was dropped before
 * its result was seen: .discard gets the result, as it does when the drop
 * comes while the job runs. Without it the resource leaks, depending only
 * on timing. A job cancelled unrun by shutdown has no result to discard. */
static void test_dropped_after_done_discards_the_result(void) {
    static gate_t g;
    exec_task_t t = {0}, t2 = {0};
    blocking_t b, q;
    setup_with(1, 1, 0, 0);
    memset(&g, 0, sizeof g);
    g.value = 42;
    g.gate = 1;
    blocking_init(&b, &pool, gate_job, &g);
    b.discard = gate_discard;
    exec_spawn(&t, &ex, &b.fut);
    run_once();
    {
        uint64_t end = now_ns() + 10 * TIMER_SEC;
        while (EXEC_LOAD_(&b.state) != BLOCKING_DONE_ && now_ns() < end) usleep(100);
    }
    CHECK_EQ(EXEC_LOAD_(&b.state), BLOCKING_DONE_);
    exec_abort(&t);
    CHECK_EQ(EXEC_LOAD_(&g.discarded), 1);
    CHECK_EQ(g.discarded_value, 42);
    /* Queued, then cancelled unrun by shutdown, then dropped: no discard. */
    memset(&g, 0, sizeof g);
    g.until_stop = 1;
    blocking_init(&b, &pool, gate_job, &g);
    blocking_init(&q, &pool, gate_job, &g);
    q.discard = gate_discard;
    memset(&t, 0, sizeof t);
    exec_spawn(&t, &ex, &b.fut);
    exec_spawn(&t2, &ex, &q.fut);
    run_once();
    CHECK(wait_for(&g.started, 1));
    blocking_pool_shutdown(&pool, BLOCKING_POOL_CANCEL);
    exec_abort(&t2);
    CHECK_EQ(EXEC_LOAD_(&g.discarded), 0);
    teardown();
}

/* blocking_pool_destroy from inside a job is misuse (a thread cannot join
 * itself): it is reported and must leave the pool alone, not free it
 * under the running threads. */
static int destroy_misuses;
static int64_t destroy_job(void *arg, blocking_job_t *job) {
    int before = check_misuses_;
    (void)arg;
    (void)job;
    blocking_pool_destroy(&pool);
    EXEC_STORE_(&destroy_misuses, check_misuses_ - before);
    return 0;
}

static void test_destroy_from_a_job_is_misuse(void) {
    blocking_t b;
    setup_with(1, 1, 0, 0);
    destroy_misuses = 0;
    blocking_init(&b, &pool, destroy_job, 0);
    CHECK_EQ(exec_block_on(&ex, &b.fut), 0);
    CHECK_EQ(EXEC_LOAD_(&destroy_misuses), 1);
    CHECK(pool.slots != 0); /* still there */
    blocking_init(&b, &pool, add_job, (void *)(intptr_t)1);
    CHECK_EQ(exec_block_on(&ex, &b.fut), 0); /* and still works */
    CHECK_EQ(b.result, 2);
    teardown();
}

/* The race: jobs of random length dropped after a random number of loop
 * turns, in both modes, each frame freed right after its drop. TSan, ASan
 * and valgrind watch for any touch of a freed frame. */
typedef struct {
    blocking_t b;
    int spins;
} race_frame_t;

static int64_t spin_job(void *arg, blocking_job_t *job) {
    volatile int i;
    int n = (int)(intptr_t)arg;
    (void)job;
    for (i = 0; i < n; i++) {
    }
    return n;
}

static void test_drop_race_stress(void) {
    blocking_pool_stats_t st;
    unsigned seed = 12345;
    int i, k;
    setup_with(2, 2, 0, 0);
    for (i = 0; i < STRESS; i++) {
        exec_task_t t = {0};
        race_frame_t *f = (race_frame_t *)malloc(sizeof *f);
        int turns;
        seed = seed * 1103515245u + 12345u;
        f->spins = (int)((seed >> 16) % 3000);
        turns = (int)((seed >> 8) % 4);
        if (i & 1) blocking_init_scoped(&f->b, &pool, spin_job, (void *)(intptr_t)f->spins);
        else blocking_init(&f->b, &pool, spin_job, (void *)(intptr_t)f->spins);
        exec_spawn(&t, &ex, &f->b.fut);
        for (k = 0; k < turns; k++) run_once();
        if ((seed >> 4) & 1) sched_yield();
        exec_abort(&t);
        CHECK_EQ(ex.nremote, 0);
        CHECK_EQ(ex.holds, 0);
        memset(f, 0xcd, sizeof *f);
        free(f);
    }
    blocking_pool_shutdown(&pool, BLOCKING_POOL_DRAIN);
    st = blocking_pool_stats(&pool);
    CHECK_EQ(st.ran + st.cancelled, st.submitted);
    teardown();
}

/* ---- composition: timeout, JOIN, TRY_JOIN, SELECT ----------------------- */

static gate_t slow_g[4];

typedef struct {
    future_t fut;
    int mode, which;
    blocking_t a, b;
    timer_sleep_t nap;
    timer_timeout_t limit;
} combo_t;

/* Submit job a and wait (yielding) until its gate job runs on a pool
 * thread, so that what drops it later finds it running however slow the
 * machine is: the drop's outcome (detached, the stop flag seen) is then
 * the same every time. Then a is awaited as usual. */
#define COMBO_PRESTART(f, g)                                                   \
    do {                                                                       \
        (void)future_poll(&(f)->a.fut, cx); /* submitted: lazy until polled */ \
        AWAIT_UNTIL(EXEC_LOAD_(&(g)->started) || (future_wake(cx->waker), 0)); \
    } while (0)

static coro_poll_t combo_poll(future_t *self, future_cx_t *cx) {
    combo_t *f = (combo_t *)self;
    ASYNC_BEGIN(f);
    if (f->mode == 0) { /* timeout over a slow job */
        blocking_init(&f->a, &pool, gate_job, &slow_g[0]);
        COMBO_PRESTART(f, &slow_g[0]);
        timer_timeout_init(&f->limit, &f->a.fut, 20 * TIMER_MS);
        AWAIT_TRY(cx, &f->limit);
    } else if (f->mode == 1) { /* JOIN of two */
        blocking_init(&f->a, &pool, add_job, (void *)(intptr_t)1);
        blocking_init(&f->b, &pool, twice_job, (void *)(intptr_t)21);
        JOIN(cx, &f->a, &f->b);
    } else if (f->mode == 2) { /* TRY_JOIN: the failure drops the slow one */
        blocking_init(&f->a, &pool, gate_job, &slow_g[1]);
        blocking_init(&f->b, &pool, fail_job, 0);
        COMBO_PRESTART(f, &slow_g[1]);
        TRY_JOIN(cx, &f->a, &f->b);
    } else if (f->mode == 3) { /* SELECT: the job wins */
        blocking_init(&f->a, &pool, add_job, (void *)(intptr_t)5);
        timer_sleep_init(&f->nap, 10 * TIMER_SEC);
        SELECT(cx, f->which, &f->a, &f->nap);
    } else { /* SELECT: the sleep wins, the job is dropped */
        blocking_init(&f->a, &pool, gate_job, &slow_g[2]);
        COMBO_PRESTART(f, &slow_g[2]);
        timer_sleep_init(&f->nap, 10 * TIMER_MS);
        SELECT(cx, f->which, &f->a, &f->nap);
    }
    ASYNC_END();
}

static int run_combo(combo_t *f, int mode) {
    memset(f, 0, sizeof *f);
    future_init(&f->fut, combo_poll, 0);
    f->mode = mode;
    f->which = -1;
    return exec_block_on(&ex, &f->fut);
}

static void test_composes_with_timeout_join_select(void) {
    combo_t f;
    int i;
    setup();
    memset(slow_g, 0, sizeof slow_g);
    for (i = 0; i < 4; i++) slow_g[i].until_stop = 1;
    CHECK_EQ(run_combo(&f, 0), -ETIMEDOUT);
    CHECK_EQ(f.a.detached, 1);
    CHECK(wait_for(&slow_g[0].saw_stop, 1)); /* the job was told */
    CHECK_EQ(run_combo(&f, 1), 0);
    CHECK_EQ(f.a.result, 2);
    CHECK_EQ(f.b.result, 42);
    CHECK_EQ(run_combo(&f, 2), -EIO);
    CHECK(wait_for(&slow_g[1].saw_stop, 1));
    CHECK_EQ(run_combo(&f, 3), 0);
    CHECK_EQ(f.which, 0);
    CHECK_EQ(f.a.result, 6);
    CHECK_EQ(run_combo(&f, 4), 0);
    CHECK_EQ(f.which, 1);
    CHECK(wait_for(&slow_g[2].saw_stop, 1));
    CHECK_EQ(ex.nremote, 0);
    CHECK_EQ(ex.holds, 0);
    CHECK(wait_for(&slow_g[0].finished, 1));
    CHECK(wait_for(&slow_g[1].finished, 1));
    CHECK(wait_for(&slow_g[2].finished, 1));
    teardown();
}

/* A job in flight holds back the paused clock (tokio's behaviour): the
 * 1000 ms sleep cannot fire before the 20 ms (real) job is done. */
static int64_t sleep20_job(void *arg, blocking_job_t *job) {
    (void)arg;
    (void)job;
    usleep(20000);
    return 1;
}

typedef struct {
    future_t fut;
    blocking_t b;
    timer_sleep_t *watch;
    int watch_done;
} hold_t;

static coro_poll_t hold_poll(future_t *self, future_cx_t *cx) {
    hold_t *f = (hold_t *)self;
    ASYNC_BEGIN(f);
    blocking_init(&f->b, &pool, sleep20_job, 0);
    AWAIT(cx, &f->b);
    f->watch_done = future_done(&f->watch->fut);
    ASYNC_END();
}

typedef struct {
    future_t fut;
    timer_sleep_t nap;
} napper_t;

static coro_poll_t napper_poll(future_t *self, future_cx_t *cx) {
    napper_t *f = (napper_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, 1000 * TIMER_MS);
    AWAIT(cx, &f->nap);
    ASYNC_END();
}

static void test_running_job_holds_the_paused_clock(void) {
    exec_task_t tn = {0}, th = {0};
    napper_t n;
    hold_t h;
    uint64_t t0;
    setup();
    exec_clock_pause(&ex);
    t0 = exec_now(&ex);
    future_init(&n.fut, napper_poll, 0);
    future_init(&h.fut, hold_poll, 0);
    h.watch = &n.nap;
    h.watch_done = -1;
    exec_spawn(&tn, &ex, &n.fut);
    exec_spawn(&th, &ex, &h.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(h.watch_done, 0);
    CHECK_EQ(exec_now(&ex) - t0, 1000 * TIMER_MS); /* then it jumped */
    teardown();
}

/* ---- the pool ----------------------------------------------------------- */

static void test_queue_overflow_is_eagain(void) {
    static gate_t g;
    exec_task_t t[3];
    blocking_t b[3], over;
    int i;
    setup_with(1, 1, 2, 0);
    memset(&g, 0, sizeof g);
    memset(t, 0, sizeof t);
    blocking_init(&b[0], &pool, gate_job, &g);
    blocking_init(&b[1], &pool, add_job, 0);
    blocking_init(&b[2], &pool, add_job, 0);
    exec_spawn(&t[0], &ex, &b[0].fut);
    run_once();
    CHECK(wait_for(&g.started, 1)); /* b[0] runs: the queue is empty */
    for (i = 1; i < 3; i++) exec_spawn(&t[i], &ex, &b[i].fut);
    run_once(); /* b[1] and b[2] fill the queue */
    blocking_init(&over, &pool, add_job, 0);
    CHECK_EQ(exec_block_on(&ex, &over.fut), -EAGAIN); /* at once, no hang */
    CHECK_EQ(blocking_pool_stats(&pool).overflows, 1);
    EXEC_STORE_(&g.gate, 1);
    CHECK_EQ(exec_run(&ex), 0);
    for (i = 0; i < 3; i++) CHECK_EQ(exec_task_err(&t[i]), 0);
    CHECK_EQ(ex.nremote, 0);
    teardown();
}

/* Four jobs that can only finish together: the pool must grow from one
 * thread to four; idle, it shrinks back after the keep-alive. */
static int arrived;
static int64_t meet_job(void *arg, blocking_job_t *job) {
    uint64_t end = now_ns() + 10 * TIMER_SEC;
    int n = (int)(intptr_t)arg;
    EXEC_ADD_(&arrived, 1);
    while (EXEC_LOAD_(&arrived) < n) {
        if (now_ns() > end) return job->err = -ETIMEDOUT, 0;
        usleep(100);
    }
    return 0;
}

static void test_pool_grows_and_shrinks(void) {
    blocking_t b[4];
    future_join_slot_t slots[4];
    future_join_all_t all;
    blocking_pool_stats_t st;
    uint64_t end;
    int i;
    setup_with(1, 4, 0, 20 * TIMER_MS);
    arrived = 0;
    CHECK_EQ(blocking_pool_threads(&pool), 1);
    future_join_all_init(&all, slots, 4, 1);
    for (i = 0; i < 4; i++) {
        blocking_init(&b[i], &pool, meet_job, (void *)(intptr_t)4);
        future_join_all_add(&all, &b[i].fut);
    }
    CHECK_EQ(exec_block_on(&ex, &all.fut), 0);
    st = blocking_pool_stats(&pool);
    CHECK_EQ(st.created, 4);
    end = now_ns() + 10 * TIMER_SEC;
    while (blocking_pool_threads(&pool) > 1 && now_ns() < end) usleep(1000);
    CHECK_EQ(blocking_pool_threads(&pool), 1); /* the core thread stays */
    CHECK_EQ(blocking_pool_stats(&pool).exited, 3);
    /* and grows again from there, reusing the exited threads' slots */
    arrived = 0;
    future_join_all_init(&all, slots, 4, 1);
    for (i = 0; i < 4; i++) {
        blocking_init(&b[i], &pool, meet_job, (void *)(intptr_t)4);
        future_join_all_add(&all, &b[i].fut);
    }
    CHECK_EQ(exec_block_on(&ex, &all.fut), 0);
    CHECK_EQ(blocking_pool_stats(&pool).created, 7);
    teardown();
}

/* Shutdown, CANCEL: queued jobs finish with -ECANCELED unrun, the running
 * one sees its stop flag and finishes, every thread is joined, and a later
 * submit is refused. */
static void test_shutdown_cancels_queued_finishes_running(void) {
    static gate_t g;
    exec_task_t t[3];
    blocking_t b[3], late;
    int i;
    setup_with(1, 1, 0, 0);
    memset(&g, 0, sizeof g);
    memset(t, 0, sizeof t);
    g.until_stop = 1;
    g.value = 5;
    counted_runs = 0;
    blocking_init(&b[0], &pool, gate_job, &g);
    blocking_init(&b[1], &pool, count_job, 0);
    blocking_init(&b[2], &pool, count_job, 0);
    for (i = 0; i < 3; i++) exec_spawn(&t[i], &ex, &b[i].fut);
    run_once();
    CHECK(wait_for(&g.started, 1));
    blocking_pool_shutdown(&pool, BLOCKING_POOL_CANCEL);
    CHECK_EQ(blocking_pool_threads(&pool), 0);
    CHECK_EQ(EXEC_LOAD_(&g.saw_stop), 1);
    CHECK_EQ(exec_run(&ex), 0); /* the wakes were queued: deliver them */
    CHECK_EQ(exec_task_err(&t[0]), 0);
    CHECK_EQ(b[0].result, 5);
    CHECK_EQ(exec_task_err(&t[1]), -ECANCELED);
    CHECK_EQ(exec_task_err(&t[2]), -ECANCELED);
    CHECK_EQ(EXEC_LOAD_(&counted_runs), 0);
    CHECK_EQ(blocking_pool_stats(&pool).cancelled, 2);
    blocking_init(&late, &pool, add_job, 0);
    CHECK_EQ(exec_block_on(&ex, &late.fut), -ECANCELED);
    CHECK_EQ(ex.nremote, 0);
    CHECK_EQ(ex.holds, 0);
    teardown();
}

/* Shutdown, DRAIN: the queued jobs still run. */
static void *open_gate_later(void *p) {
    usleep(10000);
    EXEC_STORE_(&((gate_t *)p)->gate, 1);
    return 0;
}

static void test_shutdown_drain_runs_queued(void) {
    static gate_t g;
    exec_task_t t[3];
    blocking_t b[3];
    pthread_t th;
    int i;
    setup_with(1, 1, 0, 0);
    memset(&g, 0, sizeof g);
    memset(t, 0, sizeof t);
    counted_runs = 0;
    blocking_init(&b[0], &pool, gate_job, &g);
    blocking_init(&b[1], &pool, count_job, 0);
    blocking_init(&b[2], &pool, count_job, 0);
    for (i = 0; i < 3; i++) exec_spawn(&t[i], &ex, &b[i].fut);
    run_once();
    CHECK(wait_for(&g.started, 1));
    pthread_create(&th, 0, open_gate_later, &g);
    blocking_pool_shutdown(&pool, BLOCKING_POOL_DRAIN); /* waits for all three */
    pthread_join(th, 0);
    CHECK_EQ(EXEC_LOAD_(&counted_runs), 2);
    CHECK_EQ(EXEC_LOAD_(&g.saw_stop), 0);
    CHECK_EQ(exec_run(&ex), 0);
    for (i = 0; i < 3; i++) CHECK_EQ(exec_task_err(&t[i]), 0);
    teardown();
}

/* ---- growth: only when runners are stuck -------------------------------- */

/* tokio's guarantee: while the pool may still grow, a job never waits for
 * ever behind running ones. Job a waits until job b, queued after it, has
 * run; one thread is kept, and nothing is submitted after b: the watcher
 * must find the thread stuck in a, and run b. */
static int later_ran;
static int64_t wait_for_later_job(void *arg, blocking_job_t *job) {
    uint64_t end = now_ns() + 10 * TIMER_SEC;
    (void)arg;
    while (!EXEC_LOAD_(&later_ran)) {
        if (now_ns() > end) return job->err = -ETIMEDOUT, 0;
        usleep(100);
    }
    return 1;
}

static int64_t later_job(void *arg, blocking_job_t *job) {
    (void)arg;
    (void)job;
    EXEC_STORE_(&later_ran, 1);
    return 2;
}

typedef struct {
    future_t fut;
    blocking_t a, b;
} pair_t;

static coro_poll_t pair_poll(future_t *self, future_cx_t *cx) {
    pair_t *f = (pair_t *)self;
    ASYNC_BEGIN(f);
    blocking_init(&f->a, &pool, wait_for_later_job, 0);
    blocking_init(&f->b, &pool, later_job, 0);
    JOIN(cx, &f->a, &f->b); /* both submitted in this one poll */
    ASYNC_END();
}

static void test_a_job_waiting_for_a_later_one_completes(void) {
    blocking_pool_stats_t st;
    pair_t f;
    setup_with(1, 2, 0, 0);
    later_ran = 0;
    future_init(&f.fut, pair_poll, 0);
    CHECK_EQ(exec_block_on(&ex, &f.fut), 0);
    CHECK_EQ(future_err(&f.a.fut), 0); /* not -ETIMEDOUT */
    CHECK_EQ(f.a.result, 1);
    CHECK_EQ(f.b.result, 2);
    st = blocking_pool_stats(&pool);
    CHECK(st.stuck >= 1); /* the thread in a was found stuck */
    CHECK_EQ(st.created, 2);
    teardown();
}

/* The same guarantee when the runner is busy in a detached job's discard
 * hook rather than in a job: the hook waits for a job queued after it, on
 * a pool of one thread (max 2). The watcher must find the runner stuck in
 * the hook as it would in a job. */
static int discard_started, discard_saw_later;
static void discard_waits_for_later(void *arg, int64_t result) {
    uint64_t end = now_ns() + 10 * TIMER_SEC;
    (void)arg;
    (void)result;
    EXEC_STORE_(&discard_started, 1);
    while (!EXEC_LOAD_(&later_ran) && now_ns() < end) usleep(100);
    EXEC_STORE_(&discard_saw_later, EXEC_LOAD_(&later_ran) ? 1 : -1);
}

static void test_a_discard_waiting_for_a_later_job_completes(void) {
    static gate_t g;
    exec_task_t t = {0};
    blocking_t *a = (blocking_t *)malloc(sizeof *a);
    blocking_t b;
    setup_with(1, 2, 0, 0);
    later_ran = discard_started = discard_saw_later = 0;
    memset(&g, 0, sizeof g);
    blocking_init(a, &pool, gate_job, &g);
    a->discard = discard_waits_for_later;
    exec_spawn(&t, &ex, &a->fut);
    run_once();
    CHECK(wait_for(&g.started, 1));
    exec_abort(&t); /* detached: its result will go to the hook */
    free(a);
    EXEC_STORE_(&g.gate, 1);
    CHECK(wait_for(&discard_started, 1)); /* the runner is in the hook */
    blocking_init(&b, &pool, later_job, 0);
    CHECK_EQ(exec_block_on(&ex, &b), 0);
    CHECK_EQ(b.result, 2);
    CHECK(wait_for(&discard_saw_later, 1)); /* not -1: it did not time out */
    CHECK(blocking_pool_stats(&pool).stuck >= 1);
    teardown();
}

/* n trivial jobs at once, as bench/bench_pool.c does: every result right. */
static void run_burst(int n) {
    blocking_t *b = (blocking_t *)calloc((size_t)n, sizeof *b);
    future_join_slot_t *slots = (future_join_slot_t *)calloc((size_t)n, sizeof *slots);
    future_join_all_t all;
    int i, bad = 0;
    future_join_all_init(&all, slots, (size_t)n, 0);
    for (i = 0; i < n; i++) {
        blocking_init(&b[i], &pool, twice_job, (void *)(intptr_t)i);
        future_join_all_add(&all, &b[i].fut);
    }
    CHECK_EQ(exec_block_on(&ex, &all.fut), 0);
    for (i = 0; i < n; i++)
        if (b[i].result != 2 * i || future_err(&b[i].fut) != 0) bad++;
    CHECK_EQ(bad, 0);
    free(b);
    free(slots);
}

/* A burst of trivial jobs does not grow the pool: `threads` runners serve
 * it and one more thread watches them, however many jobs wait (the pool
 * used to grow by a thread whenever a job found none idle: to max_threads
 * at once, 64 here). With grow_after_ns long, no runner looks stuck, even
 * under valgrind: threads + 1 threads exactly. With the default (100 us), a
 * runner the OS preempts for longer looks stuck, and each such event may
 * let one more thread run: no more than that. */
static void test_a_burst_does_not_grow_the_pool(void) {
    blocking_pool_stats_t st;
    int round;
    setup_grow(2, 64, 0, 0, 60 * TIMER_SEC);
    for (round = 0; round < 3; round++) {
        run_burst(JOBS);
        st = blocking_pool_stats(&pool);
        CHECK_EQ(st.stuck, 0);
        CHECK_EQ(st.created, 3); /* two runners, one watcher: then reused */
        CHECK_EQ(st.threads, 3);
        CHECK_EQ(st.ran, (uint64_t)JOBS * (uint64_t)(round + 1));
    }
    teardown();
    setup_with(2, 64, 0, 0);
    run_burst(JOBS);
    st = blocking_pool_stats(&pool);
    CHECK(st.created <= 3 + st.stuck);
    CHECK(st.created < 64);
    teardown();
}

/* Jobs that block grow the pool: eight jobs that can only finish together,
 * on two kept threads. Each stuck runner lets one more thread run. */
static void test_blocking_jobs_grow_the_pool(void) {
    blocking_t b[8];
    future_join_slot_t slots[8];
    future_join_all_t all;
    blocking_pool_stats_t st;
    int i;
    setup_with(2, 8, 0, 0);
    arrived = 0;
    future_join_all_init(&all, slots, 8, 1);
    for (i = 0; i < 8; i++) {
        blocking_init(&b[i], &pool, meet_job, (void *)(intptr_t)8);
        future_join_all_add(&all, &b[i].fut);
    }
    CHECK_EQ(exec_block_on(&ex, &all.fut), 0);
    st = blocking_pool_stats(&pool);
    CHECK_EQ(st.created, 8);
    CHECK(st.stuck >= 6);
    /* back to trivial jobs: they run on the threads that are there */
    run_burst(1000);
    CHECK_EQ(blocking_pool_stats(&pool).created, 8);
    teardown();
}

/* Shutdown while jobs wait behind a stuck runner, a watcher watching.
 * DRAIN: the watcher helps run them, without waiting for grow_after_ns
 * (60 s here) or for the stuck job. CANCEL: they finish -ECANCELED. */
static void test_shutdown_with_queued_jobs_and_a_watcher(void) {
    static gate_t g;
    static exec_task_t t[4]; /* static: a failed check leaves them spawned */
    static blocking_t b[4];
    pthread_t th;
    int i, mode;
    for (mode = BLOCKING_POOL_DRAIN; mode <= BLOCKING_POOL_CANCEL; mode++) {
        setup_grow(1, 4, 0, 0, 60 * TIMER_SEC);
        memset(&g, 0, sizeof g);
        memset(t, 0, sizeof t);
        g.until_stop = 1;
        counted_runs = 0;
        blocking_init(&b[0], &pool, gate_job, &g);
        for (i = 1; i < 4; i++) blocking_init(&b[i], &pool, count_job, 0);
        for (i = 0; i < 4; i++) exec_spawn(&t[i], &ex, &b[i].fut);
        run_once();
        CHECK(wait_for(&g.started, 1));
        CHECK_EQ(blocking_pool_threads(&pool), 2); /* the runner, the watcher */
        pthread_create(&th, 0, open_gate_later, &g);
        blocking_pool_shutdown(&pool, mode);
        pthread_join(th, 0);
        CHECK_EQ(blocking_pool_threads(&pool), 0);
        CHECK_EQ(exec_run(&ex), 0);
        CHECK_EQ(exec_task_err(&t[0]), 0);
        for (i = 1; i < 4; i++)
            CHECK_EQ(exec_task_err(&t[i]), mode == BLOCKING_POOL_DRAIN ? 0 : -ECANCELED);
        CHECK_EQ(EXEC_LOAD_(&counted_runs), mode == BLOCKING_POOL_DRAIN ? 3 : 0);
        CHECK_EQ(blocking_pool_stats(&pool).stuck, 0);
        CHECK_EQ(ex.nremote, 0);
        CHECK_EQ(ex.holds, 0);
        teardown();
    }
}

/* A submit that loses the race with a shutdown (the pool closes between
 * its check and its push) takes its job back: -ECANCELED, not a job left
 * behind with no thread to run it (a hang). */
static void shutdown_now(struct blocking_pool *p) {
    before_push = 0;
    blocking_pool_shutdown(p, BLOCKING_POOL_DRAIN);
}

static void test_a_submit_racing_shutdown_is_refused(void) {
    timer_timeout_t limit;
    blocking_t b;
    setup();
    blocking_init(&b, &pool, add_job, 0);
    timer_timeout_init(&limit, &b.fut, 10 * TIMER_SEC); /* left behind */
    before_push = shutdown_now;
    CHECK_EQ(exec_block_on(&ex, &limit.fut), -ECANCELED);
    CHECK(before_push == 0);
    CHECK_EQ(blocking_pool_stats(&pool).submitted, 0);
    CHECK_EQ(blocking_pool_threads(&pool), 0);
    CHECK_EQ(ex.nremote, 0);
    CHECK_EQ(ex.holds, 0);
    teardown();
}

/* The same race for real: another thread shuts the pool down (CANCEL)
 * while the executor submits a burst. Every job ends, run or cancelled
 * (a lost one would hang the join: the timeout says so). */
static void *shutdown_soon(void *p) {
    usleep((useconds_t)(uintptr_t)p);
    blocking_pool_shutdown(&pool, BLOCKING_POOL_CANCEL);
    return 0;
}

static void test_shutdown_racing_a_burst(void) {
    enum { N = 2000 };
    blocking_t *b = (blocking_t *)calloc(N, sizeof *b);
    future_join_slot_t *slots = (future_join_slot_t *)calloc(N, sizeof *slots);
    future_join_all_t all;
    timer_timeout_t limit;
    blocking_pool_stats_t st;
    pthread_t th;
    int round, i, bad = 0;
    for (round = 0; round < 20; round++) {
        setup_with(2, 8, 0, 0);
        future_join_all_init(&all, slots, N, 0);
        for (i = 0; i < N; i++) {
            blocking_init(&b[i], &pool, twice_job, (void *)(intptr_t)i);
            future_join_all_add(&all, &b[i].fut);
        }
        timer_timeout_init(&limit, &all.fut, 10 * TIMER_SEC);
        pthread_create(&th, 0, shutdown_soon, (void *)(uintptr_t)(round * 25));
        CHECK_EQ(exec_block_on(&ex, &limit.fut), 0);
        pthread_join(th, 0);
        for (i = 0; i < N; i++) {
            int e = future_err(&b[i].fut);
            if (!(e == 0 && b[i].result == 2 * i) && e != -ECANCELED) bad++;
        }
        st = blocking_pool_stats(&pool);
        CHECK_EQ(st.ran + st.cancelled, st.submitted);
        CHECK_EQ(ex.nremote, 0);
        CHECK_EQ(ex.holds, 0);
        teardown();
    }
    CHECK_EQ(bad, 0);
    free(b);
    free(slots);
}

/* grow_after_ns of 2^60 ns or more: "never", no overflow computing the
 * watcher's deadline. */
static void test_grow_after_never(void) {
    blocking_t b;
    setup_grow(1, 2, 0, 0, UINT64_MAX);
    CHECK_EQ(pool.grow_ns, ((uint64_t)1 << 60) - 1);
    blocking_init(&b, &pool, add_job, (void *)(intptr_t)1);
    CHECK_EQ(exec_block_on(&ex, &b.fut), 0);
    CHECK_EQ(b.result, 2);
    teardown();
}

/* Shutdown on another thread, destroy here meanwhile: destroy's shutdown
 * must wait for the other one, not free the pool under its joins. */
static void *shutdown_thread(void *p) {
    blocking_pool_shutdown((blocking_pool_t *)p, BLOCKING_POOL_DRAIN);
    return 0;
}

static void test_destroy_while_another_thread_shuts_down(void) {
    static gate_t g;
    exec_task_t t = {0};
    blocking_t b;
    pthread_t th, opener;
    int closing = 0;
    uint64_t end;
    setup_with(1, 1, 0, 0);
    memset(&g, 0, sizeof g);
    blocking_init(&b, &pool, gate_job, &g);
    exec_spawn(&t, &ex, &b.fut);
    run_once();
    CHECK(wait_for(&g.started, 1));
    pthread_create(&th, 0, shutdown_thread, &pool);
    end = now_ns() + 10 * TIMER_SEC;
    while (!closing && now_ns() < end) {
        pthread_mutex_lock(&pool.lock);
        closing = pool.closing;
        pthread_mutex_unlock(&pool.lock);
        usleep(100);
    }
    CHECK(closing);
    pthread_create(&opener, 0, open_gate_later, &g);
    blocking_pool_destroy(&pool); /* waits for th's shutdown, then frees */
    CHECK_EQ(EXEC_LOAD_(&g.finished), 1);
    pthread_join(th, 0);
    pthread_join(opener, 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(exec_task_err(&t), 0);
    exec_destroy(&ex);
    live = 0;
}

/* Destroying the executor first drops the futures (queued: unlinked,
 * running: detached); the pool is destroyed after. */
static void test_destroy_executor_then_pool(void) {
    static gate_t g;
    exec_task_t t[2];
    blocking_t b[2];
    setup_with(1, 1, 0, 0);
    memset(&g, 0, sizeof g);
    memset(t, 0, sizeof t);
    g.until_stop = 1;
    blocking_init(&b[0], &pool, gate_job, &g);
    blocking_init(&b[1], &pool, add_job, 0);
    exec_spawn(&t[0], &ex, &b[0].fut);
    exec_spawn(&t[1], &ex, &b[1].fut);
    run_once();
    CHECK(wait_for(&g.started, 1));
    exec_destroy(&ex);
    CHECK_EQ(b[0].detached, 1);
    CHECK_EQ(blocking_pool_stats(&pool).cancelled, 1);
    blocking_pool_destroy(&pool); /* joins the thread: the job saw its stop */
    live = 0;
    CHECK_EQ(EXEC_LOAD_(&g.saw_stop), 1);
}

/* ---- wakes -------------------------------------------------------------- */

/* Eight pool threads finish eight jobs at the same instant, round after
 * round: every completion is handed back (no hang), exactly once; the
 * executor's cross-thread wakes are shared (one per batch, not per job). */
static int storm_arrived;
static int64_t storm_job(void *arg, blocking_job_t *job) {
    int n = EXEC_ADD_(&storm_arrived, 1), target = ((n - 1) / 8 + 1) * 8;
    uint64_t end = now_ns() + 10 * TIMER_SEC;
    (void)job;
    while (EXEC_LOAD_(&storm_arrived) < target && now_ns() < end) sched_yield();
    return (int64_t)(intptr_t)arg;
}

typedef struct {
    future_t fut;
    future_join_all_t all;
    timer_timeout_t limit;
} storm_t;

static void test_wake_storm_no_lost_no_duplicate(void) {
    enum { N = 8 };
    blocking_t b[N];
    future_join_slot_t slots[N];
    storm_t s;
    uint64_t before;
    int r, i, bad = 0;
    setup_with(N, N, 0, 0);
    storm_arrived = 0;
    before = ex.stats.remote;
    for (r = 0; r < STORM_ROUNDS; r++) {
        future_join_all_init(&s.all, slots, N, 0);
        for (i = 0; i < N; i++) {
            blocking_init(&b[i], &pool, storm_job, (void *)(intptr_t)(r * N + i));
            future_join_all_add(&s.all, &b[i].fut);
        }
        timer_timeout_init(&s.limit, &s.all.fut, 10 * TIMER_SEC); /* a lost wake */
        if (exec_block_on(&ex, &s.limit.fut) != 0) bad++;
        for (i = 0; i < N; i++)
            if (b[i].result != r * N + i) bad++;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(blocking_pool_stats(&pool).handed, (uint64_t)STORM_ROUNDS * N);
    /* the completions of a round share the executor's wakes */
    CHECK(ex.stats.remote - before >= (uint64_t)STORM_ROUNDS);
    CHECK(ex.stats.remote - before <= (uint64_t)STORM_ROUNDS * N);
    CHECK_EQ(ex.nremote, 0);
    teardown();
}

/* While the executor is busy, a completion's wake costs no syscall: no
 * eventfd write, no park. */
typedef struct {
    future_t fut;
    future_join_all_t *all;
} spin_t;

static coro_poll_t spin_poll(future_t *self, future_cx_t *cx) {
    spin_t *f = (spin_t *)self;
    if (future_done(&f->all->fut)) return future_finish(self, 0);
    future_wake(cx->waker); /* stay runnable: the loop never parks */
    return CORO_PENDING;
}

static void test_busy_executor_wakes_without_syscalls(void) {
    blocking_t *b = (blocking_t *)calloc(BUSY_JOBS, sizeof *b);
    future_join_slot_t *slots = (future_join_slot_t *)calloc(BUSY_JOBS, sizeof *slots);
    future_join_all_t all;
    exec_task_t t = {0};
    spin_t s;
    int i;
    setup_with(2, 2, 0, 0);
    future_join_all_init(&all, slots, BUSY_JOBS, 0);
    for (i = 0; i < BUSY_JOBS; i++) {
        blocking_init(&b[i], &pool, add_job, (void *)(intptr_t)i);
        future_join_all_add(&all, &b[i].fut);
    }
    exec_spawn(&t, &ex, &all.fut);
    future_init(&s.fut, spin_poll, 0);
    s.all = &all;
    CHECK_EQ(exec_block_on(&ex, &s.fut), 0);
    CHECK_EQ(exec_task_err(&t), 0);
    CHECK_EQ(b[BUSY_JOBS - 1].result, BUSY_JOBS);
    CHECK_EQ(EXEC_LOAD_(&ex.stats.efd_writes), 0);
    CHECK_EQ(ex.stats.parks, 0);
    teardown();
    free(b);
    free(slots);
}

/* ---- misuse ------------------------------------------------------------- */

static void test_misuse_is_reported(void) {
    exec_t other;
    blocking_t b;
    blocking_pool_t p2;
    blocking_pool_opts_t o;
    setup();
    CHECK_EQ(exec_init(&other), 0);
    blocking_init(&b, &pool, add_job, 0);
    CHECK_MISUSE(CHECK_EQ(exec_block_on(&other, &b.fut), -EINVAL), "another executor");
    memset(&o, 0, sizeof o);
    o.threads = 4;
    o.max_threads = 2;
    CHECK_MISUSE(CHECK_EQ(blocking_pool_init(&p2, &ex, &o), -EINVAL), "max_threads");
    exec_destroy(&other);
    teardown();
}

/* ---- the blocked-executor detector -------------------------------------- */

typedef struct {
    future_t fut;
    uint64_t ms;
} hog_t;

static int hog_line;

static coro_poll_t hog_poll(future_t *self, future_cx_t *cx) {
    hog_t *f = (hog_t *)self;
    ASYNC_BEGIN(f);
    hog_line = __LINE__ + 1;
    YIELD_NOW(cx);
    { /* the mistake: a long computation on the executor's thread */
        uint64_t end = now_ns() + f->ms * TIMER_MS;
        while (now_ns() < end) {
        }
    }
    ASYNC_END();
}

static void test_detector_reports_a_long_poll(void) {
    FILE *log = tmpfile();
    char text[2048], want[64];
    exec_task_t t = {0};
    hog_t h;
    size_t n;
    setup();
    CHECK(log != 0);
    CHECK_EQ(ex.block_ns, 0); /* off by default */
    exec_set_block_threshold(&ex, 150 * TIMER_MS, log); /* wide: valgrind */
    future_init(&h.fut, hog_poll, 0);
    h.ms = 300;
    exec_spawn(&t, &ex, &h.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(ex.block_reports, 1); /* the first poll was short */
    rewind(log);
    n = fread(text, 1, sizeof text - 1, log);
    text[n] = 0;
    fclose(log);
    CHECK(strstr(text, "blocked executor") != 0);
    CHECK(strstr(text, "spawn_blocking") != 0);
    snprintf(want, sizeof want, "task %p", (void *)&t);
    CHECK(strstr(text, want) != 0);
    snprintf(want, sizeof want, "test_pool.c:%d (root future)", hog_line);
    CHECK(strstr(text, want) != 0);
    CHECK(strstr(text, "the task finished") != 0);
    exec_set_block_threshold(&ex, 0, 0); /* off again: nothing reported */
    future_init(&h.fut, hog_poll, 0);
    h.ms = 20;
    exec_spawn(&t, &ex, &h.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(ex.block_reports, 1);
    teardown();
}

/* ---- fs.h --------------------------------------------------------------- */

static char dir[64];

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

/* Runs a helper future to the end on the executor. */
static int run_fut(future_t *f) { return exec_block_on(&ex, f); }


static void test_fs_write_then_read(void) {
    char p[128], buf[64];
    fs_write_t w;
    fs_read_t r;
    setup();
    path_of(p, sizeof p, "hello.txt");
    fs_write_init(&w, &pool, p, "hello, world\n", 13);
    CHECK_EQ(run_fut(&w.fut), 0);
    CHECK_EQ(w.written, 13);
    fs_read_init(&r, &pool, p, buf, sizeof buf);
    CHECK_EQ(run_fut(&r.fut), 0);
    CHECK_EQ(r.len, 13);
    CHECK(r.data == buf);
    CHECK(memcmp(buf, "hello, world\n", 13) == 0);
    fs_read_init(&r, &pool, p, 0, 0); /* allocating */
    CHECK_EQ(run_fut(&r.fut), 0);
    CHECK_EQ(r.len, 13);
    CHECK(strcmp(r.data, "hello, world\n") == 0);
    free(r.data);
    /* too small a buffer: -EFBIG, with what fitted */
    fs_read_init(&r, &pool, p, buf, 5);
    CHECK_EQ(run_fut(&r.fut), -EFBIG);
    CHECK(memcmp(buf, "hello", 5) == 0);
    /* an exact fit is not too small */
    fs_read_init(&r, &pool, p, buf, 13);
    CHECK_EQ(run_fut(&r.fut), 0);
    CHECK_EQ(r.len, 13);
    /* an empty file, allocated */
    path_of(p, sizeof p, "empty");
    fs_write_init(&w, &pool, p, "", 0);
    CHECK_EQ(run_fut(&w.fut), 0);
    fs_read_init(&r, &pool, p, 0, 0);
    CHECK_EQ(run_fut(&r.fut), 0);
    CHECK_EQ(r.len, 0);
    CHECK_EQ(r.data[0], 0);
    free(r.data);
    teardown();
}

static void test_fs_big_file_in_chunks(void) {
    enum { SIZE = 1000 * 1000 + 123, CHUNK = 64 * 1024 };
    char p[128];
    char *data = (char *)malloc(SIZE), *back = (char *)malloc(SIZE), *buf = (char *)malloc(CHUNK);
    fs_write_t w;
    fs_read_t r;
    fs_chunks_t c;
    size_t got = 0, i;
    int chunks = 0, fds;
    setup();
    fds = check_open_fds();
    for (i = 0; i < SIZE; i++) data[i] = (char)(i * 7 + i / 251);
    path_of(p, sizeof p, "big.bin");
    fs_write_init(&w, &pool, p, data, SIZE);
    CHECK_EQ(run_fut(&w.fut), 0);
    fs_read_init(&r, &pool, p, 0, 0);
    CHECK_EQ(run_fut(&r.fut), 0);
    CHECK_EQ(r.len, SIZE);
    CHECK(memcmp(r.data, data, SIZE) == 0);
    free(r.data);
    fs_chunks_init(&c, &pool, p, buf, CHUNK);
    for (;;) {
        CHECK_EQ(run_fut(&c.fut), 0); /* one chunk per poll-to-ready */
        if (c.len == 0) break;
        CHECK_EQ(c.offset, got);
        CHECK(got + c.len <= SIZE);
        memcpy(back + got, c.data, c.len);
        got += c.len;
        chunks++;
    }
    CHECK_EQ(got, SIZE);
    CHECK_EQ(chunks, (SIZE + CHUNK - 1) / CHUNK);
    CHECK(memcmp(back, data, SIZE) == 0);
    CHECK_EQ(check_open_fds(), fds); /* nothing open at the end */
    CHECK_EQ(run_fut(&c.fut), 0); /* and it stays at the end */
    CHECK_EQ(c.len, 0);
    teardown();
    free(data);
    free(back);
    free(buf);
}

/* An async fn reading a file chunk by chunk, the way a user writes it. */
typedef struct {
    future_t fut;
    fs_chunks_t ch;
    char buf[100];
    const char *path;
    size_t total;
    int stop_after; /* chunks, then drop the stream (0: read to the end) */
    int n;
} reader_t;

static coro_poll_t reader_poll(future_t *self, future_cx_t *cx) {
    reader_t *f = (reader_t *)self;
    ASYNC_BEGIN(f);
    fs_chunks_init(&f->ch, &pool, f->path, f->buf, sizeof f->buf);
    for (;;) {
        AWAIT_TRY(cx, &f->ch);
        if (f->ch.len == 0) break;
        f->total += f->ch.len;
        if (++f->n == f->stop_after) {
            future_drop(&f->ch.fut);
            break;
        }
    }
    ASYNC_END();
}

static void test_fs_chunks_in_an_async_fn(void) {
    char p[128], text[1000];
    fs_write_t w;
    reader_t rd;
    int fd, fds;
    setup();
    fds = check_open_fds();
    memset(text, 'x', sizeof text);
    path_of(p, sizeof p, "thousand");
    fs_write_init(&w, &pool, p, text, sizeof text);
    CHECK_EQ(run_fut(&w.fut), 0);
    memset(&rd, 0, sizeof rd);
    future_init(&rd.fut, reader_poll, 0);
    rd.path = p;
    CHECK_EQ(run_fut(&rd.fut), 0);
    CHECK_EQ(rd.total, 1000);
    CHECK_EQ(rd.n, 10);
    /* stop early: the drop closes the file */
    memset(&rd, 0, sizeof rd);
    future_init(&rd.fut, reader_poll, 0);
    rd.path = p;
    rd.stop_after = 3;
    CHECK_EQ(run_fut(&rd.fut), 0);
    CHECK_EQ(rd.total, 300);
    CHECK_EQ(check_open_fds(), fds);
    fd = open(p, O_RDONLY | O_CLOEXEC); /* the lowest free fd: no leak below */
    CHECK(fd >= 0);
    close(fd);
    /* a missing file is the stream's error */
    memset(&rd, 0, sizeof rd);
    future_init(&rd.fut, reader_poll, 0);
    path_of(p, sizeof p, "no-such-file");
    rd.path = p;
    CHECK_EQ(run_fut(&rd.fut), -ENOENT);
    teardown();
}

/* A chunk reader whose task is aborted between two chunks, while it awaits
 * something else (a sleep): no drop reaches the stream then, so the stream
 * must hold nothing between chunks. Aborted after every chunk in turn,
 * then while a chunk is being read, not one fd may stay open. */
typedef struct {
    future_t fut;
    fs_chunks_t ch;
    timer_sleep_t nap;
    char buf[100];
    const char *path;
    int n;
} chunk_napper_t;

static coro_poll_t chunk_napper_poll(future_t *self, future_cx_t *cx) {
    chunk_napper_t *f = (chunk_napper_t *)self;
    ASYNC_BEGIN(f);
    fs_chunks_init(&f->ch, &pool, f->path, f->buf, sizeof f->buf);
    for (;;) {
        AWAIT_TRY(cx, &f->ch);
        if (f->ch.len == 0) break;
        f->n++;
        timer_sleep_init(&f->nap, TIMER_MS);
        AWAIT(cx, &f->nap);
    }
    ASYNC_END();
}

typedef struct {
    future_t fut;
    exec_task_t t;
    exec_join_t j;
    chunk_napper_t *victim;
    int after; /* abort once the victim has read this many chunks */
} chunk_aborter_t;

static coro_poll_t chunk_aborter_poll(future_t *self, future_cx_t *cx) {
    chunk_aborter_t *f = (chunk_aborter_t *)self;
    ASYNC_BEGIN(f);
    exec_spawn(&f->t, exec_of(cx), &f->victim->fut);
    AWAIT_UNTIL(f->victim->n >= f->after || exec_task_done(&f->t) ||
                (future_wake(cx->waker), 0));
    exec_abort(&f->t);
    ASYNC_END();
}

static void test_fs_chunks_abort_between_chunks_leaks_no_fd(void) {
    char p[128], text[1000];
    fs_write_t w;
    chunk_napper_t n;
    chunk_aborter_t a;
    int after, fds;
    setup();
    memset(text, 'y', sizeof text);
    path_of(p, sizeof p, "ten-chunks");
    fs_write_init(&w, &pool, p, text, sizeof text);
    CHECK_EQ(run_fut(&w.fut), 0);
    fds = check_open_fds();
    for (after = 1; after <= 10; after++) {
        memset(&n, 0, sizeof n);
        memset(&a, 0, sizeof a);
        future_init(&n.fut, chunk_napper_poll, 0);
        n.path = p;
        future_init(&a.fut, chunk_aborter_poll, 0);
        a.victim = &n;
        a.after = after;
        CHECK_EQ(run_fut(&a.fut), 0);
        CHECK_EQ(exec_task_err(&a.t), -ECANCELED);
        CHECK_EQ(n.n, after);
        CHECK_EQ(check_open_fds(), fds);
    }
    teardown();
}

static void test_fs_errors_are_values(void) {
    char p[128], buf[16];
    fs_read_t r;
    fs_write_t w;
    fs_chunks_t c;
    setup();
    path_of(p, sizeof p, "missing");
    fs_read_init(&r, &pool, p, buf, sizeof buf);
    CHECK_EQ(run_fut(&r.fut), -ENOENT);
    fs_read_init(&r, &pool, p, 0, 0);
    CHECK_EQ(run_fut(&r.fut), -ENOENT);
    CHECK(r.data == 0);
    fs_chunks_init(&c, &pool, p, buf, sizeof buf);
    CHECK_EQ(run_fut(&c.fut), -ENOENT);
    CHECK_EQ(c.len, 0);
    path_of(p, sizeof p, "missing-dir/file");
    fs_write_init(&w, &pool, p, "x", 1);
    CHECK_EQ(run_fut(&w.fut), -ENOENT);
    /* a directory: writing it is -EISDIR (as root too), and so is reading */
    fs_write_init(&w, &pool, dir, "x", 1);
    CHECK_EQ(run_fut(&w.fut), -EISDIR);
    fs_read_init(&r, &pool, dir, buf, sizeof buf);
    CHECK_EQ(run_fut(&r.fut), -EISDIR);
    fs_read_init(&r, &pool, dir, 0, 0);
    CHECK_EQ(run_fut(&r.fut), -EISDIR);
    CHECK(r.data == 0);
    /* a path through a regular file */
    path_of(p, sizeof p, "plain");
    fs_write_init(&w, &pool, p, "x", 1);
    CHECK_EQ(run_fut(&w.fut), 0);
    path_of(p, sizeof p, "plain/under");
    fs_read_init(&r, &pool, p, buf, sizeof buf);
    CHECK_EQ(run_fut(&r.fut), -ENOTDIR);
    teardown();
}

/* A real -EACCES. The tests run as root, which passes every permission
 * check (CAP_DAC_OVERRIDE), so chmod 000 alone proves nothing. Instead the
 * (single) pool thread changes its own filesystem uid to nobody with
 * setfsuid(2), which is per-thread in Linux and drops the thread's
 * DAC-override capabilities: the kernel then refuses the 0600 root-owned
 * file with EACCES for real, on the very thread that runs the fs jobs.
 * Not root: chmod 000 is enough. */
static int64_t setfsuid_job(void *arg, blocking_job_t *job) {
    (void)job;
    syscall(SYS_setfsuid, (int)(intptr_t)arg);
    return syscall(SYS_setfsuid, -1); /* reads the current fsuid */
}

static void test_fs_permission_denied_is_eacces(void) {
    char p[128], buf[16];
    fs_read_t r;
    fs_write_t w;
    blocking_t b;
    int root = geteuid() == 0;
    setup_with(1, 1, 0, 0); /* one thread: the fsuid change applies to all jobs */
    path_of(p, sizeof p, "secret");
    fs_write_init(&w, &pool, p, "s3cret", 6);
    CHECK_EQ(run_fut(&w.fut), 0);
    CHECK(chmod(p, root ? 0600 : 0) == 0);
    if (root) {
        blocking_init(&b, &pool, setfsuid_job, (void *)(intptr_t)65534);
        CHECK_EQ(run_fut(&b.fut), 0);
        if (b.result != 65534) {
            printf("    (setfsuid not permitted here: EACCES case skipped)\n");
            teardown();
            return;
        }
    }
    fs_read_init(&r, &pool, p, buf, sizeof buf);
    CHECK_EQ(run_fut(&r.fut), -EACCES);
    fs_write_init(&w, &pool, p, "x", 1);
    CHECK_EQ(run_fut(&w.fut), -EACCES);
    if (root) {
        blocking_init(&b, &pool, setfsuid_job, (void *)(intptr_t)0);
        CHECK_EQ(run_fut(&b.fut), 0);
        CHECK_EQ(b.result, 0);
        fs_read_init(&r, &pool, p, buf, sizeof buf); /* root again: fine */
        CHECK_EQ(run_fut(&r.fut), 0);
        CHECK_EQ(r.len, 6);
    }
    teardown();
}

/* Dropping a file helper mid-job (scoped): the drop waits for the slice in
 * progress, frees what the job allocated, and the frame may go at once. */
static void test_fs_drop_mid_read(void) {
    enum { SIZE = 4 * 1024 * 1024 };
    char p[128];
    char *data = (char *)calloc(1, SIZE);
    fs_write_t w;
    int i;
    setup_with(1, 1, 0, 0);
    path_of(p, sizeof p, "four-megs");
    fs_write_init(&w, &pool, p, data, SIZE);
    CHECK_EQ(run_fut(&w.fut), 0);
    for (i = 0; i < 20; i++) {
        exec_task_t t = {0};
        fs_read_t *r = (fs_read_t *)malloc(sizeof *r);
        fs_read_init(r, &pool, p, i & 1 ? data : 0, SIZE);
        exec_spawn(&t, &ex, &r->fut);
        run_once();
        usleep((useconds_t)(i * 50));
        exec_abort(&t);
        CHECK_EQ(ex.nremote, 0);
        memset(r, 0xee, sizeof *r);
        free(r);
    }
    teardown();
    free(data);
}

static void make_dir(void) {
    snprintf(dir, sizeof dir, "/tmp/test_pool.XXXXXX");
    if (!mkdtemp(dir)) abort();
}

static void remove_dir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
    make_dir();
    RUN(test_job_result_and_error);
    RUN(test_init_is_lazy);
    RUN(test_ten_thousand_jobs);
    RUN(test_dropped_before_start_never_runs);
    RUN(test_dropped_while_running_detached);
    RUN(test_dropped_while_running_scoped);
    RUN(test_dropped_after_done_before_seen);
    RUN(test_dropped_after_done_discards_the_result);
    RUN(test_destroy_from_a_job_is_misuse);
    RUN(test_drop_race_stress);
    RUN(test_composes_with_timeout_join_select);
    RUN(test_running_job_holds_the_paused_clock);
    RUN(test_queue_overflow_is_eagain);
    RUN(test_pool_grows_and_shrinks);
    RUN(test_a_job_waiting_for_a_later_one_completes);
    RUN(test_a_discard_waiting_for_a_later_job_completes);
    RUN(test_a_burst_does_not_grow_the_pool);
    RUN(test_blocking_jobs_grow_the_pool);
    RUN(test_shutdown_with_queued_jobs_and_a_watcher);
    RUN(test_a_submit_racing_shutdown_is_refused);
    RUN(test_shutdown_racing_a_burst);
    RUN(test_grow_after_never);
    RUN(test_shutdown_cancels_queued_finishes_running);
    RUN(test_shutdown_drain_runs_queued);
    RUN(test_destroy_executor_then_pool);
    RUN(test_destroy_while_another_thread_shuts_down);
    RUN(test_wake_storm_no_lost_no_duplicate);
    RUN(test_busy_executor_wakes_without_syscalls);
    RUN(test_misuse_is_reported);
    RUN(test_detector_reports_a_long_poll);
    RUN(test_fs_write_then_read);
    RUN(test_fs_big_file_in_chunks);
    RUN(test_fs_chunks_in_an_async_fn);
    RUN(test_fs_chunks_abort_between_chunks_leaks_no_fd);
    RUN(test_fs_errors_are_values);
    RUN(test_fs_permission_denied_is_eacces);
    RUN(test_fs_drop_mid_read);
    remove_dir();
    return check_summary();
}
