/* Tests of timer.h's retry with backoff (timer_retry_t). Everything runs on
 * a paused clock (or a bare wheel moved by hand), so every attempt's start
 * time is checked exactly: no wall-clock sleeps, no tolerances. */
#include "check.h"
#include "../exec.h"

static exec_t ex;

static int setup(void) {
    if (exec_init(&ex) != 0) return 0;
    ex.log = 0;
    exec_clock_pause(&ex);
    return 1;
}

/* ---- a scripted operation ------------------------------------------------
 * Attempt k takes ns[k] (a sleep; 0: ready at once), then fails with rc[k]
 * (0: succeeds). hang[k]: it never finishes. spawn[k]: it first spawns a
 * task owned by its own frame (a task that never finishes by itself). */

enum { MAXN = 64 };

typedef struct {
    future_t fut;
    uint64_t ns;
    int rc, hang, spawn;
    timer_sleep_t work;
    future_pending_t never, forever;
    exec_task_t task;
} op_t;

static coro_poll_t op_poll(future_t *self, future_cx_t *cx) {
    op_t *f = (op_t *)(void *)self;
    ASYNC_BEGIN(f);
    if (f->spawn) {
        future_pending_init(&f->forever);
        exec_task_init(&f->task);
        EXEC_SPAWN(cx, &f->task, &f->forever);
    }
    if (f->hang) {
        future_pending_init(&f->never);
        AWAIT(cx, &f->never);
    }
    if (f->ns) {
        timer_sleep_init(&f->work, f->ns);
        AWAIT(cx, &f->work);
    }
    ASYNC_RETURN(f->rc);
    ASYNC_END();
}

typedef struct {
    const timer_wheel_t *wheel; /* whose now an attempt's start is */
    int rc[MAXN];
    uint64_t ns[MAXN];
    int hang[MAXN], spawn[MAXN];
    unsigned made;              /* make calls */
    uint64_t started[MAXN + 1]; /* [k]: when attempt k was made */
    int asked[MAXN];            /* the errors retry_on was asked about */
    int nasked;
    int refuse;                 /* the error retry_on refuses, or 0 */
    unsigned heard[MAXN];       /* the attempts on_attempt heard of, in order */
    int heard_err[MAXN];        /* with their results */
    uint64_t heard_at[MAXN];    /* when */
    int heard_asked[MAXN];      /* how many retry_on questions came before */
    int nheard;
    int make_null;              /* make returns 0 */
    op_t op;
} script_t;

static void script_init(script_t *s, const timer_wheel_t *w, int rc) {
    int i;
    memset(s, 0, sizeof *s);
    s->wheel = w;
    for (i = 0; i < MAXN; i++) s->rc[i] = rc;
}

static future_t *make_op(void *ctx, unsigned attempt) {
    script_t *s = (script_t *)ctx;
    unsigned k = attempt < MAXN ? attempt : MAXN - 1;
    if (attempt != s->made + 1) s->made = 1000; /* caught by the checks */
    s->made++;
    if (attempt <= MAXN) s->started[attempt] = s->wheel->now;
    if (s->make_null) return 0;
    memset(&s->op, 0, sizeof s->op);
    future_init(&s->op, op_poll, 0);
    s->op.ns = s->ns[k];
    s->op.rc = s->rc[k];
    s->op.hang = s->hang[k];
    s->op.spawn = s->spawn[k];
    return &s->op.fut;
}

static int retry_on_script(void *ctx, int err) {
    script_t *s = (script_t *)ctx;
    if (s->nasked < MAXN) s->asked[s->nasked++] = err;
    return err != s->refuse;
}

static void on_attempt_script(void *ctx, unsigned attempt, int err) {
    script_t *s = (script_t *)ctx;
    if (s->nheard >= MAXN) return;
    s->heard[s->nheard] = attempt;
    s->heard_err[s->nheard] = err;
    s->heard_at[s->nheard] = s->wheel->now;
    s->heard_asked[s->nheard++] = s->nasked;
}

static timer_retry_policy_t policy(unsigned max, uint64_t base, unsigned pct, uint64_t cap) {
    timer_retry_policy_t p;
    memset(&p, 0, sizeof p);
    p.max_attempts = max;
    p.base = base;
    p.factor_pct = pct;
    p.max_delay = cap;
    return p;
}

#define MS TIMER_MS

