/* test_asyncfn.c - ASYNC_FN / ASYNC_NEW: an async function in one
 * declaration. The frame is a plain struct (sizeof, members, the future
 * header first), created with named arguments, and behaves like a
 * hand-written future everywhere one is meant: AWAIT, JOIN, SELECT,
 * spawn, drop. Runs on the paused clock. */
#include "check.h"
#include "../exec.h"
#include <stddef.h>

static exec_t ex;

static void setup(void) {
    CHECK_EQ(exec_init(&ex), 0);
    exec_clock_pause(&ex);
}

static uint64_t now_ms(void) { return exec_now(&ex) / TIMER_MS; }

/* async fn add(a, b, ms) -> a + b after ms */
ASYNC_FN(add, int a, b; uint64_t ms; timer_sleep_t nap; int out; uint64_t done_at;) {
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    f->out = f->a + f->b;
    f->done_at = exec_now(exec_of(cx));
    ASYNC_END();
}

/* No members at all. */
ASYNC_FN(nothing, ) {
    ASYNC_BEGIN(f);
    YIELD_NOW(cx);
    ASYNC_END();
}

/* async fn fails(code) -> Err(code) */
ASYNC_FN(fails, int code;) {
    ASYNC_BEGIN(f);
    YIELD_NOW(cx);
    ASYNC_RETURN(f->code);
    ASYNC_END();
}

/* A parent awaiting children made with ASYNC_NEW inside its frame. */
ASYNC_FN(parent, add_t x, y; fails_t bad; nothing_t none; int which, sum, err;) {
    ASYNC_BEGIN(f);
    f->x = ASYNC_NEW(add, .a = 1, .b = 2, .ms = 30);
    AWAIT(cx, &f->x);
    f->sum = f->x.out;
    f->x = ASYNC_NEW(add, .a = 10, .b = 20, .ms = 20);
    f->y = ASYNC_NEW(add, .a = 100, .b = 200, .ms = 10);
    JOIN(cx, &f->x, &f->y);
    f->sum += f->x.out + f->y.out;
    f->x = ASYNC_NEW(add, .ms = 50);
    f->none = ASYNC_NEW(nothing);
    SELECT(cx, f->which, &f->x, &f->none);
    f->bad = ASYNC_NEW(fails, .code = -EIO);
    AWAIT(cx, &f->bad);
    f->err = future_err(&f->bad);
    f->bad = ASYNC_NEW(fails, .code = -EPIPE);
    AWAIT_TRY(cx, &f->bad);
    f->sum = -1; /* not reached: AWAIT_TRY returned the error */
    ASYNC_END();
}

static void test_frame_is_a_plain_struct(void) {
    add_t a = ASYNC_NEW(add, .a = 4, .ms = 1);
    CHECK(offsetof(add_t, fut) == 0);
    CHECK(sizeof(add_t) >= sizeof(future_t) + sizeof(timer_sleep_t));
    CHECK(a.fut.poll == add_poll);
    CHECK(a.fut.drop == 0 && a.fut.child == 0 && a.fut.owned == 0);
    CHECK(a.fut.co.pc == 0 && a.fut.co.rc == 0);
    CHECK_EQ(a.a, 4);
    CHECK_EQ(a.b, 0); /* not named: zero */
    CHECK_EQ(a.ms, 1);
    CHECK(!future_done(&a));
}

static void test_runs_with_named_arguments(void) {
    add_t a;
    setup();
    a = ASYNC_NEW(add, .b = 5, .a = 2, .ms = 7); /* any order */
    CHECK_EQ(exec_block_on(&ex, &a), 0);
    CHECK_EQ(a.out, 7);
    CHECK_EQ(a.done_at / TIMER_MS - (now_ms() - 7), 7);
    exec_destroy(&ex);
}

static void test_children_await_join_select_try(void) {
    parent_t p;
    uint64_t t0;
    setup();
    p = ASYNC_NEW(parent);
    t0 = now_ms();
    CHECK_EQ(exec_block_on(&ex, &p), -EPIPE); /* AWAIT_TRY's error */
    CHECK_EQ(p.sum, 3 + 30 + 300);
    CHECK_EQ(p.which, 1);        /* the yield beat the 50 ms add */
    CHECK_EQ(p.err, -EIO);
    CHECK_EQ(now_ms() - t0, 30 + 20); /* the JOIN took the longer child */
    CHECK_EQ(timer_wheel_count(&ex.timers), 0); /* the SELECT loser is gone */
    exec_destroy(&ex);
}

