/* bare.h - what tasks.c and isr_wake.c share: exec.h on its bare backend,
 * with the executor's clock read from the SysTick count and its idle time
 * spent in WFI. board_exec_init(&ex) sets an executor up with both.
 *
 * The idle hook follows the rule that makes sleeping safe beside
 * interrupt wakes (exec_isr_wake): mask interrupts, look for a wake that
 * came in, WFI only if none did (a pending interrupt ends WFI even while
 * masked), unmask. A wake that lands just before the WFI is not slept
 * through. */
#ifndef BARE_H
#define BARE_H

#define EXEC_BACKEND_BARE 1
#include "board.h"
#include "../../exec.h"

/* The executor's clock: the SysTick count (1 kHz, so 1 ms a tick). It
 * wraps every 49.7 days; exec_set_tick_clock makes that time going on. */
static uint32_t tick_read(void *ctx) {
    (void)ctx;
    return board_tick;
}

/* Nothing to run: sleep until an interrupt. SysTick comes every tick, so
 * no deadline is overslept by more than one; a tickless board would set a
 * one-shot timer for `deadline` here. */
static void idle(exec_t *ex, uint64_t deadline, void *ctx) {
    (void)deadline;
    (void)ctx;
    board_irq_off();
    if (!exec_wake_pending(ex)) board_wfi();
    board_irq_on();
}

/* exec_init, then the board's clock and idle hook. 0 or exec_init's error. */
static int board_exec_init(exec_t *ex) {
    int rc = exec_init(ex);
    if (rc) return rc;
    exec_set_tick_clock(ex, tick_read, 0, TIMER_MS);
    exec_set_idle(ex, idle, 0);
    return 0;
}

#endif /* BARE_H */
