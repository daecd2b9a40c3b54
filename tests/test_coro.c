/* Tests of coro.h alone (no future.h): suspension points, frames, results,
 * finished coroutines, nesting, several points on one line, and (with
 * CORO_USE_LABELS=1) a suspension point inside the user's own switch.
 * Built twice: with the default switch backend and with -DCORO_USE_LABELS=1;
 * and by tests/small_knobs.sh under the footprint knobs (CORO_PC_T,
 * CORO_RC_T, CORO_NO_TRACE, CORO_FULL_PATH). */
#include "check.h"
#include "../coro.h"

#if defined(CORO_USE_LABELS) && CORO_USE_LABELS
#define BACKEND "labels-as-values (CORO_USE_LABELS=1)"
#else
#define BACKEND "switch (default)"
#endif

/* Scribble over the stack between calls, so that a value that only lived in
 * a local of the coroutine could not survive by luck. */
static volatile unsigned char sink_;
static void clobber_stack(void) {
    volatile unsigned char junk[512];
    size_t i;
    for (i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)(0xA5 ^ i);
    sink_ = junk[sizeof junk - 1];
}

/* ---- several suspension points, in order -------------------------------- */

typedef struct {
    coro_t co;
    int step;       /* how far the body got */
    int trace[8];   /* the order in which parts ran */
    int ntrace;
} steps_t;

static coro_poll_t steps_run(steps_t *f) {
    ASYNC_BEGIN(f);
    f->trace[f->ntrace++] = 1;
    f->step = 1;
    YIELD();
    f->trace[f->ntrace++] = 2;
    f->step = 2;
    YIELD();
    f->trace[f->ntrace++] = 3;
    f->step = 3;
    YIELD();
    f->trace[f->ntrace++] = 4;
    f->step = 4;
    ASYNC_END();
}

static void test_several_suspension_points_resume_in_order(void) {
    steps_t f;
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    CHECK_EQ(f.step, 0); /* nothing runs before the first call */
    CHECK_EQ(steps_run(&f), CORO_PENDING);
    CHECK_EQ(f.step, 1);
    CHECK(!coro_done(&f.co));
    CHECK_EQ(steps_run(&f), CORO_PENDING);
    CHECK_EQ(f.step, 2);
    CHECK_EQ(steps_run(&f), CORO_PENDING);
    CHECK_EQ(f.step, 3);
    CHECK(!coro_done(&f.co));
    CHECK_EQ(steps_run(&f), CORO_READY);
    CHECK_EQ(f.step, 4);
    CHECK(coro_done(&f.co));
    CHECK_EQ(f.co.rc, 0); /* ASYNC_END without ASYNC_RETURN: 0 */
    CHECK_EQ(f.ntrace, 4); /* each part ran exactly once, in order */
    CHECK_EQ(f.trace[0], 1);
    CHECK_EQ(f.trace[1], 2);
    CHECK_EQ(f.trace[2], 3);
    CHECK_EQ(f.trace[3], 4);
}

/* CORO_INIT is the documented initialiser of the resume state. */
static void test_coro_init_macro_starts_at_the_top(void) {
    steps_t f;
    coro_t fresh = CORO_INIT;
    memset(&f, 0x5a, sizeof f);
    f.co = fresh;
    f.ntrace = 0;
    CHECK_EQ(steps_run(&f), CORO_PENDING);
    CHECK_EQ(f.step, 1);
    CHECK_EQ(f.ntrace, 1);
    CHECK_EQ(f.trace[0], 1);
}

/* ---- locals live in the frame ------------------------------------------- */

typedef struct {
    coro_t co;
    int i;
    long sum;          /* an accumulator carried across suspensions */
    unsigned long h;   /* a running hash: any lost update shows */
    const char *word;  /* a pointer set before a suspension, used after */
} sum_t;

static coro_poll_t sum_run(sum_t *f) {
    ASYNC_BEGIN(f);
    f->word = "frame";
    f->sum = 0;
    f->h = 5381;
    for (f->i = 1; f->i <= 10; f->i++) {
        f->sum += f->i;
        f->h = f->h * 33u + (unsigned long)f->i;
        YIELD();
    }
    f->h = f->h * 33u + (unsigned char)f->word[0];
    ASYNC_END();
}

