/* Tests of exec.h's task ids, per-task metrics, hooks and the timeline
 * (Chrome trace-event JSON). Time is the executor's: a simulated clock
 * (exec_set_clock on a variable a poll advances, as if it worked that
 * long) or the paused clock, so every figure is exact. The JSON is
 * checked by a small validator here, and by python3's json module when
 * python3 is installed. */
#include "check.h"
#define EXEC_METRICS 1 /* task ids, hooks, the timeline */
#include "../exec.h"
#include <sys/socket.h>

/* ---- helpers -------------------------------------------------------------- */

static exec_t ex;
static uint64_t fake_ns; /* the simulated clock */
static uint64_t fake_clock(void *ctx) {
    (void)ctx;
    return fake_ns;
}

static void setup_fake(void) {
    exec_init(&ex);
    fake_ns = TIMER_SEC; /* not 0: the trace's times are relative to its start */
    exec_set_clock(&ex, fake_clock, 0);
}

/* A task that works cost[i] ns in its i-th poll (advancing the clock),
 * then yields, until a 0 cost. */
typedef struct {
    future_t fut;
    const uint64_t *cost;
    int i;
} work_t;

static coro_poll_t work_poll(future_t *self, future_cx_t *cx) {
    work_t *w = (work_t *)(void *)self;
    fake_ns += w->cost[w->i++];
    if (!w->cost[w->i]) return future_finish(self, 0);
    future_wake(cx->waker);
    return CORO_PENDING;
}

static void work_init(work_t *w, const uint64_t *cost) {
    future_init(&w->fut, work_poll, 0);
    w->cost = cost;
    w->i = 0;
}

/* A waiter, pending until *flag; and a notifier, which wakes it (from its
 * own poll: a wake from task to task), then works 1 ms. */
static int flag;
static future_waker_t *slot;

static coro_poll_t waiter_poll(future_t *self, future_cx_t *cx) {
    if (flag) return future_finish(self, 0);
    slot = cx->waker;
    return CORO_PENDING;
}

static void waiter_drop(future_t *self) {
    (void)self;
    slot = 0;
}

static coro_poll_t notifier_poll(future_t *self, future_cx_t *cx) {
    (void)cx;
    flag = 1;
    future_wake(slot);
    fake_ns += TIMER_MS;
    return future_finish(self, 0);
}

/* waiter (id 1) and notifier (id 2) spawned outside any task, then run. */
static void run_wake_pair(void) {
    exec_task_t tw = {0}, tn = {0};
    future_t w, n;
    flag = 0;
    slot = 0;
    future_init(&w, waiter_poll, waiter_drop);
    future_init(&n, notifier_poll, 0);
    exec_spawn(&tw, &ex, &w);
    exec_spawn(&tn, &ex, &n);
    exec_task_set_name(&tw, "waiter");
    exec_run(&ex);
}

/* The JSON a trace writes, in a malloc'd string (the caller frees it). */
static char *json_of(const exec_trace_t *tr) {
    char *buf = 0;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) abort();
    if (exec_trace_write(tr, mem) != 0) abort();
    fclose(mem);
    return buf;
}

static int count_of(const char *text, const char *needle) {
    int n = 0;
    const char *p = text;
    while ((p = strstr(p, needle)) != 0) n++, p++;
    return n;
}

/* ---- a JSON validator (RFC 8259's grammar; no semantics) ----------------- */

static const char *js;
static void ws(void) {
    while (*js == ' ' || *js == '\n' || *js == '\t' || *js == '\r') js++;
}
static int value(int depth);
static int string(void) {
    if (*js++ != '"') return 0;
    while (*js != '"') {
        unsigned char c = (unsigned char)*js++;
        if (c < 0x20) return 0;
        if (c == '\\') {
            int i;
            c = (unsigned char)*js++;
            if (c == 'u') {
                for (i = 0; i < 4; i++, js++)
                    if (!strchr("0123456789abcdefABCDEF", *js) || !*js) return 0;
            } else if (!c || !strchr("\"\\/bfnrt", c)) return 0;
        }
    }
    js++;
    return 1;
}
static int digits(void) {
    const char *s = js;
    while (*js >= '0' && *js <= '9') js++;
    return js > s;
}
static int number(void) {
    if (*js == '-') js++;
    if (*js == '0') js++;
    else if (!digits()) return 0;
    if (*js == '.') {
        js++;
        if (!digits()) return 0;
    }
    if (*js == 'e' || *js == 'E') {
        js++;
        if (*js == '+' || *js == '-') js++;
        if (!digits()) return 0;
    }
    return 1;
}
static int members(int depth, char close) {
    ws();
    if (*js == close) return js++, 1;
    for (;;) {
        ws();
        if (close == '}') {
            if (!string()) return 0;
            ws();
            if (*js++ != ':') return 0;
        }
        if (!value(depth + 1)) return 0;
        ws();
        if (*js == close) return js++, 1;
        if (*js++ != ',') return 0;
    }
}
static int value(int depth) {
    ws();
    if (depth > 32) return 0;
    switch (*js) {
    case '{': return js++, members(depth, '}');
    case '[': return js++, members(depth, ']');
    case '"': return string();
    case 't': return strncmp(js, "true", 4) ? 0 : (js += 4, 1);
    case 'f': return strncmp(js, "false", 5) ? 0 : (js += 5, 1);
    case 'n': return strncmp(js, "null", 4) ? 0 : (js += 4, 1);
    default: return number();
    }
}
static int json_valid(const char *text) {
    js = text;
    if (!value(0)) return 0;
    ws();
    return *js == 0;
}

