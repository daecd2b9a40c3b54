/* seq_vs_join: the same sleeps awaited one after another, then together.
 * Sequential awaits add up; a join waits only for the slowest, on one
 * thread.
 *
 *   build/seq_vs_join               100, 200 and 150 ms: about 450 vs 200
 *   build/seq_vs_join --mode seq    only the sequential run (for hyperfine)
 *   build/seq_vs_join --mode join   only the joined run
 *   build/seq_vs_join --wide ...    100 fetches of 1 to 50 ms (fixed seed),
 *                                   joined with future_join_all_t
 *   build/seq_vs_join --trace FILE  the three sleeps as tasks, each a row of
 *                                   the timeline written to FILE (Chrome
 *                                   trace JSON: open it in ui.perfetto.dev) */
#define EXEC_METRICS 1 /* task ids, hooks, the timeline */
#include "../exec.h"

enum { WIDE = 100 };

/* one sleep as a task of its own (--trace): a row on the timeline */
ASYNC_FN(nap, uint64_t ms; timer_sleep_t sleep;) {
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->sleep, f->ms * TIMER_MS);
    AWAIT(cx, &f->sleep);
    ASYNC_END();
}

ASYNC_FN(demo, int join, tasks, n, i; uint64_t ms[WIDE]; timer_sleep_t nap[WIDE];
         future_join_slot_t slots[WIDE]; future_join_all_t all;
         nap_t naps[3]; exec_task_t task[3]; exec_join_t handle[3];) {
    static const char *names[] = {"sleep 100 ms", "sleep 200 ms", "sleep 150 ms"};
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < f->n; f->i++) timer_sleep_init(&f->nap[f->i], f->ms[f->i] * TIMER_MS);
    if (f->tasks) { /* spawned and awaited one by one, or all spawned, then joined */
        for (f->i = 0; f->i < 3; f->i++) {
            f->naps[f->i] = ASYNC_NEW(nap, .ms = f->ms[f->i]);
            SPAWN(cx, &f->task[f->i], &f->naps[f->i]);
            exec_task_set_name(&f->task[f->i], names[f->i]);
            exec_join_init(&f->handle[f->i], &f->task[f->i]);
            if (!f->join) AWAIT(cx, &f->handle[f->i]);
        }
        if (f->join) JOIN(cx, &f->handle[0], &f->handle[1], &f->handle[2]);
    } else if (f->join && f->n == 3) {
        JOIN(cx, &f->nap[0], &f->nap[1], &f->nap[2]);
    } else if (f->join) { /* many children: a join whose wakes cost O(1) */
        future_join_all_init(&f->all, f->slots, WIDE, 0);
        for (f->i = 0; f->i < f->n; f->i++) future_join_all_add(&f->all, &f->nap[f->i]);
        AWAIT(cx, &f->all);
    } else {
        for (f->i = 0; f->i < f->n; f->i++) AWAIT(cx, &f->nap[f->i]);
    }
    ASYNC_END();
}

static int run(exec_t *ex, int join, int wide, int tasks) {
    static demo_t d;
    uint64_t t0, x = 2463534242u;
    int i;
    d = ASYNC_NEW(demo, .join = join, .tasks = tasks && !wide, .n = wide ? WIDE : 3);
    for (i = 0; i < d.n; i++) { /* xorshift: the same delays every run */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        d.ms[i] = wide ? 1 + x % 50 : (uint64_t[]){100, 200, 150}[i];
    }
    t0 = timer_clock_monotonic();
    if (exec_block_on(ex, &d) != 0) return 1;
    printf("%s: %.0f ms\n", join ? "join" : "sequential",
           (double)(timer_clock_monotonic() - t0) / 1e6);
    return 0;
}

int main(int argc, char **argv) {
    static exec_trace_event_t events[256]; /* the timeline's buffer: ours */
    const char *mode = "both", *trace = 0;
    int i, wide = 0, seq, join, rc = 0;
    exec_trace_t tr;
    exec_t ex;
    FILE *out;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--wide")) wide = 1;
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc) mode = argv[++i];
        else if (!strcmp(argv[i], "--trace") && i + 1 < argc) trace = argv[++i];
        else mode = "?";
    }
    seq = !strcmp(mode, "seq") || !strcmp(mode, "both");
    join = !strcmp(mode, "join") || !strcmp(mode, "both");
    if (!seq && !join) {
        fprintf(stderr, "usage: %s [--wide] [--mode seq|join] [--trace FILE]\n", argv[0]);
        return 2;
    }
    if (exec_init(&ex) != 0) return perror("exec_init"), 1;
    if (trace) exec_trace_start(&ex, &tr, events, sizeof events / sizeof events[0]);
    if (seq) rc |= run(&ex, 0, wide, trace != 0);
    if (join) rc |= run(&ex, 1, wide, trace != 0);
    if (trace) {
        exec_trace_stop(&ex);
        if (!(out = fopen(trace, "w")) || exec_trace_write(&tr, out) != 0)
            return perror(trace), 1;
        fclose(out);
        printf("trace: %s (%zu events; open it in ui.perfetto.dev)\n", trace, tr.len);
    }
    exec_destroy(&ex);
    return rc;
}