/* ---- the schedule ---------------------------------------------------------- */

/* Instant failures: the attempts start at 0, 10, 30, 70, 120, 170 ms (the
 * delays 10, 20, 40, then capped at 50). */
static void test_delays_grow_to_the_cap(void) {
    static const uint64_t at[] = {0, 0, 10, 30, 70, 120, 170};
    script_t s;
    timer_retry_t r;
    timer_retry_policy_t p = policy(6, 10 * MS, 0 /* default: x2 */, 50 * MS);
    uint64_t t0;
    unsigned k;
    CHECK(setup());
    t0 = exec_now(&ex);
    script_init(&s, &ex.timers, -ECONNREFUSED);
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(exec_block_on(&ex, &r), -ECONNREFUSED);
    CHECK_EQ(s.made, 6);
    CHECK_EQ(r.attempts, 6);
    CHECK_EQ(r.last_err, -ECONNREFUSED);
    for (k = 1; k <= 6; k++) CHECK_EQ(s.started[k] - t0, at[k] * MS);
    CHECK_EQ(exec_now(&ex) - t0, 170 * MS); /* no sleep after the last */
    CHECK_EQ(r.last_delay, 50 * MS);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    exec_destroy(&ex);
}

/* A fixed-point factor: x1.5 gives 10, 15, 22.5, 33.75 ms, exactly. The
 * delays count from the end of the failed attempt (each takes 1 ms). */
static void test_factor_is_fixed_point(void) {
    script_t s;
    timer_retry_t r;
    timer_retry_policy_t p = policy(5, 10 * MS, 150, 0);
    uint64_t t0, t;
    CHECK(setup());
    t0 = exec_now(&ex);
    script_init(&s, &ex.timers, -EIO);
    { int i; for (i = 0; i < MAXN; i++) s.ns[i] = 1 * MS; }
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(exec_block_on(&ex, &r), -EIO);
    t = 0;
    CHECK_EQ(s.started[1] - t0, t);
    t += 1 * MS + 10 * MS;
    CHECK_EQ(s.started[2] - t0, t);
    t += 1 * MS + 15 * MS;
    CHECK_EQ(s.started[3] - t0, t);
    t += 1 * MS + 22500 * TIMER_US;
    CHECK_EQ(s.started[4] - t0, t);
    t += 1 * MS + 33750 * TIMER_US;
    CHECK_EQ(s.started[5] - t0, t);
    CHECK_EQ(exec_now(&ex) - t0, t + 1 * MS);
    exec_destroy(&ex);
}

/* A constant delay (100 %), and growth that would overflow 64 bits: held
 * at the cap, never wrapped to a short delay. */
static void test_constant_and_saturating(void) {
    script_t s;
    timer_retry_t r;
    timer_retry_policy_t p = policy(4, 7 * MS, 100, 0);
    unsigned k;
    CHECK(setup());
    script_init(&s, &ex.timers, -EIO);
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(exec_block_on(&ex, &r), -EIO);
    for (k = 2; k <= 4; k++) CHECK_EQ(s.started[k] - s.started[k - 1], 7 * MS);

    /* x100 per retry: 1 s, 100 s, 10^4 s ... past 2^64 ns by attempt 12 */
    p = policy(40, TIMER_SEC, 10000, 3600 * TIMER_SEC);
    script_init(&s, &ex.timers, -EIO);
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(exec_block_on(&ex, &r), -EIO);
    CHECK_EQ(s.made, 40);
    CHECK_EQ(s.started[2] - s.started[1], TIMER_SEC);
    CHECK_EQ(s.started[3] - s.started[2], 100 * TIMER_SEC);
    for (k = 4; k <= 40; k++) CHECK_EQ(s.started[k] - s.started[k - 1], 3600 * TIMER_SEC);
    exec_destroy(&ex);
}

/* ---- when it stops ---------------------------------------------------------- */

