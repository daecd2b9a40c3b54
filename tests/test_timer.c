/* Tests of timer.h. The wheel is tested bare, with a hand-written waker and
 * a clock the test moves by hand; the sleep, timeout and interval futures on
 * a bare wheel or on an executor whose clock is paused (exec_clock_pause).
 * No wall-clock sleeps and no timing tolerances: every expected time is
 * exact.
 *
 * It passes whatever timer.h's knobs (TIMER_LEVELS, TIMER_SLOTS,
 * TIMER_TICK_SHIFT, TIMER_ENTRY_SEQ) say: tests/wheel_knobs.sh builds it
 * with small wheels too, whose top level goes round (the executor's
 * paused clock included). The few checks that name a level by number hold
 * for the default wheel only. */
#include "check.h"
#include "../exec.h"

/* The default wheel: nine levels of 64 slots, ticks of 2^10 ns. */
#define DEFAULT_WHEEL (TIMER_LEVELS == 9 && TIMER_SLOTS == 64 && TIMER_TICK_SHIFT == 10)

/* On a wheel that goes round, a timer far ahead is touched once each
 * advance that passes its slot: stepping through many of them one by
 * one is quadratic there (and on the tiniest wheels every timer is). */
#ifdef CHECK_SLOW
enum { NRANDOM = TIMER_ROUNDS_ ? 2000 : 20000 };
#else
enum { NRANDOM = TIMER_ROUNDS_ ? 4000 : 100000 };
#endif
enum { NMILLION = 1000000 };

/* ---- a hand-written waker, and timers that record when they fire -------- */

typedef struct {
    future_waker_t w;
    int wakes;
} counter_waker_t;

static void counter_wake(future_waker_t *w) { ((counter_waker_t *)(void *)w)->wakes++; }

static void cw_init(counter_waker_t *cw) {
    cw->w.wake = counter_wake;
    cw->wakes = 0;
}

static const timer_wheel_t *wheel_; /* whose now a firing timer records */
static uint64_t *fired_log_;        /* deadlines in firing order, or 0 */
static size_t nfired_;

typedef struct {
    future_waker_t w; /* first member */
    timer_entry_t e;
    uint64_t deadline;
    uint64_t fired_at; /* the wheel's now when it fired */
    int fires;
} tmr_t;

static void tmr_wake(future_waker_t *w) {
    tmr_t *t = (tmr_t *)(void *)w;
    t->fires++;
    t->fired_at = wheel_->now;
    if (fired_log_) fired_log_[nfired_++] = t->deadline;
}

static int tmr_insert(timer_wheel_t *w, tmr_t *t, uint64_t deadline) {
    memset(t, 0, sizeof *t);
    t->w.wake = tmr_wake;
    t->deadline = deadline;
    wheel_ = w;
    return timer_wheel_insert(w, &t->e, deadline, &t->w);
}

/* No live timer, every slot's ring closed on itself. (A slot's bit may
 * outlive its last timer: the search drops it when it gets there.) */
static int wheel_is_empty(const timer_wheel_t *w) {
    int i;
    if (timer_wheel_count(w)) return 0;
    for (i = 0; i <= TIMER_DUE_SLOT_; i++)
        if (w->slots[i].next != &w->slots[i] || w->slots[i].prev != &w->slots[i]) return 0;
    return 1;
}

/* Which slot (level * TIMER_SLOTS + slot) e is linked in: walk its ring to the
 * wheel's own node. -1 if it is linked in none of w's. */
static int slot_of(const timer_wheel_t *w, const timer_entry_t *e) {
    const timer_link_t *l = e->link.next;
    int n = 0;
    if (e->state != TIMER_LINKED_) return -1;
    while (!(l >= &w->slots[0] && l <= &w->slots[TIMER_DUE_SLOT_]) && n++ < 10000000) l = l->next;
    return l >= &w->slots[0] && l <= &w->slots[TIMER_DUE_SLOT_] ? (int)(l - &w->slots[0]) : -1;
}

static uint64_t rng_ = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void) { /* xorshift64: fixed seed, same run every time */
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return rng_;
}

static timer_wheel_t wheel; /* big (9 * 64 list heads): not on the stack */

/* An arbitrary start that is not a multiple of the tick. */
#define T0 ((uint64_t)123456789 * 1000 + 777)

/* A deadline after now that a wheel at now files at level `level`: now's
 * tick with a clear bit of that level's digit set (the same ns within the
 * tick); for the top level, any bit above (on a wheel that goes round,
 * rounds ahead). 0 if there is no clear bit. */
static uint64_t deadline_at_level(uint64_t now, int level) {
    uint64_t tick = now >> TIMER_TICK_SHIFT;
    int b = level == TIMER_LEVELS - 1 ? 63 - TIMER_TICK_SHIFT : TIMER_DIGIT_ * (level + 1) - 1;
    for (; b >= TIMER_DIGIT_ * level; b--)
        if (b < 64 - TIMER_TICK_SHIFT && !(tick >> b & 1))
            return (tick | (uint64_t)1 << b) << TIMER_TICK_SHIFT | (now & (((uint64_t)1 << TIMER_TICK_SHIFT) - 1));
    return 0;
}

/* A round of the top level in ns, on a wheel that goes round; 0 if the
 * wheel spans every deadline. */
static uint64_t round_ns(void) {
    return TIMER_ROUNDS_ ? (uint64_t)1 << (TIMER_ROUND_BITS_ + TIMER_TICK_SHIFT) : 0;
}

/* ---- the wheel ------------------------------------------------------------ */

static void test_fires_at_deadline_never_before(void) {
    static const uint64_t deltas[] = {1,    2,     3,      1023,    1024,      1025,
                                      1500, 2047,  2049,   4095,    65535,     65537,
                                      99999, 1000007, 123456789, 5000000001u};
    size_t i;
    for (i = 0; i < sizeof deltas / sizeof deltas[0]; i++) {
        tmr_t t;
        uint64_t d = T0 + deltas[i];
        timer_wheel_init(&wheel, T0);
        CHECK_EQ(tmr_insert(&wheel, &t, d), 0);
        CHECK_EQ(timer_wheel_count(&wheel), 1);
        /* Get as close as we can from below, in a few steps. */
        if (deltas[i] > 2) CHECK_EQ(timer_wheel_advance(&wheel, T0 + deltas[i] / 2), 0);
        CHECK_EQ(timer_wheel_advance(&wheel, d - 1), 0);
        CHECK_EQ(t.fires, 0);
        CHECK_EQ(timer_wheel_count(&wheel), 1);
        CHECK(timer_wheel_next(&wheel) <= d); /* a lower bound */
        CHECK(timer_wheel_next(&wheel) > d - 1);
        CHECK_EQ(timer_wheel_advance(&wheel, d), 1); /* exactly at the deadline */
        CHECK_EQ(t.fires, 1);
        CHECK_EQ(t.fired_at, d);
        CHECK(wheel_is_empty(&wheel));
        CHECK_EQ(timer_wheel_next(&wheel), TIMER_NEVER);
        CHECK_EQ(timer_wheel_advance(&wheel, d + 5000), 0); /* fires once */
        CHECK_EQ(t.fires, 1);
    }
    /* One big jump past the deadline fires it too. */
    {
        tmr_t t;
        timer_wheel_init(&wheel, T0);
        CHECK_EQ(tmr_insert(&wheel, &t, T0 + 1500), 0);
        CHECK_EQ(timer_wheel_advance(&wheel, T0 + 10 * TIMER_SEC), 1);
        CHECK_EQ(t.fires, 1);
    }
    /* A deadline at or before now is not linked: the caller is ready. */
    {
        tmr_t t;
        timer_wheel_init(&wheel, T0);
        CHECK_EQ(tmr_insert(&wheel, &t, T0), 1);
        CHECK_EQ(tmr_insert(&wheel, &t, T0 - 1), 1);
        CHECK_EQ(tmr_insert(&wheel, &t, 0), 1);
        CHECK(wheel_is_empty(&wheel));
        CHECK_EQ(t.fires, 0);
    }
}

/* Timers in the same tick with different ns deadlines fire one by one. */
static void test_same_tick_different_deadlines(void) {
    tmr_t t[4];
    uint64_t base = (T0 | 1023) + 1; /* a tick boundary */
    int i;
    timer_wheel_init(&wheel, base);
    for (i = 0; i < 4; i++) CHECK_EQ(tmr_insert(&wheel, &t[i], base + 100 + 200 * (uint64_t)(3 - i)), 0);
    for (i = 3; i >= 0; i--) {
        uint64_t d = t[i].deadline;
        CHECK_EQ(timer_wheel_next(&wheel), d); /* level 0: exact */
        CHECK_EQ(timer_wheel_advance(&wheel, d - 1), 0);
        CHECK_EQ(timer_wheel_advance(&wheel, d), 1);
        CHECK_EQ(t[i].fires, 1);
        CHECK_EQ(timer_wheel_count(&wheel), (size_t)i);
    }
    CHECK(wheel_is_empty(&wheel));
}

