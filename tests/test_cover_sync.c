/* Coverage tests of sync.h: the paths tests/test_sync.c does not take.
 *
 * Most tests here drive the futures by hand, without an executor: a poll
 * context (future_cx_t) built in the test with a counting waker and a
 * cooperative budget the test sets, so "the budget is spent" (every
 * primitive's `if (!future_coop_spend(cx)) return CORO_PENDING;`) happens
 * exactly where a test wants it. Each test checks the result codes, the
 * wakes, and that the primitive is left consistent (no waiter queued, no
 * value or permit lost) and still usable.
 */
#include "check.h"
#include "../sync.h"
#include <stdint.h>

#include "hand_cx.h"

/* ---- sync_copy_ sizes, channel init misuse ------------------------------- */

static void test_copy_sizes_and_ring_wrap(void) {
    uint64_t b8[2], v8 = 0x0102030405060708ull, o8 = 0;
    unsigned char b3[2][3], v3[3] = {1, 2, 3}, o3[3] = {0, 0, 0};
    sync_chan_t ch;
    /* 8-byte elements; the ring wraps: head 1, len 1, the next goes to 0. */
    sync_chan_init(&ch, b8, 2, sizeof v8);
    CHECK_EQ(sync_chan_try_send(&ch, &v8), 0);
    CHECK_EQ(sync_chan_try_send(&ch, &v8), 0);
    CHECK_EQ(sync_chan_try_send(&ch, &v8), -EAGAIN);
    CHECK_EQ(sync_chan_try_recv(&ch, &o8), 0);
    CHECK(o8 == v8);
    v8 = 42;
    CHECK_EQ(sync_chan_try_send(&ch, &v8), 0); /* wraps to slot 0 */
    CHECK_EQ(sync_chan_try_recv(&ch, 0), 0);   /* out = 0: discarded */
    CHECK_EQ(sync_chan_try_recv(&ch, &o8), 0);
    CHECK_EQ(o8, 42);
    CHECK_EQ(sync_chan_try_recv(&ch, &o8), -EAGAIN);
    /* 3-byte elements: the generic copy. */
    sync_chan_init(&ch, b3, 2, 3);
    CHECK_EQ(sync_chan_try_send(&ch, v3), 0);
    CHECK_EQ(sync_chan_try_recv(&ch, o3), 0);
    CHECK(memcmp(o3, v3, 3) == 0);
    sync_chan_close(&ch);
    CHECK_EQ(sync_chan_try_recv(&ch, o3), -EPIPE);
}

static void test_chan_init_misuse_closes_it(void) {
    int buf[4], v = 1;
    sync_chan_t ch;
    CHECK_MISUSE(sync_chan_init(&ch, buf, 0, sizeof(int)), "sync_chan_init");
    CHECK(sync_chan_is_closed(&ch));
    CHECK_EQ(sync_chan_try_send(&ch, &v), -EPIPE);
    CHECK_MISUSE(sync_chan_init(&ch, buf, 4, 0), "sync_chan_init");
    CHECK(sync_chan_is_closed(&ch));
    CHECK_MISUSE(sync_chan_init(&ch, 0, 4, sizeof(int)), "sync_chan_init");
    CHECK(sync_chan_is_closed(&ch));
    CHECK_MISUSE(sync_chan_init(&ch, buf, (size_t)-1 / 2, 4), "fit in size_t");
    CHECK(sync_chan_is_closed(&ch));
    sync_chan_init(&ch, buf, 4, sizeof(int));
    CHECK(!sync_chan_is_closed(&ch));
}

/* The receiver dropped with values queued and no release callback: they
 * are simply discarded, and the channel is closed and empty. */
static void test_rx_drop_without_release(void) {
    int buf[4], v = 7;
    sync_chan_t ch;
    sync_chan_init(&ch, buf, 4, sizeof v);
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    sync_chan_rx_drop(&ch);
    CHECK_EQ(sync_chan_len(&ch), 0);
    CHECK(sync_chan_is_closed(&ch));
    CHECK_EQ(sync_chan_try_send(&ch, &v), -EPIPE);
}

/* ---- send and recv with the budget spent ---------------------------------- */

