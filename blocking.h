/* blocking.h - a helper thread pool for blocking work: spawn_blocking as a
 * future (tokio's spawn_blocking, libuv's uv_queue_work), on exec.h.
 *
 * Async is for waiting. CPU-heavy work and blocking calls (file reads, DNS,
 * compression, a long loop in a handler) must not run on the executor's
 * thread, or every other task stalls while they run. blocking_t runs a
 * job on a pool of helper threads instead (tokio's spawn_blocking); the
 * awaiting task sleeps meanwhile and is woken (through the pool's
 * exec_remote_t) when the job is done. fs.h builds tokio::fs-like file helpers on it.
 *
 *     static int64_t sum_job(void *arg, blocking_job_t *job) {
 *         const big_t *b = (const big_t *)arg;   // must outlive the job
 *         int64_t s = 0;
 *         for (size_t i = 0; i < b->n; i++) {
 *             if ((i & 0xfffff) == 0 && blocking_stopping(job)) {
 *                 job->err = -ECANCELED;         // dropped: give up early
 *                 return 0;
 *             }
 *             s += b->v[i];
 *         }
 *         return s;                              // the future's .out
 *     }
 *
 *     blocking_pool_t pool;
 *     blocking_pool_init(&pool, &ex, 0);             // 0: default options
 *     ...                                        // in an async body:
 *     blocking_init(&f->job, &pool, sum_job, &big);
 *     AWAIT_TRY(cx, &f->job);                    // the job's error, as `?`
 *     total = f->job.out;
 *     ...
 *     exec_destroy(&ex);                         // then (or before):
 *     blocking_pool_destroy(&pool);                  // joins every thread
 *
 * The contract
 *   - A job is fn(arg, job) on a pool thread. Its return value becomes the
 *     future's .out; job->err (0 on entry; set it to a negative errno)
 *     becomes the future's error. The job is submitted at the first poll
 *     (lazy); it composes like any future: under timer_timeout, in JOIN,
 *     TRY_JOIN, SELECT, future_join_all_t.
 *   - No allocation on the await path: the job's queue node and its result
 *     live in the blocking_t. The pool allocates only its thread table
 *     (blocking_pool_init) and threads (when it grows). No thread is
 *     created per job.
 *   - No lock and no syscall per job on the executor's side: a submit is a
 *     lock-free push (it takes the pool's lock only to wake or start a
 *     thread). A finished job goes on the pool's finished list (lock-free);
 *     the first one on an empty list wakes the executor (exec_remote_wake,
 *     which writes the eventfd only if the executor is parked), and the
 *     executor hands the whole list back, waking each job's task: one
 *     cross-thread wake per batch, as libuv's done queue. Jobs in flight
 *     hold back the paused clock (exec_clock_hold), as in tokio, and keep
 *     the pool's remote handle open: "something can wake the task" for the
 *     stall report.
 *   - One pool serves one executor (the one given to blocking_pool_init); its
 *     futures are polled there.
 *   - While it waits, exec_dump's async backtrace says "spawn_blocking
 *     (queued)" or "spawn_blocking (running, submitted 12 ms ago)".
 *
 * Cancellation: what dropping the future does (a job cannot be interrupted;
 * blocking_stopping(job) turns true so a long job may return early)
 *
 *   state at drop   blocking_init (detached)   blocking_init_scoped
 *   --------------  ------------------------------  ---------------------------
 *   not yet polled  nothing                         nothing
 *   queued          unlinked; the job never runs    unlinked; never runs
 *   running         drop returns at once. The job   stop flag raised; drop
 *                   finishes on its thread, its     WAITS (blocking the
 *                   result is discarded: .discard   executor) until fn returns,
 *                   (if set) gets it, on the pool   so fn may write into the
 *                   thread. The pool thread never   frame. For jobs that check
 *                   touches the future again, but   blocking_stopping, or
 *                   arg now belongs to the job:     are short (fs.h's slices).
 *                   .detached is set to 1.          Then as "done, not seen".
 *   done, not seen  .discard (if set) gets the      the same
 *                   result, on the executor thread
 *                   (not for a job shutdown
 *                   cancelled unrun)
 *
 *   So with blocking_init, arg and whatever the job writes must outlive
 *   the job, not just the future (heap, static, or owned by something that
 *   outlives the pool: blocking_pool_shutdown joins every thread). The future
 *   itself is safe to free as soon as future_drop returns, in both modes.
 *
 * The protocol behind the table (the per-job state, an atomic int, and the
 * pool's mutex): IDLE -> QUEUED (submit: a lock-free push on the pool's
 * inbox, which the pool threads move into the queue under the lock) ->
 * RUNNING (a pool thread takes it, under the lock; the job's control block
 * is on that thread's stack) -> WAKING -> DONE (the pool thread, all under
 * the lock: store the result, push the future on the finished list, wake
 * the executor if the list was empty, store DONE as its very last touch of
 * the future). The executor thread reads the state atomically when it
 * polls (DONE: take the result, and take the finished list first if the
 * future is still on it; WAKING: wait for the lock, then look again), and
 * takes the lock to drop a job in any other state than IDLE or DONE (which
 * the pool threads never leave), so drop never acts on WAKING: it waits on
 * the mutex while a completion is in progress. A queued job's drop moves
 * the inbox into the queue first, then unlinks it; a done one's takes the
 * finished list (handing the others back). A detached drop marks the
 * control block on the pool thread's stack "abandoned" under the lock; the
 * pool thread sees it under the lock when the job returns and leaves the
 * future alone. The pool's remote handle is opened by the first job in
 * flight and closed when the last is seen done or dropped: by then no pool
 * thread will wake it (each wake comes before a DONE store).
 *
 * The pool
 *   blocking_pool_init(&pool, &ex, &opts)   start opts.threads threads
 *   blocking_pool_opts_t (every 0 is the default)
 *     threads        kept threads, and how many run jobs at once unless
 *                    some are stuck (0: the number of CPUs)
 *     grow_after_ns  a thread in one job this long while others wait is
 *                    stuck: it stops counting against `threads`, and one
 *                    more thread runs jobs, an idle one or a new one
 *                    (0: 100 us, BLOCKING_POOL_GROW_AFTER_NS; 2^60 or
 *                    more: never)
 *     max_threads    the most threads (0: max(16, 8 * threads))
 *     keep_alive_ns  threads above `threads` exit after this long idle
 *                    (0: 10 s; 2^60 ns or more: never)
 *     queue_cap      jobs that may wait (0: 1 << 20); one more finishes at
 *                    once with -EAGAIN (never a hang)
 *   blocking_pool_shutdown(&pool, mode)     BLOCKING_POOL_DRAIN: queued jobs still
 *                                       run; BLOCKING_POOL_CANCEL: they finish
 *                                       with -ECANCELED without running, and
 *                                       running jobs see their stop flag.
 *                                       Either way running jobs finish, their
 *                                       futures are woken with their
 *                                       results, every thread is joined, and
 *                                       later submits get -ECANCELED. Blocks
 *                                       until then: call it outside tasks.
 *   blocking_pool_destroy(&pool)            shutdown(CANCEL) if not yet, free.
 *   blocking_pool_stats(&pool)              counters, and the threads now
 *   The executor and the pool may be destroyed in either order.
 *
 * How the pool grows: tokio's guarantee, without tokio's thread per busy
 * submit. tokio starts a thread whenever a job finds none idle (up to 512),
 * so a burst of short jobs starts dozens of threads that then fight over
 * one lock (this pool did so too: 16 threads on 2 CPUs, 1 us a job). Here
 * at most `threads` runners take jobs, a submit wakes an idle thread only
 * while fewer run, and while jobs wait one more thread watches them: every
 * grow_after_ns it looks for runners still in the job they had at its last
 * look. Those are stuck (a blocking call, a long computation, a job that
 * waits for a later one); they stop counting, the watcher becomes a runner
 * and takes the queue's head, and an idle or new thread watches in its
 * place. So a burst of trivial jobs runs on `threads` threads plus the
 * watcher, and while the pool is below max_threads a queued job never
 * waits for ever behind stuck ones: a thread takes the queue at most about
 * two grow_after_ns after a runner got stuck. A stuck runner that comes back
 * while `threads` others run goes idle. (A runner the OS preempts for
 * longer than grow_after_ns looks stuck too; that costs one more runner,
 * and a thread started once, until it is back.) Go's runtime does the
 * like for threads blocked in system calls (sysmon, 20 us and up). A
 * runner busy in a detached job's .discard hook counts as in a job. If the
 * system refuses a new thread (pthread_create fails: EAGAIN), the pool
 * runs on the threads it has and tries again at the next submit.
 *   A submit is a lock-free push on the inbox, with no lock and no
 * syscall unless a thread must be woken or started (pool->want_kick); the
 * threads move the inbox into the FIFO queue under the lock, and a runner
 * takes one lock per job (its completion and its next job).
 *
 * Build: what exec.h needs (Linux, GCC or Clang, pthreads).
 */
