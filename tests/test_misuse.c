/* Death tests of the misuse reports, as the library makes them by default.
 *
 * Every other test includes check.h first, whose FUTURE_MISUSE counts a
 * report and carries on. This file does not: the headers are compiled
 * with their default report (flush stdout, print "file:line: misuse: ..."
 * to stderr, abort()), and each case runs in a forked child. The parent
 * checks that the child
 *   - died of SIGABRT (a report, not a SIGSEGV, not a silent exit),
 *   - said "misuse: " and the words that name the mistake on stderr,
 *   - named the file:line of the user's code where the report has one (a
 *     suspension inside the user's own switch: that suspension; a `break`
 *     out of the body: ASYNC_END; a future awaited twice: where it was last
 *     suspended),
 *   - did not lose what it had printed to stdout (without a newline, without
 *     a flush) before the mistake.
 * The line numbers expected are not taken from the library: the parent
 * runs the same code once without the mistake, which records __LINE__ of
 * the statement in a global (`x_line_ = __LINE__; AWAIT(...)` on one line).
 *
 * Built with -DNDEBUG the same file checks the release form instead: no
 * report, no abort, and each case's documented error value (the child
 * exits 0 only if the values are right). The in-process checks of those
 * values under check.h's counting report are in test_owner.c ("misuse,
 * counted"), because one translation unit compiles the headers one way.
 *
 * With -DCORO_USE_LABELS=1 the switch and break cases are left out (under
 * labels a suspension inside a switch works, which is tested instead, and a
 * bare break at the top of the body does not compile: see
 * tests/compile_fail.sh). */
#include "../exec.h"
/* check.h for RUN / CHECK / check_summary only. Its counting FUTURE_MISUSE
 * must not replace the library's: the headers above are already compiled
 * with the default, and nothing below expands FUTURE_MISUSE. */
#undef FUTURE_MISUSE
#include "check.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#if defined(CORO_USE_LABELS) && CORO_USE_LABELS
#define LABELS_ 1
#else
#define LABELS_ 0
#endif

static exec_t ex;

static void noop_wake(future_waker_t *w) { (void)w; }
static future_waker_t noop_waker = {noop_wake};

/* A context with nothing behind it, for the parent's dry runs. */
static future_cx_t dry_cx(void) {
    future_cx_t cx;
    future_cx_init(&cx, &noop_waker);
    return cx;
}

static void setup(void) {
    if (exec_init(&ex) != 0) abort();
    ex.log = 0;
    exec_clock_pause(&ex);
}

/* ---- the harness -------------------------------------------------------- */

typedef struct {
    int status;      /* from waitpid */
    char out[4096];  /* the child's stdout */
    char err[16384]; /* the child's stderr */
} death_t;

static void slurp_(FILE *f, char *buf, size_t cap) {
    size_t n;
    rewind(f);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
}

/* Run fn in a child with stdout and stderr going to files. The child
 * prints `before` (no newline, no flush) first. fn returns 0 when the
 * values after the misuse are the documented ones (reached only when the
 * report does not abort: -DNDEBUG). */

/* A coverage build (gcc --coverage) writes its counts at exit, which an
 * abort skips: the report's own lines would count as never run. Write
 * them first (tests/coverage.sh defines CHECK_COVERAGE), then die of
 * SIGABRT as the parent expects. */
#ifdef CHECK_COVERAGE /* tests/coverage.sh */
extern void __gcov_dump(void);
#endif
static void coverage_dump_then_abort_(int sig) {
#ifdef CHECK_COVERAGE
    __gcov_dump();
#endif
    signal(sig, SIG_DFL);
    raise(sig);
}

static void run_child(int (*fn)(void), const char *before, death_t *d) {
    FILE *o = tmpfile(), *e = tmpfile();
    pid_t pid;
    d->status = -1;
    d->out[0] = d->err[0] = 0;
    if (!o || !e) {
        perror("tmpfile");
        abort();
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        abort();
    }
    if (pid == 0) {
        struct rlimit nocore = {0, 0};
        int rc;
        setrlimit(RLIMIT_CORE, &nocore); /* an expected abort leaves no core */
        signal(SIGABRT, coverage_dump_then_abort_);
        if (dup2(fileno(o), 1) < 0 || dup2(fileno(e), 2) < 0) _exit(4);
        fclose(o); /* fds 1 and 2 are copies: valgrind sees no leak */
        fclose(e);
        printf("%s", before);
        rc = fn();
        fflush(stdout);
        _exit(rc ? 3 : 0);
    }
    while (waitpid(pid, &d->status, 0) < 0) {
        if (errno != EINTR) {
            perror("waitpid");
            abort();
        }
    }
    slurp_(o, d->out, sizeof d->out);
    slurp_(e, d->err, sizeof d->err);
    fclose(o);
    fclose(e);
}