/* python3's json module agrees, and the events make sense to a viewer:
 * every flow has its two ends, every slice a ts and a dur. 1 if python3
 * is not installed. */
static int python_agrees(const char *text) {
    static const char prog[] =
        "import json,sys\n"
        "d=json.load(open(sys.argv[1]))\n"
        "ev=d['traceEvents']\n"
        "assert 'dropped_events' in d['otherData']\n"
        "s=sorted(e['id'] for e in ev if e['ph']=='s')\n"
        "f=sorted(e['id'] for e in ev if e['ph']=='f')\n"
        "assert s==f, (s,f)\n"
        "assert all('ts' in e and 'dur' in e for e in ev if e['ph']=='X')\n"
        "assert all(e['ph'] in 'XsfiM' for e in ev)\n";
    char path[] = "/tmp/weft_metrics_XXXXXX", py[] = "/tmp/weft_metrics_py_XXXXXX";
    char cmd[128];
    int fd, fd2, rc;
    FILE *f;
    if (system("python3 -c 'import json' >/dev/null 2>&1") != 0) return 1;
    if ((fd = mkstemp(path)) < 0) return 0;
    if ((fd2 = mkstemp(py)) < 0) return close(fd), unlink(path), 0;
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    f = fdopen(fd2, "w");
    fputs(prog, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "python3 %s %s", py, path);
    rc = system(cmd);
    unlink(path);
    unlink(py);
    return rc == 0;
}

/* ---- task ids ---------------------------------------------------------------- */

static void test_ids_count_spawns_per_executor(void) {
    exec_task_t a = {0}, b = {0};
    work_t wa, wb;
    static const uint64_t once[] = {1, 0};
    exec_t other;
    setup_fake();
    CHECK_EQ(exec_task_id(&a), 0); /* never spawned */
    work_init(&wa, once);
    work_init(&wb, once);
    exec_spawn(&a, &ex, &wa);
    exec_spawn(&b, &ex, &wb);
    CHECK_EQ(exec_task_id(&a), 1);
    CHECK_EQ(exec_task_id(&b), 2);
    CHECK_EQ(exec_run(&ex), 0);
    work_init(&wa, once);
    exec_spawn(&a, &ex, &wa); /* spawned again: a new id */
    CHECK_EQ(exec_task_id(&a), 3);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(exec_block_on(&ex, &wb), 0); /* the main task counts too */
    CHECK_EQ(exec_task_id(&ex.main_task), 4);
    exec_init(&other); /* ids are per executor */
    work_init(&wb, once);
    exec_spawn(&b, &other, &wb);
    CHECK_EQ(exec_task_id(&b), 1);
    exec_destroy(&other);
    exec_destroy(&ex);
}

/* ---- per-task metrics -------------------------------------------------------- */

static void test_metrics_off_counts_nothing(void) {
    exec_task_t a = {0};
    work_t w;
    static const uint64_t cost[] = {3 * TIMER_MS, 5 * TIMER_MS, 0};
    setup_fake();
    CHECK_EQ(exec_metrics_on(&ex), 0); /* off by default */
    work_init(&w, cost);
    exec_spawn(&a, &ex, &w);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(ex.stats.polls, 2); /* the executor's count is always kept */
    CHECK_EQ(exec_task_metrics(&a)->polls, 0);
    CHECK_EQ(exec_task_metrics(&a)->wakes, 0);
    CHECK_EQ(exec_task_metrics(&a)->busy_ns, 0);
    CHECK_EQ(ex.instr, 0);
    exec_destroy(&ex);
}

/* a works 3 ms and yields, then 5 ms; b, spawned after it, works 2 ms:
 * a 0..3, b 3..5, a 5..10 on the simulated clock. */
