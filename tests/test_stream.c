/* test_stream.c - generators (streams written as async bodies with
 * STREAM_YIELD) and the stream combinators: then, merge, zip, chunks,
 * fold, buffer_unordered. Time is the paused clock's: every timestamp is
 * exact. Drops are checked by what is left registered (timers, channel
 * waiters) and by ASan / valgrind. */
#include "check.h"
#include "../exec.h"
#include "../sync.h"
#include <limits.h>

#include "stream_check.h"

/* Spawn a collector of s, let time run to at_ms, abort it there (inside
 * its AWAIT_NEXT, or wherever it is). */
static void collect_abort_at(collect_t *c, exec_task_t *t, sync_stream_t *s, uint64_t at_ms,
                             int (*read)(const void *)) {
    collect_init(c, s, -1, read);
    exec_task_init(t);
    if (exec_spawn(t, &ex, &c->fut)) abort();
    run_until(at_ms);
    exec_abort(t);
}

/* ---- generators ------------------------------------------------------- */

static void test_generator_yields_with_sleeps_between(void) {
    count_t g;
    collect_t c;
    int i;
    setup();
    count_init(&g, 5, 10, 0, 0);
    CHECK_EQ(collect(&c, &g.st, -1, 0), 0);
    CHECK_EQ(c.n, 5);
    for (i = 0; i < 5; i++) {
        CHECK_EQ(c.vals[i], i);
        CHECK_EQ(c.at[i], 10 * (i + 1)); /* each after its 10 ms sleep */
    }
    CHECK(c.ended);
    CHECK_EQ(c.end_err, 0);
    CHECK(sync_stream_ended(&g.st));
    CHECK(g.st.item == 0);
    /* after the end it stays at the end, without polling the body */
    CHECK_EQ(collect(&c, &g.st, -1, 0), 0);
    CHECK_EQ(c.n, 0);
    CHECK(c.ended);
    CHECK_EQ(count_drops, 0);
    CHECK_EQ(timers(), 0);
    exec_destroy(&ex);
}

/* A generator that awaits a channel: each value received, times 10. */
typedef struct {
    sync_stream_t st;
    sync_chan_t *ch;
    sync_chan_recv_t rx;
    int got, out;
} tens_t;

static coro_poll_t tens_poll(future_t *self, future_cx_t *cx) {
    tens_t *g = (tens_t *)self;
    ASYNC_BEGIN(g);
    for (;;) {
        sync_chan_recv_init(&g->rx, g->ch, &g->got);
        AWAIT(cx, &g->rx);
        if (future_err(&g->rx) == -EPIPE) break; /* closed: the end */
        g->out = g->got * 10;
        STREAM_YIELD(cx, &g->out);
    }
    ASYNC_END();
}

/* Sends 1..3, one every 5 ms, then closes. */
typedef struct {
    future_t fut;
    sync_chan_t *ch;
    int i;
    timer_sleep_t nap;
    sync_chan_send_t send;
} sender_t;

static coro_poll_t sender_poll(future_t *self, future_cx_t *cx) {
    sender_t *f = (sender_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 1; f->i <= 3; f->i++) {
        timer_sleep_init(&f->nap, 5 * TIMER_MS);
        AWAIT(cx, &f->nap);
        sync_chan_send_init(&f->send, f->ch, &f->i);
        AWAIT(cx, &f->send);
    }
    sync_chan_close(f->ch);
    ASYNC_END();
}

static void test_generator_awaits_a_channel(void) {
    int buf[2];
    sync_chan_t ch;
    tens_t g;
    sender_t s;
    exec_task_t ts;
    collect_t c;
    setup();
    sync_chan_init(&ch, buf, 2, sizeof(int));
    sync_stream_init(&g.st, tens_poll, 0);
    g.ch = &ch;
    future_init(&s.fut, sender_poll, 0);
    s.ch = &ch;
    exec_task_init(&ts);
    CHECK_EQ(exec_spawn(&ts, &ex, &s.fut), 0);
    CHECK_EQ(collect(&c, &g.st, -1, 0), 0);
    CHECK_EQ(c.n, 3);
    CHECK_EQ(c.vals[0], 10);
    CHECK_EQ(c.vals[1], 20);
    CHECK_EQ(c.vals[2], 30);
    CHECK_EQ(c.at[0], 5);
    CHECK_EQ(c.at[2], 15);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, 0);
    CHECK_EQ(exec_run(&ex), 0);
    exec_destroy(&ex);
}