/* One timer at each level: ns, us, ms, s, hours, days, years, and one
 * made for each level of the wheel as configured (and, on a wheel that
 * goes round, some rounds ahead). Stepping the clock through
 * timer_wheel_next() cascades each down, and it fires exactly at its
 * deadline. */
static void test_every_level_and_cascade(void) {
    static const uint64_t human[] = {
        700,                                     /* ns */
        3 * TIMER_US + 1,   70 * TIMER_US + 3,   /* us */
        5 * TIMER_MS + 11,  300 * TIMER_MS + 13, /* ms */
        2 * TIMER_SEC + 17, 90 * TIMER_SEC + 19, /* s */
        3600 * TIMER_SEC + 23, 30 * 3600 * TIMER_SEC + 29,         /* hours */
        40 * 86400 * TIMER_SEC + 31, 300 * 86400 * TIMER_SEC + 37, /* days */
        3 * TIMER_SEC * 31557600 + 41, 200 * TIMER_SEC * 31557600 + 43 /* years */
    };
    enum { NH = sizeof human / sizeof human[0], NMAX = NH + TIMER_LEVELS + 2 };
    static tmr_t t[NMAX];
    uint64_t deltas[NMAX];
    int levels_seen[TIMER_LEVELS] = {0};
    size_t i, j, N = 0;
    int steps = 0;
    for (i = 0; i < NH; i++) deltas[N++] = human[i];
    for (i = 0; i < TIMER_LEVELS; i++)
        if (deadline_at_level(T0, (int)i)) deltas[N++] = deadline_at_level(T0, (int)i) - T0;
    if (round_ns()) {
        deltas[N++] = 3 * round_ns() + 5;
        deltas[N++] = 1000 * round_ns() - 1;
    }
    for (i = 1; i < N; i++) /* ascending, no two equal */
        for (j = i; j > 0 && deltas[j - 1] > deltas[j]; j--) {
            uint64_t x = deltas[j];
            deltas[j] = deltas[j - 1], deltas[j - 1] = x;
        }
    for (i = j = 1; i < N; i++)
        if (deltas[i] != deltas[j - 1]) deltas[j++] = deltas[i];
    N = j;
    /* Each alone: check its level and that it cascades down to fire. */
    for (i = 0; i < N; i++) {
        uint64_t d = T0 + deltas[i], next;
        timer_wheel_init(&wheel, T0);
        CHECK_EQ(tmr_insert(&wheel, &t[i], d), 0);
        CHECK(slot_of(&wheel, &t[i].e) >= 0);
        CHECK_EQ(slot_of(&wheel, &t[i].e), (int)timer_slot_for_(T0 >> TIMER_TICK_SHIFT,
                                                                 d >> TIMER_TICK_SHIFT));
        if (slot_of(&wheel, &t[i].e) >= 0) levels_seen[slot_of(&wheel, &t[i].e) / TIMER_SLOTS] = 1;
        steps = 0;
        while (!t[i].fires) {
            next = timer_wheel_next(&wheel);
            CHECK(next <= d);          /* never past the deadline */
            CHECK(next > wheel.now);   /* always progress */
            timer_wheel_advance(&wheel, next);
            CHECK(++steps <= 2 * TIMER_LEVELS);
        }
        CHECK_EQ(t[i].fired_at, d);
        CHECK(wheel_is_empty(&wheel));
    }
    for (i = 0; i < TIMER_LEVELS; i++) {
        if (!deadline_at_level(T0, (int)i)) continue; /* T0's digit is full: no deadline goes there */
        if (!levels_seen[i]) printf("    level %d not covered\n", (int)i);
        CHECK(levels_seen[i]);
    }
    if (round_ns()) { /* the top level held timers rounds ahead */
        timer_wheel_init(&wheel, T0);
        CHECK_EQ(tmr_insert(&wheel, &t[0], T0 + 3 * round_ns() + 5), 0);
        CHECK_EQ(slot_of(&wheel, &t[0].e) / TIMER_SLOTS, TIMER_LEVELS - 1);
        timer_wheel_cancel(&wheel, &t[0].e);
    }
    /* All together, stepping through timer_wheel_next: in order, exact. */
    timer_wheel_init(&wheel, T0);
    for (i = 0; i < N; i++) CHECK_EQ(tmr_insert(&wheel, &t[N - 1 - i], T0 + deltas[N - 1 - i]), 0);
    CHECK_EQ(timer_wheel_count(&wheel), N);
    for (i = 0; i < N; i++) {
        size_t k;
        while (!t[i].fires) {
            uint64_t next = timer_wheel_next(&wheel);
            CHECK(next <= t[i].deadline);
            timer_wheel_advance(&wheel, next);
        }
        CHECK_EQ(t[i].fired_at, t[i].deadline);
        for (k = i + 1; k < N; k++) CHECK_EQ(t[k].fires, 0);
    }
    CHECK(wheel_is_empty(&wheel));
    /* All together, one jump to the end of the longest: all fire at once. */
    timer_wheel_init(&wheel, T0);
    for (i = 0; i < N; i++) CHECK_EQ(tmr_insert(&wheel, &t[i], T0 + deltas[i]), 0);
    CHECK_EQ(timer_wheel_advance(&wheel, T0 + deltas[N - 1]), N);
    CHECK(wheel_is_empty(&wheel));
}