static void test_locals_in_frame_survive_suspension(void) {
    sum_t f;
    unsigned long want = 5381;
    int i, pend = 0;
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    while (sum_run(&f) == CORO_PENDING) {
        pend++;
        clobber_stack();
        CHECK(pend <= 10);
    }
    for (i = 1; i <= 10; i++) want = want * 33u + (unsigned long)i;
    want = want * 33u + 'f';
    CHECK_EQ(pend, 10);
    CHECK_EQ(f.sum, 55);
    CHECK_EQ(f.i, 11);
    CHECK(f.h == want);
    CHECK(strcmp(f.word, "frame") == 0);
}

/* ---- several suspension points on one source line ----------------------- */

typedef struct {
    coro_t co;
    int n;        /* incremented after each suspension point */
    int a, b, c;  /* conditions the test sets */
    int marks[8];
} oneline_t;

/* A user macro that expands to two suspension points. */
#define WAIT_BOTH(x, y) AWAIT_UNTIL(x); AWAIT_UNTIL(y)

static coro_poll_t oneline_run(oneline_t *f) {
    ASYNC_BEGIN(f);
    f->marks[f->n] = 100; YIELD(); f->n++; f->marks[f->n] = 200; YIELD(); f->n++;
    AWAIT_UNTIL(f->a); f->n++; AWAIT_UNTIL(f->b); f->n++;
    WAIT_BOTH(f->c == 1, f->c == 2); f->n++;
    ASYNC_END();
}

static void test_several_points_on_one_line(void) {
    oneline_t f;
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    /* YIELD(); ...; YIELD(); on one line: two separate stops. */
    CHECK_EQ(oneline_run(&f), CORO_PENDING);
    CHECK_EQ(f.n, 0);
    CHECK_EQ(f.marks[0], 100);
    CHECK_EQ(oneline_run(&f), CORO_PENDING);
    CHECK_EQ(f.n, 1);
    CHECK_EQ(f.marks[1], 200);
    /* Resumes after the second YIELD (not the first again), then waits for a. */
    CHECK_EQ(oneline_run(&f), CORO_PENDING);
    CHECK_EQ(f.n, 2);
    CHECK_EQ(f.marks[0], 100);
    CHECK_EQ(f.marks[2], 0);
    /* b alone does not get past the wait for a. */
    f.b = 1;
    CHECK_EQ(oneline_run(&f), CORO_PENDING);
    CHECK_EQ(f.n, 2);
    f.b = 0;
    f.a = 1;
    CHECK_EQ(oneline_run(&f), CORO_PENDING); /* past a, now waits for b */
    CHECK_EQ(f.n, 3);
    f.a = 0; /* a is not tested again: we are suspended at b */
    CHECK_EQ(oneline_run(&f), CORO_PENDING);
    CHECK_EQ(f.n, 3);
    f.b = 1;
    CHECK_EQ(oneline_run(&f), CORO_PENDING); /* at the macro's first wait */
    CHECK_EQ(f.n, 4);
    /* The macro's two waits are distinct: c == 2 does not pass the first. */
    f.c = 2;
    CHECK_EQ(oneline_run(&f), CORO_PENDING);
    CHECK_EQ(f.n, 4);
    f.c = 1;
    CHECK_EQ(oneline_run(&f), CORO_PENDING); /* past the first, at the second */
    CHECK_EQ(f.n, 4);
    CHECK_EQ(oneline_run(&f), CORO_PENDING); /* c == 1 does not pass the second */
    CHECK_EQ(f.n, 4);
    f.c = 2;
    CHECK_EQ(oneline_run(&f), CORO_READY);
    CHECK_EQ(f.n, 5);
    CHECK(coro_done(&f.co));
}

/* ---- AWAIT_UNTIL of a condition that already holds ----------------------- */

typedef struct {
    coro_t co;
    int before, after, evals;
} already_t;

static int count_true(already_t *f) {
    f->evals++;
    return 1;
}

