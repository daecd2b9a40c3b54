/* test_cover_stream.c - the stream paths test_stream.c does not take:
 * then over an input that waits (and its description then), a then or an
 * interval polled again while it still waits (under a merge), a merge
 * whose first input ends (with an error) while the second is open, the
 * misuse of chunks and buffer_unordered without storage, buffer_unordered
 * over an input that waits (filled as items come, dropped with everything
 * in flight), a stream polled before its init, and a generator that owns
 * something when it ends. Time is the paused clock's: every timestamp is
 * exact. */
#include "check.h"
#include "../exec.h"
#include "../sync.h"

#include "stream_check.h"

/* Spawn a collector of every item of s. */
static void collect_spawn(collect_t *c, exec_task_t *t, sync_stream_t *s,
                          int (*read)(const void *)) {
    collect_init(c, s, -1, read);
    exec_task_init(t);
    if (exec_spawn(t, &ex, &c->fut)) abort();
}

/* ---- a job: sleep ms (0: ready at its first poll), then out = id ------- */

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
    if (j->ms) {
        timer_sleep_init(&j->nap, j->ms * TIMER_MS);
        AWAIT(cx, &j->nap);
    }
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

/* then's callback: item v gives a job out = 10 * v, ready at once for odd
 * v, after 3 ms for even v. */
static future_t *tens_job(const void *item, void *ctx) {
    job_t *j = (job_t *)ctx;
    int v = *(const int *)item;
    job_init(j, 10 * v, v % 2 ? 0 : 3);
    return &j->fut;
}

/* then's callback: a job of 25 ms, out = item. */
static future_t *slow_job(const void *item, void *ctx) {
    job_t *j = (job_t *)ctx;
    job_init(j, *(const int *)item, 25);
    return &j->fut;
}

/* ---- then ---------------------------------------------------------------- */

/* The input waits (a generator that sleeps): then waits for it, and says
 * so; an item's future ready at its first poll is handed on at once. */
static void test_then_waits_for_its_input(void) {
    count_t g;
    sync_then_t th;
    job_t job;
    collect_t c;
    exec_task_t t;
    setup();
    count_init(&g, 3, 10, 1, 0); /* 1, 2, 3 at 10, 20, 30 */
    sync_then_init(&th, &g.st, tens_job, &job);
    collect_spawn(&c, &t, &th.st, job_out);
    run_until(5);
    CHECK_EQ(c.n, 0);
    CHECK_EQ(strcmp(described(&th), "stream then (waiting for an item)"), 0);
    CHECK(th.st.fut.child == &g.st.fut); /* the input waits under it */
    run_until(22);
    CHECK_EQ(c.n, 1);
    CHECK_EQ(strcmp(described(&th), "stream then (running an item's future)"), 0);
    CHECK(th.st.fut.child == &job.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(c.n, 3);
    CHECK_EQ(c.vals[0], 10);
    CHECK_EQ(c.at[0], 10); /* odd: ready at once */
    CHECK_EQ(c.vals[1], 20);
    CHECK_EQ(c.at[1], 23); /* even: 3 ms later */
    CHECK_EQ(c.vals[2], 30);
    CHECK_EQ(c.at[2], 33); /* the input is lazy: its sleep began at 23 */
    CHECK(c.ended);
    CHECK_EQ(c.end_err, 0);
    CHECK_EQ(job_drops, 0);
    CHECK_EQ(timers(), 0);
    /* the input's error ends the then too */
    count_init(&g, 1, 10, 1, -EIO);
    sync_then_init(&th, &g.st, tens_job, &job);
    CHECK_EQ(collect(&c, &th.st, -1, job_out), 0);
    CHECK_EQ(c.n, 1);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, -EIO);
    exec_destroy(&ex);
}

/* Items of a merge of different streams: a job's out, -1 for an
 * interval's tick, or an int. */
static const void *tick_item, *job_item;
static int item_or_tick(const void *item) {
    if (item == tick_item) return -1;
    if (item == job_item) return job_out(item);
    return *(const int *)item;
}

/* A then whose item's future takes 25 ms, merged with a generator that
 * yields every 10 ms: after each of the generator's items, the merge
 * polls the then first (its turn) while its future still sleeps. */
