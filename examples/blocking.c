/* blocking: why spawn_blocking exists. A ticker task ticks every 100 ms and
 * records how late each tick is; a second task hashes a large generated
 * buffer. Run 1 hashes on the executor's thread: the ticker stalls for the
 * whole hash, and the blocked-executor detector says where and how long.
 * Run 2 hashes with spawn_blocking (blocking_t) on the pool: the
 * ticker stays on time. The last two lines compare the worst lateness. */
#include "../exec.h"
#include "../blocking.h"

enum { BUF_BYTES = 16 << 20, ROUNDS = 20 };

/* The work: FNV-1a over the buffer, ROUNDS times (CPU-bound, ~0.3-0.6 s). */
typedef struct {
    const unsigned char *buf;
    size_t len;
} hash_arg_t;

static uint64_t hash(const hash_arg_t *a) {
    uint64_t h = 1469598103934665603u;
    size_t i;
    int r;
    for (r = 0; r < ROUNDS; r++)
        for (i = 0; i < a->len; i++) h = (h ^ a->buf[i]) * 1099511628211u;
    return h;
}

/* The same work as a pool job. arg is main's, and outlives the pool. */
static int64_t hash_job(void *arg, blocking_job_t *job) {
    (void)job;
    return (int64_t)hash((const hash_arg_t *)arg);
}

/* async fn ticker(): tick every 100 ms until *stop; note the worst lateness */
ASYNC_FN(ticker, const int *stop; uint64_t worst; int ticks; timer_interval_t iv;) {
    ASYNC_BEGIN(f);
    timer_interval_init(&f->iv, 100 * TIMER_MS, TIMER_MISSED_SKIP);
    while (!*f->stop) {
        AWAIT(cx, &f->iv);
        {
            uint64_t late = exec_now(exec_of(cx)) - f->iv.last;
            if (late > f->worst) f->worst = late;
        }
        f->ticks++;
    }
    future_drop(&f->iv);
    ASYNC_END();
}

/* async fn hasher(pooled): wait 250 ms, hash (here or on the pool), wait
 * 250 ms more, then stop the ticker. */
ASYNC_FN(hasher, int pooled; int *stop; hash_arg_t *arg; blocking_pool_t *pool; uint64_t result;
         timer_sleep_t nap; blocking_t job;) {
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, 250 * TIMER_MS);
    AWAIT(cx, &f->nap);
    if (!f->pooled) {
        f->result = hash(f->arg); /* the mistake: the executor's thread */
    } else {
        blocking_init(&f->job, f->pool, hash_job, f->arg);
        AWAIT_TRY(cx, &f->job); /* the fix: a pool thread */
        f->result = (uint64_t)f->job.result;
    }
    exec_update_time(exec_of(cx)); /* the clock is read once per turn */
    timer_sleep_init(&f->nap, 250 * TIMER_MS);
    AWAIT(cx, &f->nap);
    *f->stop = 1;
    ASYNC_END();
}

/* One run: both tasks side by side. Returns the worst lateness in ms. */
static double run(exec_t *ex, blocking_pool_t *pool, hash_arg_t *arg, int pooled) {
    exec_task_t tt = {0}, th = {0};
    int stop = 0;
    ticker_t tick = ASYNC_NEW(ticker, .stop = &stop);
    hasher_t h = ASYNC_NEW(hasher, .pooled = pooled, .stop = &stop, .arg = arg, .pool = pool);
    exec_spawn(&tt, ex, &tick);
    exec_spawn(&th, ex, &h);
    if (exec_run(ex) != 0) return -1;
    printf("  hash %016llx, %d ticks, worst lateness %.0f ms\n",
           (unsigned long long)h.result, tick.ticks, (double)tick.worst / 1e6);
    return (double)tick.worst / 1e6;
}

int main(void) {
    exec_t ex;
    blocking_pool_t pool;
    hash_arg_t arg;
    unsigned char *buf = (unsigned char *)malloc(BUF_BYTES);
    uint64_t x = 88172645463325252u;
    double on_exec, pooled;
    size_t i;
    int err;
    if (!buf) return 1;
    for (i = 0; i < BUF_BYTES; i++) { /* a generated buffer (xorshift) */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    arg.buf = buf;
    arg.len = BUF_BYTES;
    if ((err = exec_init(&ex)) != 0 || (err = blocking_pool_init(&pool, &ex, 0)) != 0) {
        fprintf(stderr, "init: %s\n", strerror(-err));
        return 1;
    }
    /* the detector: report any poll that holds the thread over 50 ms */
    exec_set_block_threshold(&ex, 50 * TIMER_MS, stdout);

    printf("run 1: hashing %d MiB x %d on the executor thread\n", BUF_BYTES >> 20, ROUNDS);
    on_exec = run(&ex, &pool, &arg, 0);
    printf("run 2: the same hash with spawn_blocking\n");
    pooled = run(&ex, &pool, &arg, 1);

    exec_destroy(&ex);
    blocking_pool_destroy(&pool);
    free(buf);
    printf("on executor: worst lateness %.0f ms\n", on_exec);
    printf("spawn_blocking: worst lateness %.0f ms\n", pooled);
    return on_exec < 0 || pooled < 0;
}