/* Dropped after k items for every k (the body suspended at a yield, or
 * not started), and dropped while it sleeps (its awaited child). */
static void test_generator_dropped_at_every_suspension(void) {
    count_t g;
    collect_t c;
    exec_task_t t;
    int k;
    setup();
    for (k = 0; k <= 5; k++) { /* between items: future_drop */
        count_drops = 0;
        count_init(&g, 5, 10, 0, 0);
        CHECK_EQ(collect(&c, &g.st, k, 0), 0);
        CHECK_EQ(c.n, k);
        CHECK_EQ(timers(), 0);
        future_drop(&g.st.fut);
        CHECK(sync_stream_ended(&g.st));
        CHECK_EQ(future_err(&g.st.fut), -ECANCELED);
        CHECK_EQ(count_drops, 1);
        CHECK_EQ(collect(&c, &g.st, -1, 0), 0); /* stays at the end */
        CHECK(c.ended && c.n == 0);
        CHECK_EQ(c.end_err, -ECANCELED);
    }
    for (k = 0; k < 5; k++) { /* inside its sleep: the consumer aborted */
        count_drops = 0;
        count_init(&g, 5, 10, 0, 0);
        collect_abort_at(&c, &t, &g.st, now_ms() + 10 * (uint64_t)k + 5, 0);
        CHECK_EQ(c.n, k);
        CHECK_EQ(timers(), 0); /* the generator's sleep went with it */
        CHECK(sync_stream_ended(&g.st));
        CHECK_EQ(future_err(&g.st.fut), -ECANCELED);
        CHECK_EQ(count_drops, 1);
        CHECK(g.nap.fut.co.rc == -ECANCELED);
    }
    CHECK_EQ(exec_run(&ex), 0);
    exec_destroy(&ex);
}

/* The item is handed out on the budget, as iter's. */
static void nop_wake(future_waker_t *w) { (void)w; }

static void test_generator_yield_spends_the_budget(void) {
    count_t g;
    future_waker_t nop = {nop_wake};
    future_cx_t cx;
    int budget = 0;
    count_init(&g, 3, 0, 7, 0);
    future_cx_init(&cx, &nop);
    cx.budget = &budget;
    CHECK_EQ(sync_stream_poll_next(&g.st, &cx), CORO_PENDING);
    CHECK(g.st.item == 0);
    CHECK(strstr(described(&g.st.fut), "stream_check.h:") != 0); /* where it waits */
    budget = 1;
    CHECK_EQ(sync_stream_poll_next(&g.st, &cx), CORO_READY);
    CHECK_EQ(*(const int *)g.st.item, 7);
    CHECK_EQ(budget, 0);
    CHECK_EQ(sync_stream_poll_next(&g.st, &cx), CORO_PENDING); /* spent */
    budget = 10;
    CHECK_EQ(sync_stream_poll_next(&g.st, &cx), CORO_READY);
    CHECK_EQ(*(const int *)g.st.item, 8);
    CHECK_EQ(sync_stream_poll_next(&g.st, &cx), CORO_READY);
    CHECK_EQ(*(const int *)g.st.item, 9);
    CHECK_EQ(sync_stream_poll_next(&g.st, &cx), CORO_READY);
    CHECK(g.st.item == 0);
    CHECK(sync_stream_ended(&g.st));
}

/* ---- then -------------------------------------------------------------- */

/* A job: sleep ms, then out = id. */
typedef struct {
    future_t fut;
    int id, out;
    uint64_t ms;
    timer_sleep_t nap;
} job_t;

