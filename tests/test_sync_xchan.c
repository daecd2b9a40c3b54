/* Tests of sync.h's sync_xchan_t: a channel that other threads and signal
 * handlers send into and tasks on the executor receive from.
 *
 *   by hand     try_send / try_recv, full, closed, the ring's laps (also
 *               across the wrap of the position counters), what a waiting
 *               recv says, its wake through the remote handle, misuse, the
 *               release callback at destroy, the recv dropped at each of
 *               its suspension points (queued, woken, held by the budget)
 *   a model     random try_send / try_recv / recv polls against a FIFO of
 *               capacity cap: every result and value the same (the ring's
 *               sequence arithmetic; shown to fail when it is broken)
 *   threads     blocking send waits for room and wakes; close wakes every
 *               blocked sender with -EPIPE, from either side; producers
 *               (try_send and blocking send) x a task receiving: every
 *               value exactly once, each producer's in its order; a stress
 *               of small rings with try_recv; signal handlers sending on
 *               the loop thread (raise, and pthread_kill while it sleeps)
 *               and on a thread that is itself sending.
 * Run under TSan too (tests/run.sh's thread list).
 */
#include "check.h"

/* The hook between a waiting recv's flag and its second look: a send from
 * another thread could land just there. */
static void after_flag(void *xc);
#define SYNC_XCHAN_AFTER_FLAG_(xc) after_flag(xc)

#include "../exec.h"
#include "../sync.h"

#include "hand_cx.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

/* Sized for a loaded 2-core CI machine: the stress's spinning producers
 * hand values through a ring of one or two slots, so every value may cost
 * a context switch when the cores are busy with something else, and
 * tests/matrix.sh runs the binaries under nice: 50,000 values a producer
 * took minutes there. The arithmetic itself is the model test's. */
#ifdef CHECK_SLOW
enum { PER_PRODUCER = 1000, STRESS_ROUNDS = 2 };
#else
enum { PER_PRODUCER = 2500, STRESS_ROUNDS = 2 };
#endif

static exec_t ex;

static void setup(void) {
    if (exec_init(&ex)) abort();
    ex.log = 0;
    exec_clock_pause(&ex);
}

static const char *described(const void *f) {
    static char buf[160];
    future_fmt_t o = {0, 0, 0, 0, 0};
    o.buf = buf;
    o.cap = sizeof buf;
    buf[0] = 0;
    future_describe((const future_t *)f, &o);
    return buf;
}

static void spin_until(int *p, int v) {
    while (__atomic_load_n(p, __ATOMIC_SEQ_CST) != v) sched_yield();
}

/* ---- by hand ------------------------------------------------------------- */

static void test_xchan_try_send_recv_full_closed(void) {
    int buf[4], v, got = -1;
    size_t seq[4];
    sync_xchan_t xc;
    setup();
    sync_xchan_init(&xc, &ex, buf, seq, 4, sizeof(int));
    CHECK_EQ(sync_xchan_capacity(&xc), 4);
    CHECK_EQ(sync_xchan_try_recv(&xc, &got), -EAGAIN);
    for (v = 0; v < 4; v++) CHECK_EQ(sync_xchan_try_send(&xc, &v), 0);
    CHECK_EQ(sync_xchan_try_send(&xc, &v), -EAGAIN); /* full: not taken */
    CHECK_EQ(sync_xchan_len(&xc), 4);
    /* many laps of the ring, always one value behind */
    for (v = 4; v < 40; v++) {
        CHECK_EQ(sync_xchan_try_recv(&xc, &got), 0);
        CHECK_EQ(got, v - 4);
        CHECK_EQ(sync_xchan_try_send(&xc, &v), 0);
        CHECK_EQ(sync_xchan_try_send(&xc, &v), -EAGAIN);
    }
    CHECK_EQ(sync_xchan_try_recv(&xc, 0), 0); /* out == 0 discards */
    CHECK(!sync_xchan_is_closed(&xc));
    sync_xchan_close(&xc);
    sync_xchan_close(&xc); /* twice: nothing more */
    CHECK(sync_xchan_is_closed(&xc));
    CHECK_EQ(sync_xchan_try_send(&xc, &v), -EPIPE);
    for (v = 37; v < 40; v++) { /* drained after the close, then -EPIPE */
        CHECK_EQ(sync_xchan_try_recv(&xc, &got), 0);
        CHECK_EQ(got, v);
    }
    CHECK_EQ(sync_xchan_len(&xc), 0);
    CHECK_EQ(sync_xchan_try_recv(&xc, &got), -EPIPE);
    CHECK_EQ(sync_xchan_try_recv(&xc, &got), -EPIPE);
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    exec_destroy(&ex);
}

/* A recv waits (flag up), a send wakes the loop through the remote handle
 * once, the drain wakes the recv, which takes the value. A send while no
 * recv waits wakes nothing. */
