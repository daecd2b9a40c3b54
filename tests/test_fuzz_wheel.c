/* test_fuzz_wheel.c - differential fuzz of timer.h's wheel against a
 * reference model (a plain array of live timers: deadline, registration
 * number), run as part of the suite: 200,000 steps per seed (20,000 under
 * valgrind or qemu), plain and with registration-number jumps of 2^31 and
 * more. A failure prints the step and aborts.
 *
 * By hand, for longer runs:  FUZZ_STEPS=5000000 FUZZ_SEED=7 ./test_fuzz_wheel
 *
 * It tests the wheel as timer.h's knobs shape it: tests/wheel_knobs.sh
 * builds it with -DTIMER_LEVELS=... -DTIMER_SLOTS=... -DTIMER_TICK_SHIFT=...
 * for wheels that span every deadline (the default) and wheels whose top
 * level goes round (3 x 8 slots of 2^20 ns; 2 x 4 of 1 ns, a round of 16
 * ns, so that nearly every timer is rounds ahead), with deadlines and
 * clock jumps of whole rounds and their neighbours.
 *
 * Drives timer_wheel_insert / cancel / advance / next directly, and
 * timer_sleep_t through future_poll / future_drop / timer_sleep_reset, with
 * random deadlines that favour tick and level boundaries, equal deadlines,
 * "never" and its neighbours; advances of a few ns up to the end of time;
 * the paused-clock jump (advance to timer_wheel_next until something
 * fires); wheels started anywhere (the end of time too) with the
 * registration number near its wrap. Wakers cancel other timers (the due
 * ones too), register new ones, re-arm themselves and advance the wheel
 * again from inside the wake.
 *
 * Checked, at every step:
 *   - a timer fires only while linked, never before its deadline, once;
 *   - after every advance, no live timer is due (none lost), and the
 *     advance returns how many fired;
 *   - equal deadlines (ns) fire in registration order, always; equal ticks
 *     within one advance in registration order; an advance of at most one
 *     tick, or to timer_wheel_next, fires in exact (tick, registration)
 *     order;
 *   - every linked timer is in a slot that comes due no later than its
 *     tick, and (below the top level of a wheel that goes round) within
 *     that slot's stretch; level 0's slot at the wheel's position holds
 *     only the current tick, a higher level's nothing of this round;
 *   - timer_wheel_next: NEVER when empty, else in (now, earliest deadline],
 *     and the paused-clock jump lands exactly on the earliest deadline
 *     within a few jumps;
 *   - timer_wheel_count equals the model's; entry states match; an empty
 *     wheel has every ring closed on itself.
 * Shown to fail on deliberately broken copies of timer.h: a new timer
 * linked at the front of its slot, stale slot bits not skipped, firing by
 * tick instead of the exact deadline, a lost count on a sleep's drop, one
 * wrong entry of the slot table (the level is computed now), the "stay"
 * bit not restored, the until sleep using the relative formula; on a
 * wheel that goes round (tests/wheel_knobs.sh): a timer rounds ahead
 * fired a tick early, or dropped instead of filed again, and the top
 * level's search starting at its current slot.
 *
 * With TIMER_LEVELS=1 (tests/wheel_knobs.sh "list": no wheel, a list
 * sorted by deadline) the same checks but the slots' (there are none;
 * the list's own order is checked instead).
 */
#include "check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include "../timer.h"

#define NT 192

/* The wheel's position (ticks); the list has none: its clock's tick. */
#if TIMER_LIST_
#define ELAPSED (W.now >> TIMER_TICK_SHIFT)
#else
#define ELAPSED W.elapsed
#endif
#define NLOG 4096

typedef struct {
    future_waker_t w; /* first */
    timer_entry_t e;  /* raw timers */
    timer_sleep_t s;  /* sleeps */
    int kind;         /* 0: raw, 1: sleep */
    int live;         /* model: linked */
    int sleep_state;  /* sleeps: 0 none/idle, 1 pending (linked or never), 2 fired, 3 finished */
    int never;        /* sleep pending forever */
    uint64_t deadline, mseq;
    int far;          /* registered a round or more ahead */
} tm_t;