/* The end of time: the largest deadlines stay inside the wheel. */
static void test_deadlines_near_the_end_of_time(void) {
    tmr_t a, b, c;
    timer_wheel_init(&wheel, T0);
    CHECK_EQ(tmr_insert(&wheel, &a, UINT64_MAX - 1), 0);
    CHECK_EQ(tmr_insert(&wheel, &b, UINT64_MAX), 0);
    CHECK_EQ(tmr_insert(&wheel, &c, UINT64_MAX - 2000), 0);
    CHECK_EQ(slot_of(&wheel, &a.e) / TIMER_SLOTS, TIMER_LEVELS - 1); /* the top level */
    CHECK_EQ(slot_of(&wheel, &b.e) / TIMER_SLOTS, TIMER_LEVELS - 1);
    CHECK(timer_wheel_next(&wheel) <= UINT64_MAX - 2000);
    CHECK_EQ(timer_wheel_advance(&wheel, UINT64_MAX - 2001), 0);
    CHECK_EQ(timer_wheel_advance(&wheel, UINT64_MAX - 2000), 1);
    CHECK_EQ(c.fires, 1);
    CHECK_EQ(timer_wheel_advance(&wheel, UINT64_MAX - 2), 0);
    CHECK_EQ(a.fires, 0);
    CHECK_EQ(timer_wheel_advance(&wheel, UINT64_MAX - 1), 1);
    CHECK_EQ(a.fires, 1);
    CHECK_EQ(timer_wheel_advance(&wheel, UINT64_MAX), 1);
    CHECK_EQ(b.fires, 1);
    CHECK(wheel_is_empty(&wheel));
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Many timers, random deadlines across all levels (fixed seed): stepping
 * through timer_wheel_next(), they fire in deadline order, each exactly at
 * its deadline, and the lower bound never passes the earliest deadline. */
static void test_random_timers_fire_in_order(void) {
    tmr_t *t = calloc(NRANDOM, sizeof *t);
    uint64_t *sorted = calloc(NRANDOM, sizeof *sorted);
    uint64_t *log = calloc(NRANDOM, sizeof *log);
    size_t i, bad_early = 0, bad_late = 0, bad_bound = 0, bad_order = 0;
    size_t steps = 0;
    uint64_t prev_now;
    int ok = t && sorted && log;
    rng_ = 0x9E3779B97F4A7C15u;
    if (ok) {
        timer_wheel_init(&wheel, T0);
        for (i = 0; i < NRANDOM; i++) {
            unsigned bits = (unsigned)(rnd() % 56) + 1; /* 2 ns .. 2^56 ns (2 years) */
            uint64_t d = T0 + 1 + (rnd() & (((uint64_t)1 << bits) - 1));
            if (i % 7 == 0 && i) d = t[i - 1].deadline; /* some equal deadlines */
            tmr_insert(&wheel, &t[i], d);
            sorted[i] = d;
        }
        qsort(sorted, NRANDOM, sizeof *sorted, cmp_u64);
        fired_log_ = log;
        nfired_ = 0;
        prev_now = wheel.now;
        while (timer_wheel_count(&wheel)) {
            uint64_t next = timer_wheel_next(&wheel);
            size_t before = nfired_, k;
            if (next > sorted[nfired_]) bad_bound++;
            if (next <= wheel.now) break; /* no progress: would loop */
            timer_wheel_advance(&wheel, next);
            for (k = before; k < nfired_; k++) {
                if (log[k] > wheel.now) bad_early++;
                if (log[k] <= prev_now) bad_late++;
            }
            prev_now = wheel.now;
            steps++;
        }
        fired_log_ = 0;
        for (i = 1; i < nfired_; i++)
            if (log[i] < log[i - 1]) bad_order++;
    }
    CHECK(ok);
    CHECK_EQ(nfired_, NRANDOM);
    CHECK_EQ(bad_bound, 0);
    CHECK_EQ(bad_early, 0);
    CHECK_EQ(bad_late, 0);
    CHECK_EQ(bad_order, 0);
    CHECK(memcmp(log, sorted, NRANDOM * sizeof *log) == 0);
    for (i = 0; i < NRANDOM; i++) CHECK_EQ(t[i].fires, 1);
    CHECK(wheel_is_empty(&wheel));
    CHECK(steps >= 1);
    free(t);
    free(sorted);
    free(log);
}

/* Random jumps of the clock: after each, exactly the due timers have fired. */
static void test_random_jumps_fire_exactly_the_due(void) {
    enum { N = 2000 };
    static tmr_t t[N];
    size_t i, fired = 0;
    int round;
    rng_ = 12345;
    timer_wheel_init(&wheel, T0);
    for (i = 0; i < N; i++) tmr_insert(&wheel, &t[i], T0 + 1 + rnd() % (2 * TIMER_SEC));
    for (round = 0; round < 200 && fired < N; round++) {
        size_t n;
        uint64_t to = wheel.now + 1 + rnd() % (20 * TIMER_MS);
        n = timer_wheel_advance(&wheel, to);
        fired += n;
        for (i = 0; i < N; i++) {
            if (t[i].deadline <= to) CHECK_EQ(t[i].fires, 1);
            else CHECK_EQ(t[i].fires, 0);
        }
        CHECK_EQ(timer_wheel_count(&wheel), N - fired);
    }
    timer_wheel_advance(&wheel, T0 + 3 * TIMER_SEC);
    CHECK(wheel_is_empty(&wheel));
}

static void test_insert_cancel_leaves_wheel_empty(void) {
    enum { N = 64 * 3 };
    static tmr_t t[N];
    tmr_t idle, mid3[3];
    size_t i;
    timer_wheel_init(&wheel, T0);
    for (i = 0; i < N; i++) /* spread over all levels */
        CHECK_EQ(tmr_insert(&wheel, &t[i], T0 + ((uint64_t)1 << (i % 62)) + i), 0);
    CHECK_EQ(timer_wheel_count(&wheel), N);
    for (i = 0; i < N; i += 2) timer_wheel_cancel(&wheel, &t[i].e);
    CHECK_EQ(timer_wheel_count(&wheel), N / 2);
    for (i = 1; i < N; i += 2) timer_wheel_cancel(&wheel, &t[i].e);
    CHECK(wheel_is_empty(&wheel));
    /* Cancel again: harmless. */
    for (i = 0; i < N; i++) timer_wheel_cancel(&wheel, &t[i].e);
    CHECK(wheel_is_empty(&wheel));
    /* Cancelled timers never fire. */
    CHECK_EQ(timer_wheel_advance(&wheel, UINT64_MAX), 0);
    for (i = 0; i < N; i++) CHECK_EQ(t[i].fires, 0);

    /* Cancel of a never-linked entry, and of a fired one, is harmless. */
    timer_wheel_init(&wheel, T0);
    memset(&idle, 0, sizeof idle);
    CHECK_EQ(tmr_insert(&wheel, &mid3[0], T0 + 5000), 0);
    CHECK_EQ(tmr_insert(&wheel, &mid3[1], T0 + 5000), 0); /* same slot */
    CHECK_EQ(tmr_insert(&wheel, &mid3[2], T0 + 5001), 0);
    timer_wheel_cancel(&wheel, &idle.e);
    CHECK_EQ(timer_wheel_count(&wheel), 3);
    timer_wheel_cancel(&wheel, &mid3[1].e); /* from the middle of a slot */
    CHECK_EQ(timer_wheel_count(&wheel), 2);
    CHECK_EQ(timer_wheel_advance(&wheel, T0 + 5000), 1);
    CHECK_EQ(mid3[0].fires, 1);
    timer_wheel_cancel(&wheel, &mid3[0].e); /* fired: nothing to do */
    timer_wheel_cancel(&wheel, &mid3[0].e);
    CHECK_EQ(timer_wheel_count(&wheel), 1);
    CHECK_EQ(timer_wheel_advance(&wheel, T0 + 5001), 1);
    CHECK_EQ(mid3[2].fires, 1);
    CHECK_EQ(mid3[1].fires, 0);
    CHECK(wheel_is_empty(&wheel));
}

/* A million live timers (spread over the levels), then all cancelled. */
static void test_million_timers_insert_and_cancel(void) {
    timer_entry_t *e = malloc(NMILLION * sizeof *e);
    counter_waker_t cw;
    size_t i, k;
    int levels = 0, l;
    CHECK(e != 0);
    cw_init(&cw);
    rng_ = 777;
    timer_wheel_init(&wheel, T0);
    for (i = 0; i < NMILLION; i++) {
        uint64_t d = T0 + 1 + (rnd() & (((uint64_t)1 << (i % 62 + 1)) - 1));
        e[i].state = 0;
        if (timer_wheel_insert(&wheel, &e[i], d, &cw.w) != 0) break;
    }
    if (i != NMILLION) free(e);
    CHECK_EQ(i, NMILLION);
    CHECK_EQ(timer_wheel_count(&wheel), NMILLION);
    for (l = 0; l < TIMER_LEVELS; l++) levels += wheel.occupied[l] != 0;
    /* Cancel in a scattered order (7919 is prime to 10^6: a permutation). */
    for (k = 0; k < NMILLION; k++) {
        timer_wheel_cancel(&wheel, &e[(uint64_t)k * 7919 % NMILLION]);
        if (k == NMILLION / 2 - 1 && timer_wheel_count(&wheel) != NMILLION / 2) break;
    }
    free(e);
    CHECK_EQ(k, NMILLION);
    for (l = 0; l < TIMER_LEVELS; l++) levels += !deadline_at_level(T0, l); /* none can go there */
    CHECK_EQ(levels, TIMER_LEVELS); /* every level held some */
    CHECK(wheel_is_empty(&wheel));
    CHECK_EQ(cw.wakes, 0);
}

/* Timers due at the same instant fire in the order they were registered,
 * though the earlier ones started high in the wheel and came down (a
 * cascade passes the later ones already in the slot), also when the
 * registration numbers wrap round. */
typedef struct {
    future_waker_t w; /* first member */
    timer_entry_t e;
    int id;
} ord_t;

static int ord_log_[16], nord_;

static void ord_wake(future_waker_t *w) { ord_log_[nord_++] = ((ord_t *)(void *)w)->id; }

static void test_equal_deadlines_fire_in_registration_order(void) {
    static const uint32_t starts[] = {0, 0xFFFFFFFEu, 0x7FFFFFFEu};
    size_t k;
    for (k = 0; k < sizeof starts / sizeof starts[0]; k++) {
        ord_t o[6];
        uint64_t d = T0 + 3 * TIMER_SEC + 5;
        int i;
        timer_wheel_init(&wheel, T0);
        wheel.seq = wheel.gone = starts[k]; /* numbers about to wrap */
        nord_ = 0;
        for (i = 0; i < 6; i++) {
            o[i].w.wake = ord_wake;
            o[i].id = i;
            memset(&o[i].e, 0, sizeof o[i].e);
        }
        /* 0 from 3 s away (level 3), 1 from 20 ms (level 2), 2 and 3
         * from 900 us (level 1), 4 and 5 from within the deadline's own
         * tick (level 0). */
        CHECK_EQ(timer_wheel_insert(&wheel, &o[0].e, d, &o[0].w), 0);
        if (DEFAULT_WHEEL) CHECK_EQ(slot_of(&wheel, &o[0].e) / TIMER_SLOTS, 3);
        CHECK_EQ(timer_wheel_advance(&wheel, d - 20 * TIMER_MS), 0);
        CHECK_EQ(timer_wheel_insert(&wheel, &o[1].e, d, &o[1].w), 0);
        if (DEFAULT_WHEEL) CHECK_EQ(slot_of(&wheel, &o[1].e) / TIMER_SLOTS, 2);
        CHECK_EQ(timer_wheel_advance(&wheel, d - 900 * TIMER_US), 0);
        CHECK_EQ(timer_wheel_insert(&wheel, &o[2].e, d, &o[2].w), 0);
        CHECK_EQ(timer_wheel_insert(&wheel, &o[3].e, d, &o[3].w), 0);
        if (DEFAULT_WHEEL) CHECK_EQ(slot_of(&wheel, &o[3].e) / TIMER_SLOTS, 1);
        CHECK_EQ(timer_wheel_advance(&wheel, d - 3), 0);
        CHECK_EQ(timer_wheel_insert(&wheel, &o[4].e, d, &o[4].w), 0);
        CHECK_EQ(timer_wheel_insert(&wheel, &o[5].e, d, &o[5].w), 0);
        if (DEFAULT_WHEEL) CHECK_EQ(slot_of(&wheel, &o[5].e) / TIMER_SLOTS, 0);
        CHECK_EQ(timer_wheel_count(&wheel), 6);
        CHECK_EQ(timer_wheel_advance(&wheel, d), 6);
        for (i = 0; i < 6; i++) CHECK_EQ(ord_log_[i], i);
        CHECK(wheel_is_empty(&wheel));
    }
}

/* Equal deadlines stay in registration order however far apart the two
 * registrations are: 2^31 and more registrations between them (as if
 * that many timers came and went while the first stayed) must not turn
 * the order round, as comparing the wrapping numbers would. */
static void test_equal_deadlines_far_apart_in_registrations(void) {
    ord_t o[2];
    uint64_t d = T0 + 5 * TIMER_SEC;
    int i;
    timer_wheel_init(&wheel, T0);
    nord_ = 0;
    for (i = 0; i < 2; i++) {
        o[i].w.wake = ord_wake;
        o[i].id = i;
        memset(&o[i].e, 0, sizeof o[i].e);
    }
    CHECK_EQ(timer_wheel_insert(&wheel, &o[0].e, d, &o[0].w), 0);
    wheel.seq += 0x80000005u;
    wheel.gone += 0x80000005u;
    CHECK_EQ(timer_wheel_advance(&wheel, d - 2 * TIMER_MS), 0); /* 0 moved down */
    CHECK_EQ(timer_wheel_insert(&wheel, &o[1].e, d, &o[1].w), 0);
    while (timer_wheel_count(&wheel)) (void)timer_wheel_advance(&wheel, timer_wheel_next(&wheel));
    CHECK_EQ(nord_, 2);
    CHECK_EQ(ord_log_[0], 0);
    CHECK_EQ(ord_log_[1], 1);
}

/* A wheel copied after its init points into the original (even empty):
 * its advance is reported instead of walking the other wheel's rings. */
static void test_moved_wheel_is_misuse(void) {
    static timer_wheel_t copy;
    timer_wheel_init(&wheel, T0);
    copy = wheel;
    CHECK_MISUSE(CHECK_EQ(timer_wheel_advance(&copy, T0 + TIMER_SEC), 0), "copied or moved");
    CHECK_EQ(timer_wheel_advance(&wheel, T0 + TIMER_SEC), 0); /* the original is fine */
}

/* The live count is registrations minus removals: right across the wrap
 * of the 32-bit registration number. */
static void test_count_across_number_wrap(void) {
    enum { N = 40 };
    static tmr_t t[N];
    size_t i;
    timer_wheel_init(&wheel, T0);
    wheel.seq = wheel.gone = 0xFFFFFFFFu - N / 2;
    for (i = 0; i < N; i++) {
        CHECK_EQ(tmr_insert(&wheel, &t[i], T0 + 1000 * (uint64_t)(i + 1)), 0);
        CHECK_EQ(timer_wheel_count(&wheel), i + 1);
    }
    timer_wheel_cancel(&wheel, &t[3].e);
    timer_wheel_cancel(&wheel, &t[3].e); /* twice: counted once */
    CHECK_EQ(timer_wheel_count(&wheel), N - 1);
    CHECK_EQ(timer_wheel_advance(&wheel, T0 + 1000 * 10), 9);
    CHECK_EQ(timer_wheel_count(&wheel), N - 10);
    CHECK_EQ(timer_wheel_advance(&wheel, T0 + TIMER_SEC), N - 10);
    CHECK(wheel_is_empty(&wheel));
}

/* A cancel leaves its slot's bit set: the search for the next deadline
 * skips the empty slot (timer_wheel_next reads only), and an advance
 * clears the bit on its way. */
static void test_cancel_leaves_a_bit_the_search_skips(void) {
    tmr_t a, b, c;
    uint64_t next, da = deadline_at_level(T0, 1), db = deadline_at_level(T0, 2),
                   dc = deadline_at_level(T0, 0);
    if (DEFAULT_WHEEL) da = T0 + 2 * TIMER_MS, db = T0 + 40 * TIMER_MS, dc = T0 + 700;
    if (TIMER_LEVELS < 3 || !da || !db || !dc) return; /* no level 2 (or T0 fills a digit) */
    timer_wheel_init(&wheel, T0);
    CHECK_EQ(tmr_insert(&wheel, &a, da), 0); /* level 1 */
    CHECK_EQ(tmr_insert(&wheel, &b, db), 0); /* level 2 (3 on the default wheel), later */
    CHECK_EQ(tmr_insert(&wheel, &c, dc), 0); /* level 0 */
    CHECK_EQ(slot_of(&wheel, &a.e) / TIMER_SLOTS, 1);
    CHECK_EQ(slot_of(&wheel, &b.e) / TIMER_SLOTS, DEFAULT_WHEEL ? 3 : 2);
    CHECK_EQ(slot_of(&wheel, &c.e) / TIMER_SLOTS, 0);
    timer_wheel_cancel(&wheel, &a.e);
    timer_wheel_cancel(&wheel, &c.e);
    CHECK(wheel.occupied[0] != 0 && wheel.occupied[1] != 0); /* stale */
    next = timer_wheel_next(&wheel); /* b's slot, not a's or c's */
    CHECK(next > da);
    CHECK(next <= db);
    CHECK(wheel.occupied[0] != 0 && wheel.occupied[1] != 0); /* next only reads */
    CHECK_EQ(timer_wheel_advance(&wheel, DEFAULT_WHEEL ? T0 + 3 * TIMER_MS : da + 1), 0);
    CHECK_EQ(wheel.occupied[0], 0); /* dropped by the search */
    CHECK_EQ(wheel.occupied[1], 0);
    while (!b.fires) {
        next = timer_wheel_next(&wheel);
        CHECK(next <= db);
        CHECK(next > wheel.now);
        if (next <= wheel.now) break;
        timer_wheel_advance(&wheel, next);
    }
    CHECK_EQ(b.fired_at, db);
    CHECK_EQ(a.fires + c.fires, 0);
    CHECK(wheel_is_empty(&wheel));
    CHECK_EQ(timer_wheel_next(&wheel), TIMER_NEVER);
}

/* Timers a round or more ahead of a wheel that goes round (on the
 * default wheel, as far as a slot of its top level: nothing goes round
 * there, the test holds all the same): each fires exactly at its
 * deadline, whether the clock creeps up on it a tick at a time across
 * the rounds, jumps to just before it, or jumps far past it; a cancelled
 * one never fires; and equal deadlines registered from rounds away and
 * from close by fire in registration order. */
static void test_far_timers_fire_exactly(void) {
    enum { N = 12 };
    static tmr_t t[N];
    ord_t o[3];
    uint64_t r = round_ns() ? round_ns()
                            : (uint64_t)1 << (TIMER_DIGIT_ * (TIMER_LEVELS - 1) + TIMER_TICK_SHIFT);
    uint64_t tick = (uint64_t)1 << TIMER_TICK_SHIFT, d;
    int i, way;
    for (way = 0; way < 3; way++) {
        timer_wheel_init(&wheel, T0);
        for (i = 0; i < N; i++) /* 1 to 4 rounds ahead, on and around round boundaries */
            CHECK_EQ(tmr_insert(&wheel, &t[i], T0 + (uint64_t)(1 + i / 3) * r + (uint64_t)(i % 3) - 1), 0);
        timer_wheel_cancel(&wheel, &t[5].e);
        for (i = 0; i < N; i++) {
            if (i == 5) continue;
            d = t[i].deadline;
            if (way == 0) { /* creep: an eighth of a round at a time, halves, ticks */
                uint64_t step = r / 8 > tick ? r / 8 : tick;
                while (wheel.now + step < d) CHECK_EQ(timer_wheel_advance(&wheel, wheel.now + step), 0);
                while (wheel.now + 4 * tick < d) CHECK_EQ(timer_wheel_advance(&wheel, wheel.now + (d - wheel.now) / 2), 0);
                while (wheel.now + tick < d) CHECK_EQ(timer_wheel_advance(&wheel, wheel.now + tick), 0);
            } else if (way == 1) { /* the paused clock: to timer_wheel_next */
                while (!t[i].fires) {
                    uint64_t next = timer_wheel_next(&wheel);
                    CHECK(next <= d);
                    CHECK(next > wheel.now);
                    if (next > d || next <= wheel.now) break;
                    timer_wheel_advance(&wheel, next);
                }
                CHECK_EQ(t[i].fired_at, d);
                continue;
            }
            CHECK_EQ(timer_wheel_advance(&wheel, d - 1), 0); /* never early */
            CHECK_EQ(t[i].fires, 0);
            CHECK_EQ(timer_wheel_advance(&wheel, d), 1);
            CHECK_EQ(t[i].fires, 1);
            CHECK_EQ(t[i].fired_at, d);
            if (way == 2) break; /* then one jump far past the rest */
        }
        if (way == 2) {
            CHECK_EQ(timer_wheel_advance(&wheel, T0 + 100 * r), N - 2);
            for (i = 0; i < N; i++) CHECK_EQ(t[i].fired_at, i == 5 ? 0 : i == 0 ? t[0].deadline : T0 + 100 * r);
        }
        CHECK_EQ(t[5].fires, 0);
        CHECK(wheel_is_empty(&wheel));
    }
    /* One deadline, 3 rounds ahead: registered from there, then from one
     * round and a half away, then from within the deadline's own round. */
    timer_wheel_init(&wheel, T0);
    nord_ = 0;
    d = T0 + 3 * r + 12345;
    for (i = 0; i < 3; i++) {
        o[i].w.wake = ord_wake;
        o[i].id = i;
        memset(&o[i].e, 0, sizeof o[i].e);
    }
    CHECK_EQ(timer_wheel_insert(&wheel, &o[0].e, d, &o[0].w), 0);
    CHECK_EQ(timer_wheel_advance(&wheel, d - r - r / 2), 0);
    CHECK_EQ(timer_wheel_insert(&wheel, &o[1].e, d, &o[1].w), 0);
    CHECK_EQ(timer_wheel_advance(&wheel, d - r / 3), 0);
    CHECK_EQ(timer_wheel_insert(&wheel, &o[2].e, d, &o[2].w), 0);
    CHECK_EQ(timer_wheel_advance(&wheel, d - 1), 0);
    CHECK_EQ(timer_wheel_advance(&wheel, d), 3);
    CHECK_EQ(ord_log_[0], 0);
    CHECK_EQ(ord_log_[1], 1);
    CHECK_EQ(ord_log_[2], 2);
    CHECK(wheel_is_empty(&wheel));
}

/* ---- a wrapping 32-bit tick ----------------------------------------------- */

static future_cx_t wheel_cx(counter_waker_t *cw, timer_wheel_t *w);

/* A 32-bit ms tick that starts 256 ms before its wrap: read once a ms,
 * it gives time that only goes forward, and timers whose deadlines lie
 * across the wrap fire each at its ms, on the wheel it drives. */
static void test_tick32_across_the_wrap(void) {
    static const uint32_t due[] = {0xFFFFFF10u, 0xFFFFFFFFu, 0, 1, 0x80, 0x1000};
    enum { N = sizeof due / sizeof due[0] };
    static tmr_t t[N];
    timer_tick32_t clk;
    uint32_t tick = 0xFFFFFF00u;
    uint64_t ns, prev = 0;
    size_t i;
    timer_tick32_init(&clk, tick, 5 * TIMER_SEC);
    CHECK_EQ(timer_tick32_ns(&clk, tick, TIMER_MS), 5 * TIMER_SEC); /* no tick yet */
    timer_wheel_init(&wheel, 5 * TIMER_SEC);
    for (i = 0; i < N; i++) /* ms from the start: (uint32_t)(due - start) */
        CHECK_EQ(tmr_insert(&wheel, &t[i], 5 * TIMER_SEC + (uint32_t)(due[i] - tick) * TIMER_MS), 0);
    do {
        tick++;
        ns = timer_tick32_ns(&clk, tick, TIMER_MS);
        CHECK_EQ(ns, prev ? prev + TIMER_MS : 5 * TIMER_SEC + TIMER_MS); /* forward, a ms a read */
        if (prev && ns != prev + TIMER_MS) break;
        prev = ns;
        timer_wheel_advance(&wheel, ns);
        for (i = 0; i < N; i++) { /* fired exactly when the tick reached it */
            int want = (uint32_t)(tick - 0xFFFFFF00u) >= (uint32_t)(due[i] - 0xFFFFFF00u);
            CHECK_EQ(t[i].fires, want);
            if (t[i].fires != want) tick = 0x2000; /* stop at the first failure */
        }
    } while (tick != 0x2000);
    for (i = 0; i < N; i++) CHECK_EQ(t[i].fired_at, t[i].deadline);
    CHECK(wheel_is_empty(&wheel));
    /* Reads further apart (below 2^32 ticks): still forward, whole. */
    timer_tick32_init(&clk, 0xFFFFFFF0u, 0);
    CHECK_EQ(timer_tick32_ns(&clk, 0x10, TIMER_MS), 0x20 * TIMER_MS);
    CHECK_EQ(timer_tick32_ns(&clk, 0x0F, TIMER_MS), (0x20 + 0xFFFFFFFFull) * TIMER_MS);
    CHECK_EQ(timer_tick32_ns(&clk, 0x0F, 1000), (0x20 + 0xFFFFFFFFull) * TIMER_MS); /* still */
    /* The end of time saturates. */
    timer_tick32_init(&clk, 0, TIMER_NEVER - 5);
    CHECK_EQ(timer_tick32_ns(&clk, 3, 1), TIMER_NEVER - 2);
    CHECK_EQ(timer_tick32_ns(&clk, 30, TIMER_MS), TIMER_NEVER);
}

/* Sleeps polled by hand on a wheel driven from a 32-bit ms tick that
 * wraps while they wait: each is woken at exactly its ms, none early. */
static void test_sleeps_across_the_tick32_wrap(void) {
    static const uint64_t ms[] = {255, 256, 257, 300, 5000};
    enum { N = sizeof ms / sizeof ms[0] };
    counter_waker_t cw[N];
    timer_sleep_t s[N];
    future_cx_t cx;
    timer_tick32_t clk;
    uint32_t tick = 0xFFFFFF00u, start = tick;
    size_t i;
    timer_tick32_init(&clk, tick, 0);
    timer_wheel_init(&wheel, timer_tick32_ns(&clk, tick, TIMER_MS));
    for (i = 0; i < N; i++) {
        cw_init(&cw[i]);
        cx = wheel_cx(&cw[i], &wheel);
        timer_sleep_init(&s[i], ms[i] * TIMER_MS);
        CHECK_EQ(future_poll(&s[i].fut, &cx), CORO_PENDING);
    }
    while ((uint32_t)(tick - start) < 6000) {
        tick++;
        timer_wheel_advance(&wheel, timer_tick32_ns(&clk, tick, TIMER_MS));
        for (i = 0; i < N; i++) {
            int want = (uint32_t)(tick - start) >= ms[i];
            CHECK_EQ(cw[i].wakes, want);
            if (cw[i].wakes != want) tick = start + 6000;
        }
    }
    for (i = 0; i < N; i++) {
        cx = wheel_cx(&cw[i], &wheel);
        CHECK_EQ(future_poll(&s[i].fut, &cx), CORO_READY);
        CHECK_EQ(future_err(&s[i].fut), 0);
    }
    CHECK(wheel_is_empty(&wheel));
}

/* What a sleep and a timer cost in memory (64-bit targets; the README's
 * idle-task figure counts on these). */
static void test_sizes(void) {
    if (sizeof(void *) != 8) return;
    CHECK(sizeof(timer_entry_t) <= 40);
    CHECK(sizeof(timer_sleep_t) <= sizeof(future_t) + 56);
}

static void test_clock_going_backwards_is_ignored(void) {
    tmr_t t;
    timer_wheel_init(&wheel, T0);
    CHECK_EQ(tmr_insert(&wheel, &t, T0 + 3000), 0);
    CHECK_EQ(timer_wheel_advance(&wheel, T0 + 2000), 0);
    CHECK_EQ(wheel.now, T0 + 2000);
    CHECK_EQ(timer_wheel_advance(&wheel, T0 + 10), 0);   /* backwards */
    CHECK_EQ(wheel.now, T0 + 2000);                      /* ignored */
    CHECK_EQ(timer_wheel_advance(&wheel, T0 + 2000), 0); /* standing still */
    CHECK_EQ(wheel.now, T0 + 2000);
    CHECK_EQ(t.fires, 0);
    /* Relative deadlines still count from the latest now. */
    {
        counter_waker_t cw;
        future_cx_t cx;
        timer_sleep_t s;
        cw_init(&cw);
        cx.waker = &cw.w;
        cx.timers = &wheel;
        cx.exec = 0;
        cx.budget = 0;
        cx.seq = 0;
        timer_sleep_init(&s, 500);
        CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
        CHECK_EQ(timer_sleep_deadline(&s), T0 + 2500);
        future_drop(&s.fut);
    }
    CHECK_EQ(timer_wheel_advance(&wheel, T0 + 3000), 1);
    CHECK_EQ(t.fires, 1);
    CHECK_EQ(timer_wheel_advance(&wheel, T0 + 1), 0);
    CHECK_EQ(wheel.now, T0 + 3000);
}

/* ---- sleep on a bare wheel ---------------------------------------------- */

static future_cx_t wheel_cx(counter_waker_t *cw, timer_wheel_t *w) {
    future_cx_t cx;
    cx.waker = &cw->w;
    cx.timers = w;
    cx.exec = 0;
    cx.budget = 0;
    cx.seq = 0;
    return cx;
}

static void test_sleep_is_lazy_and_fires(void) {
    counter_waker_t cw, other;
    future_cx_t cx;
    timer_sleep_t s;
    cw_init(&cw);
    cw_init(&other);
    timer_wheel_init(&wheel, T0);
    cx = wheel_cx(&cw, &wheel);
    timer_sleep_init(&s, 10 * TIMER_MS + 3);
    CHECK_EQ(timer_sleep_deadline(&s), TIMER_NEVER); /* not fixed yet */
    CHECK_EQ(timer_wheel_count(&wheel), 0);          /* init registers nothing */
    timer_wheel_advance(&wheel, T0 + 5 * TIMER_MS);  /* time passes before the poll */
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
    CHECK_EQ(timer_sleep_deadline(&s), T0 + 15 * TIMER_MS + 3); /* from the first poll */
    CHECK_EQ(timer_wheel_count(&wheel), 1);
    /* Polled again by another task's waker: that one is woken. */
    cx.waker = &other.w;
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
    CHECK_EQ(timer_wheel_count(&wheel), 1);
    timer_wheel_advance(&wheel, T0 + 15 * TIMER_MS + 2);
    CHECK_EQ(cw.wakes + other.wakes, 0);
    timer_wheel_advance(&wheel, T0 + 15 * TIMER_MS + 3);
    CHECK_EQ(other.wakes, 1);
    CHECK_EQ(cw.wakes, 0);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_READY);
    CHECK_EQ(future_err(&s.fut), 0);
    CHECK(wheel_is_empty(&wheel));
    future_drop(&s.fut); /* finished: nothing to do */
    CHECK(wheel_is_empty(&wheel));
}

