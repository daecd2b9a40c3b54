/* Tests of sync.h's rwlock, barrier and once cell: tokio's rules (a
 * waiting writer keeps later readers out, readers queued together go in
 * together, one leader per barrier round, one initialiser at a time), and
 * each waiting future dropped at each of its suspension points: queued,
 * granted but not yet polled, held up by the budget, and (get_or_init)
 * while its initialiser runs. Nothing may dangle (ASan), nothing leak
 * (valgrind), no grant be lost.
 *
 * Most tests drive the futures by hand (a poll context built here with a
 * counting waker and a budget the test sets, as tests/test_cover_sync.c
 * does); the rest run tasks on an executor with a paused clock.
 */
#include "check.h"
#include "../exec.h"
#include "../sync.h"

#include "hand_cx.h"

static exec_t ex;
#include "notes.h"

static void setup(void) {
    if (exec_init(&ex)) abort();
    ex.log = 0;
    exec_clock_pause(&ex);
    nlog = 0;
}

/* What f is doing, in words (task names resolved as exec_dump does). */
static const char *described(const void *f, int names) {
    static char buf[160];
    future_fmt_t o = {0, 0, 0, 0, 0};
    o.buf = buf;
    o.cap = sizeof buf;
    buf[0] = 0;
    if (names) {
        o.waker_name = exec_waker_name_;
        o.ctx = &ex;
    }
    future_describe((const future_t *)f, &o);
    return buf;
}
#define DESCRIBED(f, text) (strcmp(described((f), 1), (text)) == 0)

/* Yields until every task woken so far has had its turns. */
typedef struct {
    future_t fut;
    int i;
} yielder_t;

static coro_poll_t yielder_poll(future_t *self, future_cx_t *cx) {
    yielder_t *f = (yielder_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < 16; f->i++) YIELD_NOW(cx);
    ASYNC_END();
}

static void settle(void) {
    yielder_t y;
    future_init(&y.fut, yielder_poll, 0);
    if (exec_block_on(&ex, &y.fut) != 0) abort();
}

/* ---- rwlock -------------------------------------------------------------- */

static int readers_in, writers_in, max_readers_in, overlap;

/* Locks rw (read or write), notes name, holds it hold_ms across an
 * AWAIT, unlocks. Counts who is inside at once. */
typedef struct {
    future_t fut;
    sync_rwlock_t *rw;
    int write;
    uint64_t hold_ms;
    const char *name;
    int got;
    sync_rwlock_lock_t lock;
    timer_sleep_t nap;
} rwuser_t;

static coro_poll_t rwuser_poll(future_t *self, future_cx_t *cx) {
    rwuser_t *f = (rwuser_t *)self;
    ASYNC_BEGIN(f);
    if (f->write) sync_rwlock_write_init(&f->lock, f->rw);
    else sync_rwlock_read_init(&f->lock, f->rw);
    AWAIT(cx, &f->lock);
    f->got = 1;
    if (f->write) writers_in++;
    else readers_in++;
    if (writers_in > 1 || (writers_in && readers_in)) overlap = 1;
    if (readers_in > max_readers_in) max_readers_in = readers_in;
    if (f->name) note(f->name);
    timer_sleep_init(&f->nap, f->hold_ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    if (f->write) writers_in--;
    else readers_in--;
    if (sync_rwlock_unlock(&f->lock) != 0) f->got = -1;
    ASYNC_END();
}

static void rwuser_init(rwuser_t *f, sync_rwlock_t *rw, int write, uint64_t hold_ms,
                        const char *name) {
    future_init(&f->fut, rwuser_poll, 0);
    f->rw = rw;
    f->write = write;
    f->hold_ms = hold_ms;
    f->name = name;
    f->got = 0;
}

/* R1 R2 W1 R3 R4 W2 R5 arrive in that order, each holding 10 ms: R1 and
 * R2 share; W1 alone; R3 R4 together (R4 did not overtake W1 though the
 * lock was read-locked when it came); W2 alone; R5. 50 ms in all. */
static void test_rwlock_write_preferring_fifo(void) {
    static const int wr[7] = {0, 0, 1, 0, 0, 1, 0};
    static const char *const names[7] = {"R1", "R2", "W1", "R3", "R4", "W2", "R5"};
    sync_rwlock_t rw;
    rwuser_t u[7];
    exec_task_t t[7];
    uint64_t start;
    int i;
    setup();
    readers_in = writers_in = max_readers_in = overlap = 0;
    sync_rwlock_init(&rw);
    start = exec_now(&ex);
    for (i = 0; i < 7; i++) {
        rwuser_init(&u[i], &rw, wr[i], 10, names[i]);
        exec_task_init(&t[i]);
        exec_spawn(&t[i], &ex, &u[i].fut);
    }
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "R1 R2 W1 R3 R4 W2 R5") == 0);
    CHECK(!overlap);
    CHECK_EQ(max_readers_in, 2);
    CHECK_EQ(exec_now(&ex) - start, 50 * TIMER_MS);
    for (i = 0; i < 7; i++) CHECK_EQ(u[i].got, 1);
    CHECK_EQ(sync_sem_available(&rw.sem), SYNC_RWLOCK_MAX_READERS);
    CHECK_EQ(rw.readers, 0);
    CHECK(!rw.writer);
    exec_destroy(&ex);
}