static void test_then_polled_again_while_its_future_waits(void) {
    static const int xs[2] = {1, 2};
    sync_iter_t it;
    sync_then_t th;
    job_t job;
    count_t g;
    sync_merge_t m;
    collect_t c;
    setup();
    job_drops = 0;
    tick_item = 0;
    job_item = &job;
    sync_iter_init(&it, xs, 2, sizeof(int));
    sync_then_init(&th, &it.st, slow_job, &job);
    count_init(&g, 4, 10, 100, 0); /* 100..103 at 10, 20, 30, 40 */
    sync_merge_init(&m, &th.st, &g.st);
    CHECK_EQ(collect(&c, &m.st, -1, item_or_tick), 0);
    CHECK_EQ(c.n, 6);
    CHECK_EQ(c.vals[0], 100);
    CHECK_EQ(c.at[0], 10);
    CHECK_EQ(c.vals[1], 101);
    CHECK_EQ(c.at[1], 20);
    CHECK_EQ(c.vals[2], 1); /* the job of 1, at 25 */
    CHECK_EQ(c.at[2], 25);
    CHECK_EQ(c.vals[3], 102);
    CHECK_EQ(c.at[3], 30);
    CHECK_EQ(c.vals[4], 103);
    CHECK_EQ(c.at[4], 40);
    CHECK_EQ(c.vals[5], 2); /* the job of 2, at 50 */
    CHECK_EQ(c.at[5], 50);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, 0);
    CHECK_EQ(job_drops, 0);
    CHECK_EQ(timers(), 0);
    exec_destroy(&ex);
}

/* ---- interval ------------------------------------------------------------ */

/* An interval merged with a faster generator: the interval is polled again
 * between its ticks (it waits on), and ticks on time. */
static void test_interval_polled_again_between_ticks(void) {
    sync_interval_t iv;
    count_t g;
    sync_merge_t m;
    collect_t c;
    static const int want[7] = {-1, 100, 101, -1, 102, 103, -1};
    static const uint64_t at[7] = {0, 10, 20, 25, 30, 40, 50};
    int i;
    setup();
    sync_interval_init(&iv, 25 * TIMER_MS, TIMER_MISSED_BURST);
    tick_item = &iv.tick;
    job_item = 0;
    count_init(&g, 4, 10, 100, 0);
    sync_merge_init(&m, &iv.st, &g.st);
    CHECK_EQ(collect(&c, &m.st, 7, item_or_tick), 0);
    CHECK_EQ(c.n, 7);
    for (i = 0; i < 7; i++) {
        CHECK_EQ(c.vals[i], want[i]);
        CHECK_EQ(c.at[i], at[i]);
    }
    CHECK_EQ(iv.tick - t0, 50 * TIMER_MS); /* the item is the tick's time */
    CHECK(!c.ended);
    CHECK(sync_stream_ended(&g.st));
    CHECK(!sync_stream_ended(&iv.st)); /* it never ends: drop it */
    CHECK_EQ(strcmp(described(&m), "stream merge (1 open)"), 0);
    future_drop(&m.st.fut);
    /* it had just ticked: between items it waits for nothing, so the
     * merge's drop leaves it as it is (registered nowhere) */
    CHECK(!sync_stream_ended(&iv.st));
    CHECK_EQ(timers(), 0);
    future_drop(&iv.st.fut);
    CHECK_EQ(future_err(&iv.st.fut), -ECANCELED);
    exec_destroy(&ex);
}

/* ---- merge: one input ends before the other -------------------------------- */

/* Two items at once and the end with an error, merged with a generator
 * every 10 ms: the merge goes on with the second input, then ends with
 * the first one's error; in the other order the error is the second's; with
 * both failing, the first's wins. */