static void test_xchan_recv_waits_and_is_woken(void) {
    int buf[4], v = 7, got = 0;
    size_t seq[4];
    sync_xchan_t xc;
    sync_xchan_recv_t r;
    setup();
    sync_xchan_init(&xc, &ex, buf, seq, 4, sizeof(int));
    sync_xchan_recv_init(&r, &xc, &got);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING); /* again: still queued once */
    CHECK(r.w.state == SYNC_QUEUED_ && xc.recvq.head == &r.w.link && !r.w.link.next);
    CHECK_EQ(xc.rx_waiting, 1);
    CHECK(strcmp(described(&r), "xchan recv (0/4 queued)") == 0);
    wakes = 0;
    CHECK_EQ(sync_xchan_try_send(&xc, &v), 0);
    CHECK_EQ(xc.rx_waiting, 0);
    CHECK(exec_wake_pending(&ex));
    CHECK_EQ(wakes, 0);          /* not yet: on the loop, at the drain */
    CHECK(strcmp(described(&r), "xchan recv (1/4 queued)") == 0);
    v = 8;
    CHECK_EQ(sync_xchan_try_send(&xc, &v), 0); /* no second wake */
    exec_drain_remote_(&ex);
    CHECK_EQ(wakes, 1);
    CHECK(r.w.state == SYNC_WOKEN_ && !xc.recvq.head);
    CHECK_EQ(POLL(&r, -1), CORO_READY);
    CHECK_EQ(future_err(&r.fut), 0);
    CHECK_EQ(got, 7);
    /* ready at once: no wait, no flag */
    sync_xchan_recv_init(&r, &xc, &got);
    CHECK_EQ(POLL(&r, -1), CORO_READY);
    CHECK_EQ(got, 8);
    CHECK_EQ(xc.rx_waiting, 0);
    v = 9;
    CHECK_EQ(sync_xchan_try_send(&xc, &v), 0);
    CHECK(!exec_wake_pending(&ex)); /* nobody waits: no wake */
    CHECK_EQ(sync_xchan_try_recv(&xc, &got), 0);
    /* two recvs wait: one send wakes both, one takes it, the other waits
     * again; a close wakes it: -EPIPE */
    {
        sync_xchan_recv_t r2;
        int got2 = 0;
        sync_xchan_recv_init(&r, &xc, &got);
        sync_xchan_recv_init(&r2, &xc, &got2);
        CHECK_EQ(POLL(&r, -1), CORO_PENDING);
        CHECK_EQ(POLL(&r2, -1), CORO_PENDING);
        v = 10;
        sync_xchan_try_send(&xc, &v);
        wakes = 0;
        exec_drain_remote_(&ex);
        CHECK_EQ(wakes, 2);
        CHECK_EQ(POLL(&r2, -1), CORO_READY);
        CHECK_EQ(got2, 10);
        CHECK_EQ(POLL(&r, -1), CORO_PENDING);
        CHECK(r.w.state == SYNC_QUEUED_ && xc.rx_waiting == 1);
        sync_xchan_close(&xc);
        exec_drain_remote_(&ex);
        CHECK(r.w.state == SYNC_WOKEN_);
        CHECK_EQ(POLL(&r, 0), CORO_PENDING); /* the budget: nothing taken */
        CHECK_EQ(POLL(&r, -1), CORO_READY);
        CHECK_EQ(future_err(&r.fut), -EPIPE);
    }
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    exec_destroy(&ex);
}

static int send_after_flag; /* the value after_flag sends, if not 0 */
static void after_flag(void *xc) {
    if (send_after_flag) sync_xchan_try_send((sync_xchan_t *)xc, &send_after_flag);
    send_after_flag = 0;
}

/* Dropped at each suspension point: nothing dangles (ASan: the frame is
 * scribbled over), no value is lost or taken. */
