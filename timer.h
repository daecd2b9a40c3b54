/* timer.h - sleep, timeout and interval futures on a hierarchical timer wheel.
 *
 * Time is a uint64_t count of nanoseconds on a monotonic clock (or, with
 * TIMER_TICK_TIME, a wrapping uint32_t count of your clock's ticks: see
 * "Time in 32-bit ticks" below; timer_time_t is either). A timer
 * wheel (timer_wheel_t) holds the live timers; whoever owns the clock calls
 * timer_wheel_advance(&w, now) and the timers whose deadline has come wake
 * their tasks. exec.h does that once per loop turn; an embedded loop can do
 * it from its own tick (the clock is whatever you advance the wheel with).
 *
 *     typedef struct {
 *         future_t fut;
 *         timer_sleep_t nap;
 *         timer_timeout_t limit;
 *         fetch_t fetch;             // some other future
 *     } slow_t;
 *     ...
 *     ASYNC_BEGIN(f);
 *     timer_sleep_init(&f->nap, 250 * TIMER_MS);
 *     AWAIT(cx, &f->nap);                          // 250 ms later
 *     timer_timeout_init(&f->limit, &f->fetch.fut, 5 * TIMER_SEC);
 *     AWAIT(cx, &f->limit);                        // fetch, or -ETIMEDOUT
 *     if (future_err(&f->limit.fut) == -ETIMEDOUT) ...
 *     ASYNC_END();
 *
 * The contract
 *   - A timer never fires before its deadline, and fires at the first
 *     advance that reaches it: deadlines are kept in nanoseconds. The wheel
 *     files them by tick (1.024 us); a timer due within the current tick
 *     waits in the current slot until the clock passes its exact deadline.
 *   - Relative deadlines count from the wheel's "now", the clock as of the
 *     latest timer_wheel_advance (once per loop turn, like libuv's uv_now).
 *     A sleep's deadline is fixed when it is first polled (futures are lazy).
 *   - A deadline in the past, or a zero duration, is not an error: the
 *     future is ready at its first poll (as in tokio). A deadline too far to
 *     represent saturates to "never".
 *   - Insert and cancel are O(1) whatever the number of live timers (but
 *     insert on the list, TIMER_LEVELS 1: O(live timers)); the wheel
 *     needs no allocation: each timer's node lives in its future.
 *   - Dropping a sleep, timeout or interval unlinks its timer.
 *   - The futures need cx->timers (the executor sets it); polled without
 *     one they finish at once with -EINVAL, and FUTURE_MISUSE reports it.
 *   - While they wait they say what for, in exec_dump's async backtrace
 *     (future_describe): "sleep 10 ms (3 ms left)", "sleep until 1234 ms
 *     (3 ms left)", "timeout 5000 ms (40 ms left)" (its inner future shows
 *     beneath it), "interval every 10 ms (3 ticks)". timer_fmt_duration(o,
 *     ns) writes a duration the same way ("12 ms", "340 us", "25 ns").
 *
 * Futures
 *   timer_sleep_t      timer_sleep_init(&s, ns), timer_sleep_until_init(&s, t)
 *                      timer_sleep_reset(&s, t): re-arm for a new deadline
 *   timer_timeout_t    timer_timeout_init(&t, &inner.fut, ns): the inner
 *                      future's result, or -ETIMEDOUT with the inner dropped
 *   timer_interval_t   timer_interval_init(&iv, period, missed): a stream of
 *                      ticks; AWAIT it again for each tick. The first tick is
 *                      immediate. iv.last holds the tick's scheduled time.
 *                      When ticks are missed (the task was busy):
 *                      TIMER_MISSED_BURST (default, tokio's) fires the missed
 *                      ticks back to back until caught up; TIMER_MISSED_DELAY
 *                      restarts the period from now; TIMER_MISSED_SKIP drops
 *                      them and keeps to the original schedule.
 *   timer_retry_t      timer_retry_init(&r, &policy, make, ctx): run an
 *                      operation until it succeeds or the policy gives up
 *                      (tokio-retry's Retry::spawn), backing off between
 *                      attempts. See below.
 *
 * Retry with backoff
 *     static future_t *start_fetch(void *ctx, unsigned attempt) {
 *         fetch_t *op = ctx;        // caller storage, reused by each attempt
 *         fetch_init(op, "db1");    // a fresh attempt (attempt = 1, 2, ...)
 *         return &op->fut;
 *     }
 *     ...
 *     timer_retry_init(&f->retry, &(timer_retry_policy_t){
 *                          .max_attempts = 5, .base = 100 * TIMER_MS,
 *                          .max_delay = 2 * TIMER_SEC,      // 100, 200, 400, 800 ms
 *                          .jitter = TIMER_JITTER_FULL, .seed = 42,
 *                          .attempt_timeout = TIMER_SEC},
 *                      start_fetch, &f->fetch);
 *     AWAIT(cx, &f->retry);    // 0, or the last attempt's error
 *     // f->retry.attempts: how many ran; f->retry.last_err
 *   - The delay before attempt k+1 is min(max_delay, base * factor^(k-1)),
 *     factor_pct / 100 (200 by default: doubling), counted from the end of
 *     attempt k; then jitter: FULL waits a random time in [0, delay],
 *     EQUAL in [delay/2, delay], from a generator seeded by .seed and kept
 *     in the frame (the same seed, the same waits).
 *   - An attempt fails when its error is negative. The retry stops at the
 *     first success, after max_attempts, or at an error retry_on(ctx, err)
 *     refuses (0 = retry every error); it finishes with the last attempt's
 *     result. A timed-out attempt is dropped and fails with -ETIMEDOUT.
 *     on_attempt(ctx, k, err), if set, hears of each finished attempt k
 *     (a log line per attempt).
 *   - Cancel-safe: dropping the retry drops the attempt in flight (and its
 *     timeout) or the backoff sleep; nothing stays registered. An attempt
 *     is never running while make builds the next one.
 *   - Misuse (reported, then -EINVAL): max_attempts 0, no policy, no make,
 *     or make returning no future.
 *   - exec_dump shows "retry attempt 3/5 (running)" over the attempt, or
 *     "retry attempt 3/5 (backoff 40 ms left)" over its sleep.
 */
#ifndef TIMER_H
#define TIMER_H

#include <stdint.h>
#include "future.h"

#define TIMER_ETIMEDOUT FUTURE_ETIMEDOUT /* the old name */

/* ---- Time in 32-bit ticks -----------------------------------------------
 *
 * TIMER_TICK_TIME (exec.h's EXEC_TICK_TIME sets it):
 * every time and duration here is a uint32_t count of your clock's ticks
 * that wraps, compared by wrapping difference, (int32_t)(a - b) < 0: no
 * 64-bit arithmetic and no nanoseconds on a core that has neither to
 * spare. The rules that buys:
 *   - Deadlines and the clock are compared by their difference, so they
 *     must stay less than 2^31 ticks apart (24.8 days of 1 kHz ticks): a
 *     duration of 2^31 ticks or more (TIMER_TICK_MAX + 1) means "never",
 *     as a too-far deadline saturates to never in nanoseconds: the sleep
 *     registers nothing and waits forever (never early). An interval's
 *     period must be 1 .. TIMER_TICK_MAX (or it fails with -EINVAL).
 *   - The wheel must be advanced in steps of less than 2^31 ticks: a step
 *     of 2^31 or more looks like time going back (it is ignored). exec.h
 *     caps each wait at TIMER_TICK_MAX ticks for that.
 *   - A deadline given to timer_sleep_until_init or timer_wheel_insert
 *     must be 1 .. TIMER_TICK_MAX ticks ahead: 0, or 2^31 and more, is in
 *     the past (ready at once; timer_wheel_insert returns 1).
 *   - There are no TIMER_NS / _US / _MS / _SEC (the tick's length is
 *     yours) and TIMER_TICK_SHIFT must be 0; TIMER_LEVELS x
 *     log2(TIMER_SLOTS) may not pass 31 bits (the default there is 5
 *     levels of 64 slots: a round of 2^30 ticks).
 *   - There is no timer_wheel_next: timer_wheel_next_in gives the ticks
 *     from now (a wrapping time has no absolute "never" to return).
 * timer_time_t is the type of times and durations either way. */
#ifdef TIMER_TICK_TIME
typedef uint32_t timer_time_t;
#define TIMER_NEVER UINT32_MAX /* as a duration: forever */
#define TIMER_TICK_MAX ((timer_time_t)INT32_MAX) /* the longest finite duration */
#define TIMER_TIME_BITS_ 32
/* a before b: b is 1 .. 2^31 - 1 ticks after a. Exactly 2^31 apart,
 * neither is before the other (either way would be a guess): a deadline
 * that far ahead is in the past, an advance that long is time going back. */
