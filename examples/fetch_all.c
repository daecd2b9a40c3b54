/* fetch_all: three fake fetches run as spawned tasks, awaited with TRY_JOIN
 * under a 5 s timeout. They sleep 100, 200 and 150 ms, so all three are
 * done after about 200 ms: the slowest, not the sum. */
#include "../exec.h"

/* async fn fake_fetch(name, ms) -> "name: OK" */
typedef struct {
    future_t fut;
    const char *name;
    uint64_t ms;
    timer_sleep_t nap; /* the child future lives in the frame */
    char out[32];      /* the result */
} fetch_t;

static coro_poll_t fetch_poll(future_t *self, future_cx_t *cx) {
    fetch_t *f = (fetch_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    snprintf(f->out, sizeof f->out, "%s: OK", f->name);
    ASYNC_END();
}

static void fetch_init(fetch_t *f, const char *name, uint64_t ms) {
    future_init(&f->fut, fetch_poll, 0);
    f->name = name;
    f->ms = ms;
}

/* async fn fetch_all(): spawn three fetches, then try_join! their handles */
typedef struct {
    future_t fut;
    fetch_t fetch[3];
    exec_task_t task[3];
    exec_join_t join[3];
} all_t;

static coro_poll_t all_poll(future_t *self, future_cx_t *cx) {
    static const char *const names[3] = {"users", "orders", "prices"};
    static const uint64_t ms[3] = {100, 200, 150};
    all_t *f = (all_t *)self;
    int i;
    ASYNC_BEGIN(f);
    for (i = 0; i < 3; i++) {
        fetch_init(&f->fetch[i], names[i], ms[i]);
        SPAWN(cx, &f->task[i], &f->fetch[i]);
        exec_join_init(&f->join[i], &f->task[i]);
    }
    TRY_JOIN(cx, &f->join[0], &f->join[1], &f->join[2]);
    ASYNC_END();
}

/* async fn main(): timeout(5 s, fetch_all()) */
typedef struct {
    future_t fut;
    all_t all;
    timer_timeout_t limit;
    uint64_t start;
} main_t;

static coro_poll_t main_poll(future_t *self, future_cx_t *cx) {
    main_t *f = (main_t *)self;
    int i;
    ASYNC_BEGIN(f);
    f->start = exec_now(exec_of(cx));
    future_init(&f->all, all_poll, 0);
    timer_timeout_init(&f->limit, &f->all, 5 * TIMER_SEC);
    AWAIT(cx, &f->limit);
    if (future_err(&f->limit) < 0) {
        printf("failed: %s\n", strerror(-future_err(&f->limit)));
        ASYNC_RETURN(future_err(&f->limit));
    }
    for (i = 0; i < 3; i++) printf("%s\n", f->all.fetch[i].out);
    printf("elapsed: %.0f ms\n", (double)(exec_now(exec_of(cx)) - f->start) / 1e6);
    ASYNC_END();
}

int main(void) {
    exec_t ex;
    main_t m = {0}; /* a zeroed frame: its tasks are fresh ones */
    int err = exec_init(&ex);
    if (err) return fprintf(stderr, "exec_init: %s\n", strerror(-err)), 1;
    future_init(&m, main_poll, 0);
    err = exec_block_on(&ex, &m);
    exec_destroy(&ex);
    return err ? 1 : 0;
}