static void test_metrics_busy_longest_queued(void) {
    exec_task_t a = {0}, b = {0};
    work_t wa, wb;
    static const uint64_t ca[] = {3 * TIMER_MS, 5 * TIMER_MS, 0}, cb[] = {2 * TIMER_MS, 0};
    const exec_task_metrics_t *ma = exec_task_metrics(&a), *mb = exec_task_metrics(&b);
    setup_fake();
    exec_set_metrics(&ex, 1);
    CHECK_EQ(exec_metrics_on(&ex), 1);
    work_init(&wa, ca);
    work_init(&wb, cb);
    exec_spawn(&a, &ex, &wa);
    exec_spawn(&b, &ex, &wb);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(ma->polls, 2);
    CHECK_EQ(ma->wakes, 1); /* its yield */
    CHECK_EQ(ma->busy_ns, 8 * TIMER_MS);
    CHECK_EQ(ma->max_poll_ns, 5 * TIMER_MS);
    CHECK_EQ(ma->queued_ns, 2 * TIMER_MS); /* queued at 3 (its poll's end), run at 5 */
    CHECK_EQ(mb->polls, 1);
    CHECK_EQ(mb->wakes, 0);
    CHECK_EQ(mb->busy_ns, 2 * TIMER_MS);
    CHECK_EQ(mb->max_poll_ns, 2 * TIMER_MS);
    CHECK_EQ(mb->queued_ns, 3 * TIMER_MS); /* spawned at 0, first polled at 3 */
    /* Off again: nothing more is counted (a spawn leaves them as they were). */
    exec_set_metrics(&ex, 0);
    work_init(&wa, ca);
    exec_spawn(&a, &ex, &wa);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(ma->polls, 2);
    CHECK_EQ(ma->busy_ns, 8 * TIMER_MS);
    /* On: a spawn starts them from 0. */
    exec_set_metrics(&ex, 1);
    work_init(&wa, cb);
    exec_spawn(&a, &ex, &wa);
    CHECK_EQ(ma->polls, 0);
    CHECK_EQ(ma->busy_ns, 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(ma->polls, 1);
    CHECK_EQ(ma->busy_ns, 2 * TIMER_MS);
    exec_destroy(&ex);
}

/* A wake from another task: counted on the woken one, and its queued time
 * runs from the wake (the notifier works 1 ms after it). */
static void test_metrics_wake_from_a_task(void) {
    exec_task_t tw = {0}, tn = {0};
    future_t w, n;
    setup_fake();
    exec_set_metrics(&ex, 1);
    flag = 0;
    future_init(&w, waiter_poll, waiter_drop);
    future_init(&n, notifier_poll, 0);
    exec_spawn(&tw, &ex, &w);
    exec_spawn(&tn, &ex, &n);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(exec_task_metrics(&tw)->wakes, 1);
    CHECK_EQ(exec_task_metrics(&tw)->polls, 2);
    CHECK_EQ(exec_task_metrics(&tw)->queued_ns, TIMER_MS);
    CHECK_EQ(exec_task_metrics(&tn)->busy_ns, TIMER_MS);
    exec_destroy(&ex);
}

/* Turned on while tasks are queued: their queued time starts then. */
static void test_metrics_turned_on_with_tasks_queued(void) {
    exec_task_t a = {0};
    work_t w;
    static const uint64_t cost[] = {1, 0};
    setup_fake();
    work_init(&w, cost);
    exec_spawn(&a, &ex, &w); /* queued at 1 s, metrics off */
    fake_ns += 7 * TIMER_MS;
    exec_set_metrics(&ex, 1); /* from here: 7 ms */
    fake_ns += 4 * TIMER_MS;
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(exec_task_metrics(&a)->queued_ns, 4 * TIMER_MS);
    exec_destroy(&ex);
}

/* Switched from inside a poll: that poll is not measured (its start was
 * not), the next is; everything off, then on again inside a poll, leaves
 * nothing stale. */
typedef struct {
    future_t fut;
    int step;
} switcher_t;

static int hook_starts, hook_ends;
static void count_start(void *ctx, exec_task_t *t) {
    (void)ctx;
    (void)t;
    hook_starts++;
}
static void count_end(void *ctx, exec_task_t *t, int ready) {
    (void)ctx;
    (void)t;
    (void)ready;
    hook_ends++;
}
static const exec_hooks_t counting = {0, count_start, count_end, 0, 0};

static coro_poll_t switcher_poll(future_t *self, future_cx_t *cx) {
    switcher_t *s = (switcher_t *)(void *)self;
    exec_t *e = exec_of(cx);
    fake_ns += TIMER_MS;
    switch (s->step++) {
    case 0: exec_set_metrics(e, 1); exec_set_hooks(e, &counting, 0); break; /* not this poll */
    case 1: break;                                                            /* measured */
    case 2: exec_set_hooks(e, 0, 0); break; /* metrics still on: its end is */
    case 3: exec_set_metrics(e, 0); break;  /* all off: its end forgotten */
    case 4: exec_set_metrics(e, 1); break;  /* on inside: not this poll */
    default: return future_finish(self, 0);
    }
    future_wake(cx->waker);
    return CORO_PENDING;
}

static void test_metrics_switched_inside_a_poll(void) {
    exec_task_t t = {0};
    switcher_t s;
    setup_fake();
    future_init(&s.fut, switcher_poll, 0);
    s.step = 0;
    hook_starts = hook_ends = 0;
    exec_spawn(&t, &ex, &s);
    CHECK_EQ(exec_run(&ex), 0);
    /* On again (in poll 4): counted from 0, from poll 5 (1 ms). Before,
     * polls 1 and 2 were measured whole, poll 3's start only. */
    CHECK_EQ(exec_task_metrics(&t)->polls, 1);
    CHECK_EQ(exec_task_metrics(&t)->busy_ns, TIMER_MS);
    CHECK_EQ(hook_starts, 2); /* polls 1 and 2 */
    CHECK_EQ(hook_ends, 1);   /* poll 2 ended with the hooks gone */
    exec_destroy(&ex);
}

/* With the blocked-executor detector on as well: both work. */
static void test_metrics_with_the_block_detector(void) {
    exec_task_t a = {0};
    work_t w;
    static const uint64_t cost[] = {TIMER_MS, TIMER_MS, 0};
    FILE *out = tmpfile();
    setup_fake();
    CHECK(out != 0);
    exec_set_metrics(&ex, 1);
    exec_set_block_threshold(&ex, 1, out); /* every poll takes longer */
    work_init(&w, cost);
    exec_spawn(&a, &ex, &w);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(ex.block_reports, 2);
    CHECK_EQ(exec_task_metrics(&a)->busy_ns, 2 * TIMER_MS);
    exec_set_block_threshold(&ex, 0, 0);
    CHECK_EQ(ex.instr, EXEC_INSTR_METRICS_);
    exec_set_metrics(&ex, 0);
    CHECK_EQ(ex.instr, 0);
    fclose(out);
    exec_destroy(&ex);
}

/* exec_dump shows the metrics under each task, only while they are on. */
static char *dump(void) {
    char *buf = 0;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) abort();
    exec_dump(&ex, mem);
    fclose(mem);
    return buf;
}

