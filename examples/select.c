/* select: a primary and a backup source raced against a timeout. The first
 * to answer wins; SELECT drops the losers, and each source says so when it
 * is cancelled. Round 1: the backup answers first. Round 2: both are too
 * slow and the timeout wins. */
#include "../exec.h"

/* async fn source(name, ms): answers after ms; reports cancellation. Written
 * by hand, as any future can be, because it has a drop function of its own. */
typedef struct {
    future_t fut;
    const char *name;
    uint64_t ms;
    timer_sleep_t delay;
} source_t;

static coro_poll_t source_poll(future_t *self, future_cx_t *cx) {
    source_t *f = (source_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->delay, f->ms * TIMER_MS);
    AWAIT(cx, &f->delay);
    printf("  %s answered after %llu ms\n", f->name, (unsigned long long)f->ms);
    ASYNC_END();
}

/* Runs when a pending source is dropped (its timer is unlinked by then). */
static void source_drop(future_t *self) {
    printf("  %s cancelled\n", ((source_t *)self)->name);
}

static void source_init(source_t *s, const char *name, uint64_t ms) {
    future_init(&s->fut, source_poll, source_drop);
    s->name = name;
    s->ms = ms;
}

/* The race, three times SELECT: the sources and the deadline live in the
 * frame and are made fresh each round. */
ASYNC_FN(race, int round, which; source_t primary, backup; timer_sleep_t deadline;) {
    static const uint64_t ms[2][3] = {{300, 120, 1000}, {800, 900, 250}};
    static const char *const who[3] = {"primary", "backup", "timeout"};
    ASYNC_BEGIN(f);
    for (f->round = 0; f->round < 2; f->round++) {
        printf("round %d: primary %llu ms, backup %llu ms, timeout %llu ms\n", f->round + 1,
               (unsigned long long)ms[f->round][0], (unsigned long long)ms[f->round][1],
               (unsigned long long)ms[f->round][2]);
        source_init(&f->primary, "primary", ms[f->round][0]);
        source_init(&f->backup, "backup", ms[f->round][1]);
        timer_sleep_init(&f->deadline, ms[f->round][2] * TIMER_MS);
        SELECT(cx, f->which, &f->primary, &f->backup, &f->deadline);
        printf("  winner: %s; timers still registered: %zu\n", who[f->which],
               timer_wheel_count(cx->timers));
    }
    ASYNC_END();
}

EXEC_MAIN(race)