static coro_poll_t already_run(already_t *f) {
    ASYNC_BEGIN(f);
    f->before++;
    AWAIT_UNTIL(count_true(f));
    f->after++;
    ASYNC_END();
}

static void test_await_until_true_does_not_suspend(void) {
    already_t f;
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    CHECK_EQ(already_run(&f), CORO_READY); /* one call: no suspension */
    CHECK_EQ(f.before, 1);
    CHECK_EQ(f.after, 1);
    CHECK_EQ(f.evals, 1); /* the condition is tested once */
    CHECK(coro_done(&f.co));
}

/* ---- ASYNC_RETURN with a code ------------------------------------------- */

typedef struct {
    coro_t co;
    int code;
    int reached_end;
    int calls_after_return;
} ret_t;

static coro_poll_t ret_run(ret_t *f) {
    ASYNC_BEGIN(f);
    YIELD();
    if (f->code) ASYNC_RETURN(f->code);
    YIELD();
    f->reached_end = 1;
    ASYNC_END();
}

static void test_async_return_sets_rc_and_finishes(void) {
    ret_t f;
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    f.code = -42;
    CHECK_EQ(ret_run(&f), CORO_PENDING);
    CHECK(!coro_done(&f.co));
    CHECK_EQ(f.co.rc, 0);
    CHECK_EQ(ret_run(&f), CORO_READY);
    CHECK(coro_done(&f.co));
    CHECK_EQ(f.co.rc, -42);
    CHECK_EQ(f.reached_end, 0); /* the rest of the body was skipped */

    /* The other path: no early return, rc stays 0. */
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    CHECK_EQ(ret_run(&f), CORO_PENDING);
    CHECK_EQ(ret_run(&f), CORO_PENDING);
    CHECK_EQ(ret_run(&f), CORO_READY);
    CHECK_EQ(f.co.rc, 0);
    CHECK_EQ(f.reached_end, 1);

    /* A positive code is kept as is too. */
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    f.code = 7;
    CHECK_EQ(ret_run(&f), CORO_PENDING);
    CHECK_EQ(ret_run(&f), CORO_READY);
    CHECK_EQ(f.co.rc, 7);
}

/* ---- a finished coroutine, called again --------------------------------- */

typedef struct {
    coro_t co;
    int runs;   /* times the body's first part ran */
    int ends;   /* times the body's last part ran */
    int early;  /* finish with ASYNC_RETURN(-3) right away */
} once_t;

static coro_poll_t once_run(once_t *f) {
    ASYNC_BEGIN(f);
    f->runs++;
    if (f->early) ASYNC_RETURN(-3);
    YIELD();
    f->ends++;
    ASYNC_END();
}

static void test_finished_coroutine_stays_ready_and_does_nothing(void) {
    once_t f;
    int i;
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    CHECK_EQ(once_run(&f), CORO_PENDING);
    CHECK_EQ(once_run(&f), CORO_READY);
    CHECK_EQ(f.runs, 1);
    CHECK_EQ(f.ends, 1);
    for (i = 0; i < 5; i++) {
#ifndef CORO_NO_TRACE
        f.co.at = 0;
#endif
        CHECK_EQ(once_run(&f), CORO_READY);
        CHECK(coro_done(&f.co));
        CHECK_EQ(f.co.rc, 0);
        CHECK(coro_at(&f.co) == 0); /* no suspension point was passed */
    }
    CHECK_EQ(f.runs, 1); /* the body did not run again */
    CHECK_EQ(f.ends, 1);

    /* Finished through ASYNC_RETURN: the same, and rc is kept. */
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    f.early = 1;
    CHECK_EQ(once_run(&f), CORO_READY);
    for (i = 0; i < 5; i++) CHECK_EQ(once_run(&f), CORO_READY);
    CHECK_EQ(f.runs, 1);
    CHECK_EQ(f.ends, 0);
    CHECK_EQ(f.co.rc, -3);
}

/* A body with no suspension point at all (a leaf that is always ready):
 * it compiles in both backends (clang wants a label whose address is taken
 * for the labels backend's indirect goto) and finishes at its first run. */