static void show_(const char *name, const death_t *d) {
    if (WIFSIGNALED(d->status))
        printf("    %s: child killed by signal %d\n", name, WTERMSIG(d->status));
    else if (WIFEXITED(d->status))
        printf("    %s: child exited with %d\n", name, WEXITSTATUS(d->status));
    printf("    its stdout: \"%s\"\n    its stderr: \"%.2000s\"\n", d->out, d->err);
}

/* Run case fn in a child; 1 if it ended as its misuse must: by default
 * killed by SIGABRT, with "misuse: " and words on stderr, and (if at is
 * not 0) the report starting with "at: misuse: "; with NDEBUG exiting 0
 * (its values were right) with no report. Either way what it printed
 * first reached stdout. */
static int misuse_dies(int (*fn)(void), const char *name, const char *words,
                       const char *at) {
    static death_t d; /* large: not on the stack */
    char before[128], prefix[300];
    int ok;
    snprintf(before, sizeof before, "[%s: printed before the misuse]", name);
    snprintf(prefix, sizeof prefix, "%s: misuse: ", at ? at : "");
    run_child(fn, before, &d);
#ifdef NDEBUG
    (void)words;
    (void)at;
    ok = WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0 && !strstr(d.err, "misuse: ") &&
         strstr(d.out, before);
#else
    ok = WIFSIGNALED(d.status) && WTERMSIG(d.status) == SIGABRT &&
         strstr(d.err, "misuse: ") && strstr(d.err, words) && (!at || strstr(d.err, prefix)) &&
         strstr(d.out, before);
    if (!ok)
        printf("    %s: wanted SIGABRT, \"%s\" and \"%s\" on stderr, \"%s\" on stdout\n",
               name, at ? prefix : "misuse: ", words, before);
#endif
    if (!ok || getenv("CHECK_VERBOSE")) show_(name, &d);
    return ok;
}

/* "test_misuse.c:123": where a report should point (coro.h names the
 * file by its base name where the compiler has __FILE_NAME__; by the path
 * it was given, "tests/test_misuse.c", with CORO_FULL_PATH or without it:
 * the check looks for it inside the report, so the base name fits both). */
static const char *here_(int line) {
    static char buf[8][256];
    static int i;
    char *b = buf[i++ % 8];
    const char *base = strrchr(__FILE__, '/');
    snprintf(b, sizeof buf[0], "%s:%d", base ? base + 1 : __FILE__, line);
    return b;
}

#define CHECK_DIES(fn, words, line) CHECK(misuse_dies(fn, #fn, (words), (line) ? here_(line) : 0))

/* ---- the harness can tell ------------------------------------------------ */

static int case_no_misuse(void) { return 0; }
static int case_plain_abort(void) {
    abort(); /* no flush: what was printed is lost, unless libc flushes */
}

/* A child that misuses nothing exits 0; a child that aborts without a
 * flush loses its stdout: so "the output was kept" means something. */
static void test_harness_tells_a_report_from_no_report(void) {
    static death_t d;
    run_child(case_no_misuse, "[quiet]", &d);
    if (!WIFEXITED(d.status) || WEXITSTATUS(d.status) != 0 || getenv("CHECK_VERBOSE"))
        show_("case_no_misuse", &d);
    CHECK(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0);
    CHECK(strstr(d.out, "[quiet]") != NULL);
    CHECK(d.err[0] == 0);
    run_child(case_plain_abort, "[lost]", &d);
    CHECK(WIFSIGNALED(d.status) && WTERMSIG(d.status) == SIGABRT);
    if (strstr(d.out, "[lost]"))
        printf("    note: this libc's abort() flushes stdout; the \"output kept\" "
               "checks below prove less here\n");
}

