/* Tests of future.h: the future protocol, driven by a hand-written waker in
 * the test (no executor): laziness, AWAIT, AWAIT_TRY, YIELD_NOW, the ready /
 * pending / yield futures, JOIN, TRY_JOIN, SELECT and SELECT_BIASED,
 * future_join_all_t, drop at every suspension point, misuse, the async
 * backtrace and the cooperative budget. Also built with CORO_USE_LABELS=1,
 * and by tests/small_knobs.sh under coro.h's footprint knobs (CORO_PC_T,
 * CORO_RC_T, CORO_NO_TRACE: there no "file:line" is recorded). */
#include "check.h"
#include "../future.h"

/* ---- the test's own waker and context ----------------------------------- */

typedef struct {
    future_waker_t w; /* first member */
    int wakes;
} counter_waker_t;

static void counter_wake(future_waker_t *w) { ((counter_waker_t *)(void *)w)->wakes++; }

static void cw_init(counter_waker_t *cw) {
    cw->w.wake = counter_wake;
    cw->wakes = 0;
}

static future_cx_t cx_of(counter_waker_t *cw) {
    future_cx_t cx;
    cx.waker = &cw->w;
    cx.timers = 0;
    cx.exec = 0;
    cx.budget = 0;
    cx.seq = 0;
    return cx;
}

static int seq_; /* orders events (drops) across futures */

/* ---- a probe leaf future ------------------------------------------------
 * Pending until the test opens it; then ready with rc. Registers the waker
 * it is polled with, counts its polls and its drops. */
typedef struct {
    future_t fut;
    int open, rc;
    int polls, drops, drop_seq;
    future_waker_t *waker; /* registered while pending */
} gate_t;

static coro_poll_t gate_poll(future_t *self, future_cx_t *cx) {
    gate_t *g = (gate_t *)(void *)self;
    g->polls++;
    if (g->open) {
        g->waker = 0;
        return future_finish(self, g->rc);
    }
    g->waker = cx->waker;
    return CORO_PENDING;
}

static void gate_drop(future_t *self) {
    gate_t *g = (gate_t *)(void *)self;
    g->drops++;
    g->drop_seq = ++seq_;
    g->waker = 0;
}

static void gate_init(gate_t *g, int open, int rc) {
    future_init(&g->fut, gate_poll, gate_drop);
    g->open = open;
    g->rc = rc;
    g->polls = g->drops = g->drop_seq = 0;
    g->waker = 0;
}

/* Make it ready and wake whoever waits for it (as an event source would). */
static void gate_open(gate_t *g, int rc) {
    future_waker_t *w = g->waker;
    g->open = 1;
    g->rc = rc;
    g->waker = 0;
    future_wake(w);
}

/* ---- laziness ------------------------------------------------------------ */

typedef struct {
    future_t fut;
    int body_runs;
    gate_t g;
} lazy_t;

static coro_poll_t lazy_poll(future_t *self, future_cx_t *cx) {
    lazy_t *f = (lazy_t *)(void *)self;
    ASYNC_BEGIN(f);
    f->body_runs++;
    AWAIT(cx, &f->g);
    ASYNC_END();
}

static void test_init_is_lazy(void) {
    counter_waker_t cw;
    future_cx_t cx;
    lazy_t f;
    gate_t g;
    cw_init(&cw);
    cx = cx_of(&cw);
    /* A leaf: init runs nothing. */
    gate_init(&g, 1, 0);
    CHECK_EQ(g.polls, 0);
    CHECK(!future_done(&g.fut));
    CHECK_EQ(future_poll(&g.fut, &cx), CORO_READY);
    CHECK_EQ(g.polls, 1);
    /* An async function: neither its body nor its child runs before a poll. */
    memset(&f, 0, sizeof f);
    future_init(&f.fut, lazy_poll, 0);
    gate_init(&f.g, 0, 0);
    CHECK_EQ(f.body_runs, 0);
    CHECK_EQ(f.g.polls, 0);
    CHECK(f.fut.child == 0);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
    CHECK_EQ(f.body_runs, 1);
    CHECK_EQ(f.g.polls, 1);
    CHECK_EQ(cw.wakes, 0);
}

/* ---- AWAIT ------------------------------------------------------------ */

typedef struct {
    future_t fut;
    future_ready_t r;
    gate_t g, h;
    int after_r, after_g, after_h;
} awaiter_t;

static coro_poll_t awaiter_poll(future_t *self, future_cx_t *cx) {
    awaiter_t *f = (awaiter_t *)(void *)self;
    ASYNC_BEGIN(f);
    future_ready_init(&f->r, 0);
    AWAIT(cx, &f->r);
    f->after_r++;
    AWAIT(cx, &f->g);
    f->after_g++;
    AWAIT(cx, &f->h); /* not AWAIT_TRY: an error does not stop us */
    f->after_h++;
    ASYNC_END();
}

static void test_await_ready_and_pending_child(void) {
    counter_waker_t cw;
    future_cx_t cx;
    awaiter_t f;
    cw_init(&cw);
    cx = cx_of(&cw);
    memset(&f, 0, sizeof f);
    future_init(&f.fut, awaiter_poll, 0);
    gate_init(&f.g, 1, 0);  /* ready at its first poll */
    gate_init(&f.h, 0, 0);  /* pending */
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
    /* The ready children did not suspend the parent: both passed in one poll. */
    CHECK_EQ(f.after_r, 1);
    CHECK_EQ(f.after_g, 1);
    CHECK(future_done(&f.r.fut));
    CHECK_EQ(f.g.polls, 1);
    CHECK_EQ(f.after_h, 0);
    CHECK(f.fut.child == &f.h.fut); /* suspended on h */
    CHECK(f.h.waker == &cw.w);      /* h registered our waker */
    /* A re-poll without h ready stays pending and polls h again. */
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
    CHECK_EQ(f.h.polls, 2);
    CHECK_EQ(f.after_g, 1); /* did not re-run what came before */
    gate_open(&f.h, -EIO);
    CHECK_EQ(cw.wakes, 1);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
    CHECK_EQ(f.after_h, 1);
    CHECK_EQ(future_err(&f.h.fut), -EIO); /* the result stays in the child */
    CHECK_EQ(future_err(&f.fut), 0);      /* AWAIT does not propagate */
    CHECK(f.fut.child == 0);
    CHECK_EQ(f.g.polls, 1);
    CHECK_EQ(f.h.polls, 3);
    CHECK_EQ(f.h.drops + f.g.drops, 0);
}

/* ---- AWAIT_TRY ----------------------------------------------------------- */

typedef struct {
    future_t fut;
    gate_t a, b, c;
    int after_a, after_b, after_c;
} trier_t;

