/* fetch_all: three fake fetches run as spawned tasks, awaited with TRY_JOIN
 * under a 5 s timeout. They sleep 100, 200 and 150 ms, so all three are
 * done after about 200 ms: the slowest, not the sum. */
#include "../exec.h"

/* async fn fake_fetch(name, ms) -> "name: OK" */
ASYNC_FN(fetch, const char *name; uint64_t ms; timer_sleep_t nap; char out[32];) {
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS); /* the child lives in the frame */
    AWAIT(cx, &f->nap);
    snprintf(f->out, sizeof f->out, "%s: OK", f->name);
    ASYNC_END();
}

/* async fn fetch_all(): spawn three fetches, then try_join! their handles */
ASYNC_FN(all, fetch_t fetch[3]; exec_task_t task[3]; exec_join_t join[3]; int i;) {
    static const char *const names[3] = {"users", "orders", "prices"};
    static const uint64_t ms[3] = {100, 200, 150};
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < 3; f->i++) {
        f->fetch[f->i] = ASYNC_NEW(fetch, .name = names[f->i], .ms = ms[f->i]);
        SPAWN(cx, &f->task[f->i], &f->fetch[f->i]);
        exec_join_init(&f->join[f->i], &f->task[f->i]);
    }
    TRY_JOIN(cx, &f->join[0], &f->join[1], &f->join[2]);
    ASYNC_END();
}

/* #[tokio::main] async fn main(): timeout(5 s, fetch_all()) */
ASYNC_FN(app, all_t all; timer_timeout_t limit; uint64_t start; int i;) {
    ASYNC_BEGIN(f);
    f->start = exec_now(exec_of(cx));
    f->all = ASYNC_NEW(all);
    timer_timeout_init(&f->limit, &f->all, 5 * TIMER_SEC);
    AWAIT_TRY(cx, &f->limit); /* -ETIMEDOUT, or a fetch's error */
    for (f->i = 0; f->i < 3; f->i++) printf("%s\n", f->all.fetch[f->i].out);
    printf("elapsed: %.0f ms\n", (double)(exec_now(exec_of(cx)) - f->start) / 1e6);
    ASYNC_END();
}

EXEC_MAIN(app)
