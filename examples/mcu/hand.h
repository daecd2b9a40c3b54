/* hand.h - what await.c and join.c share: an alarm that the SysTick
 * interrupt fires, and a hand-written loop that polls one future until it
 * is ready, sleeping in WFI in between. coro.h + future.h only: no
 * executor, no timer wheel.
 *
 * An async body waits for tick `due` with
 *     AWAIT_UNTIL(hand_until(cx, f->due));
 * which registers the waker, then checks (the rule for any event an
 * interrupt signals: register first, so that an interrupt between the
 * check and the return finds the waker there).
 *
 * One loop runs one future, and JOIN / SELECT hand their children the
 * loop's waker unchanged: so the alarm keeps a single waker, and the
 * earliest deadline asked for since it last fired. A body that stops
 * waiting (a SELECT's loser, dropped) leaves its deadline behind: at worst
 * one wake with nothing to do, never a lost one. */
#ifndef HAND_H
#define HAND_H

#include "board.h"
#include "../../future.h"

/* The alarm, shared with the interrupt handler: written with interrupts
 * masked, read in the handler. */
static future_waker_t *volatile hand_alarm_waker;
static volatile uint32_t hand_alarm_due;

/* Set by the loop's waker (from the interrupt handler, or from a poll that
 * wakes itself); a byte store, whole on any core. */
static volatile uint8_t hand_woken;

/* Has tick `due` come? Wrap-safe: the difference of two wrapping counts,
 * read as signed, orders them while they are less than 2^31 ticks apart
 * (24 days at 1 kHz). `board_tick >= due` would be wrong once the counter
 * wraps. */
static int hand_reached(uint32_t due) { return (int32_t)(board_tick - due) >= 0; }

/* From the SysTick handler: wake the loop once the earliest deadline has
 * come. */
void board_tick_hook(void) {
    future_waker_t *w = hand_alarm_waker;
    if (w && hand_reached(hand_alarm_due)) {
        hand_alarm_waker = 0;
        future_wake(w);
    }
}

/* Arm the alarm for tick `due` (keeping an earlier deadline), then say
 * whether it has come. */
static int hand_until(future_cx_t *cx, uint32_t due) {
    board_irq_off();
    if (!hand_alarm_waker || (int32_t)(due - hand_alarm_due) < 0) hand_alarm_due = due;
    hand_alarm_waker = cx->waker;
    board_irq_on();
    return hand_reached(due);
}

static void hand_wake(future_waker_t *w) {
    (void)w;
    hand_woken = 1;
}

/* Poll f until it is ready; sleep while nobody woke it. The idle rule:
 * mask interrupts, re-check the flag, WFI (a masked interrupt still ends
 * it), unmask (the handler runs now). Checking with interrupts on would
 * lose a wake that lands between the check and the WFI: the core would
 * sleep until some later interrupt. */
static int hand_run(future_t *f) {
    static future_waker_t waker = {hand_wake};
    future_cx_t cx;
    future_cx_init(&cx, &waker);
    for (;;) {
        hand_woken = 0;
        if (future_poll(f, &cx) == CORO_READY) break;
        board_irq_off();
        while (!hand_woken) {
            board_wfi();
            board_irq_on();
            board_irq_off();
        }
        board_irq_on();
    }
    hand_alarm_waker = 0; /* a dropped body's deadline: nobody waits now */
    return future_err(f);
}

/* "label N\n" */
static void hand_say(const char *label, uint32_t n) {
    board_puts(label);
    board_putu(n);
    board_puts("\n");
}

#endif /* HAND_H */
