/* Tests of exec.h: tasks, join handles, abort, shutdown, stalls, misuse,
 * fairness, the paused clock, wakes from other threads, the reactor. */
#include "check.h"
#include "../exec.h"
#include <fcntl.h>
#include <sys/resource.h>

#ifdef CHECK_SLOW
enum { MANY = 20000 };
#else
enum { MANY = 200000 };
#endif

static exec_t ex;
#include "notes.h"

static void setup(void) {
    int rc = exec_init(&ex);
    if (rc) abort();
    ex.log = 0; /* stall reports are expected in some tests */
    nlog = 0;
}

/* ---- test futures ------------------------------------------------------- */

/* Sleeps ms (on the paused clock in most tests), then finishes with rc. */
typedef struct {
    future_t fut;
    uint64_t ms;
    int rc, drops;
    const char *name;
    uint64_t finished_at;
    timer_sleep_t nap;
} nap_t;

static coro_poll_t nap_poll(future_t *self, future_cx_t *cx) {
    nap_t *f = (nap_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    f->finished_at = exec_now(exec_of(cx));
    if (f->name) note(f->name);
    ASYNC_RETURN(f->rc);
    ASYNC_END();
}

static void nap_drop(future_t *self) { ((nap_t *)self)->drops++; }

static void nap_init(nap_t *f, uint64_t ms, int rc, const char *name) {
    future_init(&f->fut, nap_poll, nap_drop);
    f->ms = ms;
    f->rc = rc;
    f->name = name;
    f->drops = 0;
    f->finished_at = 0;
}

/* Yields n times, counting its polls. */
typedef struct {
    future_t fut;
    int n, i, polls;
    const char *name;
    int *stop; /* if set, yield until *stop */
} yielder_t;

static coro_poll_t yielder_poll(future_t *self, future_cx_t *cx) {
    yielder_t *f = (yielder_t *)self;
    f->polls++;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->stop ? !*f->stop : f->i < f->n; f->i++) {
        if (f->name) note(f->name);
        YIELD_NOW(cx);
    }
    ASYNC_END();
}

static void yielder_init(yielder_t *f, int n, const char *name) {
    future_init(&f->fut, yielder_poll, 0);
    f->n = n;
    f->polls = 0;
    f->name = name;
    f->stop = 0;
}

/* Awaits a join handle. */
typedef struct {
    future_t fut;
    exec_join_t join;
    int got;
} joiner_t;

static coro_poll_t joiner_poll(future_t *self, future_cx_t *cx) {
    joiner_t *f = (joiner_t *)self;
    ASYNC_BEGIN(f);
    AWAIT(cx, &f->join);
    f->got = future_err(&f->join.fut);
    ASYNC_END();
}

static void joiner_init(joiner_t *f, exec_task_t *t) {
    future_init(&f->fut, joiner_poll, 0);
    exec_join_init(&f->join, t);
    f->got = 12345;
}

/* Pending forever; counts polls and drops. */
typedef struct {
    future_t fut;
    int polls, drops;
} probe_t;

static coro_poll_t probe_poll(future_t *self, future_cx_t *cx) {
    (void)cx;
    ((probe_t *)self)->polls++;
    return CORO_PENDING;
}

static void probe_drop(future_t *self) { ((probe_t *)self)->drops++; }

static void probe_init(probe_t *p) {
    future_init(&p->fut, probe_poll, probe_drop);
    p->polls = p->drops = 0;
}

/* ---- tasks and join handles --------------------------------------------- */

static void test_block_on_returns_the_error(void) {
    nap_t n;
    setup();
    exec_clock_pause(&ex);
    nap_init(&n, 5, -EIO, 0);
    CHECK_EQ(exec_block_on(&ex, &n.fut), -EIO);
    CHECK(future_done(&n.fut));
    exec_destroy(&ex);
}

static void test_spawn_is_lazy_until_the_loop_runs(void) {
    exec_task_t t = {0};
    yielder_t y;
    setup();
    yielder_init(&y, 3, 0);
    CHECK_EQ(exec_spawn(&t, &ex, &y.fut), 0);
    CHECK_EQ(y.polls, 0); /* spawned, not polled */
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(y.polls, 4); /* 3 yields + the last poll */
    CHECK(exec_task_done(&t));
    CHECK_EQ(exec_task_err(&t), 0);
    exec_destroy(&ex);
}

static void test_join_handle_yields_the_result(void) {
    exec_task_t t = {0};
    nap_t n;
    joiner_t j;
    setup();
    exec_clock_pause(&ex);
    nap_init(&n, 10, -ENOENT, 0);
    exec_spawn(&t, &ex, &n.fut);
    joiner_init(&j, &t);
    CHECK_EQ(exec_block_on(&ex, &j.fut), 0);
    CHECK_EQ(j.got, -ENOENT);
    /* A second handle after the task is done reads the same result. */
    joiner_init(&j, &t);
    CHECK_EQ(exec_block_on(&ex, &j.fut), 0);
    CHECK_EQ(j.got, -ENOENT);
    exec_destroy(&ex);
}

