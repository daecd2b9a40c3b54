/* timeline: examples/seq_vs_join.c's three fetches (sleeps of 100, 200 and
 * 150 ms), awaited one after another and then with JOIN, each fetch
 * stamping the clock when it starts and when its sleep is over. Prints one
 * line per fetch for bench/plot.sh to draw (build/seq_vs_join.svg):
 *
 *   mode fetch start_ms end_ms        (times from the start of that mode)
 *   seq  1 0.01 100.08
 *   ...
 *   join 3 0.02 150.07
 *
 *   gcc -std=c11 -D_GNU_SOURCE -O2 bench/timeline.c -o build/bench/timeline -lpthread */
#include "../exec.h"

/* async fn fetch(ms): sleep ms, noting when it started and ended */
ASYNC_FN(fetch, uint64_t ms, t0, start, end; timer_sleep_t nap;) {
    ASYNC_BEGIN(f);
    f->start = timer_clock_monotonic() - f->t0;
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    f->end = timer_clock_monotonic() - f->t0;
    ASYNC_END();
}

/* async fn demo(join): the three fetches, in sequence or joined */
ASYNC_FN(demo, int join, i; fetch_t fetch[3];) {
    ASYNC_BEGIN(f);
    if (f->join) {
        JOIN(cx, &f->fetch[0], &f->fetch[1], &f->fetch[2]);
    } else {
        for (f->i = 0; f->i < 3; f->i++) AWAIT(cx, &f->fetch[f->i]);
    }
    ASYNC_END();
}

static int run(exec_t *ex, int join) {
    static const uint64_t ms[3] = {100, 200, 150};
    static demo_t d;
    uint64_t t0 = timer_clock_monotonic();
    int i;
    d = ASYNC_NEW(demo, .join = join);
    for (i = 0; i < 3; i++) d.fetch[i] = ASYNC_NEW(fetch, .ms = ms[i], .t0 = t0);
    if (exec_block_on(ex, &d) != 0) return 1;
    for (i = 0; i < 3; i++)
        printf("%s %d %.2f %.2f\n", join ? "join" : "seq", i + 1,
               (double)d.fetch[i].start / 1e6, (double)d.fetch[i].end / 1e6);
    return 0;
}

int main(void) {
    exec_t ex;
    int rc;
    if (exec_init(&ex) != 0) return perror("exec_init"), 1;
    printf("# mode fetch start_ms end_ms (fetches of 100, 200, 150 ms)\n");
    rc = run(&ex, 0) | run(&ex, 1);
    exec_destroy(&ex);
    return rc;
}