#define TIMER_BEFORE_(a, b) ((uint32_t)((b) - (a)) - 1u < (uint32_t)INT32_MAX)
#else
typedef uint64_t timer_time_t;
#define TIMER_NS ((uint64_t)1)
#define TIMER_US ((uint64_t)1000)
#define TIMER_MS ((uint64_t)1000000)
#define TIMER_SEC ((uint64_t)1000000000)
#define TIMER_NEVER UINT64_MAX
#define TIMER_TIME_BITS_ 64
#define TIMER_BEFORE_(a, b) ((a) < (b))
#endif
/* a <= b, both at or after base, less than 2^31 ticks past it in tick
 * time (the wheel's position at an advance's start). */
#ifdef TIMER_TICK_TIME
#define TIMER_LE_FROM_(a, b, base) ((timer_time_t)((a) - (base)) <= (timer_time_t)((b) - (base)))
#else
#define TIMER_LE_FROM_(a, b, base) ((void)(base), (a) <= (b))
#endif

/* ---- the wheel ----------------------------------------------------------
 *
 * Nine levels of 64 slots (the default; see the knobs below). A tick is
 * 2^10 ns. A timer whose deadline (in ticks) first differs from the wheel's
 * position ("elapsed") in the 6-bit digit d goes to level d; within the
 * level, the slot is that digit. So level 0 holds the next 64 ticks, level
 * 1 the next 64*64, and so on: nine levels cover every 64-bit nanosecond
 * deadline. As time passes, a slot of a high level comes due and its
 * timers move down ("cascade") to where they belong relative to the new
 * position, until they fire from level 0 (or at once, if due). Each level
 * keeps a bitmap of the slots that may hold timers, so finding the next
 * deadline is a few bit operations.
 *
 * Registering and cancelling are the hot path (a timeout around every
 * operation, cancelled when the operation wins): a registration is a
 * few bit operations for the slot, a link at the back of the slot's ring
 * and a bit set; a cancel is an unlink (four pointer moves) and a count. No
 * division, no branch on the list's shape, no walk.
 *
 * Footprint knobs: define them before including any weft header, the same
 * in every file of a program (they change timer_wheel_t and timer_entry_t).
 *   TIMER_LEVELS      levels: 1 or more (default 9; 5 in tick time). 1 is
 *                     no wheel but a list sorted by deadline (see "The
 *                     list" below): the least code and RAM, for a few
 *                     timers; registering walks the list.
 *   TIMER_SLOTS       slots a level: a power of two, 2 to 64 (default 64);
 *                     a digit is log2(TIMER_SLOTS) bits
 *   TIMER_TICK_SHIFT  a tick is 2^TIMER_TICK_SHIFT ns (default 10: 1.024
 *                     us). Deadlines stay exact in ns whatever the tick: it
 *                     only decides the slot.
 *   TIMER_NO_CLZ      find bits by halves, not with the count-zeros
 *                     builtins (on by default for ARMv6-M, which has no
 *                     such instruction: the builtins would be libgcc calls)
 *   TIMER_ENTRY_SEQ   0: timer_entry_t keeps no registration number (it is
 *                     for reports only: 8 bytes less a timer on 32-bit)
 *   TIMER_TICK_TIME   time is 32-bit wrapping ticks, not 64-bit ns (see
 *                     "Time in 32-bit ticks" above; exec.h's EXEC_TICK_TIME
 *                     sets it): 4 bytes less a timer, no 64-bit arithmetic
 * The levels span 2^(TIMER_LEVELS * log2(TIMER_SLOTS) + TIMER_TICK_SHIFT)
 * ns, one round of the top level; the default spans all of 2^64. A
 * smaller wheel is as exact: a timer beyond the span waits in the top
 * level's slot for its digit, rounds ahead; when that slot comes due it
 * is filed again, and it fires at its deadline like any other (insert and
 * cancel stay O(1)). What it costs, on such a wheel only: an advance
 * touches a far timer once per round that passes, and timer_wheel_next,
 * when only the top level holds timers, walks them.
 *
 *   bytes: timer_wheel_t / timer_entry_t       x86-64      Cortex-M0+
 *   default: 9 levels x 64 slots, shift 10     9336 / 40   4720 / 32
 *   for a microcontroller: 3 x 8, shift 20,     432 / 40    232 / 24
 *     TIMER_ENTRY_SEQ 0 (ticks of 1.05 ms, a round of 0.54 s)
 *   the same with 3 x 16 (a round of 4.3 s)     816 / 40    424 / 24
 *   the list (TIMER_LEVELS 1)                    48 / 40     32 / 32
 *     with TIMER_ENTRY_SEQ 0 and TIMER_TICK_TIME              28 / 20
 * (A timer_sleep_t is a future_t, a timer_entry_t and 8 + a pointer.)
 * Pick the round longer than most waits (timeouts, periods) if you can:
 * a timer beyond it costs a visit per round. A program that counts time
 * in a wrapping 32-bit tick: see timer_tick32_t below.
 */
#ifndef TIMER_LEVELS
#ifdef TIMER_TICK_TIME
#define TIMER_LEVELS 5
#else
#define TIMER_LEVELS 9
#endif
#endif
#ifndef TIMER_SLOTS
#define TIMER_SLOTS 64
#endif
#ifndef TIMER_TICK_SHIFT
#ifdef TIMER_TICK_TIME
#define TIMER_TICK_SHIFT 0
#else
#define TIMER_TICK_SHIFT 10
#endif
#endif
#ifndef TIMER_ENTRY_SEQ
#define TIMER_ENTRY_SEQ 1
#endif

#if TIMER_SLOTS == 2
#define TIMER_DIGIT_ 1
#elif TIMER_SLOTS == 4
#define TIMER_DIGIT_ 2
#elif TIMER_SLOTS == 8
#define TIMER_DIGIT_ 3
#elif TIMER_SLOTS == 16
#define TIMER_DIGIT_ 4
#elif TIMER_SLOTS == 32
#define TIMER_DIGIT_ 5
#elif TIMER_SLOTS == 64
#define TIMER_DIGIT_ 6
#else
#error "TIMER_SLOTS must be a power of two from 2 to 64"
#endif
#if TIMER_TICK_SHIFT < 0 || TIMER_TICK_SHIFT > 60
#error "TIMER_TICK_SHIFT must be from 0 to 60"
#endif
#if TIMER_LEVELS < 1
#error "TIMER_LEVELS must be 1 or more"
#endif
/* TIMER_LEVELS 1: no wheel, a sorted list (see "The list" below). */
#define TIMER_LIST_ (TIMER_LEVELS == 1)
#if (TIMER_LEVELS - 1) * TIMER_DIGIT_ >= 64 - TIMER_TICK_SHIFT
#error "TIMER_LEVELS: more levels than a tick has digits (the top one would stay empty)"
#endif
#ifdef TIMER_TICK_TIME
#if TIMER_TICK_SHIFT != 0
#error "TIMER_TICK_TIME: TIMER_TICK_SHIFT must be 0 (the wheel's tick is your clock's)"
#endif
#if TIMER_LEVELS * TIMER_DIGIT_ > 31
#error "TIMER_TICK_TIME: TIMER_LEVELS x log2(TIMER_SLOTS) must be 31 bits or less (a round within half the wrap)"
#endif
#endif

/* 1 when the levels do not span every deadline: the top level goes round,
 * and TIMER_ROUND_BITS_ is the log2 of a round in ticks (0 otherwise, so
 * that a shift by it is always defined). */
#define TIMER_ROUNDS_ (TIMER_LEVELS * TIMER_DIGIT_ + TIMER_TICK_SHIFT < TIMER_TIME_BITS_)
#define TIMER_ROUND_BITS_ (TIMER_ROUNDS_ ? TIMER_LEVELS * TIMER_DIGIT_ : 0)
#define TIMER_TOP_ ((TIMER_LEVELS - 1) * TIMER_SLOTS) /* the top level's first slot */

/* A level's bitmap of occupied slots: as wide as its slots. */
#if TIMER_SLOTS <= 8
typedef uint8_t timer_bits_t;
#elif TIMER_SLOTS == 16
typedef uint16_t timer_bits_t;
#elif TIMER_SLOTS == 32
typedef uint32_t timer_bits_t;
#else
typedef uint64_t timer_bits_t;
#endif
#define TIMER_BIT_(n) ((timer_bits_t)((timer_bits_t)1 << (n)))

typedef future_link_t timer_link_t;

enum { TIMER_IDLE_, TIMER_LINKED_, TIMER_FIRED_ };

/* A timer node, embedded in whatever waits (40 bytes on a 64-bit target).
 * Its tick, which decides its slot, is deadline >> TIMER_TICK_SHIFT: one
 * shift where it is needed, rather than 8 more bytes in every timer. A
 * zeroed entry is idle (timer_wheel_cancel of it does nothing). */
