/* Tests of exec.h's bare backend (no OS), run on the host: a simulated
 * board. Its clock is a wrapping 32-bit millisecond tick that the idle hook
 * moves forward (as time passes while a board sleeps in WFI), and its
 * "interrupts" are calls the hook makes before it returns, the way an IRQ
 * ends a WFI. Covers: sleeps on the wheel, the tick's wrap (once and many
 * times over), the idle hook's deadline and its cap at half the wrap,
 * interrupt wakes (coalesced, never lost while the loop looks), spawn,
 * join and abort, stalls, the paused clock.
 *
 * Built again with -DEXEC_TICK_TIME (tests/wheel_knobs.sh): the executor
 * then counts the board's ms ticks as they are, 32-bit and wrapping (MS
 * is 1); the same tests, with the ones only tick time has (its own wrap,
 * a sleep of 2^31 ticks or more being "never", intervals across the
 * wrap, exec_clock_advance past 2^31). */
#define EXEC_BACKEND_BARE 1
#include "check.h"
#include "../exec.h"
#include <unistd.h> /* alarm: the test itself runs on the host */

#if defined(EXEC_HAVE_STDIO_) || defined(EXEC_HAVE_THREADS_) || defined(EXEC_HAVE_FDS_)
#error "the bare backend must pull in no stdio, threads or fds"
#endif

static exec_t ex;

/* A ms in the executor's time: ns, or (tick time) one board tick. */
#ifdef EXEC_TICK_TIME
#define MS 1u
#define WAIT_CAP ((uint64_t)INT32_MAX) /* the longest idle wait, in ticks */
#else
#define MS TIMER_MS
#define WAIT_CAP (((uint64_t)1 << 31) * TIMER_MS)
#endif

/* ---- the simulated board ---------------------------------------------- */

static uint32_t tick;          /* the board's 1 kHz counter: wraps */
static int idles;              /* idle hook calls */
static uint64_t last_wait;     /* the hook's last deadline - now, or TIMER_NEVER */
static uint64_t max_wait;      /* the longest wait it was asked for (ns) */
static exec_remote_t *irq;     /* a handle the "interrupt" wakes, or 0 */
static int irq_every;          /* ... every that many ticks of sleep (0: never) */
static int irq_count;

static uint32_t board_tick(void *ctx) {
    (void)ctx;
    return tick;
}

/* Sleeps until the deadline (time jumps there), or until the next
 * interrupt if that comes first: as WFI does. */
static void board_idle(exec_t *e, timer_time_t deadline, void *ctx) {
#ifdef EXEC_TICK_TIME /* deadline is at most INT32_MAX ticks ahead */
    uint32_t in = deadline - exec_now(e);
    (void)ctx;
    idles++;
    last_wait = in;
    CHECK(!exec_wake_pending(e));
    CHECK(in > 0 && in <= INT32_MAX);
    if (in > max_wait) max_wait = in;
    if (irq && irq_every) {
        tick += (uint32_t)irq_every;
        irq_count++;
        exec_isr_wake(irq);
        return;
    }
    tick += in;
#else
    uint64_t now = exec_now(e), ticks;
    (void)ctx;
    idles++;
    last_wait = deadline == TIMER_NEVER ? TIMER_NEVER : deadline - now;
    CHECK(!exec_wake_pending(e)); /* the loop looked before it slept */
    if (deadline != TIMER_NEVER && deadline - now > max_wait) max_wait = deadline - now;
    if (irq && irq_every) {
        tick += (uint32_t)irq_every;
        irq_count++;
        exec_isr_wake(irq);
        return;
    }
    if (deadline == TIMER_NEVER) return; /* nothing to wait for: a spurious return */
    ticks = (deadline - now + TIMER_MS - 1) / TIMER_MS; /* never early */
    tick += (uint32_t)ticks;
#endif
}

static void setup(uint32_t start) {
    CHECK_EQ(exec_init(&ex), 0);
    tick = start;
    idles = 0;
    irq = 0;
    irq_every = 0;
    irq_count = 0;
    max_wait = 0;
    exec_set_tick_clock(&ex, board_tick, 0, MS);
    exec_set_idle(&ex, board_idle, 0);
}

