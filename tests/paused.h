/* paused.h - what the I/O, sync and fs tests share: an executor on the
 * paused clock, and two drivers for one future under test.
 *
 *     #include "check.h"
 *     #include "../io.h"
 *     #include "paused.h"                     // after the library's headers
 *
 *     paused_init(&ex);                       // exec_init, quiet, paused
 *     CHECK_EQ(paused_run1(&ex, &rd.fut), 0);  // await it: its error
 *     paused_run1_at(&ex, &rd.fut, &t);        // ... and when it ended
 *     CHECK_EQ(paused_race(&ex, &rd.fut, 5), 1); // dropped after 5 ms
 *
 * paused_race is how a test drops a future at a suspension point: it
 * selects the future against a sleep, so when the future is still
 * waiting after ms (of the paused clock, which jumps to the sleep's
 * deadline once nothing is runnable) the SELECT drops it. Everything is
 * static inline: a test that uses one helper gets no unused-function
 * warning for the others. */
#ifndef PAUSED_H
#define PAUSED_H

/* exec_init (abort on failure), no stall log, the clock paused. */
static inline void paused_init(exec_t *ex) {
    if (exec_init(ex)) abort();
    ex->log = 0;
    exec_clock_pause(ex);
}

/* ---- paused_run1: await one future ---- */

typedef struct {
    future_t fut;
    future_t *child;
    int err;
    uint64_t at; /* exec_now when the child finished */
} paused_await_t;

static inline coro_poll_t paused_await_poll(future_t *self, future_cx_t *cx) {
    paused_await_t *f = (paused_await_t *)(void *)self;
    ASYNC_BEGIN(f);
    AWAIT(cx, f->child);
    f->err = future_err(f->child);
    f->at = exec_now(exec_of(cx));
    ASYNC_END();
}

/* Run child to its end on ex: its error, or -9999 if the loop failed;
 * *at (if not 0): the paused clock when it finished. */
static inline int paused_run1_at(exec_t *ex, future_t *child, uint64_t *at) {
    paused_await_t a;
    future_init(&a.fut, paused_await_poll, 0);
    a.child = child;
    a.err = 12345;
    a.at = 0;
    if (exec_block_on(ex, &a.fut)) return -9999;
    if (at) *at = a.at;
    return a.err;
}

static inline int paused_run1(exec_t *ex, future_t *child) { return paused_run1_at(ex, child, 0); }

/* ---- paused_race: a future against a sleep ---- */

typedef struct {
    future_t fut;
    future_t *child;
    timer_sleep_t nap;
    uint64_t ms;
    int which;
} paused_race_t;

static inline coro_poll_t paused_race_poll(future_t *self, future_cx_t *cx) {
    paused_race_t *f = (paused_race_t *)(void *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    SELECT(cx, f->which, f->child, &f->nap);
    ASYNC_END();
}

/* Run child for at most ms: 0 it finished (future_err has its result),
 * 1 it was still waiting and has been dropped, -1 the loop failed. */
static inline int paused_race(exec_t *ex, future_t *child, uint64_t ms) {
    paused_race_t r;
    future_init(&r.fut, paused_race_poll, 0);
    r.child = child;
    r.ms = ms;
    r.which = -1;
    if (exec_block_on(ex, &r.fut)) return -1;
    return r.which;
}

#endif /* PAUSED_H */
