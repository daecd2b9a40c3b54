/* stream_check.h - what test_stream.c and test_cover_stream.c share: an
 * executor on the paused clock, a generator (count_t: v = base + i for i
 * in 0..n, a sleep of period before each, then the end with error err), a
 * consumer (collect_t: up to max items with the time each came), and
 * run_until (let the paused clock run, spawned tasks with it). Included
 * once, after check.h, exec.h and sync.h. */
#ifndef STREAM_CHECK_H
#define STREAM_CHECK_H

static exec_t ex;
static uint64_t t0;

static void setup(void) {
    if (exec_init(&ex)) abort();
    exec_clock_pause(&ex);
    t0 = exec_now(&ex);
}

static uint64_t now_ms(void) { return (exec_now(&ex) - t0) / TIMER_MS; }
static size_t timers(void) { return timer_wheel_count(&ex.timers); }

static const char *described(const void *f) {
    static char buf[160];
    future_fmt_t o = {0, 0, 0, 0, 0};
    o.buf = buf;
    o.cap = sizeof buf;
    buf[0] = 0;
    future_describe((const future_t *)f, &o);
    return buf;
}

/* ---- a generator: v = base + i for i in 0..n, a sleep of period before
 *      each, then the end with error `err` ---------------------------------- */

typedef struct {
    sync_stream_t st;
    int i, n, base, v, err;
    uint64_t period;
    timer_sleep_t nap;
} count_t;

static int count_drops;
static void count_drop(future_t *self) {
    (void)self;
    count_drops++;
}

static coro_poll_t count_poll(future_t *self, future_cx_t *cx) {
    count_t *g = (count_t *)self;
    ASYNC_BEGIN(g);
    for (g->i = 0; g->i < g->n; g->i++) {
        if (g->period) {
            timer_sleep_init(&g->nap, g->period);
            AWAIT(cx, &g->nap);
        }
        g->v = g->base + g->i;
        STREAM_YIELD(cx, &g->v);
    }
    ASYNC_RETURN(g->err);
    ASYNC_END();
}

static void count_init(count_t *g, int n, uint64_t period_ms, int base, int err) {
    sync_stream_init(&g->st, count_poll, count_drop);
    g->i = g->v = 0;
    g->n = n;
    g->base = base;
    g->err = err;
    g->period = period_ms * TIMER_MS;
}

/* ---- a consumer: up to max items, each read by read() (an int by
 *      default), with the time it came ------------------------------------ */

typedef struct {
    future_t fut;
    sync_stream_t *s;
    int max, n, ended, end_err;
    int (*read)(const void *item);
    const void *p;
    int vals[64];
    uint64_t at[64];
} collect_t;

static coro_poll_t collect_poll(future_t *self, future_cx_t *cx) {
    collect_t *c = (collect_t *)self;
    ASYNC_BEGIN(c);
    while (c->n < c->max) {
        AWAIT_NEXT(cx, c->s, c->p);
        if (!c->p) {
            c->ended = 1;
            c->end_err = future_err(&c->s->fut);
            break;
        }
        c->vals[c->n] = c->read ? c->read(c->p) : *(const int *)c->p;
        c->at[c->n++] = now_ms();
    }
    ASYNC_END();
}

static void collect_init(collect_t *c, sync_stream_t *s, int max, int (*read)(const void *)) {
    memset(c, 0, sizeof *c);
    future_init(&c->fut, collect_poll, 0);
    c->s = s;
    c->max = max < 0 ? 64 : max;
    c->read = read;
}

static int collect(collect_t *c, sync_stream_t *s, int max, int (*read)(const void *)) {
    collect_init(c, s, max, read);
    return exec_block_on(&ex, &c->fut);
}

/* Let the paused clock run to at_ms (the spawned tasks run meanwhile). */
typedef struct {
    future_t fut;
    timer_sleep_t nap;
    uint64_t ms;
} nap_t;

static coro_poll_t nap_poll(future_t *self, future_cx_t *cx) {
    nap_t *f = (nap_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    ASYNC_END();
}

static void run_until(uint64_t ms) {
    nap_t n;
    future_init(&n.fut, nap_poll, 0);
    n.ms = ms - now_ms();
    if (exec_block_on(&ex, &n.fut)) abort();
}

/* Collect (up to max) items of s as the main future: see collect above. */
#endif /* STREAM_CHECK_H */