/* Attempts take 5 ms; the 4th succeeds: 0 at once, no 5th attempt. */
static void test_success_stops_at_once(void) {
    script_t s;
    timer_retry_t r;
    timer_retry_policy_t p = policy(10, 10 * MS, 200, 0);
    uint64_t t0;
    int i;
    CHECK(setup());
    t0 = exec_now(&ex);
    script_init(&s, &ex.timers, -ECONNREFUSED);
    for (i = 0; i < MAXN; i++) s.ns[i] = 5 * MS;
    s.rc[4] = 0;
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(exec_block_on(&ex, &r), 0);
    CHECK_EQ(s.made, 4);
    CHECK_EQ(r.attempts, 4);
    CHECK_EQ(r.last_err, 0);
    CHECK_EQ(s.started[2] - t0, 15 * MS);
    CHECK_EQ(s.started[3] - t0, 40 * MS);
    CHECK_EQ(s.started[4] - t0, 85 * MS);
    CHECK_EQ(exec_now(&ex) - t0, 90 * MS);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);

    /* Success at the first attempt: no sleep at all. */
    script_init(&s, &ex.timers, 0);
    t0 = exec_now(&ex);
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(exec_block_on(&ex, &r), 0);
    CHECK_EQ(s.made, 1);
    CHECK_EQ(exec_now(&ex), t0);
    exec_destroy(&ex);
}

/* Every attempt fails, each differently: the result is the last one's. */
static void test_exhausted_returns_last_error(void) {
    script_t s;
    timer_retry_t r;
    timer_retry_policy_t p = policy(3, 1 * MS, 200, 0);
    CHECK(setup());
    script_init(&s, &ex.timers, -ECONNREFUSED);
    s.rc[2] = -ECONNRESET;
    s.rc[3] = -EHOSTUNREACH;
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(exec_block_on(&ex, &r), -EHOSTUNREACH);
    CHECK_EQ(r.attempts, 3);
    CHECK_EQ(r.last_err, -EHOSTUNREACH);
    CHECK_EQ(s.made, 3);

    /* One attempt only: no retry, no timer. */
    p = policy(1, 1 * MS, 200, 0);
    script_init(&s, &ex.timers, -EIO);
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(exec_block_on(&ex, &r), -EIO);
    CHECK_EQ(s.made, 1);
    exec_destroy(&ex);
}

/* retry_on refuses -EACCES: the retry stops at once on it, the errors it
 * was asked about were exactly the failures so far. */
static void test_predicate_stops_on_refused_error(void) {
    script_t s;
    timer_retry_t r;
    timer_retry_policy_t p = policy(10, 10 * MS, 200, 0);
    uint64_t t0;
    CHECK(setup());
    t0 = exec_now(&ex);
    script_init(&s, &ex.timers, -ECONNREFUSED);
    s.rc[3] = -EACCES;
    s.refuse = -EACCES;
    p.retry_on = retry_on_script;
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(exec_block_on(&ex, &r), -EACCES);
    CHECK_EQ(r.attempts, 3);
    CHECK_EQ(s.made, 3);
    CHECK_EQ(s.nasked, 3);
    CHECK_EQ(s.asked[0], -ECONNREFUSED);
    CHECK_EQ(s.asked[1], -ECONNREFUSED);
    CHECK_EQ(s.asked[2], -EACCES);
    CHECK_EQ(exec_now(&ex) - t0, 30 * MS); /* no backoff after the refusal */
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    exec_destroy(&ex);
}

/* ---- the per-attempt timeout ----------------------------------------------- */

/* Attempt 2 hangs: after 50 ms it is dropped and counts as -ETIMEDOUT,
 * which retry_on sees; attempt 3 succeeds. */
static void test_attempt_timeout_retries(void) {
    script_t s;
    timer_retry_t r;
    timer_retry_policy_t p = policy(5, 10 * MS, 200, 0);
    uint64_t t0;
    CHECK(setup());
    t0 = exec_now(&ex);
    script_init(&s, &ex.timers, -ECONNREFUSED);
    s.ns[1] = 5 * MS;
    s.hang[2] = 1;
    s.rc[3] = 0;
    s.ns[3] = 49 * MS; /* within its limit: not cut off */
    p.attempt_timeout = 50 * MS;
    p.retry_on = retry_on_script;
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(exec_block_on(&ex, &r), 0);
    CHECK_EQ(r.attempts, 3);
    CHECK_EQ(s.nasked, 2);
    CHECK_EQ(s.asked[0], -ECONNREFUSED);
    CHECK_EQ(s.asked[1], -ETIMEDOUT);
    CHECK_EQ(s.started[2] - t0, 15 * MS);
    CHECK_EQ(s.started[3] - t0, 15 * MS + 50 * MS + 20 * MS);
    CHECK_EQ(exec_now(&ex) - t0, 85 * MS + 49 * MS);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);

    /* Every attempt hangs: -ETIMEDOUT after 3 x 50 ms + 10 + 20 ms. */
    p = policy(3, 10 * MS, 200, 0);
    p.attempt_timeout = 50 * MS;
    script_init(&s, &ex.timers, 0);
    { int i; for (i = 0; i < MAXN; i++) s.hang[i] = 1; }
    t0 = exec_now(&ex);
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(exec_block_on(&ex, &r), -ETIMEDOUT);
    CHECK_EQ(r.last_err, -ETIMEDOUT);
    CHECK_EQ(exec_now(&ex) - t0, 180 * MS);
    CHECK_EQ(future_err(&s.op), FUTURE_ECANCELED); /* the last one dropped */
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    exec_destroy(&ex);
}

