/* Tests of sync.h's broadcast and watch channels: tokio's rules (every
 * receiver sees every broadcast value in order, a receiver that fell more
 * than the ring's size behind gets one lag report with the count it lost
 * and goes on from the oldest value still there; a watch receiver wakes for
 * a version it has not seen and reads the latest), close, misuse, each
 * waiting future dropped at each of its suspension points (queued, woken
 * but not yet polled, held up by the budget), and a fuzz test of broadcast
 * against a reference model: random sends, receivers of random speeds that
 * poll, drop, try_recv, unsubscribe and subscribe again.
 *
 * Most tests drive the futures by hand (a poll context built here with a
 * counting waker and a budget the test sets, as tests/test_sync_rw.c
 * does); the rest run tasks on an executor with a paused clock.
 */
#include "check.h"
#include "../exec.h"
#include "../sync.h"

#include "hand_cx.h"

static exec_t ex;

static void setup(void) {
    if (exec_init(&ex)) abort();
    ex.log = 0;
    exec_clock_pause(&ex);
}

/* Yields until every task woken so far has had its turns. */
typedef struct {
    future_t fut;
    int i;
} yielder_t;

static coro_poll_t yielder_poll(future_t *self, future_cx_t *cx) {
    yielder_t *f = (yielder_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < 16; f->i++) YIELD_NOW(cx);
    ASYNC_END();
}

static void settle(void) {
    yielder_t y;
    future_init(&y.fut, yielder_poll, 0);
    if (exec_block_on(&ex, &y.fut) != 0) abort();
}

static const char *described(const void *f) {
    static char buf[160];
    future_fmt_t o = {0, 0, 0, 0, 0};
    o.buf = buf;
    o.cap = sizeof buf;
    buf[0] = 0;
    future_describe((const future_t *)f, &o);
    return buf;
}

/* ---- broadcast by hand --------------------------------------------------- */

/* Two receivers see every value, in order; send says how many will; a
 * receiver subscribed later sees only what comes after. */
static void test_bcast_every_receiver_sees_every_value(void) {
    int buf[4], v, got = 0;
    sync_bcast_t b;
    sync_bcast_rx_t a, c, late;
    sync_bcast_recv_t r;
    sync_bcast_init(&b, buf, 4, sizeof(int));
    v = 1;
    CHECK_EQ(sync_bcast_send(&b, &v), 0); /* nobody: not kept */
    sync_bcast_subscribe(&a, &b);
    sync_bcast_subscribe(&c, &b);
    CHECK_EQ(sync_bcast_receiver_count(&b), 2);
    for (v = 10; v < 13; v++) CHECK_EQ(sync_bcast_send(&b, &v), 2);
    sync_bcast_subscribe(&late, &b);
    v = 13;
    CHECK_EQ(sync_bcast_send(&b, &v), 3);
    CHECK_EQ(sync_bcast_len(&a), 4);
    CHECK_EQ(sync_bcast_len(&late), 1);
    for (v = 10; v < 14; v++) {
        sync_bcast_recv_init(&r, &a, &got);
        CHECK_EQ(POLL(&r, -1), CORO_READY);
        CHECK_EQ(future_err(&r.fut), 0);
        CHECK_EQ(got, v);
    }
    for (v = 10; v < 14; v++) {
        CHECK_EQ(sync_bcast_try_recv(&c, &got, 0), 0);
        CHECK_EQ(got, v);
    }
    CHECK_EQ(sync_bcast_try_recv(&c, &got, 0), -EAGAIN);
    CHECK_EQ(sync_bcast_try_recv(&late, &got, 0), 0);
    CHECK_EQ(got, 13);
    CHECK_EQ(sync_bcast_try_recv(&late, 0, 0), -EAGAIN);
    sync_bcast_unsubscribe(&late);
    CHECK_EQ(sync_bcast_receiver_count(&b), 2);
    CHECK_EQ(sync_bcast_len(&late), 0);
    /* the count is an int: saturated (the field set by hand, for the test) */
    b.receivers = (size_t)-1;
    CHECK_EQ(sync_bcast_send(&b, &v), (unsigned)-1 >> 1);
    b.receivers = 2;
    CHECK_EQ(sync_bcast_try_recv(&c, &got, 0), 0);
    CHECK_EQ(sync_bcast_try_recv(&a, &got, 0), 0);
    /* out == 0 discards */
    v = 14;
    CHECK_EQ(sync_bcast_send(&b, &v), 2);
    sync_bcast_recv_init(&r, &a, 0);
    CHECK_EQ(POLL(&r, -1), CORO_READY);
    CHECK_EQ(future_err(&r.fut), 0);
    CHECK_EQ(sync_bcast_len(&a), 0);
}

/* A receiver 10 values behind in a ring of 4: one lag report of 6, then
 * the 4 oldest still there, in order; the ring wraps more than once. */
static void test_bcast_lag_report_then_oldest(void) {
    int buf[4], v, got = 0;
    uint64_t lagged = 99;
    sync_bcast_t b;
    sync_bcast_rx_t rx, rx2;
    sync_bcast_recv_t r;
    sync_bcast_init(&b, buf, 4, sizeof(int));
    sync_bcast_subscribe(&rx, &b);
    sync_bcast_subscribe(&rx2, &b);
    for (v = 0; v < 10; v++) sync_bcast_send(&b, &v);
    CHECK_EQ(sync_bcast_len(&rx), 10);
    sync_bcast_recv_init(&r, &rx, &got);
    got = -1;
    CHECK_EQ(POLL(&r, -1), CORO_READY);
    CHECK_EQ(future_err(&r.fut), SYNC_EOVERFLOW);
    CHECK_EQ(r.lagged, 6);
    CHECK_EQ(got, -1); /* nothing copied */
    CHECK_EQ(sync_bcast_len(&rx), 4);
    for (v = 6; v < 10; v++) {
        sync_bcast_recv_init(&r, &rx, &got);
        CHECK_EQ(POLL(&r, -1), CORO_READY);
        CHECK_EQ(future_err(&r.fut), 0);
        CHECK_EQ(got, v);
    }
    /* exactly cap behind: no lag */
    for (v = 10; v < 14; v++) sync_bcast_send(&b, &v);
    CHECK_EQ(sync_bcast_try_recv(&rx, &got, &lagged), 0);
    CHECK_EQ(got, 10);
    CHECK_EQ(lagged, 0);
    /* try_recv's report; lagged may be 0 */
    CHECK_EQ(sync_bcast_try_recv(&rx2, &got, &lagged), SYNC_EOVERFLOW);
    CHECK_EQ(lagged, 10);
    CHECK_EQ(sync_bcast_try_recv(&rx2, &got, 0), 0);
    CHECK_EQ(got, 10);
    for (v = 14; v < 20; v++) sync_bcast_send(&b, &v);
    CHECK_EQ(sync_bcast_try_recv(&rx2, &got, 0), SYNC_EOVERFLOW);
    CHECK_EQ(sync_bcast_try_recv(&rx2, &got, 0), 0);
    CHECK_EQ(got, 16);
    /* a ring of one */
    {
        int one;
        sync_bcast_t b1;
        sync_bcast_rx_t r1;
        sync_bcast_init(&b1, &one, 1, sizeof one);
        sync_bcast_subscribe(&r1, &b1);
        for (v = 0; v < 3; v++) sync_bcast_send(&b1, &v);
        CHECK_EQ(sync_bcast_try_recv(&r1, &got, &lagged), SYNC_EOVERFLOW);
        CHECK_EQ(lagged, 2);
        CHECK_EQ(sync_bcast_try_recv(&r1, &got, 0), 0);
        CHECK_EQ(got, 2);
        CHECK_EQ(sync_bcast_try_recv(&r1, &got, 0), -EAGAIN);
    }
}