typedef struct {
    coro_t co;
    int x, out, runs;
} plain_t;

static coro_poll_t plain_run(plain_t *f) {
    ASYNC_BEGIN(f);
    f->runs++;
    f->out = f->x + 1;
    ASYNC_END();
}

static void test_body_without_suspension_points(void) {
    plain_t f;
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    f.x = 41;
    CHECK_EQ(plain_run(&f), CORO_READY);
    CHECK_EQ(f.out, 42);
    CHECK(coro_done(&f.co));
    CHECK_EQ(plain_run(&f), CORO_READY); /* finished: the body does not rerun */
    CHECK_EQ(f.runs, 1);
}

/* coro_finish stops a coroutine from outside: it never runs again. */
static void test_coro_finish_from_outside(void) {
    once_t f;
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    CHECK_EQ(once_run(&f), CORO_PENDING); /* suspended at the YIELD */
    coro_finish(&f.co, -9);
    CHECK(coro_done(&f.co));
    CHECK_EQ(once_run(&f), CORO_READY);
    CHECK_EQ(f.ends, 0); /* did not resume */
    CHECK_EQ(f.co.rc, -9);
    /* Never started, then finished: the body never runs. */
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    coro_finish(&f.co, 0);
    CHECK_EQ(once_run(&f), CORO_READY);
    CHECK_EQ(f.runs, 0);
    /* coro_init makes it runnable from the top again. */
    coro_init(&f.co);
    CHECK(!coro_done(&f.co));
    CHECK_EQ(once_run(&f), CORO_PENDING);
    CHECK_EQ(f.runs, 1);
}

/* ---- a loop with YIELD inside ------------------------------------------- */

typedef struct {
    coro_t co;
    int i, n;
    int seen[64];
} loop_t;

static coro_poll_t loop_run(loop_t *f) {
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < f->n; f->i++) {
        f->seen[f->i] = f->i * f->i;
        YIELD();
        f->seen[f->i] += 1; /* after the resume, the same iteration */
    }
    ASYNC_END();
}

static void test_loop_with_yield(void) {
    loop_t f;
    int i, pend = 0;
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    f.n = 50;
    while (loop_run(&f) == CORO_PENDING) {
        CHECK_EQ(f.i, pend); /* suspended in iteration number pend */
        CHECK_EQ(f.seen[pend], pend * pend);
        pend++;
        CHECK(pend <= 50);
    }
    CHECK_EQ(pend, 50);
    for (i = 0; i < 50; i++) CHECK_EQ(f.seen[i], i * i + 1);
    CHECK_EQ(f.seen[50], 0);

    /* Zero iterations: no suspension at all. */
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    CHECK_EQ(loop_run(&f), CORO_READY);
}

/* ---- nested coroutines: one runs another until it is ready -------------- */

typedef struct {
    coro_t co;
    int id, k, n;
    int *log, *nlog;
} inner_t;

static coro_poll_t inner_run(inner_t *f) {
    ASYNC_BEGIN(f);
    for (f->k = 0; f->k < f->n; f->k++) {
        f->log[(*f->nlog)++] = f->id * 10 + f->k;
        YIELD();
    }
    ASYNC_RETURN(f->id);
    ASYNC_END();
}

typedef struct {
    coro_t co;
    inner_t child; /* the nested coroutine's frame lives in ours */
    int log[32], nlog;
    int results;
} outer_t;

static coro_poll_t outer_run(outer_t *f) {
    ASYNC_BEGIN(f);
    f->log[f->nlog++] = 1000;
    memset(&f->child, 0, sizeof f->child);
    coro_init(&f->child.co);
    f->child.id = 1;
    f->child.n = 3;
    f->child.log = f->log;
    f->child.nlog = &f->nlog;
    AWAIT_UNTIL(inner_run(&f->child) == CORO_READY);
    f->results += f->child.co.rc;
    f->log[f->nlog++] = 2000;
    coro_init(&f->child.co); /* run it again, as another call */
    f->child.id = 2;
    f->child.n = 2;
    AWAIT_UNTIL(inner_run(&f->child) == CORO_READY);
    f->results += f->child.co.rc * 100;
    f->log[f->nlog++] = 3000;
    ASYNC_END();
}

