/* blocking.h - a helper thread pool for blocking work: spawn_blocking as a
 * future (tokio's spawn_blocking, libuv's uv_queue_work), on exec.h.
 *
 * Async is for waiting. CPU-heavy work and blocking calls (file reads, DNS,
 * compression, a long loop in a handler) must not run on the executor's
 * thread, or every other task stalls while they run. blocking_t runs a
 * job on a pool of helper threads instead (tokio's spawn_blocking); the
 * awaiting task sleeps meanwhile and is woken through exec_remote_t when the
 * job is done. fs.h builds tokio::fs-like file helpers on it.
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
 *   - No allocation on the await path: the job's queue node, its remote
 *     handle and its result live in the blocking_t. The pool allocates
 *     only its thread table (blocking_pool_init) and threads (when it grows).
 *     No thread is created per job.
 *   - The completion wake is exec_remote_wake: lock-free, and it writes the
 *     executor's eventfd only when the executor is parked (no syscall while
 *     it is busy). A job in flight holds back the paused clock
 *     (exec_clock_hold), as in tokio, and counts as "something can wake the
 *     task" for the stall report.
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
 * pool's mutex): IDLE -> QUEUED (submit, under the lock) -> RUNNING (a pool
 * thread takes it, under the lock; the job's control block is on that
 * thread's stack) -> WAKING -> DONE (the pool thread, all under the lock:
 * store the result, exec_remote_wake, store DONE as its very last touch of
 * the future). The executor thread reads the state atomically when it polls
 * (DONE: take the result, close the remote handle; WAKING: wake itself and
 * look again), and takes the lock to drop a job in any other state than
 * IDLE or DONE (which the pool threads never leave), so drop never acts on
 * WAKING: it waits on the mutex while a completion's wake is in progress. A detached drop marks the control block on the pool thread's
 * stack "abandoned" under the lock; the pool thread sees it under the lock
 * when the job returns and leaves the future alone.
 *
 * The pool
 *   blocking_pool_init(&pool, &ex, &opts)   start opts.threads threads
 *   blocking_pool_opts_t                    threads (0: the number of CPUs) are
 *                                       kept; the pool grows by one thread
 *                                       when a job is queued and no idle
 *                                       thread is free to take it, up to
 *                                       max_threads (0: max(16, 8 * threads):
 *                                       a burst of jobs grows the pool to it);
 *                                       threads above `threads` exit after
 *                                       keep_alive_ns idle (0: 10 s;
 *                                       2^60 ns or more: never);
 *                                       queue_cap (0: 1 << 20) jobs may wait
 *                                       in the queue: one more finishes at
 *                                       once with -EAGAIN (never a hang)
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
 *   The executor and the pool may be destroyed in either order.
 *
 * Build: what exec.h needs (Linux, GCC or Clang, pthreads).
 */
#ifndef BLOCKING_H
#define BLOCKING_H

#include "exec.h"

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
typedef struct blocking {
    future_t fut;
    FUTURE_EXT_ union {
        int64_t out;    /* the job's return value, once ready */
        int64_t result; /* the same (its older name) */
    };
    int detached;   /* dropped while running (not scoped): arg is the job's */
    /* set before the first poll, if wanted: gets a detached job's result */
    void (*discard)(void *arg, int64_t result);
    /* private */
    blocking_fn fn;
    void *arg;
    blocking_pool_t *pool;
    future_link_t link;                /* in the pool's queue (pool lock) */
    blocking_job_t *job;          /* while running (pool lock) */
    int64_t out_;                      /* written by the pool thread... */
    int out_err;                       /* ...before it stores DONE */
    int state;                         /* BLOCKING_* (atomic) */
    int scoped;                        /* drop waits for a running job */
    int waiting;                       /* a scoped drop waits (pool lock) */
    int held;                          /* remote open, clock held */
    int ran;                           /* fn ran: out_ is its result */
    uint64_t submitted;                /* the executor's now at submit */
    exec_remote_t remote;              /* the completion wake */
} blocking_t;

typedef struct blocking_pool_opts {
    unsigned threads;       /* kept; 0: the number of CPUs */
    unsigned max_threads;   /* grow up to; 0: max(16, 8 * threads) */
    uint64_t keep_alive_ns; /* extra threads exit after this idle; 0: 10 s */
    size_t queue_cap;       /* jobs that may wait; 0: 1 << 20 */
} blocking_pool_opts_t;

enum { BLOCKING_POOL_DRAIN = 1, BLOCKING_POOL_CANCEL = 2 };

enum { BLOCKING_POOL_SLOT_FREE_ = 0, BLOCKING_POOL_SLOT_LIVE_, BLOCKING_POOL_SLOT_EXITED_ };

