/* Tests of sync.h: channels (order, backpressure, close from each side,
 * FIFO senders, a million messages), oneshot, mutex, semaphore, notify,
 * streams and their adapters, dropping every waiting operation at its
 * suspension point (no dangling node, no lost wake, no lost message), and
 * what each waiting future says in exec_dump. (Cancellation tokens:
 * tests/test_token.c.) */
#include "check.h"
#include "../exec.h"
#include "../sync.h"

#ifdef CHECK_SLOW
enum { MILLION = 100000 };
#else
enum { MILLION = 1000000 };
#endif

static exec_t ex;
#include "notes.h"

static void setup(void) {
    if (exec_init(&ex)) abort();
    ex.log = 0;
    exec_clock_pause(&ex);
    nlog = 0;
}

/* ---- test futures ------------------------------------------------------- */

/* Yields n times: run as the main future, it lets every task settle. */
typedef struct {
    future_t fut;
    int n, i;
} yielder_t;

static coro_poll_t yielder_poll(future_t *self, future_cx_t *cx) {
    yielder_t *f = (yielder_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < f->n; f->i++) YIELD_NOW(cx);
    ASYNC_END();
}

/* Run the loop until every task woken so far has had its turns. */
static void settle(void) {
    yielder_t y;
    future_init(&y.fut, yielder_poll, 0);
    y.n = 16;
    int rc = exec_block_on(&ex, &y.fut);
    if (rc != 0) fprintf(stderr, "settle: %d\n", rc), exec_dump(&ex, stderr), abort();
}

/* Sends n values: vals[i], or i when vals is 0. rc: the failing send's. */
typedef struct {
    future_t fut;
    sync_chan_t *ch;
    const int *vals;
    int n, i, rc, sent, waited;
    int v;
    const char *name;
    sync_chan_send_t send;
} sender_t;

static coro_poll_t sender_poll(future_t *self, future_cx_t *cx) {
    sender_t *f = (sender_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < f->n; f->i++) {
        f->v = f->vals ? f->vals[f->i] : f->i;
        sync_chan_send_init(&f->send, f->ch, &f->v);
        AWAIT(cx, &f->send);
        f->waited += f->send.waited;
        f->rc = future_err(&f->send.fut);
        if (f->rc) break;
        f->sent++;
        if (f->name) note(f->name);
    }
    ASYNC_END();
}

static void sender_init(sender_t *f, sync_chan_t *ch, const int *vals, int n, const char *name) {
    future_init(&f->fut, sender_poll, 0);
    f->ch = ch;
    f->vals = vals;
    f->n = n;
    f->rc = f->sent = f->waited = 0;
    f->name = name;
}

/* Receives up to max values (or until an error) into got[] (if given);
 * checks that values arrive as 0, 1, 2, ... when ordered is set. */
typedef struct {
    future_t fut;
    sync_chan_t *ch;
    int *got;
    int max, n, rc, v, ordered, out_of_order;
    const char *name;
    sync_chan_recv_t recv;
} receiver_t;

static coro_poll_t receiver_poll(future_t *self, future_cx_t *cx) {
    receiver_t *f = (receiver_t *)self;
    ASYNC_BEGIN(f);
    while (f->n < f->max) {
        sync_chan_recv_init(&f->recv, f->ch, &f->v);
        AWAIT(cx, &f->recv);
        f->rc = future_err(&f->recv.fut);
        if (f->rc) break;
        if (f->got) f->got[f->n] = f->v;
        if (f->ordered && f->v != f->n) f->out_of_order++;
        f->n++;
        if (f->name) note(f->name);
    }
    ASYNC_END();
}

static void receiver_init(receiver_t *f, sync_chan_t *ch, int *got, int max) {
    future_init(&f->fut, receiver_poll, 0);
    f->ch = ch;
    f->got = got;
    f->max = max;
    f->n = f->rc = f->v = f->ordered = f->out_of_order = 0;
    f->name = 0;
}

/* Races op against a sleep of ms (paused clock): which = 0 op, 1 sleep. */
typedef struct {
    future_t fut;
    future_t *op;
    uint64_t ms;
    int which;
    timer_sleep_t nap;
} race_t;

static coro_poll_t race_poll(future_t *self, future_cx_t *cx) {
    race_t *f = (race_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, f->ms * TIMER_MS);
    SELECT_BIASED(cx, f->which, f->op, &f->nap);
    ASYNC_END();
}

static void race_init(race_t *f, future_t *op, uint64_t ms) {
    future_init(&f->fut, race_poll, 0);
    f->op = op;
    f->ms = ms;
    f->which = -1;
}

/* Locks m, notes name, holds the lock for hold_ms (across an AWAIT),
 * unlocks. Counts how many lockers are inside at once. */
static int inside, max_inside;

typedef struct {
    future_t fut;
    sync_mutex_t *m;
    uint64_t hold_ms;
    const char *name;
    int got;
    sync_mutex_lock_t lock;
    timer_sleep_t nap;
} locker_t;

static coro_poll_t locker_poll(future_t *self, future_cx_t *cx) {
    locker_t *f = (locker_t *)self;
    ASYNC_BEGIN(f);
    sync_mutex_lock_init(&f->lock, f->m);
    AWAIT(cx, &f->lock);
    f->got = 1;
    if (++inside > max_inside) max_inside = inside;
    if (f->name) note(f->name);
    timer_sleep_init(&f->nap, f->hold_ms * TIMER_MS);
    AWAIT(cx, &f->nap); /* the lock is held across this await */
    inside--;
    if (sync_mutex_unlock(&f->lock) != 0) f->got = -1;
    ASYNC_END();
}

static void locker_init(locker_t *f, sync_mutex_t *m, uint64_t hold_ms, const char *name) {
    future_init(&f->fut, locker_poll, 0);
    f->m = m;
    f->hold_ms = hold_ms;
    f->name = name;
    f->got = 0;
}

/* Acquires n permits, notes name, holds them hold_ms, releases them. */
typedef struct {
    future_t fut;
    sync_sem_t *s;
    size_t n;
    uint64_t hold_ms;
    const char *name;
    int got;
    sync_sem_acquire_t acq;
    timer_sleep_t nap;
} acquirer_t;

static coro_poll_t acquirer_poll(future_t *self, future_cx_t *cx) {
    acquirer_t *f = (acquirer_t *)self;
    ASYNC_BEGIN(f);
    sync_sem_acquire_init(&f->acq, f->s, f->n);
    AWAIT(cx, &f->acq);
    f->got = 1;
    if (f->name) note(f->name);
    timer_sleep_init(&f->nap, f->hold_ms * TIMER_MS);
    AWAIT(cx, &f->nap);
    sync_sem_release(f->s, f->n);
    ASYNC_END();
}

static void acquirer_init(acquirer_t *f, sync_sem_t *s, size_t n, uint64_t hold_ms,
                          const char *name) {
    future_init(&f->fut, acquirer_poll, 0);
    f->s = s;
    f->n = n;
    f->hold_ms = hold_ms;
    f->name = name;
    f->got = 0;
}

/* Waits on a notify once, notes name. The notified future is made at init
 * (so a notify_waiters before the first poll counts, as in tokio). */
typedef struct {
    future_t fut;
    const char *name;
    int done;
    sync_notified_t w;
} notwait_t;

static coro_poll_t notwait_poll(future_t *self, future_cx_t *cx) {
    notwait_t *f = (notwait_t *)self;
    ASYNC_BEGIN(f);
    AWAIT(cx, &f->w);
    f->done = 1;
    if (f->name) note(f->name);
    ASYNC_END();
}

static void notwait_init(notwait_t *f, sync_notify_t *n, const char *name) {
    future_init(&f->fut, notwait_poll, 0);
    f->name = name;
    f->done = 0;
    sync_notified_init(&f->w, n);
}

/* Drains a stream of ints into got[], up to 64; then AWAIT_NEXT once more
 * past the end. */
typedef struct {
    future_t fut;
    sync_stream_t *s;
    int got[64];
    int n, ended, end_err, again_null;
    const int *p;
} consume_t;

static coro_poll_t consume_poll(future_t *self, future_cx_t *cx) {
    consume_t *f = (consume_t *)self;
    ASYNC_BEGIN(f);
    for (;;) {
        AWAIT_NEXT(cx, f->s, f->p);
        if (!f->p) break;
        if (f->n < 64) f->got[f->n++] = *f->p;
    }
    f->ended = 1;
    f->end_err = future_err(&f->s->fut);
    AWAIT_NEXT(cx, f->s, f->p); /* past the end: 0 again, no misuse */
    f->again_null = f->p == 0;
    ASYNC_END();
}

static void consume_init(consume_t *f, sync_stream_t *s) {
    future_init(&f->fut, consume_poll, 0);
    f->s = s;
    f->n = f->ended = f->end_err = f->again_null = 0;
}

/* ---- channel ------------------------------------------------------------ */

