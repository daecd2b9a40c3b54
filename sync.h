/* sync.h - channels, async mutex, semaphore, notify, cancellation tokens and
 * streams for tasks on one executor (tokio::sync, tokio-util's
 * CancellationToken and tokio_stream's essentials, in C).
 *
 * Tasks own their state and talk through channels. A bounded channel slows
 * a fast producer down instead of filling memory (backpressure): send waits
 * while the channel is full. Everything waits the same way: the waiting
 * future keeps an intrusive waiter node in its own frame, queued FIFO on the
 * primitive, so waiting allocates nothing and dropping the future unlinks it.
 *
 *     static int buf[8];                    // the channel's storage
 *     sync_chan_t ch;
 *     sync_chan_init(&ch, buf, 8, sizeof(int));
 *     ...                                   // producer task's body:
 *     f->v = 42;
 *     sync_chan_send_init(&f->send, &ch, &f->v);
 *     AWAIT(cx, &f->send);                  // waits while full; -EPIPE: closed
 *     ...                                   // consumer task's body:
 *     sync_chan_recv_init(&f->recv, &ch, &f->got);
 *     AWAIT(cx, &f->recv);                  // 0: f->got holds the value
 *     if (future_err(&f->recv.fut) == -EPIPE) ...  // closed and drained
 *
 * What is here
 *   sync_chan_t      bounded multi-producer channel over caller storage
 *                    (several receivers may share it: each message goes to
 *                    exactly one, receivers are served FIFO)
 *   sync_xchan_t     a channel other threads (and signal handlers) send
 *                    into, received by tasks (hosted: exec.h first)
 *   sync_oneshot_t   one value, one waiter: request / response
 *   sync_bcast_t     broadcast: every receiver sees every value, in order;
 *                    send never waits (a ring: a receiver that falls
 *                    more than its size behind is told how many it lost)
 *   sync_watch_t     one value, replaced; receivers wait for a change
 *   sync_mutex_t     fair (FIFO) async mutex; may be held across AWAIT
 *   sync_rwlock_t    fair reader-writer lock (a waiting writer keeps later
 *                    readers out; readers queued together go in together)
 *   sync_barrier_t   n tasks meet; one of each round is its leader
 *   sync_once_t      a value made once, by an async initialiser (OnceCell)
 *   sync_sem_t       fair async semaphore; acquire several permits at once
 *   sync_notify_t    notify_one (stores one permit) / notify_waiters
 *   sync_token_t     cancellation tokens in a tree: cancelling one cancels
 *                    everything below it; sync_cancelled_t waits for it
 *   sync_stream_t    the stream protocol, AWAIT_NEXT, generators (a stream
 *                    written as an async body: STREAM_YIELD), streams: iter
 *                    (array), chan (a receiver), interval (ticks), and the
 *                    combinators map, filter, take, then, merge, zip,
 *                    chunks, buffer_unordered, and fold (a future)
 *
 * At a glance (futures: *_t frames, set up with *_init, then AWAITed)
 *   sync_chan_init(&ch, buf, cap, elem)   sync_chan_on_drop(&ch, fn, arg)
 *   sync_chan_send_t  sync_chan_send_init(&s, &ch, &val)  (s.waited: it
 *                     found the channel full; ch.send_waits counts them all)
 *   sync_chan_recv_t  sync_chan_recv_init(&r, &ch, &out)
 *   sync_chan_try_send / _try_recv, sync_chan_close, sync_chan_tx_clone,
 *   sync_chan_tx_drop (the last one closes), sync_chan_rx_drop,
 *   sync_chan_len / _capacity / _is_closed
 *   sync_xchan_init(&xc, &ex, buf, seq, cap, elem), sync_xchan_try_send
 *   (any thread, signal handlers) / _send (other threads: blocks),
 *   sync_xchan_recv_t sync_xchan_recv_init(&r, &xc, &out), _try_recv,
 *   _close (either side), _destroy, _on_drop, _len / _capacity / _is_closed
 *   sync_oneshot_init(&o, &slot, size), sync_oneshot_send(&o, &val),
 *   sync_oneshot_recv_t sync_oneshot_recv_init(&r, &o, &out),
 *   sync_oneshot_tx_drop / _rx_drop / _is_closed
 *   sync_bcast_init(&b, buf, cap, elem), sync_bcast_subscribe(&rx, &b) /
 *   sync_bcast_unsubscribe(&rx) (SYNC_BCAST_SUBSCRIBE(&rx, &b) in a
 *   body: the frame's, unsubscribed when it ends or is dropped),
 *   sync_bcast_send(&b, &val) (never waits),
 *   sync_bcast_recv_t sync_bcast_recv_init(&r, &rx, &out) (r.lagged),
 *   sync_bcast_try_recv(&rx, &out, &lagged), sync_bcast_close,
 *   sync_bcast_len(&rx) / _receiver_count / _is_closed
 *   sync_watch_init(&w, &slot, size), sync_watch_subscribe(&rx, &w) /
 *   _unsubscribe (SYNC_WATCH_SUBSCRIBE(&rx, &w): the frame's, as above),
 *   sync_watch_send(&w, &val), sync_watch_send_if_modified(&w,
 *   fn, arg), sync_watch_changed_t sync_watch_changed_init(&c, &rx),
 *   sync_watch_borrow / _borrow_and_update / _copy(&rx, &out),
 *   sync_watch_has_changed, sync_watch_close, _receiver_count / _is_closed
 *   sync_mutex_init, sync_mutex_lock_t sync_mutex_lock_init(&l, &m),
 *   SYNC_MUTEX_LOCK_INIT(&l, &m) (the lock the running frame's: unlocked
 *   when it ends, is dropped or aborted, as a Rust guard),
 *   sync_mutex_unlock, sync_mutex_try_lock, sync_mutex_is_locked
 *   sync_rwlock_init(&rw) / _init_max(&rw, max_readers),
 *   sync_rwlock_lock_t sync_rwlock_read_init(&l, &rw) / _write_init,
 *   SYNC_RWLOCK_READ_INIT / SYNC_RWLOCK_WRITE_INIT (the frame's, as above),
 *   sync_rwlock_try_read(&l, &rw) / _try_write, sync_rwlock_unlock(&l)
 *   sync_barrier_init(&b, n), sync_barrier_wait_t
 *   sync_barrier_wait_init(&w, &b)  (w.leader: the round's leader)
 *   sync_once_init(&c, &slot, size), sync_once_get / _is_set / _set(&c,
 *   &val), sync_once_get_or_init_t sync_once_get_or_init_init(&g, &c,
 *   &init_future)
 *   sync_sem_init(&s, permits), sync_sem_acquire_t
 *   sync_sem_acquire_init(&a, &s, n), sync_sem_release(&s, n),
 *   sync_sem_try_acquire(&s, n), sync_sem_available
 *   sync_notify_init, sync_notify_one, sync_notify_waiters,
 *   sync_notified_t sync_notified_init(&w, &n)  (a notify_waiters after the
 *   init counts even before the first poll, as tokio's Notified)
 *   sync_token_init(&t), sync_token_child_init(&c, &parent),
 *   SYNC_TOKEN_CHILD_INIT(&c, &parent) / SYNC_TOKEN_INIT(&t) (owned by the
 *   running frame), sync_token_cancel, sync_token_is_cancelled,
 *   sync_token_drop, sync_token_own(&t, frame),
 *   sync_cancelled_t sync_cancelled_init(&w, &t)
 *   streams: sync_iter_init(&it, arr, n, elem), sync_chan_stream_init(&s,
 *   &ch, &slot), sync_interval_init(&iv, period, missed), sync_map_init(&m,
 *   &in.st, fn, arg, &out), sync_filter_init(&f, &in.st, pred, arg),
 *   sync_take_init(&t, &in.st, n); AWAIT_NEXT(cx, &stream, item_ptr)
 *   generators: sync_stream_init(&g.st, body, drop), STREAM_YIELD(cx, p)
 *   sync_then_init(&t, &in.st, make_fut, ctx), sync_merge_init(&m, &a.st,
 *   &b.st), sync_zip_init(&z, &a.st, &b.st) (items: sync_pair_t),
 *   sync_chunks_init(&c, &in.st, buf, n, elem) (items: sync_chunk_t),
 *   sync_buffer_unordered_init(&b, &in.st, slots, n) (items: finished
 *   futures), sync_fold_t sync_fold_init(&f, &in.st, fn, &acc, ctx)
 *
 * The contract
 *   - Single executor: every operation runs on the thread that polls the
 *     tasks (no locking inside). Wakes go through cx->waker. The one
 *     exception is sync_xchan_t, made for senders on other threads.
 *   - Futures are frames you own, initialised lazily with x_init(&f, args)
 *     and AWAITed once (init again to reuse), like timer.h's sleep.
 *   - Errors are negative errno values:
 *       send      0, or -EPIPE: the channel is closed (the value was not
 *                 taken: it is still yours)
 *       recv      0 (the value is in *out), or -EPIPE: closed AND empty.
 *                 Values queued before the close are still delivered.
 *       try_send  0, -EAGAIN (full, or senders already waiting), -EPIPE
 *       try_recv  0, -EAGAIN (empty, or every value is promised to a
 *                 woken receiver), -EPIPE (closed and empty)
 *       xchan     try_send 0, -EAGAIN (full), -EPIPE; send (blocking) 0,
 *                 -EPIPE, -EDEADLK (on the receiver's thread: misuse);
 *                 recv / try_recv as chan's
 *       oneshot   send: -EPIPE when the receiver is gone; recv: -EPIPE when
 *                 the sender was dropped without sending.
 *       broadcast send: the number of receivers (0: none, the value is not
 *                 kept), -EPIPE after close (misuse); recv / try_recv: 0,
 *                 SYNC_EOVERFLOW (-EOVERFLOW: lagged, r.lagged values
 *                 skipped), -EPIPE (closed, nothing left), -EAGAIN (try_:
 *                 nothing new), -EINVAL (not subscribed: misuse)
 *       watch     send: the number of receivers, -EPIPE after close
 *                 (misuse); changed: 0, or -EPIPE (closed, nothing new),
 *                 -EINVAL (not subscribed: misuse)
 *       cancelled 0 once the token is cancelled, or -EPIPE: the token was
 *                 dropped (sync_token_drop, its frame gone) while waiting.
 *       rwlock    try_read / try_write: 0 or -EAGAIN; unlock: -EPERM
 *                 (misuse) through a lock that does not hold it
 *       once      get_or_init: 0 (the value is set), or its own
 *                 initialiser's error; set: -EBUSY (already set), -EAGAIN
 *                 (an initialiser has the turn)
 *   - Fairness: waiters are served first come, first served. A send that
 *     finds senders already waiting queues behind them; a lock or acquire
 *     queues behind earlier waiters even if permits are free meanwhile.
 *     Room freed in a full channel, a value sent while receivers wait, an
 *     unlocked mutex and released permits are handed straight to the first
 *     waiter (reserved for it), so a latecomer (or a try_ call) cannot take
 *     them.
 *   - Closing: sync_chan_close (or the last sync_chan_tx_drop) closes the
 *     channel: every waiting send fails with -EPIPE, receivers drain what is
 *     queued and then get -EPIPE. sync_chan_rx_drop (the receiver is gone)
 *     closes it too, and hands every value still queued to the release
 *     callback (sync_chan_on_drop), so nothing leaks. Both wake every
 *     waiter at once.
 *   - Drop: a waiting future dropped at its suspension point (SELECT lost,
 *     timeout, task aborted) unlinks its node: nothing points into its
 *     frame afterwards. A wake already handed to it (room reserved, lock or
 *     permits granted, notify_one delivered, a message promised) is passed
 *     on to the next waiter, so no wake is lost.
 *   - Cooperative budget: an operation that is ready at once (recv from a
 *     non-empty channel, lock of a free mutex, ...) spends one unit of the
 *     task's budget (future_coop_spend), so a loop of them cannot starve
 *     the other tasks.
 *   - Descriptions: a waiting future says what it waits for in exec_dump's
 *     async backtrace (future_describe): "chan recv (0/4 queued)", "chan
 *     send (4/4 queued, 2 senders waiting)", "oneshot recv", "broadcast
 *     recv (2 of 3 receivers waiting)", "watch changed (1 of 1 receiver
 *     waiting)", "semaphore
 *     acquire 2 (0 of 3 free)", "mutex lock (held by task "writer", 1
 *     waiting)", "rwlock read (write-locked, 2 waiting)", "barrier wait (2
 *     of 3 arrived)", "once get_or_init (initialiser running, 1 waiting)",
 *     "notify wait (2 waiting)", "token wait (3 waiting)",
 *     "stream take (3 left)", ... Set on the waiting path only.
 *
 * Cancel safety (what dropping the future mid-wait loses; as tokio's docs)
 *   sync_chan_recv_t      safe: no message is lost; it stays queued
 *   sync_chan_send_t      safe: the message was not sent, it is still in
 *                         your value (handed back); you lose your place in
 *                         the senders' queue
 *   sync_xchan_recv_t     safe: a value is taken only by the poll that
 *                         returns it; nothing is reserved for a waiting one
 *   sync_oneshot_recv_t   safe: the value stays in the oneshot
 *   sync_bcast_recv_t     safe: the cursor moves only in the poll that
 *                         returns the value (or the lag); the next recv gets
 *                         it, unless sends overwrote it meanwhile (a lag
 *                         report then, as for any slow receiver)
 *   sync_watch_changed_t  safe: the value is marked seen only in the poll
 *                         that returns 0; the next changed() sees it
 *   sync_mutex_lock_t     loses its place in the queue; never leaks the lock
 *                         (a lock granted to it is passed on). Once it
 *                         holds the lock, dropping its frame unlocks only
 *                         with SYNC_MUTEX_LOCK_INIT (the plain init's lock
 *                         stays locked until sync_mutex_unlock)
 *   sync_sem_acquire_t    as the mutex: loses its place, permits granted to
 *                         it go back (to the next waiter)
 *   sync_rwlock_lock_t    as the mutex, read or write (a dropped writer
 *                         that held readers up lets them in)
 *   sync_barrier_wait_t   un-counted: the round waits for one more arrival
 *                         (tokio counts it: see sync_barrier_t). Once the
 *                         round is complete, dropping it loses nothing
 *   sync_once_get_or_init_t  loses its place; a turn granted to it is
 *                         passed on; dropped while its initialiser runs,
 *                         the initialiser is dropped (cancelled) and the
 *                         next waiter runs its own. The cell is never
 *                         left half set
 *   sync_notified_t       loses its place; a notify_one delivered to it is
 *                         passed on (to the next waiter, or kept as the
 *                         permit); a notify_waiters is simply missed
 *   sync_cancelled_t      safe: it consumes nothing, and a cancel is sticky:
 *                         a new wait after the drop is ready at once
 *   a token made with     its frame's drop unlinks it (children set free,
 *   SYNC_TOKEN_[CHILD_]INIT  waiters finish with -EPIPE): nothing dangles
 *   AWAIT_NEXT on         chan: safe, as recv. iter, take, map, interval:
 *                         safe (nothing is consumed until the item is
 *                         returned). filter: safe (items it rejects are
 *                         dropped by design, whether or not you cancel).
 *                         But the stream itself is dropped with the frame
 *                         that awaits it: it ends (-ECANCELED), and only a
 *                         new init brings it back (a chan stream loses
 *                         nothing: the messages stay in the channel)
 *   Streams dropped (future_drop, or the frame inside AWAIT_NEXT on them)
 *   between items / mid-item (while they wait for the next one):
 *   a generator           between: nothing (it is suspended at a yield);
 *                         mid-item: what its body was awaiting is dropped
 *                         (cancelled), and whatever it had half done
 *   then                  between: nothing; mid-item: the item taken from
 *                         the input, and its future (dropped, cancelled)
 *   merge                 between: nothing lost, but an input still
 *                         waiting is its child, dropped with it (a chan
 *                         stream loses no message); mid-item: the same
 *   zip                   between: nothing; mid-item: the half of the pair
 *                         already taken, and the waiting input is dropped.
 *                         At the end, an item already taken from the
 *                         longer input is lost, and it is dropped if it
 *                         was waiting
 *   chunks                between: nothing; mid-item: the items gathered
 *                         for the unfinished chunk (taken from the input)
 *   buffer_unordered      both: every future in flight is dropped
 *                         (cancelled), and the input if it was waiting
 *   fold (a future)       the items folded so far stay in *acc; the
 *                         stream, if it was waiting, is dropped with it
 *   Combinators that are left between items and never dropped: merge and
 *   buffer_unordered keep registrations there (a waiting input, the
 *   futures in flight): future_drop them before their memory goes. The
 *   others, like every stream above, hold nothing between items.
 *
 * Cancellation tokens
 *   Tell a tree of tasks to stop (tokio-util's CancellationToken). Each
 *   worker takes a child of its parent's token, owned by its frame, and
 *   races its waits against the token:
 *
 *       sync_token_init(&stop);                  // the root, in main's memory
 *       ...                                      // a worker's body:
 *       SYNC_TOKEN_CHILD_INIT(&f->tok, &stop);   // unlinked when f goes
 *       for (;;) {
 *           sync_cancelled_init(&f->stopped, &f->tok);
 *           sync_chan_recv_init(&f->recv, &jobs, &f->job);
 *           SELECT(cx, f->which, &f->stopped, &f->recv);
 *           if (f->which == 0) break;            // cancelled: clean up
 *           ...                                  // work on f->job
 *       }
 *       ...
 *       sync_token_cancel(&stop);   // every worker's token, and theirs below
 *
 *   A token in a frame's memory must be made with SYNC_TOKEN_CHILD_INIT or
 *   SYNC_TOKEN_INIT (or dropped by hand with sync_token_drop) before the
 *   frame goes, or its parent's list would point into freed memory.
 *
 * Streams
 *   A stream is a frame that starts with a sync_stream_t (itself headed by a
 *   future_t) and whose poll function yields items again and again: it
 *   returns CORO_READY with s->item pointing at the item, and it never marks
 *   itself finished until the end. At the end it sets s->item to 0 and
 *   finishes (future_err: 0 for a normal end, or the error). AWAIT_NEXT
 *   waits for the next item:
 *
 *       sync_iter_init(&f->nums, arr, 10, sizeof(int));        // 10 ints
 *       sync_filter_init(&f->odd, &f->nums.st, is_odd, 0);
 *       sync_take_init(&f->first3, &f->odd.st, 3);
 *       for (;;) {
 *           AWAIT_NEXT(cx, &f->first3, f->p);  // f->p: const int *, in the frame
 *           if (!f->p) break;                  // the end
 *           printf("%d\n", *f->p);
 *       }
 *
 *   The item pointer is valid until the stream is polled again. Between
 *   items a stream holds no registration (like a finished future), so only
 *   a stream dropped inside AWAIT_NEXT has anything to release, and the
 *   drop of the awaiting frame does it (merge and buffer_unordered are the
 *   exceptions: see the cancel-safety table). AWAIT_NEXT after the end
 *   gives 0 again (it does not poll a finished stream). Write your own
 *   stream as a generator (an async body with STREAM_YIELD, see
 *   "generators" below), or by hand with sync_stream_init,
 *   sync_stream_yield and sync_stream_end. A combinator's inputs are
 *   streams you own; items that are futures (then's output,
 *   buffer_unordered's input and output) point at the future's frame.
 *
 * The knobs: none. Include after future.h's knobs (FUTURE_MISUSE). C and
 * C++ may include the header; AWAIT_NEXT, like AWAIT, is for async bodies.
 * No allocation, no globals; the channel copies values with memcpy-like
 * byte copies of the element size you gave.
 */
#ifndef SYNC_H
#define SYNC_H

#include "future.h"
#include "timer.h" /* sync_interval_t */

#define SYNC_EPIPE FUTURE_EPIPE   /* the old names */
#define SYNC_EAGAIN FUTURE_EAGAIN

/* ---- waiter queues ------------------------------------------------------ */

/* Waiter states. */
enum {
    SYNC_IDLE_ = 0,    /* not queued, nothing handed to it */
    SYNC_QUEUED_ = 1,  /* in the primitive's queue, waiting */
    SYNC_GRANTED_ = 2, /* dequeued and woken with something reserved for it
                          (room, lock, permits, a notify_one, a message) */
    SYNC_WOKEN_ = 3    /* dequeued and woken, nothing reserved (closed,
                          notify_waiters) */
};

/* A waiting future's node, inside the future's own frame. */
typedef struct sync_waiter {
    future_link_t link; /* in the primitive's queue (first member) */
    future_waker_t *waker;
    size_t need;         /* permits wanted (semaphore) */
    unsigned char state; /* SYNC_IDLE_ ... */
} sync_waiter_t;