/* try_read / try_write: a waiting writer keeps new readers out; the
 * readers behind a writer are let in together when it unlocks, up to the
 * next writer; a guard that holds nothing cannot unlock. */
static void test_rwlock_try_and_handover_by_hand(void) {
    sync_rwlock_t rw;
    sync_rwlock_lock_t r1, r2, w, ra, rb, w2, t;
    sync_rwlock_init(&rw);
    CHECK_EQ(sync_rwlock_try_read(&r1, &rw), 0);
    CHECK(future_done(&r1.fut));
    CHECK_EQ(sync_rwlock_try_read(&r2, &rw), 0);
    CHECK_EQ(rw.readers, 2);
    CHECK_EQ(sync_rwlock_try_write(&t, &rw), -EAGAIN); /* read-locked */
    sync_rwlock_write_init(&w, &rw);
    CHECK_EQ(POLL(&w, -1), CORO_PENDING); /* queued */
    CHECK_EQ(sync_rwlock_try_read(&t, &rw), -EAGAIN); /* the writer comes first */
    CHECK_MISUSE(CHECK_EQ(sync_rwlock_unlock(&t), -EPERM), "does not hold");
    sync_rwlock_read_init(&ra, &rw);
    sync_rwlock_read_init(&rb, &rw);
    sync_rwlock_write_init(&w2, &rw);
    CHECK_EQ(POLL(&ra, -1), CORO_PENDING);
    CHECK_EQ(POLL(&rb, -1), CORO_PENDING);
    CHECK_EQ(POLL(&w2, -1), CORO_PENDING);
    CHECK_EQ(sync_rwlock_unlock(&r1), 0);
    CHECK(w.acq.w.state == SYNC_QUEUED_); /* r2 still reads */
    wakes = 0;
    CHECK_EQ(sync_rwlock_unlock(&r2), 0);
    CHECK(w.acq.w.state == SYNC_GRANTED_);
    CHECK_EQ(wakes, 1);
    CHECK_EQ(POLL(&w, -1), CORO_READY);
    CHECK(rw.writer == &w);
    CHECK_EQ(sync_rwlock_try_read(&t, &rw), -EAGAIN);
    CHECK_EQ(sync_rwlock_unlock(&w), 0); /* ra and rb together, not w2 */
    CHECK(ra.acq.w.state == SYNC_GRANTED_ && rb.acq.w.state == SYNC_GRANTED_);
    CHECK(w2.acq.w.state == SYNC_QUEUED_);
    CHECK_EQ(POLL(&ra, -1), CORO_READY);
    CHECK_EQ(POLL(&rb, -1), CORO_READY);
    CHECK_EQ(rw.readers, 2);
    CHECK_EQ(sync_rwlock_unlock(&ra), 0);
    CHECK_EQ(sync_rwlock_unlock(&rb), 0);
    CHECK_EQ(POLL(&w2, -1), CORO_READY);
    CHECK_MISUSE(CHECK_EQ(sync_rwlock_unlock(&ra), -EPERM), "does not hold");
    CHECK_EQ(sync_rwlock_unlock(&w2), 0);
    CHECK_EQ(sync_rwlock_try_write(&t, &rw), 0);
    CHECK_EQ(sync_rwlock_unlock(&t), 0);
    CHECK_EQ(sync_sem_available(&rw.sem), SYNC_RWLOCK_MAX_READERS);
    CHECK(!rw.sem.q.head);
}

/* max_readers: the third reader waits, and goes in when one leaves. */
static void test_rwlock_max_readers(void) {
    sync_rwlock_t rw;
    sync_rwlock_lock_t r1, r2, r3, w;
    CHECK_MISUSE(sync_rwlock_init_max(&rw, 0), "max_readers");
    CHECK_EQ(rw.max, 1); /* a mutex, rather than no exclusion */
    sync_rwlock_init_max(&rw, 2);
    CHECK_EQ(sync_rwlock_try_read(&r1, &rw), 0);
    CHECK_EQ(sync_rwlock_try_read(&r2, &rw), 0);
    CHECK_EQ(sync_rwlock_try_read(&r3, &rw), -EAGAIN);
    CHECK_EQ(POLL(&r3, -1), CORO_PENDING); /* after -EAGAIN, it may be awaited */
    CHECK_EQ(sync_rwlock_unlock(&r1), 0);
    CHECK_EQ(POLL(&r3, -1), CORO_READY);
    CHECK_EQ(rw.readers, 2);
    sync_rwlock_write_init(&w, &rw);
    CHECK_EQ(POLL(&w, -1), CORO_PENDING);
    CHECK_EQ(sync_rwlock_unlock(&r2), 0);
    CHECK_EQ(sync_rwlock_unlock(&r3), 0);
    CHECK_EQ(POLL(&w, -1), CORO_READY);
    CHECK_EQ(sync_sem_available(&rw.sem), 0);
    CHECK_EQ(sync_rwlock_unlock(&w), 0);
    CHECK_EQ(sync_sem_available(&rw.sem), 2);
}