static void test_chan_messages_arrive_in_order(void) {
    int buf[4], got[100];
    sync_chan_t ch;
    sender_t s;
    receiver_t r;
    exec_task_t ts, tr;
    int i;
    setup();
    exec_task_init(&ts);
    exec_task_init(&tr);
    sync_chan_init(&ch, buf, 4, sizeof(int));
    sender_init(&s, &ch, 0, 100, 0);
    receiver_init(&r, &ch, got, 100);
    exec_spawn(&ts, &ex, &s.fut);
    exec_spawn(&tr, &ex, &r.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(s.sent, 100);
    CHECK_EQ(r.n, 100);
    for (i = 0; i < 100; i++) CHECK_EQ(got[i], i);
    exec_destroy(&ex);
}

static void test_chan_backpressure_slows_the_producer(void) {
    int buf[2], got[10];
    sync_chan_t ch;
    sender_t s;
    receiver_t r;
    exec_task_t ts, tr;
    setup();
    exec_task_init(&ts);
    exec_task_init(&tr);
    sync_chan_init(&ch, buf, 2, sizeof(int));
    sender_init(&s, &ch, 0, 10, 0);
    exec_spawn(&ts, &ex, &s.fut);
    settle();
    /* Nobody receives: two values fit, the third send waits. */
    CHECK_EQ(s.sent, 2);
    CHECK_EQ(sync_chan_len(&ch), 2);
    CHECK(ch.sendq.head == &s.send.w.link);
    CHECK(!exec_task_done(&ts));
    receiver_init(&r, &ch, got, 10);
    exec_spawn(&tr, &ex, &r.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(r.n, 10);
    CHECK_EQ(got[9], 9);
    CHECK(s.waited > 0);
    CHECK_EQ(ch.send_waits, (size_t)s.waited);
    exec_destroy(&ex);
}

static void test_try_send_and_try_recv(void) {
    int buf[2], v = 7, out = 0;
    sync_chan_t ch;
    setup();
    sync_chan_init(&ch, buf, 2, sizeof(int));
    CHECK_EQ(sync_chan_try_recv(&ch, &out), -EAGAIN);
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    v = 8;
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    CHECK_EQ(sync_chan_try_send(&ch, &v), -EAGAIN); /* full */
    CHECK_EQ(sync_chan_try_recv(&ch, &out), 0);
    CHECK_EQ(out, 7);
    sync_chan_close(&ch);
    CHECK_EQ(sync_chan_try_send(&ch, &v), -EPIPE);
    CHECK_EQ(sync_chan_try_recv(&ch, &out), 0); /* queued before the close */
    CHECK_EQ(out, 8);
    CHECK_EQ(sync_chan_try_recv(&ch, &out), -EPIPE);
    CHECK_MISUSE(sync_chan_init(&ch, buf, 0, sizeof(int)), "at least one");
    CHECK_EQ(sync_chan_try_send(&ch, &v), -EPIPE);
    /* cap * elem past SIZE_MAX: ring offsets would wrap */
    CHECK_MISUSE(sync_chan_init(&ch, buf, (size_t)-1 / 2, sizeof(int)), "fit in size_t");
    CHECK_EQ(sync_chan_try_send(&ch, &v), -EPIPE);
    exec_destroy(&ex);
}

static void test_close_wakes_every_receiver(void) {
    int buf[2], v = 5;
    sync_chan_t ch;
    receiver_t r1, r2, r3;
    exec_task_t t1, t2, t3;
    setup();
    exec_task_init(&t1);
    exec_task_init(&t2);
    exec_task_init(&t3);
    sync_chan_init(&ch, buf, 2, sizeof(int));
    receiver_init(&r1, &ch, 0, 10);
    receiver_init(&r2, &ch, 0, 10);
    receiver_init(&r3, &ch, 0, 10);
    exec_spawn(&t1, &ex, &r1.fut);
    exec_spawn(&t2, &ex, &r2.fut);
    exec_spawn(&t3, &ex, &r3.fut);
    settle();
    CHECK(ch.recvq.head == &r1.recv.w.link); /* all three wait, FIFO */
    CHECK(ch.recvq.tail == &r3.recv.w.link);
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0); /* goes to the first */
    sync_chan_tx_drop(&ch);                    /* the only sender: closes */
    CHECK(sync_chan_is_closed(&ch));
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(r1.n, 1);
    CHECK_EQ(r1.rc, -EPIPE);
    CHECK_EQ(r2.rc, -EPIPE);
    CHECK_EQ(r3.rc, -EPIPE);
    CHECK_EQ(r2.n + r3.n, 0);
    CHECK(!ch.recvq.head);
    exec_destroy(&ex);
}

static void test_tx_clone_and_last_drop_closes(void) {
    int buf[1], v = 1, out;
    sync_chan_t ch;
    setup();
    sync_chan_init(&ch, buf, 1, sizeof(int));
    sync_chan_tx_clone(&ch);
    sync_chan_tx_drop(&ch);
    CHECK(!sync_chan_is_closed(&ch));
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    sync_chan_tx_drop(&ch);
    CHECK(sync_chan_is_closed(&ch));
    CHECK_EQ(sync_chan_try_recv(&ch, &out), 0);
    CHECK_EQ(sync_chan_try_recv(&ch, &out), -EPIPE);
    CHECK_MISUSE(sync_chan_tx_drop(&ch), "more drops");
    exec_destroy(&ex);
}

static int released[8], nreleased;
static void count_release(void *item, void *arg) {
    (void)arg;
    released[nreleased++] = *(int *)item;
}

static void test_receiver_drop_fails_senders_and_releases_values(void) {
    int buf[2];
    static const int va[] = {10, 11, 12}, vb[] = {20}, vc[] = {30};
    sync_chan_t ch;
    sender_t a, b, c;
    exec_task_t ta, tb, tc;
    setup();
    nreleased = 0;
    exec_task_init(&ta);
    exec_task_init(&tb);
    exec_task_init(&tc);
    sync_chan_init(&ch, buf, 2, sizeof(int));
    sync_chan_on_drop(&ch, count_release, 0);
    sender_init(&a, &ch, va, 3, 0);
    sender_init(&b, &ch, vb, 1, 0);
    sender_init(&c, &ch, vc, 1, 0);
    exec_spawn(&ta, &ex, &a.fut);
    exec_spawn(&tb, &ex, &b.fut);
    exec_spawn(&tc, &ex, &c.fut);
    settle();
    CHECK_EQ(a.sent, 2); /* 10, 11 queued; a, b, c wait for room */
    CHECK_EQ(b.sent + c.sent, 0);
    sync_chan_rx_drop(&ch);
    CHECK_EQ(nreleased, 2); /* nothing leaks: both handed back, in order */
    CHECK_EQ(released[0], 10);
    CHECK_EQ(released[1], 11);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(a.rc, -EPIPE);
    CHECK_EQ(a.v, 12); /* the value is still the sender's */
    CHECK_EQ(b.rc, -EPIPE);
    CHECK_EQ(c.rc, -EPIPE);
    CHECK(!ch.sendq.head);
    CHECK_EQ(sync_chan_len(&ch), 0);
    exec_destroy(&ex);
}

static void test_waiting_senders_are_served_fifo(void) {
    int buf[1], got[8], v = 99;
    static const int v0[] = {0}, v1[] = {1}, v2[] = {2}, v3[] = {3};
    sync_chan_t ch;
    sender_t s[4];
    receiver_t r;
    exec_task_t t[4], tr;
    int i;
    setup();
    sync_chan_init(&ch, buf, 1, sizeof(int));
    sender_init(&s[0], &ch, v0, 1, "s0");
    sender_init(&s[1], &ch, v1, 1, "s1");
    sender_init(&s[2], &ch, v2, 1, "s2");
    sender_init(&s[3], &ch, v3, 1, "s3");
    for (i = 0; i < 4; i++) {
        exec_task_init(&t[i]);
        exec_spawn(&t[i], &ex, &s[i].fut);
    }
    settle();
    CHECK(strcmp(logged(), "s0") == 0);
    /* A latecomer may not jump the queue, even once room is freed. */
    CHECK_EQ(sync_chan_try_send(&ch, &v), -EAGAIN);
    CHECK_EQ(sync_chan_try_recv(&ch, &got[0]), 0);
    CHECK_EQ(sync_chan_try_send(&ch, &v), -EAGAIN); /* the room is s1's */
    CHECK_EQ(ch.reserved, 1);
    receiver_init(&r, &ch, got + 1, 3);
    exec_task_init(&tr);
    exec_spawn(&tr, &ex, &r.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "s0 s1 s2 s3") == 0);
    for (i = 0; i < 4; i++) CHECK_EQ(got[i], i);
    exec_destroy(&ex);
}