/* A FIFO of waiters (future.h's list): O(1) push, pop and unlink. */
typedef future_list_t sync_waitq_t;

#define SYNC_WAITER_(l) ((sync_waiter_t *)(void *)(l))

WEFT_API void sync_waitq_init_(sync_waitq_t *q) { future_list_init(q); }

/* The first waiter, or 0. */
WEFT_API sync_waiter_t *sync_waitq_first_(const sync_waitq_t *q) {
    return SYNC_WAITER_(q->head);
}

WEFT_API void sync_waiter_init_(sync_waiter_t *w) {
    w->link.next = w->link.prev = 0;
    w->waker = 0;
    w->need = 0;
    w->state = SYNC_IDLE_;
}

/* Set up a waiting future: its header and its (idle) waiter node. */
WEFT_API void sync_wait_init_(future_t *f, future_poll_fn poll, future_drop_fn drop,
                              sync_waiter_t *w) {
    future_init(f, poll, drop);
    sync_waiter_init_(w);
}

WEFT_API void sync_waitq_push_(sync_waitq_t *q, sync_waiter_t *w, future_waker_t *waker) {
    w->waker = waker;
    w->state = SYNC_QUEUED_;
    future_list_push(q, &w->link);
}

WEFT_API void sync_waitq_unlink_(sync_waitq_t *q, sync_waiter_t *w) {
    future_list_unlink(q, &w->link);
    w->state = SYNC_IDLE_;
}

/* Take the first waiter off, mark it state and wake it. 0 if none. */
WEFT_API sync_waiter_t *sync_waitq_wake_one_(sync_waitq_t *q, unsigned char state) {
    sync_waiter_t *w = SYNC_WAITER_(future_list_pop(q));
    if (!w) return 0;
    w->state = state;
    future_wake(w->waker);
    return w;
}

WEFT_API void sync_waitq_wake_all_(sync_waitq_t *q, unsigned char state) {
    while (sync_waitq_wake_one_(q, state)) {
    }
}

/* A queued waiter was polled again: keep its waker fresh. */
WEFT_API coro_poll_t sync_waiter_pending_(sync_waiter_t *w, future_cx_t *cx) {
    w->waker = cx->waker;
    return CORO_PENDING;
}

/* How many wait (for descriptions only: O(n)). */
WEFT_API size_t sync_waitq_len_(const sync_waitq_t *q) {
    size_t n = 0;
    const future_link_t *l;
    for (l = q->head; l; l = l->next) n++;
    return n;
}

/* "n what" or "n whats" (what: " sender waiting", ...), for descriptions. */
WEFT_API void sync_fmt_n_(future_fmt_t *o, size_t n, const char *one, const char *many) {
    future_fmt_u64(o, n);
    future_fmt_str(o, n == 1 ? one : many);
}

/* For a lock's description: what, the name of the task behind waker (the
 * holder's), and "\", " (1) when the executor knows that name; else
 * nothing is written (0). */
WEFT_API int sync_fmt_holder_(future_fmt_t *o, const char *what, future_waker_t *waker) {
    const char *name = waker && o->waker_name ? o->waker_name(o->ctx, waker) : 0;
    if (!name) return 0;
    future_fmt_str(o, what);
    future_fmt_str(o, name);
    future_fmt_str(o, "\", ");
    return 1;
}

/* Copy one element. A plain memcpy of n bytes: a copy specialised to fixed
 * sizes (4, 8, 16) was faster by a few percent, but gcc at -O2/-O3 warns
 * (-Warray-bounds) about the larger moves once it inlines the copy next to
 * a smaller object, even where they cannot run, and breaks -Werror builds. */
WEFT_API void sync_copy_(void *dst, const void *src, size_t n) {
#if defined(__GNUC__)
    __builtin_memcpy(dst, src, n);
#else
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    while (n--) *d++ = *s++;
#endif
}

/* ---- bounded channel ---------------------------------------------------- */

typedef void (*sync_drop_fn)(void *item, void *arg);

typedef struct sync_chan {
    unsigned char *buf;   /* cap * elem bytes, the caller's */
    size_t cap, elem;
    size_t head, len;     /* the queued values: a ring */
    size_t reserved;      /* slots granted to woken senders, not yet filled */
    size_t promised;      /* values promised to woken receivers, not yet taken */
    size_t senders;       /* live sender handles; the last drop closes */
    int closed;           /* no more sends */
    int rx_gone;          /* the receiver was dropped */
    sync_waitq_t sendq;   /* senders waiting for room, FIFO */
    sync_waitq_t recvq;   /* receivers waiting for a value, FIFO */
    sync_drop_fn on_drop;
    void *on_drop_arg;
    size_t send_waits;    /* how many sends had to wait for room (stats) */
} sync_chan_t;

/* A channel of cap values of elem bytes each, in buf (cap * elem bytes).
 * It starts with one sender handle (see sync_chan_tx_clone). cap >= 1. */
WEFT_API void sync_chan_init(sync_chan_t *ch, void *buf, size_t cap, size_t elem) {
    ch->buf = (unsigned char *)buf;
    ch->cap = cap;
    ch->elem = elem;
    ch->head = ch->len = ch->reserved = ch->promised = 0;
    ch->senders = 1;
    ch->closed = 0;
    ch->rx_gone = 0;
    sync_waitq_init_(&ch->sendq);
    sync_waitq_init_(&ch->recvq);
    ch->on_drop = 0;
    ch->on_drop_arg = 0;
    ch->send_waits = 0;
    if (cap == 0 || elem == 0 || !buf || cap > (size_t)-1 / elem) {
        FUTURE_MISUSE("sync_chan_init: a channel needs storage for at least one "
                      "value (cap >= 1, elem >= 1, buf; cap * elem must fit in size_t)");
        ch->closed = 1;
    }
}

/* Who gets the values still queued when the receiver is dropped. */
WEFT_API void sync_chan_on_drop(sync_chan_t *ch, sync_drop_fn fn, void *arg) {
    ch->on_drop = fn;
    ch->on_drop_arg = arg;
}

WEFT_API size_t sync_chan_len(const sync_chan_t *ch) { return ch->len; }
WEFT_API size_t sync_chan_capacity(const sync_chan_t *ch) { return ch->cap; }
WEFT_API int sync_chan_is_closed(const sync_chan_t *ch) { return ch->closed; }

WEFT_API size_t sync_chan_free_(const sync_chan_t *ch) {
    return ch->cap - ch->len - ch->reserved;
}

/* Room is free: reserve it for the first waiting sender, if any. */
WEFT_API void sync_chan_grant_(sync_chan_t *ch) {
    while (ch->sendq.head && sync_chan_free_(ch) > 0 && !ch->closed) {
        ch->reserved++;
        sync_waitq_wake_one_(&ch->sendq, SYNC_GRANTED_);
    }
}

/* Values nobody has been promised. A value pushed while receivers wait is
 * promised to the first of them, so a receiver polled early for another
 * reason (or a try_recv) cannot take it and send the first to the back.
 * Once closed, anyone drains what is left. */
WEFT_API size_t sync_chan_unclaimed_(const sync_chan_t *ch) {
    return ch->closed ? ch->len : ch->len - ch->promised;
}

/* An unclaimed value is there: promise it to the first waiting receiver. */
WEFT_API void sync_chan_promise_(sync_chan_t *ch) {
    if (sync_waitq_wake_one_(&ch->recvq, SYNC_GRANTED_)) ch->promised++;
}

/* Append a value (room is known to be there); promise it to a receiver. */
WEFT_API void sync_chan_push_(sync_chan_t *ch, const void *val) {
    size_t i = ch->head + ch->len;
    if (i >= ch->cap) i -= ch->cap;
    sync_copy_(ch->buf + i * ch->elem, val, ch->elem);
    ch->len++;
    sync_chan_promise_(ch);
}

/* Take the oldest value into out (0: discard it); the room goes to the
 * first waiting sender. */
WEFT_API void sync_chan_take_(sync_chan_t *ch, void *out) {
    if (out) sync_copy_(out, ch->buf + ch->head * ch->elem, ch->elem);
    if (++ch->head == ch->cap) ch->head = 0;
    ch->len--;
    if (ch->sendq.head) sync_chan_grant_(ch);
}

/* Send without waiting: 0, -EAGAIN (full, or senders are waiting: they
 * come first), -EPIPE (closed). */
WEFT_API int sync_chan_try_send(sync_chan_t *ch, const void *val) {
    if (ch->closed) return FUTURE_EPIPE;
    if (ch->sendq.head || sync_chan_free_(ch) == 0) return FUTURE_EAGAIN;
    sync_chan_push_(ch, val);
    return 0;
}

/* Receive without waiting: 0 (the value is in *out), -EAGAIN (empty, or
 * every value is promised to a woken receiver), -EPIPE (closed and empty). */
WEFT_API int sync_chan_try_recv(sync_chan_t *ch, void *out) {
    if (sync_chan_unclaimed_(ch)) {
        sync_chan_take_(ch, out);
        return 0;
    }
    return ch->closed ? FUTURE_EPIPE : FUTURE_EAGAIN;
}

/* Close for sending: waiting and later sends fail with -EPIPE, receivers
 * drain what is queued, then get -EPIPE. Every waiter is woken. Closing a
 * closed channel does nothing. */
WEFT_API void sync_chan_close(sync_chan_t *ch) {
    ch->closed = 1;
    sync_waitq_wake_all_(&ch->sendq, SYNC_WOKEN_);
    sync_waitq_wake_all_(&ch->recvq, SYNC_WOKEN_);
}

/* One more sender handle (tokio's Sender::clone). */
WEFT_API void sync_chan_tx_clone(sync_chan_t *ch) { ch->senders++; }

/* A sender handle is gone; the last one closes the channel. */
WEFT_API void sync_chan_tx_drop(sync_chan_t *ch) {
    if (ch->senders == 0) {
        FUTURE_MISUSE("sync_chan_tx_drop: more drops than sender handles "
                      "(one from sync_chan_init plus one per sync_chan_tx_clone)");
        return;
    }
    if (--ch->senders == 0) sync_chan_close(ch);
}

/* The receiver is gone: close, and hand every value still queued to the
 * drop callback (oldest first). */
WEFT_API void sync_chan_rx_drop(sync_chan_t *ch) {
    ch->rx_gone = 1;
    sync_chan_close(ch);
    while (ch->len) {
        void *item = ch->buf + ch->head * ch->elem;
        if (ch->on_drop) ch->on_drop(item, ch->on_drop_arg);
        if (++ch->head == ch->cap) ch->head = 0;
        ch->len--;
    }
}

/* -- send: waits while the channel is full -- */
typedef struct sync_chan_send {
    future_t fut;
    sync_chan_t *ch;
    const void *val; /* read when the value goes in: keep it valid till then */
    sync_waiter_t w;
    int waited;      /* 1 if this send had to wait for room */
} sync_chan_send_t;

/* "(3/4 queued" (the caller closes the parenthesis). */
WEFT_API void sync_chan_fmt_queued_(future_fmt_t *o, const sync_chan_t *ch) {
    future_fmt_str(o, "(");
    future_fmt_u64(o, ch->len);
    future_fmt_str(o, "/");
    future_fmt_u64(o, ch->cap);
    future_fmt_str(o, " queued");
}

/* "chan send (4/4 queued, 2 senders waiting)" */
WEFT_API void sync_chan_send_describe_(const future_t *f, future_fmt_t *o) {
    const sync_chan_t *ch = ((const sync_chan_send_t *)(const void *)f)->ch;
    sync_chan_fmt_queued_(o, ch);
    future_fmt_str(o, ", ");
    sync_fmt_n_(o, sync_waitq_len_(&ch->sendq), " sender waiting)", " senders waiting)");
}

WEFT_API coro_poll_t sync_chan_send_poll_(future_t *self, future_cx_t *cx) {
    sync_chan_send_t *s = (sync_chan_send_t *)(void *)self;
    sync_chan_t *ch = s->ch;
    switch (s->w.state) {
    case SYNC_IDLE_:
        if (ch->closed) return future_leaf_ready(self, cx, FUTURE_EPIPE);
        if (!ch->sendq.head && sync_chan_free_(ch) > 0) {
            if (!future_coop_spend(cx)) return CORO_PENDING;
            sync_chan_push_(ch, s->val);
            return future_finish(self, 0);
        }
        s->waited = 1;
        ch->send_waits++;
        sync_waitq_push_(&ch->sendq, &s->w, cx->waker);
        {
            static const future_kind_t kind = {FUTURE_KIND_TAG_, "chan send",
                                               sync_chan_send_describe_};
            future_set_kind(self, &kind);
        }
        return CORO_PENDING;
    case SYNC_QUEUED_:
        return sync_waiter_pending_(&s->w, cx);
    case SYNC_GRANTED_: /* room was reserved for us */
        if (!future_coop_spend(cx)) return CORO_PENDING; /* keep it */
        s->w.state = SYNC_IDLE_;
        ch->reserved--;
        if (ch->closed) return future_finish(self, FUTURE_EPIPE);
        sync_chan_push_(ch, s->val);
        return future_finish(self, 0);
    default: /* woken by a close */
        if (!future_coop_spend(cx)) return CORO_PENDING;
        s->w.state = SYNC_IDLE_;
        return future_finish(self, FUTURE_EPIPE);
    }
}

WEFT_API void sync_chan_send_drop_(future_t *self) {
    sync_chan_send_t *s = (sync_chan_send_t *)(void *)self;
    sync_chan_t *ch = s->ch;
    if (s->w.state == SYNC_QUEUED_) {
        sync_waitq_unlink_(&ch->sendq, &s->w);
    } else if (s->w.state == SYNC_GRANTED_) { /* pass the room on */
        s->w.state = SYNC_IDLE_;
        ch->reserved--;
        sync_chan_grant_(ch);
    }
    s->w.state = SYNC_IDLE_;
}

/* Send the value at *val (elem bytes, copied when it goes in). */
WEFT_API void sync_chan_send_init(sync_chan_send_t *s, sync_chan_t *ch, const void *val) {
    sync_wait_init_(&s->fut, sync_chan_send_poll_, sync_chan_send_drop_, &s->w);
    s->ch = ch;
    s->val = val;
    s->waited = 0;
}

/* -- recv: waits while the channel is empty -- */
typedef struct sync_chan_recv {
    future_t fut;
    sync_chan_t *ch;
    void *out; /* where the value goes (0: discard it) */
    sync_waiter_t w;
} sync_chan_recv_t;

/* "chan recv (0/4 queued)" */
WEFT_API void sync_chan_recv_describe_(const future_t *f, future_fmt_t *o) {
    sync_chan_fmt_queued_(o, ((const sync_chan_recv_t *)(const void *)f)->ch);
    future_fmt_str(o, ")");
}

WEFT_API coro_poll_t sync_chan_recv_poll_(future_t *self, future_cx_t *cx) {
    sync_chan_recv_t *r = (sync_chan_recv_t *)(void *)self;
    sync_chan_t *ch = r->ch;
    if (r->w.state == SYNC_QUEUED_) {
        if (!sync_chan_unclaimed_(ch) && !ch->closed) return sync_waiter_pending_(&r->w, cx);
        sync_waitq_unlink_(&ch->recvq, &r->w);
    }
    if (r->w.state == SYNC_GRANTED_) { /* a value was promised to us */
        if (!future_coop_spend(cx)) return CORO_PENDING; /* keep it */
        r->w.state = SYNC_IDLE_;
        ch->promised--;
        if (!ch->len) return future_finish(self, FUTURE_EPIPE); /* closed, drained */
        sync_chan_take_(ch, r->out);
        return future_finish(self, 0);
    }
    if (sync_chan_unclaimed_(ch)) {
        if (!future_coop_spend(cx)) return CORO_PENDING;
        r->w.state = SYNC_IDLE_;
        sync_chan_take_(ch, r->out);
        return future_finish(self, 0);
    }
    r->w.state = SYNC_IDLE_;
    if (ch->closed) return future_leaf_ready(self, cx, FUTURE_EPIPE);
    sync_waitq_push_(&ch->recvq, &r->w, cx->waker);
    {
        static const future_kind_t kind = {FUTURE_KIND_TAG_, "chan recv",
                                           sync_chan_recv_describe_};
        future_set_kind(self, &kind);
    }
    return CORO_PENDING;
}

WEFT_API void sync_chan_recv_drop_(future_t *self) {
    sync_chan_recv_t *r = (sync_chan_recv_t *)(void *)self;
    sync_chan_t *ch = r->ch;
    if (r->w.state == SYNC_QUEUED_) {
        sync_waitq_unlink_(&ch->recvq, &r->w);
    } else if (r->w.state == SYNC_GRANTED_) {
        /* a value was promised to us: promise it to the next one */
        ch->promised--;
        if (sync_chan_unclaimed_(ch)) sync_chan_promise_(ch);
    }
    r->w.state = SYNC_IDLE_;
}

/* Receive the oldest value into *out (elem bytes; out may be 0). */
WEFT_API void sync_chan_recv_init(sync_chan_recv_t *r, sync_chan_t *ch, void *out) {
    sync_wait_init_(&r->fut, sync_chan_recv_poll_, sync_chan_recv_drop_, &r->w);
    r->ch = ch;
    r->out = out;
}

/* ---- a channel other threads send into ----------------------------------
 *
 * sync_xchan_t: values sent from any thread, and from signal handlers, to
 * tasks on the executor (tokio's mpsc with Sender::try_send and
 * blocking_send on other threads; libuv's uv_async_t carries no data, and
 * neither does exec_remote_t: this is a wake with values). Hosted builds
 * only (exec.h's EXEC_HAVE_THREADS_): include exec.h before sync.h.
 *
 *     static int buf[64];                    // cap values (a power of two)
 *     static size_t seq[64];                 // one sequence number a slot
 *     sync_xchan_t xc;
 *     sync_xchan_init(&xc, &ex, buf, seq, 64, sizeof(int));  // loop thread
 *     ...                                    // any thread, a signal handler:
 *     if (sync_xchan_try_send(&xc, &v) == -EAGAIN) ...  // full: not taken
 *     ...                                    // another thread, may block:
 *     sync_xchan_send(&xc, &v);              // waits for room; -EPIPE: closed
 *     ...                                    // a task on the executor:
 *     sync_xchan_recv_init(&f->recv, &xc, &f->got);
 *     AWAIT(cx, &f->recv);                   // 0, or -EPIPE: closed, drained
 *     ...                                    // the senders are done:
 *     sync_xchan_close(&xc);                 // (either side; or both)
 *     sync_xchan_destroy(&xc);               // loop thread: what is left
 *                                            // goes to sync_xchan_on_drop's fn
 *
 * The ring is Dmitry Vyukov's bounded MPMC queue, with one consumer (the
 * executor's thread): cap slots of elem bytes in buf, and beside each a
 * sequence number that says whose turn the slot is. A sender claims the
 * next position with one compare-and-swap on the tail, copies its value in
 * and then publishes the slot (stores its sequence number); the receiver
 * takes the value of a published slot and gives the slot back to the
 * sender one lap later. Positions are kept doubled, so that the tail's
 * low bit is the closed flag: a claim and a close are one atomic word, and
 * no value gets in after the close (a claim made before it is still
 * delivered). A slot's number is the (even) position it is free for, and
 * that position plus one once its value is in: so even a ring of one slot
 * tells "free for this lap" from "full from the last" (Vyukov's marks
 * need two slots). No lock and no wait: try_send is lock-free and
 * async-signal-safe (atomics, a memcpy and exec_remote_wake), so a signal
 * handler may send even while it interrupted a send on its own thread.
 * Per-thread order is kept: two values one thread sent arrive in the
 * order sent. A sender stopped between its claim and its publish holds up
 * the values behind it (the receiver waits for the publish, which wakes
 * it), as in every bounded MPMC ring.
 *
 * Waking costs nothing while the receiver is busy: a recv about to wait
 * raises a flag (rx_waiting) and looks at the ring again; a send that
 * finds the flag up takes it down and wakes the executor through the
 * channel's exec_remote_t (an eventfd write only if the loop sleeps). Both
 * sides are sequentially consistent, so one of them sees the other.
 *
 * Blocking send (other threads only) tries first; if the ring is full it
 * takes the channel's mutex, counts itself in tx_waiting, and waits on a
 * condition variable until a try succeeds or the channel closes. The
 * receiver takes that mutex only when tx_waiting says a sender sleeps.
 *
 * Rules
 *   - sync_xchan_init, _destroy, the recv future, _try_recv and _len run on
 *     the executor's thread (the thread of the init: its receiver thread).
 *     Any number of recv futures may wait there; each value goes to one;
 *     a send wakes them all and they look again (no order among them).
 *   - try_send: any thread, any signal handler. send: threads other than
 *     the receiver's, never a signal handler; on the receiver's thread it
 *     is a misuse (reported, -EDEADLK: it could wait for itself). close:
 *     any thread, not a signal handler (it may take the mutex).
 *   - Values are copied in and out (elem bytes). At destroy, values still
 *     queued go to the sync_xchan_on_drop callback, oldest first.
 *   - destroy: once no thread will start a call on the channel any more
 *     (every sender is done or joined, the handlers that send are gone). It
 *     closes the channel, wakes blocked senders (-EPIPE), and waits for
 *     calls still inside the channel to return (a sender that has just
 *     closed, a send waking up): "the receiver saw -EPIPE, then destroys"
 *     is safe. A recv still waiting is a misuse: -EBUSY, nothing freed.
 *
 * Errors: try_send 0, -EAGAIN (full: the value was not taken), -EPIPE
 * (closed); send 0, -EPIPE, -EDEADLK (misuse, above); recv and try_recv
 * 0, -EAGAIN (try_: nothing yet), -EPIPE (closed and drained).
 * Cancel safety: sync_xchan_recv_t is safe: a value is taken only by the
 * poll that returns it; a dropped recv (queued, woken, or held by the
 * budget) leaves every value in the ring. */
