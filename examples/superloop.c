/* superloop: futures on a microcontroller-style main loop, with only
 * coro.h and future.h (no OS, no libc inside the futures). A "SysTick"
 * counter stands in for a hardware timer: each loop pass is one tick (1 ms).
 * Two blinkers and a sensor poll run as futures; the loop polls only the
 * futures whose waker fired, and stops when all are done.
 *
 * The counter is a wrapping 32-bit one, as on a board, and starts 256 ms
 * before it wraps (as on a board up for 49.7 days): every comparison of
 * ticks is wrap-safe, (int32_t)(now - due) >= 0, never now >= due. A wake
 * flag is what an interrupt handler would set: a volatile sig_atomic_t,
 * the type C lets a handler write. (examples/mcu/ runs the same ideas on
 * an emulated Cortex-M, with real interrupts.) */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include "../future.h"

enum { NTASKS = 3, NDELAYS = 8 };
#define TICK0 0xFFFFFF00u /* where the counter starts: 256 ticks before the wrap */

/* The board: the tick counter, a tiny table of pending delays, tasks. */
typedef struct {
    uint32_t tick;
    struct { uint32_t due; future_waker_t *waker; } delay[NDELAYS];
    struct task { future_waker_t waker; volatile sig_atomic_t woken; future_t *fut; } task[NTASKS];
} board_t;

/* Has tick `due` come? The difference of two wrapping counts, read as
 * signed, orders them while they are less than 2^31 ticks apart (24 days
 * at 1 kHz); now >= due would call a due tick just past the wrap "long
 * ago" and one just before it "not yet" forever. */
static int tick_reached(uint32_t now, uint32_t due) { return (int32_t)(now - due) >= 0; }

/* Milliseconds since the loop started, for the log. */
static unsigned long ms(const board_t *b) { return (unsigned long)(uint32_t)(b->tick - TICK0); }

static void task_wake(future_waker_t *w) { ((struct task *)(void *)w)->woken = 1; }

/* A leaf future: ready once the tick counter reaches due. */
typedef struct { future_t fut; uint32_t ms, due; int slot; future_waker_t **entry; } delay_t;

static coro_poll_t delay_poll(future_t *self, future_cx_t *cx) {
    delay_t *d = (delay_t *)self;
    board_t *b = (board_t *)cx->exec;
    if (d->slot < 0) { /* first poll: take a slot in the delay table */
        d->due = b->tick + d->ms;
        for (d->slot = 0; b->delay[d->slot].waker; d->slot++) {}
        d->entry = &b->delay[d->slot].waker;
    }
    if (tick_reached(b->tick, d->due)) {
        *d->entry = 0;
        return future_finish(self, 0);
    }
    b->delay[d->slot].due = d->due;
    *d->entry = cx->waker;
    return CORO_PENDING;
}

/* Dropped while waiting (say, the loser of a SELECT): free the slot. */
static void delay_release(future_t *self) {
    delay_t *d = (delay_t *)self;
    if (d->entry) *d->entry = 0;
}

static void delay_init(delay_t *d, uint32_t ms) {
    future_init(&d->fut, delay_poll, delay_release);
    d->ms = ms;
    d->slot = -1;
    d->entry = 0;
}

/* async fn blink(led, period, times) */
typedef struct { future_t fut; const char *led; uint32_t period; int n, on; delay_t d; } blink_t;

static coro_poll_t blink_poll(future_t *self, future_cx_t *cx) {
    blink_t *f = (blink_t *)self;
    board_t *b = (board_t *)cx->exec;
    ASYNC_BEGIN(f);
    for (; f->n > 0; f->n--) {
        f->on = !f->on;
        printf("%5lu ms  %s %s\n", ms(b), f->led, f->on ? "on" : "off");
        delay_init(&f->d, f->period);
        AWAIT(cx, &f->d);
    }
    ASYNC_END();
}

/* async fn sensor(): three readings 400 ms apart, in a JOIN with a delay */
typedef struct { future_t fut; int i; delay_t settle, gap; } sensor_t;

static coro_poll_t sensor_poll(future_t *self, future_cx_t *cx) {
    sensor_t *f = (sensor_t *)self;
    board_t *b = (board_t *)cx->exec;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < 3; f->i++) {
        delay_init(&f->settle, 50);
        delay_init(&f->gap, 400);
        JOIN(cx, &f->settle, &f->gap); /* both delays run at once: 400 ms */
        printf("%5lu ms  sensor reading %d\n", ms(b), f->i + 1);
    }
    ASYNC_END();
}

int main(void) {
    board_t b = {0};
    blink_t red = {0}, green = {0};
    sensor_t sensor = {0};
    future_cx_t cx = {0};
    int i, left = NTASKS;
    future_init(&red, blink_poll, 0), red.led = "red", red.period = 250, red.n = 6;
    future_init(&green, blink_poll, 0), green.led = "green", green.period = 400, green.n = 4;
    future_init(&sensor, sensor_poll, 0);
    b.task[0].fut = &red.fut, b.task[1].fut = &green.fut, b.task[2].fut = &sensor.fut;
    cx.exec = &b;
    b.tick = TICK0;
    for (i = 0; i < NTASKS; i++) b.task[i].waker.wake = task_wake, b.task[i].woken = 1;
    /* The super loop: fire due delays, poll woken tasks, tick. */
    for (; left > 0; b.tick++) {
        for (i = 0; i < NDELAYS; i++)
            if (b.delay[i].waker && tick_reached(b.tick, b.delay[i].due)) future_wake(b.delay[i].waker);
        for (i = 0; i < NTASKS; i++) {
            if (!b.task[i].woken || future_done(b.task[i].fut)) continue;
            b.task[i].woken = 0;
            cx.waker = &b.task[i].waker;
            if (future_poll(b.task[i].fut, &cx) == CORO_READY) left--;
        }
    }
    printf("the tick counter wrapped on the way: it reads %lu\n", (unsigned long)b.tick);
    printf("all done at %lu ms\n", ms(&b));
    return 0;
}
