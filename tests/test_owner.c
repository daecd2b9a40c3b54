/* Tests of ownership: what a frame spawns belongs to it, and a frame
 * dropped at any suspension point leaves nothing behind.
 *
 *   - One async function that, across its suspension points, spawns tasks
 *     (EXEC_SPAWN, exec_spawn), runs a task scope, holds a join handle it
 *     has not awaited yet, sleeps, reads a socket and waits in a SELECT. A
 *     parent drops it after k polls, for every k until it finishes (and, a
 *     second way, its task aborts itself at its k-th poll). After each drop:
 *     no task left, no timer registered, no fd open, and every task record
 *     can be spawned again.
 *   - The issue's own case: a frame spawns a task, holds its join handle,
 *     and is cancelled (a SELECT it loses, a timeout) before awaiting it:
 *     the task is aborted, its record and the frame are free at once.
 *   - Who owns what: a frame that finishes aborts what it did not join;
 *     exec_spawn_detached and exec_spawn outside any task belong to the
 *     executor; exec_spawn in a nested frame belongs to the task's root.
 *   - Task scopes: join_next in finish order, spawn while join_next waits,
 *     an empty scope, close, wait under a timeout then abort, nested
 *     scopes, a dropped owner, names, a held task; and from the inside: a
 *     task that aborts its own scope, one that releases it (or drops its
 *     owner) and frees it, a scope initialised again every round (each in
 *     a forked child with a time limit: a hang or a memory error there
 *     fails that test, not the binary).
 *   - Misuse, counted: the cases test_misuse.c kills children with, here in
 *     their release form (check.h's counting report), with the values
 *     they are documented to leave.
 * Everything runs on the paused clock: times are exact. */
#include "check.h"
#include "../exec.h"
#include "../io.h"
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#if defined(CORO_USE_LABELS) && CORO_USE_LABELS
#define LABELS_ 1
#else
#define LABELS_ 0
#endif

static exec_t ex;
static uint64_t t0; /* the paused clock at setup */

static void setup(void) {
    if (exec_init(&ex) != 0) abort();
    ex.log = 0;
    exec_clock_pause(&ex);
    t0 = exec_now(&ex);
}

/* Checks inside async bodies, which cannot `return` from the test: they
 * count, and the test CHECKs the count afterwards. */
static int body_failures;
#define EXPECT(cond)                                                           \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("    %s:%d: EXPECT(%s) failed\n", __FILE__, __LINE__, #cond);\
            body_failures++;                                                   \
        }                                                                      \
    } while (0)
