/* test_tick_wheel.c - differential fuzz of timer.h's wheel in tick time
 * (TIMER_TICK_TIME: 32-bit ticks that wrap, compared by wrapping
 * difference) against a reference model that keeps time unwrapped in 64
 * bits. The wheel sees only the low 32 bits: wheels start anywhere, near
 * the wrap most often, and every run crosses it many times.
 *
 *   tests/wheel_knobs.sh builds it in each tick configuration (5 x 64, the
 *   default there; 3 x 8 of mcu.sh; 2 x 4 and 2 x 2, where nearly every
 *   timer is rounds ahead; the search by halves). FUZZ_STEPS, FUZZ_SEED.
 *
 * Drives timer_wheel_insert / cancel / advance / next_in directly, and
 * timer_sleep_t (durations and until-deadlines) through future_poll /
 * future_drop, with durations that favour tick, level and round
 * boundaries, the longest one (TIMER_TICK_MAX) and "never" (2^31 and
 * more); advances from 0 to TIMER_TICK_MAX ticks; the paused-clock jump
 * (advance by timer_wheel_next_in until something fires). Wakers cancel
 * other timers and register new ones.
 *
 * Checked, at every step: a timer fires only while linked, never before
 * its deadline, once; after every advance no live timer is due (none
 * lost) and the advance returns how many fired; equal deadlines fire in
 * registration order; timer_wheel_next_in is TIMER_NEVER exactly when
 * nothing is linked, else in [1, ticks to the earliest deadline], and the
 * paused jump lands on the earliest deadline exactly, in a few steps;
 * timer_wheel_count equals the model's; a sleep of 2^31 ticks or more
 * stays pending and links nothing; a raw insert 2^31 ticks or more ahead
 * is in the past (returns 1).
 * Shown to fail on deliberately broken copies of timer.h: a due test by
 * plain comparison (deadline <= now) instead of the wrapping difference,
 * the advance's slot search compared without its base, and the clz of a
 * 64-bit word on 32-bit time.
 */
/* tick time is the bare backend's (exec.h refuses it elsewhere): said
 * here too, so that the test also builds against the single weft.h */
#define EXEC_BACKEND_BARE 1
#define EXEC_TICK_TIME 1
#define TIMER_TICK_TIME 1
#include "check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../timer.h"

#define NT 128

typedef struct {
    future_waker_t w; /* first */
    timer_entry_t e;  /* raw timers */
    timer_sleep_t s;  /* sleeps */
    int kind;         /* 0: raw, 1: sleep */
    int live;         /* model: linked */
    int pending;      /* sleeps: polled and not finished (linked or never) */
    uint64_t adl;     /* model: the deadline, unwrapped */
    uint64_t mseq;
} tm_t;

static tm_t T[NT];
static timer_wheel_t W;
static uint64_t anow; /* the model's clock, unwrapped: W.now is its low 32 bits */
static uint64_t mseq_next, rng, last_fire_adl, last_fire_seq;
static unsigned long long steps, nfired, njumps, nwraps, nnever, nlong, nhalf;
static int depth;

static uint64_t rnd(void) {
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }

#define FAIL(...)                                                                     \
    do {                                                                              \
        fprintf(stderr, "FAIL step %llu (line %d): ", steps, __LINE__);               \
        fprintf(stderr, __VA_ARGS__);                                                 \
        fprintf(stderr, "\n  now=%llu (wheel %lu)\n", (unsigned long long)anow, \
                (unsigned long)W.now);                                                \
        abort();                                                                      \
    } while (0)

/* A round of the top level, in ticks. */
#define ROUND ((uint64_t)1 << (TIMER_LEVELS * TIMER_DIGIT_))

/* A duration: often on or next to a boundary, the longest, or "never". */
static uint64_t pick_duration(void) {
    switch (below(10)) {
    case 0: return below(3);
    case 1: return below(4096);
    case 2: { /* a level boundary of the wheel's position, +-1 */
        unsigned sh = TIMER_DIGIT_ * (unsigned)below(TIMER_LEVELS + 1);
        uint64_t b = (((uint64_t)W.now >> sh) + 1 + below(3)) << sh;
        return (uint32_t)(b - W.now) + below(3) - 1;
    }
    case 3: return ROUND * (1 + below(3)) + below(3) - 1; /* rounds ahead */
    case 4: return TIMER_TICK_MAX - below(3);             /* the longest */
    case 5: return (uint64_t)TIMER_TICK_MAX + 1 + below(below(2) ? 3 : 0x7FFFFFFF); /* never */
    case 6: { /* equal to a live one */
        int i, k = (int)below(NT);
        for (i = 0; i < NT; i++)
            if (T[(k + i) % NT].live) return T[(k + i) % NT].adl - anow;
        return below(100);
    }
    default: return below((uint64_t)1 << below(31));
    }
}