#ifdef EXEC_HAVE_THREADS_

typedef struct sync_xchan {
    /* shared with the senders (atomic, but for what init sets once) */
    size_t tail;           /* 2 * the next position to claim, | 1 once closed */
    size_t *seq;           /* cap sequence numbers, the caller's */
    unsigned char *buf;    /* cap * elem bytes, the caller's */
    size_t cap, elem, mask;
    int rx_waiting;        /* a recv waits: the next send wakes the loop */
    int tx_waiting;        /* senders asleep in sync_xchan_send */
    int busy;              /* calls inside try_send / send / close */
    size_t send_waits;     /* blocking sends that had to sleep (stats) */
    exec_remote_t remote;  /* wakes the loop */
    pthread_mutex_t lock;  /* for sleeping senders only */
    pthread_cond_t room;
    pthread_t rx_thread;   /* the receiver's (the executor's) thread */
    /* the receiver's, on its thread */
    size_t head;           /* 2 * the next position to take */
    future_waker_t waker;  /* the remote's: wakes the waiting recvs */
    sync_waitq_t recvq;    /* recvs waiting for a value */
    size_t nrecv;          /* recvs polled and not finished or dropped
                              (queued, woken, or held by the budget) */
    sync_drop_fn on_drop;
    void *on_drop_arg;
    size_t nil_seq_;       /* seq of a channel made closed by a bad init */
} sync_xchan_t;

#define SYNC_XCHAN_OF_WAKER_(w) FUTURE_CONTAINER_OF(w, sync_xchan_t, waker)

#ifndef SYNC_XCHAN_AFTER_FLAG_
#define SYNC_XCHAN_AFTER_FLAG_(xc) ((void)0) /* a test hook: a send lands here */
#endif

/* The remote handle's waker, on the loop: a send came; every waiting
 * recv looks again (nothing is reserved for them, so one woken and then
 * dropped loses nothing and takes nothing from the others). */
WEFT_API void sync_xchan_woken_(future_waker_t *w) {
    sync_waitq_wake_all_(&SYNC_XCHAN_OF_WAKER_(w)->recvq, SYNC_WOKEN_);
}

/* On the executor's thread (as exec_remote_init): a channel of cap values
 * of elem bytes in buf (cap * elem bytes) with seq (cap size_t) beside
 * them, both yours until sync_xchan_destroy. cap: a power of two. A bad
 * argument is a misuse: the channel is made closed (destroy it still). */
WEFT_API void sync_xchan_init(sync_xchan_t *xc, exec_t *ex, void *buf, size_t *seq,
                              size_t cap, size_t elem) {
    size_t i;
    xc->buf = (unsigned char *)buf;
    xc->seq = seq;
    xc->cap = cap;
    xc->elem = elem;
    xc->mask = cap - 1;
    xc->tail = xc->head = 0;
    xc->rx_waiting = xc->tx_waiting = xc->busy = 0;
    xc->send_waits = 0;
    xc->nrecv = 0;
    xc->on_drop = 0;
    xc->on_drop_arg = 0;
    xc->rx_thread = pthread_self();
    xc->waker.wake = sync_xchan_woken_;
    sync_waitq_init_(&xc->recvq);
    pthread_mutex_init(&xc->lock, 0);
    pthread_cond_init(&xc->room, 0);
    exec_remote_init(&xc->remote, ex);
    exec_remote_set_waker(&xc->remote, &xc->waker);
    if (!buf || !seq || elem == 0 || cap == 0 || (cap & (cap - 1)) ||
        cap > (size_t)-1 / 4 || cap > (size_t)-1 / elem) {
        FUTURE_MISUSE("sync_xchan_init: the ring needs buf (cap * elem bytes, "
                      "fitting in size_t) and seq (cap size_t), elem >= 1, and "
                      "cap a power of two");
        xc->seq = &xc->nil_seq_; /* never published: recv sees "closed, drained" */
        xc->nil_seq_ = 0;
        xc->mask = 0;
        xc->tail = 1;
        return;
    }
    for (i = 0; i < cap; i++) xc->seq[i] = 2 * i; /* slot i: free for position i */
}

/* Who gets the values still queued at sync_xchan_destroy. */
WEFT_API void sync_xchan_on_drop(sync_xchan_t *xc, sync_drop_fn fn, void *arg) {
    xc->on_drop = fn;
    xc->on_drop_arg = arg;
}

WEFT_API size_t sync_xchan_capacity(const sync_xchan_t *xc) { return xc->cap; }

/* Any thread: is it closed? */
WEFT_API int sync_xchan_is_closed(const sync_xchan_t *xc) {
    return (int)(EXEC_LOAD_(&xc->tail) & 1);
}

/* On the receiver's thread: values sent and not yet taken (counting sends
 * that have claimed a slot and are still copying their value in). */
WEFT_API size_t sync_xchan_len(const sync_xchan_t *xc) {
    return ((EXEC_LOAD_(&xc->tail) & ~(size_t)1) - xc->head) / 2;
}

/* A send, or the close, happened: wake the loop if a recv waits. */
WEFT_API void sync_xchan_wake_rx_(sync_xchan_t *xc) {
    if (EXEC_LOAD_(&xc->rx_waiting) && EXEC_XCHG_(&xc->rx_waiting, 0))
        exec_remote_wake(&xc->remote);
}

/* The lock-free send: claim the tail's slot if it is free this lap. */
WEFT_API int sync_xchan_push_(sync_xchan_t *xc, const void *val) {
    size_t t = EXEC_LOAD_(&xc->tail), i;
    for (;;) {
        intptr_t d;
        if (t & 1) return FUTURE_EPIPE;
        i = (t >> 1) & xc->mask;
        d = (intptr_t)(EXEC_LOAD_(&xc->seq[i]) - t);
        if (d == 0) { /* free for position t: claim it (t reloads on failure) */
            if (EXEC_CAS_(&xc->tail, &t, t + 2)) break;
        } else if (d < 0) { /* still holds the value of the lap before: full */
            return FUTURE_EAGAIN;
        } else { /* another sender claimed t already: look at the new tail */
            t = EXEC_LOAD_(&xc->tail);
        }
    }
    sync_copy_(xc->buf + i * xc->elem, val, xc->elem);
    EXEC_STORE_(&xc->seq[i], t + 1); /* published (odd): the receiver's turn */
    sync_xchan_wake_rx_(xc);
    return 0;
}

/* Any thread, or a signal handler: send a copy of *val (elem bytes)
 * without waiting. 0, -EAGAIN (full: not taken, still yours), -EPIPE
 * (closed). The call counts as busy till its last touch (see destroy). */
WEFT_API int sync_xchan_try_send(sync_xchan_t *xc, const void *val) {
    int rc;
    EXEC_ADD_(&xc->busy, 1);
    rc = sync_xchan_push_(xc, val);
    EXEC_ADD_(&xc->busy, -1); /* from here xc may be gone */
    return rc;
}

/* A thread other than the receiver's (never a signal handler): send,
 * waiting while the ring is full. 0, -EPIPE (closed, before or while it
 * waited: not taken), -EDEADLK (called on the receiver's thread: a
 * misuse, reported; nothing sent). */
WEFT_API int sync_xchan_send(sync_xchan_t *xc, const void *val) {
    int rc;
    if (pthread_equal(pthread_self(), xc->rx_thread)) {
        FUTURE_MISUSE("sync_xchan_send on the receiver's (the executor's) thread "
                      "could wait for itself: use sync_xchan_try_send there");
        return FUTURE_EDEADLK;
    }
    EXEC_ADD_(&xc->busy, 1);
    rc = sync_xchan_push_(xc, val);
    if (rc == FUTURE_EAGAIN) { /* the slow path: sleep until a recv frees a slot */
        pthread_mutex_lock(&xc->lock);
        EXEC_ADD_(&xc->tx_waiting, 1); /* before the look again: see _take_ */
        EXEC_ADD_(&xc->send_waits, 1);
        while ((rc = sync_xchan_push_(xc, val)) == FUTURE_EAGAIN)
            pthread_cond_wait(&xc->room, &xc->lock);
        EXEC_ADD_(&xc->tx_waiting, -1);
        pthread_mutex_unlock(&xc->lock);
    }
    EXEC_ADD_(&xc->busy, -1); /* from here xc may be gone */
    return rc;
}

/* Wake sleeping senders: one (a slot was freed) or all (closed). Under
 * the lock, so that a sender between its look and its sleep is not
 * missed. */
WEFT_API void sync_xchan_wake_tx_(sync_xchan_t *xc, int all) {
    pthread_mutex_lock(&xc->lock);
    if (all) pthread_cond_broadcast(&xc->room);
    else pthread_cond_signal(&xc->room);
    pthread_mutex_unlock(&xc->lock);
}

/* Any thread but a signal handler: close. Sends from now on, and senders
 * asleep in sync_xchan_send, get -EPIPE; values already sent are still
 * received, then recv says -EPIPE. Closing twice does nothing more. */
WEFT_API void sync_xchan_close(sync_xchan_t *xc) {
    EXEC_ADD_(&xc->busy, 1);
    __atomic_fetch_or(&xc->tail, (size_t)1, __ATOMIC_SEQ_CST);
    if (EXEC_LOAD_(&xc->tx_waiting)) sync_xchan_wake_tx_(xc, 1);
    sync_xchan_wake_rx_(xc);
    EXEC_ADD_(&xc->busy, -1);
}

/* On the receiver's thread: is there something for recv (a value at the
 * head, or the end: closed and every claimed value taken)? */
WEFT_API int sync_xchan_ready_(sync_xchan_t *xc) {
    size_t h = xc->head;
    if (EXEC_LOAD_(&xc->seq[(h >> 1) & xc->mask]) == h + 1) return 1;
    return EXEC_LOAD_(&xc->tail) == (h | 1);
}

/* On the receiver's thread: take the head's value into out (0: discard
 * it), 0; or -EAGAIN (nothing published yet) / -EPIPE (closed, drained).
 * The slot goes back to the senders, free for the position one lap on. */
WEFT_API int sync_xchan_take_(sync_xchan_t *xc, void *out) {
    size_t h = xc->head, i = (h >> 1) & xc->mask;
    if (EXEC_LOAD_(&xc->seq[i]) != h + 1)
        return EXEC_LOAD_(&xc->tail) == (h | 1) ? FUTURE_EPIPE : FUTURE_EAGAIN;
    if (out) sync_copy_(out, xc->buf + i * xc->elem, xc->elem);
    xc->head = h + 2;
    EXEC_STORE_(&xc->seq[i], h + 2 * xc->cap);
    /* after the store: a sender that counted itself before it looked
     * again either saw the slot or is seen here */
    if (EXEC_LOAD_(&xc->tx_waiting)) sync_xchan_wake_tx_(xc, 0);
    return 0;
}

/* On the receiver's thread: receive without waiting. 0 (the value is in
 * *out; out may be 0), -EAGAIN (nothing yet), -EPIPE (closed, drained). */
WEFT_API int sync_xchan_try_recv(sync_xchan_t *xc, void *out) {
    return sync_xchan_take_(xc, out);
}

/* On the receiver's thread, once no thread will start a call on xc any
 * more (every sender has returned -EPIPE, or been joined: a sender that
 * has not yet seen the close may still start one): close, wake blocked senders, wait for the calls still inside,
 * hand what is left to the on_drop callback (oldest first), and let the
 * channel's memory go. 0; -EBUSY if a recv still waits (a misuse,
 * reported: drop it first; the channel is closed but not destroyed). */
WEFT_API int sync_xchan_destroy(sync_xchan_t *xc) {
    size_t h, i;
    if (xc->nrecv) { /* queued, or woken and not yet polled: it would look */
        FUTURE_MISUSE("sync_xchan_destroy while a recv waits on it: drop the "
                      "recv (or let it finish) first");
        sync_xchan_close(xc);
        return FUTURE_EBUSY;
    }
    sync_xchan_close(xc); /* blocked senders wake with -EPIPE */
    while (EXEC_LOAD_(&xc->busy)) sched_yield();
    for (;;) {
        h = xc->head;
        i = (h >> 1) & xc->mask;
        if (EXEC_LOAD_(&xc->seq[i]) != h + 1) break;
        if (xc->on_drop) xc->on_drop(xc->buf + i * xc->elem, xc->on_drop_arg);
        xc->head = h + 2;
        EXEC_STORE_(&xc->seq[i], h + 2 * xc->cap);
    }
    exec_remote_close(&xc->remote);
    pthread_cond_destroy(&xc->room);
    pthread_mutex_destroy(&xc->lock);
    return 0;
}

/* -- recv: waits while nothing was sent -- */
typedef struct sync_xchan_recv {
    future_t fut;
    sync_xchan_t *xc;
    void *out; /* where the value goes (0: discard it) */
    sync_waiter_t w;
    int counted; /* in xc->nrecv: polled, not finished or dropped */
} sync_xchan_recv_t;

/* "xchan recv (0/64 queued)" */
WEFT_API void sync_xchan_recv_describe_(const future_t *f, future_fmt_t *o) {
    const sync_xchan_t *xc = ((const sync_xchan_recv_t *)(const void *)f)->xc;
    future_fmt_str(o, "(");
    future_fmt_u64(o, sync_xchan_len(xc));
    future_fmt_str(o, "/");
    future_fmt_u64(o, xc->cap);
    future_fmt_str(o, " queued)");
}

WEFT_API void sync_xchan_unqueue_(sync_xchan_t *xc, sync_waiter_t *w) {
    sync_waitq_unlink_(&xc->recvq, w);
    if (!xc->recvq.head) EXEC_STORE_(&xc->rx_waiting, 0); /* no wake needed */
}

WEFT_API coro_poll_t sync_xchan_recv_poll_(future_t *self, future_cx_t *cx) {
    sync_xchan_recv_t *r = (sync_xchan_recv_t *)(void *)self;
    sync_xchan_t *xc = r->xc;
    if (!r->counted) { /* destroy must wait for it, whatever its state */
        r->counted = 1;
        xc->nrecv++;
    }
    if (!sync_xchan_ready_(xc)) {
        if (r->w.state == SYNC_QUEUED_) return sync_waiter_pending_(&r->w, cx);
        sync_waitq_push_(&xc->recvq, &r->w, cx->waker);
        EXEC_STORE_(&xc->rx_waiting, 1);
        SYNC_XCHAN_AFTER_FLAG_(xc);
        /* a send that published before the flag went up did not see it:
         * look again after raising it */
        if (!sync_xchan_ready_(xc)) {
            static const future_kind_t kind = {FUTURE_KIND_TAG_, "xchan recv",
                                               sync_xchan_recv_describe_};
            future_set_kind(self, &kind);
            return CORO_PENDING;
        }
    }
    if (r->w.state == SYNC_QUEUED_) sync_xchan_unqueue_(xc, &r->w);
    r->w.state = SYNC_IDLE_;
    if (!future_coop_spend(cx)) return CORO_PENDING; /* nothing taken yet */
    xc->nrecv--;
    r->counted = 0;
    return future_finish(self, sync_xchan_take_(xc, r->out));
}

WEFT_API void sync_xchan_recv_drop_(future_t *self) {
    sync_xchan_recv_t *r = (sync_xchan_recv_t *)(void *)self;
    if (r->w.state == SYNC_QUEUED_) sync_xchan_unqueue_(r->xc, &r->w);
    r->w.state = SYNC_IDLE_; /* nothing was reserved for it: nothing to pass on */
    if (r->counted) r->xc->nrecv--;
    r->counted = 0;
}

/* Receive the oldest value into *out (elem bytes; out may be 0), on the
 * executor. Ready with 0, or -EPIPE (closed and drained). */
WEFT_API void sync_xchan_recv_init(sync_xchan_recv_t *r, sync_xchan_t *xc, void *out) {
    sync_wait_init_(&r->fut, sync_xchan_recv_poll_, sync_xchan_recv_drop_, &r->w);
    r->xc = xc;
    r->out = out;
    r->counted = 0;
}

#endif /* EXEC_HAVE_THREADS_ */

/* ---- oneshot ------------------------------------------------------------ */

enum { SYNC_OS_SENT_ = 1, SYNC_OS_TX_GONE_ = 2, SYNC_OS_RX_GONE_ = 4 };

typedef struct sync_oneshot {
    void *slot;   /* where the value is kept: size bytes, the caller's */
    size_t size;
    unsigned state; /* SYNC_OS_* bits */
    sync_waitq_t q;
} sync_oneshot_t;

/* A oneshot whose value (size bytes) will be kept in slot. */
WEFT_API void sync_oneshot_init(sync_oneshot_t *o, void *slot, size_t size) {
    o->slot = slot;
    o->size = size;
    o->state = 0;
    sync_waitq_init_(&o->q);
}

/* Send the value: 0, or -EPIPE when the receiver is gone (the value is not
 * taken). Sending twice is a misuse (-EINVAL). */
WEFT_API int sync_oneshot_send(sync_oneshot_t *o, const void *val) {
    if (o->state & (SYNC_OS_SENT_ | SYNC_OS_TX_GONE_)) {
        FUTURE_MISUSE("sync_oneshot_send: the oneshot was already sent or its sender "
                      "dropped; init it again to reuse it");
        return FUTURE_EINVAL;
    }
    if (o->state & SYNC_OS_RX_GONE_) return FUTURE_EPIPE;
    if (o->size) sync_copy_(o->slot, val, o->size);
    o->state |= SYNC_OS_SENT_;
    sync_waitq_wake_all_(&o->q, SYNC_WOKEN_);
    return 0;
}

/* The sender is gone without sending: the receiver gets -EPIPE. (After a
 * send it does nothing.) */
WEFT_API void sync_oneshot_tx_drop(sync_oneshot_t *o) {
    if (o->state & SYNC_OS_SENT_) return;
    o->state |= SYNC_OS_TX_GONE_;
    sync_waitq_wake_all_(&o->q, SYNC_WOKEN_);
}

/* The receiver is gone: a later send fails with -EPIPE. */
WEFT_API void sync_oneshot_rx_drop(sync_oneshot_t *o) { o->state |= SYNC_OS_RX_GONE_; }

/* Is the receiver gone (the sender may skip the work)? */
WEFT_API int sync_oneshot_is_closed(const sync_oneshot_t *o) {
    return (o->state & SYNC_OS_RX_GONE_) != 0;
}

typedef struct sync_oneshot_recv {
    future_t fut;
    sync_oneshot_t *o;
    void *out; /* where the value is copied (0: leave it in the slot) */
    sync_waiter_t w;
} sync_oneshot_recv_t;

WEFT_API coro_poll_t sync_oneshot_recv_poll_(future_t *self, future_cx_t *cx) {
    sync_oneshot_recv_t *r = (sync_oneshot_recv_t *)(void *)self;
    sync_oneshot_t *o = r->o;
    if (o->state & (SYNC_OS_SENT_ | SYNC_OS_TX_GONE_)) {
        /* send and tx_drop took every waiter off the queue already; the
         * copy may be repeated if the budget says "not now" */
        int sent = (o->state & SYNC_OS_SENT_) != 0;
        if (sent && r->out && o->size) sync_copy_(r->out, o->slot, o->size);
        r->w.state = SYNC_IDLE_;
        return future_leaf_ready(self, cx, sent ? 0 : FUTURE_EPIPE);
    }
    if (r->w.state == SYNC_QUEUED_) return sync_waiter_pending_(&r->w, cx);
    sync_waitq_push_(&o->q, &r->w, cx->waker);
    {
        static const future_kind_t kind = {FUTURE_KIND_TAG_, "oneshot recv", 0};
        future_set_kind(self, &kind);
    }
    return CORO_PENDING;
}

