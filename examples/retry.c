/* retry: call a flaky operation until it succeeds, with timer.h's
 * timer_retry_t: at most 6 attempts, each under a 50 ms timeout, waiting
 * 10, 20, 40 ... ms between them (exponential backoff). The fake operation
 * fails with -ECONNREFUSED three times, then hangs once (the timeout cuts
 * it off), then succeeds. */
#include "../exec.h"

/* async fn flaky(attempt): fails, hangs or succeeds depending on attempt */
ASYNC_FN(flaky, unsigned attempt; timer_sleep_t work;) {
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->work, (f->attempt == 4 ? 10000 : 5) * TIMER_MS);
    AWAIT(cx, &f->work);
    if (f->attempt <= 3) ASYNC_RETURN(-ECONNREFUSED);
    ASYNC_END();
}

static future_t *start_flaky(void *app, unsigned attempt);
static void log_attempt(void *app, unsigned attempt, int err);

/* async fn main(): retry flaky, a log line per attempt, then the result */
ASYNC_FN(app, flaky_t op; timer_retry_t retry; exec_t *ex; uint64_t t0; int err;) {
    ASYNC_BEGIN(f);
    f->ex = exec_of(cx);
    f->t0 = exec_now(f->ex);
    timer_retry_init(&f->retry, &(timer_retry_policy_t){.max_attempts = 6,
                                                        .base = 10 * TIMER_MS, /* x2 each time */
                                                        .attempt_timeout = 50 * TIMER_MS,
                                                        .on_attempt = log_attempt},
                     start_flaky, f);
    AWAIT(cx, &f->retry);
    f->err = future_err(&f->retry); /* 0, or the last attempt's error */
    printf("result: %s\n", f->err ? strerror(-f->err) : "success");
    ASYNC_RETURN(f->err);
    ASYNC_END();
}

/* make: a fresh attempt, in the same storage each time */
static future_t *start_flaky(void *app, unsigned attempt) {
    flaky_t *op = &((app_t *)app)->op;
    *op = ASYNC_NEW(flaky, .attempt = attempt);
    return &op->fut;
}

static void log_attempt(void *app, unsigned attempt, int err) {
    app_t *f = app;
    printf("%4.0f ms  attempt %u: %s\n", (double)(exec_now(f->ex) - f->t0) / 1e6, attempt,
           err ? strerror(-err) : "ok");
}

EXEC_MAIN(app)