static int job_drops;
static void job_drop(future_t *self) {
    (void)self;
    job_drops++;
}

static coro_poll_t job_poll(future_t *self, future_cx_t *cx) {
    job_t *j = (job_t *)self;
    ASYNC_BEGIN(j);
    timer_sleep_init(&j->nap, j->ms * TIMER_MS);
    AWAIT(cx, &j->nap);
    j->out = j->id;
    ASYNC_END();
}

static void job_init(job_t *j, int id, uint64_t ms) {
    future_init(&j->fut, job_poll, job_drop);
    j->id = id;
    j->out = -1;
    j->ms = ms;
}

static int job_out(const void *item) { return ((const job_t *)item)->out; }

/* then's callback: a job sleeping item ms, giving 2 * item. */
static future_t *double_later(const void *item, void *ctx) {
    job_t *j = (job_t *)ctx;
    int v = *(const int *)item;
    job_init(j, 2 * v, (uint64_t)v);
    return &j->fut;
}

static future_t *no_future(const void *item, void *ctx) {
    (void)item;
    (void)ctx;
    return 0;
}

static void test_then_awaits_each_items_future(void) {
    static const int xs[4] = {1, 2, 3, 4};
    sync_iter_t it;
    sync_then_t th;
    job_t job;
    collect_t c;
    setup();
    sync_iter_init(&it, xs, 4, sizeof(int));
    sync_then_init(&th, &it.st, double_later, &job);
    CHECK_EQ(collect(&c, &th.st, -1, job_out), 0);
    CHECK_EQ(c.n, 4);
    CHECK_EQ(c.vals[0], 2);
    CHECK_EQ(c.vals[3], 8);
    CHECK_EQ(c.at[0], 1); /* one after the other: 1, 1+2, 3+3, 6+4 */
    CHECK_EQ(c.at[1], 3);
    CHECK_EQ(c.at[2], 6);
    CHECK_EQ(c.at[3], 10);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, 0);
    /* a callback without a future: misuse, the stream ends with -EINVAL */
    sync_iter_init(&it, xs, 4, sizeof(int));
    sync_then_init(&th, &it.st, no_future, 0);
    CHECK_MISUSE(CHECK_EQ(collect(&c, &th.st, -1, 0), 0), "no future");
    CHECK(c.ended && c.n == 0);
    CHECK_EQ(c.end_err, -EINVAL);
    exec_destroy(&ex);
}

/* ---- merge ------------------------------------------------------------- */

static void test_merge_items_as_they_come(void) {
    count_t a, b;
    sync_merge_t m;
    collect_t c;
    setup();
    count_init(&a, 3, 10, 0, 0);   /* 0, 1, 2 at 10, 20, 30 */
    count_init(&b, 2, 15, 100, 0); /* 100, 101 at 15, 30 */
    sync_merge_init(&m, &a.st, &b.st);
    CHECK_EQ(collect(&c, &m.st, -1, 0), 0);
    CHECK_EQ(c.n, 5);
    CHECK_EQ(c.vals[0], 0);
    CHECK_EQ(c.at[0], 10);
    CHECK_EQ(c.vals[1], 100);
    CHECK_EQ(c.at[1], 15);
    CHECK_EQ(c.vals[2], 1);
    CHECK_EQ(c.at[2], 20);
    CHECK_EQ(c.vals[3] + c.vals[4], 2 + 101); /* both at 30 */
    CHECK_EQ(c.at[3], 30);
    CHECK_EQ(c.at[4], 30);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, 0);
    CHECK(m.st.fut.child == 0);
    exec_destroy(&ex);
}