typedef struct timer_entry {
    timer_link_t link;     /* in its slot's ring (first member) */
    timer_time_t deadline; /* deadline, in ns (or ticks): the exact one */
    future_waker_t *waker; /* woken when it fires */
#if TIMER_ENTRY_SEQ
    uint32_t seq;          /* registration number (wraps; for reports) */
#endif
    unsigned char state;   /* TIMER_IDLE_, TIMER_LINKED_, TIMER_FIRED_ */
    unsigned char tag;     /* the owner's byte, never touched by the wheel
                              (timer_sleep_t: TIMER_SLEEP_UNTIL_) */
} timer_entry_t;

/* The extra slot past the levels: timers due in this advance wait here, in
 * firing order, while their wakers are called one at a time. It is a slot
 * like the others, so a waker may cancel any timer, this list's included. */
#define TIMER_DUE_SLOT_ (TIMER_LEVELS * TIMER_SLOTS)

#if TIMER_LIST_
/* ---- The list (TIMER_LEVELS 1) ------------------------------------------
 *
 * For a handful of timers (a microcontroller's few tasks), the smallest
 * store there is: one ring of the linked timers sorted by deadline, equal
 * deadlines in registration order, and the due ring an advance fires from
 * (as the wheel's due slot: a waker may cancel or register any timer, or
 * advance again). 32 bytes on a Cortex-M0+ (28 in tick time), and in
 * mcu.sh's tasks.c 0.8 KB less code than a 3 x 8 wheel. What it costs:
 * a registration walks the list from its back to its place (O(n) in live
 * timers; new deadlines are mostly the latest, so short in practice);
 * cancel stays O(1), an advance and timer_wheel_next look at the front
 * only. Exact as the wheel is, and more: every advance fires in deadline
 * order (then registration order), big jumps too. There is no tick, so
 * TIMER_SLOTS and TIMER_TICK_SHIFT change nothing. Same rule: initialise
 * it where it stays (it points into itself). */
typedef struct timer_wheel {
    timer_time_t now;  /* the clock as of the latest advance */
    uint32_t seq, gone; /* registrations so far, timers unlinked for good */
    timer_link_t list; /* the linked timers, by deadline */
    timer_link_t due;  /* the timers due in this advance, in firing order */
} timer_wheel_t;
#else
/* Each slot is a ring closed through its own node in the wheel: an empty
 * slot's node points at itself. So linking and unlinking take no branch
 * and need no list head, and a slot is empty again when the node an
 * unlinked timer leaves behind points at itself both ways. The wheel
 * holds pointers into itself, even when empty: initialise it where it
 * stays, and never copy or move it after timer_wheel_init (an advance
 * reports a moved wheel as misuse). */
typedef struct timer_wheel {
    timer_time_t now;     /* ns: the clock as of the latest advance */
    timer_time_t elapsed; /* ticks: the wheel's position */
    /* A set bit: the slot may hold timers. A timer's registration sets
     * its slot's bit; unlinking leaves it (a cancel is then four stores),
     * and the search for the next slot drops the bits of slots it finds
     * empty. The last one: the due slot's bit. */
    timer_bits_t occupied[TIMER_LEVELS + 1];
    /* Registrations so far (the next one's number) and timers unlinked
     * for good (cancelled or fired): the live ones are the difference,
     * so a registration counts itself with the number it takes. */
    uint32_t seq, gone;
    timer_link_t slots[TIMER_LEVELS * TIMER_SLOTS + 1];
} timer_wheel_t;
#endif

/* A core without a count-leading-zeros instruction (ARMv6-M: Cortex-M0,
 * M0+) would make the builtins calls into libgcc (124 bytes): such a build
 * searches by halves instead (TIMER_NO_CLZ, on by default there). */
#if defined(__ARM_ARCH_6M__) && !defined(TIMER_NO_CLZ)
#define TIMER_NO_CLZ 1
#endif

/* The leading zero bits of a non-zero x. */
WEFT_API int timer_clz64_(uint64_t x) {
#if defined(__GNUC__) && !defined(TIMER_NO_CLZ)
    return __builtin_clzll(x);
#else
    int n = 0;
    if (!(x >> 32)) n += 32, x <<= 32;
    if (!(x >> 48)) n += 16, x <<= 16;
    if (!(x >> 56)) n += 8, x <<= 8;
    if (!(x >> 60)) n += 4, x <<= 4;
    if (!(x >> 62)) n += 2, x <<= 2;
    if (!(x >> 63)) n += 1;
    return n;
#endif
}

/* The leading zero bits of a non-zero time (32 bits in tick time). */
WEFT_API int timer_clz_time_(timer_time_t x) {
#ifdef TIMER_TICK_TIME
#if defined(__GNUC__) && !defined(TIMER_NO_CLZ)
    return __builtin_clz(x); /* unsigned int: 32 bits where gcc runs */
#else
    int n = 0;
    if (!(x >> 16)) n += 16, x <<= 16;
    if (!(x >> 24)) n += 8, x <<= 8;
    if (!(x >> 28)) n += 4, x <<= 4;
    if (!(x >> 30)) n += 2, x <<= 2;
    if (!(x >> 31)) n += 1;
    return n;
#endif
#else
    return timer_clz64_(x);
#endif
}

/* The lowest set bit of a (non-zero) bitmap, with the narrowest builtin. */
WEFT_API int timer_ctz_(timer_bits_t x) {
#if defined(TIMER_NO_CLZ)
    int n = 0;
    while (!(x & 1)) x >>= 1, n++; /* at most TIMER_SLOTS - 1 steps */
    return n;
#elif defined(__GNUC__) && TIMER_SLOTS <= 16
    return __builtin_ctz(x);
#elif defined(__GNUC__) && TIMER_SLOTS == 32
    return __builtin_ctzl(x);
#elif defined(__GNUC__)
    return __builtin_ctzll(x);
#else
    int n = 0;
    while (!(x & 1)) x >>= 1, n++;
    return n;
#endif
}

/* Start a wheel at time now (ns). */
#if TIMER_LIST_
WEFT_API void timer_wheel_init(timer_wheel_t *w, timer_time_t now) {
    w->now = now;
    w->seq = w->gone = 0;
    w->list.next = w->list.prev = &w->list;
    w->due.next = w->due.prev = &w->due;
}
#else
WEFT_API void timer_wheel_init(timer_wheel_t *w, timer_time_t now) {
    size_t i;
    w->now = now;
    w->elapsed = now >> TIMER_TICK_SHIFT;
    w->seq = w->gone = 0;
    for (i = 0; i <= TIMER_LEVELS; i++) w->occupied[i] = 0;
    for (i = 0; i <= TIMER_DUE_SLOT_; i++) w->slots[i].next = w->slots[i].prev = &w->slots[i];
}
#endif

/* Live (linked) timers. */
WEFT_API size_t timer_wheel_count(const timer_wheel_t *w) { return (uint32_t)(w->seq - w->gone); }

#if !TIMER_LIST_
/* Which level * TIMER_SLOTS + slot a deadline (ticks, >= elapsed) belongs
 * in: the level is the digit holding the highest bit b where they differ
 * (b / digit, as a multiply and a shift, exact for b < 64), or the top
 * level for a bit above the top digit (on a wheel that goes round: the
 * timer is rounds ahead). */
WEFT_API size_t timer_slot_for_(timer_time_t elapsed, timer_time_t when) {
    unsigned b = (TIMER_TIME_BITS_ - 1u) - (unsigned)timer_clz_time_((elapsed ^ when) | (TIMER_SLOTS - 1));
    unsigned level = b * ((256u + TIMER_DIGIT_ - 1) / TIMER_DIGIT_) >> 8;
    if ((TIMER_TIME_BITS_ - 1 - TIMER_TICK_SHIFT) / TIMER_DIGIT_ >= TIMER_LEVELS && level > TIMER_LEVELS - 1)
        level = TIMER_LEVELS - 1;
    return (size_t)level * TIMER_SLOTS + (size_t)(when >> (level * TIMER_DIGIT_) & (TIMER_SLOTS - 1));
}
#endif

/* Link l into a ring after node at, before node next (at->next). The
 * stores alternate between l and its neighbours: they may alias, so the
 * compiler keeps them four plain stores (not a vector shuffle). */
WEFT_API void timer_ring_insert_(timer_link_t *at, timer_link_t *next, timer_link_t *l) {
    l->next = next;
    next->prev = l;
    l->prev = at;
    at->next = l;
}

#if !TIMER_LIST_
WEFT_API void timer_occupy_(timer_wheel_t *w, size_t s) {
    w->occupied[s / TIMER_SLOTS] |= TIMER_BIT_(s % TIMER_SLOTS);
}

/* Put e at the back of slot s. That keeps every slot in registration
 * order, so timers with equal deadlines fire in the order they were
 * registered, whatever path each took through the levels, with no
 * comparison (registration numbers wrap: comparing them would misorder
 * two timers 2^31 registrations apart). Why the back is right: a new
 * timer is the newest of all; and a timer moving down a level goes into a
 * slot nothing has been registered into yet, since a lower level's slot
 * for a stretch of time takes direct registrations only once the wheel
 * has entered that stretch, which is when the higher slot holding the
 * stretch's timers moves them down (in order, oldest first). The due slot
 * is filled tick by tick, each tick in that order. (Timers a round or
 * more ahead, filed again at the end of an advance, keep their order
 * among those of their tick: all of a tick's timers are always in one
 * slot, and go together.) */