/* Dropped at each suspension point. */
static void test_rwlock_drop_at_each_point(void) {
    sync_rwlock_t rw;
    sync_rwlock_lock_t r, w, ra, rb, w2, t;
    sync_rwlock_init(&rw);
    /* 1. queued at the head (a writer behind a reader): the readers it
     *    held up go in. */
    CHECK_EQ(sync_rwlock_try_read(&r, &rw), 0);
    sync_rwlock_write_init(&w, &rw);
    sync_rwlock_read_init(&ra, &rw);
    CHECK_EQ(POLL(&w, -1), CORO_PENDING);
    CHECK_EQ(POLL(&ra, -1), CORO_PENDING);
    CHECK(ra.acq.w.state == SYNC_QUEUED_);
    future_drop(&w);
    CHECK(ra.acq.w.state == SYNC_GRANTED_);
    CHECK_EQ(POLL(&ra, -1), CORO_READY);
    CHECK_EQ(sync_rwlock_unlock(&ra), 0);
    /* 2. queued in the middle: unlinked, the others keep their order. */
    sync_rwlock_write_init(&w, &rw);
    sync_rwlock_read_init(&ra, &rw);
    sync_rwlock_write_init(&w2, &rw);
    CHECK_EQ(POLL(&w, -1), CORO_PENDING);
    CHECK_EQ(POLL(&ra, -1), CORO_PENDING);
    CHECK_EQ(POLL(&w2, -1), CORO_PENDING);
    future_drop(&ra);
    CHECK(rw.sem.q.head == &w.acq.w.link && w.acq.w.link.next == &w2.acq.w.link);
    CHECK(!w2.acq.w.link.next);
    /* 3. granted, not yet polled (a writer): the grant goes on. */
    CHECK_EQ(sync_rwlock_unlock(&r), 0);
    CHECK(w.acq.w.state == SYNC_GRANTED_);
    future_drop(&w);
    CHECK(w2.acq.w.state == SYNC_GRANTED_);
    CHECK(!rw.writer);
    /* 4. granted readers, one dropped: its permit goes back, the other
     *    keeps its own. */
    sync_rwlock_read_init(&ra, &rw);
    sync_rwlock_read_init(&rb, &rw);
    CHECK_EQ(POLL(&ra, -1), CORO_PENDING);
    CHECK_EQ(POLL(&rb, -1), CORO_PENDING);
    CHECK_EQ(POLL(&w2, 0), CORO_PENDING); /* granted, no budget: kept */
    CHECK(w2.acq.w.state == SYNC_GRANTED_);
    CHECK_EQ(POLL(&w2, 1), CORO_READY);
    CHECK_EQ(sync_rwlock_unlock(&w2), 0);
    CHECK(ra.acq.w.state == SYNC_GRANTED_ && rb.acq.w.state == SYNC_GRANTED_);
    future_drop(&ra);
    CHECK_EQ(sync_sem_available(&rw.sem), SYNC_RWLOCK_MAX_READERS - 1);
    CHECK_EQ(POLL(&rb, -1), CORO_READY);
    CHECK_EQ(rw.readers, 1);
    CHECK_EQ(sync_rwlock_unlock(&rb), 0);
    /* 5. held up by the budget before queueing: nothing registered. */
    sync_rwlock_write_init(&w, &rw);
    wakes = 0;
    CHECK_EQ(POLL(&w, 0), CORO_PENDING);
    CHECK_EQ(wakes, 1);
    CHECK(w.acq.w.state == SYNC_IDLE_ && !rw.sem.q.head);
    future_drop(&w);
    /* 6. a finished lock dropped keeps the lock: unlock is explicit. */
    sync_rwlock_write_init(&w, &rw);
    CHECK_EQ(POLL(&w, -1), CORO_READY);
    future_drop(&w);
    CHECK_EQ(sync_rwlock_try_read(&t, &rw), -EAGAIN);
    CHECK_EQ(sync_rwlock_unlock(&w), 0);
    CHECK_EQ(sync_sem_available(&rw.sem), SYNC_RWLOCK_MAX_READERS);
    CHECK(!rw.sem.q.head);
    CHECK_EQ(rw.readers, 0);
}

/* A task aborted while its lock waits (queued, then granted) leaves the
 * others running; under ASan nothing points into its frame afterwards. */
static void test_rwlock_abort_waiting_tasks(void) {
    sync_rwlock_t rw;
    sync_rwlock_lock_t hold;
    rwuser_t a, b, c;
    exec_task_t ta, tb, tc;
    setup();
    readers_in = writers_in = max_readers_in = overlap = 0;
    sync_rwlock_init(&rw);
    CHECK_EQ(sync_rwlock_try_write(&hold, &rw), 0);
    rwuser_init(&a, &rw, 0, 1, "a");
    rwuser_init(&b, &rw, 1, 1, "b");
    rwuser_init(&c, &rw, 0, 1, "c");
    exec_task_init(&ta);
    exec_task_init(&tb);
    exec_task_init(&tc);
    exec_spawn(&ta, &ex, &a.fut);
    exec_spawn(&tb, &ex, &b.fut);
    exec_spawn(&tc, &ex, &c.fut);
    settle();
    exec_abort(&tb); /* the queued writer: a and c both go in next */
    CHECK_EQ(sync_rwlock_unlock(&hold), 0);
    CHECK(a.lock.acq.w.state == SYNC_GRANTED_ && c.lock.acq.w.state == SYNC_GRANTED_);
    exec_abort(&ta); /* granted: its permit goes back */
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "c") == 0);
    CHECK_EQ(sync_sem_available(&rw.sem), SYNC_RWLOCK_MAX_READERS);
    CHECK(!rw.sem.q.head);
    exec_destroy(&ex);
}