static void test_merge_first_input_fails_while_the_second_is_open(void) {
    count_t a, b;
    sync_merge_t m;
    collect_t c;
    setup();
    count_init(&a, 2, 0, 5, -EIO);    /* 5, 6 at once, then -EIO */
    count_init(&b, 3, 10, 100, 0);    /* 100..102 at 10, 20, 30 */
    sync_merge_init(&m, &a.st, &b.st);
    CHECK_EQ(collect(&c, &m.st, 3, 0), 0);
    CHECK_EQ(c.vals[0], 5);
    CHECK_EQ(c.vals[1], 6);
    CHECK_EQ(c.vals[2], 100);
    CHECK(sync_stream_ended(&a.st)); /* a ended at 0 ... */
    CHECK(!sync_stream_ended(&m.st)); /* ... and the merge went on */
    CHECK_EQ(strcmp(described(&m), "stream merge (1 open)"), 0);
    CHECK_EQ(collect(&c, &m.st, -1, 0), 0);
    CHECK_EQ(c.n, 2);
    CHECK_EQ(c.vals[1], 102);
    CHECK_EQ(c.at[1], 30);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, -EIO); /* the first input's error, kept until the end */
    /* the other order: the failing one second */
    t0 = exec_now(&ex);
    count_init(&a, 2, 0, 5, -EIO);
    count_init(&b, 3, 10, 100, 0);
    sync_merge_init(&m, &b.st, &a.st);
    CHECK_EQ(collect(&c, &m.st, -1, 0), 0);
    CHECK_EQ(c.n, 5);
    CHECK_EQ(c.vals[0] + c.vals[1], 11); /* a's two first, at 0 */
    CHECK_EQ(c.at[1], 0);
    CHECK_EQ(c.vals[4], 102);
    CHECK_EQ(c.at[4], 30);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, -EIO);
    /* both fail: the first one's error */
    count_init(&a, 1, 0, 5, -EIO);
    count_init(&b, 1, 10, 100, -EPERM);
    sync_merge_init(&m, &b.st, &a.st);
    CHECK_EQ(collect(&c, &m.st, -1, 0), 0);
    CHECK_EQ(c.n, 2);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, -EPERM);
    CHECK_EQ(count_drops, 0);
    CHECK_EQ(timers(), 0);
    exec_destroy(&ex);
}

/* ---- chunks and buffer_unordered without storage ----------------------- */

static void test_no_storage_is_einval(void) {
    static const int xs[3] = {1, 2, 3};
    sync_iter_t it;
    sync_chunks_t ch;
    sync_buffer_unordered_t b;
    collect_t c;
    setup();
    sync_iter_init(&it, xs, 3, sizeof(int));
    CHECK_MISUSE(sync_chunks_init(&ch, &it.st, 0, 2, sizeof(int)), "no buf");
    CHECK_EQ(collect(&c, &ch.st, -1, 0), 0);
    CHECK(c.ended && c.n == 0);
    CHECK_EQ(c.end_err, -EINVAL);
    CHECK_EQ(it.i, 0); /* the input was not touched */
    CHECK_MISUSE(sync_buffer_unordered_init(&b, &it.st, 0, 2), "no slots");
    CHECK_EQ(collect(&c, &b.st, -1, 0), 0);
    CHECK(c.ended && c.n == 0);
    CHECK_EQ(c.end_err, -EINVAL);
    CHECK_EQ(it.i, 0);
    exec_destroy(&ex);
}

/* A chunk gathered when the input fails is handed out, then the error. */
static int chunk_digits(const void *item) {
    const sync_chunk_t *ch = (const sync_chunk_t *)item;
    int v = 0;
    size_t i;
    for (i = 0; i < ch->len; i++) v = v * 10 + ((const int *)ch->data)[i];
    return v;
}

static void test_chunks_input_fails_mid_chunk(void) {
    count_t g;
    sync_chunks_t ch;
    int buf[2];
    collect_t c;
    setup();
    count_init(&g, 3, 10, 1, -EIO); /* 1, 2, 3, then -EIO */
    sync_chunks_init(&ch, &g.st, buf, 2, sizeof(int));
    CHECK_EQ(collect(&c, &ch.st, -1, chunk_digits), 0);
    CHECK_EQ(c.n, 2);
    CHECK_EQ(c.vals[0], 12);
    CHECK_EQ(c.vals[1], 3);
    CHECK_EQ(c.at[1], 30);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, -EIO);
    exec_destroy(&ex);
}

/* ---- buffer_unordered over an input that waits ------------------------- */

/* A generator of futures: &jobs[i] every 10 ms. */
typedef struct {
    sync_stream_t st;
    job_t *jobs;
    int i, n;
    timer_sleep_t nap;
} jobgen_t;