static void test_spawned_and_dropped(void) {
    add_t a = ASYNC_NEW(add, .a = 1, .b = 1, .ms = 1000);
    exec_task_t t = {0};
    setup();
    CHECK_EQ(exec_spawn(&t, &ex, &a), 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(exec_task_err(&t), 0);
    CHECK_EQ(a.out, 2);
    /* Dropped while it sleeps: its timer goes with it. */
    a = ASYNC_NEW(add, .ms = 1000);
    CHECK_EQ(exec_spawn(&t, &ex, &a), 0);
    exec_clock_advance(&ex, TIMER_MS); /* not due yet */
    {
        nothing_t n = ASYNC_NEW(nothing);
        CHECK_EQ(exec_block_on(&ex, &n), 0); /* lets the task start sleeping */
    }
    CHECK_EQ(timer_wheel_count(&ex.timers), 1);
    exec_abort(&t);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    CHECK_EQ(exec_task_err(&t), -ECANCELED);
    CHECK_EQ(future_err(&a), -ECANCELED);
    exec_destroy(&ex);
}

static void test_reinit_by_assignment(void) {
    add_t a;
    int i;
    setup();
    for (i = 0; i < 3; i++) { /* a finished frame is made fresh by assigning */
        a = ASYNC_NEW(add, .a = i, .b = i, .ms = 1);
        CHECK_EQ(exec_block_on(&ex, &a), 0);
        CHECK_EQ(a.out, 2 * i);
    }
    exec_destroy(&ex);
}

/* ASYNC_FN_INLINE: the same behaviour, its poll inlined where it is
 * first polled (clang). A leaf that is ready at once, sleeps, or fails;
 * a middle link awaiting it with AWAIT_TRY; the whole chain in one frame. */
ASYNC_FN_INLINE(inl_leaf, long x; uint64_t ms; int code; timer_sleep_t nap; long out;) {
    ASYNC_BEGIN(f);
    if (f->ms) {
        timer_sleep_init(&f->nap, f->ms * TIMER_MS);
        AWAIT(cx, &f->nap);
    }
    if (f->code) ASYNC_RETURN(f->code);
    f->out = f->x + 1;
    ASYNC_END();
}

ASYNC_FN_INLINE(inl_mid, long x; uint64_t ms; int code; inl_leaf_t leaf; long out; int after;) {
    ASYNC_BEGIN(f);
    future_init(&f->leaf, inl_leaf_poll, 0);
    f->leaf.x = f->x;
    f->leaf.ms = f->ms;
    f->leaf.code = f->code;
    AWAIT_TRY(cx, &f->leaf);
    f->after++;
    f->out = f->leaf.out * 10;
    ASYNC_END();
}

static void test_inline_fn_chain(void) {
    inl_mid_t m;
    timer_sleep_t nap;
    uint64_t t0;
    exec_task_t t = {0};
    future_waker_t w = {0};
    future_cx_t cx = {0};
    setup();
    /* Ready at once: one poll, nothing linked. */
    m = ASYNC_NEW(inl_mid, .x = 4);
    cx.waker = &w;
    CHECK_EQ(future_poll(&m, &cx), CORO_READY);
    CHECK_EQ(m.out, 50);
    CHECK(m.fut.child == 0);
    /* Fails at once: the error, the rest skipped. */
    m = ASYNC_NEW(inl_mid, .x = 4, .code = -EPERM);
    CHECK_EQ(future_poll(&m, &cx), CORO_READY);
    CHECK_EQ(future_err(&m), -EPERM);
    CHECK_EQ(m.after, 0);
    /* Sleeps: suspends through the inlined poll, resumes through the
     * header's pointer, on the paused clock. */
    m = ASYNC_NEW(inl_mid, .x = 1, .ms = 30);
    t0 = now_ms();
    CHECK_EQ(exec_block_on(&ex, &m), 0);
    CHECK_EQ(m.out, 20);
    CHECK_EQ(now_ms() - t0, 30);
    /* Dropped while the leaf sleeps: its timer is unlinked (ASan would
     * see a dangling one at exec_destroy). */
    m = ASYNC_NEW(inl_mid, .x = 1, .ms = 1000);
    CHECK_EQ(exec_spawn(&t, &ex, &m), 0);
    timer_sleep_init(&nap, 10 * TIMER_MS); /* m runs meanwhile */
    CHECK_EQ(exec_block_on(&ex, &nap), 0);
    CHECK(m.fut.child == &m.leaf.fut);
    exec_abort(&t);
    timer_sleep_init(&nap, 10 * TIMER_MS);
    CHECK_EQ(exec_block_on(&ex, &nap), 0);
    CHECK_EQ(future_err(&m), FUTURE_ECANCELED);
    CHECK(future_done(&m.leaf));
    exec_destroy(&ex);
}

int main(void) {
    RUN(test_frame_is_a_plain_struct);
    RUN(test_runs_with_named_arguments);
    RUN(test_children_await_join_select_try);
    RUN(test_spawned_and_dropped);
    RUN(test_reinit_by_assignment);
    RUN(test_inline_fn_chain);
    return check_summary();
}