static void test_merge_is_fair(void) {
    static const int xs[3] = {1, 2, 3}, ys[4] = {10, 20, 30, 40};
    static const int want[7] = {1, 10, 2, 20, 3, 30, 40};
    sync_iter_t a, b;
    sync_merge_t m;
    collect_t c;
    int i;
    setup();
    sync_iter_init(&a, xs, 3, sizeof(int));
    sync_iter_init(&b, ys, 4, sizeof(int));
    sync_merge_init(&m, &a.st, &b.st);
    CHECK_EQ(collect(&c, &m.st, -1, 0), 0);
    CHECK_EQ(c.n, 7);
    for (i = 0; i < 7; i++) CHECK_EQ(c.vals[i], want[i]); /* turns, then the rest */
    CHECK(c.ended);
    exec_destroy(&ex);
}

/* ---- zip --------------------------------------------------------------- */

static int pair_of(const void *item) {
    const sync_pair_t *p = (const sync_pair_t *)item;
    return *(const int *)p->first * 100 + *(const int *)p->second;
}

static void test_zip_ends_at_the_shorter(void) {
    static const int xs[5] = {1, 2, 3, 4, 5}, ys[3] = {7, 8, 9};
    sync_iter_t a, b;
    count_t g;
    sync_zip_t z;
    collect_t c;
    setup();
    sync_iter_init(&a, xs, 5, sizeof(int));
    sync_iter_init(&b, ys, 3, sizeof(int));
    sync_zip_init(&z, &b.st, &a.st);
    CHECK_EQ(collect(&c, &z.st, -1, pair_of), 0);
    CHECK_EQ(c.n, 3);
    CHECK_EQ(c.vals[0], 701);
    CHECK_EQ(c.vals[2], 903);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, 0);
    CHECK_EQ(a.i, 3); /* the shorter came first: the longer was not asked again */
    /* the longer first: its 4th item was taken before the end was seen */
    sync_iter_init(&a, xs, 5, sizeof(int));
    sync_iter_init(&b, ys, 3, sizeof(int));
    sync_zip_init(&z, &a.st, &b.st);
    CHECK_EQ(collect(&c, &z.st, -1, pair_of), 0);
    CHECK_EQ(c.n, 3);
    CHECK_EQ(c.vals[1], 208);
    CHECK(c.ended);
    CHECK_EQ(a.i, 4);
    /* the other waiting when one ends: it is dropped (its sleep too) */
    sync_iter_init(&b, ys, 2, sizeof(int));
    count_init(&g, 5, 10, 0, 0);
    count_drops = 0;
    sync_zip_init(&z, &g.st, &b.st);
    CHECK_EQ(collect(&c, &z.st, -1, pair_of), 0);
    CHECK_EQ(c.n, 2);
    CHECK_EQ(c.vals[1], 108);
    CHECK_EQ(c.at[1], 20);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, 0);
    CHECK_EQ(count_drops, 1); /* g was waiting for its 3rd item: dropped */
    CHECK_EQ(future_err(&g.st.fut), -ECANCELED);
    CHECK_EQ(timers(), 0);
    sync_iter_init(&b, ys, 2, sizeof(int));
    count_init(&g, 5, 10, 0, 0);
    sync_zip_init(&z, &b.st, &g.st);
    b.i = 0;
    CHECK_EQ(collect(&c, &z.st, 1, pair_of), 0); /* (7, 0) */
    CHECK_EQ(c.vals[0], 700);
    exec_destroy(&ex);
}

/* ---- chunks ------------------------------------------------------------ */

static int chunk_digits(const void *item) {
    const sync_chunk_t *ch = (const sync_chunk_t *)item;
    int v = 0;
    size_t i;
    for (i = 0; i < ch->len; i++) v = v * 10 + ((const int *)ch->data)[i];
    return v;
}