WEFT_API void sync_oneshot_recv_drop_(future_t *self) {
    sync_oneshot_recv_t *r = (sync_oneshot_recv_t *)(void *)self;
    if (r->w.state == SYNC_QUEUED_) sync_waitq_unlink_(&r->o->q, &r->w);
    r->w.state = SYNC_IDLE_;
}

/* Wait for the value; copy it to *out (out may be 0). */
WEFT_API void sync_oneshot_recv_init(sync_oneshot_recv_t *r, sync_oneshot_t *o, void *out) {
    sync_wait_init_(&r->fut, sync_oneshot_recv_poll_, sync_oneshot_recv_drop_, &r->w);
    r->o = o;
    r->out = out;
}

/* ---- broadcast ---------------------------------------------------------- */

/* A broadcast receiver fell behind (the other errors are future.h's). */
#if defined(FUTURE_ERRNO_H_) && defined(EOVERFLOW)
#define SYNC_EOVERFLOW (-EOVERFLOW)
#else
#define SYNC_EOVERFLOW (-75) /* Linux's number */
#endif

/* A broadcast channel (tokio's broadcast): every value sent goes to every
 * receiver subscribed at the time, in the order sent. The values live in a
 * ring of cap slots of elem bytes, in caller storage; each receiver is a
 * sync_bcast_rx_t of yours with its own cursor (the sequence number of the
 * next value it takes). A send never waits: it overwrites the oldest slot,
 * so a slow receiver never slows the sender down; it loses values instead.
 * A receiver that fell more than cap values behind is told so: its next
 * recv finishes with SYNC_EOVERFLOW (-EOVERFLOW) and says how many values
 * it skipped (r.lagged), and the recv after that goes on from the oldest
 * value still there (tokio's RecvError::Lagged). Size cap for the lag you
 * can accept.
 *
 * No reference counts (tokio keeps one per slot): a receiver copies a value
 * out in the very poll that returns it, and nothing else runs in between
 * (single executor), so a slot is only ever overwritten by a later send,
 * never while someone reads it. A value nobody has taken yet is simply
 * overwritten; the receivers that missed it get the lag report. */
typedef struct sync_bcast {
    unsigned char *buf; /* cap * elem bytes, the caller's */
    size_t cap, elem;
    size_t head;        /* the slot the next send writes (the oldest, once full) */
    uint64_t tail;      /* values sent so far: the next one's sequence number */
    size_t receivers;   /* subscribed receivers */
    int closed;
    sync_waitq_t q;     /* recvs waiting for a new value (caught up) */
} sync_bcast_t;

/* A receiver: caller memory, made by sync_bcast_subscribe. */
typedef struct sync_bcast_rx {
    sync_bcast_t *b; /* 0: not subscribed */
    uint64_t next;   /* sequence number of the next value to take */
    size_t at;       /* its slot (next % cap, kept without a division) */
    future_owned_t own; /* SYNC_BCAST_SUBSCRIBE: in its frame's list (the
                           frame's end unsubscribes), else unlinked */
} sync_bcast_rx_t;

/* A broadcast channel of cap values of elem bytes each, in buf (cap * elem
 * bytes). cap >= 1: a receiver more than cap values behind lags. */
WEFT_API void sync_bcast_init(sync_bcast_t *b, void *buf, size_t cap, size_t elem) {
    b->buf = (unsigned char *)buf;
    b->cap = cap;
    b->elem = elem;
    b->head = 0;
    b->tail = 0;
    b->receivers = 0;
    b->closed = 0;
    sync_waitq_init_(&b->q);
    if (cap == 0 || elem == 0 || !buf || cap > (size_t)-1 / elem) {
        FUTURE_MISUSE("sync_bcast_init: a broadcast channel needs storage for at "
                      "least one value (cap >= 1, elem >= 1, buf; cap * elem must "
                      "fit in size_t)");
        b->closed = 1;
    }
}

/* A count as a non-negative int (saturated at INT_MAX), for returns that
 * are a count or an error. */
WEFT_API int sync_count_int_(size_t n) {
    size_t max = (unsigned)-1 >> 1;
    return n > max ? (int)max : (int)n;
}

WEFT_API size_t sync_bcast_receiver_count(const sync_bcast_t *b) { return b->receivers; }
WEFT_API int sync_bcast_is_closed(const sync_bcast_t *b) { return b->closed; }

/* Subscribe rx (tokio's Sender::subscribe): it will see every value sent
 * from now on, none sent before. Subscribing to a closed channel gives a
 * receiver whose recv finishes with -EPIPE. */
WEFT_API void sync_bcast_subscribe(sync_bcast_rx_t *rx, sync_bcast_t *b) {
    rx->b = b;
    rx->next = b->tail;
    rx->at = b->head;
    rx->own.next = 0;
    rx->own.pprev = 0;
    b->receivers++;
}

/* How many values were sent that rx has not taken yet (tokio's len): more
 * than the capacity means its next recv reports a lag. 0 if unsubscribed. */
WEFT_API uint64_t sync_bcast_len(const sync_bcast_rx_t *rx) {
    return rx->b ? rx->b->tail - rx->next : 0;
}

/* Send a copy of *val (elem bytes) to every receiver; never waits. The
 * number of receivers subscribed (each will see it, unless it lags), 0 if
 * there are none (the value is not kept: tokio's SendError), or -EPIPE
 * once closed (a misuse: the sender is gone). */
WEFT_API int sync_bcast_send(sync_bcast_t *b, const void *val) {
    if (b->closed) {
        FUTURE_MISUSE("sync_bcast_send on a closed broadcast channel (closing it "
                      "is the sender's last act)");
        return FUTURE_EPIPE;
    }
    if (!b->receivers) return 0;
    sync_copy_(b->buf + b->head * b->elem, val, b->elem);
    if (++b->head == b->cap) b->head = 0;
    b->tail++;
    sync_waitq_wake_all_(&b->q, SYNC_WOKEN_);
    return sync_count_int_(b->receivers);
}

/* Close (the sender is gone): every receiver takes what it has not taken
 * yet, then gets -EPIPE. Every waiting recv is woken. Closing twice does
 * nothing more. */
WEFT_API void sync_bcast_close(sync_bcast_t *b) {
    b->closed = 1;
    sync_waitq_wake_all_(&b->q, SYNC_WOKEN_);
}

/* Is there anything for rx to find (a value, a lag, or the end)? */
WEFT_API int sync_bcast_ready_(const sync_bcast_rx_t *rx) {
    return rx->next != rx->b->tail || rx->b->closed;
}

/* rx's next step: its next value into out (0: discard it), or a lag (the
 * cursor jumps to the oldest value still there; *lagged: how many it
 * skipped), or -EAGAIN (caught up) / -EPIPE (caught up and closed). */
WEFT_API int sync_bcast_take_(sync_bcast_rx_t *rx, void *out, uint64_t *lagged) {
    sync_bcast_t *b = rx->b;
    uint64_t behind = b->tail - rx->next;
    if (behind > b->cap) { /* its next value was overwritten */
        *lagged = behind - b->cap;
        rx->next = b->tail - b->cap;
        rx->at = b->head; /* full: the next slot written is the oldest */
        return SYNC_EOVERFLOW;
    }
    if (!behind) return b->closed ? FUTURE_EPIPE : FUTURE_EAGAIN;
    if (out) sync_copy_(out, b->buf + rx->at * b->elem, b->elem);
    rx->next++;
    if (++rx->at == b->cap) rx->at = 0;
    return 0;
}

/* Receive without waiting: 0 (the value is in *out; out may be 0),
 * SYNC_EOVERFLOW (rx lagged: *lagged values skipped, lagged may be 0; the
 * next call goes on from the oldest value still there), -EAGAIN (nothing
 * new), -EPIPE (closed and nothing left), -EINVAL (rx is not subscribed:
 * a misuse, reported). */
WEFT_API int sync_bcast_try_recv(sync_bcast_rx_t *rx, void *out, uint64_t *lagged) {
    uint64_t skipped = 0;
    int rc;
    if (!rx->b) {
        FUTURE_MISUSE("sync_bcast_try_recv on a receiver that is not subscribed "
                      "(sync_bcast_subscribe it first)");
        return FUTURE_EINVAL;
    }
    rc = sync_bcast_take_(rx, out, &skipped);
    if (lagged) *lagged = skipped;
    return rc;
}

/* -- recv: waits while the receiver is caught up -- */
typedef struct sync_bcast_recv {
    future_t fut;
    sync_bcast_rx_t *rx;
    void *out;       /* where the value goes (0: discard it) */
    sync_bcast_t *b; /* the channel it waits on (rx->b when it queued) */
    sync_waiter_t w;
    uint64_t lagged; /* after SYNC_EOVERFLOW: how many values were skipped */
} sync_bcast_recv_t;

/* "broadcast recv (2 of 3 receivers waiting)" */
WEFT_API void sync_bcast_recv_describe_(const future_t *f, future_fmt_t *o) {
    const sync_bcast_t *b = ((const sync_bcast_recv_t *)(const void *)f)->b;
    future_fmt_str(o, "(");
    future_fmt_u64(o, sync_waitq_len_(&b->q));
    future_fmt_str(o, " of ");
    sync_fmt_n_(o, b->receivers, " receiver waiting)", " receivers waiting)");
}

WEFT_API coro_poll_t sync_bcast_recv_poll_(future_t *self, future_cx_t *cx) {
    sync_bcast_recv_t *r = (sync_bcast_recv_t *)(void *)self;
    sync_bcast_rx_t *rx = r->rx;
    /* queued: nothing new (send, close and unsubscribe take every waiter
     * off the queue, woken) */
    if (r->w.state == SYNC_QUEUED_) return sync_waiter_pending_(&r->w, cx);
    r->w.state = SYNC_IDLE_; /* woken: look again */
    if (!rx->b) {
        FUTURE_MISUSE("sync_bcast_recv on a receiver that is not subscribed "
                      "(never, or unsubscribed while the recv waited)");
        return future_finish(self, FUTURE_EINVAL);
    }
    if (sync_bcast_ready_(rx)) { /* taken only now: nothing to lose if dropped */
        if (!future_coop_spend(cx)) return CORO_PENDING;
        return future_finish(self, sync_bcast_take_(rx, r->out, &r->lagged));
    }
    r->b = rx->b;
    sync_waitq_push_(&r->b->q, &r->w, cx->waker);
    {
        static const future_kind_t kind = {FUTURE_KIND_TAG_, "broadcast recv",
                                           sync_bcast_recv_describe_};
        future_set_kind(self, &kind);
    }
    return CORO_PENDING;
}

WEFT_API void sync_bcast_recv_drop_(future_t *self) {
    sync_bcast_recv_t *r = (sync_bcast_recv_t *)(void *)self;
    if (r->w.state == SYNC_QUEUED_) sync_waitq_unlink_(&r->b->q, &r->w);
    r->w.state = SYNC_IDLE_; /* nothing was reserved for it: nothing to pass on */
}

/* Receive rx's next value into *out (elem bytes; out may be 0). Ready with
 * 0, SYNC_EOVERFLOW (r->lagged values skipped; nothing copied), -EPIPE
 * (closed, nothing left) or -EINVAL (rx not subscribed: reported). */
WEFT_API void sync_bcast_recv_init(sync_bcast_recv_t *r, sync_bcast_rx_t *rx, void *out) {
    sync_wait_init_(&r->fut, sync_bcast_recv_poll_, sync_bcast_recv_drop_, &r->w);
    r->rx = rx;
    r->out = out;
    r->b = rx->b;
    r->lagged = 0;
}

/* rx is gone (tokio drops the Receiver): the channel stops counting it.
 * A recv on rx still waiting is woken and finishes with -EINVAL (with a
 * report): unsubscribe after its recvs are finished or dropped. */
WEFT_API void sync_bcast_unsubscribe(sync_bcast_rx_t *rx) {
    sync_bcast_t *b = rx->b;
    future_link_t *l, *next;
    if (!b) {
        FUTURE_MISUSE("sync_bcast_unsubscribe of a receiver that is not "
                      "subscribed (twice?)");
        return;
    }
    future_owned_unlink(&rx->own); /* its frame need not any more */
    b->receivers--;
    rx->b = 0;
    for (l = b->q.head; l; l = next) { /* its own recvs: O(waiting), rare */
        sync_bcast_recv_t *r = FUTURE_CONTAINER_OF(l, sync_bcast_recv_t, w) /* link: w's first */;
        next = l->next;
        if (r->rx != rx) continue;
        sync_waitq_unlink_(&b->q, &r->w);
        r->w.state = SYNC_WOKEN_;
        future_wake(r->w.waker);
    }
}

/* The frame that owns rx ends (finished, dropped, its task aborted): rx
 * is unsubscribed, as a Rust Receiver is dropped with its scope. */
WEFT_API void sync_bcast_owner_gone_(future_owned_t *n) {
    sync_bcast_rx_t *rx = FUTURE_CONTAINER_OF(n, sync_bcast_rx_t, own);
    if (rx->b) sync_bcast_unsubscribe(rx);
}

WEFT_API void sync_bcast_subscribe_owned_(sync_bcast_rx_t *rx, sync_bcast_t *b, future_t *owner) {
    if (future_owns_(owner, &rx->own)) { /* subscribed again: the old one goes */
        future_owned_unlink(&rx->own);
        sync_bcast_owner_gone_(&rx->own);
    }
    sync_bcast_subscribe(rx, b);
    future_own(owner, &rx->own, sync_bcast_owner_gone_);
}

/* Inside an async body: sync_bcast_subscribe, and rx is this frame's:
 * unsubscribed when the frame ends, is dropped or its task is aborted,
 * unless unsubscribed before (tokio drops a Receiver with its scope).
 * Without it, a receiver in a dropped frame stays counted: the channel
 * keeps values for a reader that is gone. A receiver handed to a caller
 * takes the plain sync_bcast_subscribe. */
#define SYNC_BCAST_SUBSCRIBE(rx, b) sync_bcast_subscribe_owned_((rx), (b), FUTURE_SELF_)

/* ---- watch -------------------------------------------------------------- */

/* A watch channel (tokio's watch): one value, in caller memory, that the
 * sender replaces and any number of receivers look at; each receiver only
 * learns that it changed, and reads the latest (values in between are
 * never seen: it is for state, config, "the current X", not a queue). A
 * version counter counts the sends; each receiver (a sync_watch_rx_t of
 * yours) remembers the version it has seen. sync_watch_changed_t waits
 * until the value is newer than that, and marks it seen. */
typedef struct sync_watch {
    void *slot;       /* the value: size bytes, the caller's */
    size_t size;
    uint64_t version; /* sends so far (the value's version) */
    size_t receivers; /* subscribed receivers */
    int closed;
    sync_waitq_t q;   /* changed() futures waiting */
} sync_watch_t;

/* A receiver: caller memory, made by sync_watch_subscribe. */
typedef struct sync_watch_rx {
    sync_watch_t *w; /* 0: not subscribed */
    uint64_t seen;   /* the version it has seen */
    future_owned_t own; /* SYNC_WATCH_SUBSCRIBE: in its frame's list (the
                           frame's end unsubscribes), else unlinked */
} sync_watch_rx_t;

/* A watch whose value (size bytes) lives in slot, which already holds the
 * first value (version 0). size 0 (and slot 0) makes a watch of a version
 * counter alone. */
WEFT_API void sync_watch_init(sync_watch_t *w, void *slot, size_t size) {
    w->slot = slot;
    w->size = size;
    w->version = 0;
    w->receivers = 0;
    w->closed = 0;
    sync_waitq_init_(&w->q);
    if (size && !slot) {
        FUTURE_MISUSE("sync_watch_init: a value of size bytes needs a slot to live "
                      "in (or size 0 for a watch of versions alone)");
        w->size = 0;
    }
}

WEFT_API size_t sync_watch_receiver_count(const sync_watch_t *w) { return w->receivers; }
WEFT_API int sync_watch_is_closed(const sync_watch_t *w) { return w->closed; }

/* Subscribe rx: the current value counts as seen (tokio's subscribe). */
WEFT_API void sync_watch_subscribe(sync_watch_rx_t *rx, sync_watch_t *w) {
    rx->w = w;
    rx->seen = w->version;
    rx->own.next = 0;
    rx->own.pprev = 0;
    w->receivers++;
}

/* The value changed: a new version; every waiting changed() is woken. */
WEFT_API void sync_watch_bump_(sync_watch_t *w) {
    w->version++;
    sync_waitq_wake_all_(&w->q, SYNC_WOKEN_);
}

WEFT_API int sync_watch_closed_misuse_(const char *msg) {
    FUTURE_MISUSE(msg);
    return FUTURE_EPIPE;
}

/* Replace the value with a copy of *val (size bytes; val may be 0 for size
 * 0) and wake every receiver waiting: the number of receivers (0: none;
 * the value is replaced all the same, as tokio's send_replace), or -EPIPE
 * once closed / -EINVAL with no value (misuses, reported; the value is
 * left as it was). */
WEFT_API int sync_watch_send(sync_watch_t *w, const void *val) {
    if (w->closed)
        return sync_watch_closed_misuse_("sync_watch_send on a closed watch (closing "
                                         "it is the sender's last act)");
    if (w->size && !val) {
        FUTURE_MISUSE("sync_watch_send: no value to copy (val is 0, the watch "
                      "holds size bytes)");
        return FUTURE_EINVAL;
    }
    if (w->size) sync_copy_(w->slot, val, w->size);
    sync_watch_bump_(w);
    return sync_count_int_(w->receivers);
}

/* Modify the value in place (tokio's send_if_modified): fn(slot, arg)
 * changes it and returns nonzero if it did; only then is it a new version
 * and the receivers woken. 1 (modified), 0 (not), or -EPIPE once closed
 * (a misuse, reported; fn is not called). */
typedef int (*sync_watch_modify_fn)(void *value, void *arg);

WEFT_API int sync_watch_send_if_modified(sync_watch_t *w, sync_watch_modify_fn fn, void *arg) {
    if (w->closed)
        return sync_watch_closed_misuse_("sync_watch_send_if_modified on a closed watch");
    if (!fn(w->slot, arg)) return 0;
    sync_watch_bump_(w);
    return 1;
}

/* Close (the sender is gone): a changed() with nothing new finishes with
 * -EPIPE, waiting ones at once. The last value stays readable. */
WEFT_API void sync_watch_close(sync_watch_t *w) {
    w->closed = 1;
    sync_waitq_wake_all_(&w->q, SYNC_WOKEN_);
}

WEFT_API int sync_watch_rx_ok_(const sync_watch_rx_t *rx, const char *msg) {
    if (rx->w) return 1;
    FUTURE_MISUSE(msg);
    return 0;
}

/* The current value (the slot; tokio's borrow), not marked seen. Valid
 * until the next send: read it before you AWAIT. 0 if rx is not subscribed
 * (a misuse, reported). */
WEFT_API const void *sync_watch_borrow(const sync_watch_rx_t *rx) {
    if (!sync_watch_rx_ok_(rx, "sync_watch_borrow on a receiver that is not subscribed"))
        return 0;
    return rx->w->slot;
}

/* The current value, marked seen (tokio's borrow_and_update). */
WEFT_API const void *sync_watch_borrow_and_update(sync_watch_rx_t *rx) {
    if (!sync_watch_rx_ok_(rx, "sync_watch_borrow_and_update on a receiver that is "
                               "not subscribed"))
        return 0;
    rx->seen = rx->w->version;
    return rx->w->slot;
}

/* Copy the current value to *out (size bytes) and mark it seen: 0, or
 * -EINVAL if rx is not subscribed (a misuse, reported). */
WEFT_API int sync_watch_copy(sync_watch_rx_t *rx, void *out) {
    const void *v = sync_watch_borrow_and_update(rx);
    if (!v && !rx->w) return FUTURE_EINVAL;
    if (rx->w->size) sync_copy_(out, v, rx->w->size);
    return 0;
}

/* Has the value changed since rx saw it? 1, 0, or -EPIPE: closed and
 * nothing new (a change sent before the close still counts: 1). -EINVAL
 * if rx is not subscribed (a misuse, reported). Marks nothing. */
