/* seq_vs_join: the same three sleeps (100, 200 and 150 ms) awaited one
 * after another, then together with JOIN. Sequential awaits add up (about
 * 450 ms); JOIN waits for the slowest (about 200 ms), on one thread.
 *
 *   build/seq_vs_join              both, one line each
 *   build/seq_vs_join --mode seq   only the sequential run (for hyperfine)
 *   build/seq_vs_join --mode join  only the JOIN run */
#include "../exec.h"

typedef struct {
    future_t fut;
    int join;              /* JOIN instead of one after another */
    timer_sleep_t nap[3];
} demo_t;

static coro_poll_t demo_poll(future_t *self, future_cx_t *cx) {
    demo_t *f = (demo_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap[0], 100 * TIMER_MS);
    timer_sleep_init(&f->nap[1], 200 * TIMER_MS);
    timer_sleep_init(&f->nap[2], 150 * TIMER_MS);
    if (f->join) {
        JOIN(cx, &f->nap[0], &f->nap[1], &f->nap[2]);
    } else {
        AWAIT(cx, &f->nap[0]);
        AWAIT(cx, &f->nap[1]);
        AWAIT(cx, &f->nap[2]);
    }
    ASYNC_END();
}

static int run(exec_t *ex, int join) {
    demo_t d;
    uint64_t t0;
    future_init(&d.fut, demo_poll, 0);
    d.join = join;
    t0 = timer_clock_monotonic();
    if (exec_block_on(ex, &d.fut) != 0) return 1;
    printf("%s: %.0f ms\n", join ? "join" : "sequential",
           (double)(timer_clock_monotonic() - t0) / 1e6);
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc == 3 && !strcmp(argv[1], "--mode") ? argv[2] : "both";
    int seq = !strcmp(mode, "seq") || !strcmp(mode, "both");
    int join = !strcmp(mode, "join") || !strcmp(mode, "both");
    exec_t ex;
    int rc = 0;
    if ((!seq && !join) || (argc != 1 && argc != 3)) {
        fprintf(stderr, "usage: %s [--mode seq|join]\n", argv[0]);
        return 2;
    }
    if (exec_init(&ex) != 0) return perror("exec_init"), 1;
    if (seq) rc |= run(&ex, 0);
    if (join) rc |= run(&ex, 1);
    exec_destroy(&ex);
    return rc;
}
