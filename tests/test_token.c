/* Tests of sync.h's cancellation tokens: sticky cancel, the tree (parent
 * cancels children and grandchildren, never the other way), waits raced in
 * a SELECT on the paused clock, many waiters woken FIFO, waits dropped at
 * their suspension point, tokens owned by frames (dropped mid-wait,
 * finished, a SELECT lost: nothing dangles, ASan would see it), drop with
 * live children, and a deep chain cancelled on a small stack. */
#include "check.h"
#include "../exec.h"
#include "../sync.h"

#include <pthread.h>

static exec_t ex;

static void setup(void) {
    if (exec_init(&ex)) abort();
    ex.log = 0;
    exec_clock_pause(&ex);
}

#include "hand_cx.h"

/* What f is doing, in words (as exec_dump shows it). */
static const char *describe(const void *f) {
    static char buf[160];
    future_fmt_t o = {0, 0, 0, 0, 0};
    o.buf = buf;
    o.cap = sizeof buf;
    buf[0] = 0;
    future_describe((const future_t *)f, &o);
    return buf;
}

/* Does the token have c among its children? */
static int has_child(const sync_token_t *t, const sync_token_t *c) {
    const future_link_t *l;
    for (l = t->children.head; l; l = l->next)
        if (l == &c->sib) return 1;
    return 0;
}

/* ---- test futures ------------------------------------------------------- */

/* Waits for a token once; records the order in which waiters finish. */
static int order[256], norder;

typedef struct {
    future_t fut;
    sync_token_t *tok;
    int idx, done, err;
    sync_cancelled_t w;
} tokwait_t;

static coro_poll_t tokwait_poll(future_t *self, future_cx_t *cx) {
    tokwait_t *f = (tokwait_t *)self;
    ASYNC_BEGIN(f);
    sync_cancelled_init(&f->w, f->tok);
    AWAIT(cx, &f->w);
    f->err = future_err(&f->w);
    f->done = 1;
    if (norder < 256) order[norder++] = f->idx;
    ASYNC_END();
}

static void tokwait_init(tokwait_t *f, sync_token_t *tok, int idx) {
    future_init(&f->fut, tokwait_poll, 0);
    f->tok = tok;
    f->idx = idx;
    f->done = f->err = 0;
}

/* Yields n times: run as the main future, it lets every task settle. */
typedef struct {
    future_t fut;
    int n, i;
} yielder_t;

static coro_poll_t yielder_poll(future_t *self, future_cx_t *cx) {
    yielder_t *f = (yielder_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < f->n; f->i++) YIELD_NOW(cx);
    ASYNC_END();
}

static void settle(void) {
    yielder_t y;
    int rc;
    future_init(&y.fut, yielder_poll, 0);
    y.n = 16;
    rc = exec_block_on(&ex, &y.fut);
    if (rc != 0) fprintf(stderr, "settle: %d\n", rc), exec_dump(&ex, stderr), abort();
}

/* Sleeps ms, then cancels tok. */
typedef struct {
    future_t fut;
    sync_token_t *tok;
    uint64_t ms;
    timer_sleep_t nap;
} canceller_t;