static void test_dump_shows_metrics(void) {
    exec_task_t tw = {0};
    future_t w;
    char *text;
    setup_fake();
    flag = 0;
    future_init(&w, waiter_poll, waiter_drop);
    exec_spawn(&tw, &ex, &w);
    exec_task_set_name(&tw, "waiter");
    exec_set_metrics(&ex, 1);
    fake_ns += 2 * TIMER_MS; /* queued 2 ms */
    exec_poll_task_(&ex, exec_pop_(&ex)); /* one poll: it waits */
    text = dump();
    if (!strstr(text, "  task \"waiter\"\n    [id 1: 1 polls, 0 wakes, busy 0.000 ms, "
                      "longest poll 0.000 ms, queued 2.000 ms]\n"))
        printf("    dump:\n%s", text), check_failed_now_ = 1;
    free(text);
    exec_set_metrics(&ex, 0);
    text = dump();
    if (strstr(text, "[id")) printf("    dump:\n%s", text), check_failed_now_ = 1;
    free(text);
    exec_destroy(&ex);
}

/* ---- per-executor counters --------------------------------------------------- */

static coro_poll_t sleeps_poll(future_t *self, future_cx_t *cx);
typedef struct {
    future_t fut;
    int i;
    timer_sleep_t nap;
} sleeps_t;

/* Sleeps of 10 and 20 ms, one after the other. */
static coro_poll_t sleeps_poll(future_t *self, future_cx_t *cx) {
    sleeps_t *f = (sleeps_t *)(void *)self;
    ASYNC_BEGIN(f);
    for (f->i = 1; f->i <= 2; f->i++) {
        timer_sleep_init(&f->nap, (uint64_t)f->i * 10 * TIMER_MS);
        AWAIT(cx, &f->nap);
    }
    ASYNC_END();
}

typedef struct {
    future_t fut;
    exec_io_t *io;
} readable_t;

static coro_poll_t readable_poll(future_t *self, future_cx_t *cx) {
    readable_t *r = (readable_t *)(void *)self;
    if (exec_io_poll(r->io, cx, EXEC_IO_READ) == CORO_PENDING) return CORO_PENDING;
    return future_finish(self, 0);
}

static void test_executor_counts_timer_fires_and_io_events(void) {
    sleeps_t s;
    readable_t r;
    exec_io_t io;
    int sv[2];
    exec_init(&ex);
    exec_clock_pause(&ex);
    future_init(&s.fut, sleeps_poll, 0);
    CHECK_EQ(exec_block_on(&ex, &s), 0);
    CHECK_EQ(ex.stats.timer_fires, 2);
    CHECK_EQ(ex.stats.io_events, 0);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    CHECK_EQ(exec_io_start(&io, &ex, sv[0]), 0);
    CHECK_EQ(write(sv[1], "x", 1), 1);
    future_init(&r.fut, readable_poll, 0);
    r.io = &io;
    CHECK_EQ(exec_block_on(&ex, &r), 0);
    CHECK(ex.stats.io_events >= 1);
    exec_io_stop(&io);
    close(sv[0]);
    close(sv[1]);
    exec_destroy(&ex);
}

/* ---- hooks ------------------------------------------------------------------- */

static char hook_log[512];
static void logf_(const char *fmt, unsigned long long a, long long b) {
    size_t n = strlen(hook_log);
    snprintf(hook_log + n, sizeof hook_log - n, fmt, a, b);
}
static void h_spawn(void *ctx, exec_task_t *t) {
    CHECK(ctx == &ex);
    logf_("spawn %llu%.0lld; ", exec_task_id(t), 0);
}
static void h_start(void *ctx, exec_task_t *t) {
    (void)ctx;
    logf_("start %llu%.0lld; ", exec_task_id(t), 0);
}
static void h_end(void *ctx, exec_task_t *t, int ready) {
    (void)ctx;
    logf_(ready ? "end %llu ready%.0lld; " : "end %llu%.0lld; ", exec_task_id(t), 0);
}
static void h_wake(void *ctx, exec_task_t *t, exec_task_t *by) {
    (void)ctx;
    logf_("wake %llu by %lld; ", exec_task_id(t), by ? (long long)exec_task_id(by) : 0);
}
static void h_finish(void *ctx, exec_task_t *t, int err) {
    (void)ctx;
    logf_("finish %llu: %lld; ", exec_task_id(t), err);
}
static const exec_hooks_t all_hooks = {h_spawn, h_start, h_end, h_wake, h_finish};