static void test_chan_send_recv_respect_the_budget(void) {
    int buf[1], v = 5, out = 0;
    sync_chan_t ch;
    sync_chan_send_t s, s2;
    sync_chan_recv_t r;
    sync_chan_init(&ch, buf, 1, sizeof v);
    /* Room is free, the budget is not: pending, a wake, nothing sent. */
    sync_chan_send_init(&s, &ch, &v);
    wakes = 0;
    CHECK_EQ(POLL(&s, 0), CORO_PENDING);
    CHECK_EQ(wakes, 1);
    CHECK_EQ(sync_chan_len(&ch), 0);
    CHECK_EQ(POLL(&s, 1), CORO_READY);
    CHECK_EQ(future_err(&s.fut), 0);
    CHECK_EQ(sync_chan_len(&ch), 1);
    /* A second send waits for room; a recv frees it and grants it to s2,
     * which keeps the grant across a poll without budget. */
    sync_chan_send_init(&s2, &ch, &v);
    CHECK_EQ(POLL(&s2, 1), CORO_PENDING);
    CHECK(s2.waited);
    sync_chan_recv_init(&r, &ch, &out);
    CHECK_EQ(POLL(&r, 0), CORO_PENDING); /* a value, but no budget */
    CHECK_EQ(sync_chan_len(&ch), 1);
    CHECK_EQ(POLL(&r, 1), CORO_READY);
    CHECK_EQ(out, 5);
    CHECK_EQ(POLL(&s2, 0), CORO_PENDING); /* granted, kept */
    CHECK_EQ(sync_chan_try_send(&ch, &v), -EAGAIN); /* the room is s2's */
    CHECK_EQ(POLL(&s2, 1), CORO_READY);
    CHECK_EQ(future_err(&s2.fut), 0);
    CHECK_EQ(sync_chan_len(&ch), 1);
    /* A send polled on a closed channel: -EPIPE at once, the value is not
     * taken. */
    sync_chan_close(&ch);
    sync_chan_send_init(&s, &ch, &v);
    CHECK_EQ(POLL(&s, -1), CORO_READY);
    CHECK_EQ(future_err(&s.fut), -EPIPE);
    CHECK_EQ(sync_chan_len(&ch), 1);
}

/* A receiver is promised a value; the channel closes; another receiver
 * drains it (after a close anyone may); the first then finds nothing and
 * gets -EPIPE. Dropping a promised receiver whose value is gone promises
 * nothing to anyone. */
static void test_promised_value_taken_after_close(void) {
    int buf[2], v = 9, out1 = 0, out2 = 0, out3 = 0;
    sync_chan_t ch;
    sync_chan_recv_t r1, r2, r3;
    sync_chan_init(&ch, buf, 2, sizeof v);
    sync_chan_recv_init(&r1, &ch, &out1);
    CHECK_EQ(POLL(&r1, -1), CORO_PENDING);
    wakes = 0;
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0); /* promised to r1, r1 woken */
    CHECK_EQ(wakes, 1);
    CHECK_EQ(POLL(&r1, 0), CORO_PENDING); /* promised, no budget: kept */
    CHECK_EQ(sync_chan_try_recv(&ch, &out2), -EAGAIN); /* it is r1's */
    sync_chan_close(&ch);
    sync_chan_recv_init(&r2, &ch, &out2);
    CHECK_EQ(POLL(&r2, -1), CORO_READY);
    CHECK_EQ(future_err(&r2.fut), 0);
    CHECK_EQ(out2, 9);
    CHECK_EQ(POLL(&r1, -1), CORO_READY);
    CHECK_EQ(future_err(&r1.fut), -EPIPE);
    CHECK_EQ(out1, 0);
    /* Again, but r3 is dropped instead of polled. */
    sync_chan_init(&ch, buf, 2, sizeof v);
    sync_chan_recv_init(&r3, &ch, &out3);
    CHECK_EQ(POLL(&r3, -1), CORO_PENDING);
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    sync_chan_close(&ch);
    CHECK_EQ(sync_chan_try_recv(&ch, &out2), 0);
    future_drop(&r3.fut);
    CHECK_EQ(ch.promised, 0);
    CHECK_EQ(sync_chan_try_recv(&ch, &out2), -EPIPE);
}

/* Dropping a send or a recv that a close already woke (nothing reserved):
 * nothing to give back. */
static void test_drop_after_close_wake(void) {
    int buf[1], v = 1, out = 0;
    sync_chan_t ch;
    sync_chan_send_t s;
    sync_chan_recv_t r;
    sync_chan_init(&ch, buf, 1, sizeof v);
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    sync_chan_send_init(&s, &ch, &v);
    CHECK_EQ(POLL(&s, -1), CORO_PENDING); /* full: queued */
    sync_chan_close(&ch);                 /* woken, nothing reserved */
    CHECK_EQ(POLL(&s, 0), CORO_PENDING);  /* the -EPIPE waits for budget too */
    CHECK_EQ(POLL(&s, 1), CORO_READY);
    CHECK_EQ(future_err(&s.fut), -EPIPE);
    CHECK(!ch.sendq.head);
    /* Woken by a close and dropped before it saw it. */
    sync_chan_init(&ch, buf, 1, sizeof v);
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    sync_chan_send_init(&s, &ch, &v);
    CHECK_EQ(POLL(&s, -1), CORO_PENDING);
    sync_chan_close(&ch);
    future_drop(&s.fut);
    CHECK_EQ(ch.reserved, 0);
    CHECK(!ch.sendq.head);
    sync_chan_init(&ch, buf, 1, sizeof v);
    sync_chan_recv_init(&r, &ch, &out);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    sync_chan_close(&ch);
    future_drop(&r.fut);
    CHECK(!ch.recvq.head);
    CHECK_EQ(ch.promised, 0);
}