/* ---- jitter ----------------------------------------------------------------- */

enum { NJ = 40 };

/* Run NJ instant failures with jitter j and seed; gaps[k] = the wait
 * before attempt k + 2, checked against [lo, hi] of its nominal delay. */
static void jitter_run(timer_jitter_t j, uint64_t seed, uint64_t *gaps, int *ok) {
    script_t s;
    timer_retry_t r;
    timer_retry_policy_t p = policy(NJ, 1 * MS, 200, 16 * MS);
    unsigned k;
    *ok = 0;
    p.jitter = j;
    p.seed = seed;
    script_init(&s, &ex.timers, -EIO);
    timer_retry_init(&r, &p, make_op, &s);
    if (exec_block_on(&ex, &r) != -EIO || s.made != NJ) return;
    for (k = 0; k + 1 < NJ; k++) {
        uint64_t nominal = k < 4 ? (1 * MS) << k : 16 * MS;
        uint64_t lo = j == TIMER_JITTER_EQUAL ? nominal - nominal / 2 : 0;
        gaps[k] = s.started[k + 2] - s.started[k + 1];
        if (gaps[k] < lo || gaps[k] > nominal) {
            printf("    gap %u: %llu not in [%llu, %llu]\n", k, (unsigned long long)gaps[k],
                   (unsigned long long)lo, (unsigned long long)nominal);
            return;
        }
    }
    if (r.last_delay != gaps[NJ - 2]) return;
    *ok = 1;
}

static void test_jitter_bounds_and_seed(void) {
    uint64_t a[NJ], b[NJ], c[NJ];
    int ok, k, low = 0, high = 0, differ = 0;
    CHECK(setup());
    jitter_run(TIMER_JITTER_FULL, 42, a, &ok);
    CHECK(ok);
    /* spread over the range: some under half the nominal, some over */
    for (k = 4; k < NJ - 1; k++) {
        low += a[k] < 8 * MS;
        high += a[k] > 8 * MS;
    }
    CHECK(low > 5 && high > 5);
    jitter_run(TIMER_JITTER_FULL, 42, b, &ok); /* the same seed: the same waits */
    CHECK(ok);
    CHECK(memcmp(a, b, sizeof(uint64_t) * (NJ - 1)) == 0);
    jitter_run(TIMER_JITTER_FULL, 43, c, &ok);
    CHECK(ok);
    for (k = 0; k < NJ - 1; k++) differ += a[k] != c[k];
    CHECK(differ > NJ / 2);

    jitter_run(TIMER_JITTER_EQUAL, 0, a, &ok); /* seed 0 works too */
    CHECK(ok);
    for (low = high = 0, k = 4; k < NJ - 1; k++) {
        low += a[k] < 12 * MS;
        high += a[k] > 12 * MS;
    }
    CHECK(low > 5 && high > 5);
    jitter_run(TIMER_JITTER_EQUAL, 0, b, &ok);
    CHECK(ok);
    CHECK(memcmp(a, b, sizeof(uint64_t) * (NJ - 1)) == 0);
    exec_destroy(&ex);
}

/* ---- on_attempt -------------------------------------------------------------- */

/* on_attempt hears of every attempt as it finishes, the last one included
 * (success or failure), before retry_on is asked; a cut-off attempt as
 * -ETIMEDOUT. */