WEFT_API int sync_watch_has_changed(const sync_watch_rx_t *rx) {
    if (!sync_watch_rx_ok_(rx, "sync_watch_has_changed on a receiver that is not "
                               "subscribed"))
        return FUTURE_EINVAL;
    if (rx->seen != rx->w->version) return 1;
    return rx->w->closed ? FUTURE_EPIPE : 0;
}

/* -- changed: waits for a version rx has not seen -- */
typedef struct sync_watch_changed {
    future_t fut;
    sync_watch_rx_t *rx;
    sync_watch_t *w; /* the watch it waits on (rx->w when it queued) */
    sync_waiter_t wt;
} sync_watch_changed_t;

/* "watch changed (2 of 3 receivers waiting)" */
WEFT_API void sync_watch_changed_describe_(const future_t *f, future_fmt_t *o) {
    const sync_watch_t *w = ((const sync_watch_changed_t *)(const void *)f)->w;
    future_fmt_str(o, "(");
    future_fmt_u64(o, sync_waitq_len_(&w->q));
    future_fmt_str(o, " of ");
    sync_fmt_n_(o, w->receivers, " receiver waiting)", " receivers waiting)");
}

WEFT_API coro_poll_t sync_watch_changed_poll_(future_t *self, future_cx_t *cx) {
    sync_watch_changed_t *c = (sync_watch_changed_t *)(void *)self;
    sync_watch_rx_t *rx = c->rx;
    /* queued: nothing new (a new version, the close and unsubscribe take
     * every waiter off the queue, woken) */
    if (c->wt.state == SYNC_QUEUED_) return sync_waiter_pending_(&c->wt, cx);
    c->wt.state = SYNC_IDLE_; /* woken: look again */
    if (!sync_watch_rx_ok_(rx, "sync_watch_changed on a receiver that is not subscribed "
                               "(never, or unsubscribed while it waited)"))
        return future_finish(self, FUTURE_EINVAL);
    if (rx->seen != rx->w->version || rx->w->closed) {
        if (!future_coop_spend(cx)) return CORO_PENDING;
        if (rx->seen == rx->w->version) return future_finish(self, FUTURE_EPIPE);
        rx->seen = rx->w->version; /* marked seen only now: cancel safe */
        return future_finish(self, 0);
    }
    c->w = rx->w;
    sync_waitq_push_(&c->w->q, &c->wt, cx->waker);
    {
        static const future_kind_t kind = {FUTURE_KIND_TAG_, "watch changed",
                                           sync_watch_changed_describe_};
        future_set_kind(self, &kind);
    }
    return CORO_PENDING;
}

WEFT_API void sync_watch_changed_drop_(future_t *self) {
    sync_watch_changed_t *c = (sync_watch_changed_t *)(void *)self;
    if (c->wt.state == SYNC_QUEUED_) sync_waitq_unlink_(&c->w->q, &c->wt);
    c->wt.state = SYNC_IDLE_;
}

/* Wait until the value is newer than the version rx has seen (ready at
 * once if it already is), and mark it seen (tokio's changed): 0, then read
 * it (sync_watch_borrow / _copy) before you AWAIT again; -EPIPE once the
 * watch is closed with nothing new; -EINVAL if rx is not subscribed
 * (reported). Several sends while you were away make one change. */
WEFT_API void sync_watch_changed_init(sync_watch_changed_t *c, sync_watch_rx_t *rx) {
    sync_wait_init_(&c->fut, sync_watch_changed_poll_, sync_watch_changed_drop_, &c->wt);
    c->rx = rx;
    c->w = rx->w;
}

/* rx is gone: the watch stops counting it. A changed() on rx still waiting
 * is woken and finishes with -EINVAL (with a report). */
WEFT_API void sync_watch_unsubscribe(sync_watch_rx_t *rx) {
    sync_watch_t *w = rx->w;
    future_link_t *l, *next;
    if (!w) {
        FUTURE_MISUSE("sync_watch_unsubscribe of a receiver that is not subscribed "
                      "(twice?)");
        return;
    }
    future_owned_unlink(&rx->own); /* its frame need not any more */
    w->receivers--;
    rx->w = 0;
    for (l = w->q.head; l; l = next) { /* its own waits: O(waiting), rare */
        sync_watch_changed_t *c = FUTURE_CONTAINER_OF(l, sync_watch_changed_t, wt);
        next = l->next;
        if (c->rx != rx) continue;
        sync_waitq_unlink_(&w->q, &c->wt);
        c->wt.state = SYNC_WOKEN_;
        future_wake(c->wt.waker);
    }
}

/* The frame that owns rx ends: rx is unsubscribed (as for broadcast). */
WEFT_API void sync_watch_owner_gone_(future_owned_t *n) {
    sync_watch_rx_t *rx = FUTURE_CONTAINER_OF(n, sync_watch_rx_t, own);
    if (rx->w) sync_watch_unsubscribe(rx);
}

WEFT_API void sync_watch_subscribe_owned_(sync_watch_rx_t *rx, sync_watch_t *w, future_t *owner) {
    if (future_owns_(owner, &rx->own)) { /* subscribed again: the old one goes */
        future_owned_unlink(&rx->own);
        sync_watch_owner_gone_(&rx->own);
    }
    sync_watch_subscribe(rx, w);
    future_own(owner, &rx->own, sync_watch_owner_gone_);
}

/* Inside an async body: sync_watch_subscribe, and rx is this frame's:
 * unsubscribed when the frame ends, is dropped or its task is aborted,
 * unless unsubscribed before. A receiver handed to a caller takes the
 * plain sync_watch_subscribe. */
#define SYNC_WATCH_SUBSCRIBE(rx, w) sync_watch_subscribe_owned_((rx), (w), FUTURE_SELF_)

/* ---- semaphore ---------------------------------------------------------- */

typedef struct sync_sem {
    size_t permits; /* free permits */
    size_t held;    /* permits acquired and not released (descriptions:
                       "0 of 3 free") */
    sync_waitq_t q; /* acquirers waiting, FIFO */
} sync_sem_t;

WEFT_API void sync_sem_init(sync_sem_t *s, size_t permits) {
    s->permits = permits;
    s->held = 0;
    sync_waitq_init_(&s->q);
}

WEFT_API size_t sync_sem_available(const sync_sem_t *s) { return s->permits; }

/* Hand free permits to waiters, first come first served: the first one
 * waits until it can have all it asked for, and those behind it wait too. */
WEFT_API void sync_sem_grant_(sync_sem_t *s) {
    while (s->q.head && s->permits >= sync_waitq_first_(&s->q)->need) {
        s->permits -= sync_waitq_first_(&s->q)->need;
        s->held += sync_waitq_first_(&s->q)->need;
        sync_waitq_wake_one_(&s->q, SYNC_GRANTED_);
    }
}

/* Give n permits back. */
WEFT_API void sync_sem_release(sync_sem_t *s, size_t n) {
    if (n > (size_t)-1 - s->permits) {
        FUTURE_MISUSE("sync_sem_release: the permit count would overflow size_t "
                      "(more released than were acquired?)");
        n = (size_t)-1 - s->permits; /* saturate rather than wrap to few */
    }
    s->permits += n;
    s->held -= n < s->held ? n : s->held; /* releasing more adds permits */
    if (s->q.head) sync_sem_grant_(s);
}

/* Take n permits now if they are free and nobody waits: 0, else -EAGAIN. */
WEFT_API int sync_sem_try_acquire(sync_sem_t *s, size_t n) {
    if (s->q.head || s->permits < n) return FUTURE_EAGAIN;
    s->permits -= n;
    s->held += n;
    return 0;
}

typedef struct sync_sem_acquire {
    future_t fut;
    sync_sem_t *sem;
    sync_waiter_t w; /* w.need: permits wanted */
} sync_sem_acquire_t;

/* "semaphore acquire 2 (0 of 3 free)" */
WEFT_API void sync_sem_acquire_describe_(const future_t *f, future_fmt_t *o) {
    const sync_sem_acquire_t *a = (const sync_sem_acquire_t *)(const void *)f;
    future_fmt_u64(o, a->w.need);
    future_fmt_str(o, " (");
    future_fmt_u64(o, a->sem->permits);
    future_fmt_str(o, " of ");
    future_fmt_u64(o, a->sem->permits + a->sem->held);
    future_fmt_str(o, " free)");
}

/* One step of an acquire, without finishing the future: CORO_READY once
 * the permits are ours (one unit of the budget spent), else CORO_PENDING
 * (queued, or the budget said "not now"). Every future that waits on a
 * semaphore (the acquire, the mutex and rwlock locks, the once cell's
 * turn) takes its permits through here and drops through
 * sync_sem_acquire_drop_, so the queue, the hand-over of permits and the
 * drop rules are written once. */
WEFT_API coro_poll_t sync_sem_take_(sync_sem_acquire_t *a, future_cx_t *cx) {
    sync_sem_t *s = a->sem;
    switch (a->w.state) {
    case SYNC_IDLE_:
        if (s->q.head || s->permits < a->w.need) {
            sync_waitq_push_(&s->q, &a->w, cx->waker);
            return CORO_PENDING;
        }
        if (!future_coop_spend(cx)) return CORO_PENDING;
        s->permits -= a->w.need;
        s->held += a->w.need;
        return CORO_READY;
    case SYNC_QUEUED_:
        return sync_waiter_pending_(&a->w, cx);
    default: /* granted: the permits are ours */
        if (!future_coop_spend(cx)) return CORO_PENDING;
        a->w.state = SYNC_IDLE_;
        return CORO_READY;
    }
}

/* sync_sem_take_ for a future built on an acquire: while it waits it says
 * what it is (kind). */
WEFT_API coro_poll_t sync_sem_take_kind_(future_t *self, future_cx_t *cx,
                                         const future_kind_t *kind) {
    if (sync_sem_take_((sync_sem_acquire_t *)(void *)self, cx) == CORO_READY) return CORO_READY;
    future_set_kind(self, kind);
    return CORO_PENDING;
}

WEFT_API coro_poll_t sync_sem_acquire_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "semaphore acquire",
                                       sync_sem_acquire_describe_};
    if (sync_sem_take_kind_(self, cx, &kind) == CORO_PENDING) return CORO_PENDING;
    return future_finish(self, 0);
}

WEFT_API void sync_sem_acquire_drop_(future_t *self) {
    sync_sem_acquire_t *a = (sync_sem_acquire_t *)(void *)self;
    sync_sem_t *s = a->sem;
    if (a->w.state == SYNC_QUEUED_) {
        int was_head = s->q.head == &a->w.link;
        sync_waitq_unlink_(&s->q, &a->w);
        if (was_head) sync_sem_grant_(s); /* we may have held the others up */
    } else if (a->w.state == SYNC_GRANTED_) {
        a->w.state = SYNC_IDLE_;
        sync_sem_release(s, a->w.need); /* pass the permits on */
    }
    a->w.state = SYNC_IDLE_;
}

/* Wait for n permits (all at once). Release them with sync_sem_release.
 * While it waits at the head of the queue, those behind it wait too (so a
 * large request is not starved by small ones): never ask for more permits
 * than the semaphore will ever have. */
WEFT_API void sync_sem_acquire_init(sync_sem_acquire_t *a, sync_sem_t *s, size_t n) {
    sync_wait_init_(&a->fut, sync_sem_acquire_poll_, sync_sem_acquire_drop_, &a->w);
    a->sem = s;
    a->w.need = n;
}

/* ---- mutex -------------------------------------------------------------- */

/* A fair async mutex: a semaphore of one permit. The lock may be held
 * across AWAIT (that is what it is for: a pthread mutex held across an
 * await blocks the whole executor). On unlock the lock goes straight to the
 * first waiter. It guards nothing by itself: keep the data beside it. */
typedef struct sync_mutex {
    sync_sem_t sem;
    const void *holder; /* the sync_mutex_lock_t that holds it, or 0 */
    future_waker_t *holder_waker; /* the waker of the task that took it (0:
                                     try_lock): "held by task "writer"" */
} sync_mutex_t;

/* A lock future: it waits for the lock, and is then the guard that holds it
 * (what Rust calls the MutexGuard): unlock through it. */
typedef struct sync_mutex_lock {
#ifdef FUTURE_HAVE_ALIAS_
    FUTURE_EXT_ union {
        sync_sem_acquire_t acq; /* future_t first */
        future_t fut;           /* the same header, for FUTURE_OF */
    };
#else
    sync_sem_acquire_t acq;
#endif
    sync_mutex_t *m;
    future_owned_t own; /* SYNC_MUTEX_LOCK_INIT: in its frame's list (the
                           frame's end unlocks), else unlinked */
} sync_mutex_lock_t;

WEFT_API void sync_mutex_init(sync_mutex_t *m) {
    sync_sem_init(&m->sem, 1);
    m->holder = 0;
    m->holder_waker = 0;
}

/* "mutex lock (held by task "writer", 1 waiting)": the holder is named when
 * the executor knows the task behind its waker. Between an unlock and the
 * first waiter's next poll the lock is "being handed over". */
WEFT_API void sync_mutex_lock_describe_(const future_t *f, future_fmt_t *o) {
    const sync_mutex_t *m = ((const sync_mutex_lock_t *)(const void *)f)->m;
    if (!sync_fmt_holder_(o, "(held by task \"", m->holder ? m->holder_waker : 0))
        future_fmt_str(o, m->holder ? "(held, " : "(being handed over, ");
    future_fmt_u64(o, sync_waitq_len_(&m->sem.q));
    future_fmt_str(o, " waiting)");
}

WEFT_API coro_poll_t sync_mutex_lock_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "mutex lock",
                                       sync_mutex_lock_describe_};
    sync_mutex_lock_t *l = (sync_mutex_lock_t *)(void *)self;
    if (sync_sem_take_kind_(self, cx, &kind) == CORO_PENDING) return CORO_PENDING;
    l->m->holder = l;
    l->m->holder_waker = cx->waker;
    return future_finish(self, 0);
}

/* Wait for the lock; once the future is ready, l holds it. */
WEFT_API void sync_mutex_lock_init(sync_mutex_lock_t *l, sync_mutex_t *m) {
    sync_sem_acquire_init(&l->acq, &m->sem, 1);
    l->acq.fut.poll = sync_mutex_lock_poll_;
    l->m = m;
    l->own.next = 0;
    l->own.pprev = 0;
    l->own.drop = 0;
}

WEFT_API int sync_mutex_unlock(sync_mutex_lock_t *l);

/* The frame that owns l ends (finished, dropped, its task aborted): a lock
 * l still holds goes, as a Rust guard's does when it is dropped. */
WEFT_API void sync_mutex_owner_gone_(future_owned_t *n) {
    sync_mutex_lock_t *l = FUTURE_CONTAINER_OF(n, sync_mutex_lock_t, own);
    if (l->m->holder == l) (void)sync_mutex_unlock(l);
}

WEFT_API void sync_mutex_lock_init_owned_(sync_mutex_lock_t *l, sync_mutex_t *m,
                                          future_t *owner) {
    if (future_owns_(owner, &l->own)) { /* made again: the old one goes first */
        future_owned_unlink(&l->own);
        sync_mutex_owner_gone_(&l->own);
    }
    sync_mutex_lock_init(l, m);
    future_own(owner, &l->own, sync_mutex_owner_gone_);
}

/* Inside an async body: sync_mutex_lock_init, and the lock, once held, is
 * this frame's: unlocked when the frame ends, is dropped (a SELECT lost, a
 * timeout) or its task is aborted, unless unlocked before (tokio's
 * MutexGuard, dropped with its scope). A lock that must outlive the frame
 * (handed to a caller) takes the plain init. */
#define SYNC_MUTEX_LOCK_INIT(l, m) sync_mutex_lock_init_owned_((l), (m), FUTURE_SELF_)

/* Take the lock now through l (set up with sync_mutex_lock_init) if it is
 * free and nobody waits: 0 (l holds it, and is finished as if awaited), or
 * -EAGAIN. */
WEFT_API int sync_mutex_try_lock(sync_mutex_lock_t *l) {
    int rc = sync_sem_try_acquire(&l->m->sem, 1);
    if (rc == 0) {
        l->m->holder = l;
        l->m->holder_waker = 0; /* no task known */
        (void)future_finish(&l->acq.fut, 0);
    }
    return rc;
}

WEFT_API int sync_mutex_is_locked(const sync_mutex_t *m) { return m->sem.permits == 0; }

/* Let go of the lock that l holds (the first waiter gets it). 0, or -EPERM
 * when l does not hold it: the mutex is unlocked, or held by another lock
 * future (two holders would follow); FUTURE_MISUSE reports it, and the
 * mutex is left as it was. */
WEFT_API int sync_mutex_unlock(sync_mutex_lock_t *l) {
    sync_mutex_t *m = l->m;
    if (m->holder != l) {
        FUTURE_MISUSE(m->sem.permits ? "sync_mutex_unlock of a mutex that is not locked"
                                     : "sync_mutex_unlock through a lock that does not "
                                       "hold the mutex: unlock through the "
                                       "sync_mutex_lock_t that acquired it");
        return FUTURE_EPERM;
    }
    m->holder = 0;
    m->holder_waker = 0;
    future_owned_unlink(&l->own); /* its frame has nothing to undo now */
    sync_sem_release(&m->sem, 1);
    return 0;
}

/* ---- rwlock ------------------------------------------------------------- */

/* A fair async reader-writer lock (tokio's RwLock): many readers at once,
 * or one writer. It is a semaphore of max_readers permits: a read lock
 * takes one, a write lock takes them all, so the semaphore's FIFO queue
 * gives tokio's rules: a writer that waits holds up every lock asked for
 * after it (a stream of readers cannot starve a writer), and when the
 * writer unlocks, the readers queued behind it up to the next writer are
 * let in together. Like the mutex it may be held across AWAIT and guards
 * nothing by itself. */
typedef struct sync_rwlock {
    sync_sem_t sem;     /* max permits: a read takes 1, a write takes max */
    size_t max;         /* max_readers */
    size_t readers;     /* read locks held (for descriptions) */
    const void *writer; /* the sync_rwlock_lock_t that write-locked it, or 0 */
    future_waker_t *writer_waker; /* its task's waker (0: try_write) */
} sync_rwlock_t;

/* sync_rwlock_init's cap on readers at once: an eighth of size_t's range
 * (tokio's is u32::MAX >> 3), so a write's permits and a release of them
 * never overflow. */
#define SYNC_RWLOCK_MAX_READERS ((size_t)-1 >> 3)

/* A lock future, read or write (set up by sync_rwlock_read_init or
 * sync_rwlock_write_init): it waits for the lock, and is then the guard
 * that holds it: unlock through it. */
typedef struct sync_rwlock_lock {
#ifdef FUTURE_HAVE_ALIAS_
    FUTURE_EXT_ union {
        sync_sem_acquire_t acq; /* future_t first; acq.w.need: 1 or max */
        future_t fut;           /* the same header, for FUTURE_OF */
    };
#else
    sync_sem_acquire_t acq;
#endif
    sync_rwlock_t *rw;
    unsigned char write; /* a write lock */
    unsigned char held;  /* it holds the lock (ready, or a try_ that took it) */
    future_owned_t own;  /* SYNC_RWLOCK_*_INIT: in its frame's list */
} sync_rwlock_lock_t;

/* A rwlock that lets up to max_readers read at once (>= 1; 1 makes it a
 * mutex). */
WEFT_API void sync_rwlock_init_max(sync_rwlock_t *rw, size_t max_readers) {
    if (max_readers == 0) {
        FUTURE_MISUSE("sync_rwlock_init_max: max_readers must be >= 1 (a write "
                      "lock takes max_readers permits: 0 would never exclude)");
        max_readers = 1;
    }
    sync_sem_init(&rw->sem, max_readers);
    rw->max = max_readers;
    rw->readers = 0;
    rw->writer = 0;
    rw->writer_waker = 0;
}

WEFT_API void sync_rwlock_init(sync_rwlock_t *rw) {
    sync_rwlock_init_max(rw, SYNC_RWLOCK_MAX_READERS);
}

/* "rwlock read (write-locked by task "w", 2 waiting)", "rwlock write (3
 * readers, 1 waiting)"; "being handed over" between an unlock and the
 * first waiters' next poll. */
WEFT_API void sync_rwlock_lock_describe_(const future_t *f, future_fmt_t *o) {
    const sync_rwlock_t *rw = ((const sync_rwlock_lock_t *)(const void *)f)->rw;
    if (rw->writer) {
        if (!sync_fmt_holder_(o, "(write-locked by task \"", rw->writer_waker))
            future_fmt_str(o, "(write-locked, ");
    } else if (rw->readers) {
        future_fmt_str(o, "(");
        sync_fmt_n_(o, rw->readers, " reader, ", " readers, ");
    } else {
        future_fmt_str(o, "(being handed over, ");
    }
    future_fmt_u64(o, sync_waitq_len_(&rw->sem.q));
    future_fmt_str(o, " waiting)");
}