static void test_hooks_see_every_step(void) {
    setup_fake();
    hook_log[0] = 0;
    exec_set_hooks(&ex, &all_hooks, &ex);
    run_wake_pair();
    if (strcmp(hook_log, "spawn 1; spawn 2; start 1; end 1; start 2; wake 1 by 2; "
                         "end 2 ready; finish 2: 0; start 1; end 1 ready; finish 1: 0; ")) {
        printf("    log: %s\n", hook_log);
        check_failed_now_ = 1;
        return;
    }
    CHECK_EQ(exec_task_metrics(&ex.main_task)->polls, 0); /* hooks alone: no clock */
    /* Off: nothing more. */
    exec_set_hooks(&ex, 0, 0);
    hook_log[0] = 0;
    run_wake_pair();
    CHECK_EQ(strlen(hook_log), 0);
    exec_destroy(&ex);
}

/* A wake from the loop (a timer) has no waker task; an abort is an end. */
static void test_hooks_loop_wake_and_abort(void) {
    exec_task_t t = {0}, u = {0};
    sleeps_t s;
    future_t w;
    exec_init(&ex);
    exec_clock_pause(&ex);
    hook_log[0] = 0;
    exec_set_hooks(&ex, &all_hooks, &ex);
    future_init(&s.fut, sleeps_poll, 0);
    exec_spawn(&t, &ex, &s);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strstr(hook_log, "wake 1 by 0; ") != 0);
    flag = 0;
    future_init(&w, waiter_poll, waiter_drop);
    exec_spawn(&u, &ex, &w);
    hook_log[0] = 0;
    exec_abort(&u);
    if (strcmp(hook_log, "finish 2: -125; ")) printf("    log: %s\n", hook_log), check_failed_now_ = 1;
    exec_destroy(&ex);
}

/* Only some callbacks: the others are skipped. */
static int finishes;
static void only_finish(void *ctx, exec_task_t *t, int err) {
    (void)ctx;
    (void)t;
    (void)err;
    finishes++;
}
static void test_hooks_partial(void) {
    static const exec_hooks_t h = {0, 0, 0, 0, only_finish};
    setup_fake();
    exec_set_metrics(&ex, 1); /* the clocked path with hooks too */
    exec_set_hooks(&ex, &h, 0);
    finishes = 0;
    run_wake_pair();
    CHECK_EQ(finishes, 2);
    exec_destroy(&ex);
}

/* A task both in a scope and joined by an exec_join_t ends: the wake it
 * makes (the scope's waiter and the joiner are one task) names it. Its join handle keeps
 * the name while it waits, and gives it back before the wakes. */
static char wakers[2][16];
static int nwakers, spawned;
static void name_waker(void *ctx, exec_task_t *t, exec_task_t *by) {
    const char *name = by ? exec_task_name(by) : 0;
    (void)ctx;
    (void)t;
    if (by && nwakers < 2) snprintf(wakers[nwakers++], sizeof wakers[0], "%s", name ? name : "-");
}
ASYNC_FN(napper, timer_sleep_t s;) {
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->s, TIMER_MS);
    AWAIT(cx, &f->s);
    ASYNC_END();
}
ASYNC_FN(scoped_joined, exec_scope_t s; napper_t w; exec_task_t t; exec_scope_next_t n;
         exec_join_t j;) {
    ASYNC_BEGIN(f);
    SCOPE_INIT(cx, &f->s);
    f->w = ASYNC_NEW(napper);
    spawned = exec_scope_spawn(&f->s, &f->t, &f->w);
    exec_task_set_name(&f->t, "worker");
    exec_scope_next_init(&f->n, &f->s);
    exec_join_init(&f->j, &f->t);
    JOIN(cx, &f->n, &f->j);
    ASYNC_END();
}
static void test_hooks_name_the_waker_scoped_and_joined(void) {
    static const exec_hooks_t h = {0, 0, 0, name_waker, 0};
    scoped_joined_t a = ASYNC_NEW(scoped_joined);
    exec_init(&ex);
    exec_clock_pause(&ex);
    exec_set_hooks(&ex, &h, 0);
    nwakers = 0;
    CHECK_EQ(exec_block_on(&ex, &a), 0);
    CHECK_EQ(spawned, 0);
    CHECK_EQ(nwakers, 1); /* the second wake finds the task queued */
    CHECK(strcmp(wakers[0], "worker") == 0);
    exec_destroy(&ex);
}

/* ---- the timeline ------------------------------------------------------------ */

/* Polls as slices, a wake as an arrow from the notifier's poll to the
 * waiter's next, names, ends: exact on the simulated clock. */