static coro_poll_t trier_poll(future_t *self, future_cx_t *cx) {
    trier_t *f = (trier_t *)(void *)self;
    ASYNC_BEGIN(f);
    AWAIT_TRY(cx, &f->a);
    f->after_a++;
    AWAIT_TRY(cx, &f->b);
    f->after_b++;
    AWAIT_TRY(cx, &f->c);
    f->after_c++;
    ASYNC_END();
}

static void test_await_try_propagates_the_error(void) {
    counter_waker_t cw;
    future_cx_t cx;
    trier_t f;
    cw_init(&cw);
    cx = cx_of(&cw);
    memset(&f, 0, sizeof f);
    future_init(&f.fut, trier_poll, 0);
    gate_init(&f.a, 1, 0);
    gate_init(&f.b, 0, 0);
    gate_init(&f.c, 1, 0);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
    CHECK_EQ(f.after_a, 1);
    gate_open(&f.b, -ENOENT);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
    CHECK(future_done(&f.fut));
    CHECK_EQ(future_err(&f.fut), -ENOENT);
    CHECK_EQ(f.after_b, 0);  /* the rest was skipped */
    CHECK_EQ(f.after_c, 0);
    CHECK_EQ(f.c.polls, 0);  /* c was never started */
    CHECK(f.fut.child == 0); /* b was let go */
    CHECK_EQ(f.b.drops, 0);  /* b finished: nothing to drop */
    /* A child that fails at its first poll stops us in that same poll. */
    memset(&f, 0, sizeof f);
    future_init(&f.fut, trier_poll, 0);
    gate_init(&f.a, 1, 0);
    gate_init(&f.b, 1, -EPERM);
    gate_init(&f.c, 1, 0);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
    CHECK_EQ(future_err(&f.fut), -EPERM);
    CHECK_EQ(f.after_a, 1);
    CHECK_EQ(f.after_b, 0);
    CHECK_EQ(f.c.polls, 0);
    CHECK(f.fut.child == 0);
    /* All succeed: runs to the end with 0. A positive rc is no error. */
    memset(&f, 0, sizeof f);
    future_init(&f.fut, trier_poll, 0);
    gate_init(&f.a, 1, 0);
    gate_init(&f.b, 1, 3);
    gate_init(&f.c, 1, 0);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
    CHECK_EQ(f.after_c, 1);
    CHECK_EQ(future_err(&f.fut), 0);
}

/* ---- YIELD_NOW ----------------------------------------------------------- */

typedef struct {
    future_t fut;
    int before, after;
} yielder_t;

static coro_poll_t yielder_poll(future_t *self, future_cx_t *cx) {
    yielder_t *f = (yielder_t *)(void *)self;
    ASYNC_BEGIN(f);
    f->before++;
    YIELD_NOW(cx);
    f->after++;
    ASYNC_END();
}

static void test_yield_now_wakes_exactly_once(void) {
    counter_waker_t cw;
    future_cx_t cx;
    yielder_t f;
    cw_init(&cw);
    cx = cx_of(&cw);
    memset(&f, 0, sizeof f);
    future_init(&f.fut, yielder_poll, 0);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
    CHECK_EQ(cw.wakes, 1); /* woke itself: the executor polls it again */
    CHECK_EQ(f.before, 1);
    CHECK_EQ(f.after, 0);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
    CHECK_EQ(cw.wakes, 1); /* not again on the way out */
    CHECK_EQ(f.before, 1);
    CHECK_EQ(f.after, 1);
}

/* ---- future_ready, future_pending, future_yield ------------------------- */

static void test_ready_pending_and_yield_futures(void) {
    counter_waker_t cw;
    future_cx_t cx;
    future_ready_t r;
    future_pending_t p;
    future_yield_t y;
    int i;
    cw_init(&cw);
    cx = cx_of(&cw);
    future_ready_init(&r, -EAGAIN);
    CHECK(!future_done(&r.fut)); /* lazy: not finished before its poll */
    CHECK_EQ(future_poll(&r.fut, &cx), CORO_READY);
    CHECK(future_done(&r.fut));
    CHECK_EQ(future_err(&r.fut), -EAGAIN);
    future_ready_init(&r, 0);
    CHECK_EQ(future_poll(&r.fut, &cx), CORO_READY);
    CHECK_EQ(future_err(&r.fut), 0);

    future_pending_init(&p);
    for (i = 0; i < 100; i++) CHECK_EQ(future_poll(&p.fut, &cx), CORO_PENDING);
    CHECK_EQ(cw.wakes, 0); /* registers nothing, wakes nothing */
    CHECK(!future_done(&p.fut));
    future_drop(&p.fut);
    CHECK(future_done(&p.fut));
    CHECK_EQ(future_err(&p.fut), FUTURE_ECANCELED);

    future_yield_init(&y);
    CHECK_EQ(future_poll(&y.fut, &cx), CORO_PENDING);
    CHECK_EQ(cw.wakes, 1);
    CHECK(!future_done(&y.fut));
    CHECK_EQ(future_poll(&y.fut, &cx), CORO_READY);
    CHECK_EQ(cw.wakes, 1);
    CHECK(future_done(&y.fut));
    CHECK_EQ(future_err(&y.fut), 0);
}

/* ---- JOIN ------------------------------------------------------------- */

typedef struct {
    future_t fut;
    gate_t g[3];
    int after;
} joiner_t;

static coro_poll_t joiner_poll(future_t *self, future_cx_t *cx) {
    joiner_t *f = (joiner_t *)(void *)self;
    ASYNC_BEGIN(f);
    JOIN(cx, &f->g[0], &f->g[1], &f->g[2]);
    f->after++;
    ASYNC_END();
}

static void test_join_waits_for_all_in_any_order(void) {
    counter_waker_t cw;
    future_cx_t cx;
    joiner_t f;
    int i;
    cw_init(&cw);
    cx = cx_of(&cw);
    memset(&f, 0, sizeof f);
    future_init(&f.fut, joiner_poll, 0);
    for (i = 0; i < 3; i++) gate_init(&f.g[i], 0, 0);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
    for (i = 0; i < 3; i++) CHECK_EQ(f.g[i].polls, 1); /* all started at once */
    /* Finish them in the order 2, 0, 1 with different results. */
    gate_open(&f.g[2], 22);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
    CHECK_EQ(f.after, 0);
    CHECK(future_done(&f.g[2].fut));
    gate_open(&f.g[0], -EIO); /* JOIN (not TRY_JOIN): an error stops nothing */
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
    CHECK_EQ(f.after, 0);
    CHECK_EQ(f.g[1].drops, 0);
    CHECK_EQ(f.g[2].polls, 2); /* a finished child is not polled again */
    CHECK_EQ(f.g[0].polls, 3);
    CHECK(!future_done(&f.fut));
    gate_open(&f.g[1], 11);
    CHECK_EQ(cw.wakes, 3);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
    CHECK_EQ(f.after, 1);
    CHECK_EQ(future_err(&f.fut), 0);
    /* Every result is kept in its child. */
    CHECK_EQ(future_err(&f.g[0].fut), -EIO);
    CHECK_EQ(future_err(&f.g[1].fut), 11);
    CHECK_EQ(future_err(&f.g[2].fut), 22);
    CHECK_EQ(f.g[0].polls, 3);
    CHECK_EQ(f.g[1].polls, 4);
    CHECK_EQ(f.g[2].polls, 2);
    for (i = 0; i < 3; i++) {
        CHECK_EQ(f.g[i].drops, 0);
        CHECK(f.g[i].fut.sibling == 0);
    }
    CHECK(f.fut.child == 0);
}

