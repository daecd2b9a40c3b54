/* select: a primary and a backup source raced against a timeout. The first
 * to answer wins; SELECT drops the losers, and each source says so when it
 * is cancelled. Round 1: the backup answers first. Round 2: both are too
 * slow and the timeout wins. */
#include "../exec.h"

static void on_cancel(future_owned_t *guard);

/* async fn source(name, ms): answers after ms. Its guard says "cancelled"
 * if the frame goes before it answered (a Drop guard in Rust): the frame
 * owns it, and answering lets go of it first. */
ASYNC_FN(source, const char *name; unsigned ms; timer_sleep_t delay; future_owned_t guard;) {
    ASYNC_BEGIN(f);
    future_own(f, &f->guard, on_cancel);
    timer_sleep_init(&f->delay, f->ms * TIMER_MS);
    AWAIT(cx, &f->delay);
    future_owned_unlink(&f->guard); /* answered: no longer cancellable */
    printf("  %s answered after %u ms\n", f->name, f->ms);
    ASYNC_END();
}

/* Runs when a pending source is dropped (its timer is unlinked by then). */
static void on_cancel(future_owned_t *guard) {
    printf("  %s cancelled\n", FUTURE_CONTAINER_OF(guard, source_t, guard)->name);
}

/* The race, twice SELECT: the sources and the deadline live in the frame
 * and are made fresh each round. */
ASYNC_FN(race, int round, which; const unsigned *t; source_t primary, backup;
         timer_sleep_t deadline;) {
    static const unsigned ms[2][3] = {{300, 120, 1000}, {800, 900, 250}};
    static const char *const who[3] = {"primary", "backup", "timeout"};
    ASYNC_BEGIN(f);
    for (f->round = 0; f->round < 2; f->round++) {
        f->t = ms[f->round]; /* this round's times */
        printf("round %d: primary %u ms, backup %u ms, timeout %u ms\n", f->round + 1, f->t[0],
               f->t[1], f->t[2]);
        f->primary = ASYNC_NEW(source, .name = "primary", .ms = f->t[0]);
        f->backup = ASYNC_NEW(source, .name = "backup", .ms = f->t[1]);
        timer_sleep_init(&f->deadline, f->t[2] * TIMER_MS);
        SELECT(cx, f->which, &f->primary, &f->backup, &f->deadline);
        printf("  winner: %s; timers still registered: %zu\n", who[f->which],
               timer_wheel_count(cx->timers));
    }
    ASYNC_END();
}

EXEC_MAIN(race)