/* ---- oneshot ------------------------------------------------------------------ */

static void test_oneshot_edges(void) {
    sync_oneshot_t o;
    sync_oneshot_recv_t r;
    int slot = 0, v = 3, out = 0;
    /* A zero-size oneshot is a pure signal. */
    sync_oneshot_init(&o, 0, 0);
    sync_oneshot_recv_init(&r, &o, &out);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    CHECK_EQ(sync_oneshot_send(&o, 0), 0);
    sync_oneshot_tx_drop(&o); /* after a send: nothing */
    CHECK_EQ(POLL(&r, 0), CORO_PENDING); /* sent, no budget */
    CHECK_EQ(POLL(&r, 1), CORO_READY);
    CHECK_EQ(future_err(&r.fut), 0);
    CHECK_EQ(out, 0); /* nothing copied */
    /* A receiver dropped before it ever waited: nothing to unlink. */
    sync_oneshot_init(&o, &slot, sizeof slot);
    sync_oneshot_recv_init(&r, &o, &out);
    future_drop(&r.fut);
    CHECK(!o.q.head);
    CHECK_EQ(sync_oneshot_send(&o, &v), 0);
    sync_oneshot_recv_init(&r, &o, &out);
    CHECK_EQ(POLL(&r, -1), CORO_READY);
    CHECK_EQ(out, 3);
    /* The sender dropped unsent: -EPIPE, after the budget allows. */
    sync_oneshot_init(&o, &slot, sizeof slot);
    sync_oneshot_recv_init(&r, &o, &out);
    CHECK_EQ(POLL(&r, -1), CORO_PENDING);
    sync_oneshot_tx_drop(&o);
    CHECK_EQ(POLL(&r, 0), CORO_PENDING);
    CHECK_EQ(POLL(&r, 1), CORO_READY);
    CHECK_EQ(future_err(&r.fut), -EPIPE);
    CHECK(!o.q.head);
}

/* ---- semaphore, mutex, notify --------------------------------------------- */

static void test_sem_and_notify_respect_the_budget(void) {
    sync_sem_t s;
    sync_sem_acquire_t a, b;
    sync_mutex_t m;
    sync_mutex_lock_t l;
    sync_notify_t n;
    sync_notified_t w;
    sync_sem_init(&s, 1);
    sync_sem_acquire_init(&a, &s, 1);
    CHECK_EQ(POLL(&a, 0), CORO_PENDING); /* free, no budget */
    CHECK_EQ(sync_sem_available(&s), 1);
    CHECK_EQ(POLL(&a, 1), CORO_READY);
    CHECK_EQ(sync_sem_available(&s), 0);
    sync_sem_acquire_init(&b, &s, 1);
    CHECK_EQ(POLL(&b, -1), CORO_PENDING);
    sync_sem_release(&s, 1); /* granted to b */
    CHECK_EQ(POLL(&b, 0), CORO_PENDING);
    CHECK_EQ(sync_sem_available(&s), 0);
    CHECK_EQ(POLL(&b, 1), CORO_READY);
    sync_sem_release(&s, 1);
    /* An acquire dropped unpolled (IDLE): nothing changes. */
    sync_sem_acquire_init(&b, &s, 1);
    future_drop(&b.fut);
    CHECK_EQ(sync_sem_available(&s), 1);
    /* The mutex is that semaphore. */
    sync_mutex_init(&m);
    sync_mutex_lock_init(&l, &m);
    CHECK_EQ(POLL(&l, 0), CORO_PENDING);
    CHECK(!sync_mutex_is_locked(&m));
    CHECK_EQ(POLL(&l, 1), CORO_READY);
    CHECK(sync_mutex_is_locked(&m));
    CHECK_EQ(sync_mutex_unlock(&l), 0);
    /* notify_one stored as a permit; taken only with budget. */
    sync_notify_init(&n);
    sync_notify_one(&n);
    sync_notified_init(&w, &n);
    CHECK_EQ(POLL(&w, 0), CORO_PENDING);
    CHECK_EQ(n.permit, 1);
    CHECK_EQ(POLL(&w, 1), CORO_READY);
    CHECK_EQ(n.permit, 0);
    /* notify_one delivered to a waiter, polled without budget: kept. */
    sync_notified_init(&w, &n);
    CHECK_EQ(POLL(&w, -1), CORO_PENDING);
    sync_notify_one(&n);
    CHECK_EQ(POLL(&w, 0), CORO_PENDING);
    CHECK_EQ(POLL(&w, 1), CORO_READY);
    CHECK_EQ(n.permit, 0);
    /* A notified dropped unpolled: no permit appears. */
    sync_notified_init(&w, &n);
    future_drop(&w.fut);
    CHECK_EQ(n.permit, 0);
    CHECK(!n.q.head);
}