static void test_million_messages_through_capacity_one(void) {
    int buf[1];
    sync_chan_t ch;
    sender_t s;
    receiver_t r;
    exec_task_t ts, tr;
    setup();
    exec_task_init(&ts);
    exec_task_init(&tr);
    sync_chan_init(&ch, buf, 1, sizeof(int));
    sender_init(&s, &ch, 0, MILLION, 0);
    receiver_init(&r, &ch, 0, MILLION + 1);
    r.ordered = 1;
    exec_spawn(&ts, &ex, &s.fut);
    exec_spawn(&tr, &ex, &r.fut);
    CHECK_EQ(exec_run(&ex), -EDEADLK); /* the receiver waits for one more */
    CHECK_EQ(s.sent, MILLION);
    CHECK_EQ(r.n, MILLION);
    CHECK_EQ(r.out_of_order, 0);
    sync_chan_tx_drop(&ch);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(r.rc, -EPIPE);
    exec_destroy(&ex);
}

/* Two tasks, two channels of capacity 1: request, echo, reply. */
typedef struct {
    future_t fut;
    sync_chan_t *in, *out;
    int v, n;
    sync_chan_recv_t recv;
    sync_chan_send_t send;
} echo_t;

static coro_poll_t echo_poll(future_t *self, future_cx_t *cx) {
    echo_t *f = (echo_t *)self;
    ASYNC_BEGIN(f);
    for (;;) {
        sync_chan_recv_init(&f->recv, f->in, &f->v);
        AWAIT(cx, &f->recv);
        if (future_err(&f->recv.fut)) break;
        f->v++;
        sync_chan_send_init(&f->send, f->out, &f->v);
        AWAIT_TRY(cx, &f->send);
        f->n++;
    }
    ASYNC_END();
}

typedef struct {
    future_t fut;
    sync_chan_t *to, *from;
    int i, n, v, bad;
    sync_chan_send_t send;
    sync_chan_recv_t recv;
} ping_t;

static coro_poll_t ping_poll(future_t *self, future_cx_t *cx) {
    ping_t *f = (ping_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < f->n; f->i++) {
        f->v = f->i;
        sync_chan_send_init(&f->send, f->to, &f->v);
        AWAIT_TRY(cx, &f->send);
        sync_chan_recv_init(&f->recv, f->from, &f->v);
        AWAIT_TRY(cx, &f->recv);
        if (f->v != f->i + 1) f->bad++;
    }
    sync_chan_tx_drop(f->to);
    ASYNC_END();
}

static void test_ping_pong_between_two_tasks(void) {
    int b1[1], b2[1];
    sync_chan_t to, from;
    echo_t e;
    ping_t p;
    exec_task_t te;
    setup();
    exec_task_init(&te);
    sync_chan_init(&to, b1, 1, sizeof(int));
    sync_chan_init(&from, b2, 1, sizeof(int));
    future_init(&e.fut, echo_poll, 0);
    e.in = &to;
    e.out = &from;
    e.n = 0;
    future_init(&p.fut, ping_poll, 0);
    p.to = &to;
    p.from = &from;
    p.n = 10000;
    p.bad = 0;
    exec_spawn(&te, &ex, &e.fut);
    CHECK_EQ(exec_block_on(&ex, &p.fut), 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(p.bad, 0);
    CHECK_EQ(e.n, 10000);
    exec_destroy(&ex);
}

/* Notes the value of *src when it is first polled. */
typedef struct {
    future_t fut;
    const int *src;
    int seen;
} snapshot_t;

static coro_poll_t snapshot_poll(future_t *self, future_cx_t *cx) {
    snapshot_t *f = (snapshot_t *)self;
    (void)cx;
    f->seen = *f->src;
    return future_finish(self, 0);
}

/* A task that receives forever from a full channel does not starve others:
 * the ready recv spends the cooperative budget. */
static void test_ready_recv_spends_the_budget(void) {
    static int buf[1000];
    int i;
    sync_chan_t ch;
    receiver_t r;
    snapshot_t snap;
    exec_task_t tr, tsnap;
    setup();
    exec_task_init(&tr);
    exec_task_init(&tsnap);
    sync_chan_init(&ch, buf, 1000, sizeof(int));
    for (i = 0; i < 1000; i++) sync_chan_try_send(&ch, &i);
    receiver_init(&r, &ch, 0, 1000);
    future_init(&snap.fut, snapshot_poll, 0);
    snap.src = &r.n;
    snap.seen = -1;
    exec_spawn(&tr, &ex, &r.fut);
    exec_spawn(&tsnap, &ex, &snap.fut);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(snap.seen, EXEC_BUDGET); /* r gave way after one budget */
    CHECK_EQ(r.n, 1000);
    exec_destroy(&ex);
}

/* ---- dropping channel operations at their suspension point -------------- */

static void test_drop_waiting_recv_loses_no_message(void) {
    int buf[2], v = 0, out = 0, w = 42;
    sync_chan_t ch;
    sync_chan_recv_t rx;
    race_t race;
    setup();
    sync_chan_init(&ch, buf, 2, sizeof(int));
    sync_chan_recv_init(&rx, &ch, &v);
    race_init(&race, &rx.fut, 5);
    CHECK_EQ(exec_block_on(&ex, &race.fut), 0);
    CHECK_EQ(race.which, 1); /* the sleep won: recv was dropped while queued */
    CHECK_EQ(future_err(&rx.fut), -ECANCELED);
    CHECK(!ch.recvq.head); /* unlinked */
    CHECK_EQ(sync_chan_try_send(&ch, &w), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(sync_chan_try_recv(&ch, &out), 0); /* still there */
    CHECK_EQ(out, 42);
    exec_destroy(&ex);
}

static void test_drop_woken_recv_passes_the_wake_on(void) {
    int buf[2], v = 7;
    sync_chan_t ch;
    receiver_t r1, r2;
    exec_task_t t1, t2;
    setup();
    exec_task_init(&t1);
    exec_task_init(&t2);
    sync_chan_init(&ch, buf, 2, sizeof(int));
    receiver_init(&r1, &ch, 0, 1);
    receiver_init(&r2, &ch, 0, 1);
    exec_spawn(&t1, &ex, &r1.fut);
    exec_spawn(&t2, &ex, &r2.fut);
    settle();
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0); /* promised to r1 */
    CHECK(r1.recv.w.state == SYNC_GRANTED_);
    CHECK_EQ(ch.promised, 1);
    exec_abort(&t1); /* r1 is dropped before it runs */
    CHECK_EQ(exec_task_err(&t1), -ECANCELED);
    CHECK(r2.recv.w.state == SYNC_GRANTED_); /* the value went to r2 */
    CHECK_EQ(ch.promised, 1);
    CHECK_EQ(exec_run(&ex), 0);            /* no stall: nothing was lost */
    CHECK_EQ(r2.n, 1);
    CHECK_EQ(r2.v, 7);
    exec_destroy(&ex);
}

/* A value sent while receivers wait is the first one's: a receiver that
 * happens to be polled first for another reason (a JOIN sibling, a timer
 * in a SELECT) or a try_recv cannot take it and send the first to the back
 * of the queue. */
static void test_receivers_are_served_fifo(void) {
    static const char *const names[3] = {"a", "b", "c"};
    int buf[4], v, out;
    sync_chan_t ch;
    receiver_t r[3];
    exec_task_t t[3];
    int i;
    setup();
    sync_chan_init(&ch, buf, 4, sizeof(int));
    for (i = 0; i < 3; i++) {
        receiver_init(&r[i], &ch, 0, 1);
        r[i].name = names[i];
        exec_task_init(&t[i]);
        exec_spawn(&t[i], &ex, &r[i].fut);
    }
    settle();
    CHECK(ch.recvq.head == &r[0].recv.w.link);
    future_wake(&t[1].waker); /* b is polled first, for another reason */
    v = 1;
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);         /* a's */
    CHECK_EQ(sync_chan_try_recv(&ch, &out), -EAGAIN); /* promised to a */
    settle();
    CHECK(strcmp(logged(), "a") == 0);
    CHECK_EQ(r[0].v, 1);
    CHECK(ch.recvq.head == &r[1].recv.w.link); /* b kept its place */
    v = 2;
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    v = 3;
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "a b c") == 0);
    CHECK_EQ(r[1].v, 2);
    CHECK_EQ(r[2].v, 3);
    CHECK_EQ(ch.promised, 0);
    exec_destroy(&ex);
}

/* After a close anyone drains what is left, and a promised receiver that
 * is dropped then hands its value on: nobody gets -EPIPE while a value is
 * still queued. */
static void test_close_with_a_promised_receiver(void) {
    int buf[2], v = 7;
    sync_chan_t ch;
    receiver_t a, b;
    exec_task_t ta, tb;
    setup();
    exec_task_init(&ta);
    exec_task_init(&tb);
    sync_chan_init(&ch, buf, 2, sizeof(int));
    receiver_init(&a, &ch, 0, 1);
    receiver_init(&b, &ch, 0, 1);
    exec_spawn(&ta, &ex, &a.fut);
    exec_spawn(&tb, &ex, &b.fut);
    settle();
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0); /* promised to a */
    sync_chan_close(&ch);                     /* b woken by the close */
    exec_abort(&ta);                          /* a goes without taking it */
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(b.rc, 0); /* b drained it */
    CHECK_EQ(b.v, 7);
    CHECK_EQ(ch.promised, 0);
    CHECK_EQ(sync_chan_try_recv(&ch, &v), -EPIPE);
    exec_destroy(&ex);
}