static void test_rwlock_describes_itself(void) {
    sync_rwlock_t rw;
    sync_rwlock_lock_t hold, r2;
    rwuser_t w, r, w2;
    exec_task_t tw, tr, tw2;
    setup();
    sync_rwlock_init(&rw);
    rwuser_init(&w, &rw, 1, 10, 0);
    rwuser_init(&r, &rw, 0, 10, 0);
    rwuser_init(&w2, &rw, 1, 10, 0);
    exec_task_init(&tw);
    exec_task_init(&tr);
    exec_task_init(&tw2);
    exec_spawn(&tw, &ex, &w.fut);
    exec_task_set_name(&tw, "writer");
    exec_spawn(&tr, &ex, &r.fut);
    settle();
    CHECK(DESCRIBED(&r.lock, "rwlock read (write-locked by task \"writer\", 1 waiting)"));
    CHECK(strcmp(described(&r.lock, 0), "rwlock read (write-locked, 1 waiting)") == 0);
    CHECK_EQ(exec_run(&ex), 0);
    /* read-locked by two (one a try_read), a writer waiting */
    CHECK_EQ(sync_rwlock_try_read(&hold, &rw), 0);
    CHECK_EQ(sync_rwlock_try_read(&r2, &rw), 0);
    exec_spawn(&tw2, &ex, &w2.fut);
    settle();
    CHECK(DESCRIBED(&w2.lock, "rwlock write (2 readers, 1 waiting)"));
    CHECK_EQ(sync_rwlock_unlock(&r2), 0);
    CHECK(DESCRIBED(&w2.lock, "rwlock write (1 reader, 1 waiting)"));
    CHECK_EQ(sync_rwlock_unlock(&hold), 0);
    CHECK(DESCRIBED(&w2.lock, "rwlock write (being handed over, 0 waiting)"));
    CHECK_EQ(exec_run(&ex), 0);
    /* a try_write holder has no task to name */
    CHECK_EQ(sync_rwlock_try_write(&hold, &rw), 0);
    rwuser_init(&r, &rw, 0, 0, 0);
    exec_spawn(&tr, &ex, &r.fut);
    settle();
    CHECK(DESCRIBED(&r.lock, "rwlock read (write-locked, 1 waiting)"));
    CHECK_EQ(sync_rwlock_unlock(&hold), 0);
    CHECK_EQ(exec_run(&ex), 0);
    exec_destroy(&ex);
}

/* ---- barrier ------------------------------------------------------------- */

static int leaders;

/* Waits at the barrier rounds times, noting name and whether it led. */
typedef struct {
    future_t fut;
    sync_barrier_t *b;
    int rounds, i;
    uint64_t delay_ms;
    const char *name;
    sync_barrier_wait_t w;
    timer_sleep_t nap;
} party_t;

static coro_poll_t party_poll(future_t *self, future_cx_t *cx) {
    party_t *f = (party_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < f->rounds; f->i++) {
        timer_sleep_init(&f->nap, f->delay_ms * TIMER_MS);
        AWAIT(cx, &f->nap);
        sync_barrier_wait_init(&f->w, f->b);
        AWAIT(cx, &f->w);
        if (f->w.leader) {
            leaders++;
            note(f->name);
        }
    }
    ASYNC_END();
}

static void party_init(party_t *f, sync_barrier_t *b, int rounds, uint64_t delay_ms,
                       const char *name) {
    future_init(&f->fut, party_poll, 0);
    f->b = b;
    f->rounds = rounds;
    f->delay_ms = delay_ms;
    f->name = name;
}

/* Three parties, three rounds, arriving 1, 2 and 3 ms after the last
 * round: each round lets all three go at the third arrival, whose wait
 * is the one leader. */
static void test_barrier_rounds_and_one_leader(void) {
    static const char *const names[3] = {"a", "b", "c"};
    sync_barrier_t b;
    party_t p[3];
    exec_task_t t[3];
    uint64_t start;
    int i;
    setup();
    leaders = 0;
    sync_barrier_init(&b, 3);
    start = exec_now(&ex);
    for (i = 0; i < 3; i++) {
        party_init(&p[i], &b, 3, (uint64_t)i + 1, names[i]);
        exec_task_init(&t[i]);
        exec_spawn(&t[i], &ex, &p[i].fut);
    }
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(leaders, 3);
    CHECK(strcmp(logged(), "c c c") == 0); /* the last to arrive leads */
    CHECK_EQ(exec_now(&ex) - start, 9 * TIMER_MS);
    CHECK_EQ(b.arrived, 0);
    CHECK(!b.q.head);
    exec_destroy(&ex);
}

/* A wait dropped before its round is complete is un-counted; dropped
 * after, it changes nothing. The last arrival held up by the budget is
 * not counted either. */