static void test_on_attempt_hears_each_attempt(void) {
    static const int errs[3] = {-ECONNREFUSED, -ETIMEDOUT, 0};
    static const uint64_t at[3] = {5, 65, 86}; /* ms: 0+5; 15+50; 85+1 */
    script_t s;
    timer_retry_t r;
    timer_retry_policy_t p = policy(5, 10 * MS, 200, 0);
    uint64_t t0;
    int k;
    CHECK(setup());
    t0 = exec_now(&ex);
    script_init(&s, &ex.timers, -ECONNREFUSED);
    s.ns[1] = 5 * MS;
    s.hang[2] = 1;
    s.rc[3] = 0;
    s.ns[3] = 1 * MS;
    p.attempt_timeout = 50 * MS;
    p.retry_on = retry_on_script;
    p.on_attempt = on_attempt_script;
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(exec_block_on(&ex, &r), 0);
    CHECK_EQ(s.nheard, 3);
    for (k = 0; k < 3; k++) {
        CHECK_EQ(s.heard[k], (unsigned)k + 1);
        CHECK_EQ(s.heard_err[k], errs[k]);
        CHECK_EQ(s.heard_at[k] - t0, at[k] * MS);
        CHECK_EQ(s.heard_asked[k], k); /* before retry_on's question about it */
    }
    CHECK_EQ(s.nasked, 2); /* a success is not asked about */

    /* Exhausted: the last failure is heard of too, and retry_on is not
     * asked about it; a refused error is heard of before the refusal. */
    exec_destroy(&ex);
    CHECK(setup());
    script_init(&s, &ex.timers, -EIO);
    p = policy(3, 1 * MS, 200, 0);
    p.retry_on = retry_on_script;
    p.on_attempt = on_attempt_script;
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(exec_block_on(&ex, &r), -EIO);
    CHECK_EQ(s.nheard, 3);
    CHECK_EQ(s.heard[2], 3);
    CHECK_EQ(s.heard_err[2], -EIO);
    CHECK_EQ(s.nasked, 2);
    exec_destroy(&ex);
    CHECK(setup());
    script_init(&s, &ex.timers, -EIO);
    s.refuse = -EIO;
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(exec_block_on(&ex, &r), -EIO);
    CHECK_EQ(r.attempts, 1);
    CHECK_EQ(s.nheard, 1);
    CHECK_EQ(s.heard_asked[0], 0);
    CHECK_EQ(s.nasked, 1);
    exec_destroy(&ex);
}

/* ---- drop ------------------------------------------------------------------- */

/* async fn race(retry, ns): SELECT(retry, sleep(ns)); the sleep wins and
 * the retry is dropped. Notes the timers and tasks alive just before (from
 * the op's side) and just after. */
typedef struct {
    future_t fut;
    timer_retry_t *retry;
    int which;
    size_t timers_after, tasks_after;
    timer_sleep_t limit;
} race_t;

static coro_poll_t race_poll(future_t *self, future_cx_t *cx) {
    race_t *f = (race_t *)(void *)self;
    ASYNC_BEGIN(f);
    SELECT_BIASED(cx, f->which, f->retry, &f->limit);
    f->timers_after = timer_wheel_count(cx->timers);
    f->tasks_after = exec_of(cx)->nlive; /* this task only */
    ASYNC_END();
}

static void race_init(race_t *f, timer_retry_t *r, uint64_t ns) {
    memset(f, 0, sizeof *f);
    future_init(&f->fut, race_poll, 0);
    f->retry = r;
    timer_sleep_init(&f->limit, ns);
}

/* async fn watch(ns): sleep, then note the timers and tasks alive then */
typedef struct {
    future_t fut;
    size_t timers, tasks;
    timer_sleep_t s;
    exec_task_t task;
} watch_t;

static coro_poll_t watch_poll(future_t *self, future_cx_t *cx) {
    watch_t *f = (watch_t *)(void *)self;
    ASYNC_BEGIN(f);
    AWAIT(cx, &f->s);
    f->timers = timer_wheel_count(cx->timers);
    f->tasks = exec_of(cx)->nlive;
    ASYNC_END();
}

static int watch_spawn(watch_t *f, uint64_t ns) {
    memset(f, 0, sizeof *f);
    future_init(&f->fut, watch_poll, 0);
    timer_sleep_init(&f->s, ns);
    exec_task_init(&f->task);
    return exec_spawn(&f->task, &ex, &f->fut);
}

/* Dropped while attempt 2 runs under its timeout (three timers linked:
 * the race's, the timeout's and the attempt's work; a task the attempt spawned). */
