/* Every other function and macro that takes a future, given a plain
 * struct: each marked line must be an error of its own.
 * expect-gcc: has no member named 'fut'
 * expect-clang: no member named 'fut' in 'struct plain'
 */
#include "../../exec.h"

struct plain {
    int x;
};

typedef struct {
    future_t fut;
    struct plain p;
    future_ready_t a;
    exec_task_t t;
    int which;
} frame_t;

static coro_poll_t frame_poll(future_t *self, future_cx_t *cx) {
    frame_t *f = (frame_t *)self;
    ASYNC_BEGIN(f);
    future_ready_init(&f->a, 0);
    AWAIT_TRY(cx, &f->p); /* error */
    TRY_JOIN(cx, &f->a, &f->p); /* error */
    SELECT_BIASED(cx, f->which, &f->a, &f->p); /* error */
    if (SPAWN(cx, &f->t, &f->p)) ASYNC_RETURN(-1); /* error */
    ASYNC_END();
}

static void emit(void *ctx, int depth, const future_t *fut) {
    (void)ctx;
    (void)depth;
    (void)fut;
}

static void owned_drop(future_owned_t *n) { (void)n; }

static void done(future_t *fut, int err, void *arg) {
    (void)fut;
    (void)err;
    (void)arg;
}

int main(void) {
    exec_t ex;
    exec_task_t t;
    exec_scope_t s;
    future_join_all_t j;
    future_join_slot_t slots[1];
    future_cx_t cx;
    future_owned_t node;
    future_fmt_t out = {0, 0, 0, 0, 0};
    struct plain plain = {0};
    frame_t f;
    future_init(&f.fut, frame_poll, 0);
    future_cx_init(&cx, 0);
    if (exec_init(&ex)) return 1;
    future_join_all_init(&j, slots, 1, 0);
    exec_scope_init(&s, &ex);
    future_init(&plain, frame_poll, 0); /* error */
    future_own(&plain, &node, owned_drop); /* error */
    future_describe(&plain, &out); /* error */
    future_trace(&plain, 0, emit, 0); /* error */
    (void)future_err(&plain); /* error */
    (void)future_done(&plain); /* error */
    (void)future_poll(&plain, &cx); /* error */
    future_drop(&plain); /* error */
    (void)future_join_all_add(&j, &plain); /* error */
    (void)exec_spawn_detached(&plain, &ex, done, 0); /* error */
    (void)exec_block_on(&ex, &plain); /* error */
    (void)exec_scope_spawn(&s, &t, &plain); /* error */
    exec_scope_release(&s);
    exec_destroy(&ex);
    return 0;
}