static void test_xchan_drop_at_each_point(void) {
    int buf[4], v, got = -1;
    size_t seq[4];
    sync_xchan_t xc;
    sync_xchan_recv_t r, r2;
    setup();
    sync_xchan_init(&xc, &ex, buf, seq, 4, sizeof(int));
    /* 1. queued, another queued behind it: unlinked, the other stays */
    sync_xchan_recv_init(&r, &xc, &got);
    sync_xchan_recv_init(&r2, &xc, &got);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    CHECK_EQ(POLL(&r2, -1), CORO_PENDING);
    future_drop(&r.fut);
    CHECK(r.w.state == SYNC_IDLE_);
    CHECK(xc.recvq.head == &r2.w.link && !r2.w.link.next);
    CHECK_EQ(xc.rx_waiting, 1); /* r2 still waits */
    memset(&r, 0xa5, sizeof r);
    future_drop(&r2.fut);
    CHECK(!xc.recvq.head);
    CHECK_EQ(xc.rx_waiting, 0); /* nobody waits: sends wake nothing */
    memset(&r2, 0xa5, sizeof r2);
    v = 1;
    CHECK_EQ(sync_xchan_try_send(&xc, &v), 0);
    CHECK(!exec_wake_pending(&ex));
    CHECK_EQ(sync_xchan_len(&xc), 1);
    /* 2. queued, the value sent, the loop not yet drained: dropped; the
     * wake then finds nobody (the waker is the channel's, not the frame's) */
    CHECK_EQ(sync_xchan_try_recv(&xc, &got), 0);
    sync_xchan_recv_init(&r, &xc, &got);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    v = 2;
    sync_xchan_try_send(&xc, &v);
    future_drop(&r.fut);
    memset(&r, 0xa5, sizeof r);
    wakes = 0;
    exec_drain_remote_(&ex);
    CHECK_EQ(wakes, 0);
    CHECK_EQ(sync_xchan_len(&xc), 1);
    /* 3. woken, not yet polled: dropped, the value stays */
    CHECK_EQ(sync_xchan_try_recv(&xc, &got), 0);
    CHECK_EQ(got, 2);
    sync_xchan_recv_init(&r, &xc, &got);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    v = 3;
    sync_xchan_try_send(&xc, &v);
    exec_drain_remote_(&ex);
    CHECK(r.w.state == SYNC_WOKEN_);
    future_drop(&r.fut);
    CHECK_EQ(sync_xchan_len(&xc), 1);
    /* 4. ready, held up by the budget: dropped, the value stays */
    sync_xchan_recv_init(&r, &xc, &got);
    wakes = 0;
    got = -1;
    CHECK_EQ(POLL(&r, 0), CORO_PENDING);
    CHECK_EQ(wakes, 1); /* the budget re-queues the task */
    CHECK(r.w.state == SYNC_IDLE_ && !xc.recvq.head);
    future_drop(&r.fut);
    CHECK_EQ(got, -1);
    CHECK_EQ(sync_xchan_len(&xc), 1);
    /* 5. woken, then held up by the budget, then dropped */
    CHECK_EQ(sync_xchan_try_recv(&xc, &got), 0);
    CHECK_EQ(got, 3);
    sync_xchan_recv_init(&r, &xc, &got);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    v = 4;
    sync_xchan_try_send(&xc, &v);
    exec_drain_remote_(&ex);
    CHECK_EQ(POLL(&r, 0), CORO_PENDING);
    CHECK(r.w.state == SYNC_IDLE_ && !xc.recvq.head);
    future_drop(&r.fut);
    /* 6. a finished recv dropped: nothing to undo; the value is the next */
    sync_xchan_recv_init(&r, &xc, &got);
    CHECK_EQ(POLL(&r, -1), CORO_READY);
    CHECK_EQ(got, 4);
    future_drop(&r.fut);
    CHECK_EQ(sync_xchan_try_recv(&xc, &got), -EAGAIN);
    CHECK_EQ(xc.rx_waiting, 0);
    /* 7. queued, a value sent, polled before the loop drained the wake:
     * found, unlinked, the flag down */
    sync_xchan_recv_init(&r, &xc, &got);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    v = 6;
    sync_xchan_try_send(&xc, &v);
    CHECK_EQ(POLL(&r, -1), CORO_READY);
    CHECK(!xc.recvq.head);
    CHECK_EQ(got, 6);
    CHECK_EQ(xc.rx_waiting, 0);
    wakes = 0;
    exec_drain_remote_(&ex);
    CHECK_EQ(wakes, 0);
    /* 8. the value lands between the first look and the flag (the hook
     * sends there, as another thread could): the second look takes it,
     * the recv does not sleep on a value that is there */
    sync_xchan_recv_init(&r, &xc, &got);
    send_after_flag = 7;
    CHECK_EQ(POLL(&r, -1), CORO_READY);
    CHECK(!xc.recvq.head);
    CHECK_EQ(got, 7);
    CHECK_EQ(xc.rx_waiting, 0);
    exec_drain_remote_(&ex);
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    exec_destroy(&ex);
}

static int dropped[8], ndropped;
static void on_drop(void *item, void *arg) {
    CHECK_EQ((intptr_t)arg, 42);
    if (ndropped < 8) dropped[ndropped++] = *(int *)item;
}

/* What is left at destroy goes to the callback, oldest first; a recv still
 * waiting makes destroy refuse (misuse, -EBUSY). */
