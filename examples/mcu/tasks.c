/* tasks.c - the executor on a Cortex-M (exec.h's bare backend: no OS, no
 * threads, no stdio): the program, spawn + join + abort with two
 * tasks sleeping on the timer list. Task a sleeps 10 ms, task b a second.
 * The main future awaits a through its join handle, then aborts b and
 * sees b's join handle finish with FUTURE_ECANCELED (tokio's abort +
 * JoinError::Cancelled). The clock is the SysTick count, started 5 ticks
 * before the 32-bit wrap (the executor extends it to 64-bit ns across the
 * wrap, or with EXEC_TICK_TIME counts the wrapping ticks as they are);
 * between wakes the core sleeps in WFI. Everything lives in static
 * storage, so the size table's bss is the program's whole RAM but the
 * stack. (JOIN of several handles: join.c and the host's examples.)
 * Expected output:
 *
 *     a woke at 10 ms
 *     b cancelled at 10 ms
 *     done at 10 ms
 */
#include "bare.h"

/* "what at N ms\n", N the executor's time. */
static void say_at(const char *who, const char *what, future_cx_t *cx) {
    board_puts(who);
    board_puts(what);
    board_putu(board_ms(exec_of(cx)));
    board_puts(" ms\n");
}

/* async fn sleeper(name, ms): sleep, then say so */
ASYNC_FN(sleeper, const char *name; uint32_t ms; timer_sleep_t nap;) {
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * BOARD_MS);
    AWAIT(cx, &f->nap);
    say_at(f->name, " woke at ", cx);
    ASYNC_END();
}

ASYNC_FN(app, sleeper_t a, b; exec_task_t ta, tb; exec_join_t ja, jb;) {
    ASYNC_BEGIN(f);
    f->a = ASYNC_NEW(sleeper, .name = "a", .ms = 10);
    f->b = ASYNC_NEW(sleeper, .name = "b", .ms = 1000);
    exec_spawn(&f->ta, exec_of(cx), &f->a); /* owned by this task's frame */
    exec_spawn(&f->tb, exec_of(cx), &f->b);
    exec_join_init(&f->ja, &f->ta);
    exec_join_init(&f->jb, &f->tb);
    AWAIT(cx, &f->ja);
    exec_abort(&f->tb);
    AWAIT(cx, &f->jb);
    if (future_err(&f->jb) == FUTURE_ECANCELED) say_at("b", " cancelled at ", cx);
    ASYNC_END();
}

int main(void) {
    static exec_t ex;
    static app_t app;
    int rc;
    board_start(0xFFFFFFFBu, 1000);
    rc = board_exec_init(&ex);
    if (rc) return 1;
    future_init(&app, app_poll, 0);
    rc = exec_block_on(&ex, &app);
    board_puts("done at ");
    board_putu(board_ms(&ex));
    board_puts(" ms\n");
    exec_destroy(&ex);
    return rc;
}