static void test_sleep_zero_or_past_is_ready_at_first_poll(void) {
    counter_waker_t cw;
    future_cx_t cx;
    timer_sleep_t s;
    cw_init(&cw);
    timer_wheel_init(&wheel, T0);
    cx = wheel_cx(&cw, &wheel);
    timer_sleep_init(&s, 0);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_READY);
    CHECK_EQ(future_err(&s.fut), 0);
    timer_sleep_until_init(&s, T0);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_READY);
    timer_sleep_until_init(&s, T0 - 12345);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_READY);
    timer_sleep_until_init(&s, 0);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_READY);
    CHECK_EQ(future_err(&s.fut), 0);
    CHECK(wheel_is_empty(&wheel));
    CHECK_EQ(cw.wakes, 0);
    /* One ns ahead is not past: it waits. */
    timer_sleep_init(&s, 1);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
    CHECK_EQ(timer_wheel_count(&wheel), 1);
    timer_wheel_advance(&wheel, T0 + 1);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_READY);
    CHECK(wheel_is_empty(&wheel));
}

static void test_sleep_never_registers_nothing(void) {
    counter_waker_t cw;
    future_cx_t cx;
    timer_sleep_t s, r, x;
    int i;
    cw_init(&cw);
    timer_wheel_init(&wheel, T0);
    cx = wheel_cx(&cw, &wheel);
    timer_sleep_until_init(&s, TIMER_NEVER);
    timer_sleep_init(&r, TIMER_NEVER - 5); /* saturates to never */
    timer_sleep_init(&x, TIMER_NEVER - T0); /* lands exactly on never */
    for (i = 0; i < 3; i++) {
        CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
        CHECK_EQ(future_poll(&r.fut, &cx), CORO_PENDING);
        CHECK_EQ(future_poll(&x.fut, &cx), CORO_PENDING);
    }
    CHECK_EQ(timer_sleep_deadline(&r), TIMER_NEVER);
    CHECK_EQ(timer_sleep_deadline(&x), TIMER_NEVER);
    future_drop(&x.fut);
    CHECK(wheel_is_empty(&wheel));
    CHECK_EQ(timer_wheel_next(&wheel), TIMER_NEVER);
    timer_wheel_advance(&wheel, UINT64_MAX - 1);
    timer_wheel_advance(&wheel, UINT64_MAX);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
    CHECK_EQ(cw.wakes, 0);
    future_drop(&s.fut);
    future_drop(&r.fut);
    CHECK(wheel_is_empty(&wheel));
}

