/* test_select_keep.c - SELECT_KEEP: SELECT in a loop that keeps the losers
 * in flight (tokio's select! on &mut fut), SELECT_IF preconditions and
 * SELECT_ELSE, and the kept branches dropped with their frame. Paused
 * clock throughout. */
#include "check.h"
#include "../exec.h"
#include "../sync.h"

static exec_t ex;

static void setup(void) {
    CHECK_EQ(exec_init(&ex), 0);
    exec_clock_pause(&ex);
}

static uint64_t ms(void) { return exec_now(&ex) / TIMER_MS; }

/* Ticks every 10 ms against one deadline of 35 ms that is never made
 * fresh: with a plain SELECT the deadline would restart each round and
 * never fire. */
ASYNC_FN(ticks, future_select_t sel; timer_sleep_t deadline, tick; int n; uint64_t at[8];) {
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->deadline, 35 * TIMER_MS);
    timer_sleep_init(&f->tick, 10 * TIMER_MS);
    for (;;) {
        SELECT_KEEP(cx, &f->sel, &f->deadline, &f->tick);
        if (f->sel.which == 0) break;
        f->at[f->n++] = ms();
        timer_sleep_init(&f->tick, 10 * TIMER_MS); /* the winner, fresh */
    }
    f->at[f->n] = ms();
    ASYNC_END();
}

static void test_loser_kept_across_rounds(void) {
    ticks_t t;
    uint64_t t0;
    setup();
    t = ASYNC_NEW(ticks);
    t0 = ms();
    CHECK_EQ(exec_block_on(&ex, &t), 0);
    CHECK_EQ(t.n, 3);
    CHECK_EQ(t.at[0] - t0, 10);
    CHECK_EQ(t.at[1] - t0, 20);
    CHECK_EQ(t.at[2] - t0, 30);
    CHECK_EQ(t.at[3] - t0, 35); /* the one deadline, not restarted */
    /* The frame finished: the tick still in flight went with it. */
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    CHECK(t.sel.kids[1] == 0);
    exec_destroy(&ex);
}

/* A channel branch enabled only while open; the else when none is. */
ASYNC_FN(gated, future_select_t sel; sync_chan_t *ch; sync_chan_recv_t recv; timer_sleep_t idle;
         int v, open, got, elses, sum;) {
    ASYNC_BEGIN(f);
    f->open = 1;
    sync_chan_recv_init(&f->recv, f->ch, &f->v);
    timer_sleep_init(&f->idle, 100 * TIMER_MS);
    for (;;) {
        SELECT_KEEP(cx, &f->sel, SELECT_IF(f->open, &f->recv), SELECT_IF(f->got < 3, &f->idle));
        if (f->sel.which == SELECT_ELSE) {
            f->elses++;
            break;
        }
        if (f->sel.which == 1) { /* idle: stop reading */
            f->open = 0;
            f->got = 3;
            continue;
        }
        if (future_err(&f->recv) < 0) {
            f->open = 0;
            continue;
        }
        f->sum += f->v;
        f->got++;
        sync_chan_recv_init(&f->recv, f->ch, &f->v);
    }
    ASYNC_END();
}

static void test_preconditions_and_else(void) {
    sync_chan_t ch;
    int buf[4], v;
    gated_t g;
    setup();
    sync_chan_init(&ch, buf, 4, sizeof(int));
    for (v = 1; v <= 2; v++) CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    sync_chan_close(&ch); /* 1, 2, then -EPIPE: the branch is turned off */
    g = ASYNC_NEW(gated, .ch = &ch);
    CHECK_EQ(exec_block_on(&ex, &g), 0);
    CHECK_EQ(g.sum, 3);
    /* After -EPIPE only the idle timer takes part; it wins at 100 ms and is
     * turned off too: the next round has no branch, and is the else. */
    CHECK_EQ(g.elses, 1);
    CHECK_EQ(g.got, 3);
    CHECK_EQ(g.open, 0);
    exec_destroy(&ex);
}