/* ---- futures ---------------------------------------------------------- */

ASYNC_FN(nap, uint64_t ms; timer_sleep_t s; uint64_t woke;) {
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->s, (timer_time_t)(f->ms * MS));
    AWAIT(cx, &f->s);
    f->woke = exec_now(exec_of(cx));
    ASYNC_END();
}

/* Waits for n interrupt wakes through a remote handle. */
ASYNC_FN(irq_wait, int n; int seen; exec_remote_t r;) {
    ASYNC_BEGIN(f);
    exec_remote_init(&f->r, exec_of(cx));
    irq = &f->r;
    while (f->seen < f->n) {
        exec_remote_set_waker(&f->r, cx->waker);
        YIELD(); /* pending, woken by nothing but the interrupt */
        f->seen++;
    }
    ASYNC_END();
}

/* ---- tests ------------------------------------------------------------ */

static void test_two_sleeps_wake_in_order(void) {
    nap_t a = ASYNC_NEW(nap, .ms = 20), b = ASYNC_NEW(nap, .ms = 10);
    exec_task_t ta = {0}, tb = {0};
    setup(1000);
    CHECK_EQ(exec_spawn(&ta, &ex, &a), 0);
    CHECK_EQ(exec_spawn(&tb, &ex, &b), 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(b.woke, 10 * MS);
    CHECK_EQ(a.woke, 20 * MS);
    /* A sleep per deadline, and maybe one per wheel cascade: no spinning. */
    CHECK(idles >= 2 && idles <= 8);
    exec_destroy(&ex);
}

static void test_sleep_across_the_wrap(void) {
    nap_t a = ASYNC_NEW(nap, .ms = 1000);
    setup(0xFFFFFF00u); /* 256 ms before the counter wraps */
    CHECK_EQ(exec_block_on(&ex, &a), 0);
    CHECK_EQ(a.woke, 1000 * MS);
    CHECK(tick < 1000); /* it did wrap */
    exec_destroy(&ex);
}

/* A sleep longer than the counter's whole range (2^32 ms = 49.7 days):
 * the loop wakes at least every 2^31 ticks to read it, and never loses a
 * wrap. */
#ifndef EXEC_TICK_TIME
static void test_sleep_over_many_wraps(void) {
    nap_t a = ASYNC_NEW(nap, .ms = 3 * ((uint64_t)1 << 32) + 5);
    setup(0x7FFFFFF0u);
    CHECK_EQ(exec_block_on(&ex, &a), 0);
    CHECK_EQ(a.woke, (3 * ((uint64_t)1 << 32) + 5) * TIMER_MS);
    CHECK(max_wait <= ((uint64_t)1 << 31) * TIMER_MS);
    CHECK(idles >= 6);
    exec_destroy(&ex);
}
#else
/* Tick time: the longest sleep, 2^31 - 1 ticks, across the counter's
 * wrap and the executor's; one tick more is "never" (nothing can wake the
 * task then: a stall). */
static void test_sleep_over_many_wraps(void) {
    nap_t a = ASYNC_NEW(nap, .ms = TIMER_TICK_MAX), b = ASYNC_NEW(nap, .ms = (uint64_t)TIMER_TICK_MAX + 1);
    nap_t c = ASYNC_NEW(nap, .ms = TIMER_NEVER);
    setup(0x7FFFFFF0u);
    exec_clock_advance(&ex, 0xFFFFFF00u); /* two steps: past 2^31 */
    CHECK_EQ(exec_now(&ex), 0xFFFFFF00u);
    CHECK_EQ(tick, 0x7FFFFFF0u); /* the offset moved, not the board */
    CHECK_EQ(exec_block_on(&ex, &a), 0);
    CHECK_EQ(a.woke, (uint32_t)(0xFFFFFF00u + TIMER_TICK_MAX));
    CHECK(max_wait <= INT32_MAX);
    CHECK_EQ(tick, (uint32_t)(0x7FFFFFF0u + TIMER_TICK_MAX));
    CHECK_EQ(exec_block_on(&ex, &b), -EDEADLK);
    CHECK_EQ(exec_block_on(&ex, &c), -EDEADLK);
    exec_destroy(&ex);
}
#endif

static void test_interrupt_wakes_a_task(void) {
    irq_wait_t w = ASYNC_NEW(irq_wait, .n = 3);
    setup(0);
    irq_every = 5;
    CHECK_EQ(exec_block_on(&ex, &w), 0);
    CHECK_EQ(w.seen, 3);
    CHECK_EQ(irq_count, 3);
#if EXEC_STATS
    CHECK_EQ(ex.stats.remote, 3);
#endif
    /* No timer: the hook may sleep until an IRQ, but no longer than half
     * the tick counter's wrap (the loop must read it before it wraps). */
    CHECK_EQ(last_wait, WAIT_CAP);
    exec_remote_close(&w.r);
    CHECK_EQ(ex.nremote, 0);
    exec_destroy(&ex);
}

static int woken;
static void count_wake(future_waker_t *w) {
    (void)w;
    woken++;
}

/* Many interrupt wakes before the loop looks count as one; a wake that
 * lands while the loop is delivering is kept for the next look. */
static void test_wakes_coalesce_and_are_not_lost(void) {
    exec_remote_t r1, r2;
    future_waker_t w = {count_wake};
    setup(0);
    exec_remote_init(&r1, &ex);
    exec_remote_init(&r2, &ex);
    exec_remote_set_waker(&r1, &w);
    exec_remote_set_waker(&r2, &w);
    CHECK(!exec_wake_pending(&ex));
    woken = 0;
    exec_isr_wake(&r1);
    exec_isr_wake(&r1);
    exec_isr_wake(&r1);
    CHECK(exec_wake_pending(&ex));
    exec_drain_remote_(&ex);
    CHECK_EQ(woken, 1);
    CHECK(!exec_wake_pending(&ex));
    exec_drain_remote_(&ex); /* nothing new */
    CHECK_EQ(woken, 1);
    exec_isr_wake(&r2);
    exec_isr_wake(&r1);
    exec_drain_remote_(&ex);
    CHECK_EQ(woken, 3);
    exec_remote_close(&r1);
    exec_isr_wake(&r2);
    exec_drain_remote_(&ex);
    CHECK_EQ(woken, 4);
    exec_remote_close(&r2);
    CHECK_EQ(ex.nremote, 0);
    exec_destroy(&ex);
}

/* The waker of the first handle wakes the second, as an interrupt that
 * lands while the loop delivers would: delivered in the same drain or the
 * next, never lost. */
static exec_remote_t *chain_next;
static void chain_wake(future_waker_t *w) {
    (void)w;
    woken++;
    if (chain_next) exec_isr_wake(chain_next), chain_next = 0;
}

/* A handle initialised again while open would link it twice into the
 * list the drain walks (a loop): refused with a report. */
static void test_remote_init_of_an_open_handle_is_refused(void) {
    exec_remote_t r;
    future_waker_t w = {count_wake};
    setup(0);
    exec_remote_init(&r, &ex);
    CHECK_MISUSE(exec_remote_init(&r, &ex), "open");
    CHECK_EQ(ex.nremote, 1);
    exec_remote_set_waker(&r, &w);
    woken = 0;
    exec_isr_wake(&r);
    exec_drain_remote_(&ex); /* returns: no loop */
    CHECK_EQ(woken, 1);
    exec_remote_close(&r);
    CHECK_EQ(ex.nremote, 0);
    CHECK(ex.remote == 0);
    exec_destroy(&ex);
}

static void test_a_wake_during_the_drain_is_kept(void) {
    exec_remote_t r1, r2;
    future_waker_t w1 = {chain_wake}, w2 = {count_wake};
    setup(0);
    exec_remote_init(&r1, &ex); /* r1 is walked after r2 (newest first) */
    exec_remote_init(&r2, &ex);
    exec_remote_set_waker(&r1, &w1);
    exec_remote_set_waker(&r2, &w2);
    woken = 0;
    chain_next = &r2;
    exec_isr_wake(&r1);
    exec_drain_remote_(&ex);
    CHECK_EQ(woken, 1);            /* r2 was already passed in this walk */
    CHECK(exec_wake_pending(&ex)); /* ... so the flag says: look again */
    exec_drain_remote_(&ex);
    CHECK_EQ(woken, 2);
    exec_remote_close(&r1);
    exec_remote_close(&r2);
    exec_destroy(&ex);
}

ASYNC_FN(parent, nap_t a, b, c; exec_task_t ta, tb, tc; exec_join_t ja, jb; uint64_t t;) {
    ASYNC_BEGIN(f);
    f->a = ASYNC_NEW(nap, .ms = 10);
    f->b = ASYNC_NEW(nap, .ms = 20);
    f->c = ASYNC_NEW(nap, .ms = 100000);
    SPAWN(cx, &f->ta, &f->a);
    SPAWN(cx, &f->tb, &f->b);
    SPAWN(cx, &f->tc, &f->c);
    exec_join_init(&f->ja, &f->ta);
    exec_join_init(&f->jb, &f->tb);
    JOIN(cx, &f->ja, &f->jb);
    exec_abort(&f->tc);
    f->t = exec_now(exec_of(cx));
    ASYNC_END();
}

static void test_spawn_join_abort(void) {
    parent_t p = ASYNC_NEW(parent);
    setup(0xFFFFFFF5u); /* wraps 11 ms in, between the two sleeps */
    CHECK_EQ(exec_block_on(&ex, &p), 0);
    CHECK_EQ(p.t, 20 * MS);
    CHECK_EQ(future_err(&p.ja), 0);
    CHECK_EQ(exec_task_err(&p.tc), -ECANCELED);
    CHECK_EQ(p.c.woke, 0);
    CHECK_EQ(ex.nlive, 0);
    exec_destroy(&ex);
}

ASYNC_FN(forever, int dummy;) {
    ASYNC_BEGIN(f);
    AWAIT_UNTIL(f->dummy);
    ASYNC_END();
}

static void test_a_stall_is_an_error_not_a_hang(void) {
    forever_t f = ASYNC_NEW(forever);
    setup(0);
    CHECK_EQ(exec_block_on(&ex, &f), -EDEADLK);
    CHECK_EQ(idles, 0);
    exec_destroy(&ex);
}

/* Counts that pair calls (open remote handles, clock holds) keep every
 * stall visible: a close or an unhold too many is reported and changes
 * nothing (a count wrapped to ~0 would say "something may still wake
 * them", and the stall would be a hang). */
static void test_unpaired_closes_keep_stalls_visible(void) {
    exec_remote_t r, never;
    forever_t f = ASYNC_NEW(forever);
    setup(0);
    exec_remote_init(&r, &ex);
    exec_remote_close(&r);
    CHECK_MISUSE(exec_remote_close(&r), "not open");
    memset(&never, 0, sizeof never);
    CHECK_MISUSE(exec_remote_close(&never), "not open");
    CHECK_EQ(ex.nremote, 0);
    CHECK(ex.remote == 0);
    CHECK_MISUSE(exec_clock_unhold(&ex), "without an exec_clock_hold");
    CHECK_EQ(ex.holds, 0);
    exec_clock_hold(&ex);
    exec_clock_unhold(&ex);
    CHECK_EQ(ex.holds, 0);
    CHECK_EQ(exec_block_on(&ex, &f), -EDEADLK);
    exec_remote_init(&r, &ex); /* a closed handle opens again */
    CHECK_EQ(ex.nremote, 1);
    exec_remote_close(&r);
    CHECK_EQ(ex.nremote, 0);
    exec_destroy(&ex);
}

/* A timer on a bare executor with no clock would wait forever (time never
 * moves): exec_block_on reports it and says -EINVAL. Paused, time jumps
 * and no clock is needed. */
static void test_a_timer_without_a_clock_is_refused(void) {
    nap_t a = ASYNC_NEW(nap, .ms = 10), b = ASYNC_NEW(nap, .ms = 10);
    CHECK_EQ(exec_init(&ex), 0);
    exec_set_idle(&ex, board_idle, 0);
    idles = 0;
    CHECK_MISUSE(CHECK_EQ(exec_block_on(&ex, &a), -EINVAL), "no clock");
    CHECK_EQ(ex.nlive, 0);
    CHECK_EQ(idles, 0);
    exec_clock_pause(&ex);
    CHECK_EQ(exec_block_on(&ex, &b), 0);
    CHECK_EQ(b.woke, 10 * MS);
    exec_destroy(&ex);
}

static void test_paused_clock(void) {
    nap_t a = ASYNC_NEW(nap, .ms = 5000);
    setup(0);
    exec_clock_pause(&ex);
    CHECK_EQ(exec_block_on(&ex, &a), 0);
    CHECK_EQ(a.woke, 5000 * MS);
    CHECK_EQ(idles, 0); /* the clock jumped: no sleep at all */
    CHECK_EQ(tick, 0);
    exec_destroy(&ex);
}

/* A tick clock with no period is refused (time would never move), and a
 * clock set after it replaces it whole: its cap on waits goes too. */
#ifdef EXEC_TICK_TIME
static void test_tick_clock_misuse_and_replacement(void) {
    setup(0);
    CHECK_MISUSE(exec_set_tick_clock(&ex, 0, 0, 1), "without a counter");
    CHECK(ex.tick_fn == board_tick); /* the board's clock stays */
    exec_destroy(&ex);
}
#else
static void test_tick_clock_misuse_and_replacement(void) {
    setup(0);
    CHECK_MISUSE(exec_set_tick_clock(&ex, board_tick, 0, 0), "0 ns per tick");
    CHECK_MISUSE(exec_set_tick_clock(&ex, 0, 0, TIMER_MS), "without a counter");
    CHECK_EQ(ex.tick_ns, TIMER_MS); /* the board's clock stays */
    exec_set_clock(&ex, 0, 0);
    CHECK_EQ(ex.tick_ns, 0);
    exec_destroy(&ex);
}
#endif

/* No idle hook: the loop spins on the clock (a board without WFI). */
static uint32_t spin_tick(void *ctx) {
    (void)ctx;
    return tick++;
}

static void test_without_an_idle_hook_it_spins(void) {
    nap_t a = ASYNC_NEW(nap, .ms = 50);
    CHECK_EQ(exec_init(&ex), 0);
    tick = 0xFFFFFFF0u;
    exec_set_tick_clock(&ex, spin_tick, 0, MS);
    CHECK_EQ(exec_block_on(&ex, &a), 0);
    printf("    woke at %llu ms\n", (unsigned long long)(a.woke / MS));
    CHECK(a.woke >= 50 * MS && a.woke <= 60 * MS);
    exec_destroy(&ex);
}

#ifdef EXEC_TICK_TIME
/* Five ticks of an interval, then a timeout, all across the executor's own
 * 32-bit wrap, on the paused clock and on the board's. */
ASYNC_FN(ticker, timer_interval_t iv; uint32_t at[5]; int n; nap_t slow; timer_timeout_t limit;
         uint32_t timed_out_at; int err;) {
    ASYNC_BEGIN(f);
    timer_interval_init(&f->iv, 7, TIMER_MISSED_BURST);
    for (f->n = 0; f->n < 5; f->n++) {
        AWAIT(cx, &f->iv);
        f->at[f->n] = exec_now(exec_of(cx));
    }
    future_drop(&f->iv.fut);
    f->slow = ASYNC_NEW(nap, .ms = 10);
    timer_timeout_init(&f->limit, &f->slow, 4);
    AWAIT(cx, &f->limit);
    f->err = future_err(&f->limit);
    f->timed_out_at = exec_now(exec_of(cx));
    ASYNC_END();
}

static void check_ticker(const ticker_t *t, uint32_t start) {
    int i;
    for (i = 0; i < 5; i++) CHECK_EQ(t->at[i], (uint32_t)(start + 7u * (uint32_t)i));
    CHECK_EQ(t->err, -ETIMEDOUT);
    CHECK_EQ(t->timed_out_at, (uint32_t)(start + 28u + 4u));
}

static void test_tick_time_across_its_own_wrap(void) {
    ticker_t a = ASYNC_NEW(ticker), b = ASYNC_NEW(ticker);
    uint32_t start = 0xFFFFFFF0u;
    setup(0x12345678u);
    exec_clock_advance(&ex, start);
    exec_clock_pause(&ex);
    CHECK_EQ(exec_block_on(&ex, &a), 0); /* paused: jumps */
    check_ticker(&a, start);
    CHECK_EQ(idles, 0);
    exec_clock_resume(&ex);
    /* and on the board, 20 ticks before the wrap */
    exec_clock_advance(&ex, (uint32_t)(0xFFFFFFECu - exec_now(&ex)));
    start = exec_now(&ex);
    CHECK_EQ(start, 0xFFFFFFECu);
    CHECK_EQ(exec_block_on(&ex, &b), 0);
    check_ticker(&b, start);
    CHECK(idles >= 5); /* 4 periods and the timeout: slept, not spun */
    exec_destroy(&ex);
}

static void test_interval_period_out_of_range(void) {
    timer_interval_t iv;
    future_cx_t cx;
    timer_wheel_t w;
    future_waker_t wk = {count_wake};
    timer_wheel_init(&w, 0xFFFFFFFFu);
    memset(&cx, 0, sizeof cx);
    cx.timers = &w;
    cx.waker = &wk;
    timer_interval_init(&iv, 0, TIMER_MISSED_BURST);
    CHECK_MISUSE(CHECK_EQ(future_poll(&iv.fut, &cx), CORO_READY), "period");
    CHECK_EQ(future_err(&iv.fut), -EINVAL);
    timer_interval_init(&iv, (timer_time_t)TIMER_TICK_MAX + 1, TIMER_MISSED_BURST);
    CHECK_MISUSE(CHECK_EQ(future_poll(&iv.fut, &cx), CORO_READY), "2^31");
    CHECK_EQ(future_err(&iv.fut), -EINVAL);
    timer_interval_init(&iv, TIMER_TICK_MAX, TIMER_MISSED_BURST); /* the longest: fine */
    CHECK_EQ(future_poll(&iv.fut, &cx), CORO_READY);              /* the first tick */
    CHECK_EQ(future_poll(&iv.fut, &cx), CORO_PENDING);
    CHECK_EQ(timer_wheel_next_in(&w), TIMER_TICK_MAX);
    future_drop(&iv.fut);
    CHECK_EQ(timer_wheel_count(&w), 0);
    CHECK_EQ(timer_wheel_next_in(&w), TIMER_NEVER);
}
#endif

int main(void) {
    alarm(60); /* a lost wake or wrap shows as a hang: fail it, don't hang */
    RUN(test_two_sleeps_wake_in_order);
    RUN(test_sleep_across_the_wrap);
    RUN(test_sleep_over_many_wraps);
    RUN(test_interrupt_wakes_a_task);
    RUN(test_wakes_coalesce_and_are_not_lost);
    RUN(test_a_wake_during_the_drain_is_kept);
    RUN(test_remote_init_of_an_open_handle_is_refused);
    RUN(test_spawn_join_abort);
    RUN(test_a_stall_is_an_error_not_a_hang);
    RUN(test_paused_clock);
    RUN(test_unpaired_closes_keep_stalls_visible);
    RUN(test_a_timer_without_a_clock_is_refused);
    RUN(test_tick_clock_misuse_and_replacement);
    RUN(test_without_an_idle_hook_it_spins);
#ifdef EXEC_TICK_TIME
    RUN(test_tick_time_across_its_own_wrap);
    RUN(test_interval_period_out_of_range);
#endif
    return check_summary();
}