static void test_nested_coroutines(void) {
    static const int want[] = {1000, 10, 11, 12, 2000, 20, 21, 3000};
    outer_t f;
    int i, pend = 0;
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    while (outer_run(&f) == CORO_PENDING) {
        pend++;
        CHECK(pend <= 5);
        CHECK(!coro_done(&f.child.co)); /* pending only while the child is */
    }
    CHECK_EQ(pend, 5); /* the child's 3 + 2 suspensions, passed up */
    CHECK_EQ(f.nlog, 8);
    for (i = 0; i < 8; i++) CHECK_EQ(f.log[i], want[i]);
    CHECK_EQ(f.results, 1 + 200);
    CHECK(coro_done(&f.co));
    CHECK(coro_done(&f.child.co));
}

/* ---- co.at: where the coroutine is suspended ---------------------------- */

typedef struct {
    coro_t co;
    int line1, line2;
} where_t;

static coro_poll_t where_run(where_t *f) {
    ASYNC_BEGIN(f);
    f->line1 = __LINE__ + 1;
    YIELD();
    f->line2 = __LINE__ + 1;
    AWAIT_UNTIL(f->line2 < 0);
    ASYNC_END();
}

/* The file part is the base name where the compiler has __FILE_NAME__,
 * unless CORO_FULL_PATH asks for __FILE__ (the path the build gave). */
#if defined(__FILE_NAME__) && !defined(CORO_FULL_PATH)
#define WHERE_FILE_ "test_coro.c"
#else
#define WHERE_FILE_ __FILE__
#endif

#ifndef CORO_NO_TRACE
static int at_is(const char *at, int line) {
    char want[300];
    snprintf(want, sizeof want, "%s:%d", WHERE_FILE_, line);
    return at && strcmp(at, want) == 0;
}
#endif

static void test_at_records_file_and_line(void) {
    where_t f;
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    CHECK(coro_at(&f.co) == 0); /* not started */
    CHECK_EQ(where_run(&f), CORO_PENDING);
#ifdef CORO_NO_TRACE
    /* No co.at at all: coro_at says 0 wherever the coroutine is. */
    CHECK(coro_at(&f.co) == 0);
    CHECK_EQ(where_run(&f), CORO_PENDING);
    CHECK(coro_at(&f.co) == 0);
    CHECK(f.line2 > f.line1); /* it did get to the second point */
#else
    CHECK(at_is(coro_at(&f.co), f.line1));
    CHECK(coro_at(&f.co) == f.co.at);
    CHECK_EQ(where_run(&f), CORO_PENDING);
    CHECK(at_is(coro_at(&f.co), f.line2));
    CHECK(!at_is(coro_at(&f.co), f.line1));
    CHECK_EQ(where_run(&f), CORO_PENDING); /* still there */
    CHECK(at_is(coro_at(&f.co), f.line2));
#if defined(__FILE_NAME__) && !defined(CORO_FULL_PATH)
    CHECK(strchr(coro_at(&f.co), '/') == 0); /* no directory in the string */
#endif
#endif
}

/* ---- the footprint knobs: CORO_PC_T, CORO_RC_T, CORO_NO_TRACE ------------ */

/* A body of many suspension points: 200, which uint8_t still numbers
 * (the labels count from this body's ASYNC_BEGIN, not from the file's
 * start, however many came before). */
#define Y2_ YIELD(); f->n++; YIELD(); f->n++;
#define Y10_ Y2_ Y2_ Y2_ Y2_ Y2_
#define Y50_ Y10_ Y10_ Y10_ Y10_ Y10_

typedef struct {
    coro_t co;
    int n;
} many_t;

static coro_poll_t many_run(many_t *f) {
    ASYNC_BEGIN(f);
    Y50_ Y50_ Y50_ Y50_
    ASYNC_END();
}