static void test_drop_waiting_send_hands_the_value_back(void) {
    int buf[1], v = 1, w = 2, out;
    sync_chan_t ch;
    sync_chan_send_t tx;
    race_t race;
    setup();
    sync_chan_init(&ch, buf, 1, sizeof(int));
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0); /* full */
    sync_chan_send_init(&tx, &ch, &w);
    race_init(&race, &tx.fut, 5);
    CHECK_EQ(exec_block_on(&ex, &race.fut), 0);
    CHECK_EQ(race.which, 1);
    CHECK(tx.waited);
    CHECK(!ch.sendq.head); /* unlinked */
    CHECK_EQ(sync_chan_len(&ch), 1);
    CHECK_EQ(sync_chan_try_recv(&ch, &out), 0);
    CHECK_EQ(out, 1);
    CHECK_EQ(sync_chan_try_recv(&ch, &out), -EAGAIN); /* w was never sent */
    CHECK_EQ(ch.reserved, 0);
    exec_destroy(&ex);
}

static void test_drop_granted_send_passes_the_room_on(void) {
    int buf[1], v = 0, out;
    static const int va[] = {1}, vb[] = {2};
    sync_chan_t ch;
    sender_t a, b;
    exec_task_t ta, tb;
    setup();
    exec_task_init(&ta);
    exec_task_init(&tb);
    sync_chan_init(&ch, buf, 1, sizeof(int));
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    sender_init(&a, &ch, va, 1, 0);
    sender_init(&b, &ch, vb, 1, 0);
    exec_spawn(&ta, &ex, &a.fut);
    exec_spawn(&tb, &ex, &b.fut);
    settle();
    CHECK_EQ(sync_chan_try_recv(&ch, &out), 0); /* the room goes to a */
    CHECK(a.send.w.state == SYNC_GRANTED_);
    exec_abort(&ta); /* a dropped holding the room */
    CHECK(b.send.w.state == SYNC_GRANTED_); /* passed to b */
    CHECK_EQ(ch.reserved, 1);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(b.sent, 1);
    CHECK_EQ(sync_chan_try_recv(&ch, &out), 0);
    CHECK_EQ(out, 2);
    CHECK_EQ(sync_chan_try_recv(&ch, &out), -EAGAIN); /* a's 1 never went in */
    CHECK_EQ(ch.reserved, 0);
    exec_destroy(&ex);
}

static void test_close_with_a_granted_sender(void) {
    int buf[1], v = 0, out;
    static const int va[] = {1};
    sync_chan_t ch;
    sender_t a;
    exec_task_t ta;
    setup();
    exec_task_init(&ta);
    sync_chan_init(&ch, buf, 1, sizeof(int));
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    sender_init(&a, &ch, va, 1, 0);
    exec_spawn(&ta, &ex, &a.fut);
    settle();
    CHECK_EQ(sync_chan_try_recv(&ch, &out), 0); /* room granted to a ... */
    sync_chan_close(&ch);                       /* ... then closed */
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(a.rc, -EPIPE);
    CHECK_EQ(ch.reserved, 0);
    CHECK_EQ(sync_chan_try_recv(&ch, &out), -EPIPE);
    exec_destroy(&ex);
}

static void test_shutdown_drops_every_waiting_channel_op(void) {
    int buf[1], v = 0;
    sync_chan_t ch, empty;
    int ebuf[1];
    sender_t s[3];
    receiver_t r[3];
    exec_task_t ts[3], tr[3];
    int i;
    setup();
    sync_chan_init(&ch, buf, 1, sizeof(int));
    sync_chan_init(&empty, ebuf, 1, sizeof(int));
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    for (i = 0; i < 3; i++) {
        sender_init(&s[i], &ch, 0, 1, 0);
        receiver_init(&r[i], &empty, 0, 1);
        exec_task_init(&ts[i]);
        exec_task_init(&tr[i]);
        exec_spawn(&ts[i], &ex, &s[i].fut);
        exec_spawn(&tr[i], &ex, &r[i].fut);
    }
    settle();
    exec_shutdown(&ex);
    CHECK(!ch.sendq.head && !ch.sendq.tail);
    CHECK(!empty.recvq.head && !empty.recvq.tail);
    CHECK_EQ(sync_chan_len(&ch), 1);
    exec_destroy(&ex);
}

/* ---- oneshot ------------------------------------------------------------ */

/* A server task answers requests: each carries a number and a oneshot. */
typedef struct {
    int x;
    sync_oneshot_t *reply;
} request_t;

typedef struct {
    future_t fut;
    sync_chan_t *in;
    request_t req;
    int answer;
    sync_chan_recv_t recv;
} server_t;

static coro_poll_t server_poll(future_t *self, future_cx_t *cx) {
    server_t *f = (server_t *)self;
    ASYNC_BEGIN(f);
    for (;;) {
        sync_chan_recv_init(&f->recv, f->in, &f->req);
        AWAIT(cx, &f->recv);
        if (future_err(&f->recv.fut)) break;
        f->answer = f->req.x * f->req.x;
        sync_oneshot_send(f->req.reply, &f->answer);
    }
    ASYNC_END();
}

typedef struct {
    future_t fut;
    sync_chan_t *to;
    int i, result, sum;
    request_t req;
    sync_oneshot_t reply;
    sync_chan_send_t send;
    sync_oneshot_recv_t recv;
} client_t;

static coro_poll_t client_poll(future_t *self, future_cx_t *cx) {
    client_t *f = (client_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 1; f->i <= 4; f->i++) {
        sync_oneshot_init(&f->reply, &f->result, sizeof f->result);
        f->req.x = f->i;
        f->req.reply = &f->reply;
        sync_chan_send_init(&f->send, f->to, &f->req);
        AWAIT_TRY(cx, &f->send);
        sync_oneshot_recv_init(&f->recv, &f->reply, 0); /* stays in result */
        AWAIT_TRY(cx, &f->recv);
        f->sum += f->result;
    }
    sync_chan_tx_drop(f->to);
    ASYNC_END();
}

static void test_oneshot_request_response(void) {
    request_t buf[1];
    sync_chan_t ch;
    server_t srv;
    client_t cl;
    exec_task_t ts;
    setup();
    exec_task_init(&ts);
    sync_chan_init(&ch, buf, 1, sizeof(request_t));
    future_init(&srv.fut, server_poll, 0);
    srv.in = &ch;
    future_init(&cl.fut, client_poll, 0);
    cl.to = &ch;
    cl.sum = 0;
    exec_spawn(&ts, &ex, &srv.fut);
    CHECK_EQ(exec_block_on(&ex, &cl.fut), 0);
    CHECK_EQ(cl.sum, 1 + 4 + 9 + 16);
    CHECK_EQ(exec_run(&ex), 0);
    exec_destroy(&ex);
}

static void test_oneshot_sender_and_receiver_gone(void) {
    int slot = 0, v = 5, out = 0;
    sync_oneshot_t o;
    sync_oneshot_recv_t rx;
    race_t race;
    setup();
    /* the sender goes without sending: the receiver gets -EPIPE */
    sync_oneshot_init(&o, &slot, sizeof slot);
    sync_oneshot_recv_init(&rx, &o, &out);
    race_init(&race, &rx.fut, 1000);
    sync_oneshot_tx_drop(&o);
    CHECK_EQ(exec_block_on(&ex, &race.fut), 0);
    CHECK_EQ(race.which, 0);
    CHECK_EQ(future_err(&rx.fut), -EPIPE);
    /* the receiver goes: send fails, the value is not taken */
    sync_oneshot_init(&o, &slot, sizeof slot);
    sync_oneshot_rx_drop(&o);
    CHECK(sync_oneshot_is_closed(&o));
    CHECK_EQ(sync_oneshot_send(&o, &v), -EPIPE);
    CHECK_EQ(slot, 0);
    /* sending twice is misuse */
    sync_oneshot_init(&o, &slot, sizeof slot);
    CHECK_EQ(sync_oneshot_send(&o, &v), 0);
    CHECK_MISUSE(CHECK_EQ(sync_oneshot_send(&o, &v), -EINVAL), "already sent");
    exec_destroy(&ex);
}