#define EXPECT_EQ(a, b)                                                        \
    do {                                                                       \
        long long expect_a_ = (long long)(a), expect_b_ = (long long)(b);      \
        if (expect_a_ != expect_b_) {                                          \
            printf("    %s:%d: EXPECT_EQ(%s, %s) failed: %lld != %lld\n",      \
                   __FILE__, __LINE__, #a, #b, expect_a_, expect_b_);          \
            body_failures++;                                                   \
        }                                                                      \
    } while (0)

/* A fresh executor, and the frame at f (size bytes) zeroed, started and
 * run to its end; the body's EXPECTs count into body_failures. */
static void run_frame(future_t *f, size_t size, future_poll_fn poll) {
    setup();
    body_failures = 0;
    memset(f, 0, size);
    future_init(f, poll, 0);
    CHECK_EQ(exec_block_on(&ex, f), 0);
}

/* expr reports exactly one misuse, with words in it (CHECK_MISUSE, in a body). */
#define EXPECT_MISUSE(expr, words)                                             \
    do {                                                                       \
        int expect_before_ = check_misuses_;                                   \
        expr;                                                                  \
        EXPECT_EQ(check_misuses_ - expect_before_, 1);                         \
        EXPECT(check_last_misuse_ && strstr(check_last_misuse_, (words)));     \
    } while (0)

/* ms since setup, on the paused clock */
static int ms_now(void) { return (int)((exec_now(&ex) - t0) / TIMER_MS); }

static int alive(const exec_task_t *t) { return exec_task_alive_(t); }

/* ---- small futures ------------------------------------------------------ */

/* Sleeps ms, then finishes with rc; counts polls and drops. */
typedef struct {
    future_t fut;
    timer_sleep_t nap;
    uint64_t ms;
    int rc, polls, drops, finished_at;
} nap_t;

static coro_poll_t nap_poll(future_t *self, future_cx_t *cx) {
    nap_t *f = (nap_t *)self;
    f->polls++;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    f->finished_at = ms_now();
    ASYNC_RETURN(f->rc);
    ASYNC_END();
}

static void nap_drop(future_t *self) { ((nap_t *)self)->drops++; }

static void nap_init(nap_t *f, uint64_t ms, int rc) {
    future_init(&f->fut, nap_poll, nap_drop);
    f->ms = ms;
    f->rc = rc;
    f->polls = f->drops = 0;
    f->finished_at = -1;
}

/* Sleeps ms, then writes one byte to fd. */
typedef struct {
    future_t fut;
    timer_sleep_t nap;
    uint64_t ms;
    int fd, wrote;
} writer_t;

static coro_poll_t writer_poll(future_t *self, future_cx_t *cx) {
    writer_t *f = (writer_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    f->wrote = (int)write(f->fd, "x", 1);
    ASYNC_END();
}

static void writer_init(writer_t *f, int fd, uint64_t ms) {
    future_init(&f->fut, writer_poll, 0);
    f->fd = fd;
    f->ms = ms;
    f->wrote = 0;
}

/* Polls inner; drops it at its k-th poll if it has not finished by then,
 * and finishes. A hook runs right after the drop. */
typedef struct cut {
    future_t fut;
    future_t *inner;
    int k, polls, dropped;
    void (*after_drop)(struct cut *c);
    void *arg;
} cut_t;

static coro_poll_t cut_poll(future_t *self, future_cx_t *cx) {
    cut_t *c = (cut_t *)self;
    c->polls++;
    if (future_poll(c->inner, cx) == CORO_READY) {
        self->child = 0;
        return future_finish(self, future_err(c->inner));
    }
    if (c->polls < c->k) return CORO_PENDING;
    self->child = 0;
    future_drop(c->inner);
    c->dropped = 1;
    if (c->after_drop) c->after_drop(c);
    return future_finish(self, 0);
}

static void cut_init(cut_t *c, future_t *inner, int k) {
    future_init(&c->fut, cut_poll, 0);
    c->fut.child = inner; /* dropping the cut drops inner */
    c->inner = inner;
    c->k = k;
    c->polls = c->dropped = 0;
    c->after_drop = 0;
    c->arg = 0;
}

/* ---- the owner: everything a frame can own, one suspension at a time ---- */

enum { OWNER_TASKS = 5 };

typedef struct {
    future_t fut;
    exec_task_t ta, tb, tc, td, te; /* a: EXEC_SPAWN, joined last; b:
                                       exec_spawn, never joined; c, d: in
                                       the scope; e: the socket's writer */
    nap_t a, b, c, d;
    writer_t e;
    exec_scope_t scope;
    exec_join_t join;  /* ta's: held from step 1, awaited at step 5 */
    exec_scope_next_t next;
    timer_sleep_t nap, nap2;
    future_pending_t never;
    io_fd_t io;
    io_read_t rd;
    char buf[4];
    int peer, opened; /* the socketpair's other end; fds open */
    int step, polls, which;
    exec_task_t *self_task; /* abort this task at poll abort_at (0: never) */
    int abort_at;
} owner_t;

static void owner_close_fds(owner_t *f) {
    if (!f->opened) return;
    io_fd_close(&f->io);
    close(f->peer);
    f->opened = 0;
}

static coro_poll_t owner_body(owner_t *f, future_cx_t *cx) {
    ASYNC_BEGIN(f);
    f->step = 1; /* tasks, a scope, a join handle held */
    nap_init(&f->a, 40, 0);
    if (EXEC_SPAWN(cx, &f->ta, &f->a)) ASYNC_RETURN(-1001);
    nap_init(&f->b, 1000, 0);
    if (exec_spawn(&f->tb, exec_of(cx), &f->b)) ASYNC_RETURN(-1002);
    EXEC_SCOPE_INIT(cx, &f->scope);
    nap_init(&f->c, 5, -7);
    if (exec_scope_spawn(&f->scope, &f->tc, &f->c)) ASYNC_RETURN(-1003);
    nap_init(&f->d, 50, 0);
    if (exec_scope_spawn(&f->scope, &f->td, &f->d)) ASYNC_RETURN(-1004);
    exec_join_init(&f->join, &f->ta);
    YIELD_NOW(cx);

    f->step = 2; /* a timer */
    timer_sleep_init(&f->nap, 10 * TIMER_MS);
    AWAIT(cx, &f->nap);

    f->step = 3; /* an fd, and a task that will write to it */
    {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) ASYNC_RETURN(-errno);
        if (io_fd_open(&f->io, exec_of(cx), sv[0])) {
            close(sv[0]);
            close(sv[1]);
            ASYNC_RETURN(-1005);
        }
        f->peer = sv[1];
        f->opened = 1;
    }
    writer_init(&f->e, f->peer, 3);
    if (EXEC_SPAWN(cx, &f->te, &f->e)) ASYNC_RETURN(-1006);
    io_read_init(&f->rd, &f->io, f->buf, sizeof f->buf);
    AWAIT(cx, &f->rd);
    if (future_err(&f->rd) || f->rd.n != 1) ASYNC_RETURN(-1007);

    f->step = 4; /* a SELECT */
    future_pending_init(&f->never);
    timer_sleep_init(&f->nap2, 2 * TIMER_MS);
    SELECT(cx, f->which, &f->never, &f->nap2);
    if (f->which != 1) ASYNC_RETURN(-1008);

    f->step = 5; /* the join handle, at last */
    AWAIT(cx, &f->join);
    if (future_err(&f->join)) ASYNC_RETURN(-1009);

    f->step = 6; /* the scope, in finish order: c (held since 5 ms), then d */
    exec_scope_next_init(&f->next, &f->scope);
    AWAIT(cx, &f->next); /* ready at once */
    if (f->next.task != &f->tc || f->next.err != -7) ASYNC_RETURN(-1010);
    exec_scope_next_init(&f->next, &f->scope);
    AWAIT(cx, &f->next); /* d runs until 50 ms */
    if (f->next.task != &f->td || f->next.err != 0) ASYNC_RETURN(-1011);
    exec_scope_next_init(&f->next, &f->scope);
    AWAIT(cx, &f->next);
    if (f->next.task != 0) ASYNC_RETURN(-1012);

    f->step = 7; /* done: b was never joined, and goes with us */
    owner_close_fds(f);
    ASYNC_END();
}

static coro_poll_t owner_poll(future_t *self, future_cx_t *cx) {
    owner_t *f = (owner_t *)self;
    coro_poll_t r;
    f->polls++;
    r = owner_body(f, cx);
    if (r == CORO_PENDING && f->self_task && f->polls == f->abort_at) exec_abort(f->self_task);
    return r;
}

/* What the frame must undo itself: its fds (the library holds none). */
static void owner_drop(future_t *self) { owner_close_fds((owner_t *)self); }

static void owner_init(owner_t *f) {
    memset(f, 0, sizeof *f); /* zeroed task records: never spawned */
    future_init(&f->fut, owner_poll, owner_drop);
}

static exec_task_t *owner_task(owner_t *f, int i) {
    exec_task_t *ts[OWNER_TASKS];
    ts[0] = &f->ta, ts[1] = &f->tb, ts[2] = &f->tc, ts[3] = &f->td, ts[4] = &f->te;
    return ts[i];
}

/* Every task record of f can be spawned again, with no report. */
static int owner_records_reusable(owner_t *f) {
    static future_ready_t fresh[OWNER_TASKS];
    int i, before = check_misuses_, ok = 1;
    for (i = 0; i < OWNER_TASKS; i++) {
        future_ready_init(&fresh[i], 0);
        if (exec_spawn(owner_task(f, i), &ex, &fresh[i]) != 0) ok = 0;
    }
    if (exec_run(&ex) != 0) ok = 0;
    for (i = 0; i < OWNER_TASKS; i++)
        if (!exec_task_done(owner_task(f, i)) || exec_task_err(owner_task(f, i))) ok = 0;
    return ok && check_misuses_ == before && ex.nlive == 0;
}

/* Right after the cut dropped the owner: nothing the owner's frame owned
 * is alive; only the cut's own task and b (exec_spawn'ed from inside the
 * task: the task's root, the cut, owns it) may be. */
static int seen_steps[8];
static void owner_after_drop(cut_t *c) {
    owner_t *f = (owner_t *)c->arg;
    int b_alive = alive(&f->tb);
    seen_steps[f->step]++;
    EXPECT(!alive(&f->ta) && !alive(&f->tc) && !alive(&f->td) && !alive(&f->te));
    EXPECT(!exec_task_held_(&f->tc) && !exec_task_held_(&f->td)); /* scope released */
    EXPECT_EQ(ex.nlive, 1 + b_alive);
    EXPECT_EQ(timer_wheel_count(&ex.timers), b_alive && f->b.polls > 0);
    EXPECT(!f->opened);
    /* each task it had spawned and that had not finished was dropped once */
    EXPECT_EQ(f->a.drops, f->ta.state != 0 && f->a.finished_at < 0);
    EXPECT_EQ(f->c.drops, f->tc.state != 0 && f->c.finished_at < 0);
    EXPECT_EQ(f->d.drops, f->td.state != 0 && f->d.finished_at < 0);
    EXPECT_EQ(f->e.wrote, 0 + (f->step > 3)); /* the writer went with the frame */
}

/* The owner under a cut at every k: B) dropped by its parent. */
static void test_owner_dropped_at_every_suspension_leaves_nothing(void) {
    static owner_t f;
    static cut_t cut;
    int k, finished = 0, fds;
    memset(seen_steps, 0, sizeof seen_steps);
    for (k = 1; k < 20 && !finished; k++) {
        int misuses = check_misuses_;
        setup();
        fds = check_open_fds();
        owner_init(&f);
        cut_init(&cut, &f.fut, k);
        cut.after_drop = owner_after_drop;
        cut.arg = &f;
        body_failures = 0;
        CHECK_EQ(exec_block_on(&ex, &cut), 0);
        if (body_failures) printf("    (dropped after %d polls, at step %d)\n", k, f.step);
        CHECK_EQ(body_failures, 0);
        finished = !cut.dropped;
        CHECK(finished ? f.step == 7 && f.polls == k : f.polls == k);
        /* The cut has finished too, and took b with it. */
        CHECK_EQ(ex.nlive, 0);
        CHECK_EQ(timer_wheel_count(&ex.timers), 0);
        CHECK_EQ(check_open_fds(), fds);
        CHECK(f.tb.state == 0 || exec_task_err(&f.tb) == -ECANCELED);
        CHECK_EQ(f.b.drops, f.tb.state != 0);
        CHECK(owner_records_reusable(&f));
        CHECK_EQ(check_misuses_, misuses);
        exec_destroy(&ex);
    }
    CHECK(finished);
    CHECK_EQ(k - 1, 7); /* seven polls: dropped after 1..6, finished in 7 */
    for (k = 1; k <= 6; k++) CHECK_EQ(seen_steps[k], 1); /* at each suspension */
}

/* A) the owner is a task's root and aborts its own task at poll k; a
 * watcher joins that task and looks, the moment it ends, at what is left. */
typedef struct {
    future_t fut;
    exec_join_t join;
    int fds;           /* open before the owner ran */
    size_t nlive, timers;
    int fds_after, err;
} watcher_t;

static coro_poll_t watcher_poll(future_t *self, future_cx_t *cx) {
    watcher_t *f = (watcher_t *)self;
    ASYNC_BEGIN(f);
    AWAIT(cx, &f->join);
    f->err = future_err(&f->join);
    f->nlive = ex.nlive; /* the watcher's own task only */
    f->timers = timer_wheel_count(&ex.timers);
    f->fds_after = check_open_fds();
    ASYNC_END();
}

static void test_owner_task_aborted_at_every_suspension_leaves_nothing(void) {
    static owner_t f;
    static exec_task_t t;
    static watcher_t w;
    int k, finished = 0, steps[8] = {0};
    for (k = 1; k < 20 && !finished; k++) {
        int misuses = check_misuses_;
        setup();
        owner_init(&f);
        f.self_task = &t;
        f.abort_at = k;
        memset(&t, 0, sizeof t);
        CHECK_EQ(exec_spawn(&t, &ex, &f), 0); /* outside any task: the executor's */
        future_init(&w, watcher_poll, 0);
        exec_join_init(&w.join, &t);
        w.fds = check_open_fds();
        CHECK_EQ(exec_block_on(&ex, &w), 0);
        finished = w.err == 0;
        if (!finished) {
            CHECK_EQ(w.err, -ECANCELED);
            steps[f.step]++;
        }
        CHECK_EQ(f.polls, k);
        /* Here the task's root is the owner: b was its, and went too. */
        CHECK_EQ(w.nlive, 1);
        CHECK_EQ(w.timers, 0);
        CHECK_EQ(w.fds_after, w.fds);
        CHECK(!f.opened);
        CHECK(f.tb.state == 0 || exec_task_err(&f.tb) == -ECANCELED);
        CHECK_EQ(f.b.drops, f.tb.state != 0);
        CHECK_EQ(ex.nlive, 0);
        CHECK(owner_records_reusable(&f));
        CHECK_EQ(check_misuses_, misuses);
        exec_destroy(&ex);
    }
    CHECK(finished);
    CHECK_EQ(k - 1, 7);
    for (k = 1; k <= 6; k++) CHECK_EQ(steps[k], 1);
}

/* ---- the issue: a held join handle, cancelled before its AWAIT ---------- */

typedef struct {
    future_t fut;
    exec_task_t t;
    nap_t kid;
    exec_join_t join;
    timer_sleep_t nap;
} holder_t;

static coro_poll_t holder_poll(future_t *self, future_cx_t *cx) {
    holder_t *f = (holder_t *)self;
    ASYNC_BEGIN(f);
    nap_init(&f->kid, 100, 0);
    if (EXEC_SPAWN(cx, &f->t, &f->kid)) ASYNC_RETURN(-1);
    exec_join_init(&f->join, &f->t); /* held; awaited only after the nap */
    timer_sleep_init(&f->nap, 50 * TIMER_MS);
    AWAIT(cx, &f->nap);
    AWAIT(cx, &f->join);
    ASYNC_END();
}

static void holder_init(holder_t *f) {
    memset(f, 0, sizeof *f);
    future_init(&f->fut, holder_poll, 0);
}

typedef struct {
    future_t fut;
    holder_t h;
    timer_sleep_t quick;
    timer_timeout_t limit;
    nap_t other;
    exec_join_t join;
    int how, which;
} issue_t;

static coro_poll_t issue_poll(future_t *self, future_cx_t *cx) {
    issue_t *f = (issue_t *)self;
    ASYNC_BEGIN(f);
    holder_init(&f->h);
    if (f->how == 0) { /* a SELECT it loses */
        timer_sleep_init(&f->quick, 10 * TIMER_MS);
        SELECT(cx, f->which, &f->h, &f->quick);
        EXPECT_EQ(f->which, 1);
    } else { /* a timeout */
        timer_timeout_init(&f->limit, &f->h, 10 * TIMER_MS);
        AWAIT(cx, &f->limit);
        EXPECT_EQ(future_err(&f->limit), -ETIMEDOUT);
    }
    /* At once: the task was aborted with its frame... */
    EXPECT_EQ(ms_now(), 10);
    EXPECT(exec_task_done(&f->h.t));
    EXPECT_EQ(exec_task_err(&f->h.t), -ECANCELED);
    EXPECT_EQ(f->h.kid.drops, 1);
    EXPECT_EQ(ex.nlive, 1); /* this task only */
    EXPECT_EQ(timer_wheel_count(&ex.timers), 0);
    /* ...and its record is free: spawn it again, join it. */
    nap_init(&f->other, 5, 3);
    EXPECT_EQ(EXEC_SPAWN(cx, &f->h.t, &f->other), 0);
    exec_join_init(&f->join, &f->h.t);
    AWAIT(cx, &f->join);
    EXPECT_EQ(future_err(&f->join), 3);
    /* The whole frame is free too: reuse its memory for a new one. */
    memset(&f->h, 0xA5, sizeof f->h);
    holder_init(&f->h);
    AWAIT(cx, &f->h);
    EXPECT_EQ(future_err(&f->h), 0);
    EXPECT_EQ(ms_now(), 10 + 5 + 100);
    ASYNC_END();
}

static void test_held_join_handle_cancelled_before_await_aborts_the_task(void) {
    static issue_t f;
    int how;
    for (how = 0; how < 2; how++) {
        setup();
        body_failures = 0;
        memset(&f, 0, sizeof f);
        future_init(&f.fut, issue_poll, 0);
        f.how = how;
        CHECK_EQ(exec_block_on(&ex, &f), 0);
        CHECK_EQ(body_failures, 0);
        CHECK_EQ(ex.nlive, 0);
        exec_destroy(&ex);
    }
}

/* ---- who owns what ------------------------------------------------------- */

/* Spawns tasks and finishes without joining them. */
typedef struct {
    future_t fut;
    exec_task_t t1, t2;
    nap_t k1, k2;
    int plain; /* t2 with exec_spawn (the root's) rather than EXEC_SPAWN */
} leaver_t;

static coro_poll_t leaver_poll(future_t *self, future_cx_t *cx) {
    leaver_t *f = (leaver_t *)self;
    ASYNC_BEGIN(f);
    nap_init(&f->k1, 100, 0);
    nap_init(&f->k2, 100, 0);
    if (EXEC_SPAWN(cx, &f->t1, &f->k1)) ASYNC_RETURN(-1);
    if (f->plain ? exec_spawn(&f->t2, exec_of(cx), &f->k2) : EXEC_SPAWN(cx, &f->t2, &f->k2))
        ASYNC_RETURN(-2);
    YIELD_NOW(cx); /* they start */
    ASYNC_END();
}

static void leaver_init(leaver_t *f, int plain) {
    memset(f, 0, sizeof *f);
    future_init(&f->fut, leaver_poll, 0);
    f->plain = plain;
}

typedef struct {
    future_t fut;
    leaver_t child;
    timer_sleep_t nap;
} outer_t;

static coro_poll_t outer_poll(future_t *self, future_cx_t *cx) {
    outer_t *f = (outer_t *)self;
    ASYNC_BEGIN(f);
    leaver_init(&f->child, 1);
    AWAIT(cx, &f->child);
    /* The child finished: what it EXEC_SPAWNed went with it; what it
     * exec_spawned belongs to our task's root (us) and runs on. */
    EXPECT(exec_task_done(&f->child.t1));
    EXPECT_EQ(exec_task_err(&f->child.t1), -ECANCELED);
    EXPECT_EQ(f->child.k1.drops, 1);
    EXPECT(alive(&f->child.t2));
    timer_sleep_init(&f->nap, 10 * TIMER_MS);
    AWAIT(cx, &f->nap);
    EXPECT(alive(&f->child.t2));
    ASYNC_END();
}

static void test_frame_that_finishes_aborts_what_it_did_not_join(void) {
    static leaver_t f;
    static outer_t o;
    int plain;
    for (plain = 0; plain < 2; plain++) { /* the root: both are its own */
        setup();
        leaver_init(&f, plain);
        CHECK_EQ(exec_block_on(&ex, &f), 0);
        CHECK_EQ(ex.nlive, 0);
        CHECK_EQ(exec_task_err(&f.t1), -ECANCELED);
        CHECK_EQ(exec_task_err(&f.t2), -ECANCELED);
        CHECK_EQ(f.k1.polls, 1);
        CHECK_EQ(f.k1.drops, 1);
        CHECK_EQ(f.k2.drops, 1);
        CHECK_EQ(timer_wheel_count(&ex.timers), 0);
        exec_destroy(&ex);
    }
    /* A nested frame: its EXEC_SPAWN goes with it, its exec_spawn with the root. */
    run_frame(&o.fut, sizeof o, outer_poll);
    CHECK_EQ(body_failures, 0);
    CHECK_EQ(exec_task_err(&o.child.t2), -ECANCELED); /* with the root, at 10 ms */
    CHECK_EQ(o.child.k2.drops, 1);
    CHECK_EQ(ex.nlive, 0);
    exec_destroy(&ex);
}

/* exec_spawn_detached from inside a frame: the executor's, not the frame's. */
typedef struct {
    future_t fut;
    int rc;
} detacher_t;

static int detached_done, detached_err = 1;
static void detached_free(future_t *fut, int err, void *arg) {
    (void)arg;
    detached_done++;
    detached_err = err;
    free(fut);
}

static coro_poll_t detacher_poll(future_t *self, future_cx_t *cx) {
    detacher_t *f = (detacher_t *)self;
    ASYNC_BEGIN(f);
    {
        nap_t *kid = (nap_t *)malloc(sizeof *kid);
        if (!kid) ASYNC_RETURN(-ENOMEM);
        nap_init(kid, 50, 4);
        f->rc = exec_spawn_detached(kid, exec_of(cx), detached_free, 0);
        if (f->rc) free(kid);
    }
    YIELD_NOW(cx);
    ASYNC_END();
}

static void test_detached_task_is_not_owned_by_its_spawner(void) {
    static detacher_t f;
    setup();
    detached_done = 0;
    future_init(&f.fut, detacher_poll, 0);
    CHECK_EQ(exec_block_on(&ex, &f), 0);
    CHECK_EQ(f.rc, 0);
    CHECK_EQ(ex.nlive, 1); /* its spawner finished; it did not go */
    CHECK_EQ(detached_done, 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(detached_done, 1);
    CHECK_EQ(detached_err, 4); /* it finished, not cancelled */
    CHECK_EQ(ms_now(), 50);
    exec_destroy(&ex);
}

static void test_spawn_outside_any_task_lives_until_destroy(void) {
    static nap_t bystander, quick;
    static exec_task_t t;
    setup();
    memset(&t, 0, sizeof t);
    nap_init(&bystander, 1000, 0);
    nap_init(&quick, 10, 0);
    CHECK_EQ(exec_spawn(&t, &ex, &bystander), 0);
    CHECK_EQ(exec_block_on(&ex, &quick), 0);
    CHECK(alive(&t)); /* block_on's end does not touch it */
    CHECK_EQ(bystander.polls, 1);
    CHECK_EQ(ex.nlive, 1);
    exec_destroy(&ex);
    CHECK_EQ(exec_task_err(&t), -ECANCELED);
    CHECK_EQ(bystander.drops, 1);
    CHECK_EQ(ex.nlive, 0);
}

/* ---- task scopes ---------------------------------------------------------- */

typedef struct {
    future_t fut;
    exec_scope_t scope;
    exec_task_t t[3];
    nap_t k[3];
    exec_scope_next_t next;
    int order[4], errs[4], n;
} order_t;

static coro_poll_t order_poll(future_t *self, future_cx_t *cx) {
    order_t *f = (order_t *)self;
    static const int ms[3] = {30, 10, 20}, rcs[3] = {-1, -2, -3};
    int i;
    ASYNC_BEGIN(f);
    EXEC_SCOPE_INIT(cx, &f->scope);
    for (i = 0; i < 3; i++) {
        nap_init(&f->k[i], (uint64_t)ms[i], rcs[i]);
        EXPECT_EQ(exec_scope_spawn(&f->scope, &f->t[i], &f->k[i]), 0);
    }
    EXPECT_EQ(exec_scope_len(&f->scope), 3);
    EXPECT_EQ(exec_scope_running(&f->scope), 3);
    for (f->n = 0; f->n < 4; f->n++) {
        exec_scope_next_init(&f->next, &f->scope);
        AWAIT(cx, &f->next);
        f->order[f->n] = f->next.task ? (int)(f->next.task - f->t) : -1;
        f->errs[f->n] = f->next.err;
        EXPECT_EQ(future_err(&f->next), f->next.err);
        EXPECT_EQ(exec_scope_len(&f->scope), 2 - f->n < 0 ? 0 : 2 - f->n);
    }
    ASYNC_END();
}

static void test_scope_join_next_hands_out_tasks_in_finish_order(void) {
    static order_t f;
    run_frame(&f.fut, sizeof f, order_poll);
    CHECK_EQ(body_failures, 0);
    CHECK_EQ(f.order[0], 1);
    CHECK_EQ(f.errs[0], -2);
    CHECK_EQ(f.order[1], 2);
    CHECK_EQ(f.errs[1], -3);
    CHECK_EQ(f.order[2], 0);
    CHECK_EQ(f.errs[2], -1);
    CHECK_EQ(f.order[3], -1); /* empty: task 0, no error */
    CHECK_EQ(f.errs[3], 0);
    CHECK_EQ(ms_now(), 30);
    exec_destroy(&ex);
}

/* A helper task spawns into the scope while its owner waits in join_next. */
typedef struct {
    future_t fut;
    timer_sleep_t nap;
    exec_scope_t *scope;
    exec_task_t *t;
    nap_t *kid;
    int rc;
} late_spawner_t;

static coro_poll_t late_spawner_poll(future_t *self, future_cx_t *cx) {
    late_spawner_t *f = (late_spawner_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, 5 * TIMER_MS);
    AWAIT(cx, &f->nap);
    f->rc = exec_scope_spawn(f->scope, f->t, f->kid);
    ASYNC_END();
}

typedef struct {
    future_t fut;
    exec_scope_t scope;
    exec_task_t slow, fast, helper;
    nap_t k_slow, k_fast;
    late_spawner_t spawner;
    exec_scope_next_t next;
    exec_task_t *first, *second;
    int first_at;
} late_t;

static coro_poll_t late_poll(future_t *self, future_cx_t *cx) {
    late_t *f = (late_t *)self;
    ASYNC_BEGIN(f);
    EXEC_SCOPE_INIT(cx, &f->scope);
    nap_init(&f->k_slow, 50, 0);
    EXPECT_EQ(exec_scope_spawn(&f->scope, &f->slow, &f->k_slow), 0);
    nap_init(&f->k_fast, 5, 0);
    future_init(&f->spawner.fut, late_spawner_poll, 0);
    f->spawner.scope = &f->scope;
    f->spawner.t = &f->fast;
    f->spawner.kid = &f->k_fast;
    EXPECT_EQ(EXEC_SPAWN(cx, &f->helper, &f->spawner), 0);
    exec_scope_next_init(&f->next, &f->scope);
    AWAIT(cx, &f->next); /* pending from 0 ms; fast joins at 5, ends at 10 */
    f->first = f->next.task;
    f->first_at = ms_now();
    exec_scope_next_init(&f->next, &f->scope);
    AWAIT(cx, &f->next);
    f->second = f->next.task;
    EXPECT_EQ(f->spawner.rc, 0);
    ASYNC_END();
}

static void test_scope_spawn_while_join_next_waits(void) {
    static late_t f;
    run_frame(&f.fut, sizeof f, late_poll);
    CHECK_EQ(body_failures, 0);
    CHECK(f.first == &f.fast);
    CHECK_EQ(f.first_at, 10);
    CHECK(f.second == &f.slow);
    CHECK_EQ(ms_now(), 50);
    CHECK_EQ(ex.nlive, 0);
    exec_destroy(&ex);
}

/* Empty scopes, closed scopes, and a shutdown deadline. */
typedef struct {
    future_t fut;
    exec_scope_t scope;
    exec_task_t t[2], extra;
    nap_t k[2], k_extra;
    exec_scope_next_t next;
    exec_scope_wait_t wait;
    timer_timeout_t limit;
    int rc;
} closer_t;

static coro_poll_t closer_poll(future_t *self, future_cx_t *cx) {
    closer_t *f = (closer_t *)self;
    ASYNC_BEGIN(f);
    EXEC_SCOPE_INIT(cx, &f->scope);
    /* Empty: join_next is ready at once with task 0. */
    exec_scope_next_init(&f->next, &f->scope);
    AWAIT(cx, &f->next);
    EXPECT(f->next.task == 0);
    EXPECT_EQ(future_err(&f->next), 0);
    EXPECT_EQ(ms_now(), 0);
    nap_init(&f->k[0], 100, 0);
    nap_init(&f->k[1], 200, 0);
    EXPECT_EQ(exec_scope_spawn(&f->scope, &f->t[0], &f->k[0]), 0);
    EXPECT_EQ(exec_scope_spawn(&f->scope, &f->t[1], &f->k[1]), 0);
    exec_scope_close(&f->scope);
    /* Closed: spawn is refused, and nothing happened. */
    nap_init(&f->k_extra, 1, 0);
    EXPECT_EQ(exec_scope_spawn(&f->scope, &f->extra, &f->k_extra), -EPIPE);
    EXPECT_EQ(f->extra.state, 0);
    EXPECT(f->k_extra.fut.sibling == 0);
    EXPECT_EQ(exec_scope_len(&f->scope), 2);
    /* Wait for them under a deadline... */
    exec_scope_wait_init(&f->wait, &f->scope);
    timer_timeout_init(&f->limit, &f->wait, 10 * TIMER_MS);
    AWAIT(cx, &f->limit);
    EXPECT_EQ(future_err(&f->limit), -ETIMEDOUT);
    EXPECT_EQ(ms_now(), 10);
    EXPECT_EQ(exec_scope_running(&f->scope), 2);
    /* ...then abort the rest: they finish at once, as cancelled. */
    exec_scope_abort(&f->scope);
    EXPECT_EQ(exec_scope_running(&f->scope), 0);
    EXPECT_EQ(exec_scope_len(&f->scope), 2);
    EXPECT_EQ(f->k[0].drops + f->k[1].drops, 2);
    EXPECT_EQ(timer_wheel_count(&ex.timers), 0);
    EXPECT_EQ(ex.nlive, 1);
    exec_scope_wait_init(&f->wait, &f->scope);
    AWAIT(cx, &f->wait);
    EXPECT_EQ(future_err(&f->wait), 0);
    exec_scope_next_init(&f->next, &f->scope);
    AWAIT(cx, &f->next);
    EXPECT(f->next.task == &f->t[0] || f->next.task == &f->t[1]);
    EXPECT_EQ(f->next.err, -ECANCELED);
    exec_scope_next_init(&f->next, &f->scope);
    AWAIT(cx, &f->next);
    EXPECT(f->next.task == &f->t[0] || f->next.task == &f->t[1]);
    EXPECT_EQ(f->next.err, -ECANCELED);
    exec_scope_next_init(&f->next, &f->scope);
    AWAIT(cx, &f->next);
    EXPECT(f->next.task == 0);
    EXPECT_EQ(ms_now(), 10);
    ASYNC_END();
}

static void test_scope_empty_closed_and_deadline_then_abort(void) {
    static closer_t f;
    run_frame(&f.fut, sizeof f, closer_poll);
    CHECK_EQ(body_failures, 0);
    CHECK_EQ(f.k_extra.polls, 0);
    CHECK_EQ(ex.nlive, 0);
    exec_destroy(&ex);
}

/* Nested: a task of scope S1 owns scope S2; aborting S1 reaches S2's. */
typedef struct {
    future_t fut;
    exec_scope_t s2;
    exec_task_t t[2];
    nap_t k[2];
    exec_scope_next_t next;
} inner_t;

static coro_poll_t inner_poll(future_t *self, future_cx_t *cx) {
    inner_t *f = (inner_t *)self;
    int i;
    ASYNC_BEGIN(f);
    EXEC_SCOPE_INIT(cx, &f->s2);
    exec_scope_set_name(&f->s2, "inner scope");
    for (i = 0; i < 2; i++) {
        nap_init(&f->k[i], 500, 0);
        EXPECT_EQ(exec_scope_spawn(&f->s2, &f->t[i], &f->k[i]), 0);
        exec_task_set_name(&f->t[i], i ? "leaf 1" : "leaf 0");
    }
    exec_scope_next_init(&f->next, &f->s2);
    AWAIT(cx, &f->next);
    ASYNC_END();
}

typedef struct {
    future_t fut;
    exec_scope_t s1;
    exec_task_t mid;
    inner_t inner;
    timer_sleep_t nap;
    char *dump;
    size_t dump_len;
} nest_t;

static coro_poll_t nest_poll(future_t *self, future_cx_t *cx) {
    nest_t *f = (nest_t *)self;
    ASYNC_BEGIN(f);
    EXEC_SCOPE_INIT(cx, &f->s1);
    exec_scope_set_name(&f->s1, "outer scope");
    future_init(&f->inner.fut, inner_poll, 0);
    EXPECT_EQ(exec_scope_spawn(&f->s1, &f->mid, &f->inner), 0);
    exec_task_set_name(&f->mid, "middle");
    timer_sleep_init(&f->nap, 5 * TIMER_MS);
    AWAIT(cx, &f->nap);
    EXPECT_EQ(ex.nlive, 4);
    {
        FILE *mem = open_memstream(&f->dump, &f->dump_len);
        if (mem) {
            exec_dump(&ex, mem);
            fclose(mem);
        }
    }
    exec_scope_abort(&f->s1);
    EXPECT_EQ(exec_task_err(&f->mid), -ECANCELED);
    EXPECT_EQ(exec_task_err(&f->inner.t[0]), -ECANCELED);
    EXPECT_EQ(exec_task_err(&f->inner.t[1]), -ECANCELED);
    EXPECT_EQ(f->inner.k[0].drops + f->inner.k[1].drops, 2);
    EXPECT_EQ(ex.nlive, 1);
    EXPECT_EQ(timer_wheel_count(&ex.timers), 0);
    ASYNC_END();
}

/* The first line of text that starts with s after its indentation. */
static const char *line_with(const char *text, const char *s) {
    const char *l = text;
    while (l && *l) {
        const char *p = l;
        while (*p == ' ') p++;
        if (!strncmp(p, s, strlen(s))) return l;
        l = strchr(l, '\n');
        if (l) l++;
    }
    return 0;
}

static int indent_of(const char *line) {
    int n = 0;
    while (line && line[n] == ' ') n++;
    return n;
}

static void test_nested_scopes_abort_reaches_the_inner_scope(void) {
    static nest_t f;
    const char *l_main, *l_outer, *l_mid, *l_inner, *l_leaf;
    run_frame(&f.fut, sizeof f, nest_poll);
    CHECK_EQ(body_failures, 0);
    CHECK_EQ(ex.nlive, 0);
    CHECK(f.dump != NULL);
    /* The dump is the ownership tree: main > outer scope > middle > inner
     * scope > leaves, each level indented further. */
    l_main = line_with(f.dump, "task \"main\"");
    l_outer = line_with(f.dump, "scope \"outer scope\"");
    l_mid = line_with(f.dump, "task \"middle\"");
    l_inner = line_with(f.dump, "scope \"inner scope\"");
    l_leaf = line_with(f.dump, "task \"leaf 1\"");
    if (!(l_main && l_outer && l_mid && l_inner && l_leaf)) printf("%s", f.dump);
    CHECK(l_main && l_outer && l_mid && l_inner && l_leaf);
    CHECK(indent_of(l_main) < indent_of(l_outer));
    CHECK(indent_of(l_outer) < indent_of(l_mid));
    CHECK(indent_of(l_mid) < indent_of(l_inner));
    CHECK(indent_of(l_inner) < indent_of(l_leaf));
    CHECK(strstr(f.dump, "(2 running, 0 done)") != NULL);
    free(f.dump);
    exec_destroy(&ex);
}

/* The owner of a scope dropped (a SELECT it loses): every task goes. */
typedef struct {
    future_t fut;
    exec_scope_t scope;
    exec_task_t t[3];
    nap_t k[3];
    exec_scope_wait_t wait;
} pool_t;

static coro_poll_t pool_poll(future_t *self, future_cx_t *cx) {
    pool_t *f = (pool_t *)self;
    int i;
    ASYNC_BEGIN(f);
    EXEC_SCOPE_INIT(cx, &f->scope);
    for (i = 0; i < 3; i++) {
        nap_init(&f->k[i], 100 + 10 * (uint64_t)i, 0);
        EXPECT_EQ(exec_scope_spawn(&f->scope, &f->t[i], &f->k[i]), 0);
    }
    exec_scope_close(&f->scope);
    exec_scope_wait_init(&f->wait, &f->scope);
    AWAIT(cx, &f->wait);
    ASYNC_END();
}

typedef struct {
    future_t fut;
    pool_t pool;
    timer_sleep_t quick;
    int which;
} pool_race_t;

static coro_poll_t pool_race_poll(future_t *self, future_cx_t *cx) {
    pool_race_t *f = (pool_race_t *)self;
    ASYNC_BEGIN(f);
    memset(&f->pool, 0, sizeof f->pool);
    future_init(&f->pool.fut, pool_poll, 0);
    timer_sleep_init(&f->quick, 5 * TIMER_MS);
    SELECT(cx, f->which, &f->pool, &f->quick);
    EXPECT_EQ(f->which, 1);
    EXPECT_EQ(ex.nlive, 1);
    EXPECT_EQ(f->pool.k[0].drops + f->pool.k[1].drops + f->pool.k[2].drops, 3);
    EXPECT_EQ(exec_task_err(&f->pool.t[2]), -ECANCELED);
    EXPECT(!exec_task_held_(&f->pool.t[0])); /* the scope went: records free */
    EXPECT_EQ(timer_wheel_count(&ex.timers), 0);
    ASYNC_END();
}

static void test_dropping_a_scope_owner_aborts_every_task(void) {
    static pool_race_t f;
    run_frame(&f.fut, sizeof f, pool_race_poll);
    CHECK_EQ(body_failures, 0);
    CHECK_EQ(ms_now(), 5);
    exec_destroy(&ex);
}

/* Names: set after the spawn; kept while the task runs, after it finished
 * and while its scope holds it, and once join_next handed it out. A
 * finished task its scope still holds cannot be spawned again. */
typedef struct {
    future_t fut;
    exec_scope_t scope;
    exec_task_t t;
    nap_t k, again;
    timer_sleep_t nap;
    exec_scope_next_t next;
    char *dump;
    size_t dump_len;
    int rc;
} held_t;

static coro_poll_t held_poll(future_t *self, future_cx_t *cx) {
    held_t *f = (held_t *)self;
    ASYNC_BEGIN(f);
    EXEC_SCOPE_INIT(cx, &f->scope);
    exec_scope_set_name(&f->scope, "workers");
    nap_init(&f->k, 1, -5);
    EXPECT_EQ(exec_scope_spawn(&f->scope, &f->t, &f->k), 0);
    EXPECT(exec_task_name(&f->t) == 0); /* the spawn cleared it */
    exec_task_set_name(&f->t, "worker");
    {
        FILE *mem = open_memstream(&f->dump, &f->dump_len);
        if (mem) {
            exec_dump(&ex, mem);
            fclose(mem);
        }
    }
    timer_sleep_init(&f->nap, 2 * TIMER_MS); /* it ends at 1 ms */
    AWAIT(cx, &f->nap);
    EXPECT(exec_task_done(&f->t));
    EXPECT(exec_task_name(&f->t) && !strcmp(exec_task_name(&f->t), "worker"));
    /* Held: spawning the record again is refused and reported. */
    nap_init(&f->again, 1, 0);
    EXPECT_MISUSE(f->rc = exec_spawn(&f->t, exec_of(cx), &f->again),
                         "its scope still holds it");
    EXPECT_EQ(f->rc, -EBUSY);
    EXPECT_MISUSE(f->rc = exec_scope_spawn(&f->scope, &f->t, &f->again),
                         "its scope still holds it");
    EXPECT_EQ(f->rc, -EBUSY);
    EXPECT_EQ(f->again.polls, 0);
    exec_scope_next_init(&f->next, &f->scope);
    AWAIT(cx, &f->next);
    EXPECT(f->next.task == &f->t);
    EXPECT_EQ(f->next.err, -5);
    EXPECT(exec_task_name(&f->t) && !strcmp(exec_task_name(&f->t), "worker"));
    /* Handed out: the record is free. */
    EXPECT_EQ(exec_scope_spawn(&f->scope, &f->t, &f->again), 0);
    EXPECT(exec_task_name(&f->t) == 0);
    exec_scope_next_init(&f->next, &f->scope);
    AWAIT(cx, &f->next);
    EXPECT(f->next.task == &f->t);
    EXPECT_EQ(f->next.err, 0);
    ASYNC_END();
}

static void test_task_names_and_held_tasks(void) {
    static held_t f;
    run_frame(&f.fut, sizeof f, held_poll);
    CHECK_EQ(body_failures, 0);
    CHECK(f.dump != NULL);
    if (f.dump && !(strstr(f.dump, "scope \"workers\"") && strstr(f.dump, "task \"worker\"")))
        printf("%s", f.dump);
    CHECK(strstr(f.dump, "scope \"workers\" (1 running, 0 done)") != NULL);
    CHECK(strstr(f.dump, "task \"worker\"") != NULL);
    free(f.dump);
    CHECK_EQ(ex.nlive, 0);
    exec_destroy(&ex);
}

/* A join handle waiting for a task holds the task's name word (the record
 * has no word of its own for a joiner): the name reads the same while it
 * waits, a rename goes through it, and it comes back to the task when the
 * task ends or the handle is dropped. Reports (exec_dump, waker names)
 * show it throughout. */
typedef struct {
    future_t fut;
    exec_task_t t;
    nap_t k;
    exec_join_t join;
    char *dump;
    size_t dump_len;
} joined_name_t;

static int name_is(const exec_task_t *t, const char *name) {
    return exec_task_name(t) && !strcmp(exec_task_name(t), name);
}

static coro_poll_t joined_name_poll(future_t *self, future_cx_t *cx) {
    joined_name_t *f = (joined_name_t *)self;
    ASYNC_BEGIN(f);
    nap_init(&f->k, 5, -7);
    EXPECT_EQ(exec_spawn(&f->t, exec_of(cx), &f->k), 0);
    exec_task_set_name(&f->t, "joined");
    exec_join_init(&f->join, &f->t);
    EXPECT_EQ(future_poll(&f->join, cx), CORO_PENDING); /* it waits now */
    EXPECT(f->t.state & EXEC_TASK_JOINED_);
    EXPECT(name_is(&f->t, "joined"));
    EXPECT(exec_waker_name_(0, &f->t.waker) && !strcmp(exec_waker_name_(0, &f->t.waker), "joined"));
    exec_task_set_name(&f->t, "renamed"); /* kept by the handle meanwhile */
    EXPECT(name_is(&f->t, "renamed"));
    {
        FILE *mem = open_memstream(&f->dump, &f->dump_len);
        if (mem) {
            exec_dump(&ex, mem);
            fclose(mem);
        }
    }
    AWAIT(cx, &f->join);
    EXPECT_EQ(future_err(&f->join), -7);
    EXPECT(!(f->t.state & EXEC_TASK_JOINED_));
    EXPECT(name_is(&f->t, "renamed"));
    /* Dropped while it waits: the name is the task's again, and the task
     * is aborted. */
    nap_init(&f->k, 5, 0);
    EXPECT_EQ(exec_spawn(&f->t, exec_of(cx), &f->k), 0);
    exec_task_set_name(&f->t, "dropped");
    exec_join_init(&f->join, &f->t);
    EXPECT_EQ(future_poll(&f->join, cx), CORO_PENDING);
    EXPECT(f->t.state & EXEC_TASK_JOINED_);
    future_drop(&f->join);
    EXPECT(!(f->t.state & EXEC_TASK_JOINED_));
    EXPECT(name_is(&f->t, "dropped"));
    EXPECT_EQ(exec_task_err(&f->t), -ECANCELED);
    EXPECT_EQ(f->k.drops, 1);
    ASYNC_END();
}

static void test_joined_task_keeps_its_name(void) {
    static joined_name_t f;
    run_frame(&f.fut, sizeof f, joined_name_poll);
    CHECK_EQ(body_failures, 0);
    CHECK(f.dump != NULL);
    if (f.dump && !strstr(f.dump, "task \"renamed\"")) printf("%s", f.dump);
    CHECK(f.dump && strstr(f.dump, "task \"renamed\"") != NULL);
    CHECK(f.dump && strstr(f.dump, "task \"main\"") != NULL);
    free(f.dump);
    CHECK_EQ(ex.nlive, 0);
    exec_destroy(&ex);
}
/* A scope owned by nobody (made outside any task): release frees what it
 * holds, running or finished. */
static void test_unowned_scope_release(void) {
    static exec_scope_t s;
    static exec_task_t t[2];
    static nap_t k[2];
    setup();
    memset(t, 0, sizeof t);
    exec_scope_init(&s, &ex);
    nap_init(&k[0], 0, 0);
    nap_init(&k[1], 100, 0);
    CHECK_EQ(exec_scope_spawn(&s, &t[0], &k[0]), 0);
    CHECK_EQ(exec_scope_spawn(&s, &t[1], &k[1]), 0);
    CHECK_EQ(exec_run(&ex), 0); /* both finish: the scope keeps them */
    CHECK(exec_task_held_(&t[0]) && exec_task_held_(&t[1]));
    CHECK_EQ(exec_scope_len(&s), 2);
    exec_scope_release(&s);
    CHECK(!exec_task_held_(&t[0]) && !exec_task_held_(&t[1]));
    nap_init(&k[0], 0, 0);
    CHECK_EQ(exec_spawn(&t[0], &ex, &k[0]), 0); /* free again */
    CHECK_EQ(exec_run(&ex), 0);
    /* Released while a task runs: it is aborted. */
    exec_scope_init(&s, &ex);
    nap_init(&k[1], 100, 0);
    CHECK_EQ(exec_scope_spawn(&s, &t[1], &k[1]), 0);
    exec_scope_release(&s);
    CHECK_EQ(exec_task_err(&t[1]), -ECANCELED);
    CHECK_EQ(ex.nlive, 0);
    CHECK_EQ(exec_scope_spawn(&s, &t[1], &k[1]), -EPIPE); /* released is closed */
    exec_destroy(&ex);
}

/* ---- a scope's own task aborts or releases it --------------------------- */

/* Run test fn in a forked child under a time limit, so that a hang or a
 * memory error fails this test, not the whole binary. The child exits
 * through exit(), so coverage counters are kept. */
static void in_child(void (*fn)(void), unsigned seconds) {
    pid_t pid;
    int st = 0;
    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        CHECK(pid >= 0);
    }
    if (pid == 0) {
        alarm(seconds);
        check_failed_now_ = 0;
        fn();
        fflush(stdout);
        exit(check_failed_now_ ? 1 : 0);
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(st))
        printf("    the child was killed by signal %d%s\n", WTERMSIG(st),
               WTERMSIG(st) == SIGALRM ? " (it hung)" : "");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A worker that fails cancels its group: exec_scope_abort from inside one
 * of the scope's own tasks (then finishing, or suspending once more). */
typedef struct {
    future_t fut;
    timer_sleep_t nap;
    exec_scope_t *scope;
    uint64_t ms;
    int aborter, then_wait;
} worker_t;

static coro_poll_t worker_poll(future_t *self, future_cx_t *cx) {
    worker_t *f = (worker_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    if (f->aborter) {
        exec_scope_abort(f->scope);
        if (f->then_wait) {
            timer_sleep_init(&f->nap, f->ms * TIMER_MS);
            AWAIT(cx, &f->nap); /* it is dropped here, after this poll */
        }
        ASYNC_RETURN(-5);
    }
    ASYNC_END();
}

typedef struct {
    future_t fut;
    exec_scope_t scope;
    exec_task_t t[3];
    worker_t w[3];
    exec_scope_next_t next;
    int then_wait, n, errs[3];
    exec_task_t *order[3];
} group_t;

static coro_poll_t group_poll(future_t *self, future_cx_t *cx) {
    group_t *f = (group_t *)self;
    int i;
    ASYNC_BEGIN(f);
    SCOPE_INIT(cx, &f->scope);
    for (i = 0; i < 3; i++) {
        future_init(&f->w[i], worker_poll, 0);
        f->w[i].scope = &f->scope;
        f->w[i].ms = i ? 100 : 5;
        f->w[i].aborter = i == 0;
        f->w[i].then_wait = f->then_wait;
        EXPECT_EQ(exec_scope_spawn(&f->scope, &f->t[i], &f->w[i]), 0);
    }
    for (f->n = 0; f->n < 3; f->n++) {
        exec_scope_next_init(&f->next, &f->scope);
        AWAIT(cx, &f->next);
        f->order[f->n] = f->next.task;
        f->errs[f->n] = f->next.err;
    }
    EXPECT_EQ(ms_now(), 5);
    EXPECT_EQ(exec_scope_len(&f->scope), 0);
    EXPECT_EQ(timer_wheel_count(&ex.timers), 0);
    ASYNC_END();
}

static void scope_aborted_by_its_task(void) {
    static group_t f;
    int then_wait, i;
    for (then_wait = 0; then_wait < 2; then_wait++) {
        setup();
        body_failures = 0;
        memset(&f, 0, sizeof f);
        future_init(&f, group_poll, 0);
        f.then_wait = then_wait;
        CHECK_EQ(exec_block_on(&ex, &f), 0);
        CHECK_EQ(body_failures, 0);
        /* The other two first (cancelled by the abort), then the aborter:
         * with its own error if it finished in that poll, cancelled if it
         * was still waiting. */
        for (i = 0; i < 2; i++) {
            CHECK(f.order[i] == &f.t[1] || f.order[i] == &f.t[2]);
            CHECK_EQ(f.errs[i], -ECANCELED);
        }
        CHECK(f.order[2] == &f.t[0]);
        CHECK_EQ(f.errs[2], then_wait ? -ECANCELED : -5);
        CHECK_EQ(ex.nlive, 0);
        exec_destroy(&ex);
    }
}

static void test_scope_aborted_by_one_of_its_tasks(void) { in_child(scope_aborted_by_its_task, 20); }

/* A task of a scope releases it (or drops the scope's owner) and the
 * memory goes at once: the task's own end must not touch the scope, nor
 * exec_dump meanwhile (the task is out of any scope). */
typedef struct {
    future_t fut;
    exec_scope_t **scope;  /* released and freed here (how 0) */
    exec_task_t *owner;    /* or this task, whose frame owns the scope, aborted (how 1) */
    void **owner_mem;      /* ...and its frame freed */
    int how;
    char *dump;            /* exec_dump after the scope went */
    size_t dump_len;
} releaser_t;

static void releaser_dump(releaser_t *f) {
    FILE *mem = open_memstream(&f->dump, &f->dump_len);
    if (!mem) return;
    exec_dump(&ex, mem);
    fclose(mem);
}

static coro_poll_t releaser_poll(future_t *self, future_cx_t *cx) {
    releaser_t *f = (releaser_t *)self;
    ASYNC_BEGIN(f);
    YIELD_NOW(cx);
    if (f->how == 0) {
        exec_scope_release(*f->scope); /* "before its memory goes" */
        free(*f->scope);
        *f->scope = 0;
    } else {
        exec_abort(f->owner); /* its frame goes: the scope with it */
        free(*f->owner_mem);
        *f->owner_mem = 0;
    }
    releaser_dump(f);
    ASYNC_END();
}

typedef struct {
    future_t fut;
    exec_scope_t scope;
    exec_scope_next_t next;
    exec_task_t *t;
    releaser_t *r;
} scope_owner_t;

static coro_poll_t scope_owner_poll(future_t *self, future_cx_t *cx) {
    scope_owner_t *f = (scope_owner_t *)self;
    ASYNC_BEGIN(f);
    SCOPE_INIT(cx, &f->scope);
    EXPECT_EQ(exec_scope_spawn(&f->scope, f->t, f->r), 0);
    exec_scope_next_init(&f->next, &f->scope);
    AWAIT(cx, &f->next);
    ASYNC_END();
}

static void scope_released_by_its_task(void) {
    static exec_task_t t, towner;
    static releaser_t r;
    static exec_scope_t *s;
    static void *mem;
    static future_ready_t again;
    scope_owner_t *o;
    /* An unowned scope on the heap, released and freed by its own task. */
    setup();
    memset(&t, 0, sizeof t);
    s = (exec_scope_t *)calloc(1, sizeof *s);
    CHECK(s != NULL);
    exec_scope_init(s, &ex);
    future_init(&r, releaser_poll, 0);
    r.scope = &s;
    r.how = 0;
    CHECK_EQ(exec_scope_spawn(s, &t, &r), 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(s == 0);
    /* Shown as a task no one owns, in no scope. */
    CHECK(r.dump && strstr(r.dump, "task 0x") == r.dump + 2 && !strstr(r.dump, "scope"));
    if (r.dump && strstr(r.dump, "scope")) printf("%s", r.dump);
    free(r.dump);
    r.dump = 0;
    CHECK(!exec_task_held_(&t)); /* its record is free */
    future_ready_init(&again, 0);
    CHECK_EQ(exec_spawn(&t, &ex, &again), 0);
    CHECK_EQ(exec_run(&ex), 0);
    exec_destroy(&ex);
    /* A frame on the heap owns the scope; its task is aborted by the
     * scope's running task, which then frees the frame. */
    setup();
    memset(&t, 0, sizeof t);
    memset(&towner, 0, sizeof towner);
    o = (scope_owner_t *)calloc(1, sizeof *o);
    CHECK(o != NULL);
    mem = o;
    future_init(o, scope_owner_poll, 0);
    o->t = &t;
    o->r = &r;
    future_init(&r, releaser_poll, 0);
    r.owner = &towner;
    r.owner_mem = &mem;
    r.how = 1;
    CHECK_EQ(exec_spawn(&towner, &ex, o), 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(mem == 0);
    /* Its owner task is gone: the tree no longer reaches it. */
    CHECK(r.dump && !strstr(r.dump, "scope"));
    free(r.dump);
    r.dump = 0;
    CHECK_EQ(exec_task_err(&towner), -ECANCELED);
    CHECK(!exec_task_held_(&t));
    CHECK_EQ(ex.nlive, 0);
    future_ready_init(&again, 0);
    CHECK_EQ(exec_spawn(&t, &ex, &again), 0);
    CHECK_EQ(exec_run(&ex), 0);
    exec_destroy(&ex);
}

static void test_scope_released_by_one_of_its_tasks(void) { in_child(scope_released_by_its_task, 20); }

/* A scope per round, in the same field of one frame: initialised again
 * once the last round's tasks were all handed out. */
typedef struct {
    future_t fut;
    exec_scope_t scope;
    exec_task_t t[2];
    nap_t k[2];
    exec_scope_next_t next;
    int round, i, handed;
} rounds_t;

static coro_poll_t rounds_poll(future_t *self, future_cx_t *cx) {
    rounds_t *f = (rounds_t *)self;
    ASYNC_BEGIN(f);
    for (f->round = 0; f->round < 3; f->round++) {
        SCOPE_INIT(cx, &f->scope);
        for (f->i = 0; f->i < 2; f->i++) {
            nap_init(&f->k[f->i], 1 + (uint64_t)f->i, 0);
            EXPECT_EQ(exec_scope_spawn(&f->scope, &f->t[f->i], &f->k[f->i]), 0);
        }
        for (;;) {
            exec_scope_next_init(&f->next, &f->scope);
            AWAIT(cx, &f->next);
            if (!f->next.task) break;
            f->handed++;
        }
    }
    ASYNC_END();
}

static void scope_initialised_again(void) {
    static rounds_t f;
    setup();
    body_failures = 0;
    memset(&f, 0, sizeof f);
    future_init(&f, rounds_poll, 0);
    CHECK_EQ(exec_block_on(&ex, &f), 0);
    CHECK_EQ(body_failures, 0);
    CHECK_EQ(f.handed, 6);
    CHECK(f.fut.owned == 0);
    CHECK_EQ(ex.nlive, 0);
    exec_destroy(&ex);
}

static void test_scope_initialised_again_each_round(void) { in_child(scope_initialised_again, 20); }

/* ---- misuse, counted: test_misuse.c's cases in their release form -------- */

#if !LABELS_
/* A suspension inside the body's own switch: the coroutine finishes with
 * CORO_EMISUSE, the rest of its body skipped. */
typedef struct {
    coro_t co;
    int mode, after;
} swc_t;

static coro_poll_t swc_run(swc_t *f) {
    ASYNC_BEGIN(f);
    switch (f->mode) {
    case 0:
        YIELD();
        f->after = 1;
        break;
    default:
        break;
    }
    f->after += 10;
    ASYNC_END();
}

static void test_counted_lost_resume_finishes_with_emisuse(void) {
    swc_t c;
    int before;
    memset(&c, 0, sizeof c);
    CHECK_EQ(swc_run(&c), CORO_PENDING);
    CHECK_MISUSE(CHECK_EQ(swc_run(&c), CORO_READY), "inside a switch of your own");
    CHECK(coro_done(&c.co));
    CHECK_EQ(c.co.rc, CORO_EMISUSE);
    CHECK_EQ(c.co.rc, -22);
    CHECK_EQ(c.after, 0);
    before = check_misuses_;
    CHECK_EQ(swc_run(&c), CORO_READY); /* finished: quiet from now on */
    CHECK_EQ(check_misuses_, before);
}

/* The same in a future that owns a task and waits in a SELECT: finished,
 * it must let go of everything (its task, its children's timers). */
typedef struct {
    future_t fut;
    exec_task_t t;
    nap_t kid;
    timer_sleep_t nap;
    future_yield_t y;
    int which, after;
} swf_t;

static coro_poll_t swf_poll(future_t *self, future_cx_t *cx) {
    swf_t *f = (swf_t *)self;
    ASYNC_BEGIN(f);
    nap_init(&f->kid, 100, 0);
    if (EXEC_SPAWN(cx, &f->t, &f->kid)) ASYNC_RETURN(-1);
    switch (f->after) {
    case 0:
        timer_sleep_init(&f->nap, 100 * TIMER_MS);
        future_yield_init(&f->y);
        SELECT(cx, f->which, &f->nap, &f->y); /* resumed by y's wake: lost */
        f->after = 1;
        break;
    default:
        break;
    }
    f->after += 10;
    ASYNC_END();
}

static void test_counted_lost_resume_releases_what_the_frame_holds(void) {
    static swf_t f;
    int rc = 0;
    setup();
    memset(&f, 0, sizeof f);
    future_init(&f.fut, swf_poll, 0);
    CHECK_MISUSE(rc = exec_block_on(&ex, &f), "inside a switch of your own");
    CHECK_EQ(rc, CORO_EMISUSE);
    CHECK_EQ(f.after, 0);
    CHECK_EQ(exec_task_err(&f.t), -ECANCELED); /* its task went with it */
    CHECK_EQ(ex.nlive, 0);
    /* Its SELECT's children too: the sleep must not stay in the wheel, where
     * it points into a frame whose memory is the caller's again. */
    CHECK(f.nap.entry.state != TIMER_LINKED_);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    CHECK(f.fut.child == 0);
    exec_destroy(&ex);
}

/* A bare break out of the body: CORO_EMISUSE, and what it owned goes. */
typedef struct {
    future_t fut;
    exec_task_t t;
    nap_t kid;
    int stop, after;
} brkc_t;

static coro_poll_t brkc_poll(future_t *self, future_cx_t *cx) {
    brkc_t *f = (brkc_t *)self;
    ASYNC_BEGIN(f);
    nap_init(&f->kid, 100, 0);
    if (EXEC_SPAWN(cx, &f->t, &f->kid)) ASYNC_RETURN(-1);
    YIELD_NOW(cx);
    if (f->stop) break;
    f->after = 1;
    ASYNC_END();
}

static void test_counted_break_out_of_body_finishes_with_emisuse(void) {
    static brkc_t f;
    int rc = 0;
    setup();
    memset(&f, 0, sizeof f);
    future_init(&f.fut, brkc_poll, 0);
    f.stop = 1;
    CHECK_MISUSE(rc = exec_block_on(&ex, &f), "`break`");
    CHECK_EQ(rc, CORO_EMISUSE);
    CHECK_EQ(f.after, 0);
    CHECK_EQ(exec_task_err(&f.t), -ECANCELED);
    CHECK_EQ(f.kid.drops, 1);
    CHECK_EQ(ex.nlive, 0);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    exec_destroy(&ex);
}
#endif /* !LABELS_ */

/* Futures used before their init finish with FUTURE_EINVAL; nothing calls
 * through their empty poll pointer. */
typedef struct {
    future_t fut;
    future_ready_t kid; /* never initialised */
    future_ready_t ready;
    future_pending_t never;
    int how, which, err;
} uninit_t;

static coro_poll_t uninit_poll(future_t *self, future_cx_t *cx) {
    uninit_t *f = (uninit_t *)self;
    ASYNC_BEGIN(f);
    if (f->how == 0) {
        AWAIT(cx, &f->kid);
    } else if (f->how == 1) {
        future_ready_init(&f->ready, 0);
        JOIN(cx, &f->ready, &f->kid);
    } else {
        future_pending_init(&f->never);
        SELECT(cx, f->which, &f->never, &f->kid);
    }
    f->err = future_err(&f->kid);
    ASYNC_END();
}

static void no_done(future_t *fut, int err, void *arg) {
    (void)fut;
    (void)err;
    *(int *)arg += 1;
}

static void test_counted_futures_before_init(void) {
    static uninit_t f;
    static future_ready_t zeroed;
    static exec_task_t t;
    static exec_scope_t s;
    future_cx_t cx;
    int how, rc = 1, dones = 0;
    for (how = 0; how < 3; how++) {
        setup();
        memset(&f, 0, sizeof f);
        future_init(&f.fut, uninit_poll, 0);
        f.how = how;
        f.which = -1;
        CHECK_MISUSE(rc = exec_block_on(&ex, &f), "before its init");
        CHECK_EQ(rc, 0);
        CHECK_EQ(f.err, FUTURE_EINVAL);
        if (how == 2) CHECK_EQ(f.which, 1);
        CHECK_EQ(ex.nlive, 0);
        exec_destroy(&ex);
    }
    /* Polled directly. */
    future_cx_init(&cx, 0);
    memset(&zeroed, 0, sizeof zeroed);
    CHECK_MISUSE(CHECK_EQ(future_poll(&zeroed, &cx), CORO_READY), "before its init");
    CHECK(future_done(&zeroed));
    CHECK_EQ(future_err(&zeroed), FUTURE_EINVAL);
    /* Dropped: nothing to release, no report. */
    memset(&zeroed, 0, sizeof zeroed);
    rc = check_misuses_;
    future_drop(&zeroed);
    CHECK_EQ(check_misuses_, rc);
    CHECK_EQ(future_err(&zeroed), FUTURE_ECANCELED);
    /* Given to the executor: -EINVAL, nothing spawned. */
    setup();
    memset(&zeroed, 0, sizeof zeroed);
    memset(&t, 0, sizeof t);
    CHECK_MISUSE(CHECK_EQ(exec_block_on(&ex, &zeroed), -EINVAL), "before its init");
    CHECK_MISUSE(CHECK_EQ(exec_spawn(&t, &ex, &zeroed), -EINVAL), "before its init");
    CHECK_EQ(t.state, 0);
    CHECK_MISUSE(CHECK_EQ(exec_spawn_detached(&zeroed, &ex, no_done, &dones), -EINVAL),
                 "before its init");
    CHECK_EQ(dones, 0);
    exec_scope_init(&s, &ex);
    CHECK_MISUSE(CHECK_EQ(exec_scope_spawn(&s, &t, &zeroed), -EINVAL), "before its init");
    CHECK_EQ(exec_scope_len(&s), 0);
    exec_scope_release(&s);
    CHECK_EQ(ex.nlive, 0);
    CHECK(!future_done(&zeroed)); /* never polled */
    exec_destroy(&ex);
}

/* Awaited twice: ready again, its result unchanged. */
typedef struct {
    future_t fut;
} once_t;

static coro_poll_t once_poll(future_t *self, future_cx_t *cx) {
    ASYNC_BEGIN(self);
    YIELD_NOW(cx);
    ASYNC_RETURN(-3);
    ASYNC_END();
}

typedef struct {
    future_t fut;
    once_t kid;
    int first, second;
} twice_t;

static coro_poll_t twice_poll(future_t *self, future_cx_t *cx) {
    twice_t *f = (twice_t *)self;
    ASYNC_BEGIN(f);
    future_init(&f->kid.fut, once_poll, 0);
    AWAIT(cx, &f->kid);
    f->first = future_err(&f->kid);
    AWAIT(cx, &f->kid);
    f->second = future_err(&f->kid);
    ASYNC_END();
}

static void test_counted_await_twice_keeps_the_result(void) {
    static twice_t f;
    int rc = 1;
    setup();
    memset(&f, 0, sizeof f);
    future_init(&f.fut, twice_poll, 0);
    CHECK_MISUSE(rc = exec_block_on(&ex, &f), "polled after it finished");
    CHECK_EQ(rc, 0);
    CHECK_EQ(f.first, -3);
    CHECK_EQ(f.second, -3);
    exec_destroy(&ex);
}

/* Two futures waiting on one scope at once: the second gets -EBUSY. */
typedef struct {
    future_t fut;
    exec_scope_t scope;
    exec_task_t t;
    nap_t kid;
    exec_scope_next_t n1, n2;
    exec_scope_wait_t w;
    int how, misuses;
} waiters_t;

static coro_poll_t waiters_poll(future_t *self, future_cx_t *cx) {
    waiters_t *f = (waiters_t *)self;
    ASYNC_BEGIN(f);
    EXEC_SCOPE_INIT(cx, &f->scope);
    nap_init(&f->kid, 10, 0);
    EXPECT_EQ(exec_scope_spawn(&f->scope, &f->t, &f->kid), 0);
    exec_scope_next_init(&f->n1, &f->scope);
    if (f->how == 0) {
        exec_scope_next_init(&f->n2, &f->scope);
        f->misuses = check_misuses_; /* in the frame: JOIN suspends */
        JOIN(cx, &f->n1, &f->n2);
        EXPECT_EQ(future_err(&f->n2), -EBUSY);
    } else {
        exec_scope_close(&f->scope);
        exec_scope_wait_init(&f->w, &f->scope);
        f->misuses = check_misuses_;
        JOIN(cx, &f->n1, &f->w);
        EXPECT_EQ(future_err(&f->w), -EBUSY);
    }
    EXPECT_EQ(check_misuses_ - f->misuses, 1);
    EXPECT(strstr(check_last_misuse_, "two futures wait on one task scope") != NULL);
    EXPECT(f->n1.task == &f->t);
    EXPECT_EQ(ms_now(), 10);
    ASYNC_END();
}

static void test_counted_two_waiters_on_a_scope(void) {
    static waiters_t f;
    int how;
    for (how = 0; how < 2; how++) {
        setup();
        body_failures = 0;
        memset(&f, 0, sizeof f);
        future_init(&f.fut, waiters_poll, 0);
        f.how = how;
        CHECK_EQ(exec_block_on(&ex, &f), 0);
        CHECK_EQ(body_failures, 0);
        exec_destroy(&ex);
    }
}

/* exec_run, exec_destroy, exec_shutdown from inside a task: refused, the
 * executor goes on. */
typedef struct {
    future_t fut;
    int what, rc;
} inside_t;

static coro_poll_t inside_poll(future_t *self, future_cx_t *cx) {
    inside_t *f = (inside_t *)self;
    ASYNC_BEGIN(f);
    if (f->what == 0) f->rc = exec_run(exec_of(cx));
    else if (f->what == 1) exec_destroy(exec_of(cx));
    else exec_shutdown(exec_of(cx));
    YIELD_NOW(cx);
    ASYNC_END();
}

static void test_counted_executor_calls_from_inside_a_task(void) {
    static inside_t f;
    static const char *words[3] = {"exec_run / exec_block_on called from inside a task",
                                   "exec_destroy from inside a task",
                                   "exec_shutdown from inside a task"};
    int what, rc = 1;
    for (what = 0; what < 3; what++) {
        setup();
        future_init(&f.fut, inside_poll, 0);
        f.what = what;
        f.rc = 0;
        CHECK_MISUSE(rc = exec_block_on(&ex, &f), words[what]);
        CHECK_EQ(rc, 0);
        CHECK_EQ(f.rc, what == 0 ? -EDEADLK : 0);
        CHECK(ex.epfd >= 0);
        exec_destroy(&ex);
    }
}

int main(void) {
    RUN(test_owner_dropped_at_every_suspension_leaves_nothing);
    RUN(test_owner_task_aborted_at_every_suspension_leaves_nothing);
    RUN(test_held_join_handle_cancelled_before_await_aborts_the_task);
    RUN(test_frame_that_finishes_aborts_what_it_did_not_join);
    RUN(test_detached_task_is_not_owned_by_its_spawner);
    RUN(test_spawn_outside_any_task_lives_until_destroy);
    RUN(test_scope_join_next_hands_out_tasks_in_finish_order);
    RUN(test_scope_spawn_while_join_next_waits);
    RUN(test_scope_empty_closed_and_deadline_then_abort);
    RUN(test_nested_scopes_abort_reaches_the_inner_scope);
    RUN(test_dropping_a_scope_owner_aborts_every_task);
    RUN(test_task_names_and_held_tasks);
    RUN(test_joined_task_keeps_its_name);
    RUN(test_unowned_scope_release);
    RUN(test_scope_aborted_by_one_of_its_tasks);
    RUN(test_scope_released_by_one_of_its_tasks);
    RUN(test_scope_initialised_again_each_round);
#if !LABELS_
    RUN(test_counted_lost_resume_finishes_with_emisuse);
    RUN(test_counted_lost_resume_releases_what_the_frame_holds);
    RUN(test_counted_break_out_of_body_finishes_with_emisuse);
#endif
    RUN(test_counted_futures_before_init);
    RUN(test_counted_await_twice_keeps_the_result);
    RUN(test_counted_two_waiters_on_a_scope);
    RUN(test_counted_executor_calls_from_inside_a_task);
    return check_summary();
}