/* ---- a. a suspension point inside a switch of the body's own ------------- */

#if !LABELS_
/* coro.h alone: YIELD inside the user's switch. */
typedef struct {
    coro_t co;
    int mode, after;
} sw_coro_t;

static int sw_yield_line_;

static coro_poll_t sw_coro_run(sw_coro_t *f) {
    ASYNC_BEGIN(f);
    switch (f->mode) {
    case 0:
        sw_yield_line_ = __LINE__; YIELD();
        f->after = 1;
        break;
    default:
        break;
    }
    f->after += 10;
    ASYNC_END();
}

static int case_yield_in_switch(void) {
    sw_coro_t f;
    memset(&f, 0, sizeof f);
    if (sw_coro_run(&f) != CORO_PENDING) return 1;
    if (sw_coro_run(&f) != CORO_READY) return 1; /* reported here */
    /* release: finished with CORO_EMISUSE, the rest of the body skipped */
    return !(coro_done(&f.co) && f.co.rc == CORO_EMISUSE && f.after == 0);
}

/* A future: AWAIT inside the user's switch, run by the executor. */
typedef struct {
    future_t fut;
    future_yield_t y;
    int mode, after;
} sw_fut_t;

static int sw_await_line_;

static coro_poll_t sw_fut_poll(future_t *self, future_cx_t *cx) {
    sw_fut_t *f = (sw_fut_t *)self;
    ASYNC_BEGIN(f);
    switch (f->mode) {
    case 0:
        future_yield_init(&f->y);
        sw_await_line_ = __LINE__; AWAIT(cx, &f->y);
        f->after = 1;
        break;
    default:
        break;
    }
    f->after += 10;
    ASYNC_END();
}

static void sw_fut_init(sw_fut_t *f) {
    memset(f, 0, sizeof *f);
    future_init(&f->fut, sw_fut_poll, 0);
}

static int case_await_in_switch(void) {
    static sw_fut_t f;
    int rc;
    setup();
    sw_fut_init(&f);
    rc = exec_block_on(&ex, &f);
    return !(rc == CORO_EMISUSE && f.after == 0 && ex.nlive == 0);
}

static void test_suspension_inside_own_switch_is_reported_at_it(void) {
    sw_coro_t c;
    static sw_fut_t f;
    future_cx_t cx = dry_cx();
    /* Dry runs, up to the suspension only: they record its line. */
    memset(&c, 0, sizeof c);
    CHECK_EQ(sw_coro_run(&c), CORO_PENDING);
    sw_fut_init(&f);
    CHECK_EQ(future_poll(&f, &cx), CORO_PENDING);
    future_drop(&f);
    CHECK(sw_yield_line_ > 0 && sw_await_line_ > 0);
    CHECK_DIES(case_yield_in_switch, "inside a switch of your own", sw_yield_line_);
    CHECK_DIES(case_await_in_switch, "inside a switch of your own", sw_await_line_);
}

/* ---- b. a bare `break` at the top level of the body ---------------------- */

typedef struct {
    future_t fut;
    int stop, after;
} brk_t;

static int brk_end_line_;

static coro_poll_t brk_poll(future_t *self, future_cx_t *cx) {
    brk_t *f = (brk_t *)self;
    ASYNC_BEGIN(f);
    YIELD_NOW(cx);
    if (f->stop) break; /* leaves the body: the mistake */
    f->after = 1;
    brk_end_line_ = __LINE__; ASYNC_END();
}

static void brk_init(brk_t *f, int stop) {
    memset(f, 0, sizeof *f);
    future_init(&f->fut, brk_poll, 0);
    f->stop = stop;
}

static int case_break_out_of_body(void) {
    static brk_t f;
    int rc;
    setup();
    brk_init(&f, 1);
    rc = exec_block_on(&ex, &f);
    return !(rc == CORO_EMISUSE && f.after == 0 && future_done(&f));
}

static void test_break_out_of_body_is_reported_at_async_end(void) {
    static brk_t f;
    setup();
    brk_init(&f, 0); /* the dry run: no break, the whole body */
    CHECK_EQ(exec_block_on(&ex, &f), 0);
    CHECK_EQ(f.after, 1);
    exec_destroy(&ex);
    CHECK(brk_end_line_ > 0);
    CHECK_DIES(case_break_out_of_body, "`break`", brk_end_line_);
}