static void test_xchan_release_at_destroy(void) {
    int buf[4], v, got = 0;
    size_t seq[4];
    sync_xchan_t xc;
    sync_xchan_recv_t r;
    setup();
    sync_xchan_init(&xc, &ex, buf, seq, 4, sizeof(int));
    sync_xchan_on_drop(&xc, on_drop, (void *)(intptr_t)42);
    for (v = 1; v <= 4; v++) sync_xchan_try_send(&xc, &v);
    CHECK_EQ(sync_xchan_try_recv(&xc, &got), 0);
    v = 5;
    sync_xchan_try_send(&xc, &v); /* the ring has wrapped: 2 3 4 5 */
    ndropped = 0;
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    CHECK_EQ(ndropped, 4);
    CHECK(dropped[0] == 2 && dropped[1] == 3 && dropped[2] == 4 && dropped[3] == 5);
    /* no callback: the values just go */
    sync_xchan_init(&xc, &ex, buf, seq, 4, sizeof(int));
    sync_xchan_try_send(&xc, &v);
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    /* a waiting recv: refused, closed; dropped, then destroyed */
    sync_xchan_init(&xc, &ex, buf, seq, 4, sizeof(int));
    sync_xchan_recv_init(&r, &xc, &got);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    CHECK_MISUSE(CHECK_EQ(sync_xchan_destroy(&xc), -EBUSY), "recv waits");
    CHECK(sync_xchan_is_closed(&xc));
    future_drop(&r.fut);
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    CHECK_EQ(ex.nremote, 0);
    /* woken by a send and not yet polled (off the queue, its task about
     * to run): refused too, or its poll would read a freed channel; and
     * held back by the budget after it saw the value: the same */
    sync_xchan_init(&xc, &ex, buf, seq, 4, sizeof(int));
    sync_xchan_recv_init(&r, &xc, &got);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    v = 9;
    CHECK_EQ(sync_xchan_try_send(&xc, &v), 0);
    exec_drain_remote_(&ex); /* the remote wake: r is woken, unqueued */
    CHECK(xc.recvq.head == 0);
    CHECK_MISUSE(CHECK_EQ(sync_xchan_destroy(&xc), -EBUSY), "recv waits");
    CHECK_EQ(POLL(&r, 0), CORO_PENDING); /* no budget: still counted */
    CHECK_MISUSE(CHECK_EQ(sync_xchan_destroy(&xc), -EBUSY), "recv waits");
    CHECK_EQ(POLL(&r, -1), CORO_READY);
    CHECK_EQ(got, 9);
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    CHECK_EQ(ex.nremote, 0);
    exec_destroy(&ex);
}

static void test_xchan_misuse(void) {
    int buf[4], v = 1, got = 0;
    size_t seq[4];
    sync_xchan_t xc;
    sync_xchan_recv_t r;
    setup();
    CHECK_MISUSE(sync_xchan_init(&xc, &ex, buf, seq, 3, sizeof(int)), "power of two");
    CHECK(sync_xchan_is_closed(&xc));
    CHECK_EQ(sync_xchan_try_send(&xc, &v), -EPIPE);
    CHECK_EQ(sync_xchan_try_recv(&xc, &got), -EPIPE);
    sync_xchan_recv_init(&r, &xc, &got);
    CHECK_EQ(POLL(&r, -1), CORO_READY);
    CHECK_EQ(future_err(&r.fut), -EPIPE);
    CHECK_EQ(sync_xchan_len(&xc), 0);
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    CHECK_MISUSE(sync_xchan_init(&xc, &ex, buf, seq, 0, sizeof(int)), "power of two");
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    CHECK_MISUSE(sync_xchan_init(&xc, &ex, 0, seq, 4, sizeof(int)), "buf");
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    CHECK_MISUSE(sync_xchan_init(&xc, &ex, buf, 0, 4, sizeof(int)), "seq");
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    CHECK_MISUSE(sync_xchan_init(&xc, &ex, buf, seq, 4, 0), "elem");
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    CHECK_MISUSE(sync_xchan_init(&xc, &ex, buf, seq, (size_t)1 << (sizeof(size_t) * 8 - 2),
                                 1),
                 "power of two");
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    CHECK_MISUSE(sync_xchan_init(&xc, &ex, buf, seq, (size_t)1 << (sizeof(size_t) * 4),
                                 (size_t)1 << (sizeof(size_t) * 4)),
                 "fitting");
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    /* blocking send on the receiver's thread: reported, -EDEADLK, even
     * when there is room (it would be a deadlock once full) */
    sync_xchan_init(&xc, &ex, buf, seq, 4, sizeof(int));
    CHECK_MISUSE(CHECK_EQ(sync_xchan_send(&xc, &v), -EDEADLK), "receiver's");
    CHECK_EQ(sync_xchan_len(&xc), 0);
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    CHECK_EQ(ex.nremote, 0);
    exec_destroy(&ex);
}

/* ---- a model: every result as a FIFO of cap values would give ----------- */

