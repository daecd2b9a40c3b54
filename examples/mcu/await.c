/* await.c - one async function awaiting a child, on a Cortex-M: coro.h
 * and future.h only, driven by hand.h's loop (a waker that sets a flag,
 * WFI while nothing is to do, the SysTick interrupt as the event). The
 * tick starts 3 ticks before the 32-bit wrap, so the child's wait crosses
 * it.
 * Expected output:
 *
 *     result 10 at tick 2
 */
#include "hand.h"

/* async fn child(ms) -> ms * 2, after ms ticks */
ASYNC_FN(child, uint32_t ms, due, out;) {
    ASYNC_BEGIN(f);
    f->due = board_tick + f->ms;
    AWAIT_UNTIL(hand_until(cx, f->due));
    f->out = f->ms * 2;
    ASYNC_END();
}

ASYNC_FN(parent, child_t c;) {
    ASYNC_BEGIN(f);
    f->c = ASYNC_NEW(child, .ms = 5);
    AWAIT(cx, &f->c);
    board_puts("result ");
    board_putu(f->c.out);
    hand_say(" at tick ", board_tick);
    ASYNC_END();
}

int main(void) {
    static parent_t p; /* static: counted in the size table's bss */
    board_start(0xFFFFFFFDu, 1000);
    future_init(&p, parent_poll, 0);
    return hand_run(&p.fut);
}