WEFT_API void timer_link_at_(timer_wheel_t *w, timer_entry_t *e, size_t s) {
    timer_link_t *q = &w->slots[s];
    timer_ring_insert_(q->prev, q, &e->link);
    timer_occupy_(w, s);
}

WEFT_API void timer_link_(timer_wheel_t *w, timer_entry_t *e) {
    timer_link_at_(w, e, timer_slot_for_(w->elapsed, e->deadline >> TIMER_TICK_SHIFT));
}

#endif /* !TIMER_LIST_ */

/* Register e, due at deadline (> w->now). It has the newest number, so it
 * goes to the back of its slot with no search: the whole of a
 * registration is these few stores. (The list: after the last timer due
 * no later, found from the back.) */
WEFT_API void timer_link_new_(timer_wheel_t *w, timer_entry_t *e, timer_time_t deadline,
                              future_waker_t *waker) {
#if TIMER_LIST_
    timer_link_t *q = &w->list; /* e goes before q */
    while (q->prev != &w->list &&
           !TIMER_LE_FROM_(((timer_entry_t *)(void *)q->prev)->deadline, deadline, w->now))
        q = q->prev;
#else
    size_t s = timer_slot_for_(w->elapsed, deadline >> TIMER_TICK_SHIFT);
    timer_link_t *q = &w->slots[s];
#endif
    e->deadline = deadline;
    e->waker = waker;
#if TIMER_ENTRY_SEQ
    e->seq = w->seq;
#endif
    w->seq++;
    e->state = TIMER_LINKED_;
    timer_ring_insert_(q->prev, q, &e->link);
#if !TIMER_LIST_
    timer_occupy_(w, s);
#endif
}

/* Take e out of its slot's ring (the slot's bit stays: see occupied). */
WEFT_API void timer_unlink_(timer_entry_t *e) {
    timer_link_t *next = e->link.next, *prev = e->link.prev;
    prev->next = next;
    next->prev = prev;
}

/* Register e to wake waker at deadline (ns). Returns 0 when linked, 1 when
 * the deadline has already come (nothing is linked: the caller is ready).
 * The slot comes from the tick rounded down; the exact deadline decides
 * when it fires (timer_wheel_advance), so it is never late by a tick and
 * the paused clock lands on it exactly. A deadline of TIMER_NEVER
 * (UINT64_MAX) is linked like any other and fires only on an advance to
 * UINT64_MAX itself: timer_wheel_next cannot name it (its answer would be
 * TIMER_NEVER), so the paused clock never jumps there. Sleeps do not
 * register such a deadline at all. */
WEFT_API int timer_wheel_insert(timer_wheel_t *w, timer_entry_t *e, timer_time_t deadline,
                                     future_waker_t *waker) {
    if (!TIMER_BEFORE_(w->now, deadline)) return 1;
    timer_link_new_(w, e, deadline, waker);
    return 0;
}

/* Unlink e if it is linked. O(1). */
WEFT_API void timer_wheel_cancel(timer_wheel_t *w, timer_entry_t *e) {
    if (e->state != TIMER_LINKED_) return;
    timer_unlink_(e);
    e->state = TIMER_IDLE_;
    w->gone++;
}

/* The second step of an advance (wheel or list): fire the due ring q from
 * its front, one timer at a time, each unlinked before its waker runs (a
 * waker may cancel, register or advance again). How many fired. */
WEFT_API size_t timer_fire_due_(timer_wheel_t *w, timer_link_t *q) {
    size_t fired = 0;
    while (q->next != q) {
        timer_entry_t *e = (timer_entry_t *)(void *)q->next;
        timer_unlink_(e);
        e->state = TIMER_FIRED_;
        w->gone++;
        fired++;
        future_wake(e->waker);
    }
    return fired;
}

#if !TIMER_LIST_
/* The earliest non-empty slot: its level * TIMER_SLOTS + slot, and the
 * tick it comes due. The lowest non-empty level always holds the
 * earliest. -1 if none. The bits of empty slots it meets on the way are
 * skipped, and dropped if clean (the wheel is then written to: never with
 * clean from a const wheel).
 * Within a level the search starts at the wheel's position: level 0's
 * slot there is the current tick's (due now). A higher level's slot there
 * holds nothing of this round (its timers moved down when it came due),
 * so when the top level goes round, that slot's timers are a round or
 * more ahead: there it comes last, due a round later. */
WEFT_API int timer_next_slot_(timer_wheel_t *w, timer_time_t *due, int clean) {
    timer_time_t at = w->elapsed; /* the position in this level's slots (and above) */
    int level;
    for (level = 0; level < TIMER_LEVELS; level++, at >>= TIMER_DIGIT_) {
        int top = TIMER_ROUNDS_ && level == TIMER_LEVELS - 1;
        timer_bits_t occ = w->occupied[level];
        unsigned pos = ((unsigned)at + (unsigned)top) & (TIMER_SLOTS - 1); /* where to start */
        while (occ) {
            timer_bits_t rot = pos ? (timer_bits_t)(occ >> pos | occ << (TIMER_SLOTS - pos)) : occ;
            unsigned slot = (pos + (unsigned)timer_ctz_(rot)) & (TIMER_SLOTS - 1);
            const timer_link_t *q = &w->slots[level * TIMER_SLOTS + (int)slot];
            timer_time_t d;
            if (q->next == q) { /* emptied since its bit was set */
                occ = (timer_bits_t)(occ & ~TIMER_BIT_(slot));
                if (clean) w->occupied[level] = occ;
                continue;
            }
            /* In slots of this level: the slot's number in this round,
             * or in the next one if it is behind the position, or at it
             * above level 0. (At the top of a wheel that spans all,
             * at >> digit is 0: no round ever passes. In tick time
             * the top slot's due tick may wrap past 2^32: the wrapped
             * value is the right one there.) */
            d = ((at >> TIMER_DIGIT_) << TIMER_DIGIT_) + slot;
            if (d < at || (level && d == at)) d += TIMER_SLOTS;
            *due = d << (TIMER_DIGIT_ * level); /* ticks */
            return level * TIMER_SLOTS + (int)slot;
        }
    }
    return -1;
}

#ifndef TIMER_TICK_TIME
/* timer_wheel_next when the earliest slot is at the top of a wheel that
 * goes round (so nothing is below it): the earliest deadline there, which
 * is the wheel's, so that the paused clock jumps over the rounds between.
 * Walks the top level's timers. */
WEFT_API uint64_t timer_next_round_(const timer_wheel_t *w) {
    uint64_t min = TIMER_NEVER;
    const timer_link_t *q, *l;
    for (q = &w->slots[TIMER_TOP_]; q < &w->slots[TIMER_DUE_SLOT_]; q++)
        for (l = q->next; l != q; l = l->next)
            if (((const timer_entry_t *)(const void *)l)->deadline < min)
                min = ((const timer_entry_t *)(const void *)l)->deadline;
    return min;
}

/* When (ns) the wheel next needs advancing, or TIMER_NEVER. This is a lower
 * bound: a high-level slot comes due before its timers do, and advancing
 * to it only moves them down. */
WEFT_API uint64_t timer_wheel_next(const timer_wheel_t *w) {
    timer_time_t due, min = TIMER_NEVER;
    const timer_link_t *l, *q;
    /* The cast only reads: clean is 0. */
    int s = timer_next_slot_((timer_wheel_t *)(uintptr_t)w, &due, 0);
    if (s < 0) return TIMER_NEVER;
    if (TIMER_ROUNDS_ && s >= TIMER_TOP_) return timer_next_round_(w);
    if (s >= TIMER_SLOTS) return due << TIMER_TICK_SHIFT;
    /* Level 0: one slot is one tick; its earliest exact deadline (> now). */
    q = &w->slots[s];
    for (l = q->next; l != q; l = l->next)
        if (((const timer_entry_t *)(const void *)l)->deadline < min)
            min = ((const timer_entry_t *)(const void *)l)->deadline;
    return min;
}

#else /* TIMER_TICK_TIME */
/* The earliest deadline of the timers in slots [q, end), as ticks from
 * now (each is less than 2^31 ahead), or TIMER_NEVER if none. */
WEFT_API timer_time_t timer_min_in_(const timer_wheel_t *w, const timer_link_t *q,
                                    const timer_link_t *end) {
    timer_time_t min = TIMER_NEVER;
    const timer_link_t *l;
    for (; q < end; q++)
        for (l = q->next; l != q; l = l->next) {
            timer_time_t in = ((const timer_entry_t *)(const void *)l)->deadline - w->now;
            if (in < min) min = in;
        }
    return min;
}