/* ---- streams ------------------------------------------------------------------ */

static void twice(const void *item, void *out, void *arg) {
    (void)arg;
    *(int *)out = 2 * *(const int *)item;
}
static int is_odd(const void *item, void *arg) {
    (void)arg;
    return *(const int *)item & 1;
}

static void test_stream_edges(void) {
    static const int xs[4] = {2, 4, 5, 6};
    sync_iter_t it;
    sync_map_t m;
    sync_filter_t f;
    sync_interval_t iv;
    sync_chan_t ch;
    sync_chan_stream_t cs;
    int out = 0, buf[2], slot = 0, v = 1;
    timer_wheel_t w;
    future_cx_t *cx;
    /* iter with no budget: pending, nothing consumed. */
    sync_iter_init(&it, xs, 4, sizeof xs[0]);
    CHECK_EQ(sync_stream_poll_next(&it.st, cx_budget(0)), CORO_PENDING);
    CHECK_EQ(it.i, 0);
    /* map over an iter to its end: the end passes through (error 0). */
    sync_iter_init(&it, xs, 1, sizeof xs[0]);
    sync_map_init(&m, &it.st, twice, 0, &out);
    CHECK_EQ(sync_stream_poll_next(&m.st, cx_budget(-1)), CORO_READY);
    CHECK_EQ(*(const int *)m.st.item, 4);
    CHECK_EQ(sync_stream_poll_next(&m.st, cx_budget(-1)), CORO_READY);
    CHECK(m.st.item == 0);
    CHECK(sync_stream_ended(&m.st));
    CHECK_EQ(future_err(&m.st.fut), 0);
    /* filter: rejects spend budget; with one unit the first reject (2)
     * uses it, the iter cannot yield the next: pending. */
    sync_iter_init(&it, xs, 4, sizeof xs[0]);
    sync_filter_init(&f, &it.st, is_odd, 0);
    wakes = 0;
    CHECK_EQ(sync_stream_poll_next(&f.st, cx_budget(1)), CORO_PENDING);
    CHECK_EQ(it.i, 1);
    /* two units: the iter yields 4 (one unit), the reject spends the last. */
    CHECK_EQ(sync_stream_poll_next(&f.st, cx_budget(2)), CORO_PENDING);
    CHECK_EQ(it.i, 2);
    CHECK(wakes >= 1);
    CHECK_EQ(sync_stream_poll_next(&f.st, cx_budget(-1)), CORO_READY);
    CHECK_EQ(*(const int *)f.st.item, 5);
    /* filter over a stream that waits: pending, the inner is its child. */
    sync_chan_init(&ch, buf, 2, sizeof v);
    sync_chan_stream_init(&cs, &ch, &slot);
    sync_filter_init(&f, &cs.st, is_odd, 0);
    CHECK_EQ(sync_stream_poll_next(&f.st, cx_budget(-1)), CORO_PENDING);
    CHECK(f.st.fut.child == &cs.st.fut);
    CHECK_EQ(sync_chan_try_send(&ch, &v), 0);
    CHECK_EQ(sync_stream_poll_next(&f.st, cx_budget(-1)), CORO_READY);
    CHECK_EQ(*(const int *)f.st.item, 1);
    sync_chan_close(&ch);
    CHECK_EQ(sync_stream_poll_next(&f.st, cx_budget(-1)), CORO_READY);
    CHECK(f.st.item == 0);
    CHECK_EQ(future_err(&f.st.fut), 0);
    /* An interval of period 0 fails (-EINVAL, a misuse): the stream ends
     * with that error. */
    timer_wheel_init(&w, 0);
    sync_interval_init(&iv, 0, TIMER_MISSED_BURST);
    cx = cx_budget(-1);
    cx->timers = &w;
    CHECK_MISUSE(CHECK_EQ(sync_stream_poll_next(&iv.st, cx), CORO_READY), "period");
    CHECK(iv.st.item == 0);
    CHECK_EQ(future_err(&iv.st.fut), -EINVAL);
    CHECK_EQ(timer_wheel_count(&w), 0);
}

int main(void) {
    RUN(test_copy_sizes_and_ring_wrap);
    RUN(test_chan_init_misuse_closes_it);
    RUN(test_rx_drop_without_release);
    RUN(test_chan_send_recv_respect_the_budget);
    RUN(test_promised_value_taken_after_close);
    RUN(test_drop_after_close_wake);
    RUN(test_oneshot_edges);
    RUN(test_sem_and_notify_respect_the_budget);
    RUN(test_stream_edges);
    return check_summary();
}