static void test_barrier_drop_at_each_point(void) {
    sync_barrier_t b;
    sync_barrier_wait_t w1, w2, w3, w4;
    sync_barrier_init(&b, 3);
    sync_barrier_wait_init(&w1, &b);
    sync_barrier_wait_init(&w2, &b);
    sync_barrier_wait_init(&w3, &b);
    CHECK_EQ(POLL(&w1, -1), CORO_PENDING);
    CHECK_EQ(POLL(&w1, -1), CORO_PENDING); /* polled again: still one */
    CHECK_EQ(POLL(&w2, -1), CORO_PENDING);
    CHECK_EQ(b.arrived, 2);
    future_drop(&w1); /* queued: un-counted */
    CHECK_EQ(b.arrived, 1);
    CHECK(b.q.head == &w2.w.link && !w2.w.link.next);
    CHECK_EQ(POLL(&w3, -1), CORO_PENDING); /* two again: not a round yet */
    sync_barrier_wait_init(&w4, &b);
    wakes = 0;
    CHECK_EQ(POLL(&w4, 0), CORO_PENDING); /* the last, no budget: not counted */
    CHECK_EQ(wakes, 1);
    CHECK_EQ(b.arrived, 2);
    CHECK(w2.w.state == SYNC_QUEUED_);
    CHECK_EQ(POLL(&w4, 1), CORO_READY); /* now: the round goes */
    CHECK(w4.leader);
    CHECK(w2.w.state == SYNC_WOKEN_ && w3.w.state == SYNC_WOKEN_);
    CHECK_EQ(wakes, 3); /* the budget's, then w2 and w3 */
    CHECK_EQ(b.arrived, 0);
    CHECK_EQ(POLL(&w2, 0), CORO_PENDING); /* released, no budget: kept */
    CHECK_EQ(POLL(&w2, 1), CORO_READY);
    CHECK(!w2.leader);
    future_drop(&w3); /* released, not yet polled: nothing to undo */
    CHECK_EQ(b.arrived, 0);
    CHECK(!b.q.head);
    /* the next round counts from zero */
    sync_barrier_wait_init(&w1, &b);
    CHECK_EQ(POLL(&w1, -1), CORO_PENDING);
    CHECK_EQ(b.arrived, 1);
    future_drop(&w1);
    CHECK_EQ(b.arrived, 0);
    /* n == 0 acts as 1: every wait leads, at once */
    sync_barrier_init(&b, 0);
    sync_barrier_wait_init(&w1, &b);
    CHECK_EQ(POLL(&w1, -1), CORO_READY);
    CHECK(w1.leader);
}

/* A task aborted while it waits at the barrier: the round waits for
 * another party. */
static void test_barrier_abort_waiting_task(void) {
    sync_barrier_t b;
    party_t a, c, d;
    exec_task_t ta, tc, td;
    setup();
    leaders = 0;
    sync_barrier_init(&b, 2);
    party_init(&a, &b, 1, 0, "a");
    party_init(&c, &b, 1, 5, "c");
    party_init(&d, &b, 1, 10, "d");
    exec_task_init(&ta);
    exec_task_init(&tc);
    exec_task_init(&td);
    exec_spawn(&ta, &ex, &a.fut);
    exec_spawn(&tc, &ex, &c.fut);
    settle();
    CHECK(DESCRIBED(&a.w, "barrier wait (1 of 2 arrived)"));
    exec_abort(&ta);
    CHECK_EQ(b.arrived, 0);
    exec_spawn(&td, &ex, &d.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "d") == 0); /* c waited for d, not for a */
    CHECK_EQ(leaders, 1);
    exec_destroy(&ex);
}

/* ---- once cell ----------------------------------------------------------- */

static int init_drops;

/* An initialiser: after ms, writes v into *slot and finishes with rc. */
typedef struct {
    future_t fut;
    int *slot;
    int v, rc;
    uint64_t ms;
    timer_sleep_t nap;
} maker_t;

static coro_poll_t maker_poll(future_t *self, future_cx_t *cx) {
    maker_t *f = (maker_t *)self;
    ASYNC_BEGIN(f);
    if (f->ms) {
        timer_sleep_init(&f->nap, f->ms * TIMER_MS);
        AWAIT(cx, &f->nap);
    }
    if (f->rc == 0) *f->slot = f->v;
    ASYNC_RETURN(f->rc);
    ASYNC_END();
}

static void maker_drop(future_t *self) {
    (void)self;
    init_drops++;
}

static void maker_init(maker_t *f, int *slot, int v, int rc, uint64_t ms) {
    future_init(&f->fut, maker_poll, maker_drop);
    f->slot = slot;
    f->v = v;
    f->rc = rc;
    f->ms = ms;
}

/* get_or_init in a task, with its own initialiser; notes name and rc. */
typedef struct {
    future_t fut;
    sync_once_t *c;
    const char *name;
    int rc, done;
    maker_t make;
    sync_once_get_or_init_t g;
} getter_t;

static coro_poll_t getter_poll(future_t *self, future_cx_t *cx) {
    getter_t *f = (getter_t *)self;
    ASYNC_BEGIN(f);
    sync_once_get_or_init_init(&f->g, f->c, &f->make.fut);
    AWAIT(cx, &f->g);
    f->rc = future_err(&f->g.fut);
    f->done = 1;
    if (f->name && f->g.ran) note(f->name);
    ASYNC_END();
}

static void getter_init(getter_t *f, sync_once_t *c, int *slot, int v, int rc, uint64_t ms,
                        const char *name) {
    future_init(&f->fut, getter_poll, 0);
    f->c = c;
    f->name = name;
    f->rc = 1;
    f->done = 0;
    maker_init(&f->make, slot, v, rc, ms);
}

/* Three tasks race to initialise: the first runs its initialiser (10 ms),
 * the others wait and get its value without running theirs. */