/* A caught-up recv waits, a send wakes every waiting recv; close wakes
 * them too, receivers drain, then -EPIPE. */
static void test_bcast_wait_wake_and_close(void) {
    int buf[2], v, g1 = 0, g2 = 0;
    sync_bcast_t b;
    sync_bcast_rx_t a, c, after;
    sync_bcast_recv_t r1, r2;
    sync_bcast_init(&b, buf, 2, sizeof(int));
    sync_bcast_subscribe(&a, &b);
    sync_bcast_subscribe(&c, &b);
    sync_bcast_recv_init(&r1, &a, &g1);
    sync_bcast_recv_init(&r2, &c, &g2);
    CHECK_EQ(POLL(&r1, -1), CORO_PENDING);
    CHECK_EQ(POLL(&r2, -1), CORO_PENDING);
    CHECK_EQ(POLL(&r2, -1), CORO_PENDING); /* polled again: still queued once */
    CHECK(r1.w.state == SYNC_QUEUED_ && r2.w.state == SYNC_QUEUED_);
    CHECK(strcmp(described(&r1), "broadcast recv (2 of 2 receivers waiting)") == 0);
    wakes = 0;
    v = 5;
    CHECK_EQ(sync_bcast_send(&b, &v), 2);
    CHECK_EQ(wakes, 2);
    CHECK(!b.q.head);
    CHECK_EQ(POLL(&r1, -1), CORO_READY);
    CHECK_EQ(POLL(&r2, -1), CORO_READY);
    CHECK(g1 == 5 && g2 == 5);
    /* a woken recv polled while still queued finds the value too */
    sync_bcast_recv_init(&r1, &a, &g1);
    CHECK_EQ(POLL(&r1, -1), CORO_PENDING);
    v = 6;
    sync_bcast_send(&b, &v);
    v = 7;
    sync_bcast_send(&b, &v);
    sync_bcast_close(&b);
    sync_bcast_close(&b); /* twice: nothing more */
    CHECK(sync_bcast_is_closed(&b));
    CHECK_EQ(POLL(&r1, -1), CORO_READY);
    CHECK_EQ(g1, 6);
    sync_bcast_recv_init(&r1, &a, &g1);
    CHECK_EQ(POLL(&r1, -1), CORO_READY);
    CHECK_EQ(g1, 7);
    sync_bcast_recv_init(&r1, &a, &g1);
    CHECK_EQ(POLL(&r1, -1), CORO_READY);
    CHECK_EQ(future_err(&r1.fut), -EPIPE);
    CHECK_EQ(sync_bcast_try_recv(&a, &g1, 0), -EPIPE);
    /* c drains both, then -EPIPE */
    CHECK_EQ(sync_bcast_try_recv(&c, &g2, 0), 0);
    CHECK_EQ(sync_bcast_try_recv(&c, &g2, 0), 0);
    CHECK_EQ(g2, 7);
    CHECK_EQ(sync_bcast_try_recv(&c, &g2, 0), -EPIPE);
    /* subscribed after the close: -EPIPE at once */
    sync_bcast_subscribe(&after, &b);
    sync_bcast_recv_init(&r2, &after, &g2);
    CHECK_EQ(POLL(&r2, -1), CORO_READY);
    CHECK_EQ(future_err(&r2.fut), -EPIPE);
    /* a recv waiting at the close: woken, -EPIPE */
    {
        sync_bcast_t b2;
        sync_bcast_init(&b2, buf, 2, sizeof(int));
        sync_bcast_subscribe(&a, &b2);
        sync_bcast_recv_init(&r1, &a, &g1);
        CHECK_EQ(POLL(&r1, -1), CORO_PENDING);
        wakes = 0;
        sync_bcast_close(&b2);
        CHECK_EQ(wakes, 1);
        CHECK_EQ(POLL(&r1, 0), CORO_PENDING); /* budget: not yet */
        CHECK_EQ(POLL(&r1, -1), CORO_READY);
        CHECK_EQ(future_err(&r1.fut), -EPIPE);
    }
}

/* Dropped at each suspension point: nothing dangles (ASan: the frames are
 * reused), no value is consumed by a dropped recv. */