static void test_many_points_in_one_body(void) {
    many_t f;
    int pend = 0;
    memset(&f, 0, sizeof f);
    while (many_run(&f) == CORO_PENDING) {
        CHECK_EQ(f.n, pend); /* each resume goes on from the last point */
        pend++;
        CHECK(pend <= 200);
    }
    CHECK_EQ(pend, 200);
    CHECK_EQ(f.n, 200);
    CHECK(coro_done(&f.co));
    CHECK_EQ(many_run(&f), CORO_READY); /* finished stays finished */
    CHECK_EQ(f.n, 200);
}

/* The resume point's type, the finished mark in it, the labels numbered
 * per body, and the result code's type. */
static void test_resume_point_and_result_types(void) {
    once_t f;
    memset(&f, 0, sizeof f);
#if !(defined(CORO_USE_LABELS) && CORO_USE_LABELS)
#ifdef CORO_PC_T
    CHECK_EQ(sizeof f.co.pc, sizeof(CORO_PC_T));
#else
    CHECK_EQ(sizeof f.co.pc, sizeof(int));
#endif
    CHECK_EQ(once_run(&f), CORO_PENDING);
#ifdef CORO_PC_T
    CHECK_EQ(f.co.pc, 1); /* the body's first label, this far down the file */
#else
    CHECK(f.co.pc > 1); /* numbered through the file, as it always was */
#endif
    CHECK(!coro_done(&f.co));
    CHECK_EQ(once_run(&f), CORO_READY);
    /* Finished: -1 converted to the type (its largest value, unsigned). */
    CHECK(f.co.pc == (coro_pc_t)-1);
    CHECK(coro_done(&f.co));
#else
    CHECK_EQ(sizeof f.co.pc, sizeof(void *)); /* CORO_PC_T does not apply */
#endif
#ifdef CORO_RC_T
    CHECK_EQ(sizeof f.co.rc, sizeof(CORO_RC_T));
#else
    CHECK_EQ(sizeof f.co.rc, sizeof(int));
#endif
    /* Every negative errno value survives. A code out of a narrowed
     * type's range is reported and kept at the range's end: its sign
     * (success or error) stays, as 40000 stored as int16_t would not. */
    memset(&f, 0, sizeof f);
    coro_finish(&f.co, -4095);
    CHECK_EQ(f.co.rc, -4095);
    ret_t r;
    memset(&r, 0, sizeof r);
    r.code = -125;
    CHECK_EQ(ret_run(&r), CORO_PENDING);
    CHECK_EQ(ret_run(&r), CORO_READY);
    CHECK_EQ(r.co.rc, -125);
    if (sizeof(coro_rc_t) < sizeof(int)) {
        int max = (int)((1u << (sizeof(coro_rc_t) * 8 - 1)) - 1u);
        CHECK_MISUSE(coro_finish(&f.co, 70000), "CORO_RC_T");
        CHECK_EQ(f.co.rc, max);
        CHECK_MISUSE(coro_finish(&f.co, -70000), "CORO_RC_T");
        CHECK_EQ(f.co.rc, -max - 1);
        coro_finish(&f.co, max); /* the ends themselves fit */
        CHECK_EQ(f.co.rc, max);
        coro_finish(&f.co, -max - 1);
        CHECK_EQ(f.co.rc, -max - 1);
        memset(&r, 0, sizeof r);
        r.code = 40000;
        CHECK_EQ(ret_run(&r), CORO_PENDING);
        CHECK_MISUSE(CHECK_EQ(ret_run(&r), CORO_READY), "CORO_RC_T");
        CHECK_EQ(r.co.rc, max);
    } else {
        coro_finish(&f.co, 70000);
        CHECK_EQ(f.co.rc, 70000);
    }
}

/* CORO_NO_TRACE takes co.at out of coro_t; CORO_INIT matches either way. */
static void test_trace_member_and_size(void) {
    coro_t c = CORO_INIT;
    size_t want = sizeof(coro_pc_t) + sizeof(coro_rc_t);
    CHECK(coro_at(&c) == 0);
    CHECK(!coro_done(&c));
#ifdef CORO_NO_TRACE
    /* pc and rc only (rounded up to the wider of the two). */
    want = sizeof(coro_pc_t) > sizeof(coro_rc_t) ? 2 * sizeof(coro_pc_t) : 2 * sizeof(coro_rc_t);
    CHECK(sizeof(coro_t) <= want);
#else
    CHECK(sizeof(coro_t) >= want + sizeof(const char *));
#endif
    printf("    sizeof(coro_t) = %u\n", (unsigned)sizeof(coro_t));
}