/* ---- TRY_JOIN ------------------------------------------------------------ */

typedef struct {
    future_t fut;
    gate_t g[4];
    int after;
} tryjoiner_t;

static coro_poll_t tryjoiner_poll(future_t *self, future_cx_t *cx) {
    tryjoiner_t *f = (tryjoiner_t *)(void *)self;
    ASYNC_BEGIN(f);
    TRY_JOIN(cx, &f->g[0], &f->g[1], &f->g[2], &f->g[3]);
    f->after++;
    ASYNC_END();
}

static void tryjoiner_setup(tryjoiner_t *f) {
    int i;
    memset(f, 0, sizeof *f);
    future_init(&f->fut, tryjoiner_poll, 0);
    for (i = 0; i < 4; i++) gate_init(&f->g[i], 0, 0);
}

static void test_try_join_first_error_drops_the_rest(void) {
    counter_waker_t cw;
    future_cx_t cx;
    tryjoiner_t f;
    int polls[4], i;
    cw_init(&cw);
    cx = cx_of(&cw);
    tryjoiner_setup(&f);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
    gate_open(&f.g[3], 0); /* one succeeds first: it is kept, not dropped */
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
    gate_open(&f.g[2], -EPIPE);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
    CHECK_EQ(future_err(&f.fut), -EPIPE); /* returned from the function */
    CHECK_EQ(f.after, 0);
    CHECK_EQ(f.g[0].drops, 1); /* the unfinished ones were dropped */
    CHECK_EQ(f.g[1].drops, 1);
    CHECK_EQ(future_err(&f.g[0].fut), FUTURE_ECANCELED);
    CHECK_EQ(future_err(&f.g[1].fut), FUTURE_ECANCELED);
    CHECK_EQ(f.g[2].drops, 0); /* the failed one finished by itself */
    CHECK_EQ(f.g[3].drops, 0);
    CHECK_EQ(future_err(&f.g[3].fut), 0);
    CHECK(f.fut.child == 0);
    for (i = 0; i < 4; i++) {
        CHECK(f.g[i].fut.sibling == 0);
        CHECK(f.g[i].waker == 0); /* nothing registered is left behind */
        polls[i] = f.g[i].polls;
    }
    /* Nothing is polled afterwards. */
    for (i = 0; i < 4; i++) f.g[i].open = 1;
    CHECK_MISUSE(future_poll(&f.fut, &cx), "polled after it finished");
    for (i = 0; i < 4; i++) CHECK_EQ(f.g[i].polls, polls[i]);
    CHECK_EQ(future_err(&f.fut), -EPIPE);

    /* Two errors in the same step: the first in argument order wins, and
     * the later failure (not yet seen) is dropped like the others. */
    tryjoiner_setup(&f);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
    f.g[2].open = 1;
    f.g[2].rc = -EPIPE;
    f.g[1].open = 1;
    f.g[1].rc = -EIO;
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
    CHECK_EQ(future_err(&f.fut), -EIO);
    CHECK_EQ(f.g[0].drops, 1);
    CHECK_EQ(f.g[1].drops, 0);
    CHECK_EQ(f.g[2].drops, 1);
    CHECK_EQ(f.g[3].drops, 1);
    CHECK_EQ(f.g[2].polls, 1); /* not polled after the error was seen */
    CHECK_EQ(f.after, 0);

    /* An error at the very first poll. */
    tryjoiner_setup(&f);
    gate_init(&f.g[0], 1, -ENOMEM);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
    CHECK_EQ(future_err(&f.fut), -ENOMEM);
    for (i = 1; i < 4; i++) CHECK_EQ(f.g[i].polls, 0);
    for (i = 1; i < 4; i++) CHECK_EQ(f.g[i].drops, 1);

    /* No error: like JOIN, and the body goes on. */
    tryjoiner_setup(&f);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
    for (i = 3; i >= 0; i--) {
        gate_open(&f.g[i], i);
        CHECK_EQ(future_poll(&f.fut, &cx), i ? CORO_PENDING : CORO_READY);
    }
    CHECK_EQ(f.after, 1);
    CHECK_EQ(future_err(&f.fut), 0);
    for (i = 0; i < 4; i++) CHECK_EQ(f.g[i].drops, 0);
    for (i = 0; i < 4; i++) CHECK_EQ(future_err(&f.g[i].fut), i);
}

/* ---- SELECT ------------------------------------------------------------ */

typedef struct {
    future_t fut;
    gate_t g[3];
    int which, after;
} selector_t;

static coro_poll_t selector_poll(future_t *self, future_cx_t *cx) {
    selector_t *f = (selector_t *)(void *)self;
    ASYNC_BEGIN(f);
    SELECT(cx, f->which, &f->g[0], &f->g[1], &f->g[2]);
    f->after++;
    ASYNC_END();
}

static void test_select_winner_and_dropped_losers(void) {
    counter_waker_t cw;
    future_cx_t cx;
    selector_t f;
    int i, polls[3];
    cw_init(&cw);
    cx = cx_of(&cw);
    memset(&f, 0, sizeof f);
    future_init(&f.fut, selector_poll, 0);
    for (i = 0; i < 3; i++) gate_init(&f.g[i], 0, 0);
    f.which = -1;
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
    for (i = 0; i < 3; i++) CHECK_EQ(f.g[i].polls, 1);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
    CHECK_EQ(f.after, 0);
    gate_open(&f.g[1], -EAGAIN);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
    CHECK_EQ(f.after, 1);
    CHECK_EQ(f.which, 1);
    CHECK_EQ(future_err(&f.g[1].fut), -EAGAIN); /* the winner's result */
    CHECK_EQ(future_err(&f.fut), 0);
    CHECK_EQ(f.g[1].drops, 0);
    CHECK_EQ(f.g[0].drops, 1);
    CHECK_EQ(f.g[2].drops, 1);
    CHECK_EQ(future_err(&f.g[0].fut), FUTURE_ECANCELED);
    CHECK(f.fut.child == 0);
    for (i = 0; i < 3; i++) {
        CHECK(f.g[i].fut.sibling == 0);
        polls[i] = f.g[i].polls;
    }
    for (i = 0; i < 3; i++) f.g[i].open = 1;
    CHECK_MISUSE(future_poll(&f.fut, &cx), "polled after it finished");
    for (i = 0; i < 3; i++) CHECK_EQ(f.g[i].polls, polls[i]);
}