#ifndef BLOCKING_H
#define BLOCKING_H

#include "exec.h"
#ifndef EXEC_HAVE_THREADS_
#error "blocking.h needs threads: a hosted backend (EXEC_BACKEND_EPOLL or EXEC_BACKEND_POLL)"
#endif

/* The job's view of itself: on the pool thread's stack, never in the
 * future, so it stays valid whatever happens to the future. */
typedef struct blocking_job {
    void *arg; /* as given to blocking_init */
    int err;   /* set to a negative errno: the future's error */
    int stop_; /* atomic: the future was dropped, or the pool cancels */
    int abandoned_;                 /* the future let go (pool lock) */
    int64_t (*fn_)(void *arg, struct blocking_job *job);
    void (*discard_)(void *arg, int64_t result);
} blocking_job_t;

/* A job: runs on a pool thread; returns the future's .out. */
typedef int64_t (*blocking_fn)(void *arg, blocking_job_t *job);

/* In a job: has the future been dropped (or the pool cancelled)? A job that
 * runs long should check it now and then and return early. */
WEFT_API int blocking_stopping(const blocking_job_t *job) {
    return __atomic_load_n(&job->stop_, __ATOMIC_RELAXED);
}

enum { /* blocking_t.state */
    BLOCKING_IDLE_ = 0,
    BLOCKING_QUEUED_,
    BLOCKING_RUNNING_,
    BLOCKING_WAKING_,
    BLOCKING_DONE_
};

typedef struct blocking_pool blocking_pool_t;

/* spawn_blocking as a future. */
/* The fields a submit and a completion touch come first, close to the
 * header: fewer cache lines per job (a burst of 100k jobs does not fit
 * in a CPU's cache, and each line the executor touches is a miss). */
typedef struct blocking {
    future_t fut;
    int state;   /* BLOCKING_* (atomic; private) */
    int out_err; /* the job's error, stored before DONE (private) */
    FUTURE_EXT_ union {
        int64_t out;    /* the job's return value, once ready */
        int64_t result; /* the same (its older name) */
    };
    int detached; /* dropped while running (not scoped): arg is the job's */
    /* private */
    unsigned char held;          /* submitted: counted in flight, clock held */
    unsigned char ran;           /* fn ran: out is its result */
    unsigned char scoped;        /* drop waits for a running job */
    unsigned char waiting;       /* a scoped drop waits (pool lock) */
    unsigned char finished;      /* on the pool's finished list */
    blocking_pool_t *pool;
    future_waker_t *waker;       /* whom the completion wakes */
    uint64_t submitted;          /* the executor's now at submit */
    future_link_t link;          /* in the inbox, then the queue (pool lock) */
    /* set before the first poll, if wanted: gets a detached job's result */
    void (*discard)(void *arg, int64_t result);
    blocking_fn fn;              /* private, as the rest */
    void *arg;
    blocking_job_t *job;         /* while running (pool lock) */
} blocking_t;

typedef struct blocking_pool_opts {
    unsigned threads;       /* kept, and running jobs at once (stuck ones
                               aside); 0: the number of CPUs */
    unsigned max_threads;   /* grow up to; 0: max(16, 8 * threads) */
    uint64_t keep_alive_ns; /* extra threads exit after this idle; 0: 10 s */
    size_t queue_cap;       /* jobs that may wait; 0: 1 << 20 */
    uint64_t grow_after_ns; /* a thread in one job this long while jobs
                               wait is stuck: one more runs; 0: 100 us */
} blocking_pool_opts_t;