static coro_poll_t canceller_poll(future_t *self, future_cx_t *cx) {
    canceller_t *f = (canceller_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    sync_token_cancel(f->tok);
    ASYNC_END();
}

static void canceller_init(canceller_t *f, sync_token_t *tok, uint64_t ms) {
    future_init(&f->fut, canceller_poll, 0);
    f->tok = tok;
    f->ms = ms;
}

/* Takes a child token of parent, owned by its frame (SYNC_TOKEN_CHILD_INIT),
 * then either waits for it to be cancelled (ms == 0) or sleeps ms and
 * finishes. */
typedef struct {
    future_t fut;
    sync_token_t *parent;
    uint64_t ms;
    int started, done, err;
    sync_token_t tok;
    sync_cancelled_t w;
    timer_sleep_t nap;
} owner_t;

static coro_poll_t owner_poll(future_t *self, future_cx_t *cx) {
    owner_t *f = (owner_t *)self;
    ASYNC_BEGIN(f);
    SYNC_TOKEN_CHILD_INIT(&f->tok, f->parent);
    f->started = 1;
    if (f->ms) {
        timer_sleep_init(&f->nap, f->ms * TIMER_MS);
        AWAIT(cx, &f->nap);
    } else {
        sync_cancelled_init(&f->w, &f->tok);
        AWAIT(cx, &f->w);
        f->err = future_err(&f->w);
    }
    f->done = 1;
    ASYNC_END();
}

static void owner_init(owner_t *f, sync_token_t *parent, uint64_t ms) {
    future_init(&f->fut, owner_poll, 0);
    f->parent = parent;
    f->ms = ms;
    f->started = f->done = f->err = 0;
}

/* ---- sticky, budget, is_cancelled --------------------------------------- */

static void test_wait_after_cancel_is_ready_at_once(void) {
    sync_token_t t;
    tokwait_t a, b;
    exec_task_t ta, tb;
    setup();
    sync_token_init(&t);
    CHECK(!sync_token_is_cancelled(&t));
    tokwait_init(&a, &t, 0);
    exec_task_init(&ta);
    exec_spawn(&ta, &ex, &a);
    settle();
    CHECK(!a.done);
    CHECK(t.q.head == &a.w.w.link); /* waiting */
    sync_token_cancel(&t);
    CHECK(sync_token_is_cancelled(&t));
    CHECK(t.q.head == 0);
    settle();
    CHECK(a.done);
    CHECK_EQ(a.err, 0);
    /* A wait that starts after the cancel: ready at once (not a notify). */
    tokwait_init(&b, &t, 1);
    exec_task_init(&tb);
    exec_spawn(&tb, &ex, &b);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(b.done);
    CHECK_EQ(b.err, 0);
    sync_token_cancel(&t); /* again: nothing happens */
    CHECK(sync_token_is_cancelled(&t));
    exec_destroy(&ex);
}

static void test_ready_wait_spends_the_budget(void) {
    sync_token_t t;
    sync_cancelled_t w;
    sync_token_init(&t);
    sync_token_cancel(&t);
    sync_cancelled_init(&w, &t);
    wakes = 0;
    CHECK_EQ(POLL(&w, 0), CORO_PENDING); /* budget spent: not now */
    CHECK_EQ(wakes, 1);                  /* ... and the task comes back */
    CHECK(t.q.head == 0);                /* without queueing anything */
    CHECK_EQ(POLL(&w, 1), CORO_READY);
    CHECK_EQ(budget, 0);
    CHECK_EQ(future_err(&w), 0);
    /* Woken by the cancel, polled with the budget spent: keeps its answer. */
    sync_token_init(&t);
    sync_cancelled_init(&w, &t);
    CHECK_EQ(POLL(&w, -1), CORO_PENDING);
    sync_token_cancel(&t);
    CHECK_EQ(POLL(&w, 0), CORO_PENDING);
    CHECK_EQ(POLL(&w, 1), CORO_READY);
    CHECK_EQ(future_err(&w), 0);
}

/* ---- the tree ------------------------------------------------------------ */

static void test_parent_cancels_descendants_never_ancestors(void) {
    /* root -> a -> a1 -> a1x
     *           -> a2
     *      -> b -> b1 */
    sync_token_t root, a, a1, a1x, a2, b, b1;
    sync_token_t *all[7] = {&root, &a, &a1, &a1x, &a2, &b, &b1};
    tokwait_t w[7];
    exec_task_t t[7];
    int i;
    setup();
    sync_token_init(&root);
    sync_token_child_init(&a, &root);
    sync_token_child_init(&a1, &a);
    sync_token_child_init(&a1x, &a1);
    sync_token_child_init(&a2, &a);
    sync_token_child_init(&b, &root);
    sync_token_child_init(&b1, &b);
    for (i = 0; i < 7; i++) {
        tokwait_init(&w[i], all[i], i);
        exec_task_init(&t[i]);
        exec_spawn(&t[i], &ex, &w[i]);
    }
    settle();
    /* A leaf: just itself. */
    sync_token_cancel(&a1x);
    settle();
    CHECK(w[3].done);
    CHECK(!w[0].done && !w[1].done && !w[2].done && !w[4].done && !w[5].done && !w[6].done);
    CHECK(!sync_token_is_cancelled(&a1));
    /* A middle: itself and everything below it; not its parent, not b. */
    sync_token_cancel(&a);
    settle();
    CHECK(sync_token_is_cancelled(&a) && sync_token_is_cancelled(&a1) &&
          sync_token_is_cancelled(&a2));
    CHECK(w[1].done && w[2].done && w[4].done);
    CHECK(!sync_token_is_cancelled(&root) && !sync_token_is_cancelled(&b) &&
          !sync_token_is_cancelled(&b1));
    CHECK(!w[0].done && !w[5].done && !w[6].done);
    /* The root: the rest. */
    sync_token_cancel(&root);
    CHECK_EQ(exec_run(&ex), 0);
    for (i = 0; i < 7; i++) {
        CHECK(sync_token_is_cancelled(all[i]));
        CHECK(w[i].done);
        CHECK_EQ(w[i].err, 0);
    }
    exec_destroy(&ex);
}

static void test_child_of_a_cancelled_parent_is_cancelled(void) {
    sync_token_t root, c, gc;
    sync_cancelled_t w;
    sync_token_init(&root);
    sync_token_cancel(&root);
    sync_token_child_init(&c, &root);
    CHECK(sync_token_is_cancelled(&c));
    sync_token_child_init(&gc, &c);
    CHECK(sync_token_is_cancelled(&gc));
    sync_cancelled_init(&w, &gc);
    CHECK_EQ(POLL(&w, -1), CORO_READY);
    CHECK_EQ(future_err(&w), 0);
    /* A child of a live parent starts live. */
    sync_token_init(&root);
    sync_token_child_init(&c, &root);
    CHECK(!sync_token_is_cancelled(&c));
    CHECK(c.parent == &root && has_child(&root, &c));
    sync_token_drop(&c);
    CHECK(root.children.head == 0);
}

static void test_child_init_without_a_parent_is_misuse(void) {
    sync_token_t c;
    CHECK_MISUSE(sync_token_child_init(&c, 0), "parent");
    CHECK(c.parent == 0 && !sync_token_is_cancelled(&c)); /* a root, usable */
    CHECK_MISUSE(sync_token_child_init(&c, &c), "parent");
    CHECK(c.parent == 0);
}

/* A cancel skips subtrees already cancelled, and reaches the live tokens
 * beside and below them. */
static void test_cancel_around_cancelled_subtrees(void) {
    sync_token_t root, k[4], g[4];
    int i;
    sync_token_init(&root);
    for (i = 0; i < 4; i++) {
        sync_token_child_init(&k[i], &root);
        sync_token_child_init(&g[i], &k[i]);
    }
    sync_token_cancel(&k[0]);
    sync_token_cancel(&k[2]);
    sync_token_cancel(&g[3]);
    CHECK(!sync_token_is_cancelled(&k[1]) && !sync_token_is_cancelled(&g[1]));
    CHECK(!sync_token_is_cancelled(&k[3]));
    sync_token_cancel(&root);
    for (i = 0; i < 4; i++) {
        CHECK(sync_token_is_cancelled(&k[i]));
        CHECK(sync_token_is_cancelled(&g[i]));
    }
}

/* ---- waiting ------------------------------------------------------------- */

/* Races a one-hour sleep against the token (paused clock). */
typedef struct {
    future_t fut;
    sync_token_t *tok;
    int which;
    uint64_t at;
    timer_sleep_t nap;
    sync_cancelled_t w;
} sel_t;

static coro_poll_t sel_poll(future_t *self, future_cx_t *cx) {
    sel_t *f = (sel_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, 3600 * 1000 * TIMER_MS);
    sync_cancelled_init(&f->w, f->tok);
    SELECT(cx, f->which, &f->nap, &f->w);
    f->at = exec_now(exec_of(cx));
    ASYNC_END();
}

static void test_select_sleep_or_token(void) {
    sync_token_t t;
    sel_t s;
    canceller_t c;
    exec_task_t ts, tc;
    uint64_t t0;
    setup();
    t0 = exec_now(&ex);
    sync_token_init(&t);
    future_init(&s.fut, sel_poll, 0);
    s.tok = &t;
    s.which = -1;
    canceller_init(&c, &t, 10);
    exec_task_init(&ts);
    exec_task_init(&tc);
    exec_spawn(&ts, &ex, &s);
    exec_spawn(&tc, &ex, &c);
    CHECK_EQ(exec_run(&ex), 0); /* returns: the hour-long sleep was dropped */
    CHECK_EQ(s.which, 1);
    CHECK(s.at - t0 >= 10 * TIMER_MS);
    CHECK(s.at - t0 < 1000 * TIMER_MS);
    CHECK(t.q.head == 0);
    /* Already cancelled: the token wins at once, no time passes. */
    future_init(&s.fut, sel_poll, 0);
    s.which = -1;
    t0 = exec_now(&ex);
    exec_spawn(&ts, &ex, &s);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(s.which, 1);
    CHECK_EQ(s.at, t0);
    exec_destroy(&ex);
}

enum { MANY = 200 };

static void test_many_waiters_all_woken_fifo(void) {
    static tokwait_t w[MANY];
    static exec_task_t t[MANY];
    sync_token_t root, child;
    int i;
    setup();
    norder = 0;
    sync_token_init(&root);
    sync_token_child_init(&child, &root);
    for (i = 0; i < MANY; i++) {
        tokwait_init(&w[i], &child, i);
        exec_task_init(&t[i]);
        exec_spawn(&t[i], &ex, &w[i]);
    }
    settle();
    CHECK_EQ(sync_waitq_len_(&child.q), MANY);
    CHECK_EQ(norder, 0);
    sync_token_cancel(&root);
    CHECK(child.q.head == 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(norder, MANY);
    for (i = 0; i < MANY; i++) {
        CHECK(w[i].done);
        CHECK_EQ(order[i], i); /* woken in the order they came */
    }
    sync_token_drop(&child);
    exec_destroy(&ex);
}

static void test_drop_waiting_wait_unlinks_it(void) {
    sync_token_t t;
    sync_cancelled_t a, b, c;
    sync_token_init(&t);
    sync_cancelled_init(&a, &t);
    sync_cancelled_init(&b, &t);
    sync_cancelled_init(&c, &t);
    CHECK_EQ(POLL(&a, -1), CORO_PENDING);
    CHECK_EQ(POLL(&b, -1), CORO_PENDING);
    CHECK_EQ(POLL(&c, -1), CORO_PENDING);
    CHECK_EQ(POLL(&b, -1), CORO_PENDING); /* polled again: still queued once */
    CHECK_EQ(sync_waitq_len_(&t.q), 3);
    future_drop(&b); /* the middle one */
    CHECK_EQ(future_err(&b), FUTURE_ECANCELED);
    CHECK_EQ(sync_waitq_len_(&t.q), 2);
    CHECK(t.q.head == &a.w.link && t.q.tail == &c.w.link);
    future_drop(&a);
    future_drop(&c);
    CHECK(t.q.head == 0 && t.q.tail == 0); /* nothing left linked */
    wakes = 0;
    sync_token_cancel(&t);
    CHECK_EQ(wakes, 0);
    /* Dropped after the cancel woke it, before its poll: nothing to undo. */
    sync_token_init(&t);
    sync_cancelled_init(&a, &t);
    CHECK_EQ(POLL(&a, -1), CORO_PENDING);
    sync_token_cancel(&t);
    future_drop(&a);
    CHECK(t.q.head == 0);
}

/* The wait loses a SELECT inside a task: the losing wait is unlinked. */
typedef struct {
    future_t fut;
    sync_token_t *tok;
    int which;
    timer_sleep_t nap;
    sync_cancelled_t w;
} lose_t;

static coro_poll_t lose_poll(future_t *self, future_cx_t *cx) {
    lose_t *f = (lose_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, 5 * TIMER_MS);
    sync_cancelled_init(&f->w, f->tok);
    SELECT(cx, f->which, &f->nap, &f->w);
    ASYNC_END();
}

static void test_wait_losing_a_select_is_unlinked(void) {
    sync_token_t t;
    lose_t l;
    exec_task_t tl;
    setup();
    sync_token_init(&t);
    future_init(&l.fut, lose_poll, 0);
    l.tok = &t;
    l.which = -1;
    exec_task_init(&tl);
    exec_spawn(&tl, &ex, &l);
    settle();
    CHECK(t.q.head == &l.w.w.link);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(l.which, 0);
    CHECK(t.q.head == 0);
    CHECK_EQ(future_err(&l.w), FUTURE_ECANCELED);
    exec_destroy(&ex);
}

/* ---- tokens owned by frames ---------------------------------------------- */

static void test_owned_child_token_dropped_mid_wait(void) {
    sync_token_t parent;
    owner_t *o = (owner_t *)malloc(sizeof *o);
    exec_task_t t;
    setup();
    CHECK(o != 0);
    sync_token_init(&parent);
    owner_init(o, &parent, 0);
    exec_task_init(&t);
    exec_spawn(&t, &ex, o);
    settle();
    CHECK(o->started && !o->done);
    CHECK(has_child(&parent, &o->tok));
    CHECK(o->tok.q.head == &o->w.w.link);
    exec_abort(&t); /* the frame is dropped mid-wait */
    CHECK(!has_child(&parent, &o->tok));
    CHECK(parent.children.head == 0);
    CHECK(o->tok.q.head == 0);
    CHECK(o->tok.own.pprev == 0);
    free(o);
    sync_token_cancel(&parent); /* a dangling child would be read here */
    CHECK_EQ(exec_run(&ex), 0);
    exec_destroy(&ex);
}

static void test_owned_child_token_frame_finishes(void) {
    sync_token_t parent;
    owner_t *o = (owner_t *)malloc(sizeof *o);
    exec_task_t t;
    setup();
    CHECK(o != 0);
    sync_token_init(&parent);
    owner_init(o, &parent, 5);
    exec_task_init(&t);
    exec_spawn(&t, &ex, o);
    settle();
    CHECK(has_child(&parent, &o->tok));
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(o->done);
    CHECK(parent.children.head == 0); /* unlinked when the frame finished */
    free(o);
    sync_token_cancel(&parent);
    exec_destroy(&ex);
}

/* Woken by the parent's cancel, through its own child token. */
static void test_owned_child_token_sees_the_parents_cancel(void) {
    sync_token_t parent;
    owner_t o;
    exec_task_t t;
    setup();
    sync_token_init(&parent);
    owner_init(&o, &parent, 0);
    exec_task_init(&t);
    exec_spawn(&t, &ex, &o);
    settle();
    sync_token_cancel(&parent);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(o.done);
    CHECK_EQ(o.err, 0);
    CHECK(parent.children.head == 0);
    exec_destroy(&ex);
}

/* An owner frame that is not a task's root: it loses a SELECT. */
typedef struct {
    future_t fut;
    int which;
    owner_t *o;
    timer_sleep_t nap;
} race_t;

static coro_poll_t race_poll(future_t *self, future_cx_t *cx) {
    race_t *f = (race_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, 5 * TIMER_MS);
    SELECT(cx, f->which, f->o, &f->nap);
    ASYNC_END();
}

static void test_owned_child_token_in_a_lost_select(void) {
    sync_token_t parent;
    owner_t *o = (owner_t *)malloc(sizeof *o);
    race_t r;
    exec_task_t t;
    setup();
    CHECK(o != 0);
    sync_token_init(&parent);
    owner_init(o, &parent, 0);
    future_init(&r.fut, race_poll, 0);
    r.which = -1;
    r.o = o;
    exec_task_init(&t);
    exec_spawn(&t, &ex, &r);
    settle();
    CHECK(has_child(&parent, &o->tok));
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(r.which, 1);
    CHECK(!o->done);
    CHECK(parent.children.head == 0);
    free(o);
    sync_token_cancel(&parent);
    exec_destroy(&ex);
}

/* A root token owned by a frame (SYNC_TOKEN_INIT) with a child in another
 * task's frame: when the root's frame finishes, the child is set free. */
typedef struct {
    future_t fut;
    sync_token_t tok;
    owner_t kid;
    exec_task_t kt;
    timer_sleep_t nap;
} rootowner_t;

static coro_poll_t rootowner_poll(future_t *self, future_cx_t *cx) {
    rootowner_t *f = (rootowner_t *)self;
    ASYNC_BEGIN(f);
    SYNC_TOKEN_INIT(&f->tok);
    timer_sleep_init(&f->nap, 5 * TIMER_MS);
    AWAIT(cx, &f->nap);
    ASYNC_END();
}

/* The main future: sleeps ms. */
typedef struct {
    future_t fut;
    uint64_t ms;
    timer_sleep_t nap;
} sleeper_t;

static coro_poll_t sleeper_poll(future_t *self, future_cx_t *cx) {
    sleeper_t *f = (sleeper_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    ASYNC_END();
}

static void test_owned_root_token_sets_its_children_free(void) {
    rootowner_t *r = (rootowner_t *)malloc(sizeof *r);
    sleeper_t s;
    exec_task_t t;
    setup();
    CHECK(r != 0);
    future_init(&r->fut, rootowner_poll, 0);
    exec_task_init(&t);
    exec_spawn(&t, &ex, r);
    settle();
    /* The kid: a task spawned from outside any task (the executor's), so
     * it outlives r's frame; its own token is a child of r's. */
    owner_init(&r->kid, &r->tok, 0);
    exec_task_init(&r->kt);
    exec_spawn(&r->kt, &ex, &r->kid);
    settle();
    CHECK(r->kid.started);
    CHECK(has_child(&r->tok, &r->kid.tok));
    /* Run until the root's frame has finished; the kid still waits. */
    future_init(&s.fut, sleeper_poll, 0);
    s.ms = 10;
    CHECK_EQ(exec_block_on(&ex, &s), 0);
    CHECK(exec_task_done(&t));
    CHECK(!exec_task_done(&r->kt));
    CHECK(r->kid.tok.parent == 0);          /* set free, */
    CHECK(!sync_token_is_cancelled(&r->kid.tok)); /* not cancelled */
    CHECK(r->tok.children.head == 0);
    CHECK(!r->kid.done);
    sync_token_cancel(&r->kid.tok); /* its own token still works */
    settle();
    CHECK(r->kid.done);
    CHECK_EQ(exec_run(&ex), 0);
    free(r);
    exec_destroy(&ex);
}

/* ---- drop ------------------------------------------------------------- */

static void test_drop_with_live_children_and_waiters(void) {
    /* root -> mid -> k1 -> g
     *             -> k2 */
    sync_token_t root, mid, k1, k2, g;
    sync_cancelled_t wm, wg, late;
    sync_token_init(&root);
    sync_token_child_init(&mid, &root);
    sync_token_child_init(&k1, &mid);
    sync_token_child_init(&k2, &mid);
    sync_token_child_init(&g, &k1);
    sync_cancelled_init(&wm, &mid);
    sync_cancelled_init(&wg, &g);
    CHECK_EQ(POLL(&wm, -1), CORO_PENDING);
    CHECK_EQ(POLL(&wg, -1), CORO_PENDING);
    wakes = 0;
    sync_token_drop(&mid);
    CHECK_EQ(wakes, 1); /* mid's waiter: the token is gone */
    CHECK(root.children.head == 0);
    CHECK(mid.parent == 0 && mid.children.head == 0 && mid.q.head == 0);
    CHECK(k1.parent == 0 && k2.parent == 0);
    CHECK(!sync_token_is_cancelled(&k1) && !sync_token_is_cancelled(&k2));
    CHECK(g.parent == &k1); /* below the children nothing changes */
    CHECK_EQ(POLL(&wm, -1), CORO_READY);
    CHECK_EQ(future_err(&wm), FUTURE_EPIPE);
    /* The root no longer reaches them. */
    sync_token_cancel(&root);
    CHECK(!sync_token_is_cancelled(&k1) && !sync_token_is_cancelled(&g));
    CHECK(!sync_token_is_cancelled(&mid));
    /* The freed children are trees of their own. */
    sync_token_cancel(&k1);
    CHECK(sync_token_is_cancelled(&g));
    CHECK_EQ(POLL(&wg, -1), CORO_READY);
    CHECK_EQ(future_err(&wg), 0);
    CHECK(!sync_token_is_cancelled(&k2));
    /* A dropped token is a usable root; dropping again does nothing. */
    sync_token_drop(&mid);
    sync_cancelled_init(&late, &mid);
    CHECK_EQ(POLL(&late, -1), CORO_PENDING);
    sync_token_cancel(&mid);
    CHECK_EQ(POLL(&late, -1), CORO_READY);
    CHECK_EQ(future_err(&late), 0);
    /* Dropping a cancelled child keeps it cancelled. */
    sync_token_drop(&g);
    CHECK(sync_token_is_cancelled(&g));
    CHECK(k1.children.head == 0);
}

/* A token owned by a frame, dropped by hand first: it leaves the frame's
 * list too, so the frame's end does not touch it again. */
static void test_drop_by_hand_leaves_the_owner(void) {
    future_t frame;
    sync_token_t root, c;
    sync_token_init(&root);
    future_init(&frame, future_pending_poll_, 0);
    sync_token_child_init(&c, &root);
    sync_token_own(&c, &frame);
    CHECK(frame.owned == &c.own);
    sync_token_own(&c, &frame); /* owning twice links it once */
    CHECK(frame.owned == &c.own && c.own.next == 0);
    sync_token_drop(&c);
    CHECK(frame.owned == 0);
    CHECK(root.children.head == 0);
    /* Owned again, then the frame is dropped: unlinked from the root. */
    sync_token_child_init(&c, &root);
    sync_token_own(&c, &frame);
    future_drop(&frame);
    CHECK(root.children.head == 0 && c.parent == 0);
}

/* SYNC_TOKEN_CHILD_INIT / SYNC_TOKEN_INIT again on a field the frame still
 * owns (a token per round of a loop): the old token is dropped first (out
 * of its parent's list, its own children set free), the node linked once,
 * and the frame's end drops the last one only. */
static void test_made_again_while_owned(void) {
    future_t frame;
    sync_token_t root, other, c, g;
    int round;
    sync_token_init(&root);
    sync_token_init(&other);
    future_init(&frame, future_pending_poll_, 0);
    for (round = 0; round < 3; round++) {
        sync_token_child_init_owned_(&c, round == 1 ? &other : &root, &frame);
        CHECK(frame.owned == &c.own && c.own.next == 0);
        CHECK(root.children.head == (round == 1 ? 0 : &c.sib));
        CHECK(other.children.head == (round == 1 ? &c.sib : 0));
        sync_token_child_init(&g, &c); /* a grandchild, set free next round */
    }
    CHECK(g.parent == &c);
    sync_token_init_owned_(&c, &frame); /* a root now */
    CHECK(root.children.head == 0 && g.parent == 0);
    CHECK(frame.owned == &c.own && c.own.next == 0);
    sync_token_cancel(&root);
    CHECK(!sync_token_is_cancelled(&c));
    future_drop(&frame);
    CHECK(frame.owned == 0);
}

/* ---- a deep chain, on a small stack -------------------------------------- */

enum { DEPTH = 10000 };
static sync_token_t chain[DEPTH];

static void *cancel_chain(void *arg) {
    sync_token_cancel((sync_token_t *)arg);
    return 0;
}

/* Cancel on a thread with a 64 KiB stack: a recursive walk of 10000
 * levels would not fit. */
static int cancel_on_small_stack(sync_token_t *t) {
    pthread_attr_t a;
    pthread_t th;
    int rc;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 64 * 1024);
    rc = pthread_create(&th, &a, cancel_chain, t);
    pthread_attr_destroy(&a);
    if (rc == 0) rc = pthread_join(th, 0);
    return rc;
}

static void test_deep_chain_cancel(void) {
    sync_cancelled_t last, mid;
    int i;
    sync_token_init(&chain[0]);
    for (i = 1; i < DEPTH; i++) sync_token_child_init(&chain[i], &chain[i - 1]);
    sync_cancelled_init(&last, &chain[DEPTH - 1]);
    sync_cancelled_init(&mid, &chain[DEPTH / 2]);
    CHECK_EQ(POLL(&last, -1), CORO_PENDING);
    CHECK_EQ(POLL(&mid, -1), CORO_PENDING);
    /* From the middle: the lower half only. */
    wakes = 0;
    CHECK_EQ(cancel_on_small_stack(&chain[DEPTH / 2]), 0);
    CHECK_EQ(wakes, 2);
    CHECK(!sync_token_is_cancelled(&chain[DEPTH / 2 - 1]));
    for (i = DEPTH / 2; i < DEPTH; i++) CHECK(sync_token_is_cancelled(&chain[i]));
    CHECK_EQ(POLL(&last, -1), CORO_READY);
    CHECK_EQ(POLL(&mid, -1), CORO_READY);
    /* From the top: the rest. */
    CHECK_EQ(cancel_on_small_stack(&chain[0]), 0);
    for (i = 0; i < DEPTH; i++) CHECK(sync_token_is_cancelled(&chain[i]));
    /* A fresh chain, cancelled whole from the root. */
    sync_token_init(&chain[0]);
    for (i = 1; i < DEPTH; i++) sync_token_child_init(&chain[i], &chain[i - 1]);
    sync_cancelled_init(&last, &chain[DEPTH - 1]);
    CHECK_EQ(POLL(&last, -1), CORO_PENDING);
    CHECK_EQ(cancel_on_small_stack(&chain[0]), 0);
    for (i = 0; i < DEPTH; i++) CHECK(sync_token_is_cancelled(&chain[i]));
    CHECK_EQ(POLL(&last, -1), CORO_READY);
    for (i = DEPTH - 1; i > 0; i--) sync_token_drop(&chain[i]);
    CHECK(chain[0].children.head == 0);
}

/* ---- the description ----------------------------------------------------- */

static void test_wait_describes_itself(void) {
    sync_token_t t;
    sync_cancelled_t a, b, c;
    sync_token_init(&t);
    sync_cancelled_init(&a, &t);
    sync_cancelled_init(&b, &t);
    sync_cancelled_init(&c, &t);
    CHECK_EQ(POLL(&a, -1), CORO_PENDING);
    CHECK(strcmp(describe(&a), "token wait (1 waiting)") == 0);
    CHECK_EQ(POLL(&b, -1), CORO_PENDING);
    CHECK_EQ(POLL(&c, -1), CORO_PENDING);
    CHECK(strcmp(describe(&b), "token wait (3 waiting)") == 0);
    future_drop(&a);
    future_drop(&b);
    future_drop(&c);
}

/* exec_dump shows a task waiting for a token. */
static void test_dump_shows_the_token_wait(void) {
    sync_token_t t;
    tokwait_t w;
    exec_task_t tw;
    char *text = 0;
    size_t len = 0;
    FILE *out;
    setup();
    sync_token_init(&t);
    tokwait_init(&w, &t, 0);
    exec_task_init(&tw);
    exec_spawn(&tw, &ex, &w);
    exec_task_set_name(&tw, "worker");
    settle();
    out = open_memstream(&text, &len);
    CHECK(out != 0);
    exec_dump(&ex, out);
    fclose(out);
    CHECK(strstr(text, "worker") != 0);
    CHECK(strstr(text, "token wait (1 waiting)") != 0);
    free(text);
    sync_token_cancel(&t);
    CHECK_EQ(exec_run(&ex), 0);
    exec_destroy(&ex);
}

int main(void) {
    RUN(test_wait_after_cancel_is_ready_at_once);
    RUN(test_ready_wait_spends_the_budget);
    RUN(test_parent_cancels_descendants_never_ancestors);
    RUN(test_child_of_a_cancelled_parent_is_cancelled);
    RUN(test_child_init_without_a_parent_is_misuse);
    RUN(test_cancel_around_cancelled_subtrees);
    RUN(test_select_sleep_or_token);
    RUN(test_many_waiters_all_woken_fifo);
    RUN(test_drop_waiting_wait_unlinks_it);
    RUN(test_wait_losing_a_select_is_unlinked);
    RUN(test_owned_child_token_dropped_mid_wait);
    RUN(test_owned_child_token_frame_finishes);
    RUN(test_owned_child_token_sees_the_parents_cancel);
    RUN(test_owned_child_token_in_a_lost_select);
    RUN(test_owned_root_token_sets_its_children_free);
    RUN(test_drop_with_live_children_and_waiters);
    RUN(test_drop_by_hand_leaves_the_owner);
    RUN(test_made_again_while_owned);
    RUN(test_deep_chain_cancel);
    RUN(test_wait_describes_itself);
    RUN(test_dump_shows_the_token_wait);
    return check_summary();
}