/* ---- two coroutines of the same function are independent ---------------- */

static void test_independent_frames(void) {
    loop_t a, b;
    int i;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    coro_init(&a.co);
    coro_init(&b.co);
    a.n = 3;
    b.n = 6;
    for (i = 0; i < 3; i++) CHECK_EQ(loop_run(&a), CORO_PENDING);
    CHECK_EQ(loop_run(&b), CORO_PENDING);
    CHECK_EQ(a.i, 2);
    CHECK_EQ(b.i, 0);
    CHECK_EQ(loop_run(&a), CORO_READY);
    for (i = 0; i < 5; i++) CHECK_EQ(loop_run(&b), CORO_PENDING);
    CHECK_EQ(loop_run(&b), CORO_READY);
    CHECK_EQ(b.seen[5], 26);
}

/* ---- a suspension point inside the user's own switch (labels only) ------ */
#if defined(CORO_USE_LABELS) && CORO_USE_LABELS

typedef struct {
    coro_t co;
    int mode, ready, out, round;
} sw_t;

static coro_poll_t sw_run(sw_t *f) {
    ASYNC_BEGIN(f);
    for (f->round = 0; f->round < 2; f->round++) {
        switch (f->mode) {
        case 0:
            f->out += 1;
            YIELD();
            f->out += 10;
            break;
        case 1:
            f->out += 100;
            AWAIT_UNTIL(f->ready);
            f->out += 1000;
            /* fallthrough */
        default:
            f->out += 10000;
            YIELD(); YIELD();
            f->out += 100000;
            break;
        }
        f->mode++;
    }
    ASYNC_END();
}

static void test_suspension_inside_user_switch(void) {
    sw_t f;
    memset(&f, 0, sizeof f);
    coro_init(&f.co);
    CHECK_EQ(sw_run(&f), CORO_PENDING); /* case 0, at its YIELD */
    CHECK_EQ(f.out, 1);
    CHECK_EQ(sw_run(&f), CORO_PENDING); /* case 1, waiting for ready */
    CHECK_EQ(f.out, 111);
    CHECK_EQ(f.mode, 1);
    f.mode = 7; /* resuming must not re-dispatch on the switch value */
    CHECK_EQ(sw_run(&f), CORO_PENDING);
    CHECK_EQ(f.out, 111);
    f.ready = 1;
    CHECK_EQ(sw_run(&f), CORO_PENDING); /* fell through to default, 1st YIELD */
    CHECK_EQ(f.out, 11111);
    CHECK_EQ(sw_run(&f), CORO_PENDING); /* 2nd YIELD on the same line */
    CHECK_EQ(f.out, 11111);
    CHECK_EQ(sw_run(&f), CORO_READY);
    CHECK_EQ(f.out, 111111);
    CHECK_EQ(f.mode, 8);
}
#endif

int main(void) {
    printf("coro backend: %s\n", BACKEND);
    RUN(test_several_suspension_points_resume_in_order);
    RUN(test_coro_init_macro_starts_at_the_top);
    RUN(test_locals_in_frame_survive_suspension);
    RUN(test_several_points_on_one_line);
    RUN(test_await_until_true_does_not_suspend);
    RUN(test_async_return_sets_rc_and_finishes);
    RUN(test_finished_coroutine_stays_ready_and_does_nothing);
    RUN(test_body_without_suspension_points);
    RUN(test_coro_finish_from_outside);
    RUN(test_loop_with_yield);
    RUN(test_nested_coroutines);
    RUN(test_at_records_file_and_line);
    RUN(test_many_points_in_one_body);
    RUN(test_resume_point_and_result_types);
    RUN(test_trace_member_and_size);
    RUN(test_independent_frames);
#if defined(CORO_USE_LABELS) && CORO_USE_LABELS
    RUN(test_suspension_inside_user_switch);
#endif
    return check_summary();
}