/* The default of blocking_pool_opts_t.grow_after_ns: 100 us. */
#define BLOCKING_POOL_GROW_AFTER_NS ((uint64_t)100 * 1000)

enum { BLOCKING_POOL_DRAIN = 1, BLOCKING_POOL_CANCEL = 2 };

enum { BLOCKING_POOL_SLOT_FREE_ = 0, BLOCKING_POOL_SLOT_LIVE_, BLOCKING_POOL_SLOT_EXITED_ };

/* What a live pool thread does (blocking_pool_slot_t_.role) */
enum { BLOCKING_POOL_IDLE_ = 0, BLOCKING_POOL_RUN_, BLOCKING_POOL_WATCH_ };

typedef struct blocking_pool_slot_ {
    pthread_t tid;
    blocking_pool_t *pool;
    blocking_job_t *job; /* the job it runs, or 0 (pool lock) */
    int state;           /* BLOCKING_POOL_SLOT_* (pool lock) */
    int role;            /* BLOCKING_POOL_IDLE_, _RUN_ or _WATCH_ (pool lock) */
    int stuck;           /* in one job for grow_after_ns: not counted (lock) */
    uint64_t seq, seen;  /* jobs it took; seq when the watcher looked (lock) */
    struct blocking_pool_slot_ *next_idle, *prev_idle; /* idle list (lock) */
    pthread_cond_t wake; /* it waits here; whoever gives it a role signals */
} blocking_pool_slot_t_;

/* The waker of the pool's remote handle: hands finished jobs back. */
typedef struct blocking_pool_waker_ {
    future_waker_t w;
    blocking_pool_t *pool;
} blocking_pool_waker_t_;

typedef struct blocking_pool_stats {
    uint64_t submitted;  /* jobs queued */
    uint64_t ran;        /* jobs run to their end */
    uint64_t cancelled;  /* queued jobs removed by drop or shutdown */
    uint64_t overflows;  /* submits refused: queue full (-EAGAIN) */
    uint64_t created;    /* threads started */
    uint64_t exited;     /* threads that left after their keep-alive */
    uint64_t stuck;      /* times a thread was found in one job for
                            grow_after_ns while jobs waited */
    uint64_t handed;     /* completions handed back to their futures (the
                            executor's thread) */
    unsigned threads;    /* threads now (filled in by blocking_pool_stats) */
} blocking_pool_stats_t;

struct blocking_pool {
    /* What a submit touches without the lock: one cache line (give or
     * take), apart from the lines the threads write on every job. */
    future_link_t *inbox;         /* submitted, not yet queued: newest first
                                     (a lock-free stack; atomic) */
    future_link_t *finished;      /* done, not yet handed back: newest first
                                     (a lock-free stack; atomic) */
    size_t pushed, removed_seen;  /* jobs submitted; a past `removed` (the
                                     executor's thread) */
    size_t cap;
    size_t inflight;              /* submitted, not yet seen done or dropped
                                     (the executor's thread) */
    uint64_t handed;              /* stats.handed (the executor's; atomic) */
    int want_kick;                /* a submit must take the lock (atomic) */
    int closing;                  /* 0, BLOCKING_POOL_DRAIN or BLOCKING_POOL_CANCEL
                                     (written under the lock; atomic) */
    char pad_[64];
    exec_remote_t remote;         /* wakes the executor for `finished`: open
                                     while inflight (the executor's thread) */
    blocking_pool_waker_t_ waker; /* the remote's: hands them back */
    pthread_mutex_t lock;
    pthread_cond_t done;          /* scoped drops wait here */
    future_list_t queue;          /* blocking_t waiting for a thread: FIFO */
    size_t removed;               /* jobs taken off the queue (lock; atomic) */
    unsigned nthreads, nidle, core, max;
    unsigned nrun, nstuck;        /* threads running jobs; stuck ones of them */
    uint64_t keep_alive_ns, grow_ns;
    blocking_pool_slot_t_ *idle;  /* idle threads, the last one idle first */
    blocking_pool_slot_t_ *watcher; /* watches the runners, or 0 */
    int joined;                   /* shutdown done: every thread joined */
    blocking_pool_slot_t_ *slots;     /* max of them */
    exec_t *ex;
    blocking_pool_stats_t stats;      /* read under the lock, or when idle */
};

/* ---- the pool threads --------------------------------------------------- */

/* Under the lock: store the result and push the future on the finished
 * list. The first one pushed on an empty list wakes the executor, which
 * hands the whole list back at once (libuv's uv_async_send for its done
 * queue): one cross-thread wake per batch, not per job. The DONE store is
 * the last touch of the future. */
WEFT_API void blocking_pool_complete_(blocking_pool_t *pool, blocking_t *b, int64_t out,
                                       int err, int ran) {
    future_link_t *old;
    b->job = 0;
    b->ran = (unsigned char)ran;
    b->out = out;
    b->out_err = err;
    __atomic_store_n(&b->state, BLOCKING_WAKING_, __ATOMIC_RELEASE);
    b->finished = 1;
    old = __atomic_load_n(&pool->finished, __ATOMIC_RELAXED);
    do {
        b->link.next = old;
    } while (!EXEC_CAS_(&pool->finished, &old, &b->link));
    /* Open: b is in flight until the executor has seen DONE, after this. */
    if (!old) exec_remote_wake(&pool->remote);
    if (b->waiting) pthread_cond_broadcast(&pool->done);
    __atomic_store_n(&b->state, BLOCKING_DONE_, __ATOMIC_RELEASE); /* hands off */
}

/* Take the whole of a lock-free stack (pushed newest first) and hand it
 * back oldest first: 0 when it is empty. */
WEFT_API future_link_t *blocking_take_all_(future_link_t **stack) {
    future_link_t *l, *fifo = 0;
    if (!EXEC_LOAD_(stack)) return 0;
    l = EXEC_XCHG_(stack, (future_link_t *)0);
    while (l) {
        future_link_t *next = l->next;
        l->next = fifo;
        fifo = l;
        l = next;
    }
    return fifo;
}