static unsigned rnd_state = 12345;
static unsigned rnd(void) {
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 16;
}

/* Put xc's positions at p (even) by hand: as if 2 * p / 2 values had gone
 * through. The ring must be empty. */
static void place_at(sync_xchan_t *xc, size_t p) {
    size_t k;
    xc->head = p;
    xc->tail = p;
    for (k = 0; k < xc->cap; k++) {
        size_t pos = p + 2 * k;
        xc->seq[(pos >> 1) & xc->mask] = pos;
    }
}

static void test_xchan_model(void) {
    static const size_t caps[] = {1, 2, 4, 8};
    int buf[8], model[8], got, next = 0;
    size_t seq[8], ci, len, mhead;
    sync_xchan_t xc;
    sync_xchan_recv_t r;
    int step, start, waiting;
    setup();
    for (start = 0; start < 3; start++) {
        for (ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
            size_t cap = caps[ci];
            sync_xchan_init(&xc, &ex, buf, seq, cap, sizeof(int));
            /* from 0, just before the wrap of the counters, and astride it */
            if (start == 1) place_at(&xc, (size_t)-1 - 2 * 37 + 1);
            if (start == 2) place_at(&xc, (size_t)-1 - 2 * cap + 3);
            len = mhead = 0;
            waiting = 0;
            for (step = 0; step < 3000; step++) {
                unsigned op = rnd() % 8;
                if (op < 4) { /* try_send */
                    int rc = sync_xchan_try_send(&xc, &next);
                    if (len == cap) {
                        CHECK_EQ(rc, -EAGAIN);
                    } else {
                        CHECK_EQ(rc, 0);
                        model[(mhead + len++) % cap] = next;
                    }
                    next++;
                } else if (op < 6) { /* try_recv */
                    int rc = sync_xchan_try_recv(&xc, &got);
                    if (!len) {
                        CHECK_EQ(rc, -EAGAIN);
                    } else {
                        CHECK_EQ(rc, 0);
                        CHECK_EQ(got, model[mhead]);
                        mhead = (mhead + 1) % cap;
                        len--;
                    }
                } else { /* a recv future: polled, sometimes dropped */
                    if (!waiting) sync_xchan_recv_init(&r, &xc, &got);
                    if (POLL(&r, -1) == CORO_READY) {
                        CHECK(len > 0);
                        CHECK_EQ(future_err(&r.fut), 0);
                        CHECK_EQ(got, model[mhead]);
                        mhead = (mhead + 1) % cap;
                        len--;
                        waiting = 0;
                    } else {
                        CHECK_EQ(len, 0);
                        waiting = 1;
                        if (op == 7) {
                            future_drop(&r.fut);
                            waiting = 0;
                        }
                    }
                    exec_drain_remote_(&ex);
                }
                CHECK_EQ(sync_xchan_len(&xc), len);
            }
            if (waiting) future_drop(&r.fut);
            sync_xchan_close(&xc);
            while (len) {
                CHECK_EQ(sync_xchan_try_recv(&xc, &got), 0);
                CHECK_EQ(got, model[mhead]);
                mhead = (mhead + 1) % cap;
                len--;
            }
            CHECK_EQ(sync_xchan_try_recv(&xc, &got), -EPIPE);
            CHECK_EQ(sync_xchan_destroy(&xc), 0);
        }
    }
    exec_destroy(&ex);
}

/* ---- threads --------------------------------------------------------------- */

typedef struct {
    sync_xchan_t *xc;
    int v, rc;
} sender_arg_t;

static void *blocking_sender(void *p) {
    sender_arg_t *a = (sender_arg_t *)p;
    a->rc = sync_xchan_send(a->xc, &a->v);
    return 0;
}

static void *closer(void *p) {
    sync_xchan_close((sync_xchan_t *)p);
    return 0;
}

/* A blocking send into a full ring sleeps, and a recv wakes it. */
static void test_xchan_blocking_send_waits_for_room(void) {
    int buf[2], v, got = 0;
    size_t seq[2];
    sync_xchan_t xc;
    sender_arg_t a;
    pthread_t th;
    setup();
    sync_xchan_init(&xc, &ex, buf, seq, 2, sizeof(int));
    for (v = 0; v < 2; v++) sync_xchan_try_send(&xc, &v);
    a.xc = &xc;
    a.v = 99;
    a.rc = 1;
    pthread_create(&th, 0, blocking_sender, &a);
    spin_until(&xc.tx_waiting, 1); /* asleep (or about to be: under the lock) */
    CHECK_EQ(sync_xchan_try_recv(&xc, &got), 0);
    CHECK_EQ(got, 0);
    pthread_join(th, 0);
    CHECK_EQ(a.rc, 0);
    CHECK_EQ(xc.send_waits, 1);
    CHECK_EQ(xc.tx_waiting, 0);
    CHECK_EQ(sync_xchan_try_recv(&xc, &got), 0);
    CHECK_EQ(got, 1);
    CHECK_EQ(sync_xchan_try_recv(&xc, &got), 0);
    CHECK_EQ(got, 99);
    /* a send with room does not sleep */
    pthread_create(&th, 0, blocking_sender, &a);
    pthread_join(th, 0);
    CHECK_EQ(a.rc, 0);
    CHECK_EQ(xc.send_waits, 1);
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    exec_destroy(&ex);
}