static void test_drop_waiting_oneshot_recv_keeps_the_value(void) {
    int slot = 0, v = 9, out = 0;
    sync_oneshot_t o;
    sync_oneshot_recv_t rx;
    race_t race;
    setup();
    sync_oneshot_init(&o, &slot, sizeof slot);
    sync_oneshot_recv_init(&rx, &o, &out);
    race_init(&race, &rx.fut, 5);
    CHECK_EQ(exec_block_on(&ex, &race.fut), 0);
    CHECK_EQ(race.which, 1);
    CHECK(!o.q.head); /* unlinked */
    CHECK_EQ(sync_oneshot_send(&o, &v), 0);
    sync_oneshot_recv_init(&rx, &o, &out); /* a new receive gets it */
    race_init(&race, &rx.fut, 5);
    CHECK_EQ(exec_block_on(&ex, &race.fut), 0);
    CHECK_EQ(race.which, 0);
    CHECK_EQ(out, 9);
    exec_destroy(&ex);
}

/* ---- mutex -------------------------------------------------------------- */

static void test_mutex_held_across_await(void) {
    sync_mutex_t m;
    locker_t l[3];
    exec_task_t t[3];
    uint64_t start;
    int i;
    setup();
    start = exec_now(&ex);
    inside = max_inside = 0;
    sync_mutex_init(&m);
    locker_init(&l[0], &m, 10, "a");
    locker_init(&l[1], &m, 10, "b");
    locker_init(&l[2], &m, 10, "c");
    for (i = 0; i < 3; i++) {
        exec_task_init(&t[i]);
        exec_spawn(&t[i], &ex, &l[i].fut);
    }
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(max_inside, 1); /* never two inside, though each slept inside */
    CHECK(strcmp(logged(), "a b c") == 0);
    CHECK(!sync_mutex_is_locked(&m));
    CHECK(exec_now(&ex) - start >= 30 * TIMER_MS); /* one after the other */
    CHECK(exec_now(&ex) - start < 31 * TIMER_MS);
    exec_destroy(&ex);
}

static void test_mutex_is_fifo(void) {
    static const char *const names[5] = {"1", "2", "3", "4", "5"};
    sync_mutex_t m;
    sync_mutex_lock_t g, g2;
    locker_t l[5];
    exec_task_t t[5];
    int i;
    setup();
    inside = max_inside = 0;
    sync_mutex_init(&m);
    sync_mutex_lock_init(&g, &m);
    sync_mutex_lock_init(&g2, &m);
    CHECK_EQ(sync_mutex_try_lock(&g), 0);
    CHECK_EQ(sync_mutex_try_lock(&g2), -EAGAIN);
    for (i = 0; i < 5; i++) {
        locker_init(&l[i], &m, 0, names[i]);
        exec_task_init(&t[i]);
        exec_spawn(&t[i], &ex, &l[i].fut);
    }
    settle();
    CHECK_EQ(nlog, 0);
    /* Only the holder may unlock: g2 never got it. */
    CHECK_MISUSE(CHECK_EQ(sync_mutex_unlock(&g2), -EPERM), "does not hold");
    CHECK_EQ(sync_mutex_unlock(&g), 0); /* handed to "1", still locked */
    CHECK(sync_mutex_is_locked(&m));
    CHECK_EQ(sync_mutex_try_lock(&g2), -EAGAIN);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "1 2 3 4 5") == 0);
    CHECK(!sync_mutex_is_locked(&m));
    CHECK_MISUSE(CHECK_EQ(sync_mutex_unlock(&g), -EPERM), "not locked");
    exec_destroy(&ex);
}

static void test_drop_queued_and_granted_lock(void) {
    sync_mutex_t m;
    locker_t a, b, c;
    exec_task_t ta, tb, tc;
    sync_mutex_lock_t g;
    setup();
    inside = max_inside = 0;
    exec_task_init(&ta);
    exec_task_init(&tb);
    exec_task_init(&tc);
    sync_mutex_init(&m);
    sync_mutex_lock_init(&g, &m);
    CHECK_EQ(sync_mutex_try_lock(&g), 0);
    locker_init(&a, &m, 0, "a");
    locker_init(&b, &m, 0, "b");
    locker_init(&c, &m, 0, "c");
    exec_spawn(&ta, &ex, &a.fut);
    exec_spawn(&tb, &ex, &b.fut);
    exec_spawn(&tc, &ex, &c.fut);
    settle();
    exec_abort(&tb); /* b dropped while queued: unlinked */
    CHECK(m.sem.q.head == &a.lock.acq.w.link && a.lock.acq.w.link.next == &c.lock.acq.w.link);
    CHECK_EQ(sync_mutex_unlock(&g), 0); /* granted to a */
    CHECK(a.lock.acq.w.state == SYNC_GRANTED_);
    exec_abort(&ta); /* a dropped holding the grant: it goes to c */
    CHECK(c.lock.acq.w.state == SYNC_GRANTED_);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "c") == 0);
    CHECK(!sync_mutex_is_locked(&m));
    CHECK(!m.sem.q.head);
    exec_destroy(&ex);
}

static void test_drop_waiting_lock_in_select(void) {
    sync_mutex_t m;
    sync_mutex_lock_t lk, g;
    race_t race;
    setup();
    sync_mutex_init(&m);
    sync_mutex_lock_init(&g, &m);
    CHECK_EQ(sync_mutex_try_lock(&g), 0);
    sync_mutex_lock_init(&lk, &m);
    race_init(&race, &lk.acq.fut, 3);
    CHECK_EQ(exec_block_on(&ex, &race.fut), 0);
    CHECK_EQ(race.which, 1);
    CHECK(!m.sem.q.head);
    CHECK_EQ(sync_mutex_unlock(&g), 0);
    CHECK(!sync_mutex_is_locked(&m)); /* nobody left to hand it to */
    exec_destroy(&ex);
}

/* ---- semaphore ---------------------------------------------------------- */

static void test_semaphore_multi_permits_fifo(void) {
    sync_sem_t s;
    acquirer_t a, b, c;
    exec_task_t ta, tb, tc;
    setup();
    exec_task_init(&ta);
    exec_task_init(&tb);
    exec_task_init(&tc);
    sync_sem_init(&s, 5);
    acquirer_init(&a, &s, 4, 10, "a4");
    acquirer_init(&b, &s, 3, 10, "b3");
    acquirer_init(&c, &s, 1, 10, "c1");
    exec_spawn(&ta, &ex, &a.fut);
    exec_spawn(&tb, &ex, &b.fut);
    exec_spawn(&tc, &ex, &c.fut);
    settle();
    /* one permit is free, but c queues behind b: first come first served */
    CHECK(strcmp(logged(), "a4") == 0);
    CHECK_EQ(sync_sem_available(&s), 1);
    CHECK_EQ(sync_sem_try_acquire(&s, 1), -EAGAIN);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "a4 b3 c1") == 0);
    CHECK_EQ(sync_sem_available(&s), 5);
    CHECK_EQ(sync_sem_try_acquire(&s, 5), 0);
    CHECK_EQ(sync_sem_try_acquire(&s, 1), -EAGAIN);
    exec_destroy(&ex);
}

static void test_drop_head_acquirer_unblocks_the_rest(void) {
    sync_sem_t s;
    acquirer_t big, small;
    exec_task_t tb, ts;
    setup();
    exec_task_init(&tb);
    exec_task_init(&ts);
    sync_sem_init(&s, 1);
    acquirer_init(&big, &s, 3, 0, "big");
    acquirer_init(&small, &s, 1, 0, "small");
    exec_spawn(&tb, &ex, &big.fut);
    exec_spawn(&ts, &ex, &small.fut);
    settle();
    CHECK_EQ(nlog, 0); /* small waits behind big */
    exec_abort(&tb);   /* big dropped at the head: small fits now */
    CHECK(small.acq.w.state == SYNC_GRANTED_);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "small") == 0);
    CHECK_EQ(sync_sem_available(&s), 1);
    exec_destroy(&ex);
}

/* Releasing more than was acquired must not wrap the count to a few. */
static void test_sem_release_overflow_is_misuse(void) {
    sync_sem_t s;
    sync_sem_init(&s, (size_t)-1 - 1);
    CHECK_MISUSE(sync_sem_release(&s, 3), "overflow");
    CHECK_EQ(sync_sem_available(&s), (size_t)-1);
    CHECK_EQ(sync_sem_try_acquire(&s, 1000), 0);
}

static void test_drop_granted_acquirer_returns_permits(void) {
    sync_sem_t s;
    acquirer_t a, b;
    exec_task_t ta, tb;
    setup();
    exec_task_init(&ta);
    exec_task_init(&tb);
    sync_sem_init(&s, 0);
    acquirer_init(&a, &s, 2, 0, "a");
    acquirer_init(&b, &s, 2, 0, "b");
    exec_spawn(&ta, &ex, &a.fut);
    exec_spawn(&tb, &ex, &b.fut);
    settle();
    sync_sem_release(&s, 2); /* to a */
    CHECK(a.acq.w.state == SYNC_GRANTED_);
    CHECK_EQ(sync_sem_available(&s), 0);
    exec_abort(&ta); /* a's two permits go on to b */
    CHECK(b.acq.w.state == SYNC_GRANTED_);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "b") == 0);
    CHECK_EQ(sync_sem_available(&s), 2);
    exec_destroy(&ex);
}