static void test_once_one_initialiser_runs(void) {
    sync_once_t c;
    int slot = 0;
    getter_t g[3];
    exec_task_t t[3];
    uint64_t start;
    int i;
    setup();
    sync_once_init(&c, &slot, sizeof slot);
    CHECK(!sync_once_get(&c));
    start = exec_now(&ex);
    for (i = 0; i < 3; i++) {
        getter_init(&g[i], &c, &slot, 10 + i, 0, 10, i == 0 ? "0" : i == 1 ? "1" : "2");
        exec_task_init(&t[i]);
        exec_spawn(&t[i], &ex, &g[i].fut);
    }
    settle();
    CHECK(DESCRIBED(&g[1].g, "once get_or_init (initialiser running, 2 waiting)"));
    CHECK(DESCRIBED(&g[0].g, "once get_or_init (running its initialiser, 2 waiting)"));
    CHECK_EQ(sync_once_set(&c, &i), -EAGAIN); /* the turn is taken */
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "0") == 0);
    for (i = 0; i < 3; i++) CHECK(g[i].done && g[i].rc == 0);
    CHECK(sync_once_get(&c) == &slot);
    CHECK_EQ(slot, 10);
    CHECK_EQ(exec_now(&ex) - start, 10 * TIMER_MS);
    /* set: the value stays */
    i = 99;
    CHECK_EQ(sync_once_set(&c, &i), -EBUSY);
    CHECK_EQ(slot, 10);
    exec_destroy(&ex);
}

/* The first initialiser fails: its get_or_init gets the error, the next
 * waiter runs its own, the third gets that value. */
static void test_once_failed_initialiser_passes_the_turn(void) {
    sync_once_t c;
    int slot = 0, i;
    getter_t g[3];
    exec_task_t t[3];
    setup();
    sync_once_init(&c, &slot, sizeof slot);
    getter_init(&g[0], &c, &slot, 1, -EIO, 5, "0");
    getter_init(&g[1], &c, &slot, 2, 0, 5, "1");
    getter_init(&g[2], &c, &slot, 3, 0, 5, "2");
    for (i = 0; i < 3; i++) {
        exec_task_init(&t[i]);
        exec_spawn(&t[i], &ex, &g[i].fut);
    }
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "0 1") == 0);
    CHECK_EQ(g[0].rc, -EIO);
    CHECK_EQ(g[1].rc, 0);
    CHECK_EQ(g[2].rc, 0);
    CHECK_EQ(slot, 2);
    exec_destroy(&ex);
}

/* The task running the initialiser is aborted mid-way: the initialiser is
 * dropped (its sleep unregistered), the next waiter runs its own. */
static void test_once_abort_running_initialiser(void) {
    sync_once_t c;
    int slot = 0, i;
    getter_t g[3];
    exec_task_t t[3];
    setup();
    init_drops = 0;
    sync_once_init(&c, &slot, sizeof slot);
    for (i = 0; i < 3; i++) {
        getter_init(&g[i], &c, &slot, 7 + i, 0, 5, i == 0 ? "0" : i == 1 ? "1" : "2");
        exec_task_init(&t[i]);
        exec_spawn(&t[i], &ex, &g[i].fut);
    }
    settle();
    CHECK(g[0].g.running);
    exec_abort(&t[0]);
    CHECK_EQ(init_drops, 1);
    CHECK(g[1].g.acq.w.state == SYNC_GRANTED_);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "1") == 0);
    CHECK_EQ(slot, 8);
    CHECK(!g[0].done && g[1].rc == 0 && g[2].rc == 0);
    exec_destroy(&ex);
}

/* By hand: dropped queued, granted, held up by the budget, and running;
 * set, get, and a cell set before the wait. */
