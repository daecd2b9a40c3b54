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
static uint64_t hash(const unsigned char *buf) {
    uint64_t h = 1469598103934665603u;
    size_t i;
    int r;
    for (r = 0; r < ROUNDS; r++)
        for (i = 0; i < BUF_BYTES; i++) h = (h ^ buf[i]) * 1099511628211u;
    return h;
}

/* The same work as a pool job. buf is static: it outlives the pool. */
static int64_t hash_job(void *buf, blocking_job_t *job) {
    (void)job;
    return (int64_t)hash(buf);
}

/* The input: a generated buffer (xorshift), in static storage. */
static unsigned char *generate(void) {
    static unsigned char buf[BUF_BYTES];
    uint64_t x = 88172645463325252u;
    size_t i;
    for (i = 0; i < BUF_BYTES; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    return buf;
}

/* async fn ticker(): tick every 100 ms until *stop; note the worst lateness */
ASYNC_FN(ticker, const int *stop; uint64_t late, worst; int ticks; timer_interval_t iv;) {
    ASYNC_BEGIN(f);
    timer_interval_init(&f->iv, 100 * TIMER_MS, TIMER_MISSED_SKIP);
    while (!*f->stop) {
        AWAIT(cx, &f->iv);
        f->late = exec_now(exec_of(cx)) - f->iv.last;
        if (f->late > f->worst) f->worst = f->late;
        f->ticks++;
    }
    future_drop(&f->iv);
    ASYNC_END();
}

/* async fn hasher(pooled): wait 250 ms, hash (here or on the pool), wait
 * 250 ms more, then stop the ticker. */
ASYNC_FN(hasher, int pooled; int *stop; unsigned char *buf; blocking_pool_t *pool; uint64_t result;
         timer_sleep_t nap; blocking_t job;) {
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, 250 * TIMER_MS);
    AWAIT(cx, &f->nap);
    if (!f->pooled) {
        f->result = hash(f->buf); /* the mistake: the executor's thread */
    } else {
        blocking_init(&f->job, f->pool, hash_job, f->buf);
        AWAIT_TRY(cx, &f->job); /* the fix: a pool thread */
        f->result = (uint64_t)f->job.out;
    }
    exec_update_time(exec_of(cx)); /* the clock is read once per turn */
    timer_sleep_init(&f->nap, 250 * TIMER_MS);
    AWAIT(cx, &f->nap);
    *f->stop = 1;
    ASYNC_END();
}

/* async fn run(pooled): the ticker as a task, the hasher here, side by side */
ASYNC_FN(run, int pooled; unsigned char *buf; blocking_pool_t *pool; int stop; ticker_t tick;
         hasher_t hasher; exec_task_t tick_task; exec_join_t tick_join;) {
    ASYNC_BEGIN(f);
    f->tick = ASYNC_NEW(ticker, .stop = &f->stop);
    SPAWN(cx, &f->tick_task, &f->tick);
    f->hasher = ASYNC_NEW(hasher, .pooled = f->pooled, .stop = &f->stop, .buf = f->buf,
                          .pool = f->pool);
    AWAIT_TRY(cx, &f->hasher);
    exec_join_init(&f->tick_join, &f->tick_task);
    AWAIT_TRY(cx, &f->tick_join);
    printf("  hash %016llx, %d ticks, worst lateness %.0f ms\n",
           (unsigned long long)f->hasher.result, f->tick.ticks, (double)f->tick.worst / 1e6);
    ASYNC_END();
}

static void pool_gone(future_owned_t *owns_pool);

/* async fn main(): the pool (the frame owns it), then the two runs */
ASYNC_FN(app, blocking_pool_t pool; future_owned_t owns_pool; unsigned char *buf; run_t run[2];
         int err;) {
    ASYNC_BEGIN(f);
    f->buf = generate();
    if ((f->err = blocking_pool_init(&f->pool, exec_of(cx), 0)) != 0) ASYNC_RETURN(f->err);
    future_own(f, &f->owns_pool, pool_gone);
    /* the detector: report any poll that holds the thread over 50 ms */
    exec_set_block_threshold(exec_of(cx), 50 * TIMER_MS, stdout);

    printf("run 1: hashing %d MiB x %d on the executor thread\n", BUF_BYTES >> 20, ROUNDS);
    f->run[0] = ASYNC_NEW(run, .pooled = 0, .buf = f->buf, .pool = &f->pool);
    AWAIT_TRY(cx, &f->run[0]);
    printf("run 2: the same hash with spawn_blocking\n");
    f->run[1] = ASYNC_NEW(run, .pooled = 1, .buf = f->buf, .pool = &f->pool);
    AWAIT_TRY(cx, &f->run[1]);

    printf("on executor: worst lateness %.0f ms\n", (double)f->run[0].tick.worst / 1e6);
    printf("spawn_blocking: worst lateness %.0f ms\n", (double)f->run[1].tick.worst / 1e6);
    ASYNC_END();
}

/* The app frame's end, however it comes (finished, or an error): join the
 * pool's threads, idle by then unless a run failed mid-hash. */
static void pool_gone(future_owned_t *owns_pool) {
    blocking_pool_destroy(&FUTURE_CONTAINER_OF(owns_pool, app_t, owns_pool)->pool);
}

EXEC_MAIN(app)
