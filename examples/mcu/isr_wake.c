/* isr_wake.c - a task woken from an interrupt handler, on a Cortex-M
 * (exec.h's bare backend). The SysTick handler's hook calls
 * exec_isr_wake(&remote) every 5 ms; the task waits for those wakes
 * through the exec_remote_t, counts 3 of them, and ends. Between wakes
 * the loop's idle hook sleeps in WFI, under the rule that makes it safe:
 * mask interrupts, look at exec_wake_pending, WFI, unmask.
 *
 * The task's side of the rules: register the waker
 * (exec_remote_set_waker) before looking at the event, then wait; an
 * interrupt that lands between the look and the wait is kept by the
 * handle's flag and wakes the task at once. The handler's side: no wake
 * of a handle before exec_remote_init or after exec_remote_close began
 * (the `armed` flag here).
 * Expected output:
 *
 *     wake 1 at 5 ms
 *     wake 2 at 10 ms
 *     wake 3 at 15 ms
 *     3 interrupts, done at 15 ms
 */
#include "bare.h"

/* Shared with the interrupt handler, hence static (a handler has no
 * argument to find them through). */
static exec_remote_t remote;
static volatile uint32_t events; /* interrupts that woke the handle */
static volatile uint8_t armed;   /* the handle may be woken */

/* From the SysTick handler, every tick: every 5th one is an "event". */
void board_tick_hook(void) {
    static uint8_t n;
    if (!armed || ++n < 5) return;
    n = 0;
    events++;
    exec_isr_wake(&remote);
}


/* async fn waiter(): wait for 3 events */
ASYNC_FN(waiter, uint32_t seen; uint32_t n;) {
    ASYNC_BEGIN(f);
    for (f->n = 1; f->n <= 3; f->n++) {
        exec_remote_set_waker(&remote, cx->waker); /* first register, */
        AWAIT_UNTIL(events != f->seen);            /* then look */
        f->seen = events;
        board_puts("wake ");
        board_putu(f->n);
        board_puts(" at ");
        board_putu(board_ms(exec_of(cx)));
        board_puts(" ms\n");
    }
    ASYNC_END();
}

int main(void) {
    static exec_t ex;
    static waiter_t w;
    int rc;
    board_start(0xFFFFFFF8u, 1000);
    rc = board_exec_init(&ex);
    if (rc) return 1;
    exec_remote_init(&remote, &ex);
    armed = 1;
    future_init(&w, waiter_poll, 0);
    rc = exec_block_on(&ex, &w);
    armed = 0; /* from here no interrupt wakes the handle: it may close */
    exec_remote_close(&remote);
    board_putu(events);
    board_puts(" interrupts, done at ");
    board_putu(board_ms(&ex));
    board_puts(" ms\n");
    exec_destroy(&ex);
    return rc;
}
