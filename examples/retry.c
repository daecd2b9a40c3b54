/* retry: call a flaky operation until it succeeds, with timer.h's
 * timer_retry_t: at most 6 attempts, each under a 50 ms timeout, waiting
 * 10, 20, 40 ... ms between them (exponential backoff). The fake operation
 * fails with -ECONNREFUSED three times, then hangs once (the timeout cuts
 * it off), then succeeds. */
#include "../exec.h"

/* async fn flaky(attempt): fails, hangs or succeeds depending on attempt */
typedef struct {
    future_t fut;
    unsigned attempt;
    timer_sleep_t work;
    exec_t *ex; /* for the log's timestamps */
    uint64_t t0;
} flaky_t;

static coro_poll_t flaky_poll(future_t *self, future_cx_t *cx) {
    flaky_t *f = (flaky_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->work, (f->attempt == 4 ? 10000 : 5) * TIMER_MS);
    AWAIT(cx, &f->work);
    if (f->attempt <= 3) ASYNC_RETURN(-ECONNREFUSED);
    ASYNC_END();
}

/* make: a fresh attempt, in the same storage each time */
static future_t *start_flaky(void *ctx, unsigned attempt) {
    flaky_t *op = ctx;
    future_init(op, flaky_poll, 0);
    op->attempt = attempt;
    return &op->fut;
}

static void log_attempt(flaky_t *op, int err) {
    printf("%4.0f ms  attempt %u: %s\n", (double)(exec_now(op->ex) - op->t0) / 1e6,
           op->attempt, err ? strerror(-err) : "ok");
}

/* retry_on: any error is worth another try; say which one it was */
static int log_and_retry(void *ctx, int err) {
    log_attempt(ctx, err);
    return 1;
}

int main(void) {
    exec_t ex;
    flaky_t op = {.ex = &ex};
    timer_retry_t retry;
    timer_retry_policy_t policy = {.max_attempts = 6,
                                   .base = 10 * TIMER_MS, /* x2 each time */
                                   .attempt_timeout = 50 * TIMER_MS,
                                   .retry_on = log_and_retry};
    int err;
    if (exec_init(&ex) != 0) return perror("exec_init"), 1;
    op.t0 = exec_now(&ex);
    timer_retry_init(&retry, &policy, start_flaky, &op);
    err = exec_block_on(&ex, &retry);
    log_attempt(&op, err); /* the last attempt: retry_on is not asked */
    printf("result: %s\n", err ? strerror(-err) : "success");
    exec_destroy(&ex);
    return err ? 1 : 0;
}