static void test_trace_polls_wakes_names(void) {
    exec_trace_event_t buf[64];
    exec_trace_t tr;
    char *text;
    setup_fake();
    CHECK_EQ(exec_trace_start(&ex, &tr, buf, 64), 0);
    run_wake_pair();
    exec_trace_stop(&ex);
    CHECK_EQ(ex.instr, 0);
    CHECK_EQ(tr.len, 9); /* 2 spawns, a name, 3 polls, a wake, 2 ends */
    CHECK_EQ(tr.dropped, 0);
    text = json_of(&tr);
    CHECK(json_valid(text));
    CHECK(python_agrees(text));
#define HAS(s)                                                                 \
    do {                                                                       \
        if (!strstr(text, (s))) {                                              \
            printf("    no %s in:\n%s", (s), text);                            \
            check_failed_now_ = 1;                                             \
            free(text);                                                        \
            return;                                                            \
        }                                                                      \
    } while (0)
    HAS("\"otherData\":{\"generator\":\"weft exec.h\",\"events\":9,\"dropped_events\":0}");
    HAS("{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"task 1\"}}");
    HAS("{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"waiter\"}}");
    HAS("{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":2,\"args\":{\"name\":\"task 2\"}}");
    HAS("{\"ph\":\"X\",\"cat\":\"exec\",\"name\":\"poll\",\"pid\":1,\"tid\":1,\"ts\":0.000,\"dur\":0.000}");
    HAS("{\"ph\":\"X\",\"cat\":\"exec\",\"name\":\"poll\",\"pid\":1,\"tid\":2,\"ts\":0.000,\"dur\":1000.000}");
    HAS("{\"ph\":\"X\",\"cat\":\"exec\",\"name\":\"poll\",\"pid\":1,\"tid\":1,\"ts\":1000.000,\"dur\":0.000}");
    /* the arrow: from the notifier's poll (its start) to the waiter's next */
    HAS("{\"ph\":\"s\",\"cat\":\"exec\",\"name\":\"wake\",\"pid\":1,\"tid\":2,\"ts\":0.000,\"id\":5}");
    HAS("{\"ph\":\"f\",\"cat\":\"exec\",\"name\":\"wake\",\"pid\":1,\"tid\":1,\"ts\":1000.000,\"bp\":\"e\",\"id\":5}");
    HAS("{\"ph\":\"i\",\"cat\":\"exec\",\"name\":\"end\",\"pid\":1,\"tid\":2,\"ts\":1000.000,\"s\":\"t\",\"args\":{\"err\":0}}");
    /* the waiter's life, from its spawn to its end: its wait shows */
    HAS("{\"ph\":\"X\",\"cat\":\"exec\",\"name\":\"alive\",\"pid\":1,\"tid\":1,\"ts\":0.000,\"dur\":1000.000}");
    CHECK_EQ(count_of(text, "\"name\":\"poll\""), 3);
    CHECK_EQ(count_of(text, "\"name\":\"alive\""), 2);
    CHECK_EQ(count_of(text, "\"ph\":\"s\""), 1);
    free(text);
    exec_destroy(&ex);
}

/* The paused clock: polls land exactly at the timers' deadlines, and a
 * spawn from a task is an arrow too; the main task is named. */
typedef struct {
    future_t fut;
    exec_task_t t;
    sleeps_t child;
    exec_join_t join;
} parent_t;

static coro_poll_t parent_poll(future_t *self, future_cx_t *cx) {
    parent_t *p = (parent_t *)(void *)self;
    ASYNC_BEGIN(p);
    future_init(&p->child.fut, sleeps_poll, 0);
    SPAWN(cx, &p->t, &p->child);
    exec_task_set_name(&p->t, "sleeps \"10\\20\"\n"); /* escaped in the JSON */
    exec_join_init(&p->join, &p->t);
    AWAIT(cx, &p->join);
    ASYNC_END();
}

static void test_trace_paused_clock_and_spawn(void) {
    exec_trace_event_t buf[64];
    exec_trace_t tr;
    parent_t p;
    char *text;
    memset(&p, 0, sizeof p); /* its task record: zeroed before its first spawn */
    exec_init(&ex);
    exec_clock_pause(&ex);
    exec_clock_advance(&ex, 5 * TIMER_SEC); /* the start is ts 0 wherever it is */
    CHECK_EQ(exec_trace_start(&ex, &tr, buf, 64), 0);
    future_init(&p.fut, parent_poll, 0);
    CHECK_EQ(exec_block_on(&ex, &p), 0);
    exec_trace_stop(&ex);
    text = json_of(&tr);
    CHECK(json_valid(text));
    CHECK(python_agrees(text));
    HAS("\"tid\":1,\"args\":{\"name\":\"main\"}}");
    HAS("\"tid\":2,\"args\":{\"name\":\"sleeps \\\"10\\\\20\\\"\\u000a\"}}");
    HAS("{\"ph\":\"X\",\"cat\":\"exec\",\"name\":\"poll\",\"pid\":1,\"tid\":2,\"ts\":0.000,\"dur\":0.000}");
    HAS("{\"ph\":\"X\",\"cat\":\"exec\",\"name\":\"poll\",\"pid\":1,\"tid\":2,\"ts\":10000.000,\"dur\":0.000}");
    HAS("{\"ph\":\"X\",\"cat\":\"exec\",\"name\":\"poll\",\"pid\":1,\"tid\":2,\"ts\":30000.000,\"dur\":0.000}");
    HAS("{\"ph\":\"X\",\"cat\":\"exec\",\"name\":\"poll\",\"pid\":1,\"tid\":1,\"ts\":30000.000,\"dur\":0.000}");
    HAS("{\"ph\":\"s\",\"cat\":\"exec\",\"name\":\"spawn\",\"pid\":1,\"tid\":1,\"ts\":0.000");
    HAS("{\"ph\":\"f\",\"cat\":\"exec\",\"name\":\"spawn\",\"pid\":1,\"tid\":2,\"ts\":0.000");
    /* the child's end wakes main through the join handle */
    HAS("{\"ph\":\"s\",\"cat\":\"exec\",\"name\":\"wake\",\"pid\":1,\"tid\":2,\"ts\":30000.000");
    HAS("{\"ph\":\"f\",\"cat\":\"exec\",\"name\":\"wake\",\"pid\":1,\"tid\":1,\"ts\":30000.000");
    free(text);
    exec_destroy(&ex);
}