static void test_chunks_last_one_short(void) {
    static const int xs[5] = {1, 2, 3, 4, 5};
    sync_iter_t it;
    sync_chunks_t ch;
    int buf[2];
    count_t g;
    collect_t c;
    setup();
    sync_iter_init(&it, xs, 5, sizeof(int));
    sync_chunks_init(&ch, &it.st, buf, 2, sizeof(int));
    CHECK_EQ(collect(&c, &ch.st, -1, chunk_digits), 0);
    CHECK_EQ(c.n, 3);
    CHECK_EQ(c.vals[0], 12);
    CHECK_EQ(c.vals[1], 34);
    CHECK_EQ(c.vals[2], 5);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, 0);
    /* an exact multiple: no empty chunk at the end */
    sync_iter_init(&it, xs, 4, sizeof(int));
    sync_chunks_init(&ch, &it.st, buf, 2, sizeof(int));
    CHECK_EQ(collect(&c, &ch.st, -1, chunk_digits), 0);
    CHECK_EQ(c.n, 2);
    CHECK_EQ(c.vals[1], 34);
    CHECK(c.ended);
    /* over a generator that waits: each chunk when its last item came */
    count_init(&g, 5, 10, 1, 0);
    sync_chunks_init(&ch, &g.st, buf, 2, sizeof(int));
    CHECK_EQ(collect(&c, &ch.st, -1, chunk_digits), 0);
    CHECK_EQ(c.n, 3);
    CHECK_EQ(c.at[0], 20);
    CHECK_EQ(c.at[2], 50);
    CHECK_EQ(c.vals[2], 5);
    /* chunks of 0: misuse, ended with -EINVAL */
    sync_iter_init(&it, xs, 4, sizeof(int));
    CHECK_MISUSE(sync_chunks_init(&ch, &it.st, buf, 0, sizeof(int)), "chunks of 0");
    CHECK_EQ(collect(&c, &ch.st, -1, 0), 0);
    CHECK(c.ended && c.n == 0);
    CHECK_EQ(c.end_err, -EINVAL);
    exec_destroy(&ex);
}

/* ---- fold -------------------------------------------------------------- */

static void add_int(void *acc, const void *item, void *ctx) {
    *(int *)acc += *(const int *)item;
    ++*(int *)ctx;
}

/* A generator that fails after two items. */
typedef struct {
    sync_stream_t st;
    int v;
} failing_t;

static coro_poll_t failing_poll(future_t *self, future_cx_t *cx) {
    failing_t *g = (failing_t *)self;
    ASYNC_BEGIN(g);
    g->v = 5;
    STREAM_YIELD(cx, &g->v);
    g->v = 6;
    STREAM_YIELD(cx, &g->v);
    ASYNC_RETURN(-EIO);
    ASYNC_END();
}