static void test_bcast_drop_at_each_point(void) {
    int buf[3], v, got = 0;
    sync_bcast_t b;
    sync_bcast_rx_t a, c;
    sync_bcast_recv_t r, r2;
    sync_bcast_init(&b, buf, 3, sizeof(int));
    sync_bcast_subscribe(&a, &b);
    sync_bcast_subscribe(&c, &b);
    /* 1. queued, with another queued behind it: unlinked, the other stays */
    sync_bcast_recv_init(&r, &a, &got);
    sync_bcast_recv_init(&r2, &c, &got);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    CHECK_EQ(POLL(&r2, -1), CORO_PENDING);
    future_drop(&r.fut);
    CHECK(r.w.state == SYNC_IDLE_);
    CHECK(b.q.head == &r2.w.link && !r2.w.link.next);
    memset(&r, 0xa5, sizeof r); /* a dangling pointer into it would show */
    wakes = 0;
    v = 1;
    CHECK_EQ(sync_bcast_send(&b, &v), 2);
    CHECK_EQ(wakes, 1); /* only r2 */
    CHECK_EQ(POLL(&r2, -1), CORO_READY);
    CHECK_EQ(got, 1);
    /* the value r was waiting for is still a's */
    CHECK_EQ(sync_bcast_try_recv(&a, &got, 0), 0);
    CHECK_EQ(got, 1);
    /* 2. woken, not yet polled: dropped, the value stays */
    sync_bcast_recv_init(&r, &a, &got);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    v = 2;
    sync_bcast_send(&b, &v);
    CHECK(r.w.state == SYNC_WOKEN_);
    future_drop(&r.fut);
    CHECK_EQ(sync_bcast_len(&a), 1);
    /* 3. held up by the budget (ready, not taken): dropped, the value stays */
    sync_bcast_recv_init(&r, &a, &got);
    wakes = 0;
    CHECK_EQ(POLL(&r, 0), CORO_PENDING);
    CHECK_EQ(wakes, 1);
    CHECK(r.w.state == SYNC_IDLE_ && !b.q.head);
    future_drop(&r.fut);
    CHECK_EQ(sync_bcast_len(&a), 1);
    /* 4. woken, then held up by the budget, then dropped */
    CHECK_EQ(sync_bcast_try_recv(&a, &got, 0), 0);
    CHECK_EQ(got, 2);
    sync_bcast_recv_init(&r, &a, &got);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    v = 3;
    sync_bcast_send(&b, &v);
    CHECK_EQ(POLL(&r, 0), CORO_PENDING);
    CHECK(r.w.state == SYNC_IDLE_ && !b.q.head);
    future_drop(&r.fut);
    /* 5. dropped while lagging: the lag is still reported to the next */
    for (v = 4; v < 9; v++) sync_bcast_send(&b, &v);
    sync_bcast_recv_init(&r, &a, &got);
    CHECK_EQ(POLL(&r, 0), CORO_PENDING);
    future_drop(&r.fut);
    sync_bcast_recv_init(&r, &a, &got);
    CHECK_EQ(POLL(&r, -1), CORO_READY);
    CHECK_EQ(future_err(&r.fut), SYNC_EOVERFLOW);
    CHECK_EQ(r.lagged, 3);
    /* 6. a finished recv dropped: nothing to undo */
    future_drop(&r.fut);
    CHECK_EQ(sync_bcast_try_recv(&a, &got, 0), 0);
    CHECK_EQ(got, 6);
    CHECK(!b.q.head);
}

static void test_bcast_misuse(void) {
    int buf[2], v = 1, got = 0;
    sync_bcast_t b;
    sync_bcast_rx_t rx, other;
    sync_bcast_recv_t r, r2;
    CHECK_MISUSE(sync_bcast_init(&b, buf, 0, sizeof(int)), "at least one");
    CHECK(sync_bcast_is_closed(&b));
    CHECK_MISUSE(sync_bcast_init(&b, 0, 2, sizeof(int)), "at least one");
    CHECK_MISUSE(sync_bcast_init(&b, buf, 2, 0), "at least one");
    CHECK_MISUSE(sync_bcast_init(&b, buf, (size_t)-1 / 2, 4), "fit");
    sync_bcast_init(&b, buf, 2, sizeof(int));
    /* recv / try_recv on a receiver never subscribed */
    memset(&rx, 0, sizeof rx);
    CHECK_MISUSE(CHECK_EQ(sync_bcast_try_recv(&rx, &got, 0), -EINVAL), "not subscribed");
    sync_bcast_recv_init(&r, &rx, &got);
    CHECK_MISUSE(CHECK_EQ(POLL(&r, -1), CORO_READY), "not subscribed");
    CHECK_EQ(future_err(&r.fut), -EINVAL);
    /* unsubscribed twice */
    sync_bcast_subscribe(&rx, &b);
    sync_bcast_unsubscribe(&rx);
    CHECK_MISUSE(sync_bcast_unsubscribe(&rx), "not subscribed");
    CHECK_EQ(sync_bcast_receiver_count(&b), 0);
    /* unsubscribed while its recv waits: the recv is woken, -EINVAL;
     * another receiver's recv is left waiting */
    sync_bcast_subscribe(&rx, &b);
    sync_bcast_subscribe(&other, &b);
    sync_bcast_recv_init(&r2, &other, &got);
    CHECK_EQ(POLL(&r2, -1), CORO_PENDING);
    sync_bcast_recv_init(&r, &rx, &got);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    wakes = 0;
    sync_bcast_unsubscribe(&rx);
    CHECK_EQ(wakes, 1);
    CHECK(r.w.state == SYNC_WOKEN_);
    CHECK(b.q.head == &r2.w.link && !r2.w.link.next);
    CHECK_MISUSE(CHECK_EQ(POLL(&r, -1), CORO_READY), "unsubscribed while");
    CHECK_EQ(future_err(&r.fut), -EINVAL);
    /* queued, unsubscribed (woken), then dropped: nothing left to unlink */
    sync_bcast_subscribe(&rx, &b);
    sync_bcast_recv_init(&r, &rx, &got);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    sync_bcast_unsubscribe(&rx);
    future_drop(&r.fut); /* dropped instead: nothing to unlink */
    CHECK(b.q.head == &r2.w.link && !r2.w.link.next);
    /* send after close */
    sync_bcast_close(&b);
    CHECK_MISUSE(CHECK_EQ(sync_bcast_send(&b, &v), -EPIPE), "closed");
    CHECK_EQ(POLL(&r2, -1), CORO_READY);
    CHECK_EQ(future_err(&r2.fut), -EPIPE);
}

/* ---- broadcast on an executor -------------------------------------------- */

#define NVALS 40

typedef struct {
    future_t fut;
    sync_bcast_t *b;
    int i;
    timer_sleep_t nap;
} producer_t;

static coro_poll_t producer_poll(future_t *self, future_cx_t *cx) {
    producer_t *f = (producer_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 1; f->i <= NVALS; f->i++) {
        if (sync_bcast_send(f->b, &f->i) < 0) break;
        timer_sleep_init(&f->nap, TIMER_MS);
        AWAIT(cx, &f->nap);
    }
    sync_bcast_close(f->b);
    ASYNC_END();
}

/* Takes values until -EPIPE, napping nap_ms after each. */
typedef struct {
    future_t fut;
    sync_bcast_rx_t rx;
    uint64_t nap_ms;
    int got, last, count, lags, bad;
    uint64_t lost;
    sync_bcast_recv_t recv;
    timer_sleep_t nap;
} consumer_t;