/* l has the lock now: note it as its holder. */
WEFT_API void sync_rwlock_hold_(sync_rwlock_lock_t *l, future_waker_t *waker) {
    l->held = 1;
    if (l->write) {
        l->rw->writer = l;
        l->rw->writer_waker = waker;
    } else {
        l->rw->readers++;
    }
}

WEFT_API coro_poll_t sync_rwlock_lock_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t read_kind = {FUTURE_KIND_TAG_, "rwlock read",
                                            sync_rwlock_lock_describe_};
    static const future_kind_t write_kind = {FUTURE_KIND_TAG_, "rwlock write",
                                             sync_rwlock_lock_describe_};
    sync_rwlock_lock_t *l = (sync_rwlock_lock_t *)(void *)self;
    if (sync_sem_take_kind_(self, cx, l->write ? &write_kind : &read_kind) == CORO_PENDING)
        return CORO_PENDING;
    sync_rwlock_hold_(l, cx->waker);
    return future_finish(self, 0);
}

WEFT_API void sync_rwlock_lock_init_(sync_rwlock_lock_t *l, sync_rwlock_t *rw, int write) {
    sync_sem_acquire_init(&l->acq, &rw->sem, write ? rw->max : 1);
    l->acq.fut.poll = sync_rwlock_lock_poll_;
    l->rw = rw;
    l->write = (unsigned char)write;
    l->held = 0;
    l->own.next = 0;
    l->own.pprev = 0;
    l->own.drop = 0;
}

/* Wait for a read lock (shared); once the future is ready, l holds it. */
WEFT_API void sync_rwlock_read_init(sync_rwlock_lock_t *l, sync_rwlock_t *rw) {
    sync_rwlock_lock_init_(l, rw, 0);
}

/* Wait for the write lock (exclusive); once ready, l holds it. */
WEFT_API void sync_rwlock_write_init(sync_rwlock_lock_t *l, sync_rwlock_t *rw) {
    sync_rwlock_lock_init_(l, rw, 1);
}

WEFT_API int sync_rwlock_unlock(sync_rwlock_lock_t *l);

/* The frame that owns l ends: a lock l still holds goes (as the mutex's). */
WEFT_API void sync_rwlock_owner_gone_(future_owned_t *n) {
    sync_rwlock_lock_t *l = FUTURE_CONTAINER_OF(n, sync_rwlock_lock_t, own);
    if (l->held) (void)sync_rwlock_unlock(l);
}

WEFT_API void sync_rwlock_lock_init_owned_(sync_rwlock_lock_t *l, sync_rwlock_t *rw, int write,
                                           future_t *owner) {
    if (future_owns_(owner, &l->own)) { /* made again: the old one goes first */
        future_owned_unlink(&l->own);
        sync_rwlock_owner_gone_(&l->own);
    }
    sync_rwlock_lock_init_(l, rw, write);
    future_own(owner, &l->own, sync_rwlock_owner_gone_);
}

/* Inside an async body: a read or write lock that, once held, is this
 * frame's: unlocked when the frame ends, is dropped or its task is
 * aborted, unless unlocked before (as SYNC_MUTEX_LOCK_INIT). */
#define SYNC_RWLOCK_READ_INIT(l, rw) sync_rwlock_lock_init_owned_((l), (rw), 0, FUTURE_SELF_)
#define SYNC_RWLOCK_WRITE_INIT(l, rw) sync_rwlock_lock_init_owned_((l), (rw), 1, FUTURE_SELF_)

WEFT_API int sync_rwlock_try_(sync_rwlock_lock_t *l, sync_rwlock_t *rw, int write) {
    int rc;
    sync_rwlock_lock_init_(l, rw, write);
    rc = sync_sem_try_acquire(&rw->sem, l->acq.w.need);
    if (rc == 0) {
        sync_rwlock_hold_(l, 0); /* no task known */
        (void)future_finish(&l->acq.fut, 0);
    }
    return rc;
}

/* Take a read lock now through l (set up here as by sync_rwlock_read_init):
 * 0 (l holds it, and is finished as if awaited), or -EAGAIN: write-locked,
 * max_readers reached, or locks are waiting (they come first; a waiting
 * writer keeps new readers out). After -EAGAIN, l may be awaited. l is
 * set up afresh: never hand it a lock future that waits or holds. */
WEFT_API int sync_rwlock_try_read(sync_rwlock_lock_t *l, sync_rwlock_t *rw) {
    return sync_rwlock_try_(l, rw, 0);
}

/* Take the write lock now through l: 0, or -EAGAIN (locked, or locks are
 * waiting). After -EAGAIN, l may be awaited. */
WEFT_API int sync_rwlock_try_write(sync_rwlock_lock_t *l, sync_rwlock_t *rw) {
    return sync_rwlock_try_(l, rw, 1);
}

/* Let go of the lock l holds, read or write (the next waiters get it). 0,
 * or -EPERM when l does not hold it (never got it, or unlocked already):
 * FUTURE_MISUSE reports it and the rwlock is left as it was. */
WEFT_API int sync_rwlock_unlock(sync_rwlock_lock_t *l) {
    sync_rwlock_t *rw = l->rw;
    if (!l->held) {
        FUTURE_MISUSE("sync_rwlock_unlock through a lock that does not hold the "
                      "rwlock (not acquired yet, or unlocked already)");
        return FUTURE_EPERM;
    }
    l->held = 0;
    if (l->write) {
        rw->writer = 0;
        rw->writer_waker = 0;
    } else {
        rw->readers--;
    }
    future_owned_unlink(&l->own); /* its frame has nothing to undo now */
    sync_sem_release(&rw->sem, l->acq.w.need);
    return 0;
}

/* ---- barrier ------------------------------------------------------------ */

/* n tasks meet (tokio's Barrier): each waits until all n have arrived,
 * then all go on together; the last to arrive is the leader (exactly one
 * per round). It is reusable: the next n waits make the next round.
 * A wait dropped before its round is complete is un-counted: the round
 * then needs another arrival. (tokio counts it anyway, so a cancelled
 * waiter releases the others early with one task missing, and its docs
 * call wait not cancel safe; here a round is n waits that are all still
 * there.) */
typedef struct sync_barrier {
    size_t n;       /* parties per round */
    size_t arrived; /* waiting in the current round */
    sync_waitq_t q; /* the round's waiters, in arrival order */
} sync_barrier_t;

/* A barrier for n tasks (n == 0 acts as 1, as in tokio: every wait is a
 * leader and ready at once). */
WEFT_API void sync_barrier_init(sync_barrier_t *b, size_t n) {
    b->n = n ? n : 1;
    b->arrived = 0;
    sync_waitq_init_(&b->q);
}

typedef struct sync_barrier_wait {
    future_t fut;
    sync_barrier_t *b;
    sync_waiter_t w;
    int leader; /* once ready: 1 for the round's leader (the last to arrive) */
} sync_barrier_wait_t;

/* "barrier wait (2 of 3 arrived)" */
WEFT_API void sync_barrier_wait_describe_(const future_t *f, future_fmt_t *o) {
    const sync_barrier_t *b = ((const sync_barrier_wait_t *)(const void *)f)->b;
    future_fmt_str(o, "(");
    future_fmt_u64(o, b->arrived);
    future_fmt_str(o, " of ");
    future_fmt_u64(o, b->n);
    future_fmt_str(o, " arrived)");
}

WEFT_API coro_poll_t sync_barrier_wait_poll_(future_t *self, future_cx_t *cx) {
    sync_barrier_wait_t *bw = (sync_barrier_wait_t *)(void *)self;
    sync_barrier_t *b = bw->b;
    switch (bw->w.state) {
    case SYNC_IDLE_:
        if (b->arrived + 1 < b->n) {
            b->arrived++;
            sync_waitq_push_(&b->q, &bw->w, cx->waker);
            {
                static const future_kind_t kind = {FUTURE_KIND_TAG_, "barrier wait",
                                                   sync_barrier_wait_describe_};
                future_set_kind(self, &kind);
            }
            return CORO_PENDING;
        }
        /* the last one: not counted until the budget lets it through */
        if (!future_coop_spend(cx)) return CORO_PENDING;
        b->arrived = 0; /* the next round starts empty */
        sync_waitq_wake_all_(&b->q, SYNC_WOKEN_);
        bw->leader = 1;
        return future_finish(self, 0);
    case SYNC_QUEUED_:
        return sync_waiter_pending_(&bw->w, cx);
    default: /* the round is complete */
        if (!future_coop_spend(cx)) return CORO_PENDING;
        bw->w.state = SYNC_IDLE_;
        return future_finish(self, 0);
    }
}

WEFT_API void sync_barrier_wait_drop_(future_t *self) {
    sync_barrier_wait_t *bw = (sync_barrier_wait_t *)(void *)self;
    if (bw->w.state == SYNC_QUEUED_) { /* it never arrived, after all */
        sync_waitq_unlink_(&bw->b->q, &bw->w);
        bw->b->arrived--;
    }
    bw->w.state = SYNC_IDLE_; /* woken: its round went on, counting it */
}

/* Arrive at the barrier and wait for the round to be complete. Ready with
 * error 0; bw->leader tells the leader. */
WEFT_API void sync_barrier_wait_init(sync_barrier_wait_t *bw, sync_barrier_t *b) {
    sync_wait_init_(&bw->fut, sync_barrier_wait_poll_, sync_barrier_wait_drop_, &bw->w);
    bw->b = b;
    bw->leader = 0;
}

/* ---- once cell ---------------------------------------------------------- */

/* A value set once (tokio's OnceCell), in the caller's slot. The first
 * sync_once_get_or_init to get the turn runs its initialiser (a future of
 * yours that writes the value into the slot and finishes with 0); the
 * others wait for it, in FIFO order. If that initialiser fails (finishes
 * with an error) or is dropped with its get_or_init, the turn goes to the
 * next waiter, which runs its own initialiser. The turn is a semaphore of
 * one permit, so queueing, hand-over and drop are the mutex's. Once set,
 * the value never changes (until sync_once_init again). */
typedef struct sync_once {
    void *slot;  /* size bytes, the caller's */
    size_t size;
    int set;
    sync_sem_t turn; /* 1 permit: the right to initialise */
} sync_once_t;

/* Past the set, the turn's permits: every waiter (and later one) is let
 * through at once, to find the value there. */
#define SYNC_ONCE_OPEN_ ((size_t)-1 / 2)

/* An empty cell whose value (size bytes) will be kept in slot. size 0 (and
 * slot 0) makes a cell that only says "done" (see sync_once_is_set). */
WEFT_API void sync_once_init(sync_once_t *c, void *slot, size_t size) {
    c->slot = slot;
    c->size = size;
    c->set = 0;
    sync_sem_init(&c->turn, 1);
    if (size && !slot) {
        FUTURE_MISUSE("sync_once_init: a value of size bytes needs a slot to live "
                      "in (or size 0 for a cell that holds no value)");
        c->size = 0;
    }
}

WEFT_API int sync_once_is_set(const sync_once_t *c) { return c->set; }

/* The value (the slot), or 0 while the cell is empty. */
WEFT_API void *sync_once_get(const sync_once_t *c) { return c->set ? c->slot : 0; }

/* The value is in the slot: the cell is set; everyone waiting goes on. */
WEFT_API void sync_once_publish_(sync_once_t *c) {
    c->set = 1;
    sync_sem_release(&c->turn, SYNC_ONCE_OPEN_); /* wakes every waiter */
}

/* Set the value now (copied from *val, size bytes; val may be 0 for a
 * cell of size 0): 0, -EBUSY (already set: the value is left as it was) or
 * -EAGAIN (an initialiser is running, or the turn is on its way to a
 * waiter). Never waits. */
WEFT_API int sync_once_set(sync_once_t *c, const void *val) {
    size_t size = c->size;
    if (size && !val) {
        FUTURE_MISUSE("sync_once_set: no value to copy (val is 0, the cell "
                      "holds size bytes)");
        return FUTURE_EINVAL;
    }
    if (c->set) return FUTURE_EBUSY;
    if (sync_sem_try_acquire(&c->turn, 1)) return FUTURE_EAGAIN;
    if (size && val) sync_copy_(c->slot, val, size); /* val again: gcc's
                                   -Wnonnull cannot tell it is set here */
    sync_once_publish_(c);
    return 0;
}

/* get_or_init: wait for the value, or for the turn to make it. */
typedef struct sync_once_get_or_init {
#ifdef FUTURE_HAVE_ALIAS_
    FUTURE_EXT_ union {
        sync_sem_acquire_t acq; /* future_t first: waits for the turn */
        future_t fut;
    };
#else
    sync_sem_acquire_t acq;
#endif
    sync_once_t *c;
    future_t *init; /* the caller's initialiser; polled only on our turn */
    int running;    /* we have the turn and run init (it is our child) */
    int ran;        /* our initialiser was started (it ran, or runs) */
} sync_once_get_or_init_t;

/* "once get_or_init (initialiser running, 2 waiting)" */
WEFT_API void sync_once_get_or_init_describe_(const future_t *f, future_fmt_t *o) {
    const sync_once_get_or_init_t *g = (const sync_once_get_or_init_t *)(const void *)f;
    future_fmt_str(o, g->running ? "(running its initialiser, " : "(initialiser running, ");
    future_fmt_u64(o, sync_waitq_len_(&g->c->turn.q));
    future_fmt_str(o, " waiting)");
}

WEFT_API coro_poll_t sync_once_get_or_init_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "once get_or_init",
                                       sync_once_get_or_init_describe_};
    sync_once_get_or_init_t *g = (sync_once_get_or_init_t *)(void *)self;
    sync_once_t *c = g->c;
    int rc;
    if (!g->running) {
        if (c->set) { /* set before we queued, or we were let through */
            if (!future_coop_spend(cx)) return CORO_PENDING;
            g->acq.w.state = SYNC_IDLE_; /* the open turn is not given back */
            return future_finish(self, 0);
        }
        if (sync_sem_take_kind_(self, cx, &kind) == CORO_PENDING) return CORO_PENDING;
        if (!g->init) { /* reported at init */
            sync_sem_release(&c->turn, 1);
            return future_finish(self, FUTURE_EINVAL);
        }
        g->running = g->ran = 1; /* the turn is ours: still empty (set needs it) */
    }
    if (future_poll(g->init, cx) == CORO_PENDING) {
        future_adopt_(self, g->init); /* dropped with us */
        future_set_kind(self, &kind);
        return CORO_PENDING;
    }
    self->child = 0;
    g->running = 0;
    rc = future_err(g->init);
    if (rc < 0) {
        sync_sem_release(&c->turn, 1); /* the next waiter tries its own */
        return future_finish(self, rc);
    }
    sync_once_publish_(c);
    return future_finish(self, 0);
}

WEFT_API void sync_once_get_or_init_drop_(future_t *self) {
    sync_once_get_or_init_t *g = (sync_once_get_or_init_t *)(void *)self;
    if (g->running) { /* our initialiser was dropped before us: pass the turn */
        g->running = 0;
        sync_sem_release(&g->c->turn, 1);
    } else if (!g->c->set) {
        sync_sem_acquire_drop_(self); /* unlink, or pass a granted turn on */
    }
    g->acq.w.state = SYNC_IDLE_;
}

/* Get the cell's value, making it with init if the cell is empty and the
 * turn comes to us: ready with 0 once the value is there
 * (sync_once_get(c)), or with init's error if it was ours and it failed
 * (the cell stays empty, the next waiter tries). init: a future of yours,
 * initialised and not started, that writes the value into the slot; it is
 * never polled unless this one gets the turn. Do not wait on the same cell
 * inside init (it would wait for itself). */
WEFT_API void sync_once_get_or_init_init(sync_once_get_or_init_t *g, sync_once_t *c,
                                         future_t *init) {
    sync_sem_acquire_init(&g->acq, &c->turn, 1);
    g->acq.fut.poll = sync_once_get_or_init_poll_;
    g->acq.fut.drop = sync_once_get_or_init_drop_;
    g->c = c;
    g->init = init;
    g->running = g->ran = 0;
    if (!init)
        FUTURE_MISUSE("sync_once_get_or_init_init: no initialiser (give it a future "
                      "that makes the value; it finishes with -EINVAL on its turn)");
}

/* ---- notify ------------------------------------------------------------- */

typedef struct sync_notify {
    sync_waitq_t q;
    unsigned gen; /* counts notify_waiters calls */
    int permit;   /* a notify_one that found nobody waiting */
} sync_notify_t;

WEFT_API void sync_notify_init(sync_notify_t *n) {
    sync_waitq_init_(&n->q);
    n->gen = 0;
    n->permit = 0;
}

/* Wake the first waiter; with none, store one permit (at most one) that the
 * next wait consumes at once. */
WEFT_API void sync_notify_one(sync_notify_t *n) {
    if (!sync_waitq_wake_one_(&n->q, SYNC_GRANTED_)) n->permit = 1;
}

/* Wake every waiter: those queued, and those made (sync_notified_init)
 * since but not yet polled. Stores no permit. */
WEFT_API void sync_notify_waiters(sync_notify_t *n) {
    n->gen++;
    sync_waitq_wake_all_(&n->q, SYNC_WOKEN_);
}

typedef struct sync_notified {
    future_t fut;
    sync_notify_t *n;
    unsigned gen; /* n->gen when made: a notify_waiters since counts */
    sync_waiter_t w;
} sync_notified_t;

/* "notify wait (2 waiting)" */
WEFT_API void sync_notified_describe_(const future_t *f, future_fmt_t *o) {
    future_fmt_str(o, "(");
    future_fmt_u64(o, sync_waitq_len_(&((const sync_notified_t *)(const void *)f)->n->q));
    future_fmt_str(o, " waiting)");
}

WEFT_API coro_poll_t sync_notified_poll_(future_t *self, future_cx_t *cx) {
    sync_notified_t *f = (sync_notified_t *)(void *)self;
    sync_notify_t *n = f->n;
    switch (f->w.state) {
    case SYNC_IDLE_:
        if (f->gen != n->gen) return future_leaf_ready(self, cx, 0);
        if (n->permit) {
            if (!future_coop_spend(cx)) return CORO_PENDING;
            n->permit = 0;
            return future_finish(self, 0);
        }
        sync_waitq_push_(&n->q, &f->w, cx->waker);
        {
            static const future_kind_t kind = {FUTURE_KIND_TAG_, "notify wait",
                                               sync_notified_describe_};
            future_set_kind(self, &kind);
        }
        return CORO_PENDING;
    case SYNC_QUEUED_:
        return sync_waiter_pending_(&f->w, cx);
    default: /* notified */
        if (!future_coop_spend(cx)) return CORO_PENDING;
        f->w.state = SYNC_IDLE_;
        return future_finish(self, 0);
    }
}

WEFT_API void sync_notified_drop_(future_t *self) {
    sync_notified_t *f = (sync_notified_t *)(void *)self;
    if (f->w.state == SYNC_QUEUED_) {
        sync_waitq_unlink_(&f->n->q, &f->w);
    } else if (f->w.state == SYNC_GRANTED_) {
        f->w.state = SYNC_IDLE_;
        sync_notify_one(f->n); /* pass the notify_one on */
    }
    f->w.state = SYNC_IDLE_;
}

/* Wait to be notified (tokio's Notify::notified). */
WEFT_API void sync_notified_init(sync_notified_t *f, sync_notify_t *n) {
    sync_wait_init_(&f->fut, sync_notified_poll_, sync_notified_drop_, &f->w);
    f->n = n;
    f->gen = n->gen;
}

/* ---- cancellation tokens ------------------------------------------------ */

