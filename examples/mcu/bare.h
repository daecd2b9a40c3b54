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
 * wraps every 49.7 days; exec_set_tick_clock makes that time going on.
 * With EXEC_TICK_TIME (mcu.sh's builds) the executor counts these ticks
 * as they are, 32-bit and wrapping: a ms is 1 (BOARD_MS) and exec_now is
 * in ms; without it, time is 64-bit ns extended from the count. */
#ifdef EXEC_TICK_TIME
#define BOARD_MS 1u
#define board_ms(ex) ((uint32_t)exec_now(ex))
#else
#define BOARD_MS TIMER_MS
/* In 32 bits: these programs run for ms, and a 64-bit division would
 * bring in libgcc's. */
#define board_ms(ex) ((uint32_t)exec_now(ex) / 1000000u)
#endif

static uint32_t tick_read(void *ctx) {
    (void)ctx;
    return board_tick;
}

/* Nothing to run: sleep until an interrupt. SysTick comes every tick, so
 * no deadline is overslept by more than one; a tickless board would set a
 * one-shot timer for `deadline` here. */
static void idle(exec_t *ex, timer_time_t deadline, void *ctx) {
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
    exec_set_tick_clock(ex, tick_read, 0, BOARD_MS); /* ns a tick (tick time: unread) */
    exec_set_idle(ex, idle, 0);
    return 0;
}

#endif /* BARE_H */