/* SELECT over two always-ready children, 1000 times in a loop. */
typedef struct {
    future_t fut;
    gate_t a, b;
    int which, i, biased;
    int wins[2], alternations, loser_drops, winner_drops;
    int last;
} racer_t;

static coro_poll_t racer_poll(future_t *self, future_cx_t *cx) {
    racer_t *f = (racer_t *)(void *)self;
    ASYNC_BEGIN(f);
    f->last = -1;
    for (f->i = 0; f->i < 1000; f->i++) {
        gate_init(&f->a, 1, 0);
        gate_init(&f->b, 1, 0);
        if (f->biased) SELECT_BIASED(cx, f->which, &f->a, &f->b);
        else SELECT(cx, f->which, &f->a, &f->b);
        f->wins[f->which]++;
        if (f->which != f->last) f->alternations++;
        f->last = f->which;
        f->loser_drops += f->which ? f->a.drops : f->b.drops;
        f->winner_drops += f->which ? f->b.drops : f->a.drops;
        if (f->a.polls + f->b.polls != 1) ASYNC_RETURN(-EPROTO); /* one poll */
    }
    ASYNC_END();
}

static void test_select_is_fair_and_biased_is_not(void) {
    counter_waker_t cw;
    future_cx_t cx;
    racer_t f;
    cw_init(&cw);
    cx = cx_of(&cw);
    memset(&f, 0, sizeof f);
    future_init(&f.fut, racer_poll, 0);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY); /* never suspends */
    CHECK_EQ(future_err(&f.fut), 0);
    CHECK_EQ(f.wins[0] + f.wins[1], 1000);
    CHECK_EQ(f.alternations, 1000); /* the winner changes every time */
    CHECK(f.wins[0] >= 450 && f.wins[0] <= 550);
    CHECK(f.wins[1] >= 450 && f.wins[1] <= 550);
    CHECK_EQ(f.loser_drops, 1000);
    CHECK_EQ(f.winner_drops, 0);

    memset(&f, 0, sizeof f);
    future_init(&f.fut, racer_poll, 0);
    f.biased = 1;
    f.which = 1; /* whatever it holds, biased starts at 0 */
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
    CHECK_EQ(future_err(&f.fut), 0);
    CHECK_EQ(f.wins[0], 1000);
    CHECK_EQ(f.wins[1], 0);
    CHECK_EQ(f.loser_drops, 1000);
    CHECK_EQ(cw.wakes, 0);
}

typedef struct {
    future_t fut;
    gate_t g[3];
    int which;
} biased3_t;

static coro_poll_t biased3_poll(future_t *self, future_cx_t *cx) {
    biased3_t *f = (biased3_t *)(void *)self;
    ASYNC_BEGIN(f);
    SELECT_BIASED(cx, f->which, &f->g[0], &f->g[1], &f->g[2]);
    ASYNC_END();
}

static void test_select_biased_picks_first_ready_in_order(void) {
    counter_waker_t cw;
    future_cx_t cx;
    biased3_t f;
    int i, round;
    cw_init(&cw);
    cx = cx_of(&cw);
    for (round = 0; round < 3; round++) {
        memset(&f, 0, sizeof f);
        future_init(&f.fut, biased3_poll, 0);
        for (i = 0; i < 3; i++) gate_init(&f.g[i], 0, 0);
        f.which = round; /* must not matter */
        CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
        CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
        for (i = 0; i < 3; i++) CHECK_EQ(f.g[i].polls, 2);
        f.g[1].open = f.g[2].open = 1; /* 1 and 2 ready in the same step */
        CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
        CHECK_EQ(f.which, 1);
        CHECK_EQ(f.g[0].polls, 3); /* polled in order: 0, then 1 wins */
        CHECK_EQ(f.g[1].polls, 3);
        CHECK_EQ(f.g[2].polls, 2); /* never reached */
        CHECK_EQ(f.g[0].drops, 1);
        CHECK_EQ(f.g[1].drops, 0);
        CHECK_EQ(f.g[2].drops, 1);
    }
}

/* Fair SELECT while pending: the first child polled rotates per poll. */
static void test_select_fair_rotation_while_pending(void) {
    counter_waker_t cw;
    future_cx_t cx;
    selector_t f;
    int i, pending_polls;
    cw_init(&cw);
    cx = cx_of(&cw);
    /* which = 0: the polls start at 1, 2, 0, 1, ... When all three become
     * ready, the child the next poll starts at wins: after one pending poll
     * that is 2, after two it is 0, after three it is 1. A SELECT that did
     * not rotate (or always started at 0) would pick the same each time. */
    for (pending_polls = 1; pending_polls <= 3; pending_polls++) {
        memset(&f, 0, sizeof f);
        future_init(&f.fut, selector_poll, 0);
        for (i = 0; i < 3; i++) gate_init(&f.g[i], 0, 0);
        f.which = 0;
        for (i = 0; i < pending_polls; i++) CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
        f.g[0].open = f.g[1].open = f.g[2].open = 1;
        CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
        CHECK_EQ(f.which, (pending_polls + 1) % 3);
        for (i = 0; i < 3; i++) CHECK_EQ(f.g[i].drops, i != f.which);
        for (i = 0; i < 3; i++) CHECK_EQ(f.g[i].polls, pending_polls + (i == f.which));
    }
}

/* ---- future_join_all_t: O(1) per wake ----------------------------------- */

enum { NJOIN = 1000 };