#else /* LABELS_ */

/* Under labels the same AWAIT inside a switch of the body's own resumes. */
typedef struct {
    future_t fut;
    future_yield_t y;
    int mode, after;
} sw_fut_t;

static coro_poll_t sw_fut_poll(future_t *self, future_cx_t *cx) {
    sw_fut_t *f = (sw_fut_t *)self;
    ASYNC_BEGIN(f);
    switch (f->mode) {
    case 0:
        future_yield_init(&f->y);
        AWAIT(cx, &f->y);
        f->after = 1;
        break;
    default:
        break;
    }
    f->after += 10;
    ASYNC_END();
}

static void test_labels_suspension_inside_own_switch_resumes(void) {
    static sw_fut_t f;
    setup();
    memset(&f, 0, sizeof f);
    future_init(&f.fut, sw_fut_poll, 0);
    CHECK_EQ(exec_block_on(&ex, &f), 0);
    CHECK_EQ(f.after, 11);
    exec_destroy(&ex);
}
#endif

/* ---- c. futures used before their init ----------------------------------- */

/* A parent frame zeroed whole, with only its own header initialised: its
 * children are zeroed frames nobody initialised. */
typedef struct {
    future_t fut;
    future_ready_t kid;      /* never initialised */
    future_ready_t ready;    /* a JOIN sibling */
    future_pending_t never;  /* a SELECT sibling */
    int how, which, err;
} uninit_t;

static coro_poll_t uninit_poll(future_t *self, future_cx_t *cx) {
    uninit_t *f = (uninit_t *)self;
    ASYNC_BEGIN(f);
    if (f->how == 0) {
        AWAIT(cx, &f->kid);
    } else if (f->how == 1) {
        future_ready_init(&f->ready, 0);
        JOIN(cx, &f->ready, &f->kid);
    } else {
        future_pending_init(&f->never);
        SELECT(cx, f->which, &f->never, &f->kid);
    }
    f->err = future_err(&f->kid);
    ASYNC_END();
}

static int run_uninit(int how) {
    static uninit_t f;
    int rc;
    setup();
    memset(&f, 0, sizeof f);
    future_init(&f.fut, uninit_poll, 0);
    f.how = how;
    f.which = -1;
    rc = exec_block_on(&ex, &f);
    /* release: the child finishes with FUTURE_EINVAL, nothing jumps to 0 */
    return !(rc == 0 && f.err == FUTURE_EINVAL && (how != 2 || f.which == 1));
}

static int case_await_before_init(void) { return run_uninit(0); }
static int case_join_before_init(void) { return run_uninit(1); }
static int case_select_before_init(void) { return run_uninit(2); }

static int case_block_on_before_init(void) {
    static future_ready_t zeroed; /* never initialised */
    setup();
    return !(exec_block_on(&ex, &zeroed) == -EINVAL && ex.nlive == 0);
}

static int case_spawn_before_init(void) {
    static future_ready_t zeroed;
    static exec_task_t t;
    setup();
    return !(exec_spawn(&t, &ex, &zeroed) == -EINVAL && ex.nlive == 0 && !exec_task_done(&t));
}

static void test_futures_before_their_init_are_reported_not_called(void) {
    CHECK_DIES(case_await_before_init, "before its init", 0);
    CHECK_DIES(case_join_before_init, "before its init", 0);
    CHECK_DIES(case_select_before_init, "before its init", 0);
    CHECK_DIES(case_block_on_before_init, "before its init", 0);
    CHECK_DIES(case_spawn_before_init, "before its init", 0);
}

/* ---- d. a finished future polled again ---------------------------------- */

typedef struct {
    future_t fut;
} once_t; /* yields once, then finishes */

static int once_line_;

static coro_poll_t once_poll(future_t *self, future_cx_t *cx) {
    ASYNC_BEGIN(self);
    once_line_ = __LINE__; YIELD_NOW(cx);
    ASYNC_END();
}

typedef struct {
    future_t fut;
    once_t kid;
    int awaited;
} twice_t;