/* Close while senders sleep: every one wakes with -EPIPE, from the
 * receiver's side and from another thread's; the values sent before the
 * close are still received, then -EPIPE. destroy does the same for
 * senders still asleep. */
static void test_xchan_close_wakes_blocked_senders(void) {
    enum { NS = 3 };
    int buf[2], v, got = 0, side;
    size_t seq[2];
    sync_xchan_t xc;
    sender_arg_t a[NS];
    pthread_t th[NS], c;
    int i;
    setup();
    for (side = 0; side < 3; side++) {
        sync_xchan_init(&xc, &ex, buf, seq, 2, sizeof(int));
        for (v = 0; v < 2; v++) sync_xchan_try_send(&xc, &v);
        for (i = 0; i < NS; i++) {
            a[i].xc = &xc;
            a[i].v = 100 + i;
            a[i].rc = 1;
            pthread_create(&th[i], 0, blocking_sender, &a[i]);
        }
        spin_until(&xc.tx_waiting, NS);
        if (side == 0) {
            sync_xchan_close(&xc); /* the receiver's side */
        } else if (side == 1) {
            pthread_create(&c, 0, closer, &xc);
            pthread_join(c, 0);
        } else {
            CHECK_EQ(sync_xchan_destroy(&xc), 0); /* waits for them to leave */
        }
        for (i = 0; i < NS; i++) {
            pthread_join(th[i], 0);
            CHECK_EQ(a[i].rc, -EPIPE);
        }
        if (side == 2) continue;
        CHECK_EQ(xc.send_waits, NS);
        for (v = 0; v < 2; v++) {
            CHECK_EQ(sync_xchan_try_recv(&xc, &got), 0);
            CHECK_EQ(got, v);
        }
        CHECK_EQ(sync_xchan_try_recv(&xc, &got), -EPIPE);
        CHECK_EQ(sync_xchan_destroy(&xc), 0);
    }
    exec_destroy(&ex);
}

/* Producers x a task receiving. Values are (producer << 24) | i. */
enum { NPROD = 4 };

typedef struct {
    sync_xchan_t *xc;
    int id, blocking, n;
    int *left; /* producers still sending: the last one closes */
} producer_arg_t;

static void *producer(void *p) {
    producer_arg_t *a = (producer_arg_t *)p;
    int i, v, rc;
    for (i = 0; i < a->n; i++) {
        v = (a->id << 24) | i;
        if (a->blocking) {
            rc = sync_xchan_send(a->xc, &v);
        } else {
            while ((rc = sync_xchan_try_send(a->xc, &v)) == -EAGAIN) sched_yield();
        }
        if (rc) abort(); /* the channel closes only after every producer */
    }
    if (__atomic_sub_fetch(a->left, 1, __ATOMIC_SEQ_CST) == 0) sync_xchan_close(a->xc);
    return 0;
}

typedef struct {
    future_t fut;
    sync_xchan_t *xc;
    int nprod;
    int next[NPROD + 1]; /* the next i expected from each producer */
    long total, bad;
    int got;
    sync_xchan_recv_t recv;
} receiver_t;

static coro_poll_t receiver_poll(future_t *self, future_cx_t *cx) {
    receiver_t *f = (receiver_t *)self;
    ASYNC_BEGIN(f);
    for (;;) {
        sync_xchan_recv_init(&f->recv, f->xc, &f->got);
        AWAIT(cx, &f->recv);
        if (future_err(&f->recv.fut) == -EPIPE) break;
        {
            int id = f->got >> 24, i = f->got & 0xffffff;
            if (id < 0 || id >= f->nprod || i != f->next[id]) f->bad++;
            else f->next[id]++;
        }
        f->total++;
    }
    ASYNC_END();
}