/* On the executor thread: hand every finished job back, in the order they
 * finished: wake the task of each. */
WEFT_API void blocking_pool_hand_back_(blocking_pool_t *pool) {
    future_link_t *fifo = blocking_take_all_(&pool->finished);
    while (fifo) {
        blocking_t *b = FUTURE_CONTAINER_OF(fifo, blocking_t, link);
        fifo = fifo->next;
        b->finished = 0;
        __atomic_store_n(&pool->handed, pool->handed + 1, __ATOMIC_RELAXED);
        future_wake(b->waker);
    }
}

/* The pool remote's waker, on the executor thread. */
WEFT_API void blocking_pool_woken_(future_waker_t *w) {
    blocking_pool_hand_back_(((blocking_pool_waker_t_ *)(void *)w)->pool);
}

/* Under the lock: move what the executor pushed since into the queue, in
 * the order it came. */
WEFT_API void blocking_pool_take_inbox_(blocking_pool_t *pool) {
    future_link_t *fifo = blocking_take_all_(&pool->inbox);
    while (fifo) {
        future_link_t *next = fifo->next;
        future_list_push(&pool->queue, fifo);
        pool->stats.submitted++;
        fifo = next;
    }
}

/* Under the lock: is a job waiting? */
WEFT_API int blocking_pool_has_work_(blocking_pool_t *pool) {
    blocking_pool_take_inbox_(pool);
    return pool->queue.head != 0;
}

WEFT_API void blocking_pool_unlink_(blocking_pool_t *pool, blocking_t *b) {
    future_list_unlink(&pool->queue, &b->link);
    __atomic_store_n(&pool->removed, pool->removed + 1, __ATOMIC_RELAXED);
}

WEFT_API blocking_t *blocking_pool_pop_(blocking_pool_t *pool) {
    blocking_t *b = FUTURE_CONTAINER_OF(pool->queue.head, blocking_t, link);
    blocking_pool_unlink_(pool, b);
    return b;
}

/* A keep-alive this long (34 years) or longer means "forever": no deadline
 * is computed, so nothing overflows, even with a 32-bit time_t. */
#define BLOCKING_POOL_FOREVER_NS_ ((uint64_t)1 << 30 << 30)

/* now + ns on CLOCK_MONOTONIC; ns < BLOCKING_POOL_FOREVER_NS_, so the seconds
 * fit in any time_t for as long as a machine stays up. */