static void do_register(tm_t *t, uint64_t dur);

static void wake(future_waker_t *w) {
    tm_t *t = (tm_t *)(void *)w;
    timer_entry_t *e = t->kind ? &t->s.entry : &t->e;
    if (!t->live) FAIL("timer %d fired while not live", (int)(t - T));
    if (e->state != TIMER_FIRED_) FAIL("timer %d fired with state %d", (int)(t - T), e->state);
    if (t->adl > anow) FAIL("timer %d fired early: deadline %llu", (int)(t - T), (unsigned long long)t->adl);
    if (t->adl == last_fire_adl && t->mseq < last_fire_seq) FAIL("equal deadlines out of registration order");
    last_fire_adl = t->adl, last_fire_seq = t->mseq;
    t->live = 0;
    nfired++;
    if (depth) return;
    depth++;
    switch (below(8)) {
    case 0: { /* cancel another (maybe a due one) */
        tm_t *o = &T[below(NT)];
        if (o->kind == 0 && o->live) timer_wheel_cancel(&W, &o->e), o->live = 0;
        break;
    }
    case 1: do_register(&T[below(NT)], pick_duration()); break;
    default: break;
    }
    depth--;
}

static void do_cancel(tm_t *t) {
    if (t->kind == 0) {
        timer_wheel_cancel(&W, &t->e);
    } else if (t->pending || t->s.entry.state != TIMER_IDLE_) {
        future_drop(&t->s.fut);
        t->pending = 0;
    }
    if ((t->kind ? t->s.entry.state : t->e.state) == TIMER_LINKED_) FAIL("linked after cancel");
    t->live = 0;
}

static void do_register(tm_t *t, uint64_t dur) {
    uint32_t d32 = (uint32_t)dur;
    if (t->live || t->pending) return;
    if (t->kind == 0) {
        int rc;
        if (dur > 0xFFFFFFFFu) return;
        rc = timer_wheel_insert(&W, &t->e, W.now + d32, &t->w);
        if (dur == 0 || dur > TIMER_TICK_MAX) { /* due, or 2^31 and more ahead: in the past */
            if (rc != 1) FAIL("insert %llu ticks ahead linked", (unsigned long long)dur);
            return;
        }
        if (rc != 0) FAIL("insert %llu ticks ahead refused", (unsigned long long)dur);
    } else {
        future_cx_t cx;
        coro_poll_t r;
        int until = (int)below(2);
        if (until && dur > (uint64_t)TIMER_TICK_MAX + 1) dur = d32 = (uint32_t)below(TIMER_TICK_MAX);
        if (until) timer_sleep_until_init(&t->s, W.now + d32);
        else timer_sleep_init(&t->s, dur > 0xFFFFFFFFu ? TIMER_NEVER : d32);
        memset(&cx, 0, sizeof cx);
        cx.waker = &t->w;
        cx.timers = &W;
        r = future_poll(&t->s.fut, &cx);
        if (!until && dur > TIMER_TICK_MAX) { /* never */
            if (r != CORO_PENDING || t->s.entry.state == TIMER_LINKED_) FAIL("never sleep linked or ready");
            t->pending = 1;
            nnever++;
            return;
        }
        if (dur == 0 || dur > TIMER_TICK_MAX) { /* due, or until 2^31 ahead: in the past */
            if (r != CORO_READY || future_err(&t->s.fut) != 0) FAIL("due sleep not ready");
            nhalf += dur != 0;
            return;
        }
        if (r != CORO_PENDING || t->s.entry.state != TIMER_LINKED_) FAIL("sleep not linked");
        if (timer_sleep_deadline(&t->s) != (uint32_t)(W.now + d32)) FAIL("sleep deadline");
        t->pending = 1;
    }
    nlong += dur > ((uint64_t)1 << 30);
    t->live = 1, t->adl = anow + dur, t->mseq = mseq_next++;
}

static void do_advance(uint64_t by) {
    size_t n;
    unsigned long long before = nfired;
    int i;
    if (by > TIMER_TICK_MAX) FAIL("test: an advance of %llu", (unsigned long long)by);
    nwraps += (uint32_t)(anow + by) < (uint32_t)anow;
    anow += by;
    last_fire_adl = 0;
    n = timer_wheel_advance(&W, (uint32_t)anow);
    if (W.now != (uint32_t)anow) FAIL("wheel now %lu", (unsigned long)W.now);
    if (n != nfired - before) FAIL("advance returned %zu, fired %llu", n, nfired - before);
    for (i = 0; i < NT; i++)
        if (T[i].live && T[i].adl <= anow) FAIL("timer %d lost: deadline %llu", i, (unsigned long long)T[i].adl);
}