static void test_once_drop_at_each_point(void) {
    sync_once_t c;
    int slot = 0, v = 5;
    maker_t m1, m2, m3, m4;
    sync_once_get_or_init_t g1, g2, g3, g4;
    init_drops = 0;
    sync_once_init(&c, &slot, sizeof slot);
    maker_init(&m1, &slot, 1, 0, 0);
    maker_init(&m2, &slot, 2, 0, 0);
    maker_init(&m3, &slot, 3, 0, 0);
    maker_init(&m4, &slot, 4, 0, 0);
    /* g1 has the turn (taken by hand: an initialiser "running"); g2, g3, g4
     * queue. */
    CHECK_EQ(sync_sem_try_acquire(&c.turn, 1), 0);
    sync_once_get_or_init_init(&g1, &c, &m1.fut);
    sync_once_get_or_init_init(&g2, &c, &m2.fut);
    sync_once_get_or_init_init(&g3, &c, &m3.fut);
    sync_once_get_or_init_init(&g4, &c, &m4.fut);
    CHECK_EQ(POLL(&g2, -1), CORO_PENDING);
    CHECK_EQ(POLL(&g2, -1), CORO_PENDING); /* polled again, still queued */
    CHECK_EQ(POLL(&g3, -1), CORO_PENDING);
    CHECK_EQ(POLL(&g4, -1), CORO_PENDING);
    CHECK_EQ(sync_once_set(&c, &v), -EAGAIN);
    /* 1. queued: unlinked */
    future_drop(&g2);
    CHECK(c.turn.q.head == &g3.acq.w.link);
    CHECK_EQ(init_drops, 0); /* never started: its initialiser untouched */
    /* 2. granted, not polled: the turn goes on */
    sync_sem_release(&c.turn, 1);
    CHECK(g3.acq.w.state == SYNC_GRANTED_);
    future_drop(&g3);
    CHECK(g4.acq.w.state == SYNC_GRANTED_);
    CHECK_EQ(sync_once_set(&c, &v), -EAGAIN); /* g4's turn */
    /* 3. granted, no budget: kept */
    CHECK_EQ(POLL(&g4, 0), CORO_PENDING);
    CHECK(g4.acq.w.state == SYNC_GRANTED_ && !g4.ran);
    /* 4. running, dropped before its initialiser finished */
    maker_init(&m4, &slot, 4, 0, 1); /* sleeps first: needs timers */
    {
        timer_wheel_t wheel;
        future_cx_t *cx = cx_budget(-1);
        timer_wheel_init(&wheel, 0);
        cx->timers = &wheel;
        CHECK_EQ(future_poll(&g4.fut, cx), CORO_PENDING);
        CHECK(g4.running && g4.ran && g4.fut.child == &m4.fut);
        CHECK_EQ(timer_wheel_count(&wheel), 1);
        sync_once_get_or_init_init(&g1, &c, &m1.fut);
        CHECK_EQ(POLL(&g1, -1), CORO_PENDING);
        future_drop(&g4);
        CHECK_EQ(init_drops, 1);
        CHECK_EQ(timer_wheel_count(&wheel), 0);
        CHECK(g1.acq.w.state == SYNC_GRANTED_);
    }
    CHECK(!sync_once_is_set(&c));
    /* 5. g1 runs m1 (ready at once): the value is set */
    CHECK_EQ(POLL(&g1, -1), CORO_READY);
    CHECK_EQ(future_err(&g1.fut), 0);
    CHECK(g1.ran);
    CHECK(sync_once_is_set(&c));
    CHECK(sync_once_get(&c) == &slot);
    CHECK_EQ(slot, 1);
    /* 6. after the set: ready at once (after the budget), the initialiser
     *    never polled */
    maker_init(&m2, &slot, 2, 0, 0);
    sync_once_get_or_init_init(&g2, &c, &m2.fut);
    CHECK_EQ(POLL(&g2, 0), CORO_PENDING);
    CHECK_EQ(POLL(&g2, 1), CORO_READY);
    CHECK(!g2.ran && !future_done(&m2.fut) && slot == 1);
    CHECK_EQ(sync_once_set(&c, &v), -EBUSY);
    CHECK_EQ(init_drops, 1);
}

/* Waiters let through by the set: each polls ready; one dropped before
 * its poll changes nothing. set() by hand, with no value (size 0). */
static void test_once_set_releases_waiters(void) {
    sync_once_t c, flag;
    int slot = 0, v = 42;
    maker_t m1, m2, m3;
    sync_once_get_or_init_t g1, g2, g3;
    sync_once_init(&c, &slot, sizeof slot);
    maker_init(&m1, &slot, 1, 0, 0);
    maker_init(&m2, &slot, 2, 0, 0);
    maker_init(&m3, &slot, 3, 0, 0);
    CHECK_EQ(sync_sem_try_acquire(&c.turn, 1), 0); /* someone is initialising */
    sync_once_get_or_init_init(&g1, &c, &m1.fut);
    sync_once_get_or_init_init(&g2, &c, &m2.fut);
    sync_once_get_or_init_init(&g3, &c, &m3.fut);
    CHECK_EQ(POLL(&g1, -1), CORO_PENDING);
    CHECK_EQ(POLL(&g2, -1), CORO_PENDING);
    CHECK_EQ(POLL(&g3, -1), CORO_PENDING);
    /* that someone sets it (as its initialiser would: the value, then
     * publish) */
    slot = v;
    wakes = 0;
    sync_once_publish_(&c);
    CHECK_EQ(wakes, 3);
    CHECK(!c.turn.q.head);
    CHECK_EQ(POLL(&g1, -1), CORO_READY);
    CHECK_EQ(POLL(&g2, 0), CORO_PENDING); /* budget */
    future_drop(&g2);
    future_drop(&g3);
    CHECK(!g1.ran && !future_done(&m1.fut));
    CHECK_EQ(*(int *)sync_once_get(&c), 42);
    /* set() on an empty cell; a cell with no value (a flag) */
    sync_once_init(&c, &slot, sizeof slot);
    CHECK_EQ(sync_once_set(&c, &v), 0);
    CHECK(sync_once_get(&c) == &slot && slot == 42);
    sync_once_init(&flag, 0, 0);
    CHECK(!sync_once_is_set(&flag));
    CHECK_EQ(sync_once_set(&flag, 0), 0);
    CHECK(sync_once_is_set(&flag));
    CHECK_EQ(sync_once_set(&flag, 0), -EBUSY);
}

static void test_once_misuse(void) {
    sync_once_t c;
    int slot = 0;
    maker_t m;
    sync_once_get_or_init_t g, g2;
    CHECK_MISUSE(sync_once_init(&c, 0, sizeof slot), "slot");
    CHECK_EQ(sync_once_set(&c, &slot), 0); /* a flag now: nothing copied */
    sync_once_init(&c, &slot, sizeof slot);
    CHECK_MISUSE(CHECK_EQ(sync_once_set(&c, 0), -EINVAL), "no value");
    CHECK(!sync_once_is_set(&c));
    CHECK_MISUSE(sync_once_get_or_init_init(&g, &c, 0), "no initialiser");
    maker_init(&m, &slot, 3, 0, 0);
    sync_once_get_or_init_init(&g2, &c, &m.fut);
    CHECK_EQ(sync_sem_try_acquire(&c.turn, 1), 0);
    CHECK_EQ(POLL(&g, -1), CORO_PENDING);
    CHECK_EQ(POLL(&g2, -1), CORO_PENDING);
    sync_sem_release(&c.turn, 1); /* to g, which has nothing to run */
    CHECK_EQ(POLL(&g, -1), CORO_READY);
    CHECK_EQ(future_err(&g.fut), -EINVAL);
    CHECK(g2.acq.w.state == SYNC_GRANTED_); /* the turn went on */
    CHECK_EQ(POLL(&g2, -1), CORO_READY);
    CHECK_EQ(slot, 3);
}