#endif

/* How long from the wheel's now until it next needs advancing (as
 * timer_wheel_next: a lower bound), or TIMER_NEVER. In tick time, where a
 * wrapping time has no absolute "never", this is timer_wheel_next. (One
 * definition for both: coverage tools merge functions by line.) */
WEFT_API timer_time_t timer_wheel_next_in(const timer_wheel_t *w) {
#ifdef TIMER_TICK_TIME
    timer_time_t due;
    /* The cast only reads: clean is 0. */
    int s = timer_next_slot_((timer_wheel_t *)(uintptr_t)w, &due, 0);
    if (s < 0) return TIMER_NEVER;
    if (TIMER_ROUNDS_ && s >= TIMER_TOP_)
        return timer_min_in_(w, &w->slots[TIMER_TOP_], &w->slots[TIMER_DUE_SLOT_]);
    if (s >= TIMER_SLOTS) return due - w->now; /* the tick is the clock's: due > now */
    return timer_min_in_(w, &w->slots[s], &w->slots[s + 1]);
#else
    uint64_t next = timer_wheel_next(w);
    return next == TIMER_NEVER ? TIMER_NEVER : next > w->now ? next - w->now : 0;
#endif
}

/* Move the clock to now (ns) and fire every timer due by then: each is
 * unlinked, marked fired and its waker called, in deadline order (ticks),
 * and in registration order among equal deadlines. Returns how many fired.
 * A clock that goes backwards is ignored. (One reservation on the order:
 * a slot of a higher level that comes due whole within one advance fires
 * its due timers in registration order, not sorted by tick; an advance of
 * a tick or to timer_wheel_next, as with the paused clock, is exact.)
 *
 * It works in two steps. First, with no waker called, every slot that
 * comes due is emptied: its timers that are due move to the due slot, the
 * others move down a level (or, due later in this very tick, stay where
 * they are; or, on a wheel that goes round, if they are a round or more
 * ahead, wait aside and are filed again once the clock is set, each once
 * however many rounds the advance passes). Then the due slot is fired from
 * its front, one timer at a time, each unlinked before its waker runs. A
 * waker may therefore cancel or register any timer, or advance the wheel
 * again (a loop that polls its tasks from inside the wake): nothing is
 * held across the call. */
WEFT_API size_t timer_wheel_advance(timer_wheel_t *w, timer_time_t now) {
    timer_time_t target, due, base = w->elapsed; /* in tick time, compare from base */
    int s, stay = -1; /* stay: the current tick's slot, left with timers */
    timer_link_t *q = &w->slots[TIMER_DUE_SLOT_];
    timer_link_t ahead; /* timers rounds ahead, in the order met */
    if (!q->next || q->next->prev != q) { /* the due ring is always whole */
        FUTURE_MISUSE("timer wheel used before timer_wheel_init, or copied or moved "
                      "after it (it points into itself): initialise it where it stays");
        return 0;
    }
    if (TIMER_BEFORE_(w->now, now)) {
        w->now = now;
        target = now >> TIMER_TICK_SHIFT;
        ahead.next = ahead.prev = &ahead;
        while ((s = timer_next_slot_(w, &due, 1)) >= 0 && TIMER_LE_FROM_(due, target, base)) {
            timer_link_t *slot = &w->slots[s];
            timer_link_t *l = slot->next;
            if (!TIMER_LE_FROM_(due, w->elapsed, base)) w->elapsed = due;
            while (l != slot) {
                timer_entry_t *e = (timer_entry_t *)(void *)l;
                timer_time_t tick = e->deadline >> TIMER_TICK_SHIFT;
                l = l->next;
                if (!TIMER_BEFORE_(now, e->deadline)) {
                    timer_unlink_(e);
                    timer_link_at_(w, e, TIMER_DUE_SLOT_);
                } else if (TIMER_ROUNDS_ && s >= TIMER_TOP_ && (tick ^ w->elapsed) >> TIMER_ROUND_BITS_) {
                    timer_unlink_(e); /* not this round's */
                    timer_ring_insert_(ahead.prev, &ahead, &e->link);
                } else if (!TIMER_LE_FROM_(tick, due, base) || s >= TIMER_SLOTS) {
                    timer_unlink_(e);
                    timer_link_(w, e); /* cascade to a lower level */
                } /* else: due in this tick, after now: it waits here */
            }
            if (slot->next != slot) { /* hide it from the search till the end */
                stay = s;
                w->occupied[s / TIMER_SLOTS] &= (timer_bits_t)~TIMER_BIT_(s % TIMER_SLOTS);
            }
        }
        if (!TIMER_LE_FROM_(target, w->elapsed, base)) w->elapsed = target;
        while (ahead.next != &ahead) { /* where they belong from here */
            timer_entry_t *e = (timer_entry_t *)(void *)ahead.next;
            timer_unlink_(e);
            timer_link_(w, e);
        }
        if (stay >= 0) timer_occupy_(w, (size_t)stay);
    }
    return timer_fire_due_(w, q);
}
#else /* TIMER_LIST_ */
/* When (ns) the list next needs advancing: its first deadline, or
 * TIMER_NEVER. */
#ifndef TIMER_TICK_TIME
WEFT_API uint64_t timer_wheel_next(const timer_wheel_t *w) {
    return w->list.next == &w->list ? TIMER_NEVER
                                    : ((const timer_entry_t *)(const void *)w->list.next)->deadline;
}
#endif

/* Ticks (or ns) from now to the first deadline, or TIMER_NEVER. */
WEFT_API timer_time_t timer_wheel_next_in(const timer_wheel_t *w) {
    timer_time_t next;
    if (w->list.next == &w->list) return TIMER_NEVER;
    next = ((const timer_entry_t *)(const void *)w->list.next)->deadline;
#ifdef TIMER_TICK_TIME
    return next - w->now;
#else
    return next == TIMER_NEVER ? TIMER_NEVER : next - w->now; /* linked: > now */
#endif
}

/* As the wheel's: the due timers, a prefix of the list, move to the due
 * ring; then it fires from its front, one at a time. */
WEFT_API size_t timer_wheel_advance(timer_wheel_t *w, timer_time_t now) {
    timer_link_t *q = &w->due, *l;
    if (!q->next || q->next->prev != q) { /* the due ring is always whole */
        FUTURE_MISUSE("timer wheel used before timer_wheel_init, or copied or moved "
                      "after it (it points into itself): initialise it where it stays");
        return 0;
    }
    if (TIMER_BEFORE_(w->now, now)) {
        w->now = now;
        while ((l = w->list.next) != &w->list &&
               !TIMER_BEFORE_(now, ((timer_entry_t *)(void *)l)->deadline)) {
            timer_unlink_((timer_entry_t *)(void *)l);
            timer_ring_insert_(q->prev, q, l);
        }
    }
    return timer_fire_due_(w, q);
}
#endif /* TIMER_LIST_ */

/* ---- a wrapping 32-bit tick ----------------------------------------------
 *
 * A microcontroller's clock is often a 32-bit count of ms (or of timer
 * ticks) that wraps: after 49.7 days for ms. The wheel wants nanoseconds
 * that never go back. timer_tick32_t turns one into the other: each read
 * adds the ticks since the previous one, (uint32_t)(tick - last), so a
 * wrap between two reads is time going forward like any other.
 *
 *     static timer_tick32_t clk;
 *     timer_tick32_init(&clk, HAL_GetTick(), 0);
 *     timer_wheel_init(&wheel, 0);
 *     for (;;) {
 *         timer_wheel_advance(&wheel, timer_tick32_ns(&clk, HAL_GetTick(), TIMER_MS));
 *         ...
 *     }
 *
 * The rule: read it at least once every 2^32 ticks (49.7 days of ms), or
 * the whole wraps in between are lost (time then runs late, never
 * backwards: sleeps fire late, never early). An idle loop that waits for
 * the next deadline should cap its wait at half the wrap period. */
typedef struct timer_tick32 {
    uint32_t last; /* the tick as of the latest read */
    uint64_t ns;   /* the time (ns) at that tick */
} timer_tick32_t;

/* Start counting at tick tick_now, which is start_ns (ns). */
WEFT_API void timer_tick32_init(timer_tick32_t *t, uint32_t tick_now, uint64_t start_ns) {
    t->last = tick_now;
    t->ns = start_ns;
}

/* The time (ns) at tick: the previous one plus the ticks since, each
 * ns_per_tick ns. Saturates at TIMER_NEVER. */
WEFT_API uint64_t timer_tick32_ns(timer_tick32_t *t, uint32_t tick, uint64_t ns_per_tick) {
    uint64_t d = (uint64_t)(uint32_t)(tick - t->last) * ns_per_tick;
    t->last = tick;
    t->ns = t->ns > TIMER_NEVER - d ? TIMER_NEVER : t->ns + d;
    return t->ns;
}

