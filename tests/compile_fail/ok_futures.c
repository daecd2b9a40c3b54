/* The control: every call the other snippets get wrong, with real
 * futures, given as &x (a frame with a `fut` member), as &x.fut, and as a
 * future_t *. It must compile warning-free and run to its end (exit 0). */
#include "../../exec.h"
#include "../../sync.h"

typedef struct {
    future_t fut;
    future_ready_t a, b;
    future_t *ptr; /* a bare future_t * works too */
    timer_sleep_t nap;
    timer_timeout_t to, to2;
    exec_task_t t, t2;
    future_ready_t k, k2;
    exec_join_t join;
    exec_scope_t scope;
    sync_mutex_t m;
    sync_mutex_lock_t lock; /* its `fut` comes from an anonymous union */
    int which;
} frame_t;

static coro_poll_t frame_poll(future_t *self, future_cx_t *cx) {
    frame_t *f = (frame_t *)self;
    ASYNC_BEGIN(f);
    future_ready_init(&f->a, 0);
    AWAIT(cx, &f->a);
    future_ready_init(&f->a, 0);
    AWAIT(cx, &f->a.fut);
    future_ready_init(&f->a, 0);
    f->ptr = &f->a.fut;
    AWAIT_TRY(cx, f->ptr);
    future_ready_init(&f->a, 0);
    future_ready_init(&f->b, 0);
    JOIN(cx, &f->a, &f->b.fut);
    future_ready_init(&f->a, 0);
    future_ready_init(&f->b, 0);
    TRY_JOIN(cx, &f->a.fut, &f->b);
    future_ready_init(&f->a, 0);
    future_ready_init(&f->b, 0);
    SELECT(cx, f->which, &f->a, &f->b.fut);
    future_ready_init(&f->a, 0);
    future_ready_init(&f->b, 0);
    SELECT_BIASED(cx, f->which, &f->a.fut, &f->b);
    timer_sleep_init(&f->nap, TIMER_MS);
    AWAIT(cx, &f->nap);
    future_ready_init(&f->a, 0);
    future_ready_init(&f->b, 0);
    timer_timeout_init(&f->to, &f->a, 5);
    timer_timeout_init(&f->to2, &f->b.fut, 5);
    JOIN(cx, &f->to, &f->to2.fut);
    future_ready_init(&f->k, 0);
    if (EXEC_SPAWN(cx, &f->t, &f->k)) ASYNC_RETURN(-1);
    exec_join_init(&f->join, &f->t);
    AWAIT(cx, &f->join.fut);
    future_ready_init(&f->k, 0);
    if (SPAWN(cx, &f->t, &f->k.fut)) ASYNC_RETURN(-1);
    exec_join_init(&f->join, &f->t);
    AWAIT(cx, &f->join);
    SCOPE_INIT(cx, &f->scope);
    future_ready_init(&f->k2, 0);
    if (exec_scope_spawn(&f->scope, &f->t2, &f->k2)) ASYNC_RETURN(-1);
    sync_mutex_init(&f->m);
    sync_mutex_lock_init(&f->lock, &f->m);
    AWAIT(cx, &f->lock);
    sync_mutex_unlock(&f->lock);
    ASYNC_END();
}

static int dones, emitted, owned_drops;
static void emit(void *ctx, int depth, const future_t *fut) {
    (void)ctx;
    (void)depth;
    (void)fut;
    emitted++;
}
static void owned_drop(future_owned_t *n) {
    (void)n;
    owned_drops++;
}
static void done(future_t *fut, int err, void *arg) {
    (void)fut;
    (void)arg;
    if (err == 0) dones++;
}

int main(void) {
    static exec_t ex;
    static exec_task_t t1, t2, t3, t4;
    static exec_scope_t s;
    static frame_t f;
    static future_ready_t x, y, z, w, d1, d2;
    future_join_all_t j;
    future_join_slot_t slots[2];
    future_cx_t cx;
    future_owned_t n1, n2;
    char buf[64];
    future_fmt_t out = {0, 0, 0, 0, 0};
    int rc = 0;
    if (exec_init(&ex)) return 1;
    exec_clock_pause(&ex);
    future_ready_init(&x, 0);
    future_ready_init(&y, 0);
    rc |= exec_spawn(&t1, &ex, &x);
    rc |= exec_spawn(&t2, &ex, &y.fut);
    future_ready_init(&d1, 0);
    future_ready_init(&d2, 0);
    rc |= exec_spawn_detached(&d1, &ex, done, 0);
    rc |= exec_spawn_detached(&d2.fut, &ex, done, 0);
    exec_scope_init(&s, &ex);
    future_ready_init(&z, 0);
    future_ready_init(&w, 0);
    rc |= exec_scope_spawn(&s, &t3, &z);
    rc |= exec_scope_spawn(&s, &t4, &w.fut);
    future_init(&f, frame_poll, 0);
    rc |= exec_block_on(&ex, &f);
    future_init(&f.fut, frame_poll, 0);
    rc |= exec_block_on(&ex, &f.fut);
    rc |= future_err(&f) | future_err(&f.fut);
    rc |= !future_done(&f) || !future_done(&f.fut);
    exec_scope_release(&s);

    future_cx_init(&cx, 0);
    future_ready_init(&x, 0);
    future_ready_init(&y, 0);
    future_join_all_init(&j, slots, 2, 0);
    rc |= future_join_all_add(&j, &x);
    rc |= future_join_all_add(&j, &y.fut);
    rc |= future_poll(&j, &cx) != CORO_READY;
    future_ready_init(&x, 0);
    future_ready_init(&y, 0);
    rc |= future_poll(&x.fut, &cx) != CORO_READY;
    future_own(&y, &n1, owned_drop);
    future_own(&y.fut, &n2, owned_drop);
    out.buf = buf;
    out.cap = sizeof buf;
    future_describe(&x, &out);
    future_describe(&x.fut, &out);
    future_trace(&x, 0, emit, 0);
    future_trace(&x.fut, 0, emit, 0);
    future_drop(&y);
    future_drop(&y.fut);
    rc |= owned_drops != 2 || emitted != 2;
    exec_destroy(&ex);
    return rc || dones != 2;
}