static coro_poll_t twice_poll(future_t *self, future_cx_t *cx) {
    twice_t *f = (twice_t *)self;
    ASYNC_BEGIN(f);
    future_init(&f->kid.fut, once_poll, 0);
    AWAIT(cx, &f->kid);
    f->awaited = 1;
    AWAIT(cx, &f->kid); /* the mistake: it has finished */
    f->awaited = 2;
    ASYNC_END();
}

static int case_await_twice(void) {
    static twice_t f;
    int rc;
    setup();
    future_init(&f.fut, twice_poll, 0);
    f.awaited = 0;
    rc = exec_block_on(&ex, &f);
    /* release: the second AWAIT sees it ready, its result unchanged */
    return !(rc == 0 && f.awaited == 2 && future_err(&f.kid) == 0);
}

static void test_await_twice_is_reported_with_the_frame_line(void) {
    once_t k;
    future_cx_t cx = dry_cx();
    future_init(&k.fut, once_poll, 0); /* the dry run records the line */
    CHECK_EQ(future_poll(&k, &cx), CORO_PENDING);
    CHECK_EQ(future_poll(&k, &cx), CORO_READY);
    CHECK(once_line_ > 0);
    CHECK_DIES(case_await_twice, "polled after it finished", once_line_);
}

/* ---- e. the executor's reports ------------------------------------------ */

/* Sleeps ms on the paused clock. */
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

static void nap_init(nap_t *f, uint64_t ms) {
    future_init(&f->fut, nap_poll, 0);
    f->ms = ms;
}

static int case_spawn_live_task_twice(void) {
    static exec_task_t t;
    static nap_t a, b;
    setup();
    nap_init(&a, 10);
    nap_init(&b, 10);
    if (exec_spawn(&t, &ex, &a)) return 1;
    if (exec_spawn(&t, &ex, &b) != -EBUSY) return 1;
    return !(exec_run(&ex) == 0 && !future_done(&b) && ex.nlive == 0);
}

static int case_spawn_future_twice(void) {
    static exec_task_t t1, t2;
    static nap_t a;
    setup();
    nap_init(&a, 10);
    if (exec_spawn(&t1, &ex, &a)) return 1;
    if (exec_spawn(&t2, &ex, &a) != -EBUSY) return 1;
    return !(exec_run(&ex) == 0 && exec_task_done(&t1) && ex.nlive == 0);
}

/* Awaits a join handle of task t. */
typedef struct {
    future_t fut;
    exec_join_t join;
    int got;
} joiner_t;

static coro_poll_t joiner_poll(future_t *self, future_cx_t *cx) {
    joiner_t *f = (joiner_t *)self;
    ASYNC_BEGIN(f);
    AWAIT(cx, &f->join);
    f->got = future_err(&f->join);
    ASYNC_END();
}

static void joiner_init(joiner_t *f, exec_task_t *t) {
    future_init(&f->fut, joiner_poll, 0);
    exec_join_init(&f->join, t);
    f->got = 12345;
}

static int case_two_join_handles(void) {
    static exec_task_t t, tj1, tj2;
    static nap_t a;
    static joiner_t j1, j2;
    setup();
    nap_init(&a, 10);
    joiner_init(&j1, &t);
    joiner_init(&j2, &t);
    if (exec_spawn(&t, &ex, &a) || exec_spawn(&tj1, &ex, &j1) || exec_spawn(&tj2, &ex, &j2))
        return 1;
    return !(exec_run(&ex) == 0 && j1.got == 0 && j2.got == -EBUSY);
}

static int case_join_never_spawned(void) {
    static exec_task_t t; /* zeroed, never spawned */
    static joiner_t j;
    setup();
    joiner_init(&j, &t);
    return !(exec_block_on(&ex, &j) == 0 && j.got == -EINVAL);
}

/* Calls one of the executor's outer functions from inside its task. */
typedef struct {
    future_t fut;
    int what, rc;
} inside_t;

static coro_poll_t inside_poll(future_t *self, future_cx_t *cx) {
    inside_t *f = (inside_t *)self;
    ASYNC_BEGIN(f);
    if (f->what == 0) f->rc = exec_run(exec_of(cx));
    else if (f->what == 1) exec_destroy(exec_of(cx));
    else exec_shutdown(exec_of(cx));
    YIELD_NOW(cx); /* the executor still works */
    ASYNC_END();
}