static void test_join_all_repolls_only_woken_children(void) {
    counter_waker_t cw;
    future_cx_t cx;
    future_join_all_t j;
    static future_join_slot_t slots[NJOIN];
    static gate_t g[NJOIN];
    static const int order[] = {999, 0, 500, 1, 998, 250};
    int i, k, total;
    cw_init(&cw);
    cx = cx_of(&cw);
    future_join_all_init(&j, slots, NJOIN, 0);
    for (i = 0; i < NJOIN; i++) {
        gate_init(&g[i], 0, 0);
        CHECK_EQ(future_join_all_add(&j, &g[i].fut), 0);
    }
    for (i = 0; i < NJOIN; i++) CHECK_EQ(g[i].polls, 0); /* lazy */
    CHECK_EQ(future_poll(&j.fut, &cx), CORO_PENDING);
    for (i = 0; i < NJOIN; i++) CHECK_EQ(g[i].polls, 1);
    /* Each child got a waker of its own, not the parent's. */
    CHECK(g[0].waker != &cw.w);
    CHECK(g[0].waker != g[1].waker);
    /* A poll with nothing woken polls no child. */
    CHECK_EQ(future_poll(&j.fut, &cx), CORO_PENDING);
    for (i = 0; i < NJOIN; i++) CHECK_EQ(g[i].polls, 1);
    /* Wake one child that is still pending: only it is polled. */
    future_wake(g[7].waker);
    CHECK_EQ(cw.wakes, 1); /* the parent was woken */
    CHECK_EQ(future_poll(&j.fut, &cx), CORO_PENDING);
    for (i = 0; i < NJOIN; i++) CHECK_EQ(g[i].polls, i == 7 ? 2 : 1);
    /* Finish children one at a time: each wake costs one child poll. */
    for (k = 0; k < (int)(sizeof order / sizeof order[0]); k++) {
        int c = order[k];
        gate_open(&g[c], c);
        CHECK_EQ(cw.wakes, 2 + k);
        CHECK_EQ(future_poll(&j.fut, &cx), CORO_PENDING);
        CHECK_EQ(g[c].polls, 2);
        CHECK(future_done(&g[c].fut));
    }
    total = 0;
    for (i = 0; i < NJOIN; i++) total += g[i].polls;
    CHECK_EQ(total, NJOIN + 1 + 6);
    /* Many wakes of one child before a poll: it is polled once. */
    future_wake(g[3].waker);
    future_wake(g[3].waker);
    future_wake(g[3].waker);
    CHECK_EQ(cw.wakes, 1 + 6 + 1); /* g[7], the six above, g[3] once */
    CHECK_EQ(future_poll(&j.fut, &cx), CORO_PENDING);
    CHECK_EQ(g[3].polls, 2);
    /* A wake of a finished child is ignored. */
    {
        future_waker_t *stale = &slots[999].waker;
        future_wake(stale);
        CHECK_EQ(cw.wakes, 8);
        CHECK_EQ(future_poll(&j.fut, &cx), CORO_PENDING);
        CHECK_EQ(g[999].polls, 2);
    }
    /* Finish all the rest; the join finishes when the last one does. */
    for (i = 0; i < NJOIN; i++)
        if (!g[i].open) gate_open(&g[i], 0);
    CHECK_EQ(future_poll(&j.fut, &cx), CORO_READY);
    CHECK_EQ(future_err(&j.fut), 0);
    total = 0;
    for (i = 0; i < NJOIN; i++) {
        CHECK(future_done(&g[i].fut));
        CHECK_EQ(g[i].drops, 0);
        total += g[i].polls;
    }
    /* 1000 first polls, 1000 finishing polls, and the two extra polls of
     * children 7 and 3 that were woken while still pending. */
    CHECK_EQ(total, 2 * NJOIN + 2);
    CHECK_EQ(future_err(&g[500].fut), 500); /* results stay in the children */
}

static void test_join_all_try_mode_and_errors(void) {
    counter_waker_t cw;
    future_cx_t cx;
    future_join_all_t j;
    future_join_slot_t slots[5];
    gate_t g[5], extra;
    int i, rc = 0;
    cw_init(&cw);
    cx = cx_of(&cw);
    /* try mode: the first failure ends it, the others are dropped. */
    future_join_all_init(&j, slots, 5, 1);
    for (i = 0; i < 5; i++) {
        gate_init(&g[i], 0, 0);
        CHECK_EQ(future_join_all_add(&j, &g[i].fut), 0);
    }
    /* Full: ENOSPC, and nothing changed. */
    gate_init(&extra, 1, 0);
    CHECK_EQ(future_join_all_add(&j, &extra.fut), FUTURE_ENOSPC);
    CHECK_EQ(future_poll(&j.fut, &cx), CORO_PENDING);
    CHECK_EQ(extra.polls, 0);
    /* Adding after the first poll is misuse. */
    CHECK_MISUSE(rc = future_join_all_add(&j, &extra.fut), "after the join was polled");
    CHECK_EQ(rc, FUTURE_EINVAL);
    gate_open(&g[4], 0);
    CHECK_EQ(future_poll(&j.fut, &cx), CORO_PENDING);
    gate_open(&g[1], -EBADF);
    CHECK_EQ(future_poll(&j.fut, &cx), CORO_READY);
    CHECK_EQ(future_err(&j.fut), -EBADF);
    CHECK_EQ(g[0].drops, 1);
    CHECK_EQ(g[2].drops, 1);
    CHECK_EQ(g[3].drops, 1);
    CHECK_EQ(g[1].drops, 0);
    CHECK_EQ(g[4].drops, 0);
    CHECK_EQ(extra.polls, 0);
    /* Wakes from the dropped children's old wakers reach nobody. */
    future_wake(&slots[0].waker);
    CHECK_EQ(cw.wakes, 2);

    /* Not try mode: an error is just a result. */
    future_join_all_init(&j, slots, 5, 0);
    for (i = 0; i < 3; i++) {
        gate_init(&g[i], 1, -i);
        CHECK_EQ(future_join_all_add(&j, &g[i].fut), 0);
    }
    CHECK_EQ(future_poll(&j.fut, &cx), CORO_READY);
    CHECK_EQ(future_err(&j.fut), 0);
    CHECK_EQ(future_err(&g[2].fut), -2);

    /* No children: ready at once. */
    future_join_all_init(&j, slots, 5, 1);
    CHECK_EQ(future_poll(&j.fut, &cx), CORO_READY);
    CHECK_EQ(future_err(&j.fut), 0);

    /* Dropping the join drops its unfinished children, none finished. */
    future_join_all_init(&j, slots, 5, 0);
    for (i = 0; i < 3; i++) {
        gate_init(&g[i], i == 1, 0);
        CHECK_EQ(future_join_all_add(&j, &g[i].fut), 0);
    }
    CHECK_EQ(future_poll(&j.fut, &cx), CORO_PENDING);
    future_drop(&j.fut);
    CHECK_EQ(g[0].drops, 1);
    CHECK_EQ(g[1].drops, 0);
    CHECK_EQ(g[2].drops, 1);
    CHECK_EQ(future_err(&j.fut), FUTURE_ECANCELED);
    CHECK(g[0].waker == 0 && g[2].waker == 0);
}

/* A child that wakes itself while being polled (future_yield) is polled
 * again at the next poll of the join, not in a loop inside this one. */
static void test_join_all_self_waking_child(void) {
    counter_waker_t cw;
    future_cx_t cx;
    future_join_all_t j;
    future_join_slot_t slots[2];
    future_yield_t y;
    gate_t g;
    cw_init(&cw);
    cx = cx_of(&cw);
    future_join_all_init(&j, slots, 2, 0);
    future_yield_init(&y);
    gate_init(&g, 0, 0);
    CHECK_EQ(future_join_all_add(&j, &y.fut), 0);
    CHECK_EQ(future_join_all_add(&j, &g.fut), 0);
    CHECK_EQ(future_poll(&j.fut, &cx), CORO_PENDING);
    CHECK(cw.wakes >= 1); /* the parent must be polled again */
    CHECK(!future_done(&y.fut));
    CHECK_EQ(future_poll(&j.fut, &cx), CORO_PENDING);
    CHECK(future_done(&y.fut));
    CHECK_EQ(g.polls, 1);
    gate_open(&g, 0);
    CHECK_EQ(future_poll(&j.fut, &cx), CORO_READY);
}

