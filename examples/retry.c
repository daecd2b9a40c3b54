/* retry: call a flaky operation until it succeeds, waiting 10, 20, 40 ...
 * ms between attempts (exponential backoff), each attempt under a 50 ms
 * timeout, giving up after 6 attempts. The fake operation fails with
 * -ECONNREFUSED three times, then hangs once (the timeout cuts it off),
 * then succeeds. */
#include "../exec.h"

/* async fn flaky(attempt): fails, hangs or succeeds depending on attempt */
typedef struct {
    future_t fut;
    int attempt;
    timer_sleep_t work;
} flaky_t;

static coro_poll_t flaky_poll(future_t *self, future_cx_t *cx) {
    flaky_t *f = (flaky_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->work, (f->attempt == 4 ? 10000 : 5) * TIMER_MS);
    AWAIT(cx, &f->work);
    if (f->attempt <= 3) ASYNC_RETURN(-ECONNREFUSED);
    ASYNC_END();
}

typedef struct {
    future_t fut;
    int attempt;
    uint64_t backoff, start;
    flaky_t op;
    timer_timeout_t limit;
    timer_sleep_t pause;
} retry_t;

static coro_poll_t retry_poll(future_t *self, future_cx_t *cx) {
    retry_t *f = (retry_t *)self;
    exec_t *ex = exec_of(cx);
    ASYNC_BEGIN(f);
    f->start = exec_now(ex);
    f->backoff = 10 * TIMER_MS;
    for (f->attempt = 1; f->attempt <= 6; f->attempt++) {
        future_init(&f->op, flaky_poll, 0);
        f->op.attempt = f->attempt;
        timer_timeout_init(&f->limit, &f->op, 50 * TIMER_MS);
        AWAIT(cx, &f->limit);
        printf("%4.0f ms  attempt %d: %s\n", (double)(exec_now(ex) - f->start) / 1e6,
               f->attempt, future_err(&f->limit) ? strerror(-future_err(&f->limit)) : "ok");
        if (future_err(&f->limit) == 0) ASYNC_RETURN(0);
        timer_sleep_init(&f->pause, f->backoff);
        AWAIT(cx, &f->pause);
        f->backoff *= 2;
    }
    ASYNC_RETURN(-ETIMEDOUT); /* gave up */
    ASYNC_END();
}

int main(void) {
    exec_t ex;
    retry_t r;
    int err;
    if (exec_init(&ex) != 0) return perror("exec_init"), 1;
    future_init(&r, retry_poll, 0);
    err = exec_block_on(&ex, &r);
    printf("result: %s\n", err ? strerror(-err) : "success");
    exec_destroy(&ex);
    return err ? 1 : 0;
}