static coro_poll_t consumer_poll(future_t *self, future_cx_t *cx) {
    consumer_t *f = (consumer_t *)self;
    ASYNC_BEGIN(f);
    for (;;) {
        sync_bcast_recv_init(&f->recv, &f->rx, &f->got);
        AWAIT(cx, &f->recv);
        if (future_err(&f->recv.fut) == -EPIPE) break;
        if (future_err(&f->recv.fut) == SYNC_EOVERFLOW) {
            f->lags++;
            f->lost += f->recv.lagged;
            if (f->recv.lagged == 0 || f->recv.lagged > NVALS) {
                f->bad++; /* never: a lag report loses at least one */
                break;
            }
            f->last += (int)f->recv.lagged; /* the values it skipped */
            continue;
        }
        if (future_err(&f->recv.fut) != 0 || f->got != f->last + 1) f->bad++;
        f->last = f->got;
        f->count++;
        if (f->nap_ms) {
            timer_sleep_init(&f->nap, f->nap_ms * TIMER_MS);
            AWAIT(cx, &f->nap);
        }
    }
    sync_bcast_unsubscribe(&f->rx);
    ASYNC_END();
}

static void consumer_init(consumer_t *f, sync_bcast_t *b, uint64_t nap_ms) {
    future_init(&f->fut, consumer_poll, 0);
    sync_bcast_subscribe(&f->rx, b);
    f->nap_ms = nap_ms;
    f->got = f->last = f->count = f->lags = f->bad = 0;
    f->lost = 0;
}

/* A fast consumer sees all 40 values; a slow one (5 ms per value, a value
 * a ms, a ring of 4) gets lag reports, and what it got plus what it was
 * told it lost is all 40, in order; one aborted while it waits leaves the
 * others running (ASan: nothing points into its frame). */