/* ---- drop at every suspension point ------------------------------------ */

/* async fn mid(): JOIN(g, h) */
typedef struct {
    future_t fut;
    gate_t g, h;
    int drops, drop_seq;
} mid_t;

static coro_poll_t mid_poll(future_t *self, future_cx_t *cx) {
    mid_t *f = (mid_t *)(void *)self;
    ASYNC_BEGIN(f);
    JOIN(cx, &f->g, &f->h);
    ASYNC_END();
}

static void mid_drop(future_t *self) {
    mid_t *f = (mid_t *)(void *)self;
    f->drops++;
    f->drop_seq = ++seq_;
}

/* async fn chain(): AWAIT a; JOIN b, c; SELECT d, e; AWAIT mid; YIELD_NOW */
typedef struct {
    future_t fut;
    gate_t a, b, c, d, e;
    mid_t mid;
    int which, stage, drops, drop_seq;
    int line_mid; /* the line of AWAIT(cx, &f->mid) */
} chain_t;

static coro_poll_t chain_poll(future_t *self, future_cx_t *cx) {
    chain_t *f = (chain_t *)(void *)self;
    ASYNC_BEGIN(f);
    f->stage = 1;
    AWAIT(cx, &f->a);
    f->stage = 2;
    JOIN(cx, &f->b, &f->c);
    f->stage = 3;
    SELECT(cx, f->which, &f->d, &f->e);
    f->stage = 4;
    f->line_mid = __LINE__ + 1;
    AWAIT(cx, &f->mid);
    f->stage = 5;
    YIELD_NOW(cx);
    f->stage = 6;
    ASYNC_END();
}

static void chain_drop(future_t *self) {
    chain_t *f = (chain_t *)(void *)self;
    f->drops++;
    f->drop_seq = ++seq_;
}

static void chain_init(chain_t *f) {
    memset(f, 0, sizeof *f);
    future_init(&f->fut, chain_poll, chain_drop);
    gate_init(&f->a, 0, 0);
    gate_init(&f->b, 0, 0);
    gate_init(&f->c, 0, 0);
    gate_init(&f->d, 0, 0);
    gate_init(&f->e, 0, 0);
    future_init(&f->mid.fut, mid_poll, mid_drop);
    gate_init(&f->mid.g, 0, 0);
    gate_init(&f->mid.h, 0, 0);
}

/* Run the chain until it is suspended at stage `stage`. */
static coro_poll_t chain_to(chain_t *f, future_cx_t *cx, int stage) {
    coro_poll_t r = future_poll(&f->fut, cx);
    if (stage >= 2) {
        gate_open(&f->a, 0);
        r = future_poll(&f->fut, cx);
    }
    if (stage >= 3) {
        gate_open(&f->b, 0);
        gate_open(&f->c, 0);
        r = future_poll(&f->fut, cx);
    }
    if (stage >= 4) {
        gate_open(&f->d, 0);
        r = future_poll(&f->fut, cx);
    }
    if (stage >= 5) {
        gate_open(&f->mid.g, 0);
        gate_open(&f->mid.h, 0);
        r = future_poll(&f->fut, cx);
    }
    return r;
}

static gate_t *chain_gate(chain_t *f, int i) {
    gate_t *all[7];
    all[0] = &f->a;
    all[1] = &f->b;
    all[2] = &f->c;
    all[3] = &f->d;
    all[4] = &f->e;
    all[5] = &f->mid.g;
    all[6] = &f->mid.h;
    return all[i];
}

static void test_drop_at_each_suspension_point(void) {
    /* Which gates the drop must reach, per stage (a b c d e g h). The loser
     * e of the SELECT was dropped by the SELECT itself from stage 4 on. */
    static const int dropped_by_drop[6][7] = {
        {0}, {1, 0, 0, 0, 0, 0, 0}, {0, 1, 1, 0, 0, 0, 0}, {0, 0, 0, 1, 1, 0, 0},
        {0, 0, 0, 0, 0, 1, 1}, {0, 0, 0, 0, 0, 0, 0}};
    counter_waker_t cw;
    future_cx_t cx;
    chain_t f;
    int stage, i, polls[7], before[7];
    cw_init(&cw);
    cx = cx_of(&cw);
    for (stage = 1; stage <= 5; stage++) {
        chain_init(&f);
        CHECK_EQ(chain_to(&f, &cx, stage), CORO_PENDING);
        CHECK_EQ(f.stage, stage);
        for (i = 0; i < 7; i++) before[i] = chain_gate(&f, i)->drops;
        seq_ = 0;
        future_drop(&f.fut);
        CHECK_EQ(f.drops, 1);
        CHECK(future_done(&f.fut));
        CHECK_EQ(future_err(&f.fut), FUTURE_ECANCELED);
        CHECK(f.fut.child == 0);
        for (i = 0; i < 7; i++) {
            gate_t *g = chain_gate(&f, i);
            if (g->drops - before[i] != dropped_by_drop[stage][i])
                printf("    stage %d gate %d: dropped %d times\n", stage, i,
                       g->drops - before[i]);
            CHECK_EQ(g->drops - before[i], dropped_by_drop[stage][i]);
            if (dropped_by_drop[stage][i]) {
                CHECK(g->drop_seq < f.drop_seq); /* children first */
                CHECK_EQ(future_err(&g->fut), FUTURE_ECANCELED);
            }
            CHECK(g->waker == 0 || !dropped_by_drop[stage][i]);
            CHECK(g->fut.sibling == 0);
        }
        /* The awaited async child is dropped, its own children before it. */
        CHECK_EQ(f.mid.drops, stage == 4);
        if (stage == 4) {
            CHECK(f.mid.g.drop_seq < f.mid.drop_seq);
            CHECK(f.mid.h.drop_seq < f.mid.drop_seq);
            CHECK(f.mid.drop_seq < f.drop_seq);
            CHECK(f.mid.fut.child == 0);
        }
        /* Never started children were not touched. */
        if (stage < 4) CHECK_EQ(f.mid.g.polls, 0);
        /* Nothing is polled afterwards, whatever wakes come. */
        for (i = 0; i < 7; i++) polls[i] = chain_gate(&f, i)->polls;
        for (i = 0; i < 7; i++) gate_open(chain_gate(&f, i), 0);
        CHECK_MISUSE(future_poll(&f.fut, &cx), "polled after it finished");
        for (i = 0; i < 7; i++) CHECK_EQ(chain_gate(&f, i)->polls, polls[i]);
        CHECK_EQ(f.stage, stage);
        /* Dropping again does nothing. */
        future_drop(&f.fut);
        CHECK_EQ(f.drops, 1);
        CHECK_EQ(f.mid.drops, stage == 4);
        CHECK_EQ(future_err(&f.fut), FUTURE_ECANCELED);
    }
    /* Run to the end: then a drop runs nothing. */
    chain_init(&f);
    CHECK_EQ(chain_to(&f, &cx, 5), CORO_PENDING);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
    CHECK_EQ(f.stage, 6);
    future_drop(&f.fut);
    CHECK_EQ(f.drops, 0);
    CHECK_EQ(future_err(&f.fut), 0);
    for (i = 0; i < 7; i++) CHECK_EQ(chain_gate(&f, i)->drops, i == 4);
}