/* Started with tasks alive: their names come first. A task aborted before
 * its next poll gets no arrow (the scan stops at its end). */
static void test_trace_started_late_and_aborts(void) {
    exec_trace_event_t buf[64];
    exec_trace_t tr;
    exec_task_t t = {0}, u = {0};
    future_t w, n;
    char *text;
    setup_fake();
    flag = 0;
    future_init(&w, waiter_poll, waiter_drop);
    exec_spawn(&t, &ex, &w);
    exec_task_set_name(&t, "early");
    exec_poll_task_(&ex, exec_pop_(&ex)); /* it waits */
    CHECK_EQ(exec_trace_start(&ex, &tr, buf, 64), 0);
    CHECK_EQ(tr.len, 1);
    future_init(&n, notifier_poll, 0);
    exec_spawn(&u, &ex, &n); /* wakes t */
    exec_poll_task_(&ex, exec_pop_(&ex)); /* u only... */
    exec_abort(&t);                       /* ...t goes before its poll */
    exec_trace_stop(&ex);
    text = json_of(&tr);
    CHECK(json_valid(text));
    CHECK(python_agrees(text));
    HAS("\"tid\":1,\"args\":{\"name\":\"early\"}}");
    HAS("\"tid\":1,\"ts\":1000.000,\"s\":\"t\",\"args\":{\"err\":-125}}");
    CHECK_EQ(count_of(text, "\"ph\":\"s\""), 0); /* the wake has no arrow */
    free(text);
    exec_destroy(&ex);
}

/* A full buffer: the rest is counted as dropped and the JSON says so;
 * arrows whose polls were dropped are left out; still valid JSON. */
static void test_trace_full_buffer_counts_drops(void) {
    exec_trace_event_t buf[4];
    exec_trace_t tr;
    char *text;
    setup_fake();
    CHECK_EQ(exec_trace_start(&ex, &tr, buf, 4), 0);
    run_wake_pair();
    exec_trace_stop(&ex);
    CHECK_EQ(tr.len, 4);
    CHECK_EQ(tr.dropped, 5);
    text = json_of(&tr);
    CHECK(json_valid(text));
    CHECK(python_agrees(text));
    HAS("\"events\":4,\"dropped_events\":5}");
    CHECK_EQ(count_of(text, "\"ph\":\"s\""), count_of(text, "\"ph\":\"f\""));
    free(text);
    /* No buffer at all: everything dropped. */
    CHECK_EQ(exec_trace_start(&ex, &tr, 0, 0), 0);
    run_wake_pair();
    exec_trace_stop(&ex);
    CHECK_EQ(tr.len, 0);
    CHECK_EQ(tr.dropped, 9);
    text = json_of(&tr);
    CHECK(json_valid(text));
    free(text);
    exec_destroy(&ex);
}

static void test_trace_misuse_and_write_error(void) {
    exec_trace_event_t buf[4];
    exec_trace_t tr, tr2;
    FILE *ro;
    int rc = 0;
    exec_init(&ex);
    CHECK_MISUSE(rc = exec_trace_start(&ex, 0, buf, 4), "exec_trace_start without");
    CHECK_EQ(rc, -EINVAL);
    CHECK_MISUSE(rc = exec_trace_start(&ex, &tr, 0, 4), "exec_trace_start without");
    CHECK_EQ(rc, -EINVAL);
    CHECK_EQ(exec_trace_start(&ex, &tr, buf, 4), 0);
    CHECK_MISUSE(rc = exec_trace_start(&ex, &tr2, buf, 4), "exec_trace_stop it first");
    CHECK_EQ(rc, -EBUSY);
    exec_trace_stop(&ex);
    ro = fopen("/dev/null", "r"); /* writes to it fail */
    CHECK(ro != 0);
    CHECK_EQ(exec_trace_write(&tr, ro), -EIO);
    fclose(ro);
    exec_destroy(&ex);
}

/* A relay: waits for *in (registering in *in_slot), then sets *out and
 * wakes *out_slot from its own poll. */
typedef struct {
    future_t fut;
    int *in, *out;
    future_waker_t **in_slot, **out_slot;
} relay_t;