/* ---- notify ------------------------------------------------------------- */

static void test_notify_one_stores_one_permit(void) {
    sync_notify_t n;
    notwait_t w1, w2;
    exec_task_t t1, t2;
    setup();
    exec_task_init(&t1);
    exec_task_init(&t2);
    sync_notify_init(&n);
    sync_notify_one(&n);
    sync_notify_one(&n); /* still one permit */
    notwait_init(&w1, &n, "w1");
    notwait_init(&w2, &n, "w2");
    exec_spawn(&t1, &ex, &w1.fut);
    exec_spawn(&t2, &ex, &w2.fut);
    settle();
    CHECK(strcmp(logged(), "w1") == 0); /* the permit let one through */
    CHECK(n.q.head == &w2.w.w.link);
    sync_notify_one(&n);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "w1 w2") == 0);
    CHECK_EQ(n.permit, 0);
    exec_destroy(&ex);
}

static void test_notify_waiters_wakes_all_and_stores_nothing(void) {
    sync_notify_t n;
    notwait_t w[3], late, early;
    exec_task_t t[3], tl, te;
    int i;
    setup();
    sync_notify_init(&n);
    for (i = 0; i < 3; i++) {
        notwait_init(&w[i], &n, "w");
        exec_task_init(&t[i]);
        exec_spawn(&t[i], &ex, &w[i].fut);
    }
    settle();
    notwait_init(&early, &n, "early"); /* made before, polled after */
    sync_notify_waiters(&n);
    notwait_init(&late, &n, "late"); /* made after: waits */
    exec_task_init(&tl);
    exec_task_init(&te);
    exec_spawn(&te, &ex, &early.fut);
    exec_spawn(&tl, &ex, &late.fut);
    settle();
    CHECK(strcmp(logged(), "w w w early") == 0);
    CHECK(!late.done);
    CHECK_EQ(n.permit, 0);
    sync_notify_one(&n);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(late.done);
    exec_destroy(&ex);
}

static void test_drop_notified_passes_notify_one_on(void) {
    sync_notify_t n;
    notwait_t a, b, c;
    exec_task_t ta, tb, tc;
    setup();
    exec_task_init(&ta);
    exec_task_init(&tb);
    exec_task_init(&tc);
    sync_notify_init(&n);
    notwait_init(&a, &n, "a");
    notwait_init(&b, &n, "b");
    notwait_init(&c, &n, "c");
    exec_spawn(&ta, &ex, &a.fut);
    exec_spawn(&tb, &ex, &b.fut);
    exec_spawn(&tc, &ex, &c.fut);
    settle();
    exec_abort(&tb); /* queued: unlinked */
    CHECK(n.q.head == &a.w.w.link && a.w.w.link.next == &c.w.w.link);
    sync_notify_one(&n); /* to a */
    exec_abort(&ta);     /* a dropped before running: c gets it */
    CHECK(c.w.w.state == SYNC_GRANTED_);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(strcmp(logged(), "c") == 0);
    CHECK(!n.q.head);
    CHECK_EQ(n.permit, 0);
    /* with nobody left, a dropped notify_one becomes the permit */
    notwait_init(&a, &n, "a");
    exec_task_init(&ta);
    exec_spawn(&ta, &ex, &a.fut);
    settle();
    sync_notify_one(&n);
    exec_abort(&ta);
    CHECK_EQ(n.permit, 1);
    exec_destroy(&ex);
}

/* ---- streams ------------------------------------------------------------ */

static void square(const void *in, void *out, void *arg) {
    (void)arg;
    *(int *)out = *(const int *)in * *(const int *)in;
}

static int is_odd(const void *item, void *arg) {
    (void)arg;
    return *(const int *)item % 2 != 0;
}

static void test_stream_iter_map_filter_take(void) {
    static const int nums[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    sync_iter_t it;
    sync_map_t sq;
    sync_filter_t odd;
    sync_take_t first3;
    int sq_out;
    consume_t c;
    setup();
    sync_iter_init(&it, nums, 10, sizeof(int));
    sync_map_init(&sq, &it.st, square, 0, &sq_out);
    sync_filter_init(&odd, &sq.st, is_odd, 0);
    sync_take_init(&first3, &odd.st, 3);
    consume_init(&c, &first3.st);
    CHECK_EQ(exec_block_on(&ex, &c.fut), 0);
    CHECK_EQ(c.n, 3);
    CHECK_EQ(c.got[0], 1);
    CHECK_EQ(c.got[1], 9);
    CHECK_EQ(c.got[2], 25);
    CHECK(c.ended && c.again_null);
    CHECK_EQ(c.end_err, 0);
    CHECK(!sync_stream_ended(&it.st)); /* take left the rest unread */
    exec_destroy(&ex);
}

static void test_stream_adapters_end_with_their_input(void) {
    static const int nums[5] = {1, 2, 3, 4, 5};
    sync_iter_t it;
    sync_filter_t odd;
    sync_take_t many, none;
    consume_t c;
    setup();
    /* take(100) of filter(odd) of 5 items: ends when the array does */
    sync_iter_init(&it, nums, 5, sizeof(int));
    sync_filter_init(&odd, &it.st, is_odd, 0);
    sync_take_init(&many, &odd.st, 100);
    consume_init(&c, &many.st);
    CHECK_EQ(exec_block_on(&ex, &c.fut), 0);
    CHECK_EQ(c.n, 3);
    CHECK_EQ(c.got[2], 5);
    CHECK(c.ended && c.again_null);
    CHECK(sync_stream_ended(&it.st) && sync_stream_ended(&odd.st));
    /* take(0) ends at once; an empty array too */
    sync_iter_init(&it, nums, 5, sizeof(int));
    sync_take_init(&none, &it.st, 0);
    consume_init(&c, &none.st);
    CHECK_EQ(exec_block_on(&ex, &c.fut), 0);
    CHECK_EQ(c.n, 0);
    CHECK(c.ended);
    sync_iter_init(&it, nums, 0, sizeof(int));
    consume_init(&c, &it.st);
    CHECK_EQ(exec_block_on(&ex, &c.fut), 0);
    CHECK_EQ(c.n, 0);
    CHECK(c.ended && c.again_null);
    exec_destroy(&ex);
}

static void test_chan_stream_ends_when_closed(void) {
    int buf[2], slot;
    static const int vals[5] = {5, 6, 7, 8, 9};
    sync_chan_t ch;
    sync_chan_stream_t rs;
    sender_t s;
    exec_task_t ts;
    consume_t c;
    setup();
    exec_task_init(&ts);
    sync_chan_init(&ch, buf, 2, sizeof(int));
    sender_init(&s, &ch, vals, 5, 0);
    exec_spawn(&ts, &ex, &s.fut);
    sync_chan_stream_init(&rs, &ch, &slot);
    consume_init(&c, &rs.st);
    settle();
    sync_chan_tx_drop(&ch); /* closed while the sender waits for room */
    CHECK_EQ(exec_block_on(&ex, &c.fut), 0);
    /* The close came while the sender still had 3 to send: they fail. */
    CHECK_EQ(s.sent, 2);
    CHECK_EQ(s.rc, -EPIPE);
    CHECK_EQ(c.n, 2);
    CHECK_EQ(c.got[0], 5);
    CHECK_EQ(c.got[1], 6);
    CHECK(c.ended && c.again_null);
    CHECK_EQ(c.end_err, 0);
    exec_destroy(&ex);
}

/* A producer that sends then closes, drained through a chan stream. */
typedef struct {
    future_t fut;
    sender_t s;
} closer_t;

static coro_poll_t closer_poll(future_t *self, future_cx_t *cx) {
    closer_t *f = (closer_t *)self;
    ASYNC_BEGIN(f);
    AWAIT(cx, &f->s);
    sync_chan_tx_drop(f->s.ch);
    ASYNC_END();
}

static void test_chan_stream_delivers_everything_then_ends(void) {
    int buf[2], slot;
    static const int vals[5] = {5, 6, 7, 8, 9};
    sync_chan_t ch;
    sync_chan_stream_t rs;
    closer_t p;
    exec_task_t tp;
    consume_t c;
    int i;
    setup();
    exec_task_init(&tp);
    sync_chan_init(&ch, buf, 2, sizeof(int));
    future_init(&p.fut, closer_poll, 0);
    sender_init(&p.s, &ch, vals, 5, 0);
    exec_spawn(&tp, &ex, &p.fut);
    sync_chan_stream_init(&rs, &ch, &slot);
    consume_init(&c, &rs.st);
    CHECK_EQ(exec_block_on(&ex, &c.fut), 0);
    CHECK_EQ(c.n, 5);
    for (i = 0; i < 5; i++) CHECK_EQ(c.got[i], 5 + i);
    CHECK(c.ended && c.again_null);
    CHECK_EQ(c.end_err, 0);
    CHECK_EQ(exec_run(&ex), 0);
    exec_destroy(&ex);
}

/* Takes n ticks of an interval stream, noting each tick's time (ms). */
typedef struct {
    future_t fut;
    sync_interval_t iv;
    sync_take_t take;
    uint64_t start, at[8];
    int n;
    const uint64_t *p;
} ticker_t;

static coro_poll_t ticker_poll(future_t *self, future_cx_t *cx) {
    ticker_t *f = (ticker_t *)self;
    ASYNC_BEGIN(f);
    f->start = exec_now(exec_of(cx));
    for (;;) {
        AWAIT_NEXT(cx, &f->take, f->p);
        if (!f->p) break;
        f->at[f->n++] = (*f->p - f->start) / TIMER_MS;
    }
    ASYNC_END();
}

static void test_interval_stream_ticks(void) {
    ticker_t t;
    setup();
    future_init(&t.fut, ticker_poll, 0);
    sync_interval_init(&t.iv, 10 * TIMER_MS, TIMER_MISSED_BURST);
    sync_take_init(&t.take, &t.iv.st, 4);
    t.n = 0;
    CHECK_EQ(exec_block_on(&ex, &t.fut), 0);
    CHECK_EQ(t.n, 4);
    CHECK_EQ(t.at[0], 0);
    CHECK_EQ(t.at[1], 10);
    CHECK_EQ(t.at[2], 20);
    CHECK_EQ(t.at[3], 30);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0); /* between ticks: nothing */
    exec_destroy(&ex);
}