typedef struct blocking_pool_slot_ {
    pthread_t tid;
    blocking_pool_t *pool;
    blocking_job_t *job; /* the job it runs, or 0 (pool lock) */
    int state;                /* BLOCKING_POOL_SLOT_* (pool lock) */
} blocking_pool_slot_t_;

typedef struct blocking_pool_stats {
    uint64_t submitted;  /* jobs queued */
    uint64_t ran;        /* jobs run to their end */
    uint64_t cancelled;  /* queued jobs removed by drop or shutdown */
    uint64_t overflows;  /* submits refused: queue full (-EAGAIN) */
    uint64_t created;    /* threads started */
    uint64_t exited;     /* threads that left after their keep-alive */
    unsigned threads;    /* threads now (filled in by blocking_pool_stats) */
} blocking_pool_stats_t;

struct blocking_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;          /* idle threads wait here */
    pthread_cond_t done;          /* scoped drops wait here */
    future_list_t queue;          /* blocking_t waiting for a thread: FIFO */
    size_t nqueued, cap;
    unsigned nthreads, nidle, nsignal, core, max;
    uint64_t keep_alive_ns;
    int closing;                  /* 0, BLOCKING_POOL_DRAIN or BLOCKING_POOL_CANCEL */
    int joined;                   /* shutdown done: every thread joined */
    blocking_pool_slot_t_ *slots;     /* max of them */
    exec_t *ex;
    blocking_pool_stats_t stats;      /* read under the lock, or when idle */
};

/* ---- the pool threads --------------------------------------------------- */

/* Under the lock: hand the result to the future and wake it. The wake and
 * the DONE store are the last touches of the future. */
WEFT_API void blocking_pool_complete_(blocking_pool_t *pool, blocking_t *b, int64_t out,
                                       int err, int ran) {
    b->job = 0;
    b->ran = ran;
    b->out_ = out;
    b->out_err = err;
    EXEC_STORE_(&b->state, BLOCKING_WAKING_);
    exec_remote_wake(&b->remote);
    if (b->waiting) pthread_cond_broadcast(&pool->done);
    EXEC_STORE_(&b->state, BLOCKING_DONE_); /* from here: hands off */
}

