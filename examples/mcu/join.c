/* join.c - JOIN and SELECT on a Cortex-M: coro.h and future.h only,
 * driven by hand.h's loop. Two waits joined end together at the longer
 * one; a SELECT of a short and a long wait ends with the short one and
 * drops the other. The tick starts just before the 32-bit wrap.
 * Expected output:
 *
 *     join done at tick 5
 *     select: branch 0 won at tick 7
 */
#include "hand.h"

/* async fn nap(ms): wait ms ticks */
ASYNC_FN(nap, uint32_t ms, due;) {
    ASYNC_BEGIN(f);
    f->due = board_tick + f->ms;
    AWAIT_UNTIL(hand_until(cx, f->due));
    ASYNC_END();
}

ASYNC_FN(parent, nap_t a, b; int which;) {
    ASYNC_BEGIN(f);
    f->a = ASYNC_NEW(nap, .ms = 3);
    f->b = ASYNC_NEW(nap, .ms = 7);
    JOIN(cx, &f->a, &f->b);
    hand_say("join done at tick ", board_tick);
    f->a = ASYNC_NEW(nap, .ms = 2);
    f->b = ASYNC_NEW(nap, .ms = 1000);
    SELECT(cx, f->which, &f->a, &f->b);
    board_puts("select: branch ");
    board_putu((uint32_t)f->which);
    hand_say(" won at tick ", board_tick);
    ASYNC_END();
}

int main(void) {
    static parent_t p; /* static: counted in the size table's bss */
    board_start(0xFFFFFFFEu, 1000);
    future_init(&p, parent_poll, 0);
    return hand_run(&p.fut);
}