/* ---- locks owned by their frame (SYNC_*_INIT): a Rust guard's drop ---- */

static sync_mutex_t gm;
static sync_rwlock_t grw;
static int owned_mode; /* 0 mutex, 1 read, 2 write */
static int owned_unlock; /* unlock by hand before the frame ends */
static int owned_seen;   /* 1: free after the re-init, 2: held again, 4: unlocked */

static void owned_init(void *l, future_t *self) {
    if (owned_mode == 0) sync_mutex_lock_init_owned_((sync_mutex_lock_t *)l, &gm, self);
    else sync_rwlock_lock_init_owned_((sync_rwlock_lock_t *)l, &grw, owned_mode == 2, self);
}
static int owned_held(void) {
    return owned_mode == 0 ? sync_mutex_is_locked(&gm) : grw.sem.permits < grw.max;
}
static int owned_unlock_(void *l) {
    return owned_mode == 0 ? sync_mutex_unlock((sync_mutex_lock_t *)l)
                           : sync_rwlock_unlock((sync_rwlock_lock_t *)l);
}

/* Takes the lock, twice in a row in the same field (a lock per round),
 * sleeps holding it, then ends (unlocking by hand or not). */
ASYNC_FN(owned_holder, union { sync_mutex_lock_t m; sync_rwlock_lock_t rw; } l; timer_sleep_t nap;) {
    ASYNC_BEGIN(f);
    owned_init(&f->l, FUTURE_SELF_);
    AWAIT(cx, &f->l.m.acq.fut);
    owned_init(&f->l, FUTURE_SELF_); /* made again: the first lock goes */
    owned_seen |= !owned_held();
    AWAIT(cx, &f->l.m.acq.fut);
    owned_seen |= owned_held() << 1;
    timer_sleep_init(&f->nap, TIMER_SEC);
    AWAIT(cx, &f->nap);
    if (owned_unlock && owned_unlock_(&f->l) == 0) owned_seen |= 4;
    ASYNC_END();
}

/* Aborts *victim once the lock is held (the victim then sleeps). */
ASYNC_FN(owned_killer, exec_task_t *victim;) {
    ASYNC_BEGIN(f);
    while (!owned_held()) YIELD_NOW(cx);
    exec_abort(f->victim);
    ASYNC_END();
}

/* Each kind of lock, held by a frame that finishes (with and without its
 * own unlock), whose task is aborted, or that a timeout drops: the lock
 * is free after, every time, and a second unlock never happens. */
static void test_owned_locks_go_with_their_frame(void) {
    for (owned_mode = 0; owned_mode < 3; owned_mode++) {
        int how;
        for (how = 0; how < 4; how++) { /* ends, ends unlocked, aborted, timed out */
            owned_holder_t h = ASYNC_NEW(owned_holder);
            exec_task_t t = {0};
            timer_timeout_t to;
            setup();
            sync_mutex_init(&gm);
            sync_rwlock_init_max(&grw, 4);
            owned_unlock = how == 1;
            owned_seen = 0;
            if (how == 3) {
                timer_timeout_init(&to, &h, TIMER_MS);
                CHECK_EQ(exec_block_on(&ex, &to), -ETIMEDOUT);
            } else {
                owned_killer_t k = ASYNC_NEW(owned_killer);
                exec_task_t kt = {0};
                k.victim = &t;
                CHECK_EQ(exec_spawn(&t, &ex, &h), 0);
                if (how == 2) CHECK_EQ(exec_spawn(&kt, &ex, &k), 0);
                CHECK_EQ(exec_run(&ex), 0);
                CHECK_EQ(exec_task_err(&t), how == 2 ? -ECANCELED : 0);
            }
            CHECK_EQ(owned_seen, how == 1 ? 7 : 3);
            CHECK(!owned_held());
            CHECK(owned_mode == 0 ? gm.holder == 0 : grw.writer == 0 && grw.readers == 0);
            exec_destroy(&ex);
        }
    }
}

int main(void) {
    RUN(test_rwlock_write_preferring_fifo);
    RUN(test_rwlock_try_and_handover_by_hand);
    RUN(test_rwlock_max_readers);
    RUN(test_rwlock_drop_at_each_point);
    RUN(test_rwlock_abort_waiting_tasks);
    RUN(test_rwlock_describes_itself);
    RUN(test_barrier_rounds_and_one_leader);
    RUN(test_barrier_drop_at_each_point);
    RUN(test_barrier_abort_waiting_task);
    RUN(test_once_one_initialiser_runs);
    RUN(test_once_failed_initialiser_passes_the_turn);
    RUN(test_once_abort_running_initialiser);
    RUN(test_once_drop_at_each_point);
    RUN(test_once_set_releases_waiters);
    RUN(test_once_misuse);
    RUN(test_owned_locks_go_with_their_frame);
    return check_summary();
}