/* A cancellation token (tokio-util's CancellationToken): a sticky "please
 * stop" flag that futures can wait for, in a tree. Cancelling a token
 * cancels every token below it (its children, their children, ...), never
 * the ones above or beside it. A task that should stop when its parent
 * does takes a child of the parent's token, and may cancel its own child
 * to stop just its own helpers.
 *
 * Tokens are caller memory, linked into their parent's list and holding
 * the queue of their waiters, so a token must be dropped (unlinked) before
 * its memory goes, if it has a parent, children or waiters:
 *   - sync_token_drop(&t) by hand, or
 *   - SYNC_TOKEN_CHILD_INIT(&f->tok, parent) (or SYNC_TOKEN_INIT(&f->tok))
 *     inside an async body: the token is then owned by that frame, and
 *     dropped when the frame is dropped (a SELECT lost, an aborted task) or
 *     finishes. A token in a frame's memory should always be made so.
 * A token that is only a root in long-lived memory (main's) needs no drop.
 * Init a token again only after a drop (or before it was ever linked).
 *
 * Cancelling wakes every waiter of every token it cancels, in FIFO order
 * per token; it walks the tree without recursion (a chain of any depth),
 * and skips subtrees already cancelled (they are cancelled all through),
 * so a second cancel costs nothing. Dropping a token (by hand or with its
 * frame): it leaves its parent's list; its children become roots of their
 * own, not cancelled (they keep their state); futures still waiting on it
 * are woken and finish with -EPIPE (the token is gone: it can never be
 * cancelled now; nothing refers to it afterwards). */
typedef struct sync_token {
    struct sync_token *parent; /* 0: a root (or dropped) */
    future_list_t children;    /* its live children, oldest first */
    future_link_t sib;         /* in the parent's children */
    sync_waitq_t q;            /* sync_cancelled_t waiting, FIFO */
    future_owned_t own;        /* in the owning frame's list, or unlinked */
    int cancelled;             /* sticky */
} sync_token_t;

/* A root token, not cancelled. */
WEFT_API void sync_token_init(sync_token_t *t) {
    t->parent = 0;
    future_list_init(&t->children);
    t->sib.next = t->sib.prev = 0;
    sync_waitq_init_(&t->q);
    t->own.next = 0;
    t->own.pprev = 0;
    t->own.drop = 0;
    t->cancelled = 0;
}

/* A child of parent: cancelled when parent is (at once if it already is).
 * Drop it before its memory goes (or make it with SYNC_TOKEN_CHILD_INIT). */
WEFT_API void sync_token_child_init(sync_token_t *c, sync_token_t *parent) {
    sync_token_init(c);
    if (!parent || parent == c) {
        FUTURE_MISUSE("sync_token_child_init: the parent must be another, "
                      "initialised token (sync_token_init makes a root)");
        return;
    }
    c->parent = parent;
    c->cancelled = parent->cancelled;
    future_list_push(&parent->children, &c->sib);
}

WEFT_API int sync_token_is_cancelled(const sync_token_t *t) { return t->cancelled; }

#define SYNC_TOKEN_OF_(l) FUTURE_CONTAINER_OF(l, sync_token_t, sib)

/* The first token from sibling link l on that is not cancelled yet, or 0. */
WEFT_API sync_token_t *sync_token_live_from_(future_link_t *l) {
    for (; l; l = l->next)
        if (!SYNC_TOKEN_OF_(l)->cancelled) return SYNC_TOKEN_OF_(l);
    return 0;
}

/* Cancel t and every token below it that is not cancelled yet, waking
 * their waiters. Sticky: cancelling again does nothing. A depth-first walk
 * through the parent links, without recursion or extra memory. */
WEFT_API void sync_token_cancel(sync_token_t *t) {
    sync_token_t *n = t, *next;
    if (t->cancelled) return; /* and so is everything below it */
    for (;;) {
        n->cancelled = 1;
        sync_waitq_wake_all_(&n->q, SYNC_GRANTED_);
        next = sync_token_live_from_(n->children.head); /* down */
        while (!next && n != t) {                        /* else across, or up */
            next = sync_token_live_from_(n->sib.next);
            if (!next) n = n->parent;
        }
        if (!next) return; /* back at t */
        n = next;
    }
}

/* Unlink t so that its memory may go (see above): out of its parent's list
 * and its owner frame's, its children made roots, its waiters finished with
 * -EPIPE. It stays a usable root token (cancelled or not). Dropping twice
 * does nothing more. */
WEFT_API void sync_token_drop(sync_token_t *t) {
    future_link_t *l;
    future_owned_unlink(&t->own);
    if (t->parent) {
        future_list_unlink(&t->parent->children, &t->sib);
        t->parent = 0;
    }
    while ((l = future_list_pop(&t->children))) SYNC_TOKEN_OF_(l)->parent = 0;
    sync_waitq_wake_all_(&t->q, SYNC_WOKEN_);
}

WEFT_API void sync_token_owner_gone_(future_owned_t *n) {
    sync_token_drop(FUTURE_CONTAINER_OF(n, sync_token_t, own));
}

/* Make t owned by frame owner: dropped (sync_token_drop) when owner is
 * dropped or finishes. The macros below do it for the running frame. */
WEFT_API void sync_token_own(sync_token_t *t, future_t *owner) {
    future_owned_unlink(&t->own);
    future_own(owner, &t->own, sync_token_owner_gone_);
}

/* Made again while owner still owns it (SYNC_TOKEN_INIT in a loop): the
 * old token is dropped first, as the frame would. */
WEFT_API void sync_token_reclaim_(sync_token_t *t, future_t *owner) {
    if (future_owns_(owner, &t->own)) sync_token_drop(t);
}

WEFT_API void sync_token_child_init_owned_(sync_token_t *c, sync_token_t *parent,
                                           future_t *owner) {
    sync_token_reclaim_(c, owner);
    sync_token_child_init(c, parent);
    sync_token_own(c, owner);
}

WEFT_API void sync_token_init_owned_(sync_token_t *t, future_t *owner) {
    sync_token_reclaim_(t, owner);
    sync_token_init(t);
    sync_token_own(t, owner);
}

/* Inside an async body, tokens owned by this frame (dropped when it is
 * dropped or finishes): SYNC_TOKEN_CHILD_INIT(c, parent) makes c a child
 * of parent, SYNC_TOKEN_INIT(t) makes t a root (whose children may live in
 * other frames: they are set free when this one goes). Made again on the
 * same field (in a loop), the old token is dropped first (as
 * sync_token_drop: its children set free, its waiters told). */
#define SYNC_TOKEN_CHILD_INIT(c, parent)                                       \
    sync_token_child_init_owned_((c), (parent), FUTURE_SELF_)
#define SYNC_TOKEN_INIT(t) sync_token_init_owned_((t), FUTURE_SELF_)

/* Wait for a token to be cancelled (tokio's CancellationToken::cancelled).
 * Ready (error 0) once the token is cancelled, at once if it already is:
 * unlike a notify, a cancel is never missed. -EPIPE if the token is
 * dropped while this waits. */
typedef struct sync_cancelled {
    future_t fut;
    sync_token_t *tok;
    sync_waiter_t w;
} sync_cancelled_t;

/* "token wait (3 waiting)" */
WEFT_API void sync_cancelled_describe_(const future_t *f, future_fmt_t *o) {
    future_fmt_str(o, "(");
    future_fmt_u64(o, sync_waitq_len_(&((const sync_cancelled_t *)(const void *)f)->tok->q));
    future_fmt_str(o, " waiting)");
}

WEFT_API coro_poll_t sync_cancelled_poll_(future_t *self, future_cx_t *cx) {
    sync_cancelled_t *c = (sync_cancelled_t *)(void *)self;
    switch (c->w.state) {
    case SYNC_IDLE_:
        if (c->tok->cancelled) return future_leaf_ready(self, cx, 0);
        sync_waitq_push_(&c->tok->q, &c->w, cx->waker);
        {
            static const future_kind_t kind = {FUTURE_KIND_TAG_, "token wait",
                                               sync_cancelled_describe_};
            future_set_kind(self, &kind);
        }
        return CORO_PENDING;
    case SYNC_QUEUED_:
        return sync_waiter_pending_(&c->w, cx);
    case SYNC_GRANTED_: /* cancelled (the token is not read again: it may
                           have been dropped since) */
        return future_leaf_ready(self, cx, 0);
    default: /* the token was dropped */
        return future_leaf_ready(self, cx, FUTURE_EPIPE);
    }
}

WEFT_API void sync_cancelled_drop_(future_t *self) {
    sync_cancelled_t *c = (sync_cancelled_t *)(void *)self;
    if (c->w.state == SYNC_QUEUED_) sync_waitq_unlink_(&c->tok->q, &c->w);
    c->w.state = SYNC_IDLE_;
}

/* Wait for t to be cancelled. */
WEFT_API void sync_cancelled_init(sync_cancelled_t *c, sync_token_t *t) {
    sync_wait_init_(&c->fut, sync_cancelled_poll_, sync_cancelled_drop_, &c->w);
    c->tok = t;
}

/* ---- streams ------------------------------------------------------------ */

/* The head of every stream frame. */
typedef struct sync_stream {
    future_t fut;     /* first: a stream is a future that yields many times */
    const void *item; /* the latest item, or 0 at the end */
    /* What the stream is, for its waits (set by the library's streams on
     * every poll; sync_stream_poll_next shows it while it waits), or 0: a
     * generator of yours is shown by the file:line where it waits. */
    const future_kind_t *kind;
} sync_stream_t;

WEFT_API void sync_stream_init(sync_stream_t *s, future_poll_fn poll, future_drop_fn drop) {
    future_init(&s->fut, poll, drop);
    s->item = 0;
    s->kind = 0;
}

/* For a stream's poll function: here is an item (ready, not finished). */
WEFT_API coro_poll_t sync_stream_yield(sync_stream_t *s, const void *item) {
    s->item = item;
    return CORO_READY;
}

/* For a stream's poll function: the stream is over (rc: 0 or an error). */
WEFT_API coro_poll_t sync_stream_end(sync_stream_t *s, int rc) {
    s->item = 0;
    return future_finish(&s->fut, rc);
}

/* Poll for the next item: CORO_PENDING, or CORO_READY with s->item set (0
 * at the end). Safe to call after the end: it stays at the end. A stream
 * that ends lets go of what it still holds, as a future that finishes
 * does (an input of a zip still waiting when the other ended, what the
 * frame owns). */
WEFT_API coro_poll_t sync_stream_poll_next(sync_stream_t *s, future_cx_t *cx) {
    coro_poll_t r;
    if (future_done(&s->fut) || !s->fut.poll) {
        if (!s->fut.poll) (void)future_poll_misuse_(&s->fut); /* never initialised */
        s->item = 0;
        return CORO_READY;
    }
    r = s->fut.poll(&s->fut, cx);
    if (r == CORO_PENDING) {
        if (s->kind) future_set_kind(&s->fut, s->kind);
    } else if (future_done(&s->fut) && (s->fut.child || s->fut.owned)) {
        future_finished_(&s->fut);
    }
    return r;
}

/* Has the stream ended? (Then future_err(&s->fut) says how.) */
WEFT_API int sync_stream_ended(const sync_stream_t *s) { return future_done(&s->fut); }

#define SYNC_STREAM_(s) ((sync_stream_t *)(void *)(s))

/* AWAIT_NEXT with its resume point numbered n (see the generators below). */
#define SYNC_AWAIT_NEXT_N_(cx, s, p, n)                                        \
    do {                                                                       \
        future_adopt_(FUTURE_SELF_, FUTURE(s));                                \
        CORO_WAIT_(sync_stream_poll_next(SYNC_STREAM_(FUTURE_SELF_->child),    \
                                         (cx)) == CORO_READY, n);              \
        (p) = SYNC_STREAM_(FUTURE_SELF_->child)->item;                         \
        FUTURE_SELF_->child = 0;                                               \
    } while (0)

/* Wait for the next item of stream s (a pointer to a frame headed by a
 * sync_stream_t) and set p (a const T * lvalue in the frame) to it, or to 0
 * at the end. */
#define SYNC_AWAIT_NEXT(cx, s, p) SYNC_AWAIT_NEXT_N_(cx, s, p, CORO_NEXT_)

/* ---- generators: a stream written as an async body ----------------------
 * The stream's poll function is an async body (ASYNC_BEGIN ... ASYNC_END
 * on a frame headed by a sync_stream_t, set up with sync_stream_init) that
 * hands out items with STREAM_YIELD and may AWAIT anything in between:
 *
 *     typedef struct { sync_stream_t st; int i, n; timer_sleep_t nap; } count_t;
 *
 *     static coro_poll_t count_poll(future_t *self, future_cx_t *cx) {
 *         count_t *g = (count_t *)self;
 *         ASYNC_BEGIN(g);
 *         for (g->i = 0; g->i < g->n; g->i++) {
 *             timer_sleep_init(&g->nap, TIMER_MS);
 *             AWAIT(cx, &g->nap);
 *             STREAM_YIELD(cx, &g->i);   // the consumer gets &g->i
 *         }
 *         ASYNC_END();                   // the end: AWAIT_NEXT gives 0
 *     }
 *     // count_t g; sync_stream_init(&g.st, count_poll, 0); g.n = 3;
 *     // ... AWAIT_NEXT(cx, &g, f->p);  (0, 1, 2, then 0: the end)
 *
 * STREAM_YIELD(cx, p) hands out p (a pointer to the item, not 0: it must
 * stay valid until the next poll, so keep the item in the frame) and
 * resumes right after itself on the consumer's next AWAIT_NEXT. Like a
 * ready leaf it spends one unit of the task's budget first (waiting for
 * the next turn when it is spent), so a generator that only computes
 * cannot starve the other tasks. ASYNC_RETURN(rc) ends the stream with
 * error rc. Locals do not survive a yield (as after AWAIT). Dropping the
 * stream (future_drop(&g.st.fut), or the frame of the AWAIT_NEXT that
 * waits for it) drops the body where it is suspended, its awaited child
 * with it. Between items the body is suspended at a STREAM_YIELD and waits
 * for nothing: unless its frame owns something (EXEC_SPAWN...), there is
 * nothing to release there. */

/* The resume point n of a yield: hand out p and return ready; resumed, go
 * on (with s->item back at 0, so that falling off the end, or returning,
 * reads as the end). `spend` is tested first, and again on each resume
 * while it fails (the budget: pending, the task was woken). One resume
 * point for both: inside the body s->item is 0, except between handing an
 * item out and the next poll, which is how the two are told apart. Written
 * for each of coro.h's backends, as its own yield is. */
#if defined(CORO_USE_LABELS) && CORO_USE_LABELS
#define SYNC_YIELD_N_(spend, p, n)                                             \
    do {                                                                       \
        CORO_SAVE_(n);                                                         \
        CORO_CAT_(coro_l_, n) :                                                \
            if (SYNC_STREAM_(CORO_SELF_)->item) SYNC_STREAM_(CORO_SELF_)->item = 0; \
        else if (!(spend)) return CORO_PENDING;                                \
        else return sync_stream_yield(SYNC_STREAM_(CORO_SELF_), (p));          \
    } while (0)
#else
#define SYNC_YIELD_N_(spend, p, n)                                             \
    do {                                                                       \
        CORO_SAVE_(n);                                                         \
        CORO_FALLTHROUGH_;                                                     \
    case CORO_LABEL_(n):                                                       \
        if (SYNC_STREAM_(CORO_SELF_)->item) SYNC_STREAM_(CORO_SELF_)->item = 0; \
        else if (!(spend)) return CORO_PENDING;                                \
        else return sync_stream_yield(SYNC_STREAM_(CORO_SELF_), (p));          \
    } while (0)
#endif

/* Hand item p to the consumer; see above. */
#define SYNC_STREAM_YIELD(cx, p) SYNC_YIELD_N_(future_coop_spend(cx), p, CORO_NEXT_)

/* The library's own generators live in this header, which every file of
 * a program compiles: their resume points are numbered by __LINE__ (the
 * same in every file) instead of __COUNTER__ (which depends on what each
 * file included first), so a frame started by one file's copy resumes
 * correctly in another's (WEFT_EXTERN_INLINE). One suspension per line. */
#define SYNC_AWAIT_L_(cx, c)                                                   \
    do {                                                                       \
        FUTURE_AWAIT_CALL_N_(cx, c, __LINE__);                                 \
        (void)future_c_;                                                       \
    } while (0)
#define SYNC_NEXT_L_(cx, s, p) SYNC_AWAIT_NEXT_N_(cx, s, p, __LINE__)
#define SYNC_YIELD_L_(p) SYNC_YIELD_N_(1, p, __LINE__) /* the item spent already */
#define SYNC_WAIT_L_(cond) CORO_WAIT_(cond, __LINE__)

/* A library stream's kind (see sync_stream_t), declared in its poll
 * function (function-local: WEFT_EXTERN_INLINE builds). */
#define SYNC_STREAM_KIND_(s, name, describe)                                   \
    do {                                                                       \
        static const future_kind_t sync_kind_ = {FUTURE_KIND_TAG_, name, describe}; \
        (s)->kind = &sync_kind_;                                               \
    } while (0)

/* Make the inputs of self named by mask (bit i: in[i]) its children: they
 * wait, so dropping self must drop them (and the backtrace shows them). */
WEFT_API void sync_stream_adopt_(sync_stream_t *self, sync_stream_t *const *in, unsigned mask) {
    future_t **pp = &self->fut.child;
    int i;
    for (i = 0; i < 2; i++)
        if (mask & (1u << i)) {
            *pp = &in[i]->fut;
            pp = &in[i]->fut.sibling;
        }
    *pp = 0;
}

/* -- iter: the elements of an array (tokio_stream::iter) -- */
typedef struct sync_iter {
    sync_stream_t st;
    const unsigned char *base;
    size_t n, elem, i;
} sync_iter_t;

/* "stream iter (3 of 10 taken)": it waits only for its budget. */
WEFT_API void sync_iter_describe_(const future_t *f, future_fmt_t *o) {
    const sync_iter_t *it = (const sync_iter_t *)(const void *)f;
    future_fmt_str(o, "(");
    future_fmt_u64(o, it->i);
    future_fmt_str(o, " of ");
    future_fmt_u64(o, it->n);
    future_fmt_str(o, " taken)");
}

WEFT_API coro_poll_t sync_iter_poll_(future_t *self, future_cx_t *cx) {
    sync_iter_t *it = (sync_iter_t *)(void *)self;
    SYNC_STREAM_KIND_(&it->st, "stream iter", sync_iter_describe_);
    CORO_BEGIN_LINES_(it);
    while (it->i < it->n)
        SYNC_YIELD_N_(future_coop_spend(cx), it->base + it->elem * it->i++, __LINE__);
    CORO_END();
}

/* A stream of the n elements (elem bytes each) of the array at base. */
WEFT_API void sync_iter_init(sync_iter_t *it, const void *base, size_t n, size_t elem) {
    sync_stream_init(&it->st, sync_iter_poll_, 0);
    it->base = (const unsigned char *)base;
    it->n = n;
    it->elem = elem;
    it->i = 0;
}

/* -- chan: the values of a channel until it is closed (ReceiverStream) -- */
typedef struct sync_chan_stream {
    sync_stream_t st;
    sync_chan_recv_t rx;
    sync_chan_t *ch;
    void *slot; /* one value's storage: items point here */
} sync_chan_stream_t;

WEFT_API coro_poll_t sync_chan_stream_poll_(future_t *self, future_cx_t *cx) {
    sync_chan_stream_t *s = (sync_chan_stream_t *)(void *)self;
    SYNC_STREAM_KIND_(&s->st, "stream chan", 0); /* its child says the rest */
    CORO_BEGIN_LINES_(s);
    for (;;) {
        sync_chan_recv_init(&s->rx, s->ch, s->slot);
        SYNC_AWAIT_L_(cx, &s->rx);
        if (future_err(&s->rx) == FUTURE_EPIPE) CORO_RETURN(0); /* closed: the end */
        if (future_err(&s->rx)) CORO_RETURN(future_err(&s->rx));
        SYNC_YIELD_L_(s->slot);
    }
    CORO_END();
}

/* A stream of ch's values, each received into slot (elem bytes). It ends
 * (error 0) when the channel is closed and drained. */
WEFT_API void sync_chan_stream_init(sync_chan_stream_t *s, sync_chan_t *ch, void *slot) {
    sync_stream_init(&s->st, sync_chan_stream_poll_, 0);
    s->ch = ch;
    s->slot = slot;
    sync_chan_recv_init(&s->rx, ch, slot);
}

/* -- interval: a stream of ticks; each item is the tick's scheduled time
 *    (uint64_t ns). It never ends. -- */
typedef struct sync_interval {
    sync_stream_t st;
    timer_interval_t iv;
    uint64_t tick;
} sync_interval_t;

/* "stream interval (every 10 ms, 3 ticks)" */
WEFT_API void sync_interval_describe_(const future_t *f, future_fmt_t *o) {
    const timer_interval_t *iv = &((const sync_interval_t *)(const void *)f)->iv;
    future_fmt_str(o, "(every ");
#ifdef TIMER_TICK_TIME /* time is the counter's ticks: no ms to show */
    future_fmt_u64(o, iv->period);
    future_fmt_str(o, " clock ticks, ");
#else
    if (iv->period % TIMER_MS == 0) {
        future_fmt_u64(o, iv->period / TIMER_MS);
        future_fmt_str(o, " ms, ");
    } else {
        future_fmt_u64(o, iv->period);
        future_fmt_str(o, " ns, ");
    }
#endif
    sync_fmt_n_(o, iv->ticks, " tick)", " ticks)");
}