static void run_producers(size_t cap, int n) {
    int buf[64];
    size_t seq[64];
    sync_xchan_t xc;
    producer_arg_t a[NPROD];
    pthread_t th[NPROD];
    receiver_t rcv;
    int i, left = NPROD;
    setup();
    sync_xchan_init(&xc, &ex, buf, seq, cap, sizeof(int));
    memset(&rcv, 0, sizeof rcv);
    future_init(&rcv.fut, receiver_poll, 0);
    rcv.xc = &xc;
    rcv.nprod = NPROD;
    for (i = 0; i < NPROD; i++) {
        a[i].xc = &xc;
        a[i].id = i;
        a[i].blocking = i & 1;
        a[i].n = n;
        a[i].left = &left;
        pthread_create(&th[i], 0, producer, &a[i]);
    }
    if (exec_block_on(&ex, &rcv.fut) != 0) abort();
    for (i = 0; i < NPROD; i++) pthread_join(th[i], 0);
    if (rcv.bad || rcv.total != (long)NPROD * n) {
        printf("    cap %zu: %ld received, %ld out of order or unknown\n", cap, rcv.total,
               rcv.bad);
        check_failed_now_ = 1;
    }
    for (i = 0; i < NPROD; i++)
        if (rcv.next[i] != n) check_failed_now_ = 1;
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    exec_destroy(&ex);
}

/* Every value exactly once, each producer's in order: try_send and
 * blocking producers, rings of 1, 4 and 64. */
static void test_xchan_producers_to_a_task(void) {
    run_producers(1, PER_PRODUCER / 10);
    if (check_failed_now_) return;
    run_producers(4, PER_PRODUCER);
    if (check_failed_now_) return;
    run_producers(64, PER_PRODUCER);
}

/* The stress: small rings, try_send producers spinning, the receiver with
 * try_recv (no task, no wait): the ring's arithmetic under contention. */
static void test_xchan_stress_try_recv(void) {
    int buf[2], seen = 0, round;
    size_t seq[2];
    sync_xchan_t xc;
    producer_arg_t a[NPROD];
    pthread_t th[NPROD];
    int next[NPROD], i, got, rc, left;
    long total, bad;
    setup();
    for (round = 0; round < STRESS_ROUNDS; round++) {
        size_t cap = (size_t)1 << (round % 2);
        sync_xchan_init(&xc, &ex, buf, seq, cap, sizeof(int));
        left = NPROD;
        for (i = 0; i < NPROD; i++) {
            a[i].xc = &xc;
            a[i].id = i;
            a[i].blocking = 0;
            a[i].n = PER_PRODUCER / 5;
            a[i].left = &left;
            next[i] = 0;
            pthread_create(&th[i], 0, producer, &a[i]);
        }
        total = bad = 0;
        while ((rc = sync_xchan_try_recv(&xc, &got)) != -EPIPE) {
            if (rc == -EAGAIN) {
                sched_yield();
                continue;
            }
            if ((got >> 24) >= NPROD || (got & 0xffffff) != next[got >> 24]) bad++;
            else next[got >> 24]++;
            total++;
        }
        for (i = 0; i < NPROD; i++) pthread_join(th[i], 0);
        CHECK_EQ(bad, 0);
        CHECK_EQ(total, (long)NPROD * (PER_PRODUCER / 5));
        CHECK_EQ(sync_xchan_destroy(&xc), 0);
        seen++;
    }
    CHECK_EQ(seen, STRESS_ROUNDS);
    exec_destroy(&ex);
}

/* ---- signal handlers sending ---------------------------------------------- */

enum { HANDLER_ID = NPROD, MAX_SIG = 4096 };
static sync_xchan_t *sig_xc;
static int sig_next;           /* ids handed out by the handler (atomic) */
static int sig_done;           /* handler runs finished (atomic) */
static int sig_failed[MAX_SIG]; /* its try_send said no (atomic) */
static int sig_sent;           /* handler values sent (atomic) */

static void on_sigusr1(int sig) {
    int saved = errno;
    int id = __atomic_fetch_add(&sig_next, 1, __ATOMIC_SEQ_CST);
    (void)sig;
    if (id < MAX_SIG) {
        int v = (HANDLER_ID << 24) | id;
        if (sync_xchan_try_send(sig_xc, &v))
            __atomic_store_n(&sig_failed[id], 1, __ATOMIC_SEQ_CST);
        else
            __atomic_add_fetch(&sig_sent, 1, __ATOMIC_SEQ_CST);
    }
    __atomic_add_fetch(&sig_done, 1, __ATOMIC_SEQ_CST);
    errno = saved;
}

typedef struct {
    future_t fut;
    int raised;
    int got, count[MAX_SIG];
    long from_thread, bad;
    int next_thread;
    sync_xchan_recv_t recv;
} sig_receiver_t;

static coro_poll_t sig_receiver_poll(future_t *self, future_cx_t *cx) {
    sig_receiver_t *f = (sig_receiver_t *)self;
    ASYNC_BEGIN(f);
    /* a handler on the loop thread, inside a task's poll */
    raise(SIGUSR1);
    f->raised = 1;
    for (;;) {
        sync_xchan_recv_init(&f->recv, sig_xc, &f->got);
        AWAIT(cx, &f->recv);
        if (future_err(&f->recv.fut) == -EPIPE) break;
        if ((f->got >> 24) == HANDLER_ID) {
            f->count[f->got & 0xffffff]++;
        } else if ((f->got & 0xffffff) != f->next_thread++) {
            f->bad++;
        } else {
            f->from_thread++;
        }
    }
    ASYNC_END();
}