/* Waits for one item of a stream. */
typedef struct {
    future_t fut;
    sync_stream_t *s;
    int n;
    const int *p;
} stream_wait_t;

static coro_poll_t stream_wait_poll(future_t *self, future_cx_t *cx) {
    stream_wait_t *f = (stream_wait_t *)self;
    ASYNC_BEGIN(f);
    AWAIT_NEXT(cx, f->s, f->p);
    f->n++;
    ASYNC_END();
}

static void test_drop_stream_inside_await_next(void) {
    int buf[2], slot, out, sq_out, v = 3;
    sync_chan_t ch;
    sync_chan_stream_t rs;
    sync_map_t m;
    sync_take_t tk;
    stream_wait_t sr;
    exec_task_t t;
    setup();
    exec_task_init(&t);
    sync_chan_init(&ch, buf, 2, sizeof(int));
    sync_chan_stream_init(&rs, &ch, &slot);
    sync_map_init(&m, &rs.st, square, 0, &sq_out);
    sync_take_init(&tk, &m.st, 5);
    future_init(&sr.fut, stream_wait_poll, 0);
    sr.s = &tk.st;
    sr.n = 0;
    exec_spawn(&t, &ex, &sr.fut);
    settle();
    CHECK(ch.recvq.head == &rs.rx.w.link); /* waiting deep inside take(map(chan)) */
    exec_abort(&t);
    CHECK(!ch.recvq.head); /* the whole chain was dropped, the node unlinked */
    CHECK(sync_stream_ended(&tk.st) && sync_stream_ended(&rs.st));
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    CHECK_EQ(sync_chan_try_recv(&ch, &out), 0); /* not lost */
    CHECK_EQ(out, 3);
    exec_destroy(&ex);
}

static void test_drop_interval_stream_inside_await_next(void) {
    ticker_t t;
    exec_task_t task;
    setup();
    exec_task_init(&task);
    future_init(&t.fut, ticker_poll, 0);
    sync_interval_init(&t.iv, 10 * TIMER_MS, TIMER_MISSED_BURST);
    sync_take_init(&t.take, &t.iv.st, 100);
    t.n = 0;
    exec_spawn(&task, &ex, &t.fut);
    settle(); /* the first tick is immediate; then it waits on the wheel */
    CHECK_EQ(t.n, 1);
    CHECK_EQ(timer_wheel_count(&ex.timers), 1);
    exec_abort(&task);
    CHECK_EQ(timer_wheel_count(&ex.timers), 0);
    exec_destroy(&ex);
}

/* ---- SELECT between a job and a shutdown notify (the workers pattern) --- */

typedef struct {
    future_t fut;
    sync_chan_t *jobs;
    sync_notify_t *stop;
    int v, which, done;
    sync_chan_recv_t recv;
    sync_notified_t stopped;
} worker_t;

static coro_poll_t worker_poll(future_t *self, future_cx_t *cx) {
    worker_t *f = (worker_t *)self;
    ASYNC_BEGIN(f);
    for (;;) {
        sync_chan_recv_init(&f->recv, f->jobs, &f->v);
        sync_notified_init(&f->stopped, f->stop);
        SELECT_BIASED(cx, f->which, &f->stopped, &f->recv);
        if (f->which == 0 || future_err(&f->recv.fut)) break;
        f->done++;
    }
    ASYNC_END();
}

static void test_select_job_or_shutdown(void) {
    int buf[4], i;
    sync_chan_t ch;
    sync_notify_t stop;
    worker_t w[2];
    exec_task_t t[2];
    setup();
    sync_chan_init(&ch, buf, 4, sizeof(int));
    sync_notify_init(&stop);
    for (i = 0; i < 2; i++) {
        future_init(&w[i].fut, worker_poll, 0);
        w[i].jobs = &ch;
        w[i].stop = &stop;
        w[i].done = 0;
        exec_task_init(&t[i]);
        exec_spawn(&t[i], &ex, &w[i].fut);
    }
    settle();
    for (i = 0; i < 3; i++) CHECK_EQ(sync_chan_try_send(&ch, &i), 0);
    settle();
    CHECK_EQ(w[0].done + w[1].done, 3);
    CHECK(ch.recvq.head && stop.q.head); /* both wait on both again */
    sync_notify_waiters(&stop);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(!ch.recvq.head && !stop.q.head); /* the losing recvs were unlinked */
    exec_destroy(&ex);
}

/* ---- descriptions (exec_dump's async backtrace) ------------------------- */

/* What f is doing, in words, task names resolved as exec_dump does. */
static const char *describe_named(const void *f, int names) {
    static char buf[160];
    future_fmt_t o = {0, 0, 0, 0, 0};
    o.buf = buf;
    o.cap = sizeof buf;
    buf[0] = 0;
    if (names) o.waker_name = exec_waker_name_;
    future_describe((const future_t *)f, &o);
    return buf;
}
#define DESCRIBED(f, text) (strcmp(describe_named((f), 1), (text)) == 0)

static void test_chan_and_oneshot_waits_describe_themselves(void) {
    int rbuf[4], sbuf[4], i, v = 0;
    sync_chan_t rch, sch;
    receiver_t r;
    sender_t s1, s2;
    sync_oneshot_t o;
    sync_oneshot_recv_t orx;
    exec_task_t tr, t1, t2;
    setup();
    sync_chan_init(&rch, rbuf, 4, sizeof(int));
    sync_chan_init(&sch, sbuf, 4, sizeof(int));
    for (i = 0; i < 4; i++) CHECK_EQ(sync_chan_try_send(&sch, &i), 0);
    receiver_init(&r, &rch, 0, 1);
    sender_init(&s1, &sch, 0, 1, 0);
    sender_init(&s2, &sch, 0, 1, 0);
    exec_task_init(&tr);
    exec_task_init(&t1);
    exec_task_init(&t2);
    exec_spawn(&tr, &ex, &r.fut);
    exec_spawn(&t1, &ex, &s1.fut);
    settle();
    CHECK(DESCRIBED(&r.recv, "chan recv (0/4 queued)"));
    CHECK(DESCRIBED(&s1.send, "chan send (4/4 queued, 1 sender waiting)"));
    exec_spawn(&t2, &ex, &s2.fut);
    settle();
    CHECK(DESCRIBED(&s1.send, "chan send (4/4 queued, 2 senders waiting)"));
    /* The task itself: where its body waits. */
    CHECK(strstr(describe_named(&r, 1), "test_sync.c:") != 0);
    sync_chan_close(&sch);
    sync_chan_close(&rch);
    CHECK_EQ(exec_run(&ex), 0);
    /* oneshot, by hand */
    sync_oneshot_init(&o, &v, sizeof v);
    sync_oneshot_recv_init(&orx, &o, &v);
    {
        future_cx_t cx;
        future_cx_init(&cx, 0); /* no waker: nothing will be woken */
        CHECK_EQ(future_poll(&orx, &cx), CORO_PENDING);
    }
    CHECK(DESCRIBED(&orx, "oneshot recv"));
    future_drop(&orx);
    exec_destroy(&ex);
}