WEFT_API void blocking_pool_unlink_(blocking_pool_t *pool, blocking_t *b) {
    future_list_unlink(&pool->queue, &b->link);
    pool->nqueued--;
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

WEFT_API void *blocking_pool_main_(void *p) {
    blocking_pool_slot_t_ *slot = (blocking_pool_slot_t_ *)p;
    blocking_pool_t *pool = slot->pool;
    blocking_job_t job;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        blocking_t *b;
        int64_t out;
        while (!pool->queue.head) {
            int rc = 0;
            if (pool->closing) goto out;
            pool->nidle++;
            if (pool->nthreads > pool->core && pool->keep_alive_ns < BLOCKING_POOL_FOREVER_NS_) {
                /* an extra thread: keep-alive */
                struct timespec ts;
                blocking_pool_deadline_(&ts, pool->keep_alive_ns);
                rc = pthread_cond_timedwait(&pool->work, &pool->lock, &ts);
            } else {
                pthread_cond_wait(&pool->work, &pool->lock);
            }
            pool->nidle--;
            if (pool->nsignal) pool->nsignal--;
            if (rc == ETIMEDOUT && !pool->queue.head && !pool->closing &&
                pool->nthreads > pool->core) {
                pool->stats.exited++;
                goto out;
            }
        }
        b = blocking_pool_pop_(pool);
        memset(&job, 0, sizeof job);
        job.arg = b->arg;
        job.fn_ = b->fn;
        job.discard_ = b->discard;
        b->job = slot->job = &job;
        EXEC_STORE_(&b->state, BLOCKING_RUNNING_);
        pthread_mutex_unlock(&pool->lock);

        out = job.fn_(job.arg, &job); /* the job, off the lock */

        pthread_mutex_lock(&pool->lock);
        slot->job = 0;
        pool->stats.ran++;
        if (!job.abandoned_) {
            blocking_pool_complete_(pool, b, out, job.err, 1);
        } else if (job.discard_) { /* the future is gone: b is not touched */
            pthread_mutex_unlock(&pool->lock);
            job.discard_(job.arg, out);
            pthread_mutex_lock(&pool->lock);
        }
    }
out:
    pool->nthreads--;
    slot->state = BLOCKING_POOL_SLOT_EXITED_;
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

/* Under the lock: start one more thread, in a free slot. 0 or -errno. */
WEFT_API int blocking_pool_grow_(blocking_pool_t *pool) {
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
    return 0;
}

/* On the executor thread: queue b. 0, -EAGAIN (queue full) or -ECANCELED
 * (the pool is shutting down). */
WEFT_API int blocking_pool_submit_(blocking_pool_t *pool, blocking_t *b) {
    pthread_mutex_lock(&pool->lock);
    if (pool->closing) {
        pthread_mutex_unlock(&pool->lock);
        return -ECANCELED;
    }
    if (pool->nqueued >= pool->cap) {
        pool->stats.overflows++;
        pthread_mutex_unlock(&pool->lock);
        return -EAGAIN;
    }
    future_list_push(&pool->queue, &b->link);
    pool->nqueued++;
    pool->stats.submitted++;
    EXEC_STORE_(&b->state, BLOCKING_QUEUED_);
    if (pool->nidle > pool->nsignal) { /* an idle thread nobody called yet */
        pool->nsignal++;
        pthread_cond_signal(&pool->work);
    } else if (pool->nthreads < pool->max) {
        (void)blocking_pool_grow_(pool); /* on failure the job waits its turn */
    }
    pthread_mutex_unlock(&pool->lock);
    return 0;
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
    pool->closing = mode == BLOCKING_POOL_DRAIN ? BLOCKING_POOL_DRAIN : BLOCKING_POOL_CANCEL;
    if (pool->closing == BLOCKING_POOL_CANCEL) {
        while (pool->queue.head) { /* queued: finished unrun, woken */
            blocking_t *b = blocking_pool_pop_(pool);
            pool->stats.cancelled++;
            blocking_pool_complete_(pool, b, 0, -ECANCELED, 0);
        }
        for (i = 0; i < pool->max; i++)
            if (pool->slots[i].job) EXEC_STORE_(&pool->slots[i].job->stop_, 1);
    }
    pthread_cond_broadcast(&pool->work);
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
    int joined;
    if (!pool->slots) return;
    blocking_pool_shutdown(pool, BLOCKING_POOL_CANCEL);
    pthread_mutex_lock(&pool->lock);
    joined = pool->joined;
    pthread_mutex_unlock(&pool->lock);
    if (!joined) return; /* misuse (from a job): threads live, free nothing */
    pthread_cond_destroy(&pool->done);
    pthread_cond_destroy(&pool->work);
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
    pool->cap = o.queue_cap ? o.queue_cap : (size_t)1 << 20;
    pool->ex = ex;
    pool->slots = (blocking_pool_slot_t_ *)calloc(pool->max, sizeof *pool->slots);
    if (!pool->slots) return -ENOMEM;
    pthread_mutex_init(&pool->lock, 0);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* keep-alive timeouts */
    pthread_cond_init(&pool->work, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&pool->done, 0);
    pthread_mutex_lock(&pool->lock);
    for (i = 0; i < pool->core && !rc; i++) rc = blocking_pool_grow_(pool);
    pthread_mutex_unlock(&pool->lock);
    if (rc) blocking_pool_destroy(pool);
    return rc;
}

/* A copy of the pool's counters, with its thread count now. */
WEFT_API blocking_pool_stats_t blocking_pool_stats(blocking_pool_t *pool) {
    blocking_pool_stats_t s;
    pthread_mutex_lock(&pool->lock);
    s = pool->stats;
    s.threads = pool->nthreads;
    pthread_mutex_unlock(&pool->lock);
    return s;
}

/* How many threads the pool has now. */
WEFT_API unsigned blocking_pool_threads(blocking_pool_t *pool) {
    return blocking_pool_stats(pool).threads;
}

/* ---- the future: spawn_blocking ----------------------------------------- */

/* Let go of the remote handle and the clock hold taken at submit. */
WEFT_API void blocking_unregister_(blocking_t *b) {
    if (!b->held) return;
    b->held = 0;
    exec_remote_close(&b->remote);
    exec_clock_unhold(b->pool->ex);
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
        exec_remote_init(&b->remote, ex);
        exec_remote_set_waker(&b->remote, cx->waker);
        b->submitted = ex->timers.now;
        rc = blocking_pool_submit_(b->pool, b);
        if (rc) {
            exec_remote_close(&b->remote);
            return future_finish(self, rc);
        }
        b->held = 1;
        exec_clock_hold(ex); /* the paused clock waits for the job */
        future_set_kind(self, &kind);
        return CORO_PENDING;
    case BLOCKING_QUEUED_:
    case BLOCKING_RUNNING_:
        exec_remote_set_waker(&b->remote, cx->waker); /* the task may move */
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
        blocking_unregister_(b);
        EXEC_STORE_(&b->state, BLOCKING_IDLE_);
        b->out = b->out_;
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
    /* Done but never seen: hand the result to .discard, as a drop while
     * running would, so a resource the job made does not leak by timing. */
    if (s == BLOCKING_DONE_ && b->ran && b->discard) b->discard(b->arg, b->out_);
    blocking_unregister_(b);
    EXEC_STORE_(&b->state, BLOCKING_IDLE_);
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
    b->out_ = 0;
    b->out_err = 0;
    b->state = BLOCKING_IDLE_;
    b->scoped = scoped;
    b->waiting = 0;
    b->held = 0;
    b->ran = 0;
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