#if defined(__STDC_HOSTED__) && __STDC_HOSTED__ && defined(__unix__)
#include <time.h>
#endif
/* Strict -std=c11 without _POSIX_C_SOURCE (or _GNU_SOURCE) declares no
 * clock_gettime: then there is no timer_clock_monotonic, rather than an
 * error in every file that includes this header. */
#if defined(__STDC_HOSTED__) && __STDC_HOSTED__ && defined(__unix__) && defined(CLOCK_MONOTONIC)
/* The monotonic clock in ns (CLOCK_MONOTONIC). */
WEFT_API uint64_t timer_clock_monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

/* Add without wrapping: a deadline past the end of time is "never". */
WEFT_API timer_time_t timer_add_sat(timer_time_t a, timer_time_t b) {
#ifdef TIMER_TICK_TIME
    return a + b; /* tick time wraps: there is no end of time */
#else
    return a > TIMER_NEVER - b ? TIMER_NEVER : a + b;
#endif
}

/* ---- sleep -------------------------------------------------------------- */

/* entry.tag: arg is a deadline (timer_sleep_until_init), not a duration */
#define TIMER_SLEEP_UNTIL_ 1

typedef struct timer_sleep {
    future_t fut;
    timer_entry_t entry;  /* entry.deadline: the deadline once fixed, or never */
    timer_time_t arg;     /* duration, or deadline when until (as given) */
    timer_wheel_t *wheel; /* where the entry is linked, for drop */
} timer_sleep_t;

/* ---- what a timer future is doing, in words (exec_dump) ----------------
 * No libc here: timer.h also builds freestanding. */

/* Append ns as a duration in whole units, the largest that fits: "12 ms",
 * "340 us", "25 ns". */
WEFT_API void timer_fmt_duration(future_fmt_t *o, timer_time_t ns) {
#ifdef TIMER_TICK_TIME
    future_fmt_u64(o, ns);
    future_fmt_str(o, ns == 1 ? " tick" : " ticks");
#else
    const char *unit = " ns";
    if (ns >= TIMER_MS) {
        ns /= TIMER_MS;
        unit = " ms";
    } else if (ns >= TIMER_US) {
        ns /= TIMER_US;
        unit = " us";
    }
    future_fmt_u64(o, ns);
    future_fmt_str(o, unit);
#endif
}

/* A sleep that waits forever (never registered). */
#ifdef TIMER_TICK_TIME
#define TIMER_SLEEP_FOREVER_(s) ((s)->entry.state == TIMER_FIRED_ + 1)
#else
#define TIMER_SLEEP_FOREVER_(s) ((s)->entry.deadline == TIMER_NEVER)
#endif

/* "10 ms (3 ms left)", "until 1234 ms (3 ms left)", "forever". The time
 * left is counted from the wheel's now (the latest advance). */
WEFT_API void timer_sleep_describe_(const future_t *f, future_fmt_t *o) {
    const timer_sleep_t *s = (const timer_sleep_t *)(const void *)f;
    timer_time_t deadline = s->entry.deadline;
    if (TIMER_SLEEP_FOREVER_(s)) {
        future_fmt_str(o, "forever");
        return;
    }
    if (s->entry.tag & TIMER_SLEEP_UNTIL_) future_fmt_str(o, "until ");
    timer_fmt_duration(o, s->arg);
    if (s->entry.state == TIMER_LINKED_ && TIMER_BEFORE_(s->wheel->now, deadline)) {
        future_fmt_str(o, " (");
        timer_fmt_duration(o, deadline - s->wheel->now);
        future_fmt_str(o, " left)");
    } else if (s->entry.state != TIMER_IDLE_) {
        future_fmt_str(o, " (due)"); /* fired, not yet polled */
    }
}

WEFT_API coro_poll_t timer_sleep_pending_(future_t *self) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "sleep", timer_sleep_describe_};
    future_set_kind(self, &kind);
    return CORO_PENDING;
}

WEFT_API coro_poll_t timer_no_wheel_(future_t *self) {
    FUTURE_MISUSE("timer future polled without cx->timers: run it on an "
                  "executor (exec.h) or put your timer_wheel_t in the context");
    return future_finish(self, FUTURE_EINVAL);
}

/* A due sleep finishes, once the cooperative budget allows. */
WEFT_API coro_poll_t timer_sleep_ready_(future_t *self, future_cx_t *cx) {
    if (!future_coop_spend(cx)) return CORO_PENDING;
    return future_finish(self, 0);
}

/* The first poll's rarer outcomes, out of the inline path (which has
 * registered every deadline ahead of now): no wheel, "never", or a
 * deadline already come (a zero duration, a past deadline). */