/* A deadline in the last tick of time is a real deadline, in the wheel. */
static void test_sleep_until_just_before_never(void) {
    counter_waker_t cw;
    future_cx_t cx;
    timer_sleep_t s;
    cw_init(&cw);
    timer_wheel_init(&wheel, T0);
    cx = wheel_cx(&cw, &wheel);
    timer_sleep_until_init(&s, UINT64_MAX - 1);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
    CHECK_EQ(timer_wheel_count(&wheel), 1);
    CHECK_EQ(slot_of(&wheel, &s.entry) / TIMER_SLOTS, TIMER_LEVELS - 1);
    timer_wheel_advance(&wheel, UINT64_MAX - 2);
    CHECK_EQ(cw.wakes, 0);
    timer_wheel_advance(&wheel, UINT64_MAX - 1);
    CHECK_EQ(cw.wakes, 1);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_READY);
    CHECK(wheel_is_empty(&wheel));
}

static void test_sleep_reset_rearms(void) {
    counter_waker_t cw;
    future_cx_t cx;
    timer_sleep_t s;
    cw_init(&cw);
    timer_wheel_init(&wheel, T0);
    cx = wheel_cx(&cw, &wheel);
    timer_sleep_until_init(&s, T0 + 1000);
    CHECK_EQ(timer_sleep_deadline(&s), T0 + 1000);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
    CHECK_EQ(timer_wheel_count(&wheel), 1);
    /* Re-arm later while linked: the old timer goes, the new one is lazy. */
    timer_sleep_reset(&s, T0 + 5000);
    CHECK(wheel_is_empty(&wheel));
    CHECK_EQ(timer_sleep_deadline(&s), T0 + 5000);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
    CHECK_EQ(timer_wheel_count(&wheel), 1);
    timer_wheel_advance(&wheel, T0 + 1000); /* the old deadline: nothing */
    CHECK_EQ(cw.wakes, 0);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
    timer_wheel_advance(&wheel, T0 + 5000);
    CHECK_EQ(cw.wakes, 1);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_READY);
    /* Re-arm a finished sleep: it waits again. */
    timer_sleep_reset(&s, T0 + 9000);
    CHECK(!future_done(&s.fut));
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
    CHECK_EQ(timer_wheel_count(&wheel), 1);
    /* Re-arm earlier, to a time already past: ready at the next poll. */
    timer_sleep_reset(&s, T0 + 10);
    CHECK(wheel_is_empty(&wheel));
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_READY);
    CHECK_EQ(cw.wakes, 1);
    /* Re-arm a never-polled sleep, and a dropped one. */
    timer_sleep_init(&s, 100);
    timer_sleep_reset(&s, T0 + 6000);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
    future_drop(&s.fut);
    CHECK(wheel_is_empty(&wheel));
    timer_sleep_reset(&s, T0 + 6000);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
    timer_wheel_advance(&wheel, T0 + 6000);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_READY);
    CHECK(wheel_is_empty(&wheel));
}