static void test_fold_reduces_to_one_value(void) {
    static const int xs[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    sync_iter_t it;
    sync_fold_t f;
    count_t g;
    failing_t fl;
    int sum = 0, calls = 0;
    setup();
    sync_iter_init(&it, xs, 10, sizeof(int));
    sync_fold_init(&f, &it.st, add_int, &sum, &calls);
    CHECK_EQ(exec_block_on(&ex, &f), 0);
    CHECK_EQ(sum, 55);
    CHECK_EQ(calls, 10);
    /* over a generator that waits: ready at its end */
    sum = 100;
    count_init(&g, 4, 10, 1, 0);
    sync_fold_init(&f, &g.st, add_int, &sum, &calls);
    CHECK_EQ(exec_block_on(&ex, &f), 0);
    CHECK_EQ(sum, 110);
    CHECK_EQ(now_ms(), 40);
    /* the stream's error is the fold's; what was folded stays */
    sum = 0;
    sync_stream_init(&fl.st, failing_poll, 0);
    sync_fold_init(&f, &fl.st, add_int, &sum, &calls);
    CHECK_EQ(exec_block_on(&ex, &f), -EIO);
    CHECK_EQ(sum, 11);
    exec_destroy(&ex);
}

/* ---- buffer_unordered -------------------------------------------------- */

static const uint64_t job_ms[4] = {30, 10, 20, 5};

static void jobs_init(job_t *jobs) {
    int i;
    for (i = 0; i < 4; i++) job_init(&jobs[i], i, job_ms[i]);
}

/* Run the 4 jobs n at a time; the ids in completion order, and times. */
static void run_buffered(collect_t *c, size_t n) {
    job_t jobs[4];
    future_t *slots[8];
    sync_iter_t it;
    sync_buffer_unordered_t b;
    jobs_init(jobs);
    sync_iter_init(&it, jobs, 4, sizeof jobs[0]);
    sync_buffer_unordered_init(&b, &it.st, slots, n);
    t0 = exec_now(&ex);
    if (collect(c, &b.st, -1, job_out)) abort();
}

static void test_buffer_unordered(void) {
    collect_t c;
    int i;
    setup();
    run_buffered(&c, 1); /* one at a time: submission order */
    CHECK_EQ(c.n, 4);
    for (i = 0; i < 4; i++) CHECK_EQ(c.vals[i], i);
    CHECK_EQ(c.at[3], 65);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, 0);
    run_buffered(&c, 3); /* 0, 1, 2 start; 3 takes 1's place at 10 */
    CHECK_EQ(c.n, 4);
    CHECK_EQ(c.vals[0], 1);
    CHECK_EQ(c.at[0], 10);
    CHECK_EQ(c.vals[1], 3);
    CHECK_EQ(c.at[1], 15);
    CHECK_EQ(c.vals[2], 2);
    CHECK_EQ(c.at[2], 20);
    CHECK_EQ(c.vals[3], 0);
    CHECK_EQ(c.at[3], 30);
    CHECK(c.ended);
    run_buffered(&c, 8); /* more places than jobs: all at once */
    CHECK_EQ(c.n, 4);
    CHECK_EQ(c.vals[0], 3);
    CHECK_EQ(c.at[0], 5);
    CHECK_EQ(c.vals[1], 1);
    CHECK_EQ(c.vals[2], 2);
    CHECK_EQ(c.vals[3], 0);
    CHECK_EQ(c.at[3], 30);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, 0);
    CHECK_EQ(timers(), 0);
    exec_destroy(&ex);
}

static void test_buffer_unordered_zero_is_einval(void) {
    job_t jobs[4];
    future_t *slots[1];
    sync_iter_t it;
    sync_buffer_unordered_t b;
    collect_t c;
    setup();
    jobs_init(jobs);
    sync_iter_init(&it, jobs, 4, sizeof jobs[0]);
    CHECK_MISUSE(sync_buffer_unordered_init(&b, &it.st, slots, 0), "n == 0");
    CHECK_EQ(collect(&c, &b.st, -1, job_out), 0); /* not a hang */
    CHECK(c.ended && c.n == 0);
    CHECK_EQ(c.end_err, -EINVAL);
    CHECK_EQ(it.i, 0);
    exec_destroy(&ex);
}

/* ---- every combinator dropped mid-stream ------------------------------- */

/* What the drop tests build: a combinator over generators that sleep. */
typedef struct {
    count_t a, b;
    sync_iter_t it;
    job_t jobs[4], job;
    future_t *slots[4];
    int buf[2], sum, calls;
    sync_then_t th;
    sync_merge_t m;
    sync_zip_t z;
    sync_chunks_t ch;
    sync_buffer_unordered_t bu;
    sync_fold_t f;
    sync_map_t map;
    sync_filter_t filt;
    sync_take_t take;
} rig_t;

static void sq(const void *in, void *out, void *arg) {
    (void)arg;
    *(int *)out = *(const int *)in * *(const int *)in;
}
static int even(const void *item, void *arg) {
    (void)arg;
    return *(const int *)item % 2 == 0;
}

enum { THEN, MERGE, ZIP, CHUNKS, BUFFER, MAP, FILTER, TAKE, KINDS };