static void test_spawning_a_live_task_is_ebusy(void) {
    exec_task_t t = {0};
    nap_t a, b;
    int rc = 0;
    setup();
    exec_clock_pause(&ex);
    nap_init(&a, 1, 0, 0);
    nap_init(&b, 1, 0, 0);
    CHECK_EQ(exec_spawn(&t, &ex, &a.fut), 0);
    CHECK_MISUSE(rc = exec_spawn(&t, &ex, &b.fut), "already spawned");
    CHECK_EQ(rc, -EBUSY);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(future_done(&a.fut));
    CHECK(!future_done(&b.fut)); /* never ran */
    /* A finished task's storage may be spawned again. */
    CHECK_EQ(exec_spawn(&t, &ex, &b.fut), 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(future_done(&b.fut));
    exec_destroy(&ex);
}

static void test_join_misuse_is_reported(void) {
    exec_task_t t = {0}, never = {0}, jt1 = {0}, jt2 = {0};
    nap_t n;
    joiner_t j1, j2, j3;
    setup();
    exec_clock_pause(&ex);
    /* Joining a task that was never spawned. */
    joiner_init(&j3, &never);
    CHECK_MISUSE(exec_block_on(&ex, &j3.fut), "never spawned");
    CHECK_EQ(j3.got, -EINVAL);
    /* Two handles waiting for one task at once. */
    nap_init(&n, 10, 0, 0);
    exec_spawn(&t, &ex, &n.fut);
    joiner_init(&j1, &t);
    joiner_init(&j2, &t);
    exec_spawn(&jt1, &ex, &j1.fut);
    exec_spawn(&jt2, &ex, &j2.fut);
    CHECK_MISUSE(exec_run(&ex), "two join handles");
    CHECK_EQ(j1.got, 0);
    CHECK_EQ(j2.got, -EBUSY);
    /* Awaiting a finished join handle again. */
    CHECK_MISUSE(future_poll(&j1.join.fut, 0), "polled after it finished");
    exec_destroy(&ex);
}

static void test_abort_a_waiting_task(void) {
    exec_task_t t = {0}, jt = {0};
    nap_t n;
    joiner_t j;
    setup();
    exec_clock_pause(&ex);
    nap_init(&n, 10000, 0, 0);
    exec_spawn(&t, &ex, &n.fut);
    joiner_init(&j, &t);
    exec_spawn(&jt, &ex, &j.fut);
    {
        yielder_t y; /* let both tasks get to their waits */
        yielder_init(&y, 2, 0);
        exec_block_on(&ex, &y.fut);
    }
    CHECK_EQ(timer_wheel_count(&ex.timers), 1);
    exec_abort(&t);
    CHECK(exec_task_done(&t)); /* at once */
    CHECK_EQ(exec_task_err(&t), -ECANCELED);
    CHECK_EQ(n.drops, 1);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0); /* its timer went with it */
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(j.got, -ECANCELED);
    exec_abort(&t); /* aborting a finished task does nothing */
    CHECK_EQ(exec_task_err(&t), -ECANCELED);
    exec_destroy(&ex);
}

static void test_abort_a_queued_task_never_polls_it(void) {
    exec_task_t a = {0}, b = {0}, c = {0};
    yielder_t ya, yb, yc;
    setup();
    yielder_init(&ya, 1, "a");
    yielder_init(&yb, 1, "b");
    yielder_init(&yc, 1, "c");
    exec_spawn(&a, &ex, &ya.fut);
    exec_spawn(&b, &ex, &yb.fut);
    exec_spawn(&c, &ex, &yc.fut);
    exec_abort(&b); /* in the middle of the ready queue */
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(yb.polls, 0);
    CHECK_EQ(exec_task_err(&b), -ECANCELED);
    CHECK_EQ(nlog, 2);
    CHECK(!strcmp(log_[0], "a") && !strcmp(log_[1], "c"));
    exec_destroy(&ex);
}

/* A task that aborts itself is dropped when its poll returns. */
typedef struct {
    future_t fut;
    exec_task_t *self_task;
    timer_sleep_t nap;
} suicidal_t;

static coro_poll_t suicidal_poll(future_t *self, future_cx_t *cx) {
    suicidal_t *f = (suicidal_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, TIMER_SEC);
    exec_abort(f->self_task);
    AWAIT(cx, &f->nap);
    ASYNC_END();
}