/* A due sleep spends the cooperative budget; with none left it waits. */
static void test_sleep_spends_the_budget(void) {
    counter_waker_t cw;
    future_cx_t cx;
    timer_sleep_t s;
    int budget = 0;
    cw_init(&cw);
    timer_wheel_init(&wheel, T0);
    cx = wheel_cx(&cw, &wheel);
    cx.budget = &budget;
    timer_sleep_init(&s, 0);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
    CHECK_EQ(cw.wakes, 1); /* re-queued, not forgotten */
    budget = 1;
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_READY);
    CHECK_EQ(budget, 0);
    CHECK(wheel_is_empty(&wheel));
}

/* A probe inner future: pending until opened, counts polls and drops. */
typedef struct {
    future_t fut;
    int open, rc, polls, drops;
    future_waker_t *waker;
} probe_t;

static coro_poll_t probe_poll(future_t *self, future_cx_t *cx) {
    probe_t *p = (probe_t *)(void *)self;
    p->polls++;
    if (p->open) return future_finish(self, p->rc);
    p->waker = cx->waker;
    return CORO_PENDING;
}

static void probe_drop(future_t *self) {
    probe_t *p = (probe_t *)(void *)self;
    p->drops++;
    p->waker = 0;
}

static void probe_init(probe_t *p) {
    future_init(&p->fut, probe_poll, probe_drop);
    p->open = p->rc = p->polls = p->drops = 0;
    p->waker = 0;
}

static void test_drop_while_waiting_unlinks(void) {
    counter_waker_t cw;
    future_cx_t cx;
    timer_sleep_t s;
    timer_timeout_t t;
    timer_interval_t iv;
    probe_t p;
    cw_init(&cw);
    timer_wheel_init(&wheel, T0);
    cx = wheel_cx(&cw, &wheel);
    /* sleep */
    timer_sleep_init(&s, TIMER_SEC);
    CHECK_EQ(future_poll(&s.fut, &cx), CORO_PENDING);
    CHECK_EQ(timer_wheel_count(&wheel), 1);
    future_drop(&s.fut);
    CHECK(wheel_is_empty(&wheel));
    CHECK_EQ(future_err(&s.fut), FUTURE_ECANCELED);
    /* timeout: its sleep goes, and the inner is dropped too */
    probe_init(&p);
    timer_timeout_init(&t, &p.fut, TIMER_SEC);
    CHECK_EQ(future_poll(&t.fut, &cx), CORO_PENDING);
    CHECK_EQ(timer_wheel_count(&wheel), 1);
    future_drop(&t.fut);
    CHECK(wheel_is_empty(&wheel));
    CHECK_EQ(p.drops, 1);
    CHECK_EQ(future_err(&t.fut), FUTURE_ECANCELED);
    /* interval, waiting for its second tick */
    timer_interval_init(&iv, TIMER_MS, TIMER_MISSED_BURST);
    CHECK_EQ(future_poll(&iv.fut, &cx), CORO_READY); /* first tick */
    CHECK_EQ(future_poll(&iv.fut, &cx), CORO_PENDING);
    CHECK_EQ(timer_wheel_count(&wheel), 1);
    future_drop(&iv.fut);
    CHECK(wheel_is_empty(&wheel));
    /* Nothing fires afterwards. */
    timer_wheel_advance(&wheel, T0 + 10 * TIMER_SEC);
    CHECK_EQ(cw.wakes, 0);
    CHECK_EQ(p.polls, 1);
}

