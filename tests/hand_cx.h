/* hand_cx.h - polling a future by hand, without an executor: a waker that
 * counts its wakes, and a context with a budget the test sets.
 *
 *     #include "check.h"
 *     #include "../sync.h"
 *     #include "hand_cx.h"                 // after the library's headers
 *
 *     wakes = 0;
 *     CHECK_EQ(POLL(&lock, -1), CORO_PENDING);   // no budget limit
 *     ...
 *     CHECK_EQ(wakes, 1);                  // the release woke it
 *     CHECK_EQ(POLL(&lock, 0), CORO_PENDING);    // budget spent: re-queued
 *
 * One context at a time (POLL rebuilds it): what a test of one future's
 * suspension points needs, and what sync, token and bcast tests share. */
#ifndef HAND_CX_H
#define HAND_CX_H

static int wakes; /* count_wake's calls since the test last zeroed it */

static inline void count_wake(future_waker_t *w) {
    (void)w;
    wakes++;
}

static future_waker_t waker = {count_wake};
static int budget;
static future_cx_t the_cx;

/* A context whose budget is b units (-1: unlimited). */
static inline future_cx_t *cx_budget(int b) {
    future_cx_init(&the_cx, &waker);
    budget = b;
    the_cx.budget = b < 0 ? 0 : &budget;
    return &the_cx;
}

#define POLL(fut, b) future_poll(FUTURE_OF(fut), cx_budget(b))

#endif /* HAND_CX_H */