static void test_a_task_may_abort_itself(void) {
    exec_task_t t = {0};
    suicidal_t s;
    setup();
    exec_clock_pause(&ex);
    future_init(&s.fut, suicidal_poll, 0);
    s.self_task = &t;
    exec_spawn(&t, &ex, &s.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(exec_task_err(&t), -ECANCELED);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    exec_destroy(&ex);
}

/* Dropping a join handle (here: the loser of a SELECT) aborts its task. */
typedef struct {
    future_t fut;
    exec_task_t task;
    nap_t slow;
    exec_join_t join;
    timer_sleep_t quick;
    int which;
} race_join_t;

static coro_poll_t race_join_poll(future_t *self, future_cx_t *cx) {
    race_join_t *f = (race_join_t *)self;
    ASYNC_BEGIN(f);
    nap_init(&f->slow, 1000, 0, 0);
    exec_spawn(&f->task, exec_of(cx), &f->slow.fut);
    exec_join_init(&f->join, &f->task);
    timer_sleep_init(&f->quick, 10 * TIMER_MS);
    SELECT(cx, f->which, &f->join, &f->quick);
    ASYNC_END();
}

static void test_dropping_a_join_handle_aborts_the_task(void) {
    race_join_t r;
    setup();
    exec_clock_pause(&ex);
    memset(&r, 0, sizeof r);
    future_init(&r.fut, race_join_poll, 0);
    CHECK_EQ(exec_block_on(&ex, &r.fut), 0);
    CHECK_EQ(r.which, 1);
    CHECK(exec_task_done(&r.task));
    CHECK_EQ(exec_task_err(&r.task), -ECANCELED);
    CHECK_EQ(r.slow.drops, 1);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    CHECK_EQ(ex.nlive, 0);
    exec_destroy(&ex);
}

static void test_shutdown_drops_every_live_task(void) {
    static exec_task_t t[100];
    static nap_t n[100];
    probe_t p;
    exec_task_t pt = {0};
    nap_t first;
    int i;
    setup();
    exec_clock_pause(&ex);
    memset(t, 0, sizeof t);
    for (i = 0; i < 100; i++) {
        nap_init(&n[i], 100 + (uint64_t)i, 0, 0);
        exec_spawn(&t[i], &ex, &n[i].fut);
    }
    probe_init(&p);
    exec_spawn(&pt, &ex, &p.fut);
    nap_init(&first, 150, 0, 0); /* half the sleepers finish meanwhile */
    CHECK_EQ(exec_block_on(&ex, &first.fut), 0);
    CHECK_EQ(ex.nlive, 49 + 1); /* sleepers of 151..199 ms, and the probe */
    CHECK_EQ(timer_wheel_count(&ex.timers), 49);
    exec_shutdown(&ex);
    CHECK_EQ(ex.nlive, 0);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    for (i = 0; i < 100; i++) {
        CHECK(exec_task_done(&t[i]));
        CHECK_EQ(exec_task_err(&t[i]), i <= 50 ? 0 : -ECANCELED);
        CHECK_EQ(n[i].drops, i <= 50 ? 0 : 1);
    }
    CHECK_EQ(p.drops, 1);
    CHECK_EQ(exec_task_err(&pt), -ECANCELED);
    exec_destroy(&ex);
}

/* A future whose drop spawns another task: refused during shutdown. */
typedef struct {
    future_t fut;
    exec_t *ex;
    exec_task_t task;
    probe_t child;
    int spawn_rc;
} spawner_t;

static coro_poll_t spawner_poll(future_t *self, future_cx_t *cx) {
    (void)self;
    (void)cx;
    return CORO_PENDING;
}

static void spawner_drop(future_t *self) {
    spawner_t *s = (spawner_t *)self;
    probe_init(&s->child);
    s->spawn_rc = exec_spawn(&s->task, s->ex, &s->child.fut);
}

static void test_spawn_during_shutdown_is_refused(void) {
    exec_task_t t = {0};
    spawner_t s;
    setup();
    memset(&s, 0, sizeof s);
    future_init(&s.fut, spawner_poll, spawner_drop);
    s.ex = &ex;
    exec_spawn(&t, &ex, &s.fut);
    exec_shutdown(&ex);
    CHECK_EQ(s.spawn_rc, -ECANCELED);
    CHECK_EQ(s.child.polls, 0);
    CHECK_EQ(s.child.drops, 1); /* dropped unpolled */
    CHECK(exec_task_done(&s.task));
    CHECK_EQ(exec_task_err(&s.task), -ECANCELED);
    CHECK_EQ(ex.nlive, 0); /* the live list was not corrupted */
    CHECK(ex.live.head == 0);
    exec_destroy(&ex);
}

static void test_stall_is_reported_not_hung(void) {
    exec_task_t t = {0};
    probe_t p, q;
    char *buf = 0;
    size_t len = 0;
    FILE *mem;
    setup();
    probe_init(&p);
    exec_spawn(&t, &ex, &p.fut);
    mem = open_memstream(&buf, &len);
    ex.log = mem;
    CHECK_EQ(exec_run(&ex), -EDEADLK);
    fclose(mem);
    CHECK(strstr(buf, "nothing can wake them") != NULL);
    free(buf);
    ex.log = 0;
    /* block_on drops its future on a stall and returns -EDEADLK. */
    probe_init(&q);
    CHECK_EQ(exec_block_on(&ex, &q.fut), -EDEADLK);
    CHECK_EQ(q.drops, 1);
    exec_destroy(&ex);
    CHECK_EQ(p.drops, 1);
}

/* A close or an unhold too many is reported and counts nothing: a count
 * of open handles or holds wrapped to ~0 would turn every later stall
 * into a hang (something "may still wake them"). */
static void test_unpaired_closes_keep_stalls_visible(void) {
    exec_remote_t r, never;
    probe_t q;
    setup();
    exec_remote_init(&r, &ex);
    exec_remote_close(&r);
    CHECK_MISUSE(exec_remote_close(&r), "not open");
    memset(&never, 0, sizeof never);
    CHECK_MISUSE(exec_remote_close(&never), "not open");
    CHECK_EQ(ex.nremote, 0);
    CHECK_MISUSE(exec_clock_unhold(&ex), "without an exec_clock_hold");
    CHECK_EQ(ex.holds, 0);
    probe_init(&q);
    CHECK_EQ(exec_block_on(&ex, &q.fut), -EDEADLK);
    exec_remote_init(&r, &ex); /* a closed handle opens again */
    CHECK_EQ(ex.nremote, 1);
    exec_remote_close(&r);
    CHECK_EQ(ex.nremote, 0);
    exec_destroy(&ex);
}

/* exec_dump prints where each task is suspended, file:line per frame. */
typedef struct {
    future_t fut;
    nap_t inner;
} outer_t;

static coro_poll_t outer_poll(future_t *self, future_cx_t *cx) {
    outer_t *f = (outer_t *)self;
    ASYNC_BEGIN(f);
    nap_init(&f->inner, 1000, 0, 0);
    AWAIT(cx, &f->inner);
    ASYNC_END();
}

static void test_async_backtrace(void) {
    exec_task_t t = {0};
    outer_t o;
    yielder_t y;
    char *buf = 0;
    size_t len = 0;
    FILE *mem;
    setup();
    exec_clock_pause(&ex);
    future_init(&o.fut, outer_poll, 0);
    exec_spawn(&t, &ex, &o.fut);
    yielder_init(&y, 1, 0);
    exec_block_on(&ex, &y.fut);
    mem = open_memstream(&buf, &len);
    exec_dump(&ex, mem);
    fclose(mem);
    /* three frames: outer, nap, the sleep inside nap */
    CHECK(strstr(buf, "test_exec.c:") != NULL);
    CHECK(strstr(buf, "      ") != NULL); /* nested two deep */
    free(buf);
    exec_destroy(&ex);
}

/* A task that calls exec_block_on itself. */
typedef struct {
    future_t fut;
    int rc;
} nested_t;

static coro_poll_t nested_poll(future_t *self, future_cx_t *cx) {
    nested_t *f = (nested_t *)self;
    future_ready_t r;
    future_ready_init(&r, 0);
    f->rc = exec_block_on(exec_of(cx), &r.fut);
    return future_finish(self, 0);
}

static void test_nested_block_on_is_refused(void) {
    nested_t n;
    setup();
    future_init(&n.fut, nested_poll, 0);
    CHECK_MISUSE(exec_block_on(&ex, &n.fut), "inside a task");
    CHECK_EQ(n.rc, -EDEADLK);
    exec_destroy(&ex);
}

static void test_block_on_leaves_other_tasks_running(void) {
    exec_task_t t = {0};
    nap_t slow, quick;
    setup();
    exec_clock_pause(&ex);
    nap_init(&slow, 100, 0, "slow");
    nap_init(&quick, 10, 0, "quick");
    exec_spawn(&t, &ex, &slow.fut);
    CHECK_EQ(exec_block_on(&ex, &quick.fut), 0);
    CHECK(!exec_task_done(&t));
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(exec_task_done(&t));
    CHECK_EQ(slow.finished_at - quick.finished_at, 90 * TIMER_MS);
    exec_destroy(&ex);
}

static void test_wake_of_a_finished_task_is_harmless(void) {
    exec_task_t t = {0};
    yielder_t y;
    setup();
    yielder_init(&y, 1, 0);
    exec_spawn(&t, &ex, &y.fut);
    exec_run(&ex);
    future_wake(&t.waker);
    future_wake(&t.waker);
    CHECK(ex.head == 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(y.polls, 2);
    exec_destroy(&ex);
}

/* The task record: 11 pointers and two ints (96 bytes on 64-bit, 52 on
 * 32-bit), owner and scope links and a name included: the scope and the
 * parent share a word, and so do the name and the join handle. A bound,
 * so growth is a decision. */
static void test_task_record_size(void) {
#if EXEC_METRICS /* its id and metrics: 48 bytes more (tests/test_metrics.c) */
    CHECK(sizeof(exec_task_t) <= (11 * sizeof(void *) + 2 * sizeof(int) + 7) / 8 * 8 +
                                     sizeof(exec_task_metrics_t));
#else
    CHECK(sizeof(exec_task_t) <= 11 * sizeof(void *) + 2 * sizeof(int));
#endif
}

static void test_many_tasks_spawn_run_join(void) {
    exec_task_t *t = (exec_task_t *)calloc(MANY, sizeof *t);
    future_ready_t *r = (future_ready_t *)calloc(MANY, sizeof *r);
    int i, bad = 0;
    setup();
    for (i = 0; i < MANY; i++) {
        future_ready_init(&r[i], -(i % 7));
        exec_spawn(&t[i], &ex, &r[i].fut);
    }
    CHECK_EQ(ex.nlive, MANY);
    CHECK_EQ(exec_run(&ex), 0);
    for (i = 0; i < MANY; i++) bad += exec_task_err(&t[i]) != -(i % 7);
    free(t);
    free(r);
    CHECK_EQ(bad, 0);
    CHECK_EQ(ex.stats.polls, MANY);
    exec_destroy(&ex);
}

/* ---- fairness ----------------------------------------------------------- */

static void test_ready_queue_is_fifo(void) {
    exec_task_t t[3];
    yielder_t y[3];
    const char *names[3] = {"A", "B", "C"};
    int i;
    setup();
    memset(t, 0, sizeof t);
    for (i = 0; i < 3; i++) {
        yielder_init(&y[i], 2, names[i]);
        exec_spawn(&t[i], &ex, &y[i].fut);
    }
    exec_run(&ex);
    CHECK_EQ(nlog, 6);
    for (i = 0; i < 6; i++) CHECK(!strcmp(log_[i], names[i % 3]));
    exec_destroy(&ex);
}

/* A task whose futures are always ready: sleep(0) in a loop. Without the
 * cooperative budget it would never return to the loop. */
typedef struct {
    future_t fut;
    int *stop;
    long iters;
    int max_per_poll, this_poll;
    timer_sleep_t zero;
} hog_t;

static coro_poll_t hog_poll(future_t *self, future_cx_t *cx) {
    hog_t *f = (hog_t *)self;
    f->this_poll = 0;
    ASYNC_BEGIN(f);
    while (!*f->stop) {
        timer_sleep_init(&f->zero, 0);
        AWAIT(cx, &f->zero);
        f->iters++;
        if (++f->this_poll > f->max_per_poll) f->max_per_poll = f->this_poll;
    }
    ASYNC_END();
}

/* Sets *stop after yielding n times. */
typedef struct {
    future_t fut;
    int *stop, n, i;
} stopper_t;

static coro_poll_t stopper_poll(future_t *self, future_cx_t *cx) {
    stopper_t *f = (stopper_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < f->n; f->i++) YIELD_NOW(cx);
    *f->stop = 1;
    ASYNC_END();
}

static void test_budget_stops_a_hog_starving_others(void) {
    exec_task_t th = {0}, ts = {0};
    hog_t h;
    stopper_t s;
    int stop = 0;
    setup();
    memset(&h, 0, sizeof h);
    future_init(&h.fut, hog_poll, 0);
    h.stop = &stop;
    future_init(&s.fut, stopper_poll, 0);
    s.stop = &stop;
    s.n = 5;
    exec_spawn(&th, &ex, &h.fut);
    exec_spawn(&ts, &ex, &s.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(h.max_per_poll, EXEC_BUDGET);
    CHECK(h.iters >= 5 * EXEC_BUDGET && h.iters <= 7 * EXEC_BUDGET);
    exec_destroy(&ex);
}

static void test_yielding_tasks_interleave(void) {
    exec_task_t ta = {0}, tb = {0};
    yielder_t a, b;
    int stop = 0;
    stopper_t s;
    exec_task_t ts = {0};
    setup();
    yielder_init(&a, 0, 0);
    a.stop = &stop;
    yielder_init(&b, 0, 0);
    b.stop = &stop;
    future_init(&s.fut, stopper_poll, 0);
    s.stop = &stop;
    s.n = 1000;
    exec_spawn(&ta, &ex, &a.fut);
    exec_spawn(&tb, &ex, &b.fut);
    exec_spawn(&ts, &ex, &s.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(a.polls >= 1000 && a.polls <= 1002);
    CHECK(b.polls >= 1000 && b.polls <= 1002);
    exec_destroy(&ex);
}

/* A busy loop does not make a system call per poll: with no fd registered
 * it makes none at all, and with fds it looks at them once a turn. */
static void test_busy_loop_checks_io_once_per_turn(void) {
    yielder_t y;
    exec_io_t io;
    int p[2];
    setup();
    yielder_init(&y, 6100, 0);
    exec_block_on(&ex, &y.fut);
    CHECK_EQ(ex.stats.io_checks, 0);
    CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    CHECK_EQ(exec_io_start(&io, &ex, p[0]), 0);
    ex.stats.io_checks = 0;
    yielder_init(&y, 6100, 0);
    exec_block_on(&ex, &y.fut);
    CHECK(ex.stats.io_checks >= 6100 / EXEC_POLLS_PER_TURN - 1);
    CHECK(ex.stats.io_checks <= 6100 / EXEC_POLLS_PER_TURN + 1);
    exec_io_stop(&io);
    close(p[0]);
    close(p[1]);
    exec_destroy(&ex);
}

/* A child that is ready at once but spends the budget, counting polls. */
static long coop_child_polls;
static coro_poll_t coop_child_poll(future_t *self, future_cx_t *cx) {
    coop_child_polls++;
    if (!future_coop_spend(cx)) return CORO_PENDING;
    return future_finish(self, 0);
}

/* A join over many ready children stops when the task's budget is spent,
 * instead of polling every remaining child only for it to wake itself
 * again (which made a big join quadratic). */
static void test_join_all_respects_the_budget(void) {
    enum { N = 1000 };
    static future_t kids[N];
    static future_join_slot_t slots[N];
    future_join_all_t all;
    int i;
    setup();
    coop_child_polls = 0;
    future_join_all_init(&all, slots, N, 0);
    for (i = 0; i < N; i++) {
        future_init(&kids[i], coop_child_poll, 0);
        future_join_all_add(&all, &kids[i]);
    }
    CHECK_EQ(exec_block_on(&ex, &all.fut), 0);
    /* each child once, plus one refused poll per spent budget */
    CHECK(coop_child_polls <= N + N / EXEC_BUDGET + 1);
    CHECK(ex.stats.polls >= N / EXEC_BUDGET); /* it did yield to the loop */
    exec_destroy(&ex);
}

/* ---- time --------------------------------------------------------------- */

static void test_paused_clock_jumps_to_deadlines(void) {
    nap_t n;
    exec_task_t t[3];
    nap_t s[3];
    uint64_t t0;
    int i;
    setup();
    memset(t, 0, sizeof t);
    exec_clock_pause(&ex);
    t0 = exec_now(&ex);
    for (i = 0; i < 3; i++) {
        static const char *names[3] = {"30s", "10s", "20s"};
        static const uint64_t ms[3] = {30000, 10000, 20000};
        nap_init(&s[i], ms[i], 0, names[i]);
        exec_spawn(&t[i], &ex, &s[i].fut);
    }
    nap_init(&n, 30000, 0, "main");
    CHECK_EQ(exec_block_on(&ex, &n.fut), 0);
    CHECK_EQ(exec_now(&ex) - t0, 30 * TIMER_SEC);
    CHECK_EQ(s[1].finished_at - t0, 10 * TIMER_SEC);
    CHECK_EQ(s[2].finished_at - t0, 20 * TIMER_SEC);
    CHECK(!strcmp(log_[0], "10s") && !strcmp(log_[1], "20s"));
    exec_destroy(&ex);
}

static void test_clock_advance_and_resume(void) {
    nap_t n;
    exec_task_t t = {0};
    uint64_t t0;
    setup();
    exec_clock_pause(&ex);
    t0 = exec_now(&ex);
    nap_init(&n, 50, 0, 0);
    exec_spawn(&t, &ex, &n.fut);
    {
        yielder_t y;
        yielder_init(&y, 1, 0);
        exec_block_on(&ex, &y.fut); /* the sleep registers */
    }
    exec_clock_advance(&ex, 49 * TIMER_MS);
    CHECK(!exec_task_done(&t));
    exec_clock_advance(&ex, 1 * TIMER_MS);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(n.finished_at - t0, 50 * TIMER_MS);
    /* Resumed, the clock goes on from where it stood, never backwards. */
    exec_clock_resume(&ex);
    exec_update_time(&ex);
    CHECK(exec_now(&ex) >= t0 + 50 * TIMER_MS);
    CHECK(exec_now(&ex) < t0 + 60 * TIMER_SEC);
    exec_destroy(&ex);
}

/* ---- wakes from other threads ------------------------------------------- */

/* Waits until *count reaches target, woken through a remote handle. */
typedef struct {
    future_t fut;
    exec_remote_t remote;
    int *count; /* incremented by another thread */
    int seen, target, polls, release_hold;
    future_t *watch;   /* if set: was it done when we finished? */
    int watch_done;
} remote_wait_t;

static coro_poll_t remote_wait_poll(future_t *self, future_cx_t *cx) {
    remote_wait_t *f = (remote_wait_t *)self;
    f->polls++;
    if (f->fut.co.pc == 0) {
        exec_remote_init(&f->remote, exec_of(cx));
        f->fut.co.pc = 1;
    }
    exec_remote_set_waker(&f->remote, cx->waker);
    f->seen += EXEC_XCHG_(f->count, 0);
    if (f->seen < f->target) return CORO_PENDING;
    exec_remote_close(&f->remote);
    if (f->watch) f->watch_done = future_done(f->watch);
    if (f->release_hold) exec_clock_unhold(exec_of(cx));
    return future_finish(self, 0);
}

static void remote_wait_drop(future_t *self) {
    remote_wait_t *f = (remote_wait_t *)self;
    if (f->fut.co.pc == 1) exec_remote_close(&f->remote);
}

static void remote_wait_init(remote_wait_t *f, int *count, int target) {
    future_init(&f->fut, remote_wait_poll, remote_wait_drop);
    f->count = count;
    f->seen = f->polls = f->release_hold = 0;
    f->watch = 0;
    f->watch_done = -1;
    f->target = target;
}

typedef struct {
    remote_wait_t *w;
    int n;
    int *go;
} storm_arg_t;

static void *storm_thread(void *p) {
    storm_arg_t *a = (storm_arg_t *)p;
    int i;
    while (!EXEC_LOAD_(a->go)) sched_yield();
    for (i = 0; i < a->n; i++) {
        EXEC_ADD_(a->w->count, 1);
        exec_remote_wake(&a->w->remote);
    }
    return 0;
}

static void test_wake_storm_from_many_threads(void) {
    enum { THREADS = 8 };
#ifdef CHECK_SLOW
    const int per = 2000;
#else
    const int per = 20000;
#endif
    exec_task_t t[THREADS];
    remote_wait_t w[THREADS];
    int counts[THREADS] = {0}, go = 0, i;
    pthread_t th[THREADS];
    storm_arg_t args[THREADS];
    yielder_t y;
    setup();
    memset(t, 0, sizeof t);
    for (i = 0; i < THREADS; i++) {
        remote_wait_init(&w[i], &counts[i], per);
        exec_spawn(&t[i], &ex, &w[i].fut);
    }
    yielder_init(&y, 1, 0);
    exec_block_on(&ex, &y.fut); /* every handle is initialised */
    for (i = 0; i < THREADS; i++) {
        args[i].w = &w[i];
        args[i].n = per;
        args[i].go = &go;
        pthread_create(&th[i], 0, storm_thread, &args[i]);
    }
    EXEC_STORE_(&go, 1);
    CHECK_EQ(exec_run(&ex), 0); /* returns only if no wake was lost */
    for (i = 0; i < THREADS; i++) pthread_join(th[i], 0);
    for (i = 0; i < THREADS; i++) {
        CHECK_EQ(w[i].seen, per);
        CHECK(w[i].polls <= per + 2); /* no more polls than wakes */
    }
    CHECK_EQ(ex.nremote, 0);
    exec_destroy(&ex);
}

/* Busy executor: remote wakes go through the queue, never the eventfd. */
typedef struct {
    remote_wait_t *w;
    int n;
} busy_arg_t;

static void *busy_thread(void *p) {
    busy_arg_t *a = (busy_arg_t *)p;
    int i;
    for (i = 0; i < a->n; i++) {
        EXEC_ADD_(a->w->count, 1);
        exec_remote_wake(&a->w->remote);
    }
    return 0;
}

typedef struct {
    future_t fut;
    remote_wait_t *w;
} spin_until_t;

static coro_poll_t spin_until_poll(future_t *self, future_cx_t *cx) {
    spin_until_t *f = (spin_until_t *)self;
    if (future_done(&f->w->fut)) return future_finish(self, 0);
    future_wake(cx->waker); /* stay runnable: the loop never parks */
    return CORO_PENDING;
}

static void test_busy_executor_gets_wakes_without_syscalls(void) {
    exec_task_t tw = {0};
    remote_wait_t w;
    spin_until_t s;
    int count = 0;
    pthread_t th;
    busy_arg_t a;
    yielder_t y;
    setup();
    remote_wait_init(&w, &count, 5000);
    exec_spawn(&tw, &ex, &w.fut);
    yielder_init(&y, 1, 0);
    exec_block_on(&ex, &y.fut);
    a.w = &w;
    a.n = 5000;
    pthread_create(&th, 0, busy_thread, &a);
    future_init(&s.fut, spin_until_poll, 0);
    s.w = &w;
    CHECK_EQ(exec_block_on(&ex, &s.fut), 0);
    pthread_join(th, 0);
    CHECK_EQ(w.seen, 5000);
    CHECK_EQ(EXEC_LOAD_(&ex.stats.efd_writes), 0);
    CHECK_EQ(ex.stats.parks, 0);
    exec_destroy(&ex);
}

/* A waiting remote future dropped mid-wait, with a wake possibly queued. */
static void test_remote_dropped_while_queued(void) {
    exec_task_t t = {0};
    remote_wait_t w;
    int count = 0;
    yielder_t y;
    setup();
    remote_wait_init(&w, &count, 10);
    exec_spawn(&t, &ex, &w.fut);
    yielder_init(&y, 1, 0);
    exec_block_on(&ex, &y.fut);
    exec_remote_wake(&w.remote); /* queued, not delivered */
    CHECK(EXEC_LOAD_(&ex.remote) == &w.remote);
    exec_abort(&t); /* drop: close takes it off the queue */
    CHECK(EXEC_LOAD_(&ex.remote) == 0);
    CHECK_EQ(ex.nremote, 0);
    CHECK_EQ(exec_run(&ex), 0);
    exec_destroy(&ex);
}

/* While a blocking job holds the paused clock, time does not jump. */
typedef struct {
    int *count;
    remote_wait_t *w;
} later_arg_t;

static void *later_thread(void *p) {
    later_arg_t *a = (later_arg_t *)p;
    usleep(2000);
    EXEC_ADD_(a->count, 1);
    exec_remote_wake(&a->w->remote);
    return 0;
}

static void test_clock_hold_stops_auto_advance(void) {
    exec_task_t tw = {0}, ts = {0};
    remote_wait_t w;
    nap_t n;
    int count = 0;
    pthread_t th;
    later_arg_t a;
    yielder_t y;
    setup();
    exec_clock_pause(&ex);
    remote_wait_init(&w, &count, 1);
    w.release_hold = 1;
    nap_init(&n, 1000, 0, "timer");
    w.watch = &n.fut;
    exec_clock_hold(&ex);
    exec_spawn(&tw, &ex, &w.fut);
    exec_spawn(&ts, &ex, &n.fut);
    yielder_init(&y, 1, 0);
    exec_block_on(&ex, &y.fut);
    a.count = &count;
    a.w = &w;
    pthread_create(&th, 0, later_thread, &a);
    CHECK_EQ(exec_run(&ex), 0);
    pthread_join(th, 0);
    /* The timer could only fire after the hold was released: the thread's
     * wake came ~2 ms later, and the paused clock must not jump meanwhile. */
    CHECK(exec_task_done(&tw) && exec_task_done(&ts));
    CHECK_EQ(w.watch_done, 0);
    CHECK_EQ(nlog, 1);
    exec_destroy(&ex);
}

/* ---- the reactor -------------------------------------------------------- */

/* Reads a pipe until it has got n bytes, through exec_io. */
typedef struct {
    future_t fut;
    exec_io_t *io;
    int got, want, waits;
} reader_t;

static coro_poll_t reader_poll(future_t *self, future_cx_t *cx) {
    reader_t *f = (reader_t *)self;
    char buf[64];
    while (f->got < f->want) {
        ssize_t n;
        if (exec_io_poll(f->io, cx, EXEC_IO_READ) == CORO_PENDING) {
            f->waits++;
            return CORO_PENDING;
        }
        n = read(f->io->fd, buf, sizeof buf);
        if (n > 0) f->got += (int)n;
        else if (n < 0 && errno == EAGAIN) exec_io_clear(f->io, EXEC_IO_READ);
        else return future_finish(self, n == 0 ? -EPIPE : -errno);
    }
    return future_finish(self, 0);
}

static void reader_drop(future_t *self) {
    reader_t *f = (reader_t *)self;
    exec_io_forget(f->io, EXEC_IO_READ, 0);
}

/* Writes to a pipe after sleeping ms (paused clock). */
typedef struct {
    future_t fut;
    int fd, n;
    uint64_t ms;
    timer_sleep_t nap;
} writer_t;

static coro_poll_t writer_poll(future_t *self, future_cx_t *cx) {
    writer_t *f = (writer_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    {
        char buf[8] = "abcdefg";
        if (write(f->fd, buf, (size_t)f->n) != f->n) ASYNC_RETURN(-EIO);
    }
    ASYNC_END();
}

static void test_pipe_readiness_edge_triggered(void) {
    int p[2];
    exec_io_t io;
    exec_task_t tr = {0}, tw1 = {0}, tw2 = {0};
    reader_t r;
    writer_t w1, w2;
    setup();
    exec_clock_pause(&ex);
    CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    CHECK_EQ(exec_io_start(&io, &ex, p[0]), 0);
    future_init(&r.fut, reader_poll, reader_drop);
    r.io = &io;
    r.got = r.waits = 0;
    r.want = 7;
    future_init(&w1.fut, writer_poll, 0);
    w1.fd = p[1], w1.n = 3, w1.ms = 10;
    future_init(&w2.fut, writer_poll, 0);
    w2.fd = p[1], w2.n = 4, w2.ms = 20;
    exec_spawn(&tr, &ex, &r.fut);
    exec_spawn(&tw1, &ex, &w1.fut);
    exec_spawn(&tw2, &ex, &w2.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(r.got, 7);
    CHECK_EQ(exec_task_err(&tr), 0);
    CHECK(r.waits >= 2); /* it really waited for each write */
    CHECK(r.waits <= 4);
    CHECK_EQ(exec_io_stop(&io), 0);
    CHECK_EQ(ex.nio, 0);
    close(p[0]);
    close(p[1]);
    exec_destroy(&ex);
}

/* The reader is dropped while it waits (it loses a SELECT); a later event
 * on the fd must not touch it. */
typedef struct {
    future_t fut;
    reader_t r;
    timer_sleep_t quick;
    int which;
} read_race_t;

static coro_poll_t read_race_poll(future_t *self, future_cx_t *cx) {
    read_race_t *f = (read_race_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->quick, TIMER_MS);
    SELECT(cx, f->which, &f->r, &f->quick);
    ASYNC_END();
}

static void test_dropped_io_waiter_is_forgotten(void) {
    int p[2];
    exec_io_t io;
    read_race_t *race = (read_race_t *)calloc(1, sizeof *race);
    nap_t after;
    exec_task_t tw = {0};
    writer_t w;
    setup();
    exec_clock_pause(&ex);
    CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    CHECK_EQ(exec_io_start(&io, &ex, p[0]), 0);
    future_init(&race->fut, read_race_poll, 0);
    future_init(&race->r.fut, reader_poll, reader_drop);
    race->r.io = &io;
    race->r.want = 1;
    CHECK_EQ(exec_block_on(&ex, &race->fut), 0);
    CHECK_EQ(race->which, 1);
    CHECK(io.reader == 0);
    free(race); /* ASan would catch a later wake into it */
    future_init(&w.fut, writer_poll, 0);
    w.fd = p[1], w.n = 1, w.ms = 1;
    exec_spawn(&tw, &ex, &w.fut);
    nap_init(&after, 5, 0, 0);
    CHECK_EQ(exec_block_on(&ex, &after.fut), 0);
    CHECK(io.ready & EXEC_IO_READ);
    exec_io_stop(&io);
    close(p[0]);
    close(p[1]);
    exec_destroy(&ex);
}

static void test_io_stop_wakes_the_waiter(void) {
    int p[2];
    exec_io_t io;
    exec_task_t tr = {0};
    reader_t r;
    yielder_t y;
    setup();
    CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    exec_io_start(&io, &ex, p[0]);
    future_init(&r.fut, reader_poll, reader_drop);
    r.io = &io;
    r.got = r.waits = 0;
    r.want = 1;
    exec_spawn(&tr, &ex, &r.fut);
    yielder_init(&y, 1, 0);
    exec_block_on(&ex, &y.fut);
    CHECK(io.reader == &tr.waker);
    exec_io_stop(&io);
    CHECK(tr.state & EXEC_TASK_QUEUED_);
    exec_abort(&tr);
    close(p[0]);
    close(p[1]);
    exec_destroy(&ex);
}

/* ---- heap-backed tasks, resources --------------------------------------- */

static int detached_done, detached_err;

static void free_frame(future_t *fut, int err, void *arg) {
    detached_done++;
    detached_err = err;
    CHECK_EQ((long)(intptr_t)arg, 42);
    free(fut);
}

static void test_detached_heap_tasks(void) {
    nap_t *a = (nap_t *)malloc(sizeof *a), *b = (nap_t *)malloc(sizeof *b);
    setup();
    exec_clock_pause(&ex);
    detached_done = 0;
    nap_init(a, 10, -EIO, 0);
    nap_init(b, 1000000, 0, 0);
    CHECK_EQ(exec_spawn_detached(&a->fut, &ex, free_frame, (void *)(intptr_t)42), 0);
    CHECK_EQ(exec_spawn_detached(&b->fut, &ex, free_frame, (void *)(intptr_t)42), 0);
    {
        nap_t n;
        nap_init(&n, 20, 0, 0);
        exec_block_on(&ex, &n.fut);
    }
    CHECK_EQ(detached_done, 1);
    CHECK_EQ(detached_err, -EIO);
    exec_destroy(&ex); /* drops b: its frame is freed through the callback */
    CHECK_EQ(detached_done, 2);
    CHECK_EQ(detached_err, -ECANCELED);
}

/* Fill the fd table up to a low limit, leaving `room` fds free. */
static int fill_fds(int *fds, int cap, int room) {
    int n = 0;
    while (n < cap && (fds[n] = dup(0)) >= 0) n++;
    while (room-- > 0 && n > 0) close(fds[--n]);
    return n;
}

static void test_exec_init_reports_emfile(void) {
    struct rlimit old, low;
    exec_t e2;
    int fds[1024], n, rc1, rc2, spare;
    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = 1024;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    /* Room for the epoll fd, not for the eventfd: the epoll fd is closed. */
    n = fill_fds(fds, 1024, 1);
    rc1 = exec_init(&e2);
    spare = dup(0); /* the one free slot must be free again */
    if (spare >= 0) close(spare);
    while (n > 0) close(fds[--n]);
    /* No room at all. */
    n = fill_fds(fds, 1024, 0);
    rc2 = exec_init(&e2);
    while (n > 0) close(fds[--n]);
    setrlimit(RLIMIT_NOFILE, &old);
    CHECK_EQ(rc1, -EMFILE);
    CHECK(spare >= 0);
    CHECK_EQ(rc2, -EMFILE);
}

/* ---- the backends (run on epoll and, in run.sh, on poll) ---------------- */

/* The same fd, or the same exec_io_t, registered twice: -EEXIST on every
 * backend (epoll_ctl says so; the poll backend's fd list would otherwise
 * loop back on itself and its wait overrun its pollfd array). */
static void test_backend_same_fd_twice_is_eexist(void) {
    exec_io_t a, b;
    int p[2];
    setup();
    CHECK_EQ(pipe(p), 0);
    CHECK_EQ(exec_io_start(&a, &ex, p[0]), 0);
    CHECK_EQ(exec_io_start(&b, &ex, p[0]), -EEXIST);
    CHECK_EQ(exec_io_start(&a, &ex, p[0]), -EEXIST);
    CHECK_EQ(ex.nio, 1);
    CHECK_EQ(exec_wait_(&ex, 0), 0);
    CHECK_EQ(exec_io_stop(&a), 0);
    CHECK_EQ(ex.nio, 0);
    close(p[0]);
    close(p[1]);
    exec_destroy(&ex);
}

/* A regular file is always "ready": waiting on one is a bug, refused on
 * every backend as epoll refuses it. */
static void test_backend_regular_file_is_eperm(void) {
    exec_io_t a;
    int fd;
    setup();
    fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK_EQ(exec_io_start(&a, &ex, fd), -EPERM);
    CHECK_EQ(ex.nio, 0);
    close(fd);
    CHECK_EQ(exec_io_start(&a, &ex, fd), -EBADF); /* closed */
    exec_destroy(&ex);
}

/* A remote wake made while the loop dispatches what its wait returned
 * (here by an fd's waker, on the loop thread, to be deterministic) needs
 * no eventfd / pipe write: the loop is awake. */
static exec_remote_t dispatch_r;
static void dispatch_fd_ready(future_waker_t *w) {
    (void)w;
    exec_remote_wake(&dispatch_r);
}

ASYNC_FN(remote_waiter, int unused;) {
    ASYNC_BEGIN(f);
    exec_remote_set_waker(&dispatch_r, cx->waker);
    YIELD(); /* woken by the remote wake only */
    ASYNC_END();
}

static void test_backend_no_wake_write_while_dispatching(void) {
    exec_io_t io;
    int p[2];
    future_waker_t hook = {dispatch_fd_ready};
    remote_waiter_t w = ASYNC_NEW(remote_waiter);
    setup();
    CHECK_EQ(pipe(p), 0);
    exec_remote_init(&dispatch_r, &ex);
    CHECK_EQ(exec_io_start(&io, &ex, p[0]), 0);
    io.reader = &hook;
    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_EQ(exec_block_on(&ex, &w), 0);
    CHECK_EQ(EXEC_LOAD_(&ex.stats.efd_writes), 0);
    CHECK_EQ(ex.stats.parks, 1);
    exec_remote_close(&dispatch_r);
    exec_io_stop(&io);
    close(p[0]);
    close(p[1]);
    exec_destroy(&ex);
}

/* The backend's own wake fd goes bad behind its back: the loop stops with
 * the wait's error, never spins until the timer is due. */
static void test_backend_bad_wake_fd_stops_the_loop(void) {
    timer_sleep_t s;
    int rc;
    setup();
    timer_sleep_init(&s, 200 * TIMER_MS);
#ifdef EXEC_BACKEND_POLL
    close(ex.wake_fds[0]);
#else
    close(ex.epfd);
#endif
    rc = exec_block_on(&ex, &s);
    CHECK(rc < 0);
    CHECK(ex.stats.turns < 10);
#ifdef EXEC_BACKEND_POLL
    ex.wake_fds[0] = -1; /* closed above: destroy closes the rest */
#else
    ex.epfd = -1;
#endif
    exec_destroy(&ex);
}

/* A wrapping 32-bit millisecond tick as the clock, on a hosted backend:
 * the real monotonic clock in ms, started 2 ms before the wrap. A 5 ms
 * sleep crosses the wrap and still never fires early. */
static uint32_t tick_ms(void *ctx) {
    return (uint32_t)(timer_clock_monotonic() / TIMER_MS) + *(uint32_t *)ctx;
}

static void test_backend_tick_clock_across_the_wrap(void) {
    nap_t a;
    uint32_t off;
    setup();
    off = 0xFFFFFFFEu - (uint32_t)(timer_clock_monotonic() / TIMER_MS);
    exec_set_tick_clock(&ex, tick_ms, &off, TIMER_MS);
    nap_init(&a, 5, 0, 0);
    CHECK_EQ(exec_block_on(&ex, &a), 0);
    CHECK(a.finished_at >= 5 * TIMER_MS);
    CHECK(tick_ms(&off) < 0x80000000u); /* it wrapped */
    /* The cap on waits: 2^31 ticks, whatever the tick's length. */
    CHECK_EQ(exec_tick_cap_(&ex, -1), (int64_t)(TIMER_MS << 31));
    CHECK_EQ(exec_tick_cap_(&ex, 7), 7);
    CHECK_EQ(exec_tick_cap_(&ex, INT64_MAX), (int64_t)(TIMER_MS << 31));
    ex.tick_ns = (uint64_t)1 << 40; /* so long a tick that 2^31 of them overflow */
    CHECK_EQ(exec_tick_cap_(&ex, -1), INT64_MAX);
    exec_destroy(&ex);
}

int main(void) {
    RUN(test_block_on_returns_the_error);
    RUN(test_spawn_is_lazy_until_the_loop_runs);
    RUN(test_join_handle_yields_the_result);
    RUN(test_spawning_a_live_task_is_ebusy);
    RUN(test_join_misuse_is_reported);
    RUN(test_abort_a_waiting_task);
    RUN(test_abort_a_queued_task_never_polls_it);
    RUN(test_a_task_may_abort_itself);
    RUN(test_dropping_a_join_handle_aborts_the_task);
    RUN(test_shutdown_drops_every_live_task);
    RUN(test_spawn_during_shutdown_is_refused);
    RUN(test_stall_is_reported_not_hung);
    RUN(test_unpaired_closes_keep_stalls_visible);
    RUN(test_async_backtrace);
    RUN(test_nested_block_on_is_refused);
    RUN(test_block_on_leaves_other_tasks_running);
    RUN(test_wake_of_a_finished_task_is_harmless);
    RUN(test_task_record_size);
    RUN(test_many_tasks_spawn_run_join);
    RUN(test_ready_queue_is_fifo);
    RUN(test_budget_stops_a_hog_starving_others);
    RUN(test_yielding_tasks_interleave);
    RUN(test_busy_loop_checks_io_once_per_turn);
    RUN(test_join_all_respects_the_budget);
    RUN(test_paused_clock_jumps_to_deadlines);
    RUN(test_clock_advance_and_resume);
    RUN(test_wake_storm_from_many_threads);
    RUN(test_busy_executor_gets_wakes_without_syscalls);
    RUN(test_remote_dropped_while_queued);
    RUN(test_clock_hold_stops_auto_advance);
    RUN(test_pipe_readiness_edge_triggered);
    RUN(test_dropped_io_waiter_is_forgotten);
    RUN(test_io_stop_wakes_the_waiter);
    RUN(test_detached_heap_tasks);
    RUN(test_exec_init_reports_emfile);
    RUN(test_backend_same_fd_twice_is_eexist);
    RUN(test_backend_regular_file_is_eperm);
    RUN(test_backend_no_wake_write_while_dispatching);
    RUN(test_backend_bad_wake_fd_stops_the_loop);
    RUN(test_backend_tick_clock_across_the_wrap);
    return check_summary();
}