static coro_poll_t relay_poll(future_t *self, future_cx_t *cx) {
    relay_t *r = (relay_t *)(void *)self;
    if (!*r->in) {
        *r->in_slot = cx->waker;
        return CORO_PENDING;
    }
    *r->out = 1;
    future_wake(*r->out_slot);
    return future_finish(self, 0);
}

/* The rarer turns of the recorder and the writer: a self-wake (no arrow),
 * hooks with most callbacks missing, a name given to a finished task,
 * metrics turned on twice, names dropped at the start, a wake whose
 * waker's poll was dropped, and a chain (the woken task wakes another in
 * the poll the arrow ends at). */
static void test_trace_edges(void) {
    exec_trace_event_t buf[64];
    exec_trace_t tr;
    exec_task_t a = {0}, b = {0}, c = {0};
    work_t w;
    relay_t rb, rc;
    future_t n;
    int fc = 0, done = 0;
    future_waker_t *sb = 0, *sc = 0, *none = 0;
    static const uint64_t cost[] = {TIMER_MS, TIMER_MS, 0};
    char *text;
    setup_fake();
    exec_set_metrics(&ex, 1);
    exec_set_metrics(&ex, 1); /* already on */
    exec_set_hooks(&ex, &counting, 0);
    CHECK_EQ(exec_trace_start(&ex, &tr, buf, 64), 0);
    work_init(&w, cost);
    exec_spawn(&a, &ex, &w);
    CHECK_EQ(exec_run(&ex), 0);
    exec_task_set_name(&a, "late"); /* finished: nothing recorded */
    /* c waits for fc; b waits for fb, then wakes c; the notifier wakes b. */
    rc.in = &fc, rc.in_slot = &sc, rc.out = &done, rc.out_slot = &none;
    rb.in = &flag, rb.in_slot = &sb, rb.out = &fc, rb.out_slot = &sc;
    future_init(&rc.fut, relay_poll, 0);
    future_init(&rb.fut, relay_poll, 0);
    exec_spawn(&c, &ex, &rc);
    exec_spawn(&b, &ex, &rb);
    flag = 0;
    ex.log = 0;
    CHECK_EQ(exec_run(&ex), -EDEADLK); /* both wait: nothing can wake them */
    future_init(&n, notifier_poll, 0);
    slot = sb;
    exec_spawn(&a, &ex, &n); /* as notifier_poll, on b's slot */
    CHECK_EQ(exec_run(&ex), 0);
    exec_trace_stop(&ex);
    CHECK_EQ(hook_starts > 0, 1);
    text = json_of(&tr);
    CHECK(json_valid(text));
    CHECK(python_agrees(text));
    CHECK_EQ(count_of(text, "\"name\":\"wake\""), 4); /* a to b, b to c: 2 arrows */
    free(text);
    /* Names dropped at the start; a wake whose waker's poll is dropped. */
    exec_set_hooks(&ex, 0, 0);
    flag = 0;
    slot = 0;
    future_init(&n, waiter_poll, waiter_drop);
    exec_spawn(&a, &ex, &n);
    CHECK_EQ(exec_trace_start(&ex, &tr, 0, 0), 0);
    CHECK_EQ(tr.dropped, 1);
    exec_trace_stop(&ex);
    exec_abort(&a);
    CHECK_EQ(exec_trace_start(&ex, &tr, buf, 5), 0); /* ends at the wake */
    run_wake_pair();
    exec_trace_stop(&ex);
    CHECK_EQ(tr.len, 5);
    CHECK_EQ(buf[4].kind, EXEC_TRACE_WAKE);
    text = json_of(&tr);
    CHECK(json_valid(text));
    CHECK_EQ(count_of(text, "\"ph\":\"s\""), 0);
    free(text);
    exec_destroy(&ex);
}

/* The record's growth is bounded: 48 bytes of id and metrics. */
static void test_task_record_size(void) {
    CHECK_EQ(sizeof(exec_task_metrics_t), 48);
    CHECK(sizeof(exec_task_t) <= (11 * sizeof(void *) + 2 * sizeof(int) + 7) / 8 * 8 + 48);
}

int main(void) {
    RUN(test_ids_count_spawns_per_executor);
    RUN(test_metrics_off_counts_nothing);
    RUN(test_metrics_busy_longest_queued);
    RUN(test_metrics_wake_from_a_task);
    RUN(test_metrics_turned_on_with_tasks_queued);
    RUN(test_metrics_switched_inside_a_poll);
    RUN(test_metrics_with_the_block_detector);
    RUN(test_dump_shows_metrics);
    RUN(test_executor_counts_timer_fires_and_io_events);
    RUN(test_hooks_see_every_step);
    RUN(test_hooks_loop_wake_and_abort);
    RUN(test_hooks_partial);
    RUN(test_trace_polls_wakes_names);
    RUN(test_trace_paused_clock_and_spawn);
    RUN(test_trace_started_late_and_aborts);
    RUN(test_trace_full_buffer_counts_drops);
    RUN(test_trace_misuse_and_write_error);
    RUN(test_trace_edges);
    RUN(test_task_record_size);
    RUN(test_hooks_name_the_waker_scoped_and_joined);
    return check_summary();
}
