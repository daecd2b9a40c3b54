/* bench_pool: spawn_blocking throughput, as tokio's and libuv's
 * spawn_blocking_100k in bench/peers/: n trivial jobs submitted at once
 * (a future_join_all_t over n blocking_t), timed until every result
 * is back on the executor. The pool (default options: one thread per CPU,
 * growing on demand) is made once and reused, as tokio's runtime is.
 * Prints "spawn_blocking_100k <ns per job>", the median of 5 runs
 * (--runs N: of N, 1..5; bench/run.sh passes --runs 1 and takes the median
 * over its rounds). --quick: one run of 1000 jobs (for CI). */
#include "../exec.h"
#include "../blocking.h"

static exec_t ex;
static blocking_pool_t pool;

static int64_t trivial(void *arg, blocking_job_t *job) {
    (void)job;
    return (int64_t)(intptr_t)arg;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One run of n jobs: ns per job. */
static double run(long n, blocking_t *b, future_join_slot_t *slots) {
    future_join_all_t all;
    double t0;
    long i, sum = 0;
    t0 = now_s();
    future_join_all_init(&all, slots, (size_t)n, 1);
    for (i = 0; i < n; i++) {
        blocking_init(&b[i], &pool, trivial, (void *)(intptr_t)i);
        future_join_all_add(&all, &b[i].fut);
    }
    if (exec_block_on(&ex, &all.fut) != 0) {
        fprintf(stderr, "bench_pool: a job failed\n");
        exit(1);
    }
    t0 = (now_s() - t0) * 1e9 / (double)n;
    for (i = 0; i < n; i++) sum += (long)b[i].result;
    if (sum != n * (n - 1) / 2) {
        fprintf(stderr, "bench_pool: wrong results\n");
        exit(1);
    }
    return t0;
}

int main(int argc, char **argv) {
    int quick = 0, runs = 5, i;
    long n;
    double r[5];
    blocking_t *b;
    future_join_slot_t *slots;
    blocking_pool_stats_t st;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1, runs = 1;
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
        else runs = 0;
    }
    if (runs < 1 || runs > 5) {
        fprintf(stderr, "usage: %s [--quick] [--runs 1..5]\n", argv[0]);
        return 2;
    }
    n = quick ? 1000 : 100000;
    b = (blocking_t *)calloc((size_t)n, sizeof *b);
    slots = (future_join_slot_t *)calloc((size_t)n, sizeof *slots);
    if (!b || !slots || exec_init(&ex) || blocking_pool_init(&pool, &ex, 0)) {
        fprintf(stderr, "bench_pool: setup failed\n");
        return 1;
    }
    for (i = 0; i < runs; i++) r[i] = run(n, b, slots);
    qsort(r, (size_t)runs, sizeof r[0], cmp_d);
    st = blocking_pool_stats(&pool);
    printf("# %ld jobs x %d runs; pool threads started: %llu; eventfd writes: %llu; "
           "parks: %llu\n",
           n, runs, (unsigned long long)st.created,
           (unsigned long long)EXEC_LOAD_(&ex.stats.efd_writes),
           (unsigned long long)ex.stats.parks);
    printf("spawn_blocking_100k %.1f\n", r[runs / 2]);
    exec_destroy(&ex);
    blocking_pool_destroy(&pool);
    free(b);
    free(slots);
    return 0;
}