static int run_inside(int what) {
    static inside_t f;
    setup();
    future_init(&f.fut, inside_poll, 0);
    f.what = what;
    f.rc = 0;
    return !(exec_block_on(&ex, &f) == 0 && f.rc == (what == 0 ? -EDEADLK : 0));
}

static int case_run_inside_a_task(void) { return run_inside(0); }
static int case_destroy_inside_a_task(void) { return run_inside(1); }
static int case_shutdown_inside_a_task(void) { return run_inside(2); }

/* Two join_next of one scope at once; or a held task spawned again. */
typedef struct {
    future_t fut;
    exec_scope_t scope;
    exec_task_t t;
    nap_t kid, other;
    exec_scope_next_t n1, n2;
    int what, rc;
} scoped_t;

static coro_poll_t scoped_poll(future_t *self, future_cx_t *cx) {
    scoped_t *f = (scoped_t *)self;
    ASYNC_BEGIN(f);
    EXEC_SCOPE_INIT(cx, &f->scope);
    nap_init(&f->kid, f->what == 0 ? 10 : 0);
    f->rc = exec_scope_spawn(&f->scope, &f->t, &f->kid);
    if (f->rc) ASYNC_RETURN(-100);
    if (f->what == 0) {
        exec_scope_next_init(&f->n1, &f->scope);
        exec_scope_next_init(&f->n2, &f->scope);
        JOIN(cx, &f->n1, &f->n2); /* n2 is the second waiter */
        if (f->n1.task != &f->t || future_err(&f->n2) != -EBUSY) ASYNC_RETURN(-101);
    } else {
        YIELD_NOW(cx); /* the task finishes: the scope holds it */
        nap_init(&f->other, 0);
        f->rc = exec_spawn(&f->t, exec_of(cx), &f->other);
        if (f->rc != -EBUSY) ASYNC_RETURN(-102);
        exec_scope_next_init(&f->n1, &f->scope);
        AWAIT(cx, &f->n1); /* hands it out: now it may be spawned */
        if (f->n1.task != &f->t) ASYNC_RETURN(-103);
        f->rc = exec_spawn(&f->t, exec_of(cx), &f->other);
        if (f->rc) ASYNC_RETURN(-104);
    }
    ASYNC_END();
}

static int run_scoped(int what) {
    static scoped_t f;
    setup();
    memset(&f, 0, sizeof f);
    future_init(&f.fut, scoped_poll, 0);
    f.what = what;
    return exec_block_on(&ex, &f) != 0;
}

static int case_two_waiters_on_a_scope(void) { return run_scoped(0); }
static int case_respawn_task_held_by_scope(void) { return run_scoped(1); }

static void test_executor_misuse_is_reported(void) {
    CHECK_DIES(case_spawn_live_task_twice, "already spawned and alive", 0);
    CHECK_DIES(case_spawn_future_twice, "already runs as another task", 0);
    CHECK_DIES(case_two_join_handles, "two join handles", 0);
    CHECK_DIES(case_join_never_spawned, "never spawned", 0);
    CHECK_DIES(case_run_inside_a_task, "exec_run / exec_block_on called from inside a task", 0);
    CHECK_DIES(case_destroy_inside_a_task, "exec_destroy from inside a task", 0);
    CHECK_DIES(case_shutdown_inside_a_task, "exec_shutdown from inside a task", 0);
    CHECK_DIES(case_two_waiters_on_a_scope, "two futures wait on one task scope", 0);
    CHECK_DIES(case_respawn_task_held_by_scope, "its scope still holds it", 0);
}

int main(void) {
#ifdef NDEBUG
    printf("release form (NDEBUG): no report, documented values\n");
#endif
    RUN(test_harness_tells_a_report_from_no_report);
#if !LABELS_
    RUN(test_suspension_inside_own_switch_is_reported_at_it);
    RUN(test_break_out_of_body_is_reported_at_async_end);
#else
    RUN(test_labels_suspension_inside_own_switch_resumes);
#endif
    RUN(test_futures_before_their_init_are_reported_not_called);
    RUN(test_await_twice_is_reported_with_the_frame_line);
    RUN(test_executor_misuse_is_reported);
    return check_summary();
}