static void test_bcast_tasks_fast_slow_aborted(void) {
    int buf[4];
    sync_bcast_t b;
    producer_t p;
    consumer_t fast, slow, doomed;
    exec_task_t tp, tf, ts, td;
    setup();
    sync_bcast_init(&b, buf, 4, sizeof(int));
    consumer_init(&fast, &b, 0);
    consumer_init(&slow, &b, 5);
    consumer_init(&doomed, &b, 0);
    future_init(&p.fut, producer_poll, 0);
    p.b = &b;
    exec_task_init(&tp);
    exec_task_init(&tf);
    exec_task_init(&ts);
    exec_task_init(&td);
    exec_spawn(&tf, &ex, &fast.fut);
    exec_spawn(&ts, &ex, &slow.fut);
    exec_spawn(&td, &ex, &doomed.fut);
    settle(); /* all wait: nothing sent */
    CHECK(doomed.recv.w.state == SYNC_QUEUED_);
    exec_abort(&td);
    CHECK(b.q.head == &fast.recv.w.link && fast.recv.w.link.next == &slow.recv.w.link);
    sync_bcast_unsubscribe(&doomed.rx);
    exec_spawn(&tp, &ex, &p.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(fast.count, NVALS);
    CHECK_EQ(fast.lags, 0);
    CHECK_EQ(fast.bad, 0);
    CHECK_EQ(fast.last, NVALS);
    CHECK(slow.lags > 0);
    CHECK_EQ(slow.bad, 0);
    CHECK_EQ((uint64_t)slow.count + slow.lost, NVALS);
    CHECK_EQ(slow.last, NVALS);
    CHECK_EQ(sync_bcast_receiver_count(&b), 0);
    exec_destroy(&ex);
}

/* ---- broadcast fuzz against a reference model ---------------------------- */

/* The model: every value sent is kept in hist[]; a receiver's cursor is
 * the index of the next value it should get. The ring holds the last cap
 * values sent, so a receiver whose cursor is before the oldest of them
 * must get one lag report of the distance and then the oldest. */

#define FZ_RX 4
#define FZ_MAXSEND 4096

static uint32_t fz_state;
static uint32_t fz_rand(void) { /* xorshift32 */
    fz_state ^= fz_state << 13;
    fz_state ^= fz_state >> 17;
    fz_state ^= fz_state << 5;
    return fz_state;
}
static int fz_chance(unsigned pct) { return fz_rand() % 100 < pct; }

typedef struct {
    future_waker_t wk; /* first: the waker's container */
    int woken;
} fz_waker_t;

static void fz_wake(future_waker_t *w) { ((fz_waker_t *)(void *)w)->woken = 1; }

typedef struct {
    sync_bcast_rx_t rx;
    int subscribed;
    size_t m_next;       /* the model's cursor: index into hist */
    sync_bcast_recv_t r;
    int active;          /* r is initialised and not finished / dropped */
    int queued;          /* r's last poll queued it (the model: caught up) */
    fz_waker_t wk;
    unsigned speed;      /* % chance to act per step */
    uint32_t out;
} fz_rx_t;

/* What the runs went through (each must happen, or the fuzz tests less
 * than it claims): values, lag reports, ends, waits, budget hold-ups,
 * drops, re-subscriptions. */
static long fz_values, fz_lags, fz_ends, fz_waits, fz_held, fz_drops, fz_resubs;

static uint32_t hist[FZ_MAXSEND];
static size_t sent; /* values kept: tail */
static int fz_failed_seed;

/* What the model says rx's next step is: 1 value (*val), 2 lag (*lag), 0
 * caught up; closed and caught up: 3. */
static int fz_expect(fz_rx_t *x, size_t cap, int closed, uint32_t *val, uint64_t *lag) {
    size_t oldest = sent > cap ? sent - cap : 0;
    if (x->m_next < oldest) {
        *lag = oldest - x->m_next;
        x->m_next = oldest;
        return 2;
    }
    if (x->m_next == sent) return closed ? 3 : 0;
    *val = hist[x->m_next++];
    return 1;
}

/* Checks rc (and out / lagged) against the model's next step. */
static int fz_check(fz_rx_t *x, size_t cap, int closed, int rc, uint32_t out, uint64_t lagged) {
    uint32_t val = 0;
    uint64_t lag = 0;
    switch (fz_expect(x, cap, closed, &val, &lag)) {
    case 1: fz_values++; return rc == 0 && out == val;
    case 2: fz_lags++; return rc == SYNC_EOVERFLOW && lagged == lag;
    case 3: fz_ends++; return rc == -EPIPE;
    default: return rc == -EAGAIN;
    }
}

/* Polls x's recv (budget b) and checks it. 0 on a mismatch. */
static int fz_poll(fz_rx_t *x, size_t cap, int closed, int b) {
    future_cx_t cx;
    int bud = b;
    coro_poll_t p;
    memset(&cx, 0, sizeof cx);
    cx.waker = &x->wk.wk;
    cx.budget = b < 0 ? 0 : &bud;
    x->wk.woken = 0;
    p = future_poll(&x->r.fut, &cx);
    if (p == CORO_PENDING) {
        if (x->r.w.state == SYNC_QUEUED_) { /* waits: the model says caught up */
            x->queued = 1;
            fz_waits++;
            return x->m_next == sent && !closed;
        }
        /* held up by the budget: something is there, and it woke itself */
        x->queued = 0;
        fz_held++;
        return b == 0 && x->wk.woken && (x->m_next != sent || closed);
    }
    x->active = x->queued = 0;
    return fz_check(x, cap, closed, future_err(&x->r.fut), x->out, x->r.lagged);
}

/* One run: steps random actions; 0 on the first mismatch. */
static int fz_run(uint32_t seed, int steps) {
    uint32_t ring[8];
    sync_bcast_t b;
    fz_rx_t rxs[FZ_RX];
    size_t cap;
    int i, s, closed = 0;
    fz_state = seed ? seed : 1;
    cap = 1 + fz_rand() % 6;
    sync_bcast_init(&b, ring, cap, sizeof(uint32_t));
    sent = 0;
    memset(rxs, 0, sizeof rxs);
    for (i = 0; i < FZ_RX; i++) {
        fz_rx_t *x = &rxs[i];
        x->wk.wk.wake = fz_wake;
        x->speed = 5 + fz_rand() % 90; /* slow ones lag, fast ones never */
        if (fz_chance(80)) {
            sync_bcast_subscribe(&x->rx, &b);
            x->subscribed = 1;
        }
    }
    for (s = 0; s < steps + 200; s++) { /* the last 200 after the close */
        if (s == steps && !closed) {
            sync_bcast_close(&b);
            closed = 1;
            for (i = 0; i < FZ_RX; i++)
                if (rxs[i].queued && !rxs[i].wk.woken) return 0; /* a lost wake */
        }
        if (!closed && sent < FZ_MAXSEND && fz_chance(40)) {
            uint32_t v = fz_rand();
            int n = 0, rc;
            for (i = 0; i < FZ_RX; i++) n += rxs[i].subscribed;
            rc = sync_bcast_send(&b, &v);
            if (rc != n) return 0;
            if (n) hist[sent++] = v; /* nobody subscribed: not kept */
            for (i = 0; i < FZ_RX; i++)
                if (n && rxs[i].queued && !rxs[i].wk.woken) return 0; /* a lost wake */
        }
        for (i = 0; i < FZ_RX; i++) {
            fz_rx_t *x = &rxs[i];
            unsigned what;
            if (!closed && !fz_chance(x->speed)) continue;
            what = fz_rand() % 100;
            if (!x->subscribed) {
                if (what < 20 && !closed) {
                    sync_bcast_subscribe(&x->rx, &b);
                    x->subscribed = 1;
                    x->m_next = sent; /* sees nothing sent before */
                    fz_resubs++;
                }
                continue;
            }
            if (x->active) {
                if (what < 8) { /* cancelled: loses nothing */
                    future_drop(&x->r.fut);
                    x->active = x->queued = 0;
                    fz_drops++;
                } else if (x->wk.woken || !x->queued || what < 20) { /* or spurious */
                    if (!fz_poll(x, cap, closed, what < 30 ? 0 : -1)) return 0;
                }
                continue;
            }
            if (what < 3 && !closed) {
                sync_bcast_unsubscribe(&x->rx);
                x->subscribed = 0;
            } else if (what < 30) {
                uint64_t lagged = 0;
                int rc = sync_bcast_try_recv(&x->rx, &x->out, &lagged);
                if (!fz_check(x, cap, closed, rc, x->out, lagged)) return 0;
            } else {
                sync_bcast_recv_init(&x->r, &x->rx, &x->out);
                x->active = 1;
                x->wk.woken = 0;
                if (!fz_poll(x, cap, closed, what < 40 ? 0 : -1)) return 0;
            }
        }
    }
    /* closed, and every receiver drained to -EPIPE */
    for (i = 0; i < FZ_RX; i++) {
        fz_rx_t *x = &rxs[i];
        if (!x->subscribed) continue;
        if (x->active) {
            if (!fz_poll(x, cap, closed, -1)) return 0;
            if (x->active) return 0;
        }
        for (;;) {
            uint64_t lagged = 0;
            int rc = sync_bcast_try_recv(&x->rx, &x->out, &lagged);
            if (!fz_check(x, cap, closed, rc, x->out, lagged)) return 0;
            if (rc == -EPIPE) break;
        }
        sync_bcast_unsubscribe(&x->rx);
    }
    return b.receivers == 0 && !b.q.head;
}

static void test_bcast_fuzz_against_model(void) {
#ifdef CHECK_SLOW
    const uint32_t runs = 60;
#else
    const uint32_t runs = 1500;
#endif
    uint32_t seed;
    fz_failed_seed = 0;
    for (seed = 1; seed <= runs; seed++) {
        if (!fz_run(seed * 2654435761u, 600)) {
            printf("    fuzz: seed %u fails\n", (unsigned)seed);
            fz_failed_seed = (int)seed;
            break;
        }
    }
    CHECK_EQ(fz_failed_seed, 0);
    CHECK(fz_values > 0 && fz_lags > 0 && fz_ends > 0 && fz_waits > 0);
    CHECK(fz_held > 0 && fz_drops > 0 && fz_resubs > 0);
    if (getenv("CHECK_VERBOSE"))
        printf("    %ld values, %ld lags, %ld ends, %ld waits, %ld held, %ld drops, "
               "%ld resubscribed\n", fz_values, fz_lags, fz_ends, fz_waits, fz_held,
               fz_drops, fz_resubs);
}

/* ---- watch by hand ------------------------------------------------------- */

/* changed() waits for a version the receiver has not seen, marks it seen;
 * sends in between make one change; borrow does not mark, borrow_and_update
 * and copy do; subscribe counts the current value as seen. */
static void test_watch_changed_and_reads(void) {
    int slot = 1, v, got = 0;
    sync_watch_t w;
    sync_watch_rx_t a, c;
    sync_watch_changed_t ch, ch2;
    sync_watch_init(&w, &slot, sizeof slot);
    sync_watch_subscribe(&a, &w);
    sync_watch_subscribe(&c, &w);
    CHECK_EQ(sync_watch_receiver_count(&w), 2);
    CHECK_EQ(sync_watch_has_changed(&a), 0);
    CHECK_EQ(*(const int *)sync_watch_borrow(&a), 1);
    sync_watch_changed_init(&ch, &a);
    sync_watch_changed_init(&ch2, &c);
    CHECK_EQ(POLL(&ch, -1), CORO_PENDING);
    CHECK_EQ(POLL(&ch, -1), CORO_PENDING);
    CHECK_EQ(POLL(&ch2, -1), CORO_PENDING);
    CHECK(strcmp(described(&ch), "watch changed (2 of 2 receivers waiting)") == 0);
    wakes = 0;
    v = 2;
    CHECK_EQ(sync_watch_send(&w, &v), 2);
    CHECK_EQ(wakes, 2);
    v = 3;
    CHECK_EQ(sync_watch_send(&w, &v), 2);
    CHECK_EQ(wakes, 2); /* nobody waits any more */
    CHECK_EQ(sync_watch_has_changed(&a), 1);
    CHECK_EQ(POLL(&ch, -1), CORO_READY);
    CHECK_EQ(future_err(&ch.fut), 0);
    CHECK_EQ(sync_watch_has_changed(&a), 0); /* marked seen */
    CHECK_EQ(*(const int *)sync_watch_borrow(&a), 3); /* the latest */
    sync_watch_changed_init(&ch, &a);
    CHECK_EQ(POLL(&ch, -1), CORO_PENDING); /* 2 and 3 made one change */
    future_drop(&ch.fut);
    /* c: borrow does not mark, borrow_and_update does */
    CHECK_EQ(sync_watch_has_changed(&c), 1);
    CHECK_EQ(*(const int *)sync_watch_borrow(&c), 3);
    CHECK_EQ(sync_watch_has_changed(&c), 1);
    CHECK_EQ(*(const int *)sync_watch_borrow_and_update(&c), 3);
    CHECK_EQ(sync_watch_has_changed(&c), 0);
    CHECK_EQ(POLL(&ch2, -1), CORO_PENDING); /* woken, nothing unseen: waits again */
    CHECK(ch2.wt.state == SYNC_QUEUED_);
    v = 4;
    sync_watch_send(&w, &v);
    CHECK_EQ(sync_watch_copy(&c, &got), 0);
    CHECK_EQ(got, 4);
    CHECK_EQ(POLL(&ch2, -1), CORO_PENDING); /* copy marked it seen */
    future_drop(&ch2.fut);
    /* a new subscriber: the current value counts as seen */
    sync_watch_unsubscribe(&c);
    sync_watch_subscribe(&c, &w);
    CHECK_EQ(sync_watch_has_changed(&c), 0);
    /* ready at once, held by the budget first */
    CHECK_EQ(sync_watch_has_changed(&a), 1);
    sync_watch_changed_init(&ch, &a);
    CHECK_EQ(POLL(&ch, 0), CORO_PENDING);
    CHECK_EQ(sync_watch_has_changed(&a), 1); /* not marked yet */
    CHECK_EQ(POLL(&ch, -1), CORO_READY);
    CHECK_EQ(sync_watch_has_changed(&a), 0);
    /* no receivers: the value is replaced all the same */
    sync_watch_unsubscribe(&a);
    sync_watch_unsubscribe(&c);
    v = 9;
    CHECK_EQ(sync_watch_send(&w, &v), 0);
    CHECK_EQ(slot, 9);
}

static int set_if_different(void *value, void *arg) {
    if (*(int *)value == *(int *)arg) return 0;
    *(int *)value = *(int *)arg;
    return 1;
}

static void test_watch_send_if_modified(void) {
    int slot = 5, v = 5;
    sync_watch_t w;
    sync_watch_rx_t a;
    sync_watch_changed_t ch;
    sync_watch_init(&w, &slot, sizeof slot);
    sync_watch_subscribe(&a, &w);
    sync_watch_changed_init(&ch, &a);
    CHECK_EQ(POLL(&ch, -1), CORO_PENDING);
    wakes = 0;
    CHECK_EQ(sync_watch_send_if_modified(&w, set_if_different, &v), 0);
    CHECK_EQ(wakes, 0);
    CHECK(ch.wt.state == SYNC_QUEUED_);
    v = 6;
    CHECK_EQ(sync_watch_send_if_modified(&w, set_if_different, &v), 1);
    CHECK_EQ(wakes, 1);
    CHECK_EQ(POLL(&ch, -1), CORO_READY);
    CHECK_EQ(future_err(&ch.fut), 0);
    CHECK_EQ(*(const int *)sync_watch_borrow(&a), 6);
    /* a watch of versions alone */
    {
        sync_watch_t flag;
        sync_watch_rx_t f;
        sync_watch_init(&flag, 0, 0);
        sync_watch_subscribe(&f, &flag);
        CHECK_EQ(sync_watch_send(&flag, 0), 1);
        CHECK_EQ(sync_watch_has_changed(&f), 1);
        CHECK_EQ(sync_watch_copy(&f, 0), 0);
        CHECK_EQ(sync_watch_has_changed(&f), 0);
        CHECK(sync_watch_borrow(&f) == 0);
    }
}

/* close: a change sent before the close is still seen (0), then -EPIPE;
 * a waiting changed() is woken with -EPIPE; the last value stays. */
static void test_watch_close(void) {
    int slot = 0, v = 1;
    sync_watch_t w;
    sync_watch_rx_t a, c;
    sync_watch_changed_t ch, ch2;
    sync_watch_init(&w, &slot, sizeof slot);
    sync_watch_subscribe(&a, &w);
    sync_watch_subscribe(&c, &w);
    sync_watch_changed_init(&ch2, &c);
    CHECK_EQ(POLL(&ch2, -1), CORO_PENDING);
    CHECK_EQ(sync_watch_send(&w, &v), 2);
    CHECK_EQ(POLL(&ch2, -1), CORO_READY); /* c saw 1 */
    sync_watch_changed_init(&ch2, &c);
    CHECK_EQ(POLL(&ch2, -1), CORO_PENDING);
    wakes = 0;
    sync_watch_close(&w);
    CHECK(sync_watch_is_closed(&w));
    CHECK_EQ(wakes, 1);
    CHECK_EQ(POLL(&ch2, 0), CORO_PENDING); /* the budget */
    CHECK_EQ(POLL(&ch2, -1), CORO_READY);
    CHECK_EQ(future_err(&ch2.fut), -EPIPE);
    CHECK_EQ(sync_watch_has_changed(&a), 1); /* sent before the close */
    sync_watch_changed_init(&ch, &a);
    CHECK_EQ(POLL(&ch, -1), CORO_READY);
    CHECK_EQ(future_err(&ch.fut), 0);
    CHECK_EQ(sync_watch_has_changed(&a), -EPIPE);
    sync_watch_changed_init(&ch, &a);
    CHECK_EQ(POLL(&ch, -1), CORO_READY);
    CHECK_EQ(future_err(&ch.fut), -EPIPE);
    CHECK_EQ(*(const int *)sync_watch_borrow(&a), 1);
}

/* Dropped at each suspension point: queued (with another behind it),
 * woken not yet polled, held up by the budget; nothing is marked seen. */
static void test_watch_drop_at_each_point(void) {
    int slot = 0, v;
    sync_watch_t w;
    sync_watch_rx_t a, c;
    sync_watch_changed_t ch, ch2;
    sync_watch_init(&w, &slot, sizeof slot);
    sync_watch_subscribe(&a, &w);
    sync_watch_subscribe(&c, &w);
    /* 1. queued */
    sync_watch_changed_init(&ch, &a);
    sync_watch_changed_init(&ch2, &c);
    CHECK_EQ(POLL(&ch, -1), CORO_PENDING);
    CHECK_EQ(POLL(&ch2, -1), CORO_PENDING);
    future_drop(&ch.fut);
    CHECK(w.q.head == &ch2.wt.link && !ch2.wt.link.next);
    memset(&ch, 0xa5, sizeof ch);
    wakes = 0;
    v = 1;
    sync_watch_send(&w, &v);
    CHECK_EQ(wakes, 1);
    CHECK_EQ(sync_watch_has_changed(&a), 1); /* not lost */
    /* 2. woken, not yet polled */
    CHECK(ch2.wt.state == SYNC_WOKEN_);
    future_drop(&ch2.fut);
    CHECK_EQ(sync_watch_has_changed(&c), 1);
    /* 3. held up by the budget */
    sync_watch_changed_init(&ch, &a);
    wakes = 0;
    CHECK_EQ(POLL(&ch, 0), CORO_PENDING);
    CHECK_EQ(wakes, 1);
    future_drop(&ch.fut);
    CHECK_EQ(sync_watch_has_changed(&a), 1);
    /* 4. finished, dropped: nothing to undo */
    sync_watch_changed_init(&ch, &a);
    CHECK_EQ(POLL(&ch, -1), CORO_READY);
    future_drop(&ch.fut);
    CHECK_EQ(sync_watch_has_changed(&a), 0);
    CHECK(!w.q.head);
}

static void test_watch_misuse(void) {
    int slot = 0, v = 1, got;
    sync_watch_t w;
    sync_watch_rx_t rx, other;
    sync_watch_changed_t ch, ch2;
    CHECK_MISUSE(sync_watch_init(&w, 0, sizeof slot), "slot");
    CHECK_EQ(sync_watch_send(&w, &v), 0); /* versions alone now */
    sync_watch_init(&w, &slot, sizeof slot);
    CHECK_MISUSE(CHECK_EQ(sync_watch_send(&w, 0), -EINVAL), "no value");
    memset(&rx, 0, sizeof rx);
    CHECK_MISUSE(CHECK(sync_watch_borrow(&rx) == 0), "not subscribed");
    CHECK_MISUSE(CHECK(sync_watch_borrow_and_update(&rx) == 0), "not subscribed");
    CHECK_MISUSE(CHECK_EQ(sync_watch_copy(&rx, &got), -EINVAL), "not subscribed");
    CHECK_MISUSE(CHECK_EQ(sync_watch_has_changed(&rx), -EINVAL), "not subscribed");
    CHECK_MISUSE(sync_watch_unsubscribe(&rx), "not subscribed");
    sync_watch_changed_init(&ch, &rx);
    CHECK_MISUSE(CHECK_EQ(POLL(&ch, -1), CORO_READY), "not subscribed");
    CHECK_EQ(future_err(&ch.fut), -EINVAL);
    /* unsubscribed while its changed() waits: woken, -EINVAL; another
     * receiver's wait is left alone */
    sync_watch_subscribe(&rx, &w);
    sync_watch_subscribe(&other, &w);
    sync_watch_changed_init(&ch2, &other);
    CHECK_EQ(POLL(&ch2, -1), CORO_PENDING);
    sync_watch_changed_init(&ch, &rx);
    CHECK_EQ(POLL(&ch, -1), CORO_PENDING);
    wakes = 0;
    sync_watch_unsubscribe(&rx);
    CHECK_EQ(wakes, 1);
    CHECK(w.q.head == &ch2.wt.link && !ch2.wt.link.next);
    CHECK_MISUSE(CHECK_EQ(POLL(&ch, -1), CORO_READY), "unsubscribed while");
    CHECK_EQ(future_err(&ch.fut), -EINVAL);
    /* sends after close */
    sync_watch_close(&w);
    CHECK_MISUSE(CHECK_EQ(sync_watch_send(&w, &v), -EPIPE), "closed");
    CHECK_MISUSE(CHECK_EQ(sync_watch_send_if_modified(&w, set_if_different, &v), -EPIPE),
                 "closed");
    CHECK_EQ(slot, 0);
    CHECK_EQ(POLL(&ch2, -1), CORO_READY);
    CHECK_EQ(future_err(&ch2.fut), -EPIPE);
}

/* ---- watch on an executor ------------------------------------------------ */

/* A config watcher: wakes for each change it has not seen, reads the
 * latest, stops at the close. Sends at 1 ms steps; the watcher naps 3 ms
 * after each read, so it sees fewer changes than sends, always the latest. */
typedef struct {
    future_t fut;
    sync_watch_rx_t rx;
    int seen[64], n, bad;
    sync_watch_changed_t ch;
    timer_sleep_t nap;
} watcher_t;

static coro_poll_t watcher_poll(future_t *self, future_cx_t *cx) {
    watcher_t *f = (watcher_t *)self;
    ASYNC_BEGIN(f);
    for (;;) {
        sync_watch_changed_init(&f->ch, &f->rx);
        AWAIT(cx, &f->ch);
        if (future_err(&f->ch.fut) != 0) break;
        if (f->n < 64) f->seen[f->n++] = *(const int *)sync_watch_borrow(&f->rx);
        timer_sleep_init(&f->nap, 3 * TIMER_MS);
        AWAIT(cx, &f->nap);
    }
    if (future_err(&f->ch.fut) != -EPIPE) f->bad++;
    sync_watch_unsubscribe(&f->rx);
    ASYNC_END();
}

typedef struct {
    future_t fut;
    sync_watch_t *w;
    int i;
    timer_sleep_t nap;
} setter_t;

static coro_poll_t setter_poll(future_t *self, future_cx_t *cx) {
    setter_t *f = (setter_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 1; f->i <= 10; f->i++) {
        timer_sleep_init(&f->nap, TIMER_MS);
        AWAIT(cx, &f->nap);
        sync_watch_send(f->w, &f->i);
    }
    sync_watch_close(f->w);
    ASYNC_END();
}

static void test_watch_tasks(void) {
    int slot = 0, k;
    sync_watch_t w;
    watcher_t a, doomed;
    setter_t s;
    exec_task_t ta, td, ts;
    setup();
    sync_watch_init(&w, &slot, sizeof slot);
    future_init(&a.fut, watcher_poll, 0);
    a.n = a.bad = 0;
    sync_watch_subscribe(&a.rx, &w);
    future_init(&doomed.fut, watcher_poll, 0);
    doomed.n = doomed.bad = 0;
    sync_watch_subscribe(&doomed.rx, &w);
    future_init(&s.fut, setter_poll, 0);
    s.w = &w;
    exec_task_init(&ta);
    exec_task_init(&td);
    exec_task_init(&ts);
    exec_spawn(&ta, &ex, &a.fut);
    exec_spawn(&td, &ex, &doomed.fut);
    settle(); /* both wait: nothing sent */
    CHECK(doomed.ch.wt.state == SYNC_QUEUED_);
    exec_abort(&td); /* waiting: unlinked with its frame */
    sync_watch_unsubscribe(&doomed.rx);
    CHECK(w.q.head == &a.ch.wt.link && !a.ch.wt.link.next);
    exec_spawn(&ts, &ex, &s.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(a.bad, 0);
    CHECK(a.n >= 3 && a.n < 10);
    for (k = 1; k < a.n; k++) CHECK(a.seen[k] > a.seen[k - 1]);
    CHECK_EQ(a.seen[a.n - 1], 10); /* the last value is always seen */
    CHECK_EQ(sync_watch_receiver_count(&w), 0);
    exec_destroy(&ex);
}

/* ---- receivers a frame owns ----------------------------------------------
 * SYNC_BCAST_SUBSCRIBE / SYNC_WATCH_SUBSCRIBE: unsubscribed when the frame
 * ends, is dropped, or its task is aborted; subscribed again, the old
 * subscription goes first; unsubscribed by hand, the frame's end does
 * nothing more. A plain receiver in an aborted frame stays counted. */
typedef struct {
    future_t fut;
    sync_bcast_t *b;
    sync_watch_t *w;
    int again, by_hand, plain, got;
    sync_bcast_rx_t rx;
    sync_watch_rx_t wrx;
    sync_bcast_recv_t r;
} listener_t;

static coro_poll_t listener_poll(future_t *self, future_cx_t *cx) {
    listener_t *f = (listener_t *)self;
    ASYNC_BEGIN(f);
    if (f->plain) {
        sync_bcast_subscribe(&f->rx, f->b);
        sync_watch_subscribe(&f->wrx, f->w);
    } else {
        SYNC_BCAST_SUBSCRIBE(&f->rx, f->b);
        SYNC_WATCH_SUBSCRIBE(&f->wrx, f->w);
        if (f->again) {
            SYNC_BCAST_SUBSCRIBE(&f->rx, f->b);
            SYNC_WATCH_SUBSCRIBE(&f->wrx, f->w);
        }
    }
    sync_bcast_recv_init(&f->r, &f->rx, &f->got);
    AWAIT(cx, &f->r);
    if (f->by_hand) {
        sync_bcast_unsubscribe(&f->rx);
        sync_watch_unsubscribe(&f->wrx);
    }
    YIELD_NOW(cx);
    ASYNC_END();
}

static void test_owned_receivers_go_with_their_frame(void) {
    int buf[2], slot = 0, one = 1, mode;
    sync_bcast_t b;
    sync_watch_t w;
    setup();
    sync_bcast_init(&b, buf, 2, sizeof(int));
    sync_watch_init(&w, &slot, sizeof slot);
    for (mode = 0; mode < 8; mode++) {
        listener_t l;
        exec_task_t t;
        int aborted = mode & 1, again = (mode >> 1) & 1, by_hand = (mode >> 2) & 1;
        memset(&l, 0, sizeof l);
        future_init(&l.fut, listener_poll, 0);
        l.b = &b;
        l.w = &w;
        l.again = again;
        l.by_hand = by_hand;
        exec_task_init(&t);
        CHECK_EQ(exec_spawn(&t, &ex, &l.fut), 0);
        settle(); /* waiting in its recv */
        CHECK_EQ(sync_bcast_receiver_count(&b), 1);
        CHECK_EQ(sync_watch_receiver_count(&w), 1);
        if (aborted) {
            exec_abort(&t);
        } else {
            CHECK_EQ(sync_bcast_send(&b, &one), 1);
        }
        settle();
        CHECK(exec_task_done(&t));
        CHECK_EQ(exec_task_err(&t), aborted ? -ECANCELED : 0);
        CHECK_EQ(sync_bcast_receiver_count(&b), 0);
        CHECK_EQ(sync_watch_receiver_count(&w), 0);
        CHECK(l.rx.b == 0 && l.wrx.w == 0);
    }
    { /* a plain receiver in an aborted frame stays counted: yours to end */
        listener_t l;
        exec_task_t t;
        memset(&l, 0, sizeof l);
        future_init(&l.fut, listener_poll, 0);
        l.b = &b;
        l.w = &w;
        l.plain = 1;
        exec_task_init(&t);
        CHECK_EQ(exec_spawn(&t, &ex, &l.fut), 0);
        settle();
        exec_abort(&t);
        settle();
        CHECK_EQ(sync_bcast_receiver_count(&b), 1);
        CHECK_EQ(sync_watch_receiver_count(&w), 1);
        sync_bcast_unsubscribe(&l.rx);
        sync_watch_unsubscribe(&l.wrx);
        CHECK_EQ(sync_bcast_receiver_count(&b), 0);
    }
    exec_destroy(&ex);
}

int main(void) {
    RUN(test_bcast_every_receiver_sees_every_value);
    RUN(test_bcast_lag_report_then_oldest);
    RUN(test_bcast_wait_wake_and_close);
    RUN(test_bcast_drop_at_each_point);
    RUN(test_bcast_misuse);
    RUN(test_bcast_tasks_fast_slow_aborted);
    RUN(test_bcast_fuzz_against_model);
    RUN(test_watch_changed_and_reads);
    RUN(test_watch_send_if_modified);
    RUN(test_watch_close);
    RUN(test_watch_drop_at_each_point);
    RUN(test_watch_misuse);
    RUN(test_watch_tasks);
    RUN(test_owned_receivers_go_with_their_frame);
    return check_summary();
}