/* Build combinator `which`; return its stream. Items come at 10, 20, ... */
static sync_stream_t *rig(rig_t *r, int which) {
    static const int ms[4] = {10, 10, 10, 10};
    count_drops = job_drops = 0;
    count_init(&r->a, 6, 10, 0, 0);
    count_init(&r->b, 6, 15, 100, 0);
    switch (which) {
    case THEN:
        sync_iter_init(&r->it, ms, 4, sizeof(int));
        sync_then_init(&r->th, &r->it.st, double_later, &r->job);
        return &r->th.st;
    case MERGE:
        sync_merge_init(&r->m, &r->a.st, &r->b.st);
        return &r->m.st;
    case ZIP:
        sync_zip_init(&r->z, &r->a.st, &r->b.st);
        return &r->z.st;
    case CHUNKS:
        sync_chunks_init(&r->ch, &r->a.st, r->buf, 2, sizeof(int));
        return &r->ch.st;
    case BUFFER:
        jobs_init(r->jobs);
        sync_iter_init(&r->it, r->jobs, 4, sizeof r->jobs[0]);
        sync_buffer_unordered_init(&r->bu, &r->it.st, r->slots, 3);
        return &r->bu.st;
    case MAP:
        sync_map_init(&r->map, &r->a.st, sq, 0, &r->sum);
        return &r->map.st;
    case FILTER:
        sync_filter_init(&r->filt, &r->a.st, even, 0);
        return &r->filt.st;
    default:
        sync_take_init(&r->take, &r->a.st, 4);
        return &r->take.st;
    }
}

static void test_every_combinator_dropped_between_items(void) {
    rig_t r;
    collect_t c;
    int which;
    setup();
    for (which = 0; which < KINDS; which++) {
        sync_stream_t *s = rig(&r, which);
        CHECK_EQ(collect(&c, s, 1, 0), 0);
        CHECK_EQ(c.n, 1);
        future_drop(s);
        CHECK(sync_stream_ended(s));
        CHECK_EQ(timers(), 0); /* merge's other input, the jobs in flight... */
        if (which == BUFFER) CHECK_EQ(job_drops, 2);
        if (which == MERGE) CHECK_EQ(count_drops, 1); /* b was waiting */
        if (which == MERGE) CHECK(sync_stream_ended(&r.b.st));
        CHECK_EQ(collect(&c, s, -1, 0), 0);
        CHECK(c.ended && c.n == 0);
        CHECK_EQ(c.end_err, -ECANCELED);
    }
    exec_destroy(&ex);
}

static void test_every_combinator_dropped_while_it_waits(void) {
    rig_t r;
    collect_t c;
    exec_task_t t;
    int which;
    setup();
    for (which = 0; which < KINDS; which++) {
        sync_stream_t *s = rig(&r, which);
        collect_abort_at(&c, &t, s, now_ms() + 12, 0); /* one item in, or none */
        CHECK_EQ(timers(), 0);
        CHECK(sync_stream_ended(s));
        CHECK_EQ(future_err(s), -ECANCELED);
        /* the inputs that waited went with it; zip's first had given its
         * half of the pair already: it waits for nothing */
        if (which != THEN && which != BUFFER && which != ZIP) CHECK(sync_stream_ended(&r.a.st));
        if (which == ZIP) CHECK(!sync_stream_ended(&r.a.st));
        if (which == MERGE || which == ZIP) CHECK(sync_stream_ended(&r.b.st));
        if (which == BUFFER) CHECK_EQ(job_drops, 3);
        if (which == THEN) CHECK_EQ(job_drops, 1);
    }
    /* fold, dropped while it waits: the stream goes with it */
    rig(&r, MAP);
    r.sum = 0;
    sync_fold_init(&r.f, &r.a.st, add_int, &r.sum, &r.calls);
    exec_task_init(&t);
    CHECK_EQ(exec_spawn(&t, &ex, &r.f), 0);
    run_until(now_ms() + 25);
    CHECK_EQ(r.sum, 1); /* 0 + 1 */
    CHECK_EQ(strcmp(described(&r.f), "stream fold (2 items so far)"), 0);
    exec_abort(&t);
    CHECK_EQ(timers(), 0);
    CHECK_EQ(count_drops, 1);
    CHECK(sync_stream_ended(&r.a.st));
    exec_destroy(&ex);
}