static uint64_t model_min(int *any) {
    uint64_t m = UINT64_MAX;
    int i;
    *any = 0;
    for (i = 0; i < NT; i++)
        if (T[i].live && T[i].adl < m) m = T[i].adl, *any = 1;
    return m;
}

static void check_model(void) {
    size_t live = 0;
    int i, any;
    uint64_t min = model_min(&any);
    timer_time_t in = timer_wheel_next_in(&W);
    for (i = 0; i < NT; i++) {
        const timer_entry_t *e = T[i].kind ? &T[i].s.entry : &T[i].e;
        if (T[i].live) {
            live++;
            if (e->state != TIMER_LINKED_) FAIL("live timer %d has state %d", i, e->state);
            if (e->deadline != (uint32_t)T[i].adl) FAIL("deadline changed");
        } else if (e->state == TIMER_LINKED_) {
            FAIL("timer %d linked but not live", i);
        }
    }
    if (timer_wheel_count(&W) != live) FAIL("count %zu, model %zu", timer_wheel_count(&W), live);
    if (!any) {
        if (in != TIMER_NEVER) FAIL("next_in %lu on an empty wheel", (unsigned long)in);
        return;
    }
    if (in == 0 || in > min - anow)
        FAIL("next_in %lu, earliest %llu ticks ahead", (unsigned long)in, (unsigned long long)(min - anow));
}

static void reinit(void) {
    static const uint32_t starts[] = {0, 1, 0x7FFFFFF0u, 0x80000000u, 0xFFFFFF00u, 0xFFFFFFFFu, 0xFFFFFFF0u};
    int i;
    for (i = 0; i < NT; i++) do_cancel(&T[i]);
    anow = below(2) ? starts[below(sizeof starts / sizeof starts[0])] : (uint32_t)rnd();
    timer_wheel_init(&W, (uint32_t)anow);
    W.seq = W.gone = (uint32_t)rnd();
    for (i = 0; i < NT; i++) {
        memset(&T[i], 0, sizeof T[i]);
        T[i].w.wake = wake;
        T[i].kind = i % 3 == 2;
    }
}

static void run_fuzz(unsigned long long n, uint64_t seed) {
    rng = seed;
    memset(T, 0, sizeof T);
    reinit();
    for (steps = 0; steps < n; steps++) {
        unsigned op = (unsigned)below(100);
        tm_t *t = &T[below(NT)];
        if (op < 40) {
            do_register(t, pick_duration());
        } else if (op < 55) {
            do_cancel(t);
        } else if (op < 75) {
            do_advance(below(2) ? below(4) : below(5000));
        } else if (op < 83) { /* big steps: rounds, up to the longest */
            uint64_t by = below(3) ? below((uint64_t)1 << below(32)) : ROUND * (1 + below(4)) + below(3) - 1;
            do_advance(by > TIMER_TICK_MAX ? TIMER_TICK_MAX - below(2) : by);
        } else if (op < 98) { /* the paused clock */
            int k, any;
            uint64_t min = model_min(&any);
            unsigned long long before = nfired;
            for (k = 0; k < 64 && nfired == before; k++) {
                timer_time_t in = timer_wheel_next_in(&W);
                if (in == TIMER_NEVER) break;
                do_advance(in);
            }
            njumps++;
            if (any && (nfired == before || anow != min))
                FAIL("paused jump landed at %llu, earliest %llu", (unsigned long long)anow, (unsigned long long)min);
            if (k > TIMER_LEVELS + 3) FAIL("paused jump took %d steps", k);
        } else {
            reinit();
        }
        check_model();
    }
    printf("ok: %llu steps, %llu fired, %llu paused jumps, %llu 32-bit wraps crossed, "
           "%llu sleeps of never, %llu timers over 2^30 ahead, %llu deadlines 2^31 and "
           "more ahead (past) (a round: %llu ticks)\n",
           steps, nfired, njumps, nwraps, nnever, nlong, nhalf, (unsigned long long)ROUND);
}

static unsigned long long fuzz_steps(void) {
    const char *e = getenv("FUZZ_STEPS");
#ifdef CHECK_SLOW
    return e ? strtoull(e, 0, 0) : 20000ull;
#else
    return e ? strtoull(e, 0, 0) : 200000ull;
#endif
}

static uint64_t fuzz_seed(uint64_t dflt) {
    const char *e = getenv("FUZZ_SEED");
    return e ? strtoull(e, 0, 0) : dflt;
}

static void test_tick_wheel_against_a_model(void) {
    run_fuzz(fuzz_steps(), fuzz_seed(3));
    CHECK(steps == fuzz_steps());
    CHECK(nwraps > 10);
}

int main(void) {
    RUN(test_tick_wheel_against_a_model);
    return check_summary();
}