WEFT_API coro_poll_t sync_interval_poll_(future_t *self, future_cx_t *cx) {
    sync_interval_t *s = (sync_interval_t *)(void *)self;
    SYNC_STREAM_KIND_(&s->st, "stream interval", sync_interval_describe_);
    CORO_BEGIN_LINES_(s);
    for (;;) {
        SYNC_AWAIT_L_(cx, &s->iv); /* a tick: ready, never finished */
        if (future_done(&s->iv)) CORO_RETURN(future_err(&s->iv)); /* misuse */
        s->tick = s->iv.last;
        SYNC_YIELD_L_(&s->tick);
    }
    CORO_END();
}

/* Tick every period ns, the first tick at once (timer.h's interval). */
WEFT_API void sync_interval_init(sync_interval_t *s, uint64_t period, timer_missed_t missed) {
    sync_stream_init(&s->st, sync_interval_poll_, 0);
    timer_interval_init(&s->iv, period, missed);
    s->tick = 0;
}

/* -- map: fn(item, out, arg) turns each item into *out -- */
typedef void (*sync_map_fn)(const void *item, void *out, void *arg);

typedef struct sync_map {
    sync_stream_t st;
    sync_stream_t *in;
    sync_map_fn fn;
    void *arg;
    void *out; /* one output's storage: items point here */
    const void *p;
} sync_map_t;

WEFT_API coro_poll_t sync_map_poll_(future_t *self, future_cx_t *cx) {
    sync_map_t *m = (sync_map_t *)(void *)self;
    SYNC_STREAM_KIND_(&m->st, "stream map", 0);
    CORO_BEGIN_LINES_(m);
    for (;;) {
        SYNC_NEXT_L_(cx, m->in, m->p);
        if (!m->p) CORO_RETURN(future_err(&m->in->fut));
        m->fn(m->p, m->out, m->arg);
        SYNC_YIELD_L_(m->out);
    }
    CORO_END();
}

WEFT_API void sync_map_init(sync_map_t *m, sync_stream_t *in, sync_map_fn fn, void *arg,
                                 void *out) {
    sync_stream_init(&m->st, sync_map_poll_, 0);
    m->in = in;
    m->fn = fn;
    m->arg = arg;
    m->out = out;
    m->p = 0;
}

/* -- filter: only the items for which pred(item, arg) is non-zero -- */
typedef int (*sync_pred_fn)(const void *item, void *arg);

typedef struct sync_filter {
    sync_stream_t st;
    sync_stream_t *in;
    sync_pred_fn pred;
    void *arg;
    const void *p;
} sync_filter_t;

WEFT_API coro_poll_t sync_filter_poll_(future_t *self, future_cx_t *cx) {
    sync_filter_t *f = (sync_filter_t *)(void *)self;
    SYNC_STREAM_KIND_(&f->st, "stream filter", 0);
    CORO_BEGIN_LINES_(f);
    for (;;) {
        SYNC_NEXT_L_(cx, f->in, f->p);
        if (!f->p) CORO_RETURN(future_err(&f->in->fut));
        if (f->pred(f->p, f->arg))
            SYNC_YIELD_L_(f->p);
        else
            SYNC_WAIT_L_(future_coop_spend(cx)); /* rejects cost too */
    }
    CORO_END();
}

WEFT_API void sync_filter_init(sync_filter_t *f, sync_stream_t *in, sync_pred_fn pred,
                                    void *arg) {
    sync_stream_init(&f->st, sync_filter_poll_, 0);
    f->in = in;
    f->pred = pred;
    f->arg = arg;
    f->p = 0;
}

/* -- take: the first n items, then the end (the inner stream is left as it
 *    is, holding no registration) -- */
typedef struct sync_take {
    sync_stream_t st;
    sync_stream_t *in;
    size_t left;
    const void *p;
} sync_take_t;

/* "stream take (3 left)" */
WEFT_API void sync_take_describe_(const future_t *f, future_fmt_t *o) {
    future_fmt_str(o, "(");
    future_fmt_u64(o, ((const sync_take_t *)(const void *)f)->left);
    future_fmt_str(o, " left)");
}

WEFT_API coro_poll_t sync_take_poll_(future_t *self, future_cx_t *cx) {
    sync_take_t *t = (sync_take_t *)(void *)self;
    SYNC_STREAM_KIND_(&t->st, "stream take", sync_take_describe_);
    CORO_BEGIN_LINES_(t);
    while (t->left) {
        SYNC_NEXT_L_(cx, t->in, t->p);
        if (!t->p) CORO_RETURN(future_err(&t->in->fut));
        t->left--;
        SYNC_YIELD_L_(t->p);
    }
    CORO_END();
}

WEFT_API void sync_take_init(sync_take_t *t, sync_stream_t *in, size_t n) {
    sync_stream_init(&t->st, sync_take_poll_, 0);
    t->in = in;
    t->left = n;
    t->p = 0;
}

/* -- then: an async map. fn(item, ctx) makes the item's future (in
 *    storage it owns: one is enough, the next is made only once this one
 *    has finished and been handed on); it is awaited, and the finished
 *    future is the item (read its result from its frame, and future_err).
 *    (StreamExt::then) -- */
typedef future_t *(*sync_then_fn)(const void *item, void *ctx);

typedef struct sync_then {
    sync_stream_t st;
    sync_stream_t *in;
    sync_then_fn fn;
    void *ctx;
    const void *p;
    future_t *job; /* the current item's future */
} sync_then_t;

/* "stream then (running an item's future)" / "(waiting for an item)" */
WEFT_API void sync_then_describe_(const future_t *f, future_fmt_t *o) {
    const sync_then_t *t = (const sync_then_t *)(const void *)f;
    future_fmt_str(o, t->job && f->child == t->job ? "(running an item's future)"
                                                   : "(waiting for an item)");
}

WEFT_API coro_poll_t sync_then_poll_(future_t *self, future_cx_t *cx) {
    sync_then_t *t = (sync_then_t *)(void *)self;
    SYNC_STREAM_KIND_(&t->st, "stream then", sync_then_describe_);
    CORO_BEGIN_LINES_(t);
    for (;;) {
        t->job = 0;
        SYNC_NEXT_L_(cx, t->in, t->p);
        if (!t->p) CORO_RETURN(future_err(&t->in->fut));
        t->job = t->fn(t->p, t->ctx);
        if (!t->job) {
            FUTURE_MISUSE("sync_then: the callback returned no future: return the "
                          "item's future, initialised (the stream ends with -EINVAL)");
            CORO_RETURN(FUTURE_EINVAL);
        }
        SYNC_AWAIT_L_(cx, t->job);
        SYNC_YIELD_L_(t->job);
    }
    CORO_END();
}

WEFT_API void sync_then_init(sync_then_t *t, sync_stream_t *in, sync_then_fn fn, void *ctx) {
    sync_stream_init(&t->st, sync_then_poll_, 0);
    t->in = in;
    t->fn = fn;
    t->ctx = ctx;
    t->p = 0;
    t->job = 0;
}

/* -- merge: the items of two streams as they come; it ends when both have
 *    ended (its error: the first input's, else the second's). Fair: when
 *    both have an item, they take turns. (StreamExt::merge) -- */
typedef struct sync_merge {
    sync_stream_t st;
    sync_stream_t *in[2];
    unsigned waiting; /* bit i: in[i] is pending (registered: our child) */
    int turn;         /* which input is polled first */
} sync_merge_t;

/* "stream merge (2 open)" */
WEFT_API void sync_merge_describe_(const future_t *f, future_fmt_t *o) {
    const sync_merge_t *m = (const sync_merge_t *)(const void *)f;
    future_fmt_str(o, "(");
    future_fmt_u64(o, (unsigned)!sync_stream_ended(m->in[0]) +
                          (unsigned)!sync_stream_ended(m->in[1]));
    future_fmt_str(o, " open)");
}

WEFT_API coro_poll_t sync_merge_poll_(future_t *self, future_cx_t *cx) {
    sync_merge_t *m = (sync_merge_t *)(void *)self;
    int k, e;
    SYNC_STREAM_KIND_(&m->st, "stream merge", sync_merge_describe_);
    for (k = 0; k < 2; k++) {
        int i = (m->turn + k) & 1;
        sync_stream_t *s = m->in[i];
        if (sync_stream_ended(s)) continue;
        if (sync_stream_poll_next(s, cx) == CORO_PENDING) {
            m->waiting |= 1u << i;
            continue;
        }
        m->waiting &= ~(1u << i);
        if (s->item) {
            m->turn = i ^ 1; /* the other one first next time */
            sync_stream_adopt_(&m->st, m->in, m->waiting);
            return sync_stream_yield(&m->st, s->item);
        }
    }
    sync_stream_adopt_(&m->st, m->in, m->waiting);
    if (!sync_stream_ended(m->in[0]) || !sync_stream_ended(m->in[1])) return CORO_PENDING;
    e = future_err(&m->in[0]->fut);
    return sync_stream_end(&m->st, e ? e : future_err(&m->in[1]->fut));
}

WEFT_API void sync_merge_init(sync_merge_t *m, sync_stream_t *a, sync_stream_t *b) {
    sync_stream_init(&m->st, sync_merge_poll_, 0);
    m->in[0] = a;
    m->in[1] = b;
    m->waiting = 0;
    m->turn = 0;
}

/* -- zip: pairs (one item of each) until either ends; the item is a
 *    sync_pair_t. The end is the first input's end (its error); the other,
 *    if it was waiting then, is dropped. (StreamExt::zip) -- */
typedef struct sync_pair {
    const void *first, *second;
} sync_pair_t;

typedef struct sync_zip {
    sync_stream_t st;
    sync_stream_t *in[2];
    const void *got[2]; /* the half of the next pair already here */
    sync_pair_t pair;
    unsigned waiting;
} sync_zip_t;

/* "stream zip (1 of 2 here)" */
WEFT_API void sync_zip_describe_(const future_t *f, future_fmt_t *o) {
    const sync_zip_t *z = (const sync_zip_t *)(const void *)f;
    future_fmt_str(o, "(");
    future_fmt_u64(o, (unsigned)(z->got[0] != 0) + (unsigned)(z->got[1] != 0));
    future_fmt_str(o, " of 2 here)");
}

WEFT_API coro_poll_t sync_zip_poll_(future_t *self, future_cx_t *cx) {
    sync_zip_t *z = (sync_zip_t *)(void *)self;
    int i;
    SYNC_STREAM_KIND_(&z->st, "stream zip", sync_zip_describe_);
    for (i = 0; i < 2; i++) {
        if (z->got[i]) continue;
        if (sync_stream_poll_next(z->in[i], cx) == CORO_PENDING) {
            z->waiting |= 1u << i;
            continue;
        }
        z->waiting &= ~(1u << i);
        if (!z->in[i]->item) { /* the end; the other is dropped if it waits */
            sync_stream_adopt_(&z->st, z->in, z->waiting);
            return sync_stream_end(&z->st, future_err(&z->in[i]->fut));
        }
        z->got[i] = z->in[i]->item;
    }
    sync_stream_adopt_(&z->st, z->in, z->waiting);
    if (!z->got[0] || !z->got[1]) return CORO_PENDING;
    z->pair.first = z->got[0];
    z->pair.second = z->got[1];
    z->got[0] = z->got[1] = 0;
    return sync_stream_yield(&z->st, &z->pair);
}

WEFT_API void sync_zip_init(sync_zip_t *z, sync_stream_t *a, sync_stream_t *b) {
    sync_stream_init(&z->st, sync_zip_poll_, 0);
    z->in[0] = a;
    z->in[1] = b;
    z->got[0] = z->got[1] = 0;
    z->pair.first = z->pair.second = 0;
    z->waiting = 0;
}

/* -- chunks: the items copied into arrays of up to n (elem bytes each);
 *    the item is a sync_chunk_t; the last chunk may be short, an empty
 *    one is never handed out. (StreamExt::chunks) -- */
typedef struct sync_chunk {
    void *data; /* the caller's buf: len items of elem bytes */
    size_t len;
} sync_chunk_t;

typedef struct sync_chunks {
    sync_stream_t st;
    sync_stream_t *in;
    unsigned char *buf;
    size_t cap, elem;
    sync_chunk_t chunk;
    const void *p;
} sync_chunks_t;

/* "stream chunks (2 of 4 gathered)" */
WEFT_API void sync_chunks_describe_(const future_t *f, future_fmt_t *o) {
    const sync_chunks_t *c = (const sync_chunks_t *)(const void *)f;
    future_fmt_str(o, "(");
    future_fmt_u64(o, c->chunk.len);
    future_fmt_str(o, " of ");
    future_fmt_u64(o, c->cap);
    future_fmt_str(o, " gathered)");
}

WEFT_API coro_poll_t sync_chunks_poll_(future_t *self, future_cx_t *cx) {
    sync_chunks_t *c = (sync_chunks_t *)(void *)self;
    SYNC_STREAM_KIND_(&c->st, "stream chunks", sync_chunks_describe_);
    CORO_BEGIN_LINES_(c);
    for (;;) {
        c->chunk.len = 0;
        while (c->chunk.len < c->cap) {
            SYNC_NEXT_L_(cx, c->in, c->p);
            if (!c->p) break;
            sync_copy_(c->buf + c->elem * c->chunk.len++, c->p, c->elem);
        }
        if (c->chunk.len) SYNC_YIELD_L_(&c->chunk);
        if (!c->p) CORO_RETURN(future_err(&c->in->fut));
    }
    CORO_END();
}

/* Chunks of up to n items of elem bytes, gathered in buf (n * elem bytes).
 * n == 0 (or no buf) is a misuse: the stream ends at once with -EINVAL. */
WEFT_API void sync_chunks_init(sync_chunks_t *c, sync_stream_t *in, void *buf, size_t n,
                               size_t elem) {
    sync_stream_init(&c->st, sync_chunks_poll_, 0);
    c->in = in;
    c->buf = (unsigned char *)buf;
    c->cap = n;
    c->elem = elem;
    c->chunk.data = buf;
    c->chunk.len = 0;
    c->p = 0;
    if (!n || !buf) {
        FUTURE_MISUSE("sync_chunks_init: chunks of 0 items, or no buf: give it n >= 1 "
                      "and n * elem bytes of storage (the stream ends with -EINVAL)");
        future_finish(&c->st.fut, FUTURE_EINVAL);
    }
}

/* -- buffer_unordered: a stream whose items are futures (each item points
 *    at a future_t-headed frame, initialised and not started, which stays
 *    valid until it finishes); up to n of them run at once, and each
 *    finished future is an item, in the order they finish. The end: the
 *    input has ended and every future has finished (the input's error).
 *    Each wake polls every future in flight: for a handful, as JOIN.
 *    (StreamExt::buffer_unordered) -- */
typedef struct sync_buffer_unordered {
    sync_stream_t st;
    sync_stream_t *in;
    future_t **slots; /* the caller's: n places for the futures in flight */
    size_t cap, n, turn;
    int in_waiting;   /* the input is pending (registered: our child) */
} sync_buffer_unordered_t;

/* "stream buffer_unordered (2 of 3 in flight)" */
WEFT_API void sync_buffer_unordered_describe_(const future_t *f, future_fmt_t *o) {
    const sync_buffer_unordered_t *b = (const sync_buffer_unordered_t *)(const void *)f;
    future_fmt_str(o, "(");
    future_fmt_u64(o, b->n);
    future_fmt_str(o, " of ");
    future_fmt_u64(o, b->cap);
    future_fmt_str(o, " in flight)");
}

/* The futures in flight and a waiting input are our children. */
WEFT_API void sync_buffer_unordered_adopt_(sync_buffer_unordered_t *b) {
    future_t **pp = &b->st.fut.child;
    size_t i;
    for (i = 0; i < b->n; i++) {
        *pp = b->slots[i];
        pp = &b->slots[i]->sibling;
    }
    if (b->in_waiting) {
        *pp = &b->in->fut;
        pp = &b->in->fut.sibling;
    }
    *pp = 0;
}

WEFT_API coro_poll_t sync_buffer_unordered_poll_(future_t *self, future_cx_t *cx) {
    sync_buffer_unordered_t *b = (sync_buffer_unordered_t *)(void *)self;
    size_t k;
    SYNC_STREAM_KIND_(&b->st, "stream buffer_unordered", sync_buffer_unordered_describe_);
    while (b->n < b->cap && !sync_stream_ended(b->in)) { /* fill the free places */
        b->in_waiting = sync_stream_poll_next(b->in, cx) == CORO_PENDING;
        if (b->in_waiting || !b->in->item) break;
        b->slots[b->n++] = (future_t *)(void *)b->in->item;
    }
    for (k = 0; k < b->n; k++) {
        size_t i = (b->turn + k) % b->n;
        future_t *f = b->slots[i];
        if (future_poll(f, cx) == CORO_READY) {
            b->slots[i] = b->slots[--b->n];
            b->turn = i + 1; /* start after it next time */
            sync_buffer_unordered_adopt_(b);
            return sync_stream_yield(&b->st, f);
        }
    }
    sync_buffer_unordered_adopt_(b);
    if (b->n || !sync_stream_ended(b->in)) return CORO_PENDING;
    return sync_stream_end(&b->st, future_err(&b->in->fut));
}

/* Run up to n of in's futures at once; slots: n places (future_t *).
 * n == 0 (or no slots) is a misuse: the stream ends at once with -EINVAL. */
WEFT_API void sync_buffer_unordered_init(sync_buffer_unordered_t *b, sync_stream_t *in,
                                         future_t **slots, size_t n) {
    sync_stream_init(&b->st, sync_buffer_unordered_poll_, 0);
    b->in = in;
    b->slots = slots;
    b->cap = n;
    b->n = b->turn = 0;
    b->in_waiting = 0;
    if (!n || !slots) {
        FUTURE_MISUSE("sync_buffer_unordered_init: n == 0 (or no slots) would never "
                      "run anything: give it n >= 1 places (the stream ends with -EINVAL)");
        future_finish(&b->st.fut, FUTURE_EINVAL);
    }
}

/* -- fold: a future that reduces a stream to one value: fn(acc, item, ctx)
 *    for each item, into the caller's *acc (set its first value before).
 *    Ready at the end, with the stream's error. (StreamExt::fold) -- */
typedef void (*sync_fold_fn)(void *acc, const void *item, void *ctx);

typedef struct sync_fold {
    future_t fut;
    sync_stream_t *in;
    sync_fold_fn fn;
    void *acc, *ctx;
    size_t n; /* items folded so far */
} sync_fold_t;

/* "stream fold (5 items so far)" */
WEFT_API void sync_fold_describe_(const future_t *f, future_fmt_t *o) {
    future_fmt_str(o, "(");
    sync_fmt_n_(o, ((const sync_fold_t *)(const void *)f)->n, " item so far)",
                " items so far)");
}

WEFT_API coro_poll_t sync_fold_poll_(future_t *self, future_cx_t *cx) {
    sync_fold_t *f = (sync_fold_t *)(void *)self;
    for (;;) {
        if (sync_stream_poll_next(f->in, cx) == CORO_PENDING) {
            static const future_kind_t kind = {FUTURE_KIND_TAG_, "stream fold",
                                               sync_fold_describe_};
            future_set_kind(self, &kind);
            future_adopt_(self, &f->in->fut); /* dropped with us */
            return CORO_PENDING;
        }
        self->child = 0;
        if (!f->in->item) return future_finish(self, future_err(&f->in->fut));
        f->fn(f->acc, f->in->item, f->ctx);
        f->n++;
    }
}

WEFT_API void sync_fold_init(sync_fold_t *f, sync_stream_t *in, sync_fold_fn fn, void *acc,
                             void *ctx) {
    future_init(&f->fut, sync_fold_poll_, 0);
    f->in = in;
    f->fn = fn;
    f->acc = acc;
    f->ctx = ctx;
    f->n = 0;
}

/* The short names (see coro.h): WEFT_NO_SHORT_NAMES leaves them out. */
#ifndef WEFT_NO_SHORT_NAMES
#define AWAIT_NEXT(cx, s, p) SYNC_AWAIT_NEXT(cx, s, p)
#define STREAM_YIELD(cx, p) SYNC_STREAM_YIELD(cx, p)
#endif

#endif /* SYNC_H */