WEFT_API void blocking_pool_deadline_(struct timespec *ts, uint64_t ns) {
    ns += timer_clock_monotonic();
    ts->tv_sec = (time_t)(ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
}

/* Under the lock, after the threads' roles changed: would a new job need
 * one changed again (fewer runners than `threads` that are not stuck, or
 * no watcher), and can one be (an idle thread, or room for a new one)?
 * Submits read this without the lock (blocking_pool_submit_). */
WEFT_API void blocking_pool_want_(blocking_pool_t *pool) {
    int want = !pool->closing && (pool->idle || pool->nthreads < pool->max) &&
               (pool->nrun - pool->nstuck < pool->core || !pool->watcher);
    if (want != pool->want_kick) EXEC_STORE_(&pool->want_kick, want);
}

/* The idle list, under the lock: last in, first out, so the threads idle
 * longest are the ones whose keep-alive runs out. */
WEFT_API void blocking_pool_idle_push_(blocking_pool_t *pool, blocking_pool_slot_t_ *s) {
    s->role = BLOCKING_POOL_IDLE_;
    s->prev_idle = 0;
    s->next_idle = pool->idle;
    if (pool->idle) pool->idle->prev_idle = s;
    pool->idle = s;
    pool->nidle++;
}

WEFT_API void blocking_pool_idle_unlink_(blocking_pool_t *pool, blocking_pool_slot_t_ *s) {
    if (s->prev_idle) s->prev_idle->next_idle = s->next_idle;
    else pool->idle = s->next_idle;
    if (s->next_idle) s->next_idle->prev_idle = s->prev_idle;
    s->next_idle = s->prev_idle = 0;
    pool->nidle--;
}

/* Under the lock: s takes a role (it is idle, or just created). */
WEFT_API void blocking_pool_assign_(blocking_pool_t *pool, blocking_pool_slot_t_ *s, int role) {
    s->role = role;
    if (role == BLOCKING_POOL_RUN_) pool->nrun++;
    else if (role == BLOCKING_POOL_WATCH_) pool->watcher = s;
    else blocking_pool_idle_push_(pool, s);
}

WEFT_API void *blocking_pool_main_(void *p);

/* Under the lock: start one more thread, in a free slot, in role. 0 or
 * -errno. */
WEFT_API int blocking_pool_start_(blocking_pool_t *pool, int role) {
    unsigned i;
    sigset_t all, old;
    int rc;
    for (i = 0; i < pool->max; i++)
        if (pool->slots[i].state != BLOCKING_POOL_SLOT_LIVE_) break;
    if (i == pool->max) return -EAGAIN;
    if (pool->slots[i].state == BLOCKING_POOL_SLOT_EXITED_) /* gone: reap it */
        pthread_join(pool->slots[i].tid, 0);
    pool->slots[i].state = BLOCKING_POOL_SLOT_LIVE_;
    pool->slots[i].pool = pool;
    pool->slots[i].job = 0;
    pool->slots[i].stuck = 0;
    /* Pool threads take no signals: they are the application's. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&pool->slots[i].tid, 0, blocking_pool_main_, &pool->slots[i]);
    pthread_sigmask(SIG_SETMASK, &old, 0);
    if (rc) {
        pool->slots[i].state = BLOCKING_POOL_SLOT_FREE_;
        return -rc;
    }
    pool->nthreads++;
    pool->stats.created++;
    blocking_pool_assign_(pool, &pool->slots[i], role); /* before it runs */
    return 0;
}

/* Under the lock, with jobs queued: see that they start. Fewer than
 * `threads` runners that are not stuck: one more runner; else a watcher,
 * unless there is one, to notice runners that get stuck. An idle thread
 * takes the role, or a new one if none is idle (the pool grows). */
WEFT_API void blocking_pool_kick_(blocking_pool_t *pool) {
    int role = BLOCKING_POOL_RUN_;
    if (pool->closing) return; /* shutdown has woken every thread */
    if (pool->nrun - pool->nstuck >= pool->core) {
        if (pool->watcher) return;
        role = BLOCKING_POOL_WATCH_;
    }
    if (pool->idle) {
        blocking_pool_slot_t_ *s = pool->idle;
        blocking_pool_idle_unlink_(pool, s);
        blocking_pool_assign_(pool, s, role);
        pthread_cond_signal(&s->wake);
    } else if (pool->nthreads < pool->max) {
        (void)blocking_pool_start_(pool, role); /* on failure: at the next kick */
    }
    blocking_pool_want_(pool);
}

/* Under the lock, after a pool thread changed roles: publish want_kick,
 * then look at the inbox again. A submit that pushed before that store
 * may not have seen it, and skipped its kick: do it for it. (The store,
 * when the value changes, and this look are seq_cst; the submit's push
 * and its load of want_kick too: one of the two sees the other.) */
WEFT_API void blocking_pool_settle_(blocking_pool_t *pool) {
    blocking_pool_want_(pool);
    if (pool->want_kick && blocking_pool_has_work_(pool)) blocking_pool_kick_(pool);
}

/* Under the lock, on an idle thread: wait for a role. 1: leave (shut down
 * with nothing queued, or an extra thread idle for keep_alive_ns). */
WEFT_API int blocking_pool_idle_(blocking_pool_t *pool, blocking_pool_slot_t_ *s) {
    while (s->role == BLOCKING_POOL_IDLE_) {
        int rc = 0;
        if (pool->closing) { /* help drain the queue, then leave */
            blocking_pool_idle_unlink_(pool, s);
            if (!blocking_pool_has_work_(pool)) return 1;
            blocking_pool_assign_(pool, s, BLOCKING_POOL_RUN_);
            return 0;
        }
        if (pool->nthreads > pool->core && pool->keep_alive_ns < BLOCKING_POOL_FOREVER_NS_) {
            struct timespec ts; /* an extra thread: keep-alive */
            blocking_pool_deadline_(&ts, pool->keep_alive_ns);
            rc = pthread_cond_timedwait(&s->wake, &pool->lock, &ts);
        } else {
            pthread_cond_wait(&s->wake, &pool->lock);
        }
        if (rc == ETIMEDOUT && s->role == BLOCKING_POOL_IDLE_ && !pool->closing &&
            pool->nthreads > pool->core && !blocking_pool_has_work_(pool)) {
            blocking_pool_idle_unlink_(pool, s);
            pool->stats.exited++;
            return 1;
        }
    }
    return 0;
}

/* Under the lock: the runner in slot is done with its job (or discard);
 * if it had been found stuck, it counts against `threads` again. */
WEFT_API void blocking_pool_unbusy_(blocking_pool_t *pool, blocking_pool_slot_t_ *slot) {
    slot->job = 0;
    if (slot->stuck) {
        slot->stuck = 0;
        pool->nstuck--;
    }
}

/* Under the lock: with mark, mark the runners that have been in the same
 * job since the last look (their seq has not moved); then look again. How
 * many were marked. */
WEFT_API unsigned blocking_pool_find_stuck_(blocking_pool_t *pool, int mark) {
    unsigned i, n = 0;
    for (i = 0; i < pool->max; i++) {
        blocking_pool_slot_t_ *s = &pool->slots[i];
        if (mark && s->state == BLOCKING_POOL_SLOT_LIVE_ && s->role == BLOCKING_POOL_RUN_ &&
            s->job && !s->stuck && s->seq == s->seen) {
            s->stuck = 1;
            pool->nstuck++;
            n++;
        }
        s->seen = s->seq;
    }
    pool->stats.stuck += n;
    return n;
}

/* Under the lock, on the watcher: while jobs wait, look every grow_ns for
 * runners stuck in one job (a blocking call, a long computation, a job
 * waiting for a later one). They stop counting against `threads`, and the
 * watcher itself becomes a runner. With nothing queued it goes idle; on
 * shutdown it helps drain. */
WEFT_API void blocking_pool_watch_(blocking_pool_t *pool, blocking_pool_slot_t_ *s) {
    struct timespec ts;
    (void)blocking_pool_find_stuck_(pool, 0); /* only takes the marks */
    while (s->role == BLOCKING_POOL_WATCH_) {
        if (pool->closing || !blocking_pool_has_work_(pool)) {
            pool->watcher = 0;
            blocking_pool_assign_(pool, s, pool->closing ? BLOCKING_POOL_RUN_ : BLOCKING_POOL_IDLE_);
            blocking_pool_settle_(pool);
            return;
        }
        blocking_pool_deadline_(&ts, pool->grow_ns);
        while (!pool->closing && pthread_cond_timedwait(&s->wake, &pool->lock, &ts) != ETIMEDOUT) {
        } /* only shutdown signals it: anything else is spurious */
        if (pool->closing || !blocking_pool_find_stuck_(pool, 1)) continue;
        if (blocking_pool_has_work_(pool) && pool->nrun - pool->nstuck < pool->core) {
            pool->watcher = 0; /* a runner now: it takes the queue's head */
            blocking_pool_assign_(pool, s, BLOCKING_POOL_RUN_);
        } else {
            blocking_pool_settle_(pool);
        }
    }
}

/* A pool thread: idle, watching or running jobs, as its role says. */
WEFT_API void *blocking_pool_main_(void *p) {
    blocking_pool_slot_t_ *slot = (blocking_pool_slot_t_ *)p;
    blocking_pool_t *pool = slot->pool;
    blocking_job_t job;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        blocking_t *b;
        int64_t out;
        if (slot->role == BLOCKING_POOL_IDLE_) {
            if (blocking_pool_idle_(pool, slot)) break;
            continue;
        }
        if (slot->role == BLOCKING_POOL_WATCH_) {
            blocking_pool_watch_(pool, slot);
            continue;
        }
        /* A runner. Nothing queued, or more runners than `threads` (a
         * stuck one came back): it goes idle. */
        if (!blocking_pool_has_work_(pool) ||
            (pool->nrun - pool->nstuck > pool->core && !pool->closing)) {
            pool->nrun--;
            if (pool->closing && !pool->queue.head) break;
            blocking_pool_idle_push_(pool, slot);
            blocking_pool_settle_(pool);
            continue;
        }
        b = blocking_pool_pop_(pool);
        slot->seq++;
        blocking_pool_want_(pool); /* roles may have changed: the watcher's */
        if (pool->want_kick && blocking_pool_has_work_(pool)) blocking_pool_kick_(pool);
        memset(&job, 0, sizeof job);
        job.arg = b->arg;
        job.fn_ = b->fn;
        job.discard_ = b->discard;
        b->job = slot->job = &job;
        __atomic_store_n(&b->state, BLOCKING_RUNNING_, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&pool->lock);

        out = job.fn_(job.arg, &job); /* the job, off the lock */

        pthread_mutex_lock(&pool->lock);
        blocking_pool_unbusy_(pool, slot);
        pool->stats.ran++;
        if (!job.abandoned_) {
            blocking_pool_complete_(pool, b, out, job.err, 1);
        } else if (job.discard_) { /* the future is gone: b is not touched */
            /* The discard runs in this runner's slot as the job did: one
             * that blocks is found stuck like a job would be. */
            slot->seq++;
            slot->job = &job;
            pthread_mutex_unlock(&pool->lock);
            job.discard_(job.arg, out);
            pthread_mutex_lock(&pool->lock);
            blocking_pool_unbusy_(pool, slot);
        }
    }
    pool->nthreads--;
    slot->state = BLOCKING_POOL_SLOT_EXITED_;
    blocking_pool_want_(pool);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

#ifndef BLOCKING_BEFORE_PUSH_
#define BLOCKING_BEFORE_PUSH_(pool) ((void)0) /* a test hook: a shutdown here */
#endif

/* On the executor thread: queue b. 0, -EAGAIN (queue full) or -ECANCELED
 * (the pool is shutting down). Lock-free while the threads need no kick:
 * a push on the inbox. */
WEFT_API int blocking_pool_submit_(blocking_pool_t *pool, blocking_t *b) {
    future_link_t *old;
    int rc = 0;
    if (EXEC_LOAD_(&pool->closing)) return -ECANCELED;
    if (pool->pushed - pool->removed_seen >= pool->cap &&
        pool->pushed - (pool->removed_seen = __atomic_load_n(&pool->removed, __ATOMIC_RELAXED)) >=
            pool->cap) { /* it looked full, and it is */
        pthread_mutex_lock(&pool->lock);
        pool->stats.overflows++;
        pthread_mutex_unlock(&pool->lock);
        return -EAGAIN;
    }
    BLOCKING_BEFORE_PUSH_(pool);
    pool->pushed++;
    __atomic_store_n(&b->state, BLOCKING_QUEUED_, __ATOMIC_RELAXED); /* the push publishes it */
    old = __atomic_load_n(&pool->inbox, __ATOMIC_RELAXED);
    do {
        b->link.next = old;
    } while (!EXEC_CAS_(&pool->inbox, &old, &b->link));
    if (!EXEC_LOAD_(&pool->want_kick) && !EXEC_LOAD_(&pool->closing)) return 0;
    pthread_mutex_lock(&pool->lock);
    if (pool->closing) { /* raced with shutdown: take b back, if still queued */
        blocking_pool_take_inbox_(pool);
        if (EXEC_LOAD_(&b->state) == BLOCKING_QUEUED_) {
            blocking_pool_unlink_(pool, b);
            pool->stats.submitted--;
            EXEC_STORE_(&b->state, BLOCKING_IDLE_);
            rc = -ECANCELED;
        }
    } else if (blocking_pool_has_work_(pool)) {
        blocking_pool_kick_(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

/* ---- the pool ----------------------------------------------------------- */

WEFT_API int blocking_pool_on_own_thread_(const blocking_pool_t *pool) {
    unsigned i;
    for (i = 0; i < pool->max; i++)
        if (pool->slots[i].state == BLOCKING_POOL_SLOT_LIVE_ &&
            pthread_equal(pool->slots[i].tid, pthread_self()))
            return 1;
    return 0;
}

/* Stop the pool (see the contract): mode BLOCKING_POOL_DRAIN runs the queued
 * jobs, BLOCKING_POOL_CANCEL finishes them with -ECANCELED unrun and raises the
 * stop flag of running jobs. Running jobs finish either way; every thread
 * is joined before it returns. A second call does nothing (made while
 * another thread shuts the pool down, it waits until that is done). Call
 * it from outside the pool's jobs. */
WEFT_API void blocking_pool_shutdown(blocking_pool_t *pool, int mode) {
    unsigned i;
    pthread_mutex_lock(&pool->lock);
    if (blocking_pool_on_own_thread_(pool)) {
        pthread_mutex_unlock(&pool->lock);
        FUTURE_MISUSE("blocking_pool_shutdown from inside a pool job: a thread "
                      "cannot join itself; shut the pool down from the "
                      "executor's thread after exec_run");
        return;
    }
    if (pool->joined || pool->closing) { /* done, or being done elsewhere */
        while (!pool->joined) pthread_cond_wait(&pool->done, &pool->lock);
        pthread_mutex_unlock(&pool->lock);
        return;
    }
    /* From here submits are refused; one racing with this store sees it
     * after its push, and takes its job back (blocking_pool_submit_). */
    EXEC_STORE_(&pool->closing, mode == BLOCKING_POOL_DRAIN ? BLOCKING_POOL_DRAIN : BLOCKING_POOL_CANCEL);
    blocking_pool_want_(pool);
    if (pool->closing == BLOCKING_POOL_CANCEL) {
        while (blocking_pool_has_work_(pool)) { /* queued: finished unrun, woken */
            blocking_t *b = blocking_pool_pop_(pool);
            pool->stats.cancelled++;
            blocking_pool_complete_(pool, b, 0, -ECANCELED, 0);
        }
        for (i = 0; i < pool->max; i++)
            if (pool->slots[i].job) EXEC_STORE_(&pool->slots[i].job->stop_, 1);
    }
    for (i = 0; i < pool->max; i++) pthread_cond_signal(&pool->slots[i].wake);
    pthread_mutex_unlock(&pool->lock);
    /* No thread can start from here (submits are refused), so the slots
     * hold every thread there will ever be. */
    for (i = 0; i < pool->max; i++) {
        int st;
        pthread_mutex_lock(&pool->lock);
        st = pool->slots[i].state;
        pthread_mutex_unlock(&pool->lock);
        if (st == BLOCKING_POOL_SLOT_FREE_) continue;
        pthread_join(pool->slots[i].tid, 0);
        pthread_mutex_lock(&pool->lock);
        pool->slots[i].state = BLOCKING_POOL_SLOT_FREE_;
        pthread_mutex_unlock(&pool->lock);
    }
    pthread_mutex_lock(&pool->lock);
    pool->joined = 1;
    pthread_cond_broadcast(&pool->done); /* a concurrent shutdown waits */
    pthread_mutex_unlock(&pool->lock);
}

/* Shut down (cancelling queued jobs) if not done yet, and free the pool. */
WEFT_API void blocking_pool_destroy(blocking_pool_t *pool) {
    unsigned i;
    int joined;
    if (!pool->slots) return;
    blocking_pool_shutdown(pool, BLOCKING_POOL_CANCEL);
    pthread_mutex_lock(&pool->lock);
    joined = pool->joined;
    pthread_mutex_unlock(&pool->lock);
    if (!joined) return; /* misuse (from a job): threads live, free nothing */
    pthread_cond_destroy(&pool->done);
    for (i = 0; i < pool->max; i++) pthread_cond_destroy(&pool->slots[i].wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool->slots);
    pool->slots = 0;
}

/* Start a pool serving ex; opts may be 0 (every default). 0, or -errno
 * (ENOMEM; EAGAIN from pthread_create) with nothing left running. */
WEFT_API int blocking_pool_init(blocking_pool_t *pool, exec_t *ex, const blocking_pool_opts_t *opts) {
    blocking_pool_opts_t o;
    pthread_condattr_t ca;
    unsigned i;
    int rc = 0;
    memset(pool, 0, sizeof *pool);
    if (opts) o = *opts;
    else memset(&o, 0, sizeof o);
    if (!o.threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = n > 0 ? (unsigned)n : 1;
    }
    if (!o.max_threads) o.max_threads = o.threads * 8 > 16 ? o.threads * 8 : 16;
    if (o.max_threads < o.threads) {
        FUTURE_MISUSE("blocking_pool_init: max_threads is below threads: raise "
                      "max_threads, or leave it 0 for the default");
        return -EINVAL;
    }
    pool->core = o.threads;
    pool->max = o.max_threads;
    pool->keep_alive_ns = o.keep_alive_ns ? o.keep_alive_ns : 10 * TIMER_SEC;
    pool->grow_ns = o.grow_after_ns ? o.grow_after_ns : BLOCKING_POOL_GROW_AFTER_NS;
    if (pool->grow_ns >= BLOCKING_POOL_FOREVER_NS_) /* "never": 34 years */
        pool->grow_ns = BLOCKING_POOL_FOREVER_NS_ - 1;
    pool->cap = o.queue_cap ? o.queue_cap : (size_t)1 << 20;
    pool->ex = ex;
    pool->waker.w.wake = blocking_pool_woken_;
    pool->waker.pool = pool;
    pool->slots = (blocking_pool_slot_t_ *)calloc(pool->max, sizeof *pool->slots);
    if (!pool->slots) return -ENOMEM;
    pthread_mutex_init(&pool->lock, 0);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* timed waits */
    for (i = 0; i < pool->max; i++) pthread_cond_init(&pool->slots[i].wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&pool->done, 0);
    pthread_mutex_lock(&pool->lock);
    for (i = 0; i < pool->core && !rc; i++) rc = blocking_pool_start_(pool, BLOCKING_POOL_IDLE_);
    blocking_pool_want_(pool);
    pthread_mutex_unlock(&pool->lock);
    if (rc) blocking_pool_destroy(pool);
    return rc;
}

/* A copy of the pool's counters, with its thread count now. */
WEFT_API blocking_pool_stats_t blocking_pool_stats(blocking_pool_t *pool) {
    blocking_pool_stats_t s;
    pthread_mutex_lock(&pool->lock);
    blocking_pool_take_inbox_(pool); /* counts what was submitted */
    s = pool->stats;
    s.handed = __atomic_load_n(&pool->handed, __ATOMIC_RELAXED);
    s.threads = pool->nthreads;
    pthread_mutex_unlock(&pool->lock);
    return s;
}

/* How many threads the pool has now. */
WEFT_API unsigned blocking_pool_threads(blocking_pool_t *pool) {
    return blocking_pool_stats(pool).threads;
}

/* ---- the future: spawn_blocking ----------------------------------------- */

/* On the executor thread, before a submit: one more job in flight; the
 * first opens the pool's remote handle, and holds it open until the last
 * is seen done or dropped (then no pool thread will wake it). */
WEFT_API void blocking_register_(blocking_t *b) {
    blocking_pool_t *pool = b->pool;
    if (pool->inflight++ == 0) {
        exec_remote_init(&pool->remote, pool->ex);
        exec_remote_set_waker(&pool->remote, &pool->waker.w);
    }
    b->held = 1;
    exec_clock_hold(pool->ex); /* the paused clock waits for the job */
}

/* Undo blocking_register_. b is not on the finished list any more. */
WEFT_API void blocking_unregister_(blocking_t *b) {
    blocking_pool_t *pool = b->pool;
    if (!b->held) return;
    b->held = 0;
    exec_clock_unhold(pool->ex);
    if (--pool->inflight == 0) exec_remote_close(&pool->remote);
}

/* What it is doing, in words (exec_dump): "(queued)", "(running,
 * submitted 12 ms ago)" (once the executor's clock has moved), "(done)".
 * The state is read atomically (the pool threads write it). */
WEFT_API void blocking_describe_(const future_t *f, future_fmt_t *o) {
    const blocking_t *b = (const blocking_t *)(const void *)f;
    int st = EXEC_LOAD_(&b->state);
    uint64_t now = b->pool->ex->timers.now;
    if (st != BLOCKING_QUEUED_ && st != BLOCKING_RUNNING_) {
        future_fmt_str(o, "(done)"); /* the wake is on its way */
        return;
    }
    future_fmt_str(o, st == BLOCKING_QUEUED_ ? "(queued" : "(running");
    if (now > b->submitted) {
        future_fmt_str(o, ", submitted ");
        timer_fmt_duration(o, now - b->submitted);
        future_fmt_str(o, " ago");
    }
    future_fmt_str(o, ")");
}

WEFT_API coro_poll_t blocking_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "spawn_blocking", blocking_describe_};
    blocking_t *b = (blocking_t *)(void *)self;
    exec_t *ex;
    int rc;
    switch (EXEC_LOAD_(&b->state)) {
    case BLOCKING_IDLE_:
        ex = b->pool->ex;
        if (exec_of(cx) != ex) {
            FUTURE_MISUSE("blocking_t polled on another executor than its "
                          "pool's (or on none): give each executor its own "
                          "blocking_pool_t");
            return future_finish(self, -EINVAL);
        }
        b->waker = cx->waker;
        b->submitted = ex->timers.now;
        blocking_register_(b); /* before the push: a thread may finish it */
        rc = blocking_pool_submit_(b->pool, b);
        if (rc) {
            blocking_unregister_(b);
            return future_finish(self, rc);
        }
        future_set_kind(self, &kind);
        return CORO_PENDING;
    case BLOCKING_QUEUED_:
    case BLOCKING_RUNNING_:
        b->waker = cx->waker; /* the task may move */
        return CORO_PENDING;
    case BLOCKING_WAKING_:
        /* The pool thread is mid-completion, which it does under the pool's
         * lock: wait that out (a few instructions, unless it was preempted)
         * instead of re-polling in a loop, which spun the executor for a
         * whole time slice whenever the pool thread lost its CPU. */
        pthread_mutex_lock(&b->pool->lock);
        pthread_mutex_unlock(&b->pool->lock);
        CORO_FALLTHROUGH_; /* the completion has stored DONE */
    default: /* DONE: the pool thread is finished with us */
        if (!future_coop_spend(cx)) return CORO_PENDING;
        if (b->finished) blocking_pool_hand_back_(b->pool); /* off the list */
        blocking_unregister_(b);
        __atomic_store_n(&b->state, BLOCKING_IDLE_, __ATOMIC_RELAXED);
        return future_finish(self, b->out_err);
    }
}

/* Cancellation; see the table in the section comment. */
WEFT_API void blocking_drop_(future_t *self) {
    blocking_t *b = (blocking_t *)(void *)self;
    int s = EXEC_LOAD_(&b->state);
    /* IDLE and DONE are final for the pool threads: no lock needed. In the
     * others a pool thread may still come (or be mid-wake, WAKING): take
     * the lock, which waits out a completion in progress. */
    if (s != BLOCKING_IDLE_ && s != BLOCKING_DONE_) {
        blocking_pool_t *pool = b->pool;
        pthread_mutex_lock(&pool->lock);
        s = EXEC_LOAD_(&b->state);
        if (s == BLOCKING_QUEUED_) { /* never runs */
            blocking_pool_take_inbox_(pool); /* b may still be in the inbox */
            blocking_pool_unlink_(pool, b);
            pool->stats.cancelled++;
        } else if (s == BLOCKING_RUNNING_) {
            EXEC_STORE_(&b->job->stop_, 1);
            if (b->scoped) { /* fn borrows the frame: wait for it */
                b->waiting = 1;
                while (EXEC_LOAD_(&b->state) != BLOCKING_DONE_)
                    pthread_cond_wait(&pool->done, &pool->lock);
                b->waiting = 0;
                s = BLOCKING_DONE_;
            } else { /* the pool thread will leave b alone */
                b->job->abandoned_ = 1;
                b->job = 0;
                b->detached = 1;
            }
        }
        pthread_mutex_unlock(&pool->lock);
    }
    /* Done but never seen: off the finished list (the others on it are
     * handed back with it), and the result to .discard, as a drop while
     * running would, so a resource the job made does not leak by timing. */
    if (s == BLOCKING_DONE_ && b->finished) blocking_pool_hand_back_(b->pool);
    if (s == BLOCKING_DONE_ && b->ran && b->discard) b->discard(b->arg, b->out);
    blocking_unregister_(b);
    __atomic_store_n(&b->state, BLOCKING_IDLE_, __ATOMIC_RELAXED);
}

WEFT_API void blocking_setup_(blocking_t *b, blocking_pool_t *pool,
                                        blocking_fn fn, void *arg, int scoped) {
    future_init(&b->fut, blocking_poll_, blocking_drop_);
    b->out = 0;
    b->detached = 0;
    b->discard = 0;
    b->fn = fn;
    b->arg = arg;
    b->pool = pool;
    b->link.next = b->link.prev = 0;
    b->job = 0;
    b->out_err = 0;
    b->state = BLOCKING_IDLE_;
    b->scoped = (unsigned char)scoped;
    b->waiting = 0;
    b->held = 0;
    b->ran = 0;
    b->finished = 0;
    b->waker = 0;
    b->submitted = 0;
}

/* spawn_blocking(fn, arg) on pool: lazy, runs at the first poll. If the
 * future is dropped while fn runs, fn finishes detached: arg must outlive
 * the job (see the table). */
WEFT_API void blocking_init(blocking_t *b, blocking_pool_t *pool,
                                      blocking_fn fn, void *arg) {
    blocking_setup_(b, pool, fn, arg, 0);
}

/* As blocking_init, but fn may borrow memory from the frame: dropping
 * the future while fn runs raises its stop flag and waits (on the executor
 * thread) until fn returns. For short jobs, or jobs that check
 * blocking_stopping often. */
WEFT_API void blocking_init_scoped(blocking_t *b, blocking_pool_t *pool,
                                             blocking_fn fn, void *arg) {
    blocking_setup_(b, pool, fn, arg, 1);
}

#endif /* BLOCKING_H */
