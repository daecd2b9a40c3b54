/* bench_core: in-process micro benchmarks of the core runtime.
 * Prints "name value" lines (ns per operation unless the name says
 * otherwise), each the median of 5 runs; the same names as the peers in
 * bench/peers/, so bench/run.sh can put them side by side.
 * --runs N: the median of N runs (1..5) instead; bench/run.sh passes
 * --runs 1 and takes the median over its rounds.
 * --quick: tiny sizes, one run each (for CI). */
#include "../exec.h"
#include <sys/resource.h>

static int quick;
static int runs = 5; /* repetitions per figure: 1..5 (--runs N) */
static exec_t ex;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of the runs of fn (each returns its own figure). */
static double median(double (*fn)(long), long n) {
    double r[5];
    int i;
    for (i = 0; i < runs; i++) r[i] = fn(n);
    qsort(r, (size_t)runs, sizeof r[0], cmp_d);
    return r[runs / 2];
}

static long rss_bytes(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

/* ---- AWAIT of a ready child, chains of depth 1 and 10 ------------------- */

/* async fn leaf(x) -> x + 1, always ready, and nine links, lN awaiting
 * l(N-1), written as a user writes them: each child lives in its parent's
 * frame (one chain is one nested struct) and is made on the straight path
 * before its AWAIT, as rustc builds the callee's future in place. CHAIN(P,
 * FN) writes the chain with the names P_leaf, P_1 ... P_9, where FN is
 * ASYNC_FN (the rows await_ready_*) or ASYNC_FN_INLINE (await_inline_*). */
#define LEAF(P, FN)                                                            \
    FN(P##_leaf, long x, out;) {                                               \
        ASYNC_BEGIN(f);                                                        \
        f->out = f->x + 1;                                                     \
        ASYNC_END();                                                           \
    }
#define LINK(P, FN, N, C)                                                      \
    FN(P##_##N, long x, out; P##_##C##_t child;) {                             \
        ASYNC_BEGIN(f);                                                        \
        future_init(&f->child, P##_##C##_poll, 0);                             \
        f->child.x = f->x;                                                     \
        AWAIT(cx, &f->child);                                                  \
        f->out = f->child.out;                                                 \
        ASYNC_END();                                                           \
    }
/* The loop awaits a fresh chain each time: ns per outer AWAIT. Depth 1:
 * the leaf; depth 10: P_9 -> ... -> P_1 -> leaf (ten awaits deep). */
#define CHAIN(P, FN)                                                           \
    LEAF(P, FN)                                                                \
    LINK(P, FN, 1, leaf)                                                       \
    LINK(P, FN, 2, 1)                                                          \
    LINK(P, FN, 3, 2)                                                          \
    LINK(P, FN, 4, 3)                                                          \
    LINK(P, FN, 5, 4)                                                          \
    LINK(P, FN, 6, 5)                                                          \
    LINK(P, FN, 7, 6)                                                          \
    LINK(P, FN, 8, 7)                                                          \
    LINK(P, FN, 9, 8)                                                          \
    ASYNC_FN(P##_loop, long i, n, sum; int deep; P##_leaf_t d1; P##_9_t d10;) { \
        ASYNC_BEGIN(f);                                                        \
        for (f->i = 0; f->i < f->n; f->i++) {                                  \
            if (f->deep) {                                                     \
                future_init(&f->d10, P##_9_poll, 0);                           \
                f->d10.x = f->i;                                               \
                AWAIT(cx, &f->d10);                                            \
                f->sum += f->d10.out;                                          \
            } else {                                                           \
                future_init(&f->d1, P##_leaf_poll, 0);                         \
                f->d1.x = f->i;                                                \
                AWAIT(cx, &f->d1);                                             \
                f->sum += f->d1.out;                                           \
            }                                                                  \
        }                                                                      \
        ASYNC_END();                                                           \
    }
CHAIN(plain, ASYNC_FN)
CHAIN(inl, ASYNC_FN_INLINE)

static int await_depth;
static double run_chain(future_t *l, long *sum) {
    double t0 = now_s();
    exec_block_on(&ex, l);
    if (*sum == 42) puts(""); /* keep the result alive */
    return now_s() - t0;
}
static double run_await(long n) {
    plain_loop_t l;
    memset(&l, 0, sizeof l);
    future_init(&l, plain_loop_poll, 0);
    l.n = n;
    l.deep = await_depth == 10;
    return run_chain(&l.fut, &l.sum) * 1e9 / (double)n;
}
static double run_await_inline(long n) {
    inl_loop_t l;
    memset(&l, 0, sizeof l);
    future_init(&l, inl_loop_poll, 0);
    l.n = n;
    l.deep = await_depth == 10;
    return run_chain(&l.fut, &l.sum) * 1e9 / (double)n;
}

/* ---- yield round trip ----------------------------------------------------- */

typedef struct {
    future_t fut;
    long i, n;
} yield_loop_t;

static coro_poll_t yield_loop_poll(future_t *self, future_cx_t *cx) {
    yield_loop_t *f = (yield_loop_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < f->n; f->i++) YIELD_NOW(cx);
    ASYNC_END();
}

static double run_yield(long n) {
    yield_loop_t y;
    double t0;
    future_init(&y.fut, yield_loop_poll, 0);
    y.n = n;
    t0 = now_s();
    exec_block_on(&ex, &y.fut);
    return (now_s() - t0) * 1e9 / (double)n;
}

/* ---- spawn + run + join of n trivial tasks ---------------------------- */

static exec_task_t *tasks;
static future_ready_t *readies;

typedef struct {
    future_t fut;
    long i, n;
    exec_join_t join;
} spawn_all_t;

static coro_poll_t spawn_all_poll(future_t *self, future_cx_t *cx) {
    spawn_all_t *f = (spawn_all_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < f->n; f->i++) {
        future_ready_init(&readies[f->i], 0);
        exec_spawn(&tasks[f->i], exec_of(cx), &readies[f->i].fut);
    }
    for (f->i = 0; f->i < f->n; f->i++) {
        exec_join_init(&f->join, &tasks[f->i]);
        AWAIT(cx, &f->join);
    }
    ASYNC_END();
}

static double run_spawn(long n) {
    spawn_all_t s;
    double t0;
    /* Touch the caller-owned memory before the clock starts: a first
     * run's page faults are the kernel's, not the spawn's (tokio_bench
     * runs its spawn_join once untimed for its heap likewise). */
    memset(tasks, 0, sizeof *tasks * (size_t)n);
    memset(readies, 0, sizeof *readies * (size_t)n);
    future_init(&s.fut, spawn_all_poll, 0);
    s.n = n;
    t0 = now_s();
    exec_block_on(&ex, &s.fut);
    return (now_s() - t0) * 1e9 / (double)n;
}

/* ---- idle tasks: a million sleeping at once ------------------------------ */

typedef struct {
    future_t fut;
    timer_sleep_t nap;
} idle_t;

static coro_poll_t idle_poll(future_t *self, future_cx_t *cx) {
    idle_t *f = (idle_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, TIMER_SEC);
    AWAIT(cx, &f->nap);
    ASYNC_END();
}

static double idle_ms;
static double run_idle(long n) {
    long before, after, i;
    exec_task_t *t;
    idle_t *f;
    yield_loop_t y;
    double t0 = now_s();
    before = rss_bytes();
    t = (exec_task_t *)calloc((size_t)n, sizeof *t);
    f = (idle_t *)calloc((size_t)n, sizeof *f);
    for (i = 0; i < n; i++) {
        future_init(&f[i].fut, idle_poll, 0);
        exec_spawn(&t[i], &ex, &f[i].fut);
    }
    future_init(&y.fut, yield_loop_poll, 0); /* poll every task once */
    y.n = 1;
    exec_block_on(&ex, &y.fut);
    after = rss_bytes();
    exec_shutdown(&ex); /* drops all: every timer is unlinked */
    free(t);
    free(f);
    idle_ms = (now_s() - t0) * 1e3;
    return (double)(after - before) / (double)n;
}

/* ---- timers: register + cancel ----------------------------------------- */

/* A sleep polled once (so it really registers), then dropped. */
typedef struct {
    future_t fut;
    long i, n;
    timer_sleep_t s;
} regcancel_t;

static coro_poll_t regcancel_poll(future_t *self, future_cx_t *cx) {
    regcancel_t *f = (regcancel_t *)self;
    for (f->i = 0; f->i < f->n; f->i++) {
        timer_sleep_init(&f->s, TIMER_SEC);
        future_poll(&f->s.fut, cx);
        future_drop(&f->s.fut);
    }
    return future_finish(self, 0);
}

static timer_sleep_t *others;
static long nothers;

static double run_regcancel(long n) {
    regcancel_t r;
    double t0;
    future_init(&r.fut, regcancel_poll, 0);
    r.n = n;
    t0 = now_s();
    exec_block_on(&ex, &r.fut);
    return (now_s() - t0) * 1e9 / (double)n;
}

/* Register nothers sleeps of 10 s, polled once each, in one task. */
static coro_poll_t others_poll(future_t *self, future_cx_t *cx) {
    long i;
    for (i = 0; i < nothers; i++) {
        timer_sleep_init(&others[i], 10 * TIMER_SEC + (uint64_t)i * 1000);
        future_poll(&others[i].fut, cx);
    }
    return future_finish(self, 0);
}

/* ---- timers: a million random deadlines, all firing ------------------ */

/* Sleeps the duration its sleep was initialised with (set by main). */
static coro_poll_t preset_poll(future_t *self, future_cx_t *cx) {
    idle_t *f = (idle_t *)self;
    ASYNC_BEGIN(f);
    AWAIT(cx, &f->nap);
    ASYNC_END();
}

/* ---- JOIN over n children, woken one by one -------------------------- */

/* A child that waits for its flag; the driver sets it and wakes it. */
typedef struct {
    future_t fut;
    int flag;
    future_waker_t *waker;
} gate_t;

static coro_poll_t gate_poll(future_t *self, future_cx_t *cx) {
    gate_t *g = (gate_t *)self;
    if (g->flag) return future_finish(self, 0);
    g->waker = cx->waker;
    return CORO_PENDING;
}

typedef struct {
    future_t fut;
    long n;
    gate_t *gates;
    future_join_slot_t *slots;
    future_join_all_t join;
    double ns;
} join_bench_t;

static coro_poll_t join_bench_poll(future_t *self, future_cx_t *cx) {
    join_bench_t *b = (join_bench_t *)self;
    long i;
    double t0;
    future_join_all_init(&b->join, b->slots, (size_t)b->n, 0);
    for (i = 0; i < b->n; i++) {
        future_init(&b->gates[i].fut, gate_poll, 0);
        b->gates[i].flag = 0;
        future_join_all_add(&b->join, &b->gates[i].fut);
    }
    future_poll(&b->join.fut, cx); /* every child registers */
    t0 = now_s();
    for (i = 0; i < b->n; i++) { /* wake child i, let the join handle it */
        b->gates[i].flag = 1;
        future_wake(b->gates[i].waker);
        future_poll(&b->join.fut, cx);
    }
    b->ns = (now_s() - t0) * 1e9 / (double)b->n;
    return future_finish(self, future_done(&b->join.fut) ? 0 : -EIO);
}

static double run_join(long n) {
    join_bench_t b;
    long reps = 1, r;
    double total = 0;
    b.gates = (gate_t *)calloc((size_t)n, sizeof *b.gates);
    b.slots = (future_join_slot_t *)calloc((size_t)n, sizeof *b.slots);
    b.n = n;
    if (n < 100000) reps = 100000 / n; /* time about 100k wakes in all */
    if (quick) reps = 1;
    for (r = 0; r < reps; r++) {
        future_init(&b.fut, join_bench_poll, 0);
        if (exec_block_on(&ex, &b.fut) != 0) abort();
        total += b.ns;
    }
    free(b.gates);
    free(b.slots);
    return total / (double)reps;
}

/* ---- SELECT of two, the loser cancelled ------------------------------- */

typedef struct {
    future_t fut;
    long i, n;
    int which;
    timer_sleep_t slow;
    future_ready_t now;
} select_loop_t;

static coro_poll_t select_loop_poll(future_t *self, future_cx_t *cx) {
    select_loop_t *f = (select_loop_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < f->n; f->i++) {
        timer_sleep_init(&f->slow, TIMER_SEC); /* polled first: registers */
        future_ready_init(&f->now, 0);
        SELECT_BIASED(cx, f->which, &f->slow, &f->now);
    }
    ASYNC_END();
}

static double run_select(long n) {
    select_loop_t s;
    double t0;
    future_init(&s.fut, select_loop_poll, 0);
    s.n = n;
    t0 = now_s();
    exec_block_on(&ex, &s.fut);
    if (s.which != 1) abort();
    return (now_s() - t0) * 1e9 / (double)n;
}

int main(int argc, char **argv) {
    long M = 1000000;
    int a;
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--quick")) quick = 1, runs = 1;
        else if (!strcmp(argv[a], "--runs") && a + 1 < argc) runs = atoi(argv[++a]);
        else runs = 0;
    }
    if (runs < 1 || runs > 5) {
        fprintf(stderr, "usage: %s [--quick] [--runs 1..5]\n", argv[0]);
        return 2;
    }
    if (quick) M = 10000;
    if (exec_init(&ex) != 0) return 1;
    printf("# this library (%s)\n",
#if defined(__clang__)
           "clang"
#else
           "gcc"
#endif
    );
    await_depth = 1;
    printf("await_ready_d1 %.2f\n", median(run_await, 10 * M));
    await_depth = 10;
    printf("await_ready_d10 %.2f\n", median(run_await, 10 * M));
    await_depth = 1;
    printf("await_inline_d1 %.2f\n", median(run_await_inline, 10 * M));
    await_depth = 10;
    printf("await_inline_d10 %.2f\n", median(run_await_inline, 10 * M));
    printf("yield_rt %.2f\n", median(run_yield, M));
    tasks = (exec_task_t *)calloc((size_t)M, sizeof *tasks);
    readies = (future_ready_t *)calloc((size_t)M, sizeof *readies);
    printf("spawn_join %.2f\n", median(run_spawn, M));
    free(tasks);
    free(readies);
    printf("idle_task_bytes %.0f\n", median(run_idle, M));
    printf("idle_setup_teardown_ms %.1f\n", idle_ms);
    printf("timer_reg_cancel %.2f\n", median(run_regcancel, M));
    {
        future_t setup;
        nothers = M;
        others = (timer_sleep_t *)calloc((size_t)M, sizeof *others);
        future_init(&setup, others_poll, 0);
        exec_block_on(&ex, &setup);
        printf("timer_reg_cancel_1m %.2f\n", median(run_regcancel, M));
        {
            long i;
            for (i = 0; i < nothers; i++) future_drop(&others[i].fut);
        }
        free(others);
    }
    {
        /* 1M tasks, each sleeping a random 0..1000 ms; all fire */
        double r[5];
        int i, nr = runs < 3 ? runs : 3; /* a run takes over 2 s */
        for (i = 0; i < nr; i++) {
            idle_t *f;
            exec_task_t *t;
            uint64_t x = 88172645463325252ull, span = quick ? 100 : 1000;
            long j, n = M;
            double t0;
            f = (idle_t *)calloc((size_t)n, sizeof *f);
            t = (exec_task_t *)calloc((size_t)n, sizeof *t);
            t0 = now_s();
            for (j = 0; j < n; j++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                future_init(&f[j].fut, preset_poll, 0);
                timer_sleep_init(&f[j].nap, (x % span) * TIMER_MS);
                exec_spawn(&t[j], &ex, &f[j].fut);
            }
            exec_run(&ex);
            r[i] = (now_s() - t0) * 1e3 - (double)span;
            free(f);
            free(t);
        }
        qsort(r, (size_t)nr, sizeof r[0], cmp_d);
        printf("timers_fire_1m_late_ms %.1f\n", r[nr / 2]);
    }
    printf("join_wake_n10 %.2f\n", median(run_join, 10));
    printf("join_wake_n1000 %.2f\n", median(run_join, 1000));
    printf("join_wake_n100000 %.2f\n", median(run_join, quick ? 10000 : 100000));
    printf("select2 %.2f\n", median(run_select, M));
    exec_destroy(&ex);
    return 0;
}