static void test_polled_without_timers_is_misuse(void) {
    counter_waker_t cw;
    future_cx_t cx;
    timer_sleep_t s;
    timer_interval_t iv;
    timer_timeout_t t;
    probe_t p;
    coro_poll_t r = CORO_PENDING;
    cw_init(&cw);
    cx = wheel_cx(&cw, 0);
    timer_sleep_init(&s, TIMER_MS);
    CHECK_MISUSE(r = future_poll(&s.fut, &cx), "without cx->timers");
    CHECK_EQ(r, CORO_READY);
    CHECK_EQ(future_err(&s.fut), -EINVAL);
    timer_interval_init(&iv, TIMER_MS, TIMER_MISSED_BURST);
    r = CORO_PENDING;
    CHECK_MISUSE(r = future_poll(&iv.fut, &cx), "without cx->timers");
    CHECK_EQ(r, CORO_READY);
    CHECK_EQ(future_err(&iv.fut), -EINVAL);
    /* A timeout: the error is -EINVAL, not a timeout that never happened. */
    probe_init(&p);
    timer_timeout_init(&t, &p.fut, TIMER_MS);
    r = CORO_PENDING;
    CHECK_MISUSE(r = future_poll(&t.fut, &cx), "without cx->timers");
    CHECK_EQ(r, CORO_READY);
    CHECK_EQ(future_err(&t.fut), -EINVAL);
    CHECK_EQ(p.drops, 1);
}

static void test_interval_zero_period_is_misuse(void) {
    counter_waker_t cw;
    future_cx_t cx;
    timer_interval_t iv;
    coro_poll_t r = CORO_PENDING;
    cw_init(&cw);
    timer_wheel_init(&wheel, T0);
    cx = wheel_cx(&cw, &wheel);
    timer_interval_init(&iv, 0, TIMER_MISSED_BURST);
    CHECK_MISUSE(r = future_poll(&iv.fut, &cx), "zero period");
    CHECK_EQ(r, CORO_READY);
    CHECK_EQ(future_err(&iv.fut), -EINVAL);
    CHECK(future_done(&iv.fut));
    CHECK(wheel_is_empty(&wheel));
    CHECK_EQ(iv.ticks, 0);
}

/* A retry whose backoff is "never" says so (and registers nothing). */
static future_t *fail_at_once(void *ctx, unsigned attempt) {
    future_ready_t *op = (future_ready_t *)ctx;
    (void)attempt;
    future_ready_init(op, -EIO);
    return &op->fut;
}

static void test_retry_backoff_forever_says_so(void) {
    counter_waker_t cw;
    future_cx_t cx;
    timer_retry_t r;
    timer_retry_policy_t p;
    future_ready_t op;
    future_fmt_t o;
    char buf[96];
    cw_init(&cw);
    timer_wheel_init(&wheel, T0);
    cx = wheel_cx(&cw, &wheel);
    memset(&p, 0, sizeof p);
    p.max_attempts = 2;
    p.base = TIMER_NEVER;
    timer_retry_init(&r, &p, fail_at_once, &op);
    CHECK_EQ(future_poll(&r.fut, &cx), CORO_PENDING); /* attempt 1 failed */
    memset(&o, 0, sizeof o);
    o.buf = buf;
    o.cap = sizeof buf;
    buf[0] = 0;
    future_describe(&r.fut, &o);
    CHECK(strcmp(buf, "retry attempt 2/2 (backoff forever)") == 0);
    CHECK(wheel_is_empty(&wheel));
    future_drop(&r.fut);
    CHECK_EQ(future_err(&r.fut), FUTURE_ECANCELED);
}

/* ---- futures on a paused executor --------------------------------------- */

static exec_t ex;

static int setup(void) {
    if (exec_init(&ex) != 0) return 0;
    ex.log = 0;
    exec_clock_pause(&ex);
    return 1;
}

/* async fn nap(ms, rc): sleep, then finish with rc */
typedef struct {
    future_t fut;
    uint64_t ns;
    int rc, drops;
    uint64_t woke_at;
    timer_sleep_t s;
} nap_t;

static coro_poll_t nap_poll(future_t *self, future_cx_t *cx) {
    nap_t *f = (nap_t *)(void *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->s, f->ns);
    AWAIT(cx, &f->s);
    f->woke_at = exec_now(exec_of(cx));
    ASYNC_RETURN(f->rc);
    ASYNC_END();
}

static void nap_drop(future_t *self) { ((nap_t *)(void *)self)->drops++; }

static void nap_init(nap_t *f, uint64_t ns, int rc) {
    memset(f, 0, sizeof *f);
    future_init(&f->fut, nap_poll, nap_drop);
    f->ns = ns;
    f->rc = rc;
}

/* async fn limited(inner, ns): timeout(ns, inner), noting when it ended */
typedef struct {
    future_t fut;
    future_t *inner;
    uint64_t ns, ended_at;
    int timers_left; /* timer_wheel_count right after the timeout */
    timer_timeout_t t;
} limited_t;

static coro_poll_t limited_poll(future_t *self, future_cx_t *cx) {
    limited_t *f = (limited_t *)(void *)self;
    ASYNC_BEGIN(f);
    timer_timeout_init(&f->t, f->inner, f->ns);
    AWAIT(cx, &f->t);
    f->ended_at = exec_now(exec_of(cx));
    f->timers_left = (int)timer_wheel_count(cx->timers);
    ASYNC_RETURN(future_err(&f->t.fut));
    ASYNC_END();
}

static void limited_init(limited_t *f, future_t *inner, uint64_t ns) {
    memset(f, 0, sizeof *f);
    future_init(&f->fut, limited_poll, 0);
    f->inner = inner;
    f->ns = ns;
}

static void test_timeout_inner_finishes_first(void) {
    nap_t n;
    limited_t l;
    uint64_t t0;
    CHECK(setup());
    t0 = exec_now(&ex);
    nap_init(&n, 10 * TIMER_MS + 1, 7);
    limited_init(&l, &n.fut, TIMER_SEC);
    CHECK_EQ(exec_block_on(&ex, &l.fut), 7); /* the inner's result */
    CHECK_EQ(n.drops, 0);
    CHECK_EQ(n.woke_at - t0, 10 * TIMER_MS + 1);
    CHECK_EQ(l.ended_at - t0, 10 * TIMER_MS + 1);
    CHECK_EQ(l.timers_left, 0); /* the timeout's sleep was unlinked at once */
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    CHECK(future_done(&l.t.sleep.fut)); /* dropped */
    exec_destroy(&ex);
}

static void test_timeout_fires_and_drops_inner(void) {
    probe_t p;
    limited_t l;
    uint64_t t0;
    CHECK(setup());
    t0 = exec_now(&ex);
    probe_init(&p);
    limited_init(&l, &p.fut, 250 * TIMER_MS + 3);
    CHECK_EQ(exec_block_on(&ex, &l.fut), -ETIMEDOUT);
    CHECK_EQ(p.drops, 1);
    CHECK_EQ(future_err(&p.fut), FUTURE_ECANCELED);
    CHECK(p.waker == 0);
    CHECK_EQ(l.ended_at - t0, 250 * TIMER_MS + 3);
    CHECK_EQ(l.timers_left, 0);
    CHECK_EQ(exec_now(&ex) - t0, 250 * TIMER_MS + 3);
    exec_destroy(&ex);
}

/* A 30 s timeout under the paused clock: no real waiting at all (the loop
 * never sleeps in epoll) and exactly 30 s on the clock. Twice: the same. */
static void test_timeout_30s_paused_is_instant_and_exact(void) {
    int round;
    for (round = 0; round < 2; round++) {
        future_pending_t never;
        limited_t l;
        uint64_t t0;
        CHECK(setup());
        t0 = exec_now(&ex);
        future_pending_init(&never);
        limited_init(&l, &never.fut, 30 * TIMER_SEC);
        CHECK_EQ(exec_block_on(&ex, &l.fut), -ETIMEDOUT);
        CHECK_EQ(exec_now(&ex) - t0, 30 * TIMER_SEC);
        CHECK_EQ(l.ended_at - t0, 30 * TIMER_SEC);
        CHECK_EQ(ex.stats.parks, 0); /* never slept */
        CHECK(ex.stats.polls <= 3);
        CHECK_EQ(timer_wheel_count(&ex.timers), 0);
        CHECK_EQ(future_err(&never.fut), FUTURE_ECANCELED);
        exec_destroy(&ex);
    }
}

/* A tie (inner and timer due at the same instant): the inner wins. */
static void test_timeout_tie_goes_to_inner(void) {
    nap_t n;
    limited_t l;
    CHECK(setup());
    nap_init(&n, 50 * TIMER_MS, 0);
    limited_init(&l, &n.fut, 50 * TIMER_MS);
    CHECK_EQ(exec_block_on(&ex, &l.fut), 0);
    CHECK_EQ(n.drops, 0);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    exec_destroy(&ex);
}