static coro_poll_t jobgen_poll(future_t *self, future_cx_t *cx) {
    jobgen_t *g = (jobgen_t *)self;
    ASYNC_BEGIN(g);
    for (g->i = 0; g->i < g->n; g->i++) {
        timer_sleep_init(&g->nap, 10 * TIMER_MS);
        AWAIT(cx, &g->nap);
        STREAM_YIELD(cx, &g->jobs[g->i]);
    }
    ASYNC_END();
}

static void jobgen_init(jobgen_t *g, job_t *jobs, int n) {
    static const uint64_t ms[3] = {25, 5, 5};
    int i;
    sync_stream_init(&g->st, jobgen_poll, count_drop);
    g->jobs = jobs;
    g->n = n;
    for (i = 0; i < n; i++) job_init(&jobs[i], i, ms[i]);
    count_drops = job_drops = 0;
}

/* Two places; the jobs take 25, 5 and 5 ms, and each comes 10 ms after
 * the input is asked for it (streams are lazy): job 0 comes at 10 and
 * runs while the input waits, job 1 comes at 20 and takes the second
 * place; the input is not asked again until job 1 ends at 25, so job 2
 * comes at 35, after job 0 ended, and ends at 40. */
static void test_buffer_unordered_input_waits(void) {
    job_t jobs[3];
    future_t *slots[2];
    jobgen_t g;
    sync_buffer_unordered_t b;
    collect_t c;
    exec_task_t t;
    setup();
    jobgen_init(&g, jobs, 3);
    sync_buffer_unordered_init(&b, &g.st, slots, 2);
    collect_spawn(&c, &t, &b.st, job_out);
    run_until(5); /* nothing in flight, the input waits */
    CHECK_EQ(strcmp(described(&b), "stream buffer_unordered (0 of 2 in flight)"), 0);
    CHECK(b.st.fut.child == &g.st.fut);
    run_until(15); /* job 0 runs, the input waits again: both children */
    CHECK_EQ(strcmp(described(&b), "stream buffer_unordered (1 of 2 in flight)"), 0);
    CHECK(b.st.fut.child == &jobs[0].fut);
    CHECK(jobs[0].fut.sibling == &g.st.fut);
    CHECK(g.st.fut.sibling == 0);
    run_until(22); /* both places taken: the input is not asked */
    CHECK(b.st.fut.child == &jobs[0].fut);
    CHECK(jobs[0].fut.sibling == &jobs[1].fut);
    CHECK(jobs[1].fut.sibling == 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(c.n, 3);
    CHECK_EQ(c.vals[0], 1);
    CHECK_EQ(c.at[0], 25);
    CHECK_EQ(c.vals[1], 0);
    CHECK_EQ(c.at[1], 35);
    CHECK_EQ(c.vals[2], 2);
    CHECK_EQ(c.at[2], 40);
    CHECK(c.ended);
    CHECK_EQ(c.end_err, 0);
    CHECK_EQ(job_drops, 0);
    CHECK_EQ(count_drops, 0);
    CHECK_EQ(timers(), 0);
    exec_destroy(&ex);
}

/* Dropped while a job runs and the input waits: both go with it; dropped
 * while only the input waits: it goes. */
static void test_buffer_unordered_dropped_with_its_input_waiting(void) {
    job_t jobs[3];
    future_t *slots[2];
    jobgen_t g;
    sync_buffer_unordered_t b;
    collect_t c;
    exec_task_t t;
    setup();
    jobgen_init(&g, jobs, 3);
    sync_buffer_unordered_init(&b, &g.st, slots, 2);
    collect_spawn(&c, &t, &b.st, job_out);
    run_until(15);
    CHECK_EQ(timers(), 2); /* job 0's sleep, the generator's */
    exec_abort(&t);
    CHECK_EQ(timers(), 0);
    CHECK_EQ(job_drops, 1);
    CHECK_EQ(count_drops, 1);
    CHECK(sync_stream_ended(&b.st));
    CHECK_EQ(future_err(&g.st.fut), -ECANCELED);
    CHECK_EQ(future_err(&jobs[0].fut), -ECANCELED);
    CHECK(!future_done(&jobs[1].fut)); /* not started: left as it was */
    jobgen_init(&g, jobs, 3);
    sync_buffer_unordered_init(&b, &g.st, slots, 2);
    collect_spawn(&c, &t, &b.st, job_out);
    run_until(now_ms() + 5);
    exec_abort(&t);
    CHECK_EQ(timers(), 0);
    CHECK_EQ(job_drops, 0);
    CHECK_EQ(count_drops, 1);
    CHECK_EQ(exec_run(&ex), 0);
    exec_destroy(&ex);
}

/* ---- the stream protocol's edges ------------------------------------------ */

static void nop_wake(future_waker_t *w) { (void)w; }

/* Polled before its init (a zeroed frame): misuse, and the end with
 * -EINVAL instead of a jump to address 0; after that, quietly the end. */
static void test_stream_polled_before_its_init(void) {
    sync_stream_t s;
    future_waker_t nop = {nop_wake};
    future_cx_t cx;
    int x = 1;
    memset(&s, 0, sizeof s);
    s.item = &x;
    future_cx_init(&cx, &nop);
    CHECK_MISUSE(CHECK_EQ(sync_stream_poll_next(&s, &cx), CORO_READY), "before its init");
    CHECK(s.item == 0);
    CHECK(sync_stream_ended(&s));
    CHECK_EQ(future_err(&s.fut), -EINVAL);
    CHECK_EQ(sync_stream_poll_next(&s, &cx), CORO_READY); /* no second report */
    CHECK(s.item == 0);
}

/* A generator that owns something (future_own, as EXEC_SPAWN does): what
 * it owns goes when the stream ends, not before, even though the stream
 * is polled through sync_stream_poll_next and not future_poll. */
typedef struct {
    sync_stream_t st;
    future_owned_t node;
    int v;
} owner_gen_t;

static int owned_drops;
static void owned_drop(future_owned_t *n) {
    (void)n;
    owned_drops++;
}

static coro_poll_t owner_gen_poll(future_t *self, future_cx_t *cx) {
    owner_gen_t *g = (owner_gen_t *)self;
    ASYNC_BEGIN(g);
    future_own(self, &g->node, owned_drop);
    g->v = 7;
    STREAM_YIELD(cx, &g->v);
    ASYNC_END();
}

static void test_generator_owns_until_its_end(void) {
    owner_gen_t g;
    future_waker_t nop = {nop_wake};
    future_cx_t cx;
    future_cx_init(&cx, &nop);
    owned_drops = 0;
    sync_stream_init(&g.st, owner_gen_poll, 0);
    CHECK_EQ(sync_stream_poll_next(&g.st, &cx), CORO_READY);
    CHECK_EQ(*(const int *)g.st.item, 7);
    CHECK_EQ(owned_drops, 0);
    CHECK(g.st.fut.owned == &g.node);
    CHECK_EQ(sync_stream_poll_next(&g.st, &cx), CORO_READY);
    CHECK(g.st.item == 0);
    CHECK(sync_stream_ended(&g.st));
    CHECK_EQ(future_err(&g.st.fut), 0);
    CHECK_EQ(owned_drops, 1);
    CHECK(g.st.fut.owned == 0);
    CHECK_EQ(sync_stream_poll_next(&g.st, &cx), CORO_READY);
    CHECK_EQ(owned_drops, 1);
    /* dropped between items: it goes then */
    sync_stream_init(&g.st, owner_gen_poll, 0);
    CHECK_EQ(sync_stream_poll_next(&g.st, &cx), CORO_READY);
    future_drop(&g.st.fut);
    CHECK_EQ(owned_drops, 2);
    CHECK_EQ(future_err(&g.st.fut), -ECANCELED);
}

int main(void) {
    RUN(test_then_waits_for_its_input);
    RUN(test_then_polled_again_while_its_future_waits);
    RUN(test_interval_polled_again_between_ticks);
    RUN(test_merge_first_input_fails_while_the_second_is_open);
    RUN(test_no_storage_is_einval);
    RUN(test_chunks_input_fails_mid_chunk);
    RUN(test_buffer_unordered_input_waits);
    RUN(test_buffer_unordered_dropped_with_its_input_waiting);
    RUN(test_stream_polled_before_its_init);
    RUN(test_generator_owns_until_its_end);
    return check_summary();
}