static void test_sem_mutex_notify_waits_describe_themselves(void) {
    sync_sem_t sem;
    sync_mutex_t m;
    sync_notify_t n;
    acquirer_t a, b;
    locker_t w, l;
    notwait_t n1, n2;
    sync_mutex_lock_t tl;
    exec_task_t ta, tb, tw, tlk, tn1, tn2;
    char *text = 0;
    size_t len = 0;
    FILE *out;
    setup();
    sync_sem_init(&sem, 3);
    sync_mutex_init(&m);
    sync_notify_init(&n);
    acquirer_init(&a, &sem, 3, 100, 0);
    acquirer_init(&b, &sem, 2, 0, 0);
    locker_init(&w, &m, 100, 0);
    locker_init(&l, &m, 0, 0);
    notwait_init(&n1, &n, 0);
    notwait_init(&n2, &n, 0);
    exec_task_init(&ta);
    exec_task_init(&tb);
    exec_task_init(&tw);
    exec_task_init(&tlk);
    exec_task_init(&tn1);
    exec_task_init(&tn2);
    exec_spawn(&ta, &ex, &a.fut);
    exec_spawn(&tb, &ex, &b.fut);
    exec_spawn(&tw, &ex, &w.fut);
    exec_task_set_name(&tw, "writer");
    exec_spawn(&tlk, &ex, &l.fut);
    exec_task_set_name(&tlk, "reader");
    exec_spawn(&tn1, &ex, &n1.fut);
    exec_spawn(&tn2, &ex, &n2.fut);
    settle();
    CHECK(DESCRIBED(&b.acq, "semaphore acquire 2 (0 of 3 free)"));
    CHECK(DESCRIBED(&l.lock, "mutex lock (held by task \"writer\", 1 waiting)"));
    CHECK(strcmp(describe_named(&l.lock, 0), "mutex lock (held, 1 waiting)") == 0);
    CHECK(DESCRIBED(&n1.w, "notify wait (2 waiting)"));
    /* exec_dump shows it in the task tree. */
    out = open_memstream(&text, &len);
    CHECK(out != 0);
    exec_dump(&ex, out);
    fclose(out);
    CHECK(strstr(text, "reader") != 0);
    CHECK(strstr(text, "mutex lock (held by task \"writer\", 1 waiting)") != 0);
    CHECK(strstr(text, "semaphore acquire 2 (0 of 3 free)") != 0);
    free(text);
    sync_notify_waiters(&n);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK(a.got && b.got && w.got == 1 && l.got == 1);
    CHECK_EQ(sync_sem_available(&sem), 3);
    CHECK_EQ(sem.held, 0);
    /* A lock taken by try_lock has no task to name; a lock granted to a
     * waiter that has not run yet is being handed over. */
    sync_mutex_lock_init(&tl, &m);
    CHECK_EQ(sync_mutex_try_lock(&tl), 0);
    locker_init(&l, &m, 0, 0);
    exec_spawn(&tlk, &ex, &l.fut);
    settle();
    CHECK(DESCRIBED(&l.lock, "mutex lock (held, 1 waiting)"));
    CHECK_EQ(sync_mutex_unlock(&tl), 0);
    CHECK(DESCRIBED(&l.lock, "mutex lock (being handed over, 0 waiting)"));
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(l.got, 1);
    /* Over-released permits are added, not held. */
    sync_sem_release(&sem, 2);
    CHECK_EQ(sync_sem_available(&sem), 5);
    CHECK_EQ(sem.held, 0);
    exec_destroy(&ex);
}

static void nop_wake(future_waker_t *w) { (void)w; }

static void test_stream_waits_describe_themselves(void) {
    static const int nums[3] = {1, 2, 3};
    int b1[2], b2[2], b3[2], s1, s2, s3, sq_out;
    sync_chan_t c1, c2, c3;
    sync_chan_stream_t r1, r2, r3;
    sync_take_t take;
    sync_map_t map;
    sync_filter_t filt;
    sync_iter_t it;
    sync_interval_t iv;
    consume_t k1, k2, k3, k4;
    exec_task_t t1, t2, t3, t4;
    future_waker_t nop = {nop_wake};
    future_cx_t cx;
    int zero = 0;
    setup();
    sync_chan_init(&c1, b1, 2, sizeof(int));
    sync_chan_init(&c2, b2, 2, sizeof(int));
    sync_chan_init(&c3, b3, 2, sizeof(int));
    sync_chan_stream_init(&r1, &c1, &s1);
    sync_chan_stream_init(&r2, &c2, &s2);
    sync_chan_stream_init(&r3, &c3, &s3);
    sync_take_init(&take, &r1.st, 3);
    sync_map_init(&map, &r2.st, square, 0, &sq_out);
    sync_filter_init(&filt, &r3.st, is_odd, 0);
    sync_interval_init(&iv, 10 * TIMER_MS, TIMER_MISSED_BURST);
    consume_init(&k1, &take.st);
    consume_init(&k2, &map.st);
    consume_init(&k3, &filt.st);
    consume_init(&k4, &iv.st);
    exec_task_init(&t1);
    exec_task_init(&t2);
    exec_task_init(&t3);
    exec_task_init(&t4);
    exec_spawn(&t1, &ex, &k1.fut);
    exec_spawn(&t2, &ex, &k2.fut);
    exec_spawn(&t3, &ex, &k3.fut);
    exec_spawn(&t4, &ex, &k4.fut);
    settle();
    CHECK(DESCRIBED(&take, "stream take (3 left)"));
    CHECK(DESCRIBED(&r1, "stream chan"));
    CHECK(DESCRIBED(&r1.rx, "chan recv (0/2 queued)"));
    CHECK(take.st.fut.child == &r1.st.fut && r1.st.fut.child == &r1.rx.fut);
    CHECK(DESCRIBED(&map, "stream map"));
    CHECK(DESCRIBED(&filt, "stream filter"));
    CHECK_EQ(k4.n, 1); /* the first tick comes at once */
    CHECK(DESCRIBED(&iv, "stream interval (every 10 ms, 1 tick)"));
    exec_abort(&t4);
    sync_interval_init(&iv, 1500000, TIMER_MISSED_BURST);
    consume_init(&k4, &iv.st);
    exec_spawn(&t4, &ex, &k4.fut);
    settle();
    CHECK(DESCRIBED(&iv, "stream interval (every 1500000 ns, 1 tick)"));
    exec_abort(&t4);
    sync_chan_close(&c1);
    sync_chan_close(&c2);
    sync_chan_close(&c3);
    CHECK_EQ(exec_run(&ex), 0);
    /* iter waits only for its budget */
    sync_iter_init(&it, nums, 3, sizeof(int));
    future_cx_init(&cx, &nop);
    cx.budget = &zero;
    CHECK_EQ(sync_stream_poll_next(&it.st, &cx), CORO_PENDING);
    CHECK(DESCRIBED(&it, "stream iter (0 of 3 taken)"));
    exec_destroy(&ex);
}

int main(void) {
    RUN(test_chan_messages_arrive_in_order);
    RUN(test_chan_backpressure_slows_the_producer);
    RUN(test_try_send_and_try_recv);
    RUN(test_close_wakes_every_receiver);
    RUN(test_tx_clone_and_last_drop_closes);
    RUN(test_receiver_drop_fails_senders_and_releases_values);
    RUN(test_waiting_senders_are_served_fifo);
    RUN(test_million_messages_through_capacity_one);
    RUN(test_ping_pong_between_two_tasks);
    RUN(test_ready_recv_spends_the_budget);
    RUN(test_drop_waiting_recv_loses_no_message);
    RUN(test_drop_woken_recv_passes_the_wake_on);
    RUN(test_receivers_are_served_fifo);
    RUN(test_close_with_a_promised_receiver);
    RUN(test_drop_waiting_send_hands_the_value_back);
    RUN(test_drop_granted_send_passes_the_room_on);
    RUN(test_close_with_a_granted_sender);
    RUN(test_shutdown_drops_every_waiting_channel_op);
    RUN(test_oneshot_request_response);
    RUN(test_oneshot_sender_and_receiver_gone);
    RUN(test_drop_waiting_oneshot_recv_keeps_the_value);
    RUN(test_mutex_held_across_await);
    RUN(test_mutex_is_fifo);
    RUN(test_drop_queued_and_granted_lock);
    RUN(test_drop_waiting_lock_in_select);
    RUN(test_semaphore_multi_permits_fifo);
    RUN(test_drop_head_acquirer_unblocks_the_rest);
    RUN(test_sem_release_overflow_is_misuse);
    RUN(test_drop_granted_acquirer_returns_permits);
    RUN(test_notify_one_stores_one_permit);
    RUN(test_notify_waiters_wakes_all_and_stores_nothing);
    RUN(test_drop_notified_passes_notify_one_on);
    RUN(test_stream_iter_map_filter_take);
    RUN(test_stream_adapters_end_with_their_input);
    RUN(test_chan_stream_ends_when_closed);
    RUN(test_chan_stream_delivers_everything_then_ends);
    RUN(test_interval_stream_ticks);
    RUN(test_drop_stream_inside_await_next);
    RUN(test_drop_interval_stream_inside_await_next);
    RUN(test_select_job_or_shutdown);
    RUN(test_chan_and_oneshot_waits_describe_themselves);
    RUN(test_sem_mutex_notify_waits_describe_themselves);
    RUN(test_stream_waits_describe_themselves);
    return check_summary();
}