/* async fn ticker(): AWAIT an interval n times, noting each tick's
 * scheduled time and when it came; late after tick late_after. */
typedef struct {
    future_t fut;
    uint64_t period, late_ns;
    timer_missed_t missed;
    int n, i, late_after;
    uint64_t last[16], at[16], ticks[16];
    timer_interval_t iv;
} ticker_t;

static coro_poll_t ticker_poll(future_t *self, future_cx_t *cx) {
    ticker_t *f = (ticker_t *)(void *)self;
    ASYNC_BEGIN(f);
    timer_interval_init(&f->iv, f->period, f->missed);
    for (f->i = 0; f->i < f->n; f->i++) {
        AWAIT(cx, &f->iv);
        f->last[f->i] = f->iv.last;
        f->at[f->i] = exec_now(exec_of(cx));
        f->ticks[f->i] = f->iv.ticks;
        if (f->i == f->late_after) exec_clock_advance(exec_of(cx), f->late_ns);
    }
    ASYNC_END();
}

static void ticker_init(ticker_t *f, uint64_t period, timer_missed_t missed, int n) {
    memset(f, 0, sizeof *f);
    future_init(&f->fut, ticker_poll, 0);
    f->period = period;
    f->missed = missed;
    f->n = n;
    f->late_after = -1;
}

static void test_interval_ticks_at_exact_multiples(void) {
    ticker_t k;
    uint64_t t0, P = 10 * TIMER_MS + 7; /* not a multiple of the tick */
    int i;
    CHECK(setup());
    t0 = exec_now(&ex);
    ticker_init(&k, P, TIMER_MISSED_BURST, 8);
    CHECK_EQ(exec_block_on(&ex, &k.fut), 0);
    for (i = 0; i < 8; i++) {
        CHECK_EQ(k.last[i] - t0, (uint64_t)i * P); /* the first one at once */
        CHECK_EQ(k.at[i] - t0, (uint64_t)i * P);
        CHECK_EQ(k.ticks[i], (uint64_t)i + 1);
    }
    CHECK_EQ(exec_now(&ex) - t0, 7 * P);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    CHECK_EQ(ex.stats.parks, 0);
    exec_destroy(&ex);
}

/* The task is late by 3.5 periods after tick 1 (ticks 2, 3, 4 missed). */
static void check_missed(timer_missed_t mode, const double *want_last, const double *want_at) {
    ticker_t k;
    uint64_t t0, P = 10 * TIMER_MS;
    int i;
    CHECK(setup());
    t0 = exec_now(&ex);
    ticker_init(&k, P, mode, 7);
    k.late_after = 1;
    k.late_ns = 3 * P + P / 2;
    CHECK_EQ(exec_block_on(&ex, &k.fut), 0);
    for (i = 0; i < 7; i++) {
        uint64_t wl = (uint64_t)(want_last[i] * 2) * P / 2, wa = (uint64_t)(want_at[i] * 2) * P / 2;
        if (k.last[i] - t0 != wl || k.at[i] - t0 != wa)
            printf("    mode %d tick %d: scheduled %.2f P at %.2f P, want %.2f at %.2f\n",
                   (int)mode, i, (double)(k.last[i] - t0) / (double)P,
                   (double)(k.at[i] - t0) / (double)P, want_last[i], want_at[i]);
        CHECK_EQ(k.last[i] - t0, wl);
        CHECK_EQ(k.at[i] - t0, wa);
    }
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    exec_destroy(&ex);
}

static void test_interval_missed_burst(void) {
    /* Catch up back to back on the original schedule. */
    static const double last[] = {0, 1, 2, 3, 4, 5, 6};
    static const double at[] = {0, 1, 4.5, 4.5, 4.5, 5, 6};
    check_missed(TIMER_MISSED_BURST, last, at);
}

static void test_interval_missed_delay(void) {
    /* The late tick now, then a period from when it came. */
    static const double last[] = {0, 1, 2, 5.5, 6.5, 7.5, 8.5};
    static const double at[] = {0, 1, 4.5, 5.5, 6.5, 7.5, 8.5};
    check_missed(TIMER_MISSED_DELAY, last, at);
}

static void test_interval_missed_skip(void) {
    /* The late tick now, then back on the original grid, skipping 3 and 4. */
    static const double last[] = {0, 1, 2, 5, 6, 7, 8};
    static const double at[] = {0, 1, 4.5, 5, 6, 7, 8};
    check_missed(TIMER_MISSED_SKIP, last, at);
}

/* Aborting a task that waits on a sleep unlinks its timer. */
typedef struct {
    future_t fut;
    nap_t *nap;
    exec_task_t *task;
    size_t before, after;
} killer_t;

static coro_poll_t killer_poll(future_t *self, future_cx_t *cx) {
    killer_t *f = (killer_t *)(void *)self;
    ASYNC_BEGIN(f);
    exec_spawn(f->task, exec_of(cx), &f->nap->fut);
    YIELD_NOW(cx); /* the nap runs and registers its sleep */
    f->before = timer_wheel_count(cx->timers);
    exec_abort(f->task);
    f->after = timer_wheel_count(cx->timers);
    ASYNC_END();
}

static void test_abort_sleeping_task_unlinks(void) {
    nap_t n;
    exec_task_t t;
    killer_t k;
    CHECK(setup());
    exec_task_init(&t);
    nap_init(&n, TIMER_SEC, 0);
    memset(&k, 0, sizeof k);
    future_init(&k.fut, killer_poll, 0);
    k.nap = &n;
    k.task = &t;
    CHECK_EQ(exec_block_on(&ex, &k.fut), 0);
    CHECK_EQ(k.before, 1);
    CHECK_EQ(k.after, 0);
    CHECK_EQ(n.drops, 1);
    CHECK_EQ(exec_task_err(&t), -ECANCELED);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    exec_destroy(&ex);
}

/* The bit searches, builtin or by halves (TIMER_NO_CLZ, Cortex-M0+'s),
 * against the plain loops: every bit position, with and without bits
 * below it. */
static void test_bit_searches(void) {
    int b, n;
    uint64_t junk = 0x9e3779b97f4a7c15u;
    for (b = 0; b < 64; b++) {
        uint64_t top = (uint64_t)1 << b;
        for (n = 0; n < 4; n++) {
            uint64_t x = top | (b ? (junk >> (64 - b)) * (uint64_t)(n & 1) : 0);
            CHECK_EQ(timer_clz64_(x), 63 - b);
            junk = junk * 6364136223846793005u + 1442695040888963407u;
        }
    }
    for (b = 0; b < TIMER_SLOTS; b++) {
        timer_bits_t x = (timer_bits_t)((timer_bits_t)1 << b);
        CHECK_EQ(timer_ctz_(x), b);
        CHECK_EQ(timer_ctz_((timer_bits_t)(x | (timer_bits_t)(x << 1))), b);
    }
}

int main(void) {
    RUN(test_bit_searches);
    RUN(test_fires_at_deadline_never_before);
    RUN(test_same_tick_different_deadlines);
    RUN(test_every_level_and_cascade);
    RUN(test_deadlines_near_the_end_of_time);
    RUN(test_random_timers_fire_in_order);
    RUN(test_random_jumps_fire_exactly_the_due);
    RUN(test_insert_cancel_leaves_wheel_empty);
    RUN(test_million_timers_insert_and_cancel);
    RUN(test_equal_deadlines_fire_in_registration_order);
    RUN(test_equal_deadlines_far_apart_in_registrations);
    RUN(test_moved_wheel_is_misuse);
    RUN(test_count_across_number_wrap);
    RUN(test_cancel_leaves_a_bit_the_search_skips);
    RUN(test_far_timers_fire_exactly);
    RUN(test_tick32_across_the_wrap);
    RUN(test_sleeps_across_the_tick32_wrap);
    RUN(test_sizes);
    RUN(test_clock_going_backwards_is_ignored);
    RUN(test_sleep_is_lazy_and_fires);
    RUN(test_sleep_zero_or_past_is_ready_at_first_poll);
    RUN(test_sleep_never_registers_nothing);
    RUN(test_sleep_until_just_before_never);
    RUN(test_sleep_reset_rearms);
    RUN(test_sleep_spends_the_budget);
    RUN(test_drop_while_waiting_unlinks);
    RUN(test_polled_without_timers_is_misuse);
    RUN(test_interval_zero_period_is_misuse);
    RUN(test_retry_backoff_forever_says_so);
    RUN(test_timeout_inner_finishes_first);
    RUN(test_timeout_fires_and_drops_inner);
    RUN(test_timeout_30s_paused_is_instant_and_exact);
    RUN(test_timeout_tie_goes_to_inner);
    RUN(test_interval_ticks_at_exact_multiples);
    RUN(test_interval_missed_burst);
    RUN(test_interval_missed_delay);
    RUN(test_interval_missed_skip);
    RUN(test_abort_sleeping_task_unlinks);
    return check_summary();
}