/* Dropping a future never polled runs its drop function (it may own
 * registrations made at init), and it counts as finished. */
static void test_drop_before_first_poll(void) {
    counter_waker_t cw;
    future_cx_t cx;
    chain_t f;
    cw_init(&cw);
    cx = cx_of(&cw);
    chain_init(&f);
    future_drop(&f.fut);
    CHECK_EQ(f.drops, 1);
    CHECK_EQ(f.a.drops, 0); /* it had no child yet */
    CHECK_EQ(future_err(&f.fut), FUTURE_ECANCELED);
    CHECK_MISUSE(future_poll(&f.fut, &cx), "polled after it finished");
    CHECK_EQ(f.stage, 0);
    (future_drop)(0); /* harmless */
}

/* ---- polling a finished future ------------------------------------------ */

static void test_poll_after_finish_is_misuse_and_keeps_rc(void) {
    counter_waker_t cw;
    future_cx_t cx;
    gate_t g;
    trier_t f;
    coro_poll_t r = CORO_PENDING;
    cw_init(&cw);
    cx = cx_of(&cw);
    gate_init(&g, 1, -ETIMEDOUT);
    CHECK_EQ(future_poll(&g.fut, &cx), CORO_READY);
    g.rc = 0; /* a second run would finish with 0 */
    CHECK_MISUSE(r = future_poll(&g.fut, &cx), "polled after it finished");
    CHECK_EQ(r, CORO_READY);
    CHECK_EQ(future_err(&g.fut), -ETIMEDOUT);
    CHECK_EQ(g.polls, 1); /* its poll function did not run */
    CHECK(future_done(&g.fut));
    /* The same for an async function finished by AWAIT_TRY. */
    memset(&f, 0, sizeof f);
    future_init(&f.fut, trier_poll, 0);
    gate_init(&f.a, 1, -EIO);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
    r = CORO_PENDING;
    CHECK_MISUSE(r = future_poll(&f.fut, &cx), "polled after it finished");
    CHECK_EQ(r, CORO_READY);
    CHECK_EQ(future_err(&f.fut), -EIO);
    CHECK_EQ(f.a.polls, 1);
    /* AWAIT of a future that already finished (awaited twice). */
    {
        awaiter_t w;
        memset(&w, 0, sizeof w);
        future_init(&w.fut, awaiter_poll, 0);
        gate_init(&w.g, 1, 0);
        gate_init(&w.h, 1, 0);
        CHECK_EQ(future_poll(&w.h.fut, &cx), CORO_READY); /* h used up */
        CHECK_MISUSE(r = future_poll(&w.fut, &cx), "polled after it finished");
        CHECK_EQ(r, CORO_READY); /* the AWAIT went on: h counts as ready */
        CHECK_EQ(w.h.polls, 1);
    }
}

/* ---- the async backtrace ----------------------------------------------- */

typedef struct {
    int n;
    int depth[16];
    const future_t *f[16];
    const char *at[16];
} trace_t;

static void trace_emit(void *ctx, int depth, const future_t *f) {
    trace_t *t = (trace_t *)ctx;
    if (t->n < 16) {
        t->depth[t->n] = depth;
        t->f[t->n] = f;
        t->at[t->n] = coro_at(&f->co);
    }
    t->n++;
}

static int at_line(const char *at) {
    const char *colon = at ? strrchr(at, ':') : 0;
    return colon ? atoi(colon + 1) : -1;
}

static void test_future_trace_visits_the_chain(void) {
    counter_waker_t cw;
    future_cx_t cx;
    chain_t f;
    trace_t t;
    cw_init(&cw);
    cx = cx_of(&cw);
    /* Suspended in the JOIN of b and c: chain, then b and c one level down. */
    chain_init(&f);
    CHECK_EQ(chain_to(&f, &cx, 2), CORO_PENDING);
    memset(&t, 0, sizeof t);
    future_trace(&f.fut, 0, trace_emit, &t);
    CHECK_EQ(t.n, 3);
    CHECK(t.f[0] == &f.fut && t.depth[0] == 0);
    CHECK(t.f[1] == &f.b.fut && t.depth[1] == 1);
    CHECK(t.f[2] == &f.c.fut && t.depth[2] == 1);
#ifdef CORO_NO_TRACE
    CHECK(t.at[0] == 0);
#else
    CHECK(t.at[0] && strstr(t.at[0], "test_future.c"));
#endif
    future_drop(&f.fut);

    /* Suspended in AWAIT(mid), mid in JOIN(g, h): three levels. */
    chain_init(&f);
    CHECK_EQ(chain_to(&f, &cx, 4), CORO_PENDING);
    memset(&t, 0, sizeof t);
    future_trace(&f.fut, 0, trace_emit, &t);
    CHECK_EQ(t.n, 4);
    CHECK(t.f[0] == &f.fut && t.depth[0] == 0);
    CHECK(t.f[1] == &f.mid.fut && t.depth[1] == 1);
    CHECK(t.f[2] == &f.mid.g.fut && t.depth[2] == 2);
    CHECK(t.f[3] == &f.mid.h.fut && t.depth[3] == 2);
#ifdef CORO_NO_TRACE
    CHECK(t.at[0] == 0 && t.at[1] == 0 && t.at[2] == 0); /* nothing recorded */
    (void)at_line;
#else
    CHECK(t.at[0] && strstr(t.at[0], "test_future.c"));
    CHECK(t.at[1] && strstr(t.at[1], "test_future.c"));
    CHECK_EQ(at_line(t.at[0]), f.line_mid); /* where chain is suspended */
#endif
    CHECK(t.at[2] == 0); /* a hand-written leaf records no location */
    /* A depth offset is carried through. */
    memset(&t, 0, sizeof t);
    future_trace(&f.fut, 3, trace_emit, &t);
    CHECK_EQ(t.depth[0], 3);
    CHECK_EQ(t.depth[3], 5);
    /* After the drop, the chain is gone: only the root is left. */
    future_drop(&f.fut);
    memset(&t, 0, sizeof t);
    future_trace(&f.fut, 0, trace_emit, &t);
    CHECK_EQ(t.n, 1);
}

/* ---- the cooperative budget --------------------------------------------- */