FUTURE_COLD_FN_ coro_poll_t timer_sleep_start_(timer_sleep_t *s, future_cx_t *cx) {
    timer_wheel_t *w = cx->timers;
    if (!w) return timer_no_wheel_(&s->fut);
    /* From now on the deadline is fixed. */
    s->entry.deadline = s->entry.tag & TIMER_SLEEP_UNTIL_ ? s->arg : timer_add_sat(w->now, s->arg);
#ifdef TIMER_TICK_TIME /* a duration of 2^31 ticks or more is "never" */
    if (!(s->entry.tag & TIMER_SLEEP_UNTIL_) && s->arg > TIMER_TICK_MAX) {
#else
    if (s->entry.deadline == TIMER_NEVER) { /* never fires: register nothing */
#endif
        s->entry.state = TIMER_FIRED_ + 1;
        return timer_sleep_pending_(&s->fut);
    }
    s->entry.state = TIMER_FIRED_; /* already due */
    return timer_sleep_ready_(&s->fut, cx);
}

/* A path kept out of line, so that the inline one around it needs few
 * registers (no callee-saved ones, no shared epilogue): clang's first
 * poll of a sleep took 16 more instructions with this one inlined. (An
 * inline function may not be noinline: with WEFT_EXTERN_INLINE the
 * compiler decides.) */
#if defined(__GNUC__) && !(defined(WEFT_EXTERN_INLINE) && !defined(__cplusplus))
#define TIMER_OUTLINE_FN_ static __attribute__((noinline, unused))
#else
#define TIMER_OUTLINE_FN_ WEFT_API
#endif

/* Every poll but a registering one: a later poll (linked, fired, never),
 * or a first one that does not register. */
TIMER_OUTLINE_FN_ coro_poll_t timer_sleep_poll_more_(timer_sleep_t *s, future_cx_t *cx) {
    switch (s->entry.state) {
    case TIMER_IDLE_:
        return timer_sleep_start_(s, cx);
    case TIMER_LINKED_:
        s->entry.waker = cx->waker; /* the task may have moved: keep it fresh */
        return CORO_PENDING;
    case TIMER_FIRED_:
        return timer_sleep_ready_(&s->fut, cx);
    default: /* a deadline of "never" */
        return CORO_PENDING;
    }
}

/* The usual first poll, a deadline ahead, registers inline; until (a
 * constant in each caller) says whether arg is the deadline or a duration:
 * one poll function each, so neither tests it. A duration past the end of
 * time wraps below now here: timer_sleep_start_ saturates it to never. */
WEFT_API coro_poll_t timer_sleep_poll_as_(future_t *self, future_cx_t *cx, int until) {
    timer_sleep_t *s = (timer_sleep_t *)(void *)self;
    timer_wheel_t *w = cx->timers;
    if (s->entry.state == TIMER_IDLE_ && w) {
        timer_time_t now = w->now, deadline = until ? s->arg : now + s->arg;
#ifdef TIMER_TICK_TIME /* ahead, and (a duration) 1 .. TIMER_TICK_MAX */
        if (TIMER_BEFORE_(now, deadline)) { /* until: ahead; a duration: 1 .. MAX */
#else
        if (deadline > now && deadline != TIMER_NEVER) {
#endif
            timer_link_new_(w, &s->entry, deadline, cx->waker);
            s->wheel = w;
            return timer_sleep_pending_(self);
        }
    }
    return timer_sleep_poll_more_(s, cx);
}

WEFT_API coro_poll_t timer_sleep_poll_(future_t *self, future_cx_t *cx) {
    return timer_sleep_poll_as_(self, cx, 0);
}

WEFT_API coro_poll_t timer_sleep_until_poll_(future_t *self, future_cx_t *cx) {
    return timer_sleep_poll_as_(self, cx, 1);
}

WEFT_API void timer_sleep_drop_(future_t *self) {
    timer_sleep_t *s = (timer_sleep_t *)(void *)self;
    if (s->entry.state == TIMER_LINKED_) {
        timer_unlink_(&s->entry);
        s->wheel->gone++;
    }
    s->entry.state = TIMER_IDLE_;
}

/* The deadline is fixed at the first poll; until then only arg is read
 * (entry's other fields are set when it registers). */
WEFT_API void timer_sleep_setup_(timer_sleep_t *s, timer_time_t arg, int until) {
    future_init(&s->fut, until ? timer_sleep_until_poll_ : timer_sleep_poll_, timer_sleep_drop_);
    s->arg = arg;
    s->entry.deadline = until ? arg : TIMER_NEVER;
    s->entry.state = TIMER_IDLE_;
    s->entry.tag = until ? TIMER_SLEEP_UNTIL_ : 0;
}

/* Sleep for ns nanoseconds, counted from the wheel's now at the first poll. */
WEFT_API void timer_sleep_init(timer_sleep_t *s, timer_time_t ns) { timer_sleep_setup_(s, ns, 0); }

/* Sleep until the clock reads deadline (ns). */
WEFT_API void timer_sleep_until_init(timer_sleep_t *s, timer_time_t deadline) {
    timer_sleep_setup_(s, deadline, 1);
}

/* Re-arm s for a new deadline, whatever state it is in (tokio's
 * Sleep::reset): it unlinks from the wheel and becomes a fresh, lazy sleep. */
WEFT_API void timer_sleep_reset(timer_sleep_t *s, timer_time_t deadline) {
    timer_sleep_drop_(&s->fut);
    timer_sleep_setup_(s, deadline, 1);
}

/* The deadline (ns, or ticks) of a sleep: fixed at its first poll (or by
 * _until_init or _reset); TIMER_NEVER before that, and for a sleep that
 * never ends. In tick time TIMER_NEVER (0xFFFFFFFF) is also a moment the
 * counter passes: there, ask timer_sleep_t's future whether it is done,
 * not whether its deadline is TIMER_NEVER. */
WEFT_API timer_time_t timer_sleep_deadline(const timer_sleep_t *s) { return s->entry.deadline; }

/* ---- timeout ------------------------------------------------------------ */

typedef struct timer_timeout {
    future_t fut;
    future_t *inner;
    timer_sleep_t sleep;
} timer_timeout_t;

/* "100 ms (40 ms left)": its sleep's words. */
WEFT_API void timer_timeout_describe_(const future_t *f, future_fmt_t *o) {
    timer_sleep_describe_(&((const timer_timeout_t *)(const void *)f)->sleep.fut, o);
}

WEFT_API coro_poll_t timer_timeout_poll_(future_t *self, future_cx_t *cx) {
    timer_timeout_t *t = (timer_timeout_t *)(void *)self;
    if (!self->child) { /* first poll: inner and sleep become our children */
        self->child = t->inner;
        t->inner->sibling = &t->sleep.fut;
        t->sleep.fut.sibling = 0;
    }
    if (future_poll(t->inner, cx) == CORO_READY) { /* the inner wins ties */
        future_drop_children_(self, t->inner);
        return future_finish(self, t->inner->co.rc);
    }
    if (future_poll(&t->sleep.fut, cx) == CORO_READY) {
        /* A sleep that failed (-EINVAL: no cx->timers) is that error, not a
         * timeout that never happened. */
        int rc = t->sleep.fut.co.rc < 0 ? t->sleep.fut.co.rc : FUTURE_ETIMEDOUT;
        future_drop_children_(self, &t->sleep.fut);
        return future_finish(self, rc);
    }
    {
        static const future_kind_t kind = {FUTURE_KIND_TAG_, "timeout", timer_timeout_describe_};
        future_set_kind(self, &kind); /* the inner shows beneath, as a child */
    }
    return CORO_PENDING;
}

/* Run inner, but for at most ns: then inner is dropped and the timeout
 * finishes with -ETIMEDOUT. Otherwise it finishes with inner's error. */
WEFT_API void timer_timeout_init(timer_timeout_t *t, future_t *inner, timer_time_t ns) {
    future_init(&t->fut, timer_timeout_poll_, 0);
    t->inner = inner;
    timer_sleep_init(&t->sleep, ns);
}
#define timer_timeout_init(t, inner, ns) (timer_timeout_init)((t), FUTURE_OF(inner), (ns))

/* ---- interval ----------------------------------------------------------- */

typedef enum timer_missed {
    TIMER_MISSED_BURST = 0,
    TIMER_MISSED_DELAY,
    TIMER_MISSED_SKIP
} timer_missed_t;

typedef struct timer_interval {
    future_t fut;
    timer_time_t period;
    timer_time_t last; /* scheduled time (ns) of the tick last returned */
    timer_time_t next; /* scheduled time of the next tick, once started */
    uint64_t ticks;  /* ticks returned so far */
    timer_missed_t missed;
    timer_sleep_t sleep;
} timer_interval_t;

/* "every 10 ms (3 ticks)"; the next tick's sleep shows beneath. */
WEFT_API void timer_interval_describe_(const future_t *f, future_fmt_t *o) {
    const timer_interval_t *iv = (const timer_interval_t *)(const void *)f;
    future_fmt_str(o, "every ");
    timer_fmt_duration(o, iv->period);
    future_fmt_str(o, " (");
    future_fmt_u64(o, iv->ticks);
    future_fmt_str(o, iv->ticks == 1 ? " tick)" : " ticks)");
}

WEFT_API coro_poll_t timer_interval_poll_(future_t *self, future_cx_t *cx) {
    timer_interval_t *iv = (timer_interval_t *)(void *)self;
    timer_time_t now;
#ifdef TIMER_TICK_TIME
    if (iv->period - 1u >= TIMER_TICK_MAX) {
        FUTURE_MISUSE("timer_interval_init with a zero period, or one of 2^31 ticks or "
                      "more: give it a period of 1 .. TIMER_TICK_MAX ticks");
#else
    if (iv->period == 0) {
        FUTURE_MISUSE("timer_interval_init with a zero period: give it a period > 0");
#endif
        return future_finish(self, FUTURE_EINVAL);
    }
    if (!cx->timers) return timer_no_wheel_(self);
    now = cx->timers->now;
    if (iv->ticks == 0 && iv->sleep.entry.state == TIMER_IDLE_ &&
        !(iv->sleep.entry.tag & TIMER_SLEEP_UNTIL_))
        timer_sleep_reset(&iv->sleep, now); /* the first tick is immediate */
    self->child = &iv->sleep.fut; /* shows in the async backtrace */
    if (future_poll(&iv->sleep.fut, cx) == CORO_PENDING) {
        static const future_kind_t kind = {FUTURE_KIND_TAG_, "interval", timer_interval_describe_};
        future_set_kind(self, &kind);
        return CORO_PENDING;
    }
    self->child = 0;
    iv->last = iv->sleep.entry.deadline;
    iv->ticks++;
    now = cx->timers->now;
    iv->next = timer_add_sat(iv->last, iv->period);
    if (!TIMER_BEFORE_(now, iv->next)) { /* ticks were missed */
        if (iv->missed == TIMER_MISSED_DELAY) {
            iv->next = timer_add_sat(now, iv->period);
        } else if (iv->missed == TIMER_MISSED_SKIP) {
            /* The first tick of the schedule after now: last + k * period.
             * k * period may not fit: then it is past the end of time. */
            timer_time_t k = (timer_time_t)(now - iv->last) / iv->period + 1;
            iv->next = k > TIMER_NEVER / iv->period ? TIMER_NEVER
                                                    : timer_add_sat(iv->last, k * iv->period);
        } /* BURST: keep the schedule; the next ticks are due at once */
    }
    timer_sleep_reset(&iv->sleep, iv->next);
    return CORO_READY; /* a stream: ready for this tick, never finished */
}

WEFT_API void timer_interval_drop_(future_t *self) {
    timer_interval_t *iv = (timer_interval_t *)(void *)self;
    self->child = 0;
    timer_sleep_drop_(&iv->sleep.fut);
}

/* Tick every period ns, the first tick at the first poll. */
WEFT_API void timer_interval_init(timer_interval_t *iv, timer_time_t period,
                                       timer_missed_t missed) {
    future_init(&iv->fut, timer_interval_poll_, timer_interval_drop_);
    iv->period = period;
    iv->last = iv->next = 0;
    iv->ticks = 0;
    iv->missed = missed;
    timer_sleep_init(&iv->sleep, 0);
}

/* ---- retry with backoff ------------------------------------------------- */

typedef enum timer_jitter {
    TIMER_JITTER_NONE = 0, /* wait the delay as computed */
    TIMER_JITTER_FULL,     /* a random wait in [0, delay] (AWS "full jitter") */
    TIMER_JITTER_EQUAL     /* a random wait in [delay / 2, delay] ("equal") */
} timer_jitter_t;

/* When to try again. Zeroed fields are the defaults, so a designated
 * initializer names only what it changes. */
typedef struct timer_retry_policy {
    unsigned max_attempts;    /* attempts in all, the first included: >= 1 */
    timer_time_t base;        /* the first delay (ns), before attempt 2 */
    unsigned factor_pct;      /* each delay is the one before times this / 100:
                                 200 doubles (0 means 200), 150 is x1.5,
                                 100 keeps it constant */
    timer_time_t max_delay;   /* cap on a delay (ns), before jitter; 0: none */
    timer_jitter_t jitter;
    uint64_t seed;            /* the jitter's generator starts here */
    timer_time_t attempt_timeout; /* ns an attempt may take, 0: no limit; a late
                                 attempt is dropped and fails with -ETIMEDOUT */
    /* Is err (< 0) worth another attempt? 0: every error is. ctx is the
     * one given to timer_retry_init. Asked only while attempts remain. */
    int (*retry_on)(void *ctx, int err);
    /* Told of every attempt that finishes, the last one included: its
     * number (1, 2, ...) and its result (-ETIMEDOUT: cut off by
     * attempt_timeout), before retry_on is asked; for a log or a metric
     * (tokio-retry's notify). 0: nobody is. Not called for an attempt
     * dropped with the retry. */
    void (*on_attempt)(void *ctx, unsigned attempt, int err);
} timer_retry_policy_t;

/* (Re)initialise attempt number `attempt` (1, 2, ...) in the caller's
 * storage and return its future. The previous attempt is finished or
 * dropped by then, so one frame can serve every attempt. */
typedef future_t *(*timer_retry_make_fn)(void *ctx, unsigned attempt);

enum { TIMER_RETRY_START_, TIMER_RETRY_RUNNING_, TIMER_RETRY_BACKOFF_ };

typedef struct timer_retry {
    future_t fut;
    timer_retry_policy_t policy; /* a copy */
    timer_retry_make_fn make;
    void *ctx;
    unsigned attempts;   /* attempts started so far */
    int last_err;        /* the latest finished attempt's error */
    timer_time_t last_delay; /* the latest backoff waited (ns), jitter included */
    timer_time_t delay;      /* the next backoff, before jitter */
    uint64_t rng;        /* the jitter's generator state */
    int phase;           /* TIMER_RETRY_START_, _RUNNING_, _BACKOFF_ */
    future_t *attempt;   /* the attempt in flight (or its timeout) */
    timer_timeout_t limit;
    timer_sleep_t pause;
} timer_retry_t;

/* The next pseudo-random number (splitmix64: any seed works, 0 too). */
WEFT_API uint64_t timer_retry_rand_(uint64_t *state) {
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* A number in [0, n], inclusive. */
WEFT_API timer_time_t timer_retry_upto_(uint64_t *state, timer_time_t n) {
    uint64_t r = timer_retry_rand_(state);
    return n == TIMER_NEVER ? (timer_time_t)r : (timer_time_t)(r % ((uint64_t)n + 1));
}

/* d grown by factor_pct percent, without overflow: past the end of time it
 * is "never" (the cap, if any, brings it back). */
WEFT_API timer_time_t timer_retry_grow_(timer_time_t d, unsigned pct) {
    timer_time_t whole = d / 100, part = (d % 100) * pct / 100;
    if (pct && whole > (TIMER_NEVER - part) / pct) return TIMER_NEVER;
    return whole * pct + part;
}

WEFT_API timer_time_t timer_retry_cap_(const timer_retry_policy_t *p, timer_time_t d) {
    return p->max_delay && d > p->max_delay ? p->max_delay : d;
}

/* "attempt 3/5 (backoff 40 ms left)", "attempt 3/5 (running)": in a
 * backoff, the number is that of the attempt waited for. */
WEFT_API void timer_retry_describe_(const future_t *f, future_fmt_t *o) {
    const timer_retry_t *r = (const timer_retry_t *)(const void *)f;
    const timer_sleep_t *s = &r->pause;
    int backoff = r->phase == TIMER_RETRY_BACKOFF_;
    future_fmt_str(o, "attempt ");
    future_fmt_u64(o, r->attempts + (backoff ? 1u : 0u));
    future_fmt_str(o, "/");
    future_fmt_u64(o, r->policy.max_attempts);
    if (!backoff) {
        future_fmt_str(o, " (running)");
    } else if (TIMER_SLEEP_FOREVER_(s)) {
        future_fmt_str(o, " (backoff forever)");
    } else if (s->entry.state == TIMER_LINKED_ && TIMER_BEFORE_(s->wheel->now, s->entry.deadline)) {
        future_fmt_str(o, " (backoff ");
        timer_fmt_duration(o, s->entry.deadline - s->wheel->now);
        future_fmt_str(o, " left)");
    } else {
        future_fmt_str(o, " (backoff due)");
    }
}

WEFT_API coro_poll_t timer_retry_pending_(future_t *self) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "retry", timer_retry_describe_};
    future_set_kind(self, &kind); /* the attempt or the sleep shows beneath */
    return CORO_PENDING;
}

/* Start the next attempt: make it, put it under its timeout, if any, and
 * make it our child (dropped with us, shown beneath us). */
WEFT_API int timer_retry_start_(timer_retry_t *r) {
    future_t *a = r->make(r->ctx, ++r->attempts);
    if (!a) {
        FUTURE_MISUSE("timer_retry's make returned no future: initialise the "
                      "attempt in your storage and return its future");
        return FUTURE_EINVAL;
    }
    if (r->policy.attempt_timeout) {
        timer_timeout_init(&r->limit, a, r->policy.attempt_timeout);
        a = &r->limit.fut;
    }
    r->attempt = a;
    r->fut.child = a;
    a->sibling = 0;
    r->phase = TIMER_RETRY_RUNNING_;
    return 0;
}

/* The attempt finished with err: 1 if another one is due (the backoff is
 * armed), 0 if err is the answer. */
WEFT_API int timer_retry_again_(timer_retry_t *r, int err) {
    const timer_retry_policy_t *p = &r->policy;
    timer_time_t wait = r->delay;
    r->last_err = err;
    if (p->on_attempt) p->on_attempt(r->ctx, r->attempts, err);
    if (err >= 0 || r->attempts >= p->max_attempts) return 0;
    if (p->retry_on && !p->retry_on(r->ctx, err)) return 0;
    if (p->jitter == TIMER_JITTER_FULL)
        wait = timer_retry_upto_(&r->rng, wait);
    else if (p->jitter == TIMER_JITTER_EQUAL)
        wait = wait - wait / 2 + timer_retry_upto_(&r->rng, wait / 2);
    r->last_delay = wait;
    r->delay = timer_retry_cap_(p, timer_retry_grow_(r->delay, p->factor_pct ? p->factor_pct : 200));
    timer_sleep_init(&r->pause, wait);
    r->fut.child = &r->pause.fut;
    r->pause.fut.sibling = 0;
    r->phase = TIMER_RETRY_BACKOFF_;
    return 1;
}

WEFT_API coro_poll_t timer_retry_poll_(future_t *self, future_cx_t *cx) {
    timer_retry_t *r = (timer_retry_t *)(void *)self;
    int err;
    if (r->phase == TIMER_RETRY_START_) {
        if (!r->make || r->policy.max_attempts == 0) {
            FUTURE_MISUSE(r->make ? "timer_retry with max_attempts 0 (or no policy): allow at least 1 attempt"
                                  : "timer_retry_init without a make function: pass the "
                                    "function that starts each attempt");
            return future_finish(self, FUTURE_EINVAL);
        }
        if (!cx->timers) return timer_no_wheel_(self);
        r->rng = r->policy.seed;
        r->delay = timer_retry_cap_(&r->policy, r->policy.base);
        if ((err = timer_retry_start_(r)) < 0) return future_finish(self, err);
    }
    for (;;) {
        if (r->phase == TIMER_RETRY_BACKOFF_) {
            if (future_poll(&r->pause.fut, cx) == CORO_PENDING) return timer_retry_pending_(self);
            self->child = 0;
            if ((err = future_err(&r->pause.fut)) < 0) return future_finish(self, err);
            if ((err = timer_retry_start_(r)) < 0) return future_finish(self, err);
        }
        if (future_poll(r->attempt, cx) == CORO_PENDING) return timer_retry_pending_(self);
        self->child = 0;
        err = future_err(r->attempt);
        r->attempt = 0;
        if (!timer_retry_again_(r, err)) return future_finish(self, err);
    }
}

/* Run the attempts make(ctx, 1), make(ctx, 2), ... one at a time until one
 * succeeds (error >= 0) or the policy gives up; policy is copied. The
 * retry finishes with the successful attempt's result, or the last
 * attempt's error. */
WEFT_API void timer_retry_init(timer_retry_t *r, const timer_retry_policy_t *policy,
                               timer_retry_make_fn make, void *ctx) {
    static const timer_retry_policy_t none = {0, 0, 0, 0, TIMER_JITTER_NONE, 0, 0, 0, 0};
    future_init(&r->fut, timer_retry_poll_, 0);
    r->policy = policy ? *policy : none; /* none: max_attempts 0, reported */
    r->make = make;
    r->ctx = ctx;
    r->attempts = 0;
    r->last_err = 0;
    r->last_delay = r->delay = r->rng = 0;
    r->phase = TIMER_RETRY_START_;
    r->attempt = 0;
}

#endif /* TIMER_H */