static tm_t T[NT];
static timer_wheel_t W;
static uint64_t mseq_next;
static uint64_t rng;
static unsigned long long steps, nfired, nbig_unordered, njumps, nreinit, nnested;
static int depth;
static unsigned long long nwrap; /* registrations numbered 0 with others live */
static unsigned long long nfar, nfar_fired, nahead_seen; /* timers a round or more ahead */

typedef struct {
    int id;
    uint64_t deadline, mseq;
} fire_t;
static fire_t logv[NLOG];
static int nlog;
static int log_nested; /* a nested advance ran during this log */

static uint64_t rnd(void) {
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }

#define FAIL(...)                                                                   \
    do {                                                                            \
        fprintf(stderr, "FAIL step %llu (line %d): ", steps, __LINE__);             \
        fprintf(stderr, __VA_ARGS__);                                               \
        fprintf(stderr, "\n  now=%llu elapsed=%llu\n", (unsigned long long)W.now,   \
                (unsigned long long)ELAPSED);                                     \
        abort();                                                                    \
    } while (0)

static timer_entry_t *ent(tm_t *t) { return t->kind ? &t->s.entry : &t->e; }

static uint64_t add_sat(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/* A round of the top level, in ns (0: the wheel spans every deadline). */
#if TIMER_LIST_
#define ROUND_NS ((uint64_t)0) /* a list spans every deadline */
#else
#define ROUND_NS (TIMER_ROUNDS_ ? (uint64_t)1 << (TIMER_ROUND_BITS_ + TIMER_TICK_SHIFT) : 0)
#endif

static uint64_t round_ns(void) { return ROUND_NS; }

/* A few rounds (or, on a wheel that spans all, a few top-level slots) and
 * a neighbour: -1, 0 or +1 ns. */
static uint64_t rounds_away(void) {
    uint64_t r = ROUND_NS ? ROUND_NS : (uint64_t)1 << (TIMER_DIGIT_ * (TIMER_LEVELS - 1) + TIMER_TICK_SHIFT);
    uint64_t k = 1 + below(below(4) ? 4 : 1000);
    return (k > UINT64_MAX / r ? UINT64_MAX : k * r) + below(3) - 1;
}

/* A deadline, often on or next to a boundary, or equal to a live one. */
static uint64_t pick_deadline(void) {
    uint64_t now = W.now, d;
    switch (below(12)) {
    case 0: return now + below(3); /* due already, or the next ns */
    case 1: return add_sat(now, below(4096));
    case 2: return add_sat(now, below((uint64_t)1 << (below(64))));
    case 3: { /* a level boundary, +-1 */
        unsigned sh = TIMER_TICK_SHIFT + TIMER_DIGIT_ * (unsigned)below(TIMER_LEVELS + 2);
        uint64_t b = sh >= 64 ? 0 : ((now >> sh) + 1 + below(3)) << sh;
        if (sh >= 64 || b < now) b = UINT64_MAX;
        return b + (below(3) == 0 ? (uint64_t)-1 : below(2));
    }
    case 4: { /* equal to a live one */
        int i, k = (int)below(NT);
        for (i = 0; i < NT; i++)
            if (T[(k + i) % NT].live) return T[(k + i) % NT].deadline;
        return add_sat(now, below(1 << 20));
    }
    case 5: return UINT64_MAX - below(3);
    case 6: return UINT64_MAX - below((uint64_t)1 << below(64));
    case 7: return now - below(now < 5000 ? now + 1 : 5000); /* past */
    case 8: return add_sat(now, below(TIMER_SEC));
    case 9: return add_sat(now, rounds_away()); /* rounds ahead, and next to them */
    default: d = add_sat(now, below((uint64_t)1 << (10 + below(40)))); return d;
    }
}

static void fire_check(tm_t *t) {
    timer_entry_t *e = ent(t);
    if (!t->live) FAIL("timer %d fired while not live (mseq %llu)", (int)(t - T), (unsigned long long)t->mseq);
    if (e->state != TIMER_FIRED_) FAIL("timer %d fired with state %d", (int)(t - T), e->state);
    if (t->deadline > W.now)
        FAIL("timer %d fired early: deadline %llu > now", (int)(t - T), (unsigned long long)t->deadline);
    t->live = 0;
    nfar_fired += (unsigned long long)t->far;
    if (t->kind) t->sleep_state = 2;
    if (nlog < NLOG) logv[nlog++] = (fire_t){(int)(t - T), t->deadline, t->mseq};
    nfired++;
}

static void do_advance(uint64_t to);

static void note_far(tm_t *t) {
    uint64_t r = round_ns();
    t->far = r && t->deadline - W.now >= r;
    nfar += (unsigned long long)t->far;
}

/* Register idle timer t for deadline d through its own API; the model
 * follows. */
static void do_register(tm_t *t, uint64_t d) {
    if (t->live) return;
    if (t->kind == 0) {
        int rc = timer_wheel_insert(&W, &t->e, d, &t->w);
        if (d <= W.now) {
            if (rc != 1) FAIL("insert of a past deadline linked");
        } else {
            if (rc != 0) FAIL("insert of a future deadline refused");
#if TIMER_ENTRY_SEQ
            if (t->e.seq == 0 && timer_wheel_count(&W) > 1) nwrap++;
#else
            if (W.seq == 1 && timer_wheel_count(&W) > 1) nwrap++;
#endif
            t->live = 1, t->deadline = d, t->mseq = mseq_next++;
            note_far(t);
        }
    } else {
        future_cx_t cx;
        coro_poll_t r;
        int until = (int)below(2);
        uint64_t arg = until ? d : d - W.now, want;
        if (t->sleep_state == 1) return; /* pending: drop first */
        if (!until && d < W.now) arg = below(2) ? 0 : UINT64_MAX - below(W.now + 1); /* 0, or an overflowing duration */
        want = until ? arg : add_sat(W.now, arg);
        if (until) timer_sleep_until_init(&t->s, arg);
        else timer_sleep_init(&t->s, arg);
        memset(&cx, 0, sizeof cx);
        cx.waker = &t->w;
        cx.timers = &W;
        r = future_poll(&t->s.fut, &cx);
        if (timer_sleep_deadline(&t->s) != want)
            FAIL("sleep deadline %llu, want %llu", (unsigned long long)timer_sleep_deadline(&t->s),
                 (unsigned long long)want);
        if (want == UINT64_MAX) {
            if (r != CORO_PENDING || t->s.entry.state == TIMER_LINKED_) FAIL("never sleep");
            t->sleep_state = 1, t->never = 1;
        } else if (want <= W.now) {
            if (r != CORO_READY || future_err(&t->s.fut) != 0) FAIL("due sleep not ready");
            t->sleep_state = 3;
        } else {
            if (r != CORO_PENDING || t->s.entry.state != TIMER_LINKED_) FAIL("sleep not linked");
            t->sleep_state = 1, t->never = 0;
            t->live = 1, t->deadline = want, t->mseq = mseq_next++;
            note_far(t);
        }
    }
}

static void do_cancel(tm_t *t) {
    if (t->kind == 0) {
        timer_wheel_cancel(&W, &t->e);
        if (t->e.state == TIMER_LINKED_) FAIL("still linked after cancel");
        t->live = 0;
    } else {
        /* drop: pending (linked or never), fired but not polled, finished,
         * or never polled at all */
        if (t->sleep_state == 0 && below(2)) timer_sleep_init(&t->s, below(1000)); /* never polled */
        if (t->sleep_state == 2 && below(2)) { /* poll the fired one first */
            future_cx_t cx;
            memset(&cx, 0, sizeof cx);
            cx.waker = &t->w;
            cx.timers = &W;
            if (future_poll(&t->s.fut, &cx) != CORO_READY || future_err(&t->s.fut) != 0)
                FAIL("fired sleep not ready");
        }
        if (t->sleep_state != 0) future_drop(&t->s.fut);
        if (t->s.entry.state == TIMER_LINKED_) FAIL("sleep linked after drop");
        t->live = 0, t->sleep_state = 0;
    }
}

static void wake(future_waker_t *w) {
    tm_t *t = (tm_t *)(void *)w;
    fire_check(t);
    if (depth > 2) return;
    depth++;
    switch (below(16)) {
    case 0: case 1: do_cancel(&T[below(NT)]); break; /* maybe a due one */
    case 2: do_register(&T[below(NT)], pick_deadline()); break;
    case 3: /* re-arm self */
        if (t->kind) {
            future_cx_t cx;
            uint64_t d = add_sat(W.now, 1 + below(5000));
            memset(&cx, 0, sizeof cx);
            cx.waker = &t->w;
            cx.timers = &W;
            if (d == UINT64_MAX) break;
            timer_sleep_reset(&t->s, d);
            if (future_poll(&t->s.fut, &cx) != CORO_PENDING) FAIL("re-armed sleep not pending");
            t->sleep_state = 1, t->never = 0;
            t->live = 1, t->deadline = d, t->mseq = mseq_next++;
            note_far(t);
        } else {
            do_register(t, pick_deadline());
        }
        break;
    case 4:
        if (below(4) == 0 && W.now != UINT64_MAX) {
            log_nested = 1;
            nnested++;
            do_advance(add_sat(W.now, below(3000)));
        }
        break;
    default: break;
    }
    depth--;
}

static void check_model(void) {
    size_t live = 0;
    int i;
    for (i = 0; i < NT; i++) {
        timer_entry_t *e = ent(&T[i]);
        if (T[i].live) {
            live++;
            if (e->state != TIMER_LINKED_) FAIL("live timer %d has state %d", i, e->state);
            if (e->deadline != T[i].deadline) FAIL("deadline changed");
        } else if (e->state == TIMER_LINKED_) {
            FAIL("timer %d linked but not live", i);
        }
    }
    if (timer_wheel_count(&W) != live)
        FAIL("count %zu, model %zu", timer_wheel_count(&W), live);
#if TIMER_LIST_
    if (!live && (W.list.next != &W.list || W.list.prev != &W.list || W.due.next != &W.due))
        FAIL("empty list not closed");
#else
    if (!live)
        for (i = 0; i <= TIMER_DUE_SLOT_; i++)
            if (W.slots[i].next != &W.slots[i] || W.slots[i].prev != &W.slots[i])
                FAIL("empty wheel, slot %d not closed", i);
#endif
}

/* Where each linked timer sits: in a slot that comes due (as the wheel's
 * search computes it) no later than its tick, and below the top of a
 * wheel that goes round, within the slot's stretch; level 0's slot at the
 * wheel's position holds only the current tick; a higher level's slot
 * there holds nothing of this round. */
static void check_slots(void) {
#if TIMER_LIST_ /* none: the list's order instead, by deadline */
    const timer_link_t *l;
    const timer_entry_t *prev = 0;
    for (l = W.list.next; l != &W.list; l = l->next) {
        const timer_entry_t *e = (const timer_entry_t *)(const void *)l;
        if (prev && prev->deadline > e->deadline) FAIL("list out of deadline order");
        if (e->deadline <= W.now) FAIL("a due timer still in the list");
        prev = e;
    }
#else
    int level, i;
    for (level = 0; level < TIMER_LEVELS; level++) {
        int top = TIMER_ROUNDS_ && level == TIMER_LEVELS - 1;
        uint64_t span = (uint64_t)1 << (TIMER_DIGIT_ * level), round = span * TIMER_SLOTS;
        unsigned pos = (unsigned)(W.elapsed >> (TIMER_DIGIT_ * level)) & (TIMER_SLOTS - 1);
        for (i = 0; i < TIMER_SLOTS; i++) {
            const timer_link_t *q = &W.slots[level * TIMER_SLOTS + i], *l;
            uint64_t due = (W.elapsed & ~(round - 1)) + (uint64_t)i * span;
            if (due < W.elapsed || (level && due == W.elapsed)) due += round;
            if (q->next != q && !(W.occupied[level] >> i & 1))
                FAIL("slot %d of level %d holds timers but its bit is clear", i, level);
            for (l = q->next; l != q; l = l->next) {
                uint64_t tick = ((const timer_entry_t *)(const void *)l)->deadline >> TIMER_TICK_SHIFT;
                nahead_seen += top && tick - due >= span;
                if (tick < due || (!top && tick - due >= span) || (level == 0 && tick != due) ||
                    (level > 0 && !top && (unsigned)i == pos))
                    FAIL("a timer of tick %llu in slot %d of level %d (due at tick %llu)",
                         (unsigned long long)tick, i, level, (unsigned long long)due);
            }
        }
    }
#endif
}

static uint64_t model_min(void) {
    uint64_t m = UINT64_MAX;
    int i, any = 0;
    for (i = 0; i < NT; i++)
        if (T[i].live && (!any || T[i].deadline < m)) m = T[i].deadline, any = 1;
    return any ? m : 0;
}
static int model_any(void) {
    int i;
    for (i = 0; i < NT; i++)
        if (T[i].live) return 1;
    return 0;
}

static void check_next(void) {
    uint64_t nx = timer_wheel_next(&W), in = timer_wheel_next_in(&W);
    if (in != (nx == TIMER_NEVER ? TIMER_NEVER : nx - W.now)) /* the same, from now */
        FAIL("next_in %llu, next %llu", (unsigned long long)in, (unsigned long long)nx);
    if (!model_any()) {
        if (nx != TIMER_NEVER) FAIL("next %llu on an empty wheel", (unsigned long long)nx);
        return;
    }
    if (nx == TIMER_NEVER && model_min() == TIMER_NEVER) return; /* due at "never": by design */
    if (nx > model_min()) FAIL("next %llu after the earliest deadline %llu", (unsigned long long)nx,
                               (unsigned long long)model_min());
    if (nx <= W.now) FAIL("next %llu not after now", (unsigned long long)nx);
}

/* The firing order of one top-level advance. */
static void check_log(int strict) {
    int i, j;
    for (i = 0; i < nlog; i++)
        for (j = i + 1; j < nlog; j++) {
            int same_tick = (logv[i].deadline >> TIMER_TICK_SHIFT) == (logv[j].deadline >> TIMER_TICK_SHIFT);
            if (logv[i].deadline == logv[j].deadline && logv[i].mseq > logv[j].mseq)
                FAIL("equal deadlines %llu fired out of registration order (%llu before %llu)",
                     (unsigned long long)logv[i].deadline, (unsigned long long)logv[i].mseq,
                     (unsigned long long)logv[j].mseq);
#if TIMER_LIST_ /* the list: every advance in exact (deadline, registration) order */
            (void)same_tick;
            if (!log_nested && logv[i].deadline > logv[j].deadline)
                FAIL("the list fired deadline %llu before %llu", (unsigned long long)logv[i].deadline,
                     (unsigned long long)logv[j].deadline);
#else
            if (!log_nested && same_tick && logv[i].mseq > logv[j].mseq)
                FAIL("same tick fired out of registration order");
#endif
            if ((logv[i].deadline >> TIMER_TICK_SHIFT) > (logv[j].deadline >> TIMER_TICK_SHIFT)) {
                if (strict && !log_nested)
                    FAIL("exact advance fired tick %llu before %llu",
                         (unsigned long long)(logv[i].deadline >> TIMER_TICK_SHIFT),
                         (unsigned long long)(logv[j].deadline >> TIMER_TICK_SHIFT));
                nbig_unordered++;
            }
        }
}

static void do_advance(uint64_t to) {
    size_t n;
    unsigned long long before = nfired;
    int i;
    n = timer_wheel_advance(&W, to);
    if (!log_nested && n != nfired - before) FAIL("advance returned %zu, fired %llu", n, nfired - before);
    for (i = 0; i < NT; i++)
        if (T[i].live && T[i].deadline <= W.now)
            FAIL("timer %d lost: deadline %llu <= now", i, (unsigned long long)T[i].deadline);
}

static void top_advance(uint64_t to, int strict) {
    nlog = 0;
    log_nested = 0;
    do_advance(to);
    check_log(strict);
}

static void reinit(void) {
    int i;
    static const uint64_t starts[] = {0, 1, 1023, 1024, (uint64_t)1 << 40, ((uint64_t)1 << 63) - 5,
                                      UINT64_MAX - ((uint64_t)1 << 30), UINT64_MAX - 2048, UINT64_MAX - 1};
    if (nreinit) {
        for (i = 0; i < NT; i++) do_cancel(&T[i]);
        check_model();
    }
    timer_wheel_init(&W, below(3) ? below((uint64_t)1 << below(64)) : starts[below(sizeof starts / sizeof starts[0])]);
    W.seq = W.gone = below(4) ? (uint32_t)(UINT32_MAX - below(40)) : (uint32_t)rnd();
    for (i = 0; i < NT; i++) {
        memset(&T[i], 0, sizeof T[i]);
        T[i].w.wake = wake;
        T[i].kind = i % 3 == 2; /* a third are sleeps */
    }
    nreinit++;
}

static void hung(int sig) {
    (void)sig;
    fprintf(stderr, "FAIL: hung (step %llu)\n", steps);
    _exit(2);
}

static void run_fuzz(unsigned long long n, uint64_t seed, int seqjump) {
    rng = seed;
    signal(SIGALRM, hung);
    alarm((unsigned)(120 + n / 2000));
    reinit();
    for (steps = 0; steps < n; steps++) {
        unsigned op = (unsigned)below(100);
        tm_t *t = &T[below(NT)];
        if (op < 40) {
            do_register(t, pick_deadline());
        } else if (op < 58) {
            do_cancel(t);
        } else if (op < 75) { /* small advances: within a tick, a few ticks */
            uint64_t old = ELAPSED, to = add_sat(W.now, below(2) ? below(1100) : below(70000));
            top_advance(to, (to >> TIMER_TICK_SHIFT) <= old + 1);
        } else if (op < 83) { /* big jumps: past several levels, whole rounds, or to the end */
            uint64_t to = below(100) ? add_sat(W.now, below(3) ? rnd() >> below(64) : rounds_away())
                                     : UINT64_MAX - below(2);
            top_advance(to, 0);
        } else if (op < 85) {
            top_advance(W.now - below(W.now < 5000 ? W.now + 1 : 5000), 1); /* backwards or still: nothing */
        } else if (op < 97) { /* the paused clock: jump to next until one fires */
            int k;
            uint64_t min = model_min();
            int any = model_any();
            unsigned long long before = nfired;
            for (k = 0; k < 64 && nfired == before; k++) {
                uint64_t nx = timer_wheel_next(&W);
                if (nx == TIMER_NEVER) break;
                top_advance(nx, 1);
            }
            njumps++;
            if (min == TIMER_NEVER) any = 0; /* the jump never reaches "never" */
            if (log_nested) any = 0; /* a waker moved the clock on: no exact landing */
            if (any && nfired == before) FAIL("paused jumps never fired (min %llu)", (unsigned long long)min);
            if (any && W.now != min) FAIL("paused jump landed at %llu, earliest %llu", (unsigned long long)W.now,
                                          (unsigned long long)min);
            if (k > TIMER_LEVELS + 3) FAIL("paused jump took %d steps", k);
        } else if (op < 98 && seqjump) { /* as if 2^31 or more timers came and went */
            uint32_t k = 0x80000000u + (uint32_t)below(0x7fffffff);
            W.seq += k, W.gone += k, mseq_next += k;
        } else if (op < 98 || W.now > UINT64_MAX - 4096) {
            reinit();
        }
        check_model();
        check_next();
        if (steps % 4 == 0) check_slots();
    }
    printf("ok: %llu steps, %llu fired, %llu paused jumps, %llu nested advances, %llu reinits, "
           "%llu out-of-tick-order pairs in big jumps (allowed), %llu seq wraps with live timers\n",
           steps, nfired, njumps, nnested, nreinit, nbig_unordered, nwrap);
    if (round_ns())
        printf("    a round of %llu ns: %llu timers registered a round or more ahead, %llu of them fired; "
               "%llu seen waiting rounds ahead\n",
               (unsigned long long)round_ns(), nfar, nfar_fired, nahead_seen);
    alarm(0);
}

#ifdef CHECK_SLOW
#define FUZZ_DEFAULT_STEPS 20000ull
#else
#define FUZZ_DEFAULT_STEPS 200000ull
#endif

static unsigned long long fuzz_steps(void) {
    const char *e = getenv("FUZZ_STEPS");
    return e ? strtoull(e, 0, 0) : FUZZ_DEFAULT_STEPS;
}

static uint64_t fuzz_seed(uint64_t dflt) {
    const char *e = getenv("FUZZ_SEED");
    return e ? strtoull(e, 0, 0) : dflt;
}

static void test_wheel_against_a_model(void) {
    run_fuzz(fuzz_steps(), fuzz_seed(1), 0);
    CHECK(steps == fuzz_steps());
}

static void test_wheel_against_a_model_with_number_jumps(void) {
    run_fuzz(fuzz_steps(), fuzz_seed(5), 1);
    CHECK(steps == fuzz_steps());
}

int main(void) {
    RUN(test_wheel_against_a_model);
    RUN(test_wheel_against_a_model_with_number_jumps);
    return check_summary();
}