static void test_coop_budget(void) {
    counter_waker_t cw;
    future_cx_t cx;
    int budget = 2;
    cw_init(&cw);
    cx = cx_of(&cw);
    cx.budget = &budget;
    CHECK_EQ(future_coop_spend(&cx), 1);
    CHECK_EQ(cw.wakes, 0);
    CHECK_EQ(future_coop_spend(&cx), 1);
    CHECK_EQ(cw.wakes, 0);
    CHECK_EQ(budget, 0);
    CHECK_EQ(future_coop_spend(&cx), 0);
    CHECK_EQ(cw.wakes, 1); /* woken so that it runs again later */
    CHECK_EQ(future_coop_spend(&cx), 0);
    CHECK_EQ(cw.wakes, 2);
    CHECK_EQ(budget, 0);
    /* No budget: unlimited, and no wakes. */
    cx.budget = 0;
    for (budget = 0; budget < 1000; budget++) CHECK_EQ(future_coop_spend(&cx), 1);
    CHECK_EQ(cw.wakes, 2);
}

/* ---- coro.h's footprint knobs, seen through futures ---------------------- */

/* A leaf that says what it is while it waits (future_set_kind). */
typedef struct {
    future_t fut;
    int open;
} kind_leaf_t;

static void kind_leaf_describe(const future_t *f, future_fmt_t *out) {
    (void)f;
    future_fmt_str(out, "shut");
}

static coro_poll_t kind_leaf_poll(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "door", kind_leaf_describe};
    (void)cx;
    if (((kind_leaf_t *)(void *)self)->open) return future_finish(self, 0);
    future_set_kind(self, &kind);
    return CORO_PENDING;
}

typedef struct {
    future_t fut;
    kind_leaf_t leaf;
    future_ready_t r;
    int line;
} kind_root_t;

static coro_poll_t kind_root_poll(future_t *self, future_cx_t *cx) {
    kind_root_t *f = (kind_root_t *)(void *)self;
    ASYNC_BEGIN(f);
    future_init(&f->leaf.fut, kind_leaf_poll, 0);
    f->line = __LINE__ + 1;
    AWAIT(cx, &f->leaf);
    future_ready_init(&f->r, -4095); /* the largest errno value */
    AWAIT_TRY(cx, &f->r);
    ASYNC_END();
}

static const char *describe_(const future_t *f, char *buf, size_t cap) {
    future_fmt_t o = {buf, cap, 0, 0, 0};
    buf[0] = 0;
    future_describe(f, &o);
    return buf;
}

/* What a suspended chain says about itself: its "file:line" (the base
 * name) and the leaf's kind; under CORO_NO_TRACE neither exists. And an
 * error as wide as errno's goes through a narrowed CORO_RC_T. */
static void test_describe_and_errors_under_the_knobs(void) {
    counter_waker_t cw;
    future_cx_t cx;
    kind_root_t f;
    char buf[128], want[64];
    cw_init(&cw);
    cx = cx_of(&cw);
    memset(&f, 0, sizeof f);
    future_init(&f.fut, kind_root_poll, 0);
    CHECK(strcmp(describe_(&f.fut, buf, sizeof buf), "(not started)") == 0);
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_PENDING);
#ifdef CORO_NO_TRACE
    CHECK(strcmp(describe_(&f.fut, buf, sizeof buf), "(running)") == 0);
    /* A hand-written leaf keeps no resume state: it has not "started". */
    CHECK(strcmp(describe_(&f.leaf.fut, buf, sizeof buf), "(not started)") == 0);
    CHECK(coro_at(&f.fut.co) == 0 && coro_at(&f.leaf.fut.co) == 0);
    (void)want;
#else
#if defined(__FILE_NAME__) && !defined(CORO_FULL_PATH)
    snprintf(want, sizeof want, "test_future.c:%d", f.line);
#else
    snprintf(want, sizeof want, "%s:%d", __FILE__, f.line);
#endif
    CHECK(strcmp(describe_(&f.fut, buf, sizeof buf), want) == 0);
    CHECK(strcmp(describe_(&f.leaf.fut, buf, sizeof buf), "door shut") == 0);
#endif
    f.leaf.open = 1;
    CHECK_EQ(future_poll(&f.fut, &cx), CORO_READY);
    CHECK_EQ(future_err(&f.fut), -4095);
#ifdef CORO_NO_TRACE
    CHECK(strcmp(describe_(&f.fut, buf, sizeof buf), "(finished)") == 0);
#endif
    /* A result out of a narrowed CORO_RC_T's range is reported and kept
     * at the range's end, its sign intact; an int one is stored as it is. */
    future_ready_t r;
    if (sizeof(coro_rc_t) < sizeof(int)) {
        CHECK_MISUSE(future_ready_init(&r, 70000), "CORO_RC_T");
        CHECK_EQ(future_poll(&r, &cx), CORO_READY);
        CHECK_EQ(future_err(&r), (int)((1u << (sizeof(coro_rc_t) * 8 - 1)) - 1u));
    } else {
        future_ready_init(&r, 70000);
        CHECK_EQ(future_poll(&r, &cx), CORO_READY);
        CHECK_EQ(future_err(&r), 70000);
    }
}

/* SELECT_IF's "left out" branch is a finished header made on the spot:
 * it must read as finished under every CORO_PC_T. */
static void test_select_off_branch_is_finished(void) {
    CHECK(future_select_is_off_(FUTURE_SELECT_OFF_));
    CHECK(coro_done(&FUTURE_SELECT_OFF_->co));
    CHECK(coro_at(&FUTURE_SELECT_OFF_->co) == 0);
    printf("    sizeof(coro_t) = %u, sizeof(future_t) = %u\n", (unsigned)sizeof(coro_t),
           (unsigned)sizeof(future_t));
}

int main(void) {
#if defined(CORO_USE_LABELS) && CORO_USE_LABELS
    printf("coro backend: labels-as-values\n");
#else
    printf("coro backend: switch\n");
#endif
    RUN(test_init_is_lazy);
    RUN(test_await_ready_and_pending_child);
    RUN(test_await_try_propagates_the_error);
    RUN(test_yield_now_wakes_exactly_once);
    RUN(test_ready_pending_and_yield_futures);
    RUN(test_join_waits_for_all_in_any_order);
    RUN(test_try_join_first_error_drops_the_rest);
    RUN(test_select_winner_and_dropped_losers);
    RUN(test_select_is_fair_and_biased_is_not);
    RUN(test_select_biased_picks_first_ready_in_order);
    RUN(test_select_fair_rotation_while_pending);
    RUN(test_join_all_repolls_only_woken_children);
    RUN(test_join_all_try_mode_and_errors);
    RUN(test_join_all_self_waking_child);
    RUN(test_drop_at_each_suspension_point);
    RUN(test_drop_before_first_poll);
    RUN(test_poll_after_finish_is_misuse_and_keeps_rc);
    RUN(test_future_trace_visits_the_chain);
    RUN(test_coop_budget);
    RUN(test_describe_and_errors_under_the_knobs);
    RUN(test_select_off_branch_is_finished);
    return check_summary();
}