static void test_drop_during_attempt(void) {
    script_t s;
    timer_retry_t r;
    race_t race;
    watch_t w;
    timer_retry_policy_t p = policy(5, 10 * MS, 200, 0);
    CHECK(setup());
    script_init(&s, &ex.timers, -EIO);
    s.ns[2] = 500 * MS;
    s.spawn[2] = 1;
    p.attempt_timeout = TIMER_SEC;
    p.on_attempt = on_attempt_script;
    timer_retry_init(&r, &p, make_op, &s);
    race_init(&race, &r, 30 * MS);
    CHECK_EQ(watch_spawn(&w, 20 * MS), 0);
    CHECK_EQ(exec_block_on(&ex, &race), 0);
    CHECK_EQ(w.timers, 3); /* at 20 ms: before the drop */
    CHECK_EQ(w.tasks, 3);  /* main, the watcher, the attempt's task */
    CHECK_EQ(race.which, 1);
    CHECK_EQ(r.attempts, 2);
    CHECK(future_done(&r));
    CHECK_EQ(future_err(&r), FUTURE_ECANCELED);
    CHECK_EQ(future_err(&s.op), FUTURE_ECANCELED);
    CHECK_EQ(future_err(&r.limit), FUTURE_ECANCELED);
    CHECK(exec_task_done(&s.op.task));
    CHECK_EQ(exec_task_err(&s.op.task), -ECANCELED);
    CHECK_EQ(race.timers_after, 0);
    CHECK_EQ(race.tasks_after, 1);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    CHECK_EQ(ex.nlive, 0);
    CHECK_EQ(s.made, 2);
    CHECK_EQ(s.nheard, 1); /* attempt 2 was dropped, not finished: unheard of */
    exec_destroy(&ex);
}

/* Dropped in the backoff sleep between attempts 1 and 2. */
static void test_drop_during_backoff(void) {
    script_t s;
    timer_retry_t r;
    race_t race;
    watch_t w;
    timer_retry_policy_t p = policy(5, 100 * MS, 200, 0);
    CHECK(setup());
    script_init(&s, &ex.timers, -EIO);
    s.spawn[1] = 1; /* its task goes with attempt 1, when it fails */
    timer_retry_init(&r, &p, make_op, &s);
    race_init(&race, &r, 60 * MS);
    CHECK_EQ(watch_spawn(&w, 20 * MS), 0);
    CHECK_EQ(exec_block_on(&ex, &race), 0);
    CHECK_EQ(w.timers, 2); /* at 20 ms: the race's, the backoff */
    CHECK_EQ(w.tasks, 2);  /* main, the watcher: attempt 1's task went with it */
    CHECK_EQ(race.which, 1);
    CHECK_EQ(r.attempts, 1);
    CHECK_EQ(s.made, 1);
    CHECK_EQ(future_err(&r), FUTURE_ECANCELED);
    CHECK_EQ(future_err(&r.pause), FUTURE_ECANCELED);
    CHECK_EQ(race.timers_after, 0);
    CHECK_EQ(race.tasks_after, 1);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    CHECK_EQ(ex.nlive, 0);

    /* Dropped before its first poll: nothing to do, nothing made. */
    script_init(&s, &ex.timers, -EIO);
    timer_retry_init(&r, &p, make_op, &s);
    future_drop(&r);
    CHECK_EQ(s.made, 0);
    CHECK_EQ(future_err(&r), FUTURE_ECANCELED);
    exec_destroy(&ex);
}

/* ---- on a bare wheel: the kind's text, misuse -------------------------------- */

typedef struct {
    future_waker_t w;
    int wakes;
} counter_waker_t;

static void counter_wake(future_waker_t *w) { ((counter_waker_t *)(void *)w)->wakes++; }

static timer_wheel_t wheel;

static const char *describe(const timer_retry_t *r, char *buf, size_t cap) {
    future_fmt_t o;
    memset(&o, 0, sizeof o);
    o.buf = buf;
    o.cap = cap;
    buf[0] = 0;
    future_describe(&r->fut, &o);
    return buf;
}