static pthread_t loop_thread, busy_thread;
static int busy_stop, busy_done;
enum { KILLS_LOOP = 20, KILLS_BUSY = 300 };

/* Sends values of its own in a tight loop (and is interrupted by the
 * handler, which sends too) until told to stop. */
static void *busy_sender(void *p) {
    int i = 0, v;
    (void)p;
    while (!__atomic_load_n(&busy_stop, __ATOMIC_SEQ_CST)) {
        v = i;
        if (sync_xchan_try_send(sig_xc, &v) == 0) i++;
        else sched_yield();
    }
    __atomic_store_n(&busy_done, i + 1, __ATOMIC_SEQ_CST); /* i sent */
    return 0;
}

/* Kills the loop thread while it sleeps, one at a time, each handler run
 * before the next; then starts the busy sender and kills it many times;
 * then closes. */
static void *killer(void *p) {
    int k;
    (void)p;
    for (k = 0; k < KILLS_LOOP; k++) {
        int before = __atomic_load_n(&sig_sent, __ATOMIC_SEQ_CST);
        while (!__atomic_load_n(&ex.parked, __ATOMIC_SEQ_CST)) sched_yield();
        pthread_kill(loop_thread, SIGUSR1);
        while (__atomic_load_n(&sig_sent, __ATOMIC_SEQ_CST) == before &&
               __atomic_load_n(&sig_next, __ATOMIC_SEQ_CST) <= k + 1)
            sched_yield();
    }
    pthread_create(&busy_thread, 0, busy_sender, 0);
    for (k = 0; k < KILLS_BUSY; k++) {
        pthread_kill(busy_thread, SIGUSR1);
        if (k % 16 == 0) sched_yield();
    }
    __atomic_store_n(&busy_stop, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&busy_done, __ATOMIC_SEQ_CST)) sched_yield();
    pthread_join(busy_thread, 0);
    sync_xchan_close(sig_xc);
    return 0;
}

static void test_xchan_signal_handler_sends(void) {
    static sig_receiver_t rcv;
    int buf[8];
    size_t seq[8];
    sync_xchan_t xc;
    struct sigaction sa, old;
    pthread_t k;
    int i, sent = 0, failed = 0;
    setup();
    sync_xchan_init(&xc, &ex, buf, seq, 8, sizeof(int));
    sig_xc = &xc;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigusr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, &old);
    memset(&rcv, 0, sizeof rcv);
    future_init(&rcv.fut, sig_receiver_poll, 0);
    loop_thread = pthread_self();
    busy_stop = busy_done = 0;
    pthread_create(&k, 0, killer, 0);
    if (exec_block_on(&ex, &rcv.fut) != 0) abort();
    pthread_join(k, 0);
    sigaction(SIGUSR1, &old, 0);
    CHECK(rcv.raised);
    CHECK_EQ(rcv.bad, 0);
    CHECK_EQ(rcv.from_thread, busy_done - 1); /* every value it sent, in order */
    CHECK_EQ(__atomic_load_n(&sig_done, __ATOMIC_SEQ_CST),
             __atomic_load_n(&sig_next, __ATOMIC_SEQ_CST));
    for (i = 0; i < sig_next && i < MAX_SIG; i++) {
        if (sig_failed[i]) {
            failed++;
            CHECK_EQ(rcv.count[i], 0);
        } else {
            sent++;
            CHECK_EQ(rcv.count[i], 1);
        }
    }
    CHECK_EQ(sent, sig_sent);
    CHECK(sent >= 1 + KILLS_LOOP); /* the raise and every loop kill went in */
    CHECK_EQ(sync_xchan_destroy(&xc), 0);
    exec_destroy(&ex);
}

int main(void) {
    alarm(300); /* a lost wake shows as a hang (a sender asleep for ever, a
                   recv never woken): fail it, don't hang the suite */
    RUN(test_xchan_try_send_recv_full_closed);
    RUN(test_xchan_recv_waits_and_is_woken);
    RUN(test_xchan_drop_at_each_point);
    RUN(test_xchan_release_at_destroy);
    RUN(test_xchan_misuse);
    RUN(test_xchan_model);
    RUN(test_xchan_blocking_send_waits_for_room);
    RUN(test_xchan_close_wakes_blocked_senders);
    RUN(test_xchan_producers_to_a_task);
    RUN(test_xchan_stress_try_recv);
    RUN(test_xchan_signal_handler_sends);
    return check_summary();
}