static void test_all_off_is_else_at_once(void) {
    future_select_t sel;
    timer_sleep_t a;
    (void)a;
    future_select_init(&sel);
    CHECK_EQ(FUTURE_SELECT_ELSE, -1);
    CHECK_EQ(sel.which, 0);
    CHECK(sel.own.pprev == 0);
}

/* Dropped while a kept loser is in flight and the frame awaits something
 * else: the loser is dropped with the frame (its timer goes). */
ASYNC_FN(kept, future_select_t sel; timer_sleep_t slow, fast, other;) {
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->slow, 1000 * TIMER_MS);
    timer_sleep_init(&f->fast, TIMER_MS);
    SELECT_KEEP(cx, &f->sel, &f->slow, &f->fast);
    timer_sleep_init(&f->other, 500 * TIMER_MS);
    AWAIT(cx, &f->other);
    ASYNC_END();
}

ASYNC_FN(racer, kept_t k; timer_sleep_t stop; int which;) {
    ASYNC_BEGIN(f);
    f->k = ASYNC_NEW(kept);
    timer_sleep_init(&f->stop, 100 * TIMER_MS);
    SELECT(cx, f->which, &f->k, &f->stop);
    ASYNC_END();
}

static void test_kept_loser_dropped_with_frame(void) {
    racer_t r;
    setup();
    r = ASYNC_NEW(racer);
    CHECK_EQ(exec_block_on(&ex, &r), 0);
    CHECK_EQ(r.which, 1);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0); /* slow went with k */
    CHECK(r.k.sel.own.pprev == 0);
    CHECK(future_err(&r.k.slow) == -ECANCELED);
    exec_destroy(&ex);
}

/* A winner that was not made fresh: misuse, and left out. */
ASYNC_FN(stale, future_select_t sel; timer_sleep_t a, b; int rounds;) {
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->a, TIMER_MS);
    timer_sleep_init(&f->b, 50 * TIMER_MS);
    SELECT_KEEP(cx, &f->sel, &f->a, &f->b);
    f->rounds++;
    SELECT_KEEP(cx, &f->sel, &f->a, &f->b); /* a is finished: reported */
    f->rounds++;
    ASYNC_END();
}

static void test_stale_winner_reported(void) {
    stale_t s;
    setup();
    s = ASYNC_NEW(stale);
    CHECK_MISUSE(CHECK_EQ(exec_block_on(&ex, &s), 0), "made fresh");
    CHECK_EQ(s.rounds, 2);
    CHECK_EQ(s.sel.which, 1); /* b won the second round */
    exec_destroy(&ex);
}

/* future_select_drop: early. */
static void test_select_drop(void) {
    future_select_t sel;
    timer_wheel_t w;
    timer_sleep_t a;
    future_t parent;
    future_cx_t cx;
    future_waker_t nop = {0};
    future_t *kids[1];
    (void)nop;
    timer_wheel_init(&w, 0);
    future_cx_init(&cx, 0);
    cx.timers = &w;
    future_select_init(&sel);
    future_init(&parent, 0, 0);
    timer_sleep_init(&a, TIMER_MS);
    kids[0] = &a.fut;
    CHECK_EQ(future_select_keep_start_(&parent, &sel, kids, 1), 1);
    CHECK_EQ(future_select_keep_step_(&parent, &sel, &cx, 0), 0);
    CHECK_EQ(timer_wheel_count(&w), 1);
    future_select_drop(&sel);
    CHECK_EQ(timer_wheel_count(&w), 0);
    CHECK(parent.owned == 0);
    CHECK(sel.kids[0] == 0);
}

int main(void) {
    RUN(test_loser_kept_across_rounds);
    RUN(test_preconditions_and_else);
    RUN(test_all_off_is_else_at_once);
    RUN(test_kept_loser_dropped_with_frame);
    RUN(test_stale_winner_reported);
    RUN(test_select_drop);
    return check_summary();
}