static void test_describe(void) {
    counter_waker_t cw = {{counter_wake}, 0};
    future_cx_t cx;
    script_t s;
    timer_retry_t r;
    timer_retry_policy_t p = policy(5, 10 * MS, 200, 0);
    char buf[96];
    timer_wheel_init(&wheel, 1000 * MS);
    future_cx_init(&cx, &cw.w);
    cx.timers = &wheel;
    script_init(&s, &wheel, -EIO);
    s.ns[3] = 5 * MS; /* attempt 3 runs for a while */
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_EQ(future_poll(&r, &cx), CORO_PENDING); /* attempt 1 failed */
    CHECK(strcmp(describe(&r, buf, sizeof buf), "retry attempt 2/5 (backoff 10 ms left)") == 0);
    CHECK(r.fut.child == &r.pause.fut); /* the sleep shows beneath */
    timer_wheel_advance(&wheel, 1006 * MS);
    CHECK(strcmp(describe(&r, buf, sizeof buf), "retry attempt 2/5 (backoff 4 ms left)") == 0);
    timer_wheel_advance(&wheel, 1010 * MS);
    CHECK_EQ(cw.wakes, 1);
    CHECK(strcmp(describe(&r, buf, sizeof buf), "retry attempt 2/5 (backoff due)") == 0);
    CHECK_EQ(future_poll(&r, &cx), CORO_PENDING); /* attempt 2 failed too */
    CHECK(strcmp(describe(&r, buf, sizeof buf), "retry attempt 3/5 (backoff 20 ms left)") == 0);
    timer_wheel_advance(&wheel, 1030 * MS);
    CHECK_EQ(future_poll(&r, &cx), CORO_PENDING); /* attempt 3 runs */
    CHECK(strcmp(describe(&r, buf, sizeof buf), "retry attempt 3/5 (running)") == 0);
    CHECK(r.fut.child == &s.op.fut);
    CHECK_EQ(timer_wheel_count(&wheel), 1); /* the attempt's own sleep */
    future_drop(&r);
    CHECK_EQ(timer_wheel_count(&wheel), 0);
    CHECK_EQ(future_err(&s.op), FUTURE_ECANCELED);
}

static void test_misuse(void) {
    counter_waker_t cw = {{counter_wake}, 0};
    future_cx_t cx;
    script_t s;
    timer_retry_t r;
    timer_retry_policy_t p = policy(0, 10 * MS, 200, 0);
    coro_poll_t rc = CORO_PENDING;
    timer_wheel_init(&wheel, 0);
    future_cx_init(&cx, &cw.w);
    cx.timers = &wheel;
    script_init(&s, &wheel, -EIO);

    timer_retry_init(&r, &p, make_op, &s); /* 0 attempts */
    CHECK_MISUSE(rc = future_poll(&r, &cx), "max_attempts 0");
    CHECK_EQ(rc, CORO_READY);
    CHECK_EQ(future_err(&r), -EINVAL);
    CHECK_EQ(s.made, 0);

    timer_retry_init(&r, 0, make_op, &s); /* no policy */
    CHECK_MISUSE(rc = future_poll(&r, &cx), "no policy");
    CHECK_EQ(future_err(&r), -EINVAL);

    p.max_attempts = 3;
    timer_retry_init(&r, &p, 0, &s); /* no make */
    CHECK_MISUSE(rc = future_poll(&r, &cx), "make function");
    CHECK_EQ(rc, CORO_READY);
    CHECK_EQ(future_err(&r), -EINVAL);

    s.make_null = 1; /* make returns no future */
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_MISUSE(rc = future_poll(&r, &cx), "returned no future");
    CHECK_EQ(future_err(&r), -EINVAL);
    CHECK_EQ(s.made, 1);
    s.make_null = 0;

    cx.timers = 0; /* no wheel */
    timer_retry_init(&r, &p, make_op, &s);
    CHECK_MISUSE(rc = future_poll(&r, &cx), "cx->timers");
    CHECK_EQ(future_err(&r), -EINVAL);
    CHECK_EQ(timer_wheel_count(&wheel), 0);
}

int main(void) {
    RUN(test_delays_grow_to_the_cap);
    RUN(test_factor_is_fixed_point);
    RUN(test_constant_and_saturating);
    RUN(test_success_stops_at_once);
    RUN(test_exhausted_returns_last_error);
    RUN(test_predicate_stops_on_refused_error);
    RUN(test_attempt_timeout_retries);
    RUN(test_jitter_bounds_and_seed);
    RUN(test_on_attempt_hears_each_attempt);
    RUN(test_drop_during_attempt);
    RUN(test_drop_during_backoff);
    RUN(test_describe);
    RUN(test_misuse);
    return check_summary();
}