/* A chan stream under a merge: dropping the merge unqueues its receiver. */
static void test_merge_drop_unqueues_a_channel_receiver(void) {
    int buf[2], slot;
    sync_chan_t ch;
    sync_chan_stream_t cs;
    count_t g;
    sync_merge_t m;
    collect_t c;
    setup();
    sync_chan_init(&ch, buf, 2, sizeof(int));
    sync_chan_stream_init(&cs, &ch, &slot);
    count_init(&g, 3, 10, 0, 0);
    sync_merge_init(&m, &cs.st, &g.st);
    CHECK_EQ(collect(&c, &m.st, 1, 0), 0);
    CHECK(ch.recvq.head != 0); /* the chan stream still waits, under the merge */
    CHECK(m.st.fut.child == &cs.st.fut);
    future_drop(&m.st.fut);
    CHECK(ch.recvq.head == 0);
    CHECK_EQ(timers(), 0);
    exec_destroy(&ex);
}

/* ---- descriptions ------------------------------------------------------ */

static void test_combinator_waits_describe_themselves(void) {
    rig_t r;
    collect_t c;
    exec_task_t t;
    setup();
    collect_init(&c, rig(&r, BUFFER), -1, 0);
    exec_task_init(&t);
    CHECK_EQ(exec_spawn(&t, &ex, &c.fut), 0);
    run_until(now_ms() + 1);
    CHECK_EQ(strcmp(described(&r.bu), "stream buffer_unordered (3 of 3 in flight)"), 0);
    exec_abort(&t);
    exec_task_init(&t);
    collect_init(&c, rig(&r, MERGE), -1, 0);
    CHECK_EQ(exec_spawn(&t, &ex, &c.fut), 0);
    run_until(now_ms() + 1);
    CHECK_EQ(strcmp(described(&r.m), "stream merge (2 open)"), 0);
    exec_abort(&t);
    exec_task_init(&t);
    collect_init(&c, rig(&r, ZIP), -1, 0);
    CHECK_EQ(exec_spawn(&t, &ex, &c.fut), 0);
    run_until(now_ms() + 12);
    CHECK_EQ(strcmp(described(&r.z), "stream zip (1 of 2 here)"), 0);
    exec_abort(&t);
    exec_task_init(&t);
    collect_init(&c, rig(&r, CHUNKS), -1, 0);
    CHECK_EQ(exec_spawn(&t, &ex, &c.fut), 0);
    run_until(now_ms() + 12);
    CHECK_EQ(strcmp(described(&r.ch), "stream chunks (1 of 2 gathered)"), 0);
    exec_abort(&t);
    exec_task_init(&t);
    collect_init(&c, rig(&r, THEN), -1, 0);
    CHECK_EQ(exec_spawn(&t, &ex, &c.fut), 0);
    run_until(now_ms() + 5);
    CHECK_EQ(strcmp(described(&r.th), "stream then (running an item's future)"), 0);
    exec_abort(&t);
    CHECK_EQ(timers(), 0);
    exec_destroy(&ex);
}

int main(void) {
    RUN(test_generator_yields_with_sleeps_between);
    RUN(test_generator_awaits_a_channel);
    RUN(test_generator_dropped_at_every_suspension);
    RUN(test_generator_yield_spends_the_budget);
    RUN(test_then_awaits_each_items_future);
    RUN(test_merge_items_as_they_come);
    RUN(test_merge_is_fair);
    RUN(test_zip_ends_at_the_shorter);
    RUN(test_chunks_last_one_short);
    RUN(test_fold_reduces_to_one_value);
    RUN(test_buffer_unordered);
    RUN(test_buffer_unordered_zero_is_einval);
    RUN(test_every_combinator_dropped_between_items);
    RUN(test_every_combinator_dropped_while_it_waits);
    RUN(test_merge_drop_unqueues_a_channel_receiver);
    RUN(test_combinator_waits_describe_themselves);
    return check_summary();
}
