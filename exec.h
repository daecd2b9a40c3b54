/* exec.h - a single-threaded executor: tasks, timers, a reactor and wakes
 * from other threads or interrupt handlers; on Linux (epoll), any POSIX
 * system (poll) or bare metal (see "the backend" below).
 *
 * An executor (exec_t) polls tasks when they are woken, and never otherwise.
 * A task is a root future plus an exec_task_t (144 bytes on 64-bit, 96
 * without EXEC_METRICS), both in memory you provide. The loop runs woken
 * tasks in FIFO order, then looks at I/O and timers, and sleeps (in epoll,
 * poll, or your idle hook) when nothing is ready.
 *
 *     exec_t ex;
 *     exec_task_t t;
 *     exec_join_t join;
 *     fetch_t job;                    // your future
 *
 *     exec_init(&ex);
 *     fetch_init(&job, "a", 100);
 *     exec_spawn(&t, &ex, &job);      // queued: runs once the loop runs
 *     ...                             // inside another task's body:
 *     SPAWN(cx, &f->t, &f->job);      // owned by this frame (see below)
 *     exec_join_init(&f->join, &f->t);
 *     AWAIT(cx, &f->join);            // future_err(&f->join): job's error
 *     ...
 *     int err = exec_block_on(&ex, &main_future);  // #[tokio::main]
 *     exec_destroy(&ex);              // drops every task still alive
 *
 * Ownership: who may let a task go
 *   In C a task's memory (its record and its frame) belongs to someone: so
 *   does the task. Its owner is fixed at the spawn:
 *   - SPAWN(cx, &t, &fut) inside an async body: this very frame;
 *   - exec_scope_spawn(&scope, &t, &fut): the scope (below);
 *   - exec_spawn from inside a task: that task's root frame;
 *   - exec_spawn outside any task, exec_spawn_detached: the executor.
 *   When the owning frame is dropped, or finishes, it aborts the tasks it
 *   still owns (future_owned_t): a task never outlives the frame that
 *   holds its memory, and a function cannot leak tasks (structured
 *   concurrency; tokio's JoinSet drop, where a bare tokio::spawn would
 *   detach). A join handle (exec_join_t) waits for a task and, dropped
 *   before the task is done, aborts it. A task meant to outlive its
 *   spawner goes into a scope that lives longer, or exec_spawn_detached.
 *
 * Task scopes (exec_scope_t; tokio's JoinSet, tokio-util's TaskTracker)
 *   exec_scope_init(&s, &ex) / EXEC_SCOPE_INIT(cx, &s), then any number of
 *   exec_scope_spawn(&s, &t, &fut), also while it is awaited. An
 *   exec_scope_next_t (join_next) hands out finished tasks in the order
 *   they finish, with .task and .err; exec_scope_close + exec_scope_wait_t
 *   under a timeout, then exec_scope_abort, is the graceful shutdown.
 *   Dropping the scope's owner aborts every task in it. A scope owned by
 *   no frame (made outside any task) is exec_scope_release'd by hand.
 *   exec_dump shows tasks as a tree: each under the task whose frame owns
 *   it, grouped by scope; exec_task_set_name names them in every report.
 *
 * Lifetimes (caller-owned memory, no hidden allocation)
 *   exec_t        exec_init .. exec_destroy. Do not move it once initialised.
 *   exec_task_t   from exec_spawn until the task has finished (exec_run
 *                 returned, its join handle is ready, or exec_destroy); in
 *                 a scope, until join_next hands it out or the scope is
 *                 released. A finished task may be spawned again. Before its first
 *                 spawn, zero it (a zeroed frame, `= {0}`) or
 *                 exec_task_init it: spawn reads it to catch a second
 *                 spawn of a live task. (It trusts no bit of it alone:
 *                 stale memory never makes it free() or refuse, but
 *                 valgrind rightly reports the read.)
 *   the future    the same as its task. It is dropped (cancelled) by
 *                 exec_abort, exec_shutdown and exec_destroy.
 *   exec_scope_t  init .. its owner goes (or exec_scope_release). Zero it
 *                 before its first init (a zeroed frame): an init again
 *                 while its frame still owns it (a scope per round) first
 *                 lets the old one go, and it looks for that.
 *   exec_io_t     exec_io_start .. exec_io_stop (before the fd is closed).
 *   exec_remote_t exec_remote_init .. exec_remote_close, and no other thread
 *                 may call exec_remote_wake on it after the close begins.
 *
 * The contract
 *   - One thread polls: exec_run / exec_block_on and everything that touches
 *     tasks run on the executor's thread. Only exec_remote_wake (alias
 *     exec_isr_wake) may be called from other threads, signal handlers or
 *     interrupt handlers.
 *   - A wake is idempotent: a task is queued at most once, and a wake of a
 *     finished task does nothing.
 *   - Fairness: the ready queue is FIFO; each poll of a task gets a budget of
 *     EXEC_BUDGET units that leaf futures spend (future_coop_spend), and the
 *     loop looks at I/O and timers at least every EXEC_POLLS_PER_TURN polls.
 *     A task that keeps waking itself cannot starve the others.
 *   - Timers: the clock is read once per loop turn. exec_clock_pause stops
 *     it; then time moves only when nothing is runnable and no blocking job
 *     is running: it jumps to the next timer deadline (tokio's
 *     time::pause). Timer tests then run in microseconds, always alike.
 *   - A stall is reported: when tasks are alive but nothing (no timer, no
 *     fd, no remote handle, no blocking job) can ever wake them, exec_run
 *     and exec_block_on return -EDEADLK and print each stuck task's async
 *     backtrace to ex->log (stderr by default; 0 silences it; the bare
 *     backend has no log unless EXEC_STDIO: it only returns -EDEADLK).
 *
 * Errors: -EBUSY spawning a task that is alive (or held by its scope);
 * -EPIPE spawning into a closed scope; -ECANCELED from a join
 * handle whose task was aborted or shut down, and from spawn during
 * shutdown; -EDEADLK as above and from a nested exec_run / exec_block_on;
 * -EINVAL joining a task never spawned, and from exec_run / exec_block_on
 * when a timer waits on a bare executor that has no clock (reported: time
 * would never move); exec_init returns -errno (EMFILE,
 * ENFILE, ENOMEM) when it cannot get its epoll and eventfd (its pipe).
 *
 * Blocking work goes to blocking.h's helper thread pool (blocking_t is
 * tokio's spawn_blocking as a future). To find it, the blocked-executor
 * detector (a debug option, off by default):
 *   exec_set_block_threshold(&ex, ns, out): every poll that holds the
 *   executor's thread for longer than ns is reported to out (stderr if 0):
 *   the task, where its root future and its deepest child were resumed
 *   (file:line), where it stopped, how long it took, and the hint to use
 *   spawn_blocking. ns = 0 turns it off. Costs two clock reads per poll
 *   while on, one predictable branch while off.
 *
 * Metrics, hooks and a timeline (-DEXEC_METRICS=1; below): every task has an
 * id (exec_task_id); exec_set_metrics(&ex, 1) counts each task's polls,
 * wakes, busy time, longest poll and time queued (exec_task_metrics,
 * shown by exec_dump); exec_set_hooks calls yours at spawn, poll start and
 * end, wake and finish; exec_trace_start records polls and wakes into
 * your buffer and exec_trace_write writes them as Chrome trace-event JSON
 * (ui.perfetto.dev). All off (the default), a poll costs what it did.
 *
 * Child processes: exec_spawnattr_init / exec_child_sigreset give a child
 * a clean signal mask (pool threads and io_signal_open block signals).
 *
 * On a microcontroller (EXEC_BACKEND_BARE: no OS, no threads, no stdio)
 *
 *     #define EXEC_BACKEND_BARE 1
 *     #include "exec.h"
 *     static uint32_t ms(void *ctx) { return systick_ms; } // wraps: fine
 *     static void idle(exec_t *ex, timer_time_t deadline, void *ctx) {
 *         __disable_irq();
 *         if (!exec_wake_pending(ex)) __WFI();   // a pending IRQ ends it
 *         __enable_irq();
 *     }
 *     void SysTick_Handler(void) { systick_ms++; exec_isr_wake(&tick_handle); }
 *     ...
 *     exec_init(&ex);
 *     exec_set_tick_clock(&ex, ms, 0, 1000000); // ns a tick (EXEC_TICK_TIME: unread)
 *     exec_set_idle(&ex, idle, 0);
 *     exec_block_on(&ex, &app);
 *
 *   Interrupt handlers may call exec_isr_wake (exec_remote_wake) and
 *   nothing else of the library: everything else runs on the loop.
 *   exec_dump and the blocked-executor detector need stdio (EXEC_STDIO
 *   brings them back); exec_spawn_detached needs malloc (EXEC_MALLOC).
 *   EXEC_TICK_TIME keeps the executor's time in the counter's own 32-bit
 *   ticks (no 64-bit ns): sleeps then take ticks, exec_now returns them.
 *
 * The knobs: EXEC_BUDGET (128), EXEC_POLLS_PER_TURN (61), EXEC_MAX_EVENTS
 * (256): define before including to change them. EXEC_TICK_TIME (bare
 * backend only; below): time in 32-bit wrapping ticks, ~1 KB less code on
 * a Cortex-M0+. EXEC_STATS (1): 0 drops exec_t.stats. EXEC_METRICS (0): 1
 * brings task ids, metrics, hooks and timelines, 48 bytes a task (64-bit);
 * define it the same way in every file of a program (it changes
 * exec_task_t).
 * EXEC_NO_EPOLL_PWAIT2: define to wait with epoll_wait only (whole
 * milliseconds); by default
 * epoll_pwait2 is tried and any failure of it switches to epoll_wait.
 * EXEC_POLL_MAX_FDS (1024): the poll backend's limit of registered fds
 * (exec_io_start says -EMFILE past it). The backend: EXEC_BACKEND_EPOLL,
 * EXEC_BACKEND_POLL, EXEC_BACKEND_BARE (below).
 *
 * Build: GCC or Clang (their __atomic builtins). Hosted backends need
 * pthreads; exec.h then defines _GNU_SOURCE and _FILE_OFFSET_BITS=64
 * (64-bit off_t and inode numbers on 32-bit systems): include it before
 * any system header, or compile with -D_GNU_SOURCE
 * -D_FILE_OFFSET_BITS=64. A 32-bit off_t stops the build with that advice.
 */
#ifndef EXEC_H
#define EXEC_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* 64-bit file offsets and inode numbers on 32-bit glibc too: without them
 * stat, readdir and open fail with EOVERFLOW on a file over 2 GiB or on a
 * file system with 64-bit inode numbers (XFS, btrfs, overlayfs: most CI
 * machines). A no-op on 64-bit and on musl. */
#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#endif

/* ---- the backend: what touches the OS ------------------------------------
 *
 * The executor's core (tasks, the ready queue, wakers, join handles, abort,
 * the budget, timers, stall detection, the paused clock) is portable C.
 * What waits for events, wakes the loop from elsewhere and reads the clock
 * is a backend, chosen when exec.h is compiled. Define one of these before
 * including it, or let it choose:
 *   EXEC_BACKEND_EPOLL  Linux (the default there): epoll, an eventfd for
 *                       wakes from other threads, nanosecond waits.
 *   EXEC_BACKEND_POLL   any POSIX system (the default on other Unixes:
 *                       macOS, the BSDs): poll(2) over the registered fds,
 *                       a self-pipe for wakes; waits in whole ms.
 *   EXEC_BACKEND_BARE   no OS (the default where there is no Unix): no
 *                       fds, threads or stdio. The clock is yours
 *                       (exec_set_clock, exec_set_tick_clock), idle time
 *                       goes to your hook (exec_set_idle: __WFI()), and
 *                       interrupt handlers wake tasks (exec_isr_wake).
 * The API is the same on all three, except the reactor (exec_io_*, and
 * io.h over it), which needs fds (epoll and poll), and what needs stdio
 * or threads (exec_dump, the blocked-executor detector, blocking.h), which
 * the bare backend leaves out unless EXEC_STDIO is defined. */
#if !defined(EXEC_BACKEND_EPOLL) && !defined(EXEC_BACKEND_POLL) && !defined(EXEC_BACKEND_BARE)
#if defined(__linux__)
#define EXEC_BACKEND_EPOLL 1
#elif defined(__unix__) || defined(__unix) || (defined(__APPLE__) && defined(__MACH__))
#define EXEC_BACKEND_POLL 1
#else
#define EXEC_BACKEND_BARE 1
#endif
#endif
#if defined(EXEC_BACKEND_EPOLL) + defined(EXEC_BACKEND_POLL) + defined(EXEC_BACKEND_BARE) != 1
#error "exec.h: define one of EXEC_BACKEND_EPOLL, EXEC_BACKEND_POLL, EXEC_BACKEND_BARE"
#endif
#ifdef EXEC_BACKEND_BARE
#if defined(EXEC_STDIO)
#define EXEC_HAVE_STDIO_ 1
#endif
#if !defined(EXEC_NO_MALLOC) && !defined(EXEC_MALLOC)
#define EXEC_NO_MALLOC 1 /* exec_spawn_detached would pull malloc in */
#endif
#else
#define EXEC_HAVE_FDS_ 1     /* the reactor: exec_io_* */
#define EXEC_HAVE_THREADS_ 1 /* pthreads: wakes from other threads */
#define EXEC_HAVE_STDIO_ 1   /* exec_dump, stall reports, the detector */
#endif
/* EXEC_METRICS (0): 1 brings task ids, per-task metrics, the hooks and
 * the timeline (see "Metrics, hooks and the timeline"), as tokio keeps
 * its metrics behind tokio_unstable: an opt-in, because every task pays
 * 48 bytes for them (on 64-bit), used or not. 0 leaves them out and the
 * poll path is as before. */
#ifndef EXEC_METRICS
#define EXEC_METRICS 0
#endif
/* EXEC_STATS (1): 0 leaves out exec_t.stats, the executor's counters
 * (polls, turns, parks...): 64 bytes of RAM (72 with their alignment on
 * a Cortex-M0+) and there ~80 bytes of code for their 64-bit
 * increments. Code that reads ex.stats then does not compile. Not with
 * EXEC_METRICS (its timer_fires lives there). */
#ifndef EXEC_STATS
#define EXEC_STATS 1
#endif
#if !EXEC_STATS && EXEC_METRICS
#error "EXEC_STATS 0: not with EXEC_METRICS (which counts into exec_t.stats)"
#endif
/* EXEC_TICK_TIME (bare backend only): the executor keeps time in your
 * counter's 32-bit ticks, not in 64-bit nanoseconds (timer.h's
 * TIMER_TICK_TIME, which it sets: read its rules). exec_now, sleeps,
 * timeouts and the idle hook's deadline are then ticks (timer_time_t,
 * uint32_t) that wrap; exec_set_tick_clock is the clock (its ns_per_tick
 * is not read; exec_set_clock does not exist); each idle wait is at most
 * TIMER_TICK_MAX ticks, so the counter is read at least every 2^31 ticks;
 * exec_clock_advance(ex, ticks) takes any uint32_t. No 64-bit arithmetic
 * is left on the timer path: on a Cortex-M0+ it saves ~1 KB of code (see
 * README "On a microcontroller"). Not with EXEC_METRICS or EXEC_STDIO
 * (their clocks are ns). Define it the same in every file of a program. */
#ifdef EXEC_TICK_TIME
#ifndef EXEC_BACKEND_BARE
#error "EXEC_TICK_TIME is for the bare backend (EXEC_BACKEND_BARE): hosted clocks count ns"
#endif
#if EXEC_METRICS || defined(EXEC_STDIO)
#error "EXEC_TICK_TIME: not with EXEC_METRICS or EXEC_STDIO (they time polls in ns)"
#endif
#ifndef TIMER_TICK_TIME
#define TIMER_TICK_TIME 1
#endif
#endif


#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <limits.h>
#ifndef EXEC_NO_MALLOC
#include <stdlib.h>
#endif
#ifdef EXEC_HAVE_STDIO_
#include <stdio.h>
#include <stdlib.h>
#endif
#ifdef EXEC_HAVE_FDS_
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#endif
#ifdef EXEC_BACKEND_EPOLL
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#endif
#ifdef EXEC_BACKEND_POLL
#include <poll.h>
#include <sys/stat.h>
#endif

#include "future.h"
#include "timer.h"

#if defined(EXEC_TICK_TIME) != defined(TIMER_TICK_TIME)
#error "EXEC_TICK_TIME and TIMER_TICK_TIME go together: define EXEC_TICK_TIME before including any weft header"
#endif
/* A wait's timeout: -1 forever, 0 just look, or ns (ticks in tick time). */
#ifdef EXEC_TICK_TIME
typedef int32_t exec_wait_t_;
#else
typedef int64_t exec_wait_t_;
#endif

#if defined(EXEC_HAVE_FDS_) && !defined(CLOCK_MONOTONIC)
#error "exec.h needs POSIX clocks: compile with -D_GNU_SOURCE or include exec.h before any system header"
#endif
#if defined(EXEC_HAVE_FDS_) && defined(__GLIBC__) && !defined(__USE_FILE_OFFSET64) &&          \
    !defined(__OFF_T_MATCHES_OFF64_T)
#error "exec.h needs 64-bit file offsets (off_t is 32 bits here: stat and readdir would fail with EOVERFLOW): compile with -D_FILE_OFFSET_BITS=64 or include exec.h before any system header"
#endif
#ifdef EXEC_HAVE_FDS_ /* the same, on a libc that is not glibc */
typedef char exec_needs_64_bit_off_t_compile_with_D_FILE_OFFSET_BITS_64_[
    sizeof(off_t) >= 8 ? 1 : -1];
#endif

/* Where reports go: a FILE where there is stdio (void, and unused, where
 * there is none). */
#ifdef EXEC_HAVE_STDIO_
typedef FILE exec_file_t;
#else
typedef void exec_file_t;
#endif

#ifndef EXEC_BUDGET
#define EXEC_BUDGET 128
#endif
#ifndef EXEC_POLLS_PER_TURN
#define EXEC_POLLS_PER_TURN 61
#endif
#ifndef EXEC_MAX_EVENTS
#define EXEC_MAX_EVENTS 256
#endif

/* Atomics shared with other threads, through the GCC/Clang builtins so the
 * header reads the same as C and as C++. Sequentially consistent: the park
 * protocol below depends on it. */
#define EXEC_LOAD_(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define EXEC_STORE_(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define EXEC_XCHG_(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define EXEC_CAS_(p, old, v)                                                   \
    __atomic_compare_exchange_n((p), (old), (v), 1, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
#define EXEC_ADD_(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)

typedef struct exec exec_t;
typedef struct exec_task exec_task_t;

/* Task states (bits). */
enum {
    EXEC_TASK_LIVE_ = 1,    /* spawned and not finished */
    EXEC_TASK_QUEUED_ = 2,  /* on the ready queue */
    EXEC_TASK_DONE_ = 4,    /* finished: err holds the result */
    EXEC_TASK_ABORT_ = 8,   /* abort requested: drop at the next turn */
    EXEC_TASK_BOXED_ = 16,  /* storage from exec_spawn_detached: freed at the end */
    EXEC_TASK_RUNNING_ = 32,/* being polled or dropped */
    EXEC_TASK_NOTIFIED_ = 64,/* woken while running: queue it after the poll */
    EXEC_TASK_HELD_ = 128,  /* finished, kept by its scope until join_next */
    EXEC_TASK_SCOPED_ = 256,/* scope_ (not parent_) is set: spawned into a scope */
    EXEC_TASK_JOINED_ = 512 /* a join handle waits: join_ (not name_) is set */
};

struct exec_scope;
struct exec_join;

#if EXEC_METRICS
/* A task's metrics (exec_task_metrics): its id always; the rest is counted
 * while exec_set_metrics or a trace is on, in the executor's clock (ns;
 * paused, it stands still: a poll then takes 0 ns, exactly). The counts
 * are 32-bit and wrap (take differences): they keep the task small. */
typedef struct exec_task_metrics {
    uint64_t id;          /* exec_task_id: 1, 2, ... per executor, at spawn */
    uint64_t busy_ns;     /* time spent inside its polls */
    uint64_t max_poll_ns; /* its longest poll */
    uint64_t queued_ns;   /* time spent woken (or spawned) but not yet polled */
    uint64_t queued_at;   /* when it was last queued (for queued_ns) */
    uint32_t polls;       /* polls */
    uint32_t wakes;       /* wakes that found it not already queued */
} exec_task_metrics_t;
#endif

/* A task, beside its future, in memory the caller owns: 96 bytes on
 * 64-bit (52 on 32-bit, 48 with CORO_RC_T=int16_t), 144 (100 to 104)
 * with EXEC_METRICS, as each union below holds one word that two uses
 * share, never needed at once (a state bit says which one is there). Read the task
 * through the functions (exec_task_name...), not the fields. (No union on
 * the ready-queue link: a store through a union may alias the state, and
 * clang then reloads it on every wake.) */
struct exec_task {
    future_waker_t waker;       /* the task's waker (first member) */
    exec_task_t *next;          /* in the ready queue */
    future_link_t live;         /* in the live list (or its scope's done list) */
    exec_t *ex;
    future_t *fut;              /* the root future */
    future_owned_t own;         /* in its owner's list: a frame's or a scope's */
    FUTURE_EXT_ union {         /* who it belongs to (exec_task_parent_) */
        struct exec_scope *scope_; /* SCOPED: the scope it was spawned into,
                                      whose parent is the task's */
        exec_task_t *parent_;   /* otherwise: the task whose frame owns it, or 0 */
    };
    FUTURE_EXT_ union {         /* exec_task_name */
        const char *name_;      /* for reports (exec_task_set_name), or 0 */
        struct exec_join *join_;/* JOINED: the join handle waiting for the
                                   task; it keeps the name meanwhile */
    };
    coro_rc_t err;              /* the result, once done (a future's error:
                                   16 bits under CORO_RC_T=int16_t) */
    unsigned short state;       /* EXEC_TASK_* bits (10 of them) */
#if EXEC_METRICS
    exec_task_metrics_t m;      /* exec_task_id, exec_task_metrics */
#endif
};

/* A future that waits for a task and yields its result: see "join
 * handles" below. */
typedef struct exec_join {
    future_t fut;
    exec_task_t *task;
    future_waker_t *waiting; /* whom the task's end wakes, while registered */
    const char *name;        /* the task's name while registered (the task's
                                name_ word points at this handle instead) */
} exec_join_t;

/* A task scope (tokio's JoinSet, a nursery): see "Task scopes" below. */
typedef struct exec_scope {
    future_owned_t own;         /* in its owner frame's list, or unlinked */
    exec_t *ex;
    future_owned_t *running;    /* its live tasks (their own nodes) */
    future_list_t done;         /* finished, not yet handed out, in finish order */
    size_t nrunning, ndone;
    future_waker_t *waiter;     /* a join_next / wait future waiting, or 0 */
    exec_task_t *parent;        /* the task whose frame owns the scope, or 0 */
    const char *name;
    int closed;                 /* no more spawns */
} exec_scope_t;

/* A handle that other threads, signal handlers or interrupt handlers use
 * to wake a future on this executor (libuv's uv_async_t). Many wakes
 * before the executor gets to it count as one. */
typedef struct exec_remote {
    struct exec_remote *next; /* in the executor's remote queue (bare: in
                                 its list of every open handle) */
    exec_t *ex;
    future_waker_t *waker;    /* who to wake, set on the executor thread */
    int pending;              /* queued and not yet delivered (atomic) */
    int busy;                 /* wakes still inside exec_remote_wake (atomic) */
} exec_remote_t;

/* An fd registered with the reactor, edge-triggered, once. */
enum { EXEC_IO_READ = 1, EXEC_IO_WRITE = 2 };

typedef struct exec_io {
    int fd;
    unsigned ready;           /* EXEC_IO_* seen and not yet used up */
    future_waker_t *reader;   /* waiting for EXEC_IO_READ, or 0 */
    future_waker_t *writer;   /* waiting for EXEC_IO_WRITE, or 0 */
    exec_t *ex;
    unsigned hup;             /* a hangup or error was seen (sticky): a short
                                 read or write no longer proves the fd drained */
#ifdef EXEC_BACKEND_POLL
    struct exec_io *io_next, *io_prev; /* in the executor's fd list */
#endif
} exec_io_t;

typedef struct exec_stats {
    uint64_t polls;     /* task polls */
    uint64_t turns;     /* loop turns */
    uint64_t parks;     /* times the loop slept (in epoll, poll, the idle hook) */
    uint64_t io_checks; /* non-blocking fd checks while busy */
    uint64_t remote;    /* remote wakes delivered */
    uint64_t efd_writes;/* eventfd (or pipe) writes by other threads (atomic) */
    uint64_t io_events; /* fd readiness events dispatched (an fd's event, once) */
    uint64_t timer_fires;/* timers fired (sleeps, timeouts...; EXEC_METRICS) */
} exec_stats_t;

#if EXEC_METRICS
/* Hooks (exec_set_hooks): tokio's on_task_spawn, on_before_task_poll,
 * on_after_task_poll, on_task_terminate, and a wake. */
typedef struct exec_hooks {
    void (*spawn)(void *ctx, exec_task_t *t);      /* t queued for its first poll */
    void (*poll_start)(void *ctx, exec_task_t *t);
    void (*poll_end)(void *ctx, exec_task_t *t, int ready); /* ready: it finished */
    void (*wake)(void *ctx, exec_task_t *t, exec_task_t *by); /* by: the task
                        running (or ending: its joiner), or 0 (the loop: a timer,
                        I/O, a remote wake); t may be running (a yield) */
    void (*finish)(void *ctx, exec_task_t *t, int err); /* ran out or dropped */
} exec_hooks_t;

/* One event of a timeline (exec_trace_t), in the caller's buffer. */
enum { EXEC_TRACE_POLL = 1, EXEC_TRACE_WAKE, EXEC_TRACE_SPAWN, EXEC_TRACE_NAME,
       EXEC_TRACE_FINISH };
typedef struct exec_trace_event {
    uint64_t ts;       /* executor clock, ns (a poll: when it began) */
    uint64_t task;     /* the task's id (a wake: the waker's; a spawn: the new task's) */
    FUTURE_EXT_ union {
        uint64_t arg;     /* poll: its duration (ns); wake: the woken task's
                             id; spawn: the spawner's (0: none); finish: err */
        const char *name; /* name: the task's name, or 0 */
    };
    int kind;          /* EXEC_TRACE_* */
} exec_trace_event_t;

typedef struct exec_trace {
    exec_trace_event_t *ev; /* the caller's buffer */
    size_t cap, len;
    uint64_t dropped;       /* events that found the buffer full */
    uint64_t t0;            /* the clock at exec_trace_start: ts 0 in the JSON */
} exec_trace_t;

/* Which instrumentation is on (exec_t.instr). */
enum { EXEC_INSTR_BLOCK_ = 1, EXEC_INSTR_METRICS_ = 2, EXEC_INSTR_TRACE_ = 4,
       EXEC_INSTR_HOOKS_ = 8 };
#define EXEC_INSTR_CLOCK_ (EXEC_INSTR_METRICS_ | EXEC_INSTR_TRACE_) /* read the clock */
#endif

struct exec {
    exec_task_t *head, *tail;  /* the ready queue, FIFO */
    /* Bytes, near the front: a Cortex-M0's byte loads reach 31 bytes in. */
    unsigned char paused;      /* the clock is paused */
    unsigned char running;     /* inside exec_run / exec_block_on */
    unsigned char closing;     /* shutting down: spawn refused */
    future_list_t live;        /* every live task, newest first, for shutdown */
    size_t nlive;
    exec_task_t *current;      /* the task being polled, or 0 */
    timer_wheel_t timers;
#ifdef EXEC_BACKEND_EPOLL
    int epfd, efd;             /* the epoll instance, the wake eventfd */
    int no_pwait2;             /* epoll_pwait2 failed once: use epoll_wait */
#endif
#ifdef EXEC_BACKEND_POLL
    int wake_fds[2];           /* the self-pipe: read end, write end */
    exec_io_t *ios;            /* the registered fds, newest first */
#endif
#ifdef EXEC_HAVE_FDS_
    size_t nio;                /* fds registered (EXEC_NIO_: 0 on bare) */
#endif
    size_t nremote;            /* remote handles open */
    size_t holds;              /* clock holds (blocking jobs running) */
    exec_remote_t *remote;     /* the remote queue: a lock-free stack (atomic);
                                  bare: every open handle (loop thread only) */
    int parked;                /* waiting in the backend (atomic) */
    int efd_signalled;         /* the backend was woken and has not yet
                                  consumed the wake (atomic); bare: an
                                  interrupt woke a handle (exec_wake_pending) */
#ifdef EXEC_TICK_TIME
    timer_time_t clock_offset; /* ticks added to the counter (wrapping) */
#else
    int64_t clock_offset;      /* ns added to the clock source */
#endif
    unsigned select_seq;       /* where the next fresh SELECT starts */
#ifndef EXEC_TICK_TIME
    uint64_t (*clock_fn)(void *ctx); /* the clock source, or 0: monotonic */
    void *clock_ctx;
#endif
    /* exec_set_tick_clock: a wrapping 32-bit tick counter, extended (in
     * tick time: read as it is, plus clock_offset) */
    uint32_t (*tick_fn)(void *ctx);
    void *tick_ctx;
#ifndef EXEC_TICK_TIME
    uint64_t tick_ns;          /* ns per tick (0: no tick clock) */
    timer_tick32_t tick;
#endif
#ifdef EXEC_BACKEND_BARE
    void (*idle_fn)(exec_t *ex, timer_time_t deadline, void *ctx); /* exec_set_idle */
    void *idle_ctx;
#endif
#ifdef EXEC_HAVE_THREADS_
    pthread_t owner;           /* the thread running the loop */
#endif
#ifdef EXEC_HAVE_STDIO_
    exec_file_t *log;          /* where stalls are reported, or 0 */
#endif
#if EXEC_STATS
    exec_stats_t stats;
#endif
    exec_task_t main_task;     /* exec_block_on's task */
#ifdef EXEC_HAVE_STDIO_
    /* the blocked-executor detector (exec_set_block_threshold; 0: off) */
    uint64_t block_ns;         /* report a poll longer than this */
    FILE *block_log;           /* where reports go */
    uint64_t block_t0;         /* when the poll being timed began */
    const char *block_at[2];   /* its root's and deepest child's co.at */
    uint64_t block_reports;    /* how many polls were reported */
#endif
#if EXEC_METRICS
    unsigned instr;            /* EXEC_INSTR_* bits: 0, one branch per poll */
    unsigned poll_on;          /* the bits the poll being timed began with */
    uint64_t poll_t0;          /* when it began (the executor's clock) */
    uint64_t last_id;          /* the last task id given */
    const exec_hooks_t *hooks;
    void *hooks_ctx;
    exec_trace_t *trace;       /* the timeline being recorded, or 0 */
    exec_task_t *ending;       /* the task whose end is waking others, or 0 */
#endif
};

/* ---- the clock ---------------------------------------------------------- */

#ifdef EXEC_TICK_TIME
/* Tick time: the clock is the counter plus an offset, both wrapping; no
 * 64-bit arithmetic. The counter, or 0 before exec_set_tick_clock. */
WEFT_API timer_time_t exec_counter_(const exec_t *ex) {
    return ex->tick_fn ? ex->tick_fn(ex->tick_ctx) : 0;
}

WEFT_API timer_time_t exec_clock_read_(const exec_t *ex) {
    return exec_counter_(ex) + ex->clock_offset;
}
#else
/* The executor's clock runs from 0 to EXEC_CLOCK_MAX ns (292 years) and
 * stops there: every offset and sum below saturates instead of wrapping. */
#define EXEC_CLOCK_MAX ((uint64_t)INT64_MAX)

/* The clock source, without the offset: CLOCK_MONOTONIC in ns, or the
 * user's (exec_set_clock). */
WEFT_API int64_t exec_clock_source_(const exec_t *ex) {
#ifdef EXEC_HAVE_FDS_
    uint64_t ns = ex->clock_fn ? ex->clock_fn(ex->clock_ctx) : timer_clock_monotonic();
#else /* bare: no clock until exec_set_clock / exec_set_tick_clock gives one */
    uint64_t ns = ex->clock_fn ? ex->clock_fn(ex->clock_ctx) : 0;
#endif
    return ns > EXEC_CLOCK_MAX ? INT64_MAX : (int64_t)ns;
}

/* a + b, kept within [0, EXEC_CLOCK_MAX]; a >= 0. */
WEFT_API int64_t exec_clock_add_(int64_t a, int64_t b) {
    if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
    return a + b < 0 ? 0 : a + b;
}

WEFT_API uint64_t exec_clock_read_(const exec_t *ex) {
    return (uint64_t)exec_clock_add_(exec_clock_source_(ex), ex->clock_offset);
}

#endif /* EXEC_TICK_TIME */

/* The loop's idea of now (ns), as timers see it. */
WEFT_API timer_time_t exec_now(const exec_t *ex) { return ex->timers.now; }

/* Fds registered: none without a reactor (the bare backend keeps no
 * count). */
#ifdef EXEC_HAVE_FDS_
#define EXEC_NIO_(ex) ((ex)->nio)
#else
#define EXEC_NIO_(ex) ((void)(ex), 0)
#endif

/* ex->stats.field += 1, when there are stats (EXEC_STATS). */
#if EXEC_STATS
#define EXEC_COUNT_(ex, field) ((ex)->stats.field++)
#else
#define EXEC_COUNT_(ex, field) ((void)(ex))
#endif

/* Move the wheel to `to`, firing the timers due (and counting them, with
 * EXEC_METRICS: on a board the count costs 76 bytes of code). */
WEFT_API void exec_advance_(exec_t *ex, timer_time_t to) {
#if EXEC_METRICS
    ex->stats.timer_fires += timer_wheel_advance(&ex->timers, to);
#else
    timer_wheel_advance(&ex->timers, to);
#endif
}

/* Read the clock and fire due timers (uv_update_time). The loop does this
 * once per turn; a task that ran long may call it to make "now" fresh. */
WEFT_API void exec_update_time(exec_t *ex) {
    if (!ex->paused) exec_advance_(ex, exec_clock_read_(ex));
}

/* Stop the clock (tokio::time::pause). */
WEFT_API void exec_clock_pause(exec_t *ex) {
    exec_update_time(ex);
    ex->paused = 1;
}

#ifdef EXEC_TICK_TIME
/* Start it again from where it stands. */
WEFT_API void exec_clock_resume(exec_t *ex) {
    if (!ex->paused) return;
    ex->clock_offset = ex->timers.now - exec_counter_(ex);
    ex->paused = 0;
}

/* Move the clock forward by ticks and fire what comes due (tokio's
 * time::advance). Works paused or not. The wheel moves at most
 * TIMER_TICK_MAX ticks a step (a longer one would look like time going
 * back), so any uint32_t is fine: it takes two steps past 2^31. */
WEFT_API void exec_clock_advance(exec_t *ex, timer_time_t ticks) {
    while (ticks) {
        timer_time_t step = ticks > TIMER_TICK_MAX ? TIMER_TICK_MAX : ticks;
        ex->clock_offset += step;
        exec_advance_(ex, ex->timers.now + step);
        ticks -= step;
    }
}

/* Read time from a wrapping 32-bit tick counter, as it is: the
 * executor's time is the counter's, offset so that it goes on from the
 * wheel's now (0 right after exec_init). ns_per_tick is not read (tick
 * time knows no ns). Call it right after exec_init. */
WEFT_API void exec_set_tick_clock(exec_t *ex, uint32_t (*tick)(void *ctx), void *ctx,
                                  uint64_t ns_per_tick) {
    (void)ns_per_tick;
    if (!tick) {
        FUTURE_MISUSE("exec_set_tick_clock without a counter: time would never move");
        return;
    }
    ex->tick_fn = tick;
    ex->tick_ctx = ctx;
    ex->clock_offset = ex->timers.now - tick(ctx);
}
#else
/* Start it again from where it stands. */
WEFT_API void exec_clock_resume(exec_t *ex) {
    if (!ex->paused) return;
    /* Both are within [0, INT64_MAX]: the difference fits. */
    ex->clock_offset = (int64_t)ex->timers.now - exec_clock_source_(ex);
    ex->paused = 0;
}

/* Move the clock forward by ns and fire what comes due (tokio's
 * time::advance). Works paused or not. It saturates at EXEC_CLOCK_MAX. */
WEFT_API void exec_clock_advance(exec_t *ex, uint64_t ns) {
    int64_t d = ns > EXEC_CLOCK_MAX ? INT64_MAX : (int64_t)ns;
    uint64_t to = (uint64_t)exec_clock_add_((int64_t)ex->timers.now, d);
    int64_t moved = (int64_t)(to - ex->timers.now), off = ex->clock_offset;
    /* The offset grows by what the clock really moved, and saturates: a
     * clock at its end stays there (it never wraps back to the start). */
    ex->clock_offset = off > 0 && moved > INT64_MAX - off ? INT64_MAX : off + moved;
    exec_advance_(ex, to);
}

/* Read time from fn(ctx) (ns, monotonic) instead of CLOCK_MONOTONIC: a
 * board's tick counter, or a test's simulated clock. Call it right after
 * exec_init; fn 0 goes back to CLOCK_MONOTONIC. */
WEFT_API void exec_set_clock(exec_t *ex, uint64_t (*fn)(void *ctx), void *ctx) {
    ex->clock_fn = fn;
    ex->clock_ctx = ctx;
    ex->tick_ns = 0; /* no tick clock (exec_set_tick_clock sets it after) */
    ex->clock_offset = 0;
    if (!ex->paused) {
        uint64_t now = exec_clock_read_(ex);
        if (now < ex->timers.now) /* keep time monotonic across the switch */
            ex->clock_offset = (int64_t)(ex->timers.now - now);
        exec_update_time(ex);
    }
}

/* The tick clock's source (exec_set_tick_clock): the counter, extended. */
WEFT_API uint64_t exec_tick_read_(void *ctx) {
    exec_t *ex = (exec_t *)ctx;
    return timer_tick32_ns(&ex->tick, ex->tick_fn(ex->tick_ctx), ex->tick_ns);
}

/* Read time from a wrapping 32-bit tick counter, ns_per_tick apart (a
 * board's SysTick count, HAL_GetTick: 1000000 for 1 kHz). The executor
 * extends it to 64 bits by adding the ticks that passed since it last
 * looked, so the counter may wrap (a 1 kHz tick wraps every 49.7 days):
 * it reads the counter at least once every 2^31 ticks, even when idle,
 * and time never goes backwards. Call it right after exec_init. */
WEFT_API void exec_set_tick_clock(exec_t *ex, uint32_t (*tick)(void *ctx), void *ctx,
                                  uint64_t ns_per_tick) {
    if (!tick || !ns_per_tick) {
        FUTURE_MISUSE("exec_set_tick_clock without a counter or with 0 ns per "
                      "tick: time would never move; give the tick's period "
                      "(TIMER_MS for 1 kHz)");
        return;
    }
    ex->tick_fn = tick;
    ex->tick_ctx = ctx;
    timer_tick32_init(&ex->tick, tick(ctx), 0);
    exec_set_clock(ex, exec_tick_read_, ex); /* reads it: 0 ticks so far */
    ex->tick_ns = ns_per_tick;
}

#endif /* EXEC_TICK_TIME */

/* While held, the paused clock does not jump (a blocking job is running). */
WEFT_API void exec_clock_hold(exec_t *ex) { ex->holds++; }
WEFT_API void exec_clock_unhold(exec_t *ex) {
    if (!ex->holds) { /* a count wrapped to ~0 would hide every stall */
        FUTURE_MISUSE("exec_clock_unhold without an exec_clock_hold: pair them");
        return;
    }
    ex->holds--;
}

/* Out of line and cold: the boxed task's end, below, so the compiler does
 * not see free() on the executor's own main task (never boxed) and warn;
 * the metrics, hooks and timeline, so the poll path stays as short with
 * them off. An inline function may not be noinline: with
 * WEFT_EXTERN_INLINE it is only cold. */
#if defined(__GNUC__) && defined(WEFT_EXTERN_INLINE) && !defined(__cplusplus)
#define EXEC_COLD_FN_ WEFT_API __attribute__((cold))
#elif defined(__GNUC__)
#define EXEC_COLD_FN_ static __attribute__((cold, noinline, unused))
#else
#define EXEC_COLD_FN_ WEFT_API
#endif

/* ---- metrics, hooks and the timeline: recording ------------------------
 * (The API, and what is measured, is below: "Metrics, hooks and the
 * timeline".) Everything here runs only while something is on: with
 * ex->instr == 0 a poll costs the one test of it it already had for the
 * blocked-executor detector, a wake and a spawn one test each. */
#if EXEC_METRICS
/* The clock of metrics and timelines: the executor's (paused: where it
 * stands, so a test sees exact figures). */
WEFT_API uint64_t exec_metrics_now_(const exec_t *ex) {
    return ex->paused ? ex->timers.now : exec_clock_read_(ex);
}

/* Turn an instrumentation bit on or off. A poll's end does what its
 * start began (ex->poll_on); once all is off it is forgotten, so a switch
 * turned on inside a poll begins with the next poll. */
WEFT_API void exec_instr_set_(exec_t *ex, unsigned bit, int on) {
    ex->instr = on ? ex->instr | bit : ex->instr & ~bit;
    if (!ex->instr) ex->poll_on = 0;
}

/* b - a, or 0 if the clock seems to have gone back. */
WEFT_API uint64_t exec_since_(uint64_t a, uint64_t b) { return b > a ? b - a : 0; }

/* One event into the caller's buffer, or 0: a full buffer counts it as
 * dropped. */
WEFT_API exec_trace_event_t *exec_trace_add_(exec_trace_t *tr, int kind, uint64_t ts,
                                             uint64_t task, uint64_t arg) {
    exec_trace_event_t *e;
    if (tr->len >= tr->cap) {
        tr->dropped++;
        return 0;
    }
    e = &tr->ev[tr->len++];
    e->ts = ts;
    e->task = task;
    e->arg = arg;
    e->kind = kind;
    return e;
}

/* A wake of t, live and not queued (something is on). The waker is the
 * task being polled, or else the one whose end wakes its joiner, if any:
 * a wake from the loop (a timer, I/O, another thread) has none. */
EXEC_COLD_FN_ void exec_wake_instr_(exec_t *ex, exec_task_t *t) {
    exec_task_t *by = ex->current ? ex->current : ex->ending;
    if (ex->instr & EXEC_INSTR_CLOCK_) {
        uint64_t now = exec_metrics_now_(ex);
        t->m.wakes++;
        if (!(t->state & EXEC_TASK_RUNNING_)) t->m.queued_at = now; /* just queued */
        if (ex->trace && by && by != t)
            exec_trace_add_(ex->trace, EXEC_TRACE_WAKE, now, by->m.id, t->m.id);
    }
    if (ex->hooks && ex->hooks->wake) ex->hooks->wake(ex->hooks_ctx, t, by);
}

/* Zero t's metrics, keeping its id. */
WEFT_API void exec_metrics_zero_(exec_task_t *t) {
    uint64_t id = t->m.id;
    memset(&t->m, 0, sizeof t->m);
    t->m.id = id;
}

/* t was just spawned and queued (something is on). */
EXEC_COLD_FN_ void exec_spawn_instr_(exec_t *ex, exec_task_t *t) {
    if (ex->instr & EXEC_INSTR_CLOCK_) {
        uint64_t now = exec_metrics_now_(ex);
        exec_metrics_zero_(t);
        t->m.queued_at = now;
        if (ex->trace)
            exec_trace_add_(ex->trace, EXEC_TRACE_SPAWN, now, t->m.id,
                            ex->current ? ex->current->m.id : 0);
    }
    if (ex->hooks && ex->hooks->spawn) ex->hooks->spawn(ex->hooks_ctx, t);
}
#endif /* EXEC_METRICS */

/* ---- the ready queue and task wakes ------------------------------------ */

WEFT_API void exec_push_(exec_t *ex, exec_task_t *t) {
    t->state |= EXEC_TASK_QUEUED_;
    t->next = 0;
    if (ex->tail) ex->tail->next = t;
    else ex->head = t;
    ex->tail = t;
}

/* Take t off the ready queue wherever it is: O(queue length), used only
 * when a queued task is aborted. */
WEFT_API void exec_unqueue_(exec_t *ex, exec_task_t *t) {
    exec_task_t **p = &ex->head, *prev = 0;
    while (*p != t) prev = *p, p = &(*p)->next;
    *p = t->next;
    if (ex->tail == t) ex->tail = prev;
    t->state &= ~(unsigned)EXEC_TASK_QUEUED_;
}

WEFT_API exec_task_t *exec_pop_(exec_t *ex) {
    exec_task_t *t = ex->head;
    ex->head = t->next;
    if (!ex->head) ex->tail = 0;
    t->state &= ~(unsigned)EXEC_TASK_QUEUED_;
    return t;
}

/* The task waker: queue the task, at most once, unless it is finished. A
 * task woken while it runs is queued after its poll, and only if that poll
 * left it pending: so a finished task is never on the queue, and its memory
 * is the caller's again as soon as it is done. */
WEFT_API void exec_task_wake_(future_waker_t *w) {
    exec_task_t *t = (exec_task_t *)(void *)w;
    if ((t->state & (EXEC_TASK_LIVE_ | EXEC_TASK_QUEUED_)) != EXEC_TASK_LIVE_) return;
    if (t->state & EXEC_TASK_RUNNING_) t->state |= EXEC_TASK_NOTIFIED_;
    else if (!t->ex->closing) exec_push_(t->ex, t);
#if EXEC_METRICS /* last: nothing is read again after the test */
    if (t->ex->instr & ~(unsigned)EXEC_INSTR_BLOCK_) exec_wake_instr_(t->ex, t);
#endif
}

/* ---- tasks -------------------------------------------------------------- */

/* A task that is not alive: ready for exec_spawn. (Zeroed memory is too.) */
WEFT_API void exec_task_init(exec_task_t *t) { memset(t, 0, sizeof *t); }

WEFT_API int exec_task_done(const exec_task_t *t) {
    return (t->state & EXEC_TASK_DONE_) != 0;
}

/* The task's result once done: its future's error, or -ECANCELED. */
WEFT_API int exec_task_err(const exec_task_t *t) { return t->err; }

/* The executor a future is polled by (from its context). */
WEFT_API exec_t *exec_of(const future_cx_t *cx) { return (exec_t *)cx->exec; }

WEFT_API int exec_on_loop_thread_(const exec_t *ex) {
#ifdef EXEC_HAVE_THREADS_
    return !ex->running || pthread_equal(ex->owner, pthread_self());
#else
    (void)ex;
    return 1;
#endif
}

#ifndef EXEC_NO_MALLOC
/* Storage for exec_spawn_detached: the task and the callback. */
typedef struct exec_boxed_ {
    exec_task_t task;
    void (*done)(future_t *fut, int err, void *arg);
    void *arg;
} exec_boxed_t_;

/* The end of an exec_spawn_detached task: tell its owner, free the box.
 * (Cold: it is rare, and only boxed tasks ever get here.) */
EXEC_COLD_FN_ void exec_boxed_free_(exec_task_t *t, int err) {
    exec_boxed_t_ *b = (exec_boxed_t_ *)(void *)t;
    if (b->done) b->done(t->fut, err, b->arg);
#ifndef EXEC_NO_MALLOC
    free(b);
#endif
}
#endif /* EXEC_NO_MALLOC */

/* A scope's task finished: from its running list to its done list, where
 * join_next finds it; the task record stays the scope's until then. */
WEFT_API void exec_scope_finished_(exec_scope_t *s, exec_task_t *t) {
    s->nrunning--;
    s->ndone++;
    future_list_push(&s->done, &t->live);
    t->state |= EXEC_TASK_HELD_;
    future_wake(s->waiter);
}

/* The join handle waiting for t lets go of it: the name goes back to the
 * task's word. Returns the waker the handle left (t's end wakes it). */
WEFT_API future_waker_t *exec_join_leave_(exec_task_t *t) {
    exec_join_t *j = t->join_;
    t->name_ = j->name;
    t->state &= ~(unsigned)EXEC_TASK_JOINED_;
    return j->waiting;
}

/* The end of t (its state was `was`) wakes its scope or its joiner. */
WEFT_API void exec_finish_wakes_(exec_task_t *t, unsigned was) {
    /* The handle lets go first: its name is back in t before any wake (a
     * wake hook may ask who woke it: exec_task_name(t)). */
    future_waker_t *joiner = was & EXEC_TASK_JOINED_ ? exec_join_leave_(t) : 0;
    if ((was & (EXEC_TASK_LIVE_ | EXEC_TASK_SCOPED_)) == (EXEC_TASK_LIVE_ | EXEC_TASK_SCOPED_))
        exec_scope_finished_(t->scope_, t);
    future_wake(joiner);
}

#if EXEC_METRICS
/* The same while something is on: the wakes come from t (the timeline's
 * arrow from its last poll to its joiner), then its end is recorded. */
EXEC_COLD_FN_ void exec_finish_instr_(exec_t *ex, exec_task_t *t, unsigned was, int err) {
    exec_task_t *outer = ex->ending;
    ex->ending = t;
    exec_finish_wakes_(t, was);
    ex->ending = outer;
    if (ex->trace)
        exec_trace_add_(ex->trace, EXEC_TRACE_FINISH, exec_metrics_now_(ex), t->m.id,
                        (uint64_t)(int64_t)err);
    if (ex->hooks && ex->hooks->finish) ex->hooks->finish(ex->hooks_ctx, t, err);
}
#endif

/* Mark t finished with err: out of the live list and its owner's list (or
 * into its scope's done list), its joiner woken, its storage freed if it
 * was exec_spawn_detached's. t is not on the queue. */
WEFT_API void exec_finish_(exec_t *ex, exec_task_t *t, int err) {
    unsigned was = t->state;
    if (was & EXEC_TASK_LIVE_) {
        future_list_unlink(&ex->live, &t->live);
        ex->nlive--;
        future_owned_unlink(&t->own);
    }
    t->err = err;
    t->state = (was & (EXEC_TASK_BOXED_ | EXEC_TASK_SCOPED_)) | EXEC_TASK_DONE_;
    if (t->fut && t->fut->sibling == (future_t *)(void *)t) t->fut->sibling = 0;
#if EXEC_METRICS
    if ((was & EXEC_TASK_LIVE_) && (ex->instr & ~(unsigned)EXEC_INSTR_BLOCK_))
        exec_finish_instr_(ex, t, was, err);
    else
#endif
        exec_finish_wakes_(t, was);
#ifndef EXEC_NO_MALLOC
    if (t->state & EXEC_TASK_BOXED_) exec_boxed_free_(t, err);
#endif
}

/* Is t alive (on any executor)? The state bit alone is not trusted (the
 * record may be memory that was never zeroed): a live task also has the
 * task waker and is linked in its executor's live list, which garbage does
 * not imitate. The waker is checked first, so a garbage t->ex is never
 * followed. */
WEFT_API int exec_task_alive_(const exec_task_t *t) {
    const exec_t *ex = t->ex;
    if (!(t->state & EXEC_TASK_LIVE_) || t->waker.wake != exec_task_wake_ || !ex) return 0;
    return t->live.prev ? t->live.prev->next == &t->live : ex->live.head == &t->live;
}

/* Is t finished but still kept by its scope (join_next has not handed it
 * out)? The same care: a scope is followed only from a task record that
 * has the task waker. */
WEFT_API int exec_task_held_(const exec_task_t *t) {
    const exec_scope_t *s = t->scope_;
    if ((t->state & (EXEC_TASK_HELD_ | EXEC_TASK_SCOPED_)) != (EXEC_TASK_HELD_ | EXEC_TASK_SCOPED_) ||
        t->waker.wake != exec_task_wake_ || !s)
        return 0;
    return t->live.prev ? t->live.prev->next == &t->live : s->done.head == &t->live;
}

/* What the owner of a task does when it goes: abort the task (a finished
 * one is left alone). */
WEFT_API void exec_abort(exec_task_t *t);
WEFT_API void exec_task_owner_gone_(future_owned_t *n) {
    exec_abort(FUTURE_CONTAINER_OF(n, exec_task_t, own));
}

/* A root future remembers the task that runs it in its sibling link (a
 * root has no siblings), so a second spawn of it is caught. */
WEFT_API int exec_fut_spawned_(const future_t *fut) {
    const exec_task_t *o = (const exec_task_t *)(const void *)fut->sibling;
    return o && o->fut == fut && exec_task_alive_(o);
}

/* exec_spawn, with the boxed flag, the owner frame and the scope given by
 * the caller: never read from t, whose memory may hold anything. */
WEFT_API int exec_spawn_(exec_t *ex, exec_task_t *t, future_t *fut, unsigned boxed,
                         future_t *owner, exec_scope_t *scope) {
    if (!fut) return -EINVAL;
    if (!ex) {
        FUTURE_MISUSE("spawn without an executor (SPAWN in a future polled by "
                      "hand, cx->exec == 0): run it on an exec_t");
        return -EINVAL;
    }
    if (!fut->poll) {
        FUTURE_MISUSE("exec_spawn / exec_block_on of a future before its init: "
                      "call its x_init(&f, ...) first");
        return -EINVAL;
    }
    if (exec_task_alive_(t)) {
        FUTURE_MISUSE("exec_spawn: the task is already spawned and alive; give "
                      "each live task its own exec_task_t");
        return -EBUSY;
    }
    if (exec_task_held_(t)) {
        FUTURE_MISUSE("exec_spawn: the task has finished but its scope still "
                      "holds it; take it out with join_next (or release the "
                      "scope) before spawning it again");
        return -EBUSY;
    }
    if (exec_fut_spawned_(fut)) {
        FUTURE_MISUSE("exec_spawn: this future already runs as another task; a "
                      "future is one task's (init a second frame for a second task)");
        return -EBUSY;
    }
#ifndef NDEBUG
    if (!exec_on_loop_thread_(ex)) {
        FUTURE_MISUSE("exec_spawn from another thread: only the loop's thread "
                      "may spawn; wake a task there with exec_remote_wake");
        return -EPERM;
    }
#endif
    if (scope && scope->closed) return -EPIPE;
    t->waker.wake = exec_task_wake_;
    t->next = 0;
    t->ex = ex;
    t->fut = fut;
    t->own.next = 0;
    t->own.pprev = 0;
    t->parent_ = 0;
    t->name_ = 0;
    t->err = 0;
    t->live.next = t->live.prev = 0;
    t->state = boxed;
#if EXEC_METRICS
    t->m.id = ++ex->last_id; /* the rest is zeroed if counted (spawn_instr) */
#endif
    if (ex->closing) { /* as tokio: a task spawned on a dying runtime is dropped */
        if (boxed) return -ECANCELED; /* exec_spawn_detached frees the box */
        future_drop(fut);
        exec_finish_(ex, t, -ECANCELED); /* never linked: not LIVE */
        return -ECANCELED;
    }
    fut->sibling = (future_t *)(void *)t;
    t->state |= EXEC_TASK_LIVE_;
    future_list_insert_after(&ex->live, 0, &t->live);
    ex->nlive++;
    if (scope) { /* the scope owns it */
        t->scope_ = scope; /* its parent is the scope's */
        t->state |= EXEC_TASK_SCOPED_;
        future_owned_push(&scope->running, &t->own, exec_task_owner_gone_);
        scope->nrunning++;
    } else if (owner) { /* a frame owns it */
        t->parent_ = ex->current;
        future_own(owner, &t->own, exec_task_owner_gone_);
    }
    exec_push_(ex, t);
#if EXEC_METRICS
    if (ex->instr & ~(unsigned)EXEC_INSTR_BLOCK_) exec_spawn_instr_(ex, t);
#endif
    return 0;
}

/* The frame that owns what a running task spawns through the plain
 * functions: the task's root future (0 outside any task). */
WEFT_API future_t *exec_owner_(const exec_t *ex) {
    return ex->current ? ex->current->fut : 0;
}

/* Start fut as a task in storage t; it runs once the loop runs. t may be
 * fresh memory, or a task that has finished; fut must be initialised and
 * not already running as a task. Who owns it (see "Ownership"): called
 * from inside a task, that task's root frame; outside any task, the
 * executor. 0; -EBUSY (t alive, or fut already a task); -EINVAL (fut is 0
 * or not initialised); -ECANCELED (the executor is shutting down: fut is
 * dropped, t finishes with -ECANCELED); -EPERM (another thread). */
WEFT_API int exec_spawn(exec_task_t *t, exec_t *ex, future_t *fut) {
    return exec_spawn_(ex, t, fut, 0, exec_owner_(ex), 0);
}
#define exec_spawn(t, ex, fut) (exec_spawn)((t), (ex), FUTURE_OF(fut))

/* Inside an async body: spawn fut as a task owned by this very frame,
 * which aborts it when it is dropped or finishes (tokio's spawn, with the
 * handle in a JoinSet the frame holds). Same results as exec_spawn. */
#define EXEC_SPAWN(cx, t, fut)                                                 \
    exec_spawn_(exec_of(cx), (t), FUTURE_OF(fut), 0, FUTURE_SELF_, 0)

/* Name a spawned task for every report (exec_dump, stalls, the blocked-
 * executor detector, misuse): call it after the spawn, which clears the
 * name. name must outlive the task (a string literal). */
WEFT_API void exec_task_set_name(exec_task_t *t, const char *name) {
    if (t->state & EXEC_TASK_JOINED_) t->join_->name = name;
    else t->name_ = name;
#if EXEC_METRICS
    if ((t->state & EXEC_TASK_LIVE_) && t->ex->trace) { /* the timeline's row name */
        exec_trace_event_t *e = exec_trace_add_(t->ex->trace, EXEC_TRACE_NAME,
                                                exec_metrics_now_(t->ex), t->m.id, 0);
        if (e) e->name = name;
    }
#endif
}

WEFT_API const char *exec_task_name(const exec_task_t *t) {
    return t->state & EXEC_TASK_JOINED_ ? t->join_->name : t->name_;
}

/* "task "name"" or "task 0x...": how reports name a task. */
/* The name of the task behind a waker, for descriptions ("held by task
 * "writer""); 0 if w is not a task's. */
WEFT_API const char *exec_waker_name_(void *ctx, const future_waker_t *w) {
    const exec_task_t *t = (const exec_task_t *)(const void *)w;
    (void)ctx;
    const char *name;
    if (!w || w->wake != exec_task_wake_) return 0;
    name = exec_task_name(t);
    return name ? name : "(unnamed)";
}

WEFT_API void exec_fmt_task_(future_fmt_t *o, const exec_task_t *t) {
    const char *name = exec_task_name(t);
    future_fmt_str(o, "task ");
    if (name) {
        future_fmt_str(o, "\"");
        future_fmt_str(o, name);
        future_fmt_str(o, "\"");
    } else {
        char hex[2 + 16 + 1];
        uintptr_t v = (uintptr_t)(const void *)t;
        int i = (int)sizeof hex - 1;
        hex[i] = 0;
        do hex[--i] = "0123456789abcdef"[v & 15]; while ((v >>= 4) && i > 2);
        hex[--i] = 'x';
        hex[--i] = '0';
        future_fmt_str(o, hex + i);
    }
}


#ifndef EXEC_NO_MALLOC
/* Heap-backed convenience: spawn fut with task storage from malloc, and no
 * join handle (a detached task). When the task finishes or is dropped,
 * done(fut, err, arg) is called (free the frame there) and the storage is
 * freed. On an error (-ENOMEM, and exec_spawn's) nothing happened: done
 * is not called, fut was neither polled nor dropped, and the frame is
 * still yours to free. */
WEFT_API int exec_spawn_detached(future_t *fut, exec_t *ex,
                                      void (*done)(future_t *, int, void *), void *arg) {
    exec_boxed_t_ *b = (exec_boxed_t_ *)malloc(sizeof *b);
    int rc;
    if (!b) return -ENOMEM;
    memset(b, 0, sizeof *b);
    b->done = done;
    b->arg = arg;
    rc = exec_spawn_(ex, &b->task, fut, EXEC_TASK_BOXED_, 0, 0);
    if (rc) free(b);
    return rc;
}
#define exec_spawn_detached(fut, ex, done, arg) \
    (exec_spawn_detached)(FUTURE_OF(fut), (ex), (done), (arg))
#endif /* EXEC_NO_MALLOC */

/* Drop a task's future and finish it with -ECANCELED. While its futures
 * are dropped it counts as running, so a wake it gives itself is ignored. */
WEFT_API void exec_cancel_(exec_t *ex, exec_task_t *t) {
    t->state |= EXEC_TASK_RUNNING_;
    future_drop(t->fut);
    exec_finish_(ex, t, -ECANCELED);
}

/* ---- the blocked-executor detector -------------------------------------- */
#ifdef EXEC_HAVE_STDIO_

/* The detector's clock: CLOCK_MONOTONIC, or (bare) the executor's source. */
WEFT_API uint64_t exec_block_clock_(const exec_t *ex) {
#ifdef EXEC_HAVE_FDS_
    (void)ex;
    return timer_clock_monotonic();
#else
    return (uint64_t)exec_clock_source_(ex);
#endif
}

/* Report polls that hold the executor's thread longer than ns to out
 * (stderr if 0); ns = 0 turns it off (the default). */
WEFT_API void exec_set_block_threshold(exec_t *ex, uint64_t ns, FILE *out) {
    ex->block_ns = ns;
#if EXEC_METRICS
    exec_instr_set_(ex, EXEC_INSTR_BLOCK_, ns != 0);
#endif
    ex->block_log = out ? out : stderr;
    ex->block_t0 = exec_block_clock_(ex); /* called in a poll: time it from here */
}


/* The co.at of the deepest future in the chain (first children first)
 * that has one: leaf futures (timers, I/O) record no location. */
WEFT_API const char *exec_block_deepest_(const future_t *f) {
    const char *at = future_at_(f);
    for (f = f->child; f; f = f->child)
        if (future_at_(f)) at = future_at_(f);
    return at;
}

WEFT_API void exec_block_begin_(exec_t *ex, const exec_task_t *t) {
    ex->block_at[0] = future_at_(t->fut);
    ex->block_at[1] = exec_block_deepest_(t->fut);
    ex->block_t0 = exec_block_clock_(ex);
}

WEFT_API void exec_block_end_(exec_t *ex, const exec_task_t *t, coro_poll_t r) {
    uint64_t took = exec_block_clock_(ex) - ex->block_t0;
    FILE *out = ex->block_log ? ex->block_log : stderr;
    char who[96];
    future_fmt_t o = {0, 0, 0, 0, 0};
    if (took <= ex->block_ns) return;
    ex->block_reports++;
    const future_t *deep = t->fut;
    char what[160];
    future_fmt_t w = {0, 0, 0, exec_waker_name_, 0};
    o.buf = who;
    o.cap = sizeof who;
    exec_fmt_task_(&o, t);
    /* What the deepest future waits for, if it is a library leaf. */
    while (deep->child) deep = deep->child;
    w.buf = what;
    w.cap = sizeof what;
    what[0] = 0;
    if (r != CORO_READY && future_kind_of_(deep)) {
        future_fmt_str(&w, ", waiting on ");
        future_describe(deep, &w);
    }
    fprintf(out,
            "exec: blocked executor: %s held the thread for %.1f ms in one "
            "poll (threshold %.1f ms)\n"
            "    resumed at %s (root future), %s (deepest child)\n"
            "    stopped at %s%s\n"
            "    hint: move blocking calls and CPU-heavy work off the executor "
            "with spawn_blocking (blocking_t)\n",
            who, (double)took / 1e6, (double)ex->block_ns / 1e6,
            ex->block_at[0] ? ex->block_at[0] : "the start",
            ex->block_at[1] ? ex->block_at[1] : "the start",
            r == CORO_READY ? "its end (the task finished)"
                            : (exec_block_deepest_(t->fut) ? exec_block_deepest_(t->fut)
                                                           : "the start"),
            what);
    fflush(out);
}
#endif /* EXEC_HAVE_STDIO_ */

#if EXEC_METRICS
/* Around a poll while something is on (ex->instr): the hooks, the
 * blocked-executor detector, the task's metrics and its slice of the
 * timeline. The end does what the start began (ex->poll_on): a switch
 * turned on inside a poll starts with the next one. The hooks' time is
 * left out of the poll's. */
EXEC_COLD_FN_ void exec_poll_begin_(exec_t *ex, exec_task_t *t) {
    unsigned on = ex->instr;
    ex->poll_on = on;
    if ((on & EXEC_INSTR_HOOKS_) && ex->hooks->poll_start)
        ex->hooks->poll_start(ex->hooks_ctx, t);
#ifdef EXEC_HAVE_STDIO_
    if (ex->block_ns) exec_block_begin_(ex, t);
#endif
    if (on & EXEC_INSTR_CLOCK_) {
        uint64_t now = exec_metrics_now_(ex);
        ex->poll_t0 = now;
        t->m.queued_ns += exec_since_(t->m.queued_at, now);
        t->m.polls++;
    }
}

EXEC_COLD_FN_ void exec_poll_end_(exec_t *ex, exec_task_t *t, coro_poll_t r) {
    unsigned on = ex->poll_on;
    ex->poll_on = 0;
    if (on & EXEC_INSTR_CLOCK_) {
        uint64_t now = exec_metrics_now_(ex), took = exec_since_(ex->poll_t0, now);
        t->m.busy_ns += took;
        if (took > t->m.max_poll_ns) t->m.max_poll_ns = took;
        t->m.queued_at = now; /* woken while it ran: it is queued from here */
        if (ex->trace) exec_trace_add_(ex->trace, EXEC_TRACE_POLL, ex->poll_t0, t->m.id, took);
    }
#ifdef EXEC_HAVE_STDIO_
    if (ex->block_ns) exec_block_end_(ex, t, r);
#endif
    if ((on & EXEC_INSTR_HOOKS_) && ex->hooks && ex->hooks->poll_end)
        ex->hooks->poll_end(ex->hooks_ctx, t, r == CORO_READY);
}
#endif /* EXEC_METRICS */

/* Poll one task that came off the ready queue. */
WEFT_API void exec_poll_task_(exec_t *ex, exec_task_t *t) {
    int budget = EXEC_BUDGET;
    future_cx_t cx;
    coro_poll_t r;
    cx.waker = &t->waker;
    cx.timers = &ex->timers;
    cx.exec = ex;
    cx.budget = &budget;
    cx.seq = &ex->select_seq;
    ex->current = t;
    t->state |= EXEC_TASK_RUNNING_;
    EXEC_COUNT_(ex, polls);
#if EXEC_METRICS /* the detector's two tests, become one for everything */
    if (ex->instr) exec_poll_begin_(ex, t);
    r = future_poll(t->fut, &cx);
    if (ex->instr) exec_poll_end_(ex, t, r);
#elif defined(EXEC_HAVE_STDIO_)
    if (ex->block_ns) exec_block_begin_(ex, t);
    r = future_poll(t->fut, &cx);
    if (ex->block_ns) exec_block_end_(ex, t, r);
#else
    r = future_poll(t->fut, &cx);
#endif
    ex->current = 0;
    if (r == CORO_READY) {
        exec_finish_(ex, t, t->fut->co.rc);
        return;
    }
    if (t->state & EXEC_TASK_ABORT_) { /* it aborted itself while running */
        exec_cancel_(ex, t);
        return;
    }
    if (t->state & EXEC_TASK_NOTIFIED_) exec_push_(ex, t);
    t->state &= ~(unsigned)(EXEC_TASK_RUNNING_ | EXEC_TASK_NOTIFIED_);
}

/* Cancel t now: its future is dropped (releasing everything it
 * registered), the task finishes with -ECANCELED and its joiner is woken;
 * on return its memory is the caller's again. A task that aborts itself is
 * dropped when its poll returns instead. Aborting a finished task does
 * nothing. (tokio's JoinHandle::abort, done at once.) */
WEFT_API void exec_abort(exec_task_t *t) {
    if (!(t->state & EXEC_TASK_LIVE_)) return;
    if (t->state & EXEC_TASK_RUNNING_) {
        t->state |= EXEC_TASK_ABORT_;
        return;
    }
    if (t->state & EXEC_TASK_QUEUED_) exec_unqueue_(t->ex, t);
    exec_cancel_(t->ex, t);
}

/* ---- join handles ------------------------------------------------------- */

/* exec_join_t (declared beside exec_task_t, whose end reads it): a future
 * that waits for a task and yields its result (tokio's JoinHandle). While
 * it waits, the task's name word points at the handle, which keeps the
 * name: a task that nobody joins needs no word for its joiner. Dropping
 * it before the task is done aborts the task, as drop is cancellation
 * everywhere here (tokio-util's AbortOnDropHandle): the task's memory is
 * yours, so it must not outlive the frame that joins it. A task that
 * should outlive its spawner is simply not joined (or spawned with
 * exec_spawn_detached). One join handle at a time may wait for a task;
 * once the task is done, any may read its result. */

WEFT_API void exec_join_describe_(const future_t *f, future_fmt_t *o) {
    exec_fmt_task_(o, ((const exec_join_t *)(const void *)f)->task);
}

WEFT_API coro_poll_t exec_join_poll_(future_t *self, future_cx_t *cx) {
    exec_join_t *j = (exec_join_t *)(void *)self;
    exec_task_t *t = j->task;
    if (t->state & EXEC_TASK_DONE_) {
        j->waiting = 0;
        return future_leaf_ready(self, cx, t->err);
    }
    if (!(t->state & EXEC_TASK_LIVE_)) {
        FUTURE_MISUSE("exec_join on a task that was never spawned: spawn it first");
        return future_finish(self, -EINVAL);
    }
    if (!(t->state & EXEC_TASK_JOINED_)) { /* register: take the name word */
        j->name = t->name_;
        t->join_ = j;
        t->state |= EXEC_TASK_JOINED_;
    } else if (t->join_ != j) {
        FUTURE_MISUSE("two join handles wait for one task: await it from one place");
        return future_finish(self, -EBUSY);
    }
    j->waiting = cx->waker;
    {
        static const future_kind_t kind = {FUTURE_KIND_TAG_, "join", exec_join_describe_};
        future_set_kind(self, &kind);
    }
    return CORO_PENDING;
}

WEFT_API void exec_join_drop_(future_t *self) {
    exec_join_t *j = (exec_join_t *)(void *)self;
    exec_task_t *t = j->task;
    if ((t->state & EXEC_TASK_JOINED_) && t->join_ == j) exec_join_leave_(t);
    j->waiting = 0;
    exec_abort(t);
}

WEFT_API void exec_join_init(exec_join_t *j, exec_task_t *t) {
    future_init(&j->fut, exec_join_poll_, exec_join_drop_);
    j->task = t;
    j->waiting = 0;
    j->name = 0;
}

/* ---- task scopes -------------------------------------------------------
 * A scope holds any number of tasks, spawned into it at any time (also
 * while someone awaits it), each in caller storage as usual: tokio's
 * JoinSet, a nursery. join_next hands out the tasks in the order they
 * finish, with their results; close + wait is tokio-util's TaskTracker
 * shutdown; when the scope's owner goes (the frame holding it is dropped
 * or finishes), every task still in it is aborted. A task stays the
 * scope's until join_next hands it out (or the scope is released): only
 * then may its record be spawned again. */

/* Abort every running task of s (each lands in the done list with
 * -ECANCELED, for join_next), and forget the finished ones. s is closed. */
WEFT_API void exec_scope_release_all_(exec_scope_t *s) {
    future_owned_t *n;
    future_link_t *l;
    s->closed = 1;
    while ((n = s->running) != 0) {
        exec_task_t *t = FUTURE_CONTAINER_OF(n, exec_task_t, own);
        future_owned_unlink(n);
        s->nrunning--;
        t->parent_ = s->parent; /* its end (now, or after its poll if it is
                                   the one running) is reported to nobody:
                                   s may be gone */
        t->state &= ~(unsigned)EXEC_TASK_SCOPED_;
        exec_abort(t);
    }
    while ((l = future_list_pop(&s->done)) != 0) {
        exec_task_t *t = FUTURE_CONTAINER_OF(l, exec_task_t, live);
        t->state &= ~(unsigned)EXEC_TASK_HELD_;
        s->ndone--;
    }
    future_wake(s->waiter);
    s->waiter = 0;
}

WEFT_API void exec_scope_owner_gone_(future_owned_t *n) {
    exec_scope_release_all_(FUTURE_CONTAINER_OF(n, exec_scope_t, own));
}

/* Set up scope s on ex, owned by frame owner (or by none: 0). */
WEFT_API void exec_scope_init_(exec_scope_t *s, exec_t *ex, future_t *owner) {
    if (!ex) FUTURE_MISUSE("a task scope without an executor (SCOPE_INIT in a "
                           "future polled by hand, cx->exec == 0): run it on an exec_t");
    /* Initialised again while a frame still owns it (a scope per round in
     * one frame field): let go of the old one first, as its owner would.
     * The drop function is checked before any pointer is followed. */
    if (s->own.drop == exec_scope_owner_gone_ && s->own.pprev && *s->own.pprev == &s->own) {
        future_owned_unlink(&s->own);
        exec_scope_release_all_(s);
    }
    memset(s, 0, sizeof *s);
    s->ex = ex;
    s->parent = ex ? ex->current : 0;
    if (owner) future_own(owner, &s->own, exec_scope_owner_gone_);
}

/* An empty scope. Called from inside a task, it belongs to that task's
 * root frame; outside any task, to nobody: exec_scope_release it before
 * its memory goes. Inside an async body, EXEC_SCOPE_INIT gives it to the
 * frame itself. */
WEFT_API void exec_scope_init(exec_scope_t *s, exec_t *ex) {
    exec_scope_init_(s, ex, exec_owner_(ex));
}

/* Inside an async body: an empty scope owned by this frame. */
#define EXEC_SCOPE_INIT(cx, s) exec_scope_init_((s), exec_of(cx), FUTURE_SELF_)

/* Spawn fut as task t into s. As exec_spawn, and -EPIPE once s is closed
 * (nothing happened: fut was not polled, t is untouched). */
WEFT_API int exec_scope_spawn(exec_scope_t *s, exec_task_t *t, future_t *fut) {
    return exec_spawn_(s->ex, t, fut, 0, 0, s);
}
#define exec_scope_spawn(s, t, fut) (exec_scope_spawn)((s), (t), FUTURE_OF(fut))

/* No more spawns (-EPIPE); the tasks in it go on. wait becomes ready once
 * the running ones have finished. */
WEFT_API void exec_scope_close(exec_scope_t *s) {
    s->closed = 1;
    future_wake(s->waiter);
}

/* Abort every running task (tokio's abort_all): each finishes with
 * -ECANCELED and join_next hands it out like any other. */
WEFT_API void exec_scope_abort(exec_scope_t *s) {
    future_owned_t *n = s->running;
    while (n) {
        exec_task_t *t = FUTURE_CONTAINER_OF(n, exec_task_t, own);
        if (t->state & EXEC_TASK_RUNNING_) { /* the caller: after its poll */
            t->state |= EXEC_TASK_ABORT_;
            n = n->next;
        } else {
            exec_abort(t); /* unlinks it; its drop may unlink others */
            n = s->running;
        }
    }
}

/* For a scope owned by nobody, before its memory goes: abort what runs,
 * forget what finished (their records are free again). An owned scope
 * does this by itself when its owner goes. */
WEFT_API void exec_scope_release(exec_scope_t *s) {
    future_owned_unlink(&s->own);
    exec_scope_release_all_(s);
}

WEFT_API size_t exec_scope_running(const exec_scope_t *s) { return s->nrunning; }

/* Tasks not yet handed out: running, or finished and waiting for join_next. */
WEFT_API size_t exec_scope_len(const exec_scope_t *s) { return s->nrunning + s->ndone; }

WEFT_API void exec_scope_set_name(exec_scope_t *s, const char *name) { s->name = name; }

/* Keep w as the scope's waiter; a second waiter at once is misuse. */
WEFT_API int exec_scope_wait_on_(exec_scope_t *s, future_waker_t **mine, future_waker_t *w) {
    if (s->waiter && s->waiter != *mine) {
        FUTURE_MISUSE("two futures wait on one task scope at once: await its "
                      "join_next / wait from one place");
        return -EBUSY;
    }
    s->waiter = *mine = w;
    return 0;
}

WEFT_API void exec_scope_forget_(exec_scope_t *s, future_waker_t **mine) {
    if (*mine && s->waiter == *mine) s->waiter = 0;
    *mine = 0;
}

WEFT_API void exec_scope_describe_(const exec_scope_t *s, future_fmt_t *o) {
    future_fmt_str(o, "scope ");
    if (s->name) {
        future_fmt_str(o, "\"");
        future_fmt_str(o, s->name);
        future_fmt_str(o, "\" ");
    }
    future_fmt_str(o, "(");
    future_fmt_u64(o, s->nrunning);
    future_fmt_str(o, " running, ");
    future_fmt_u64(o, s->ndone);
    future_fmt_str(o, s->closed ? " done, closed)" : " done)");
}

/* join_next: the next task of the scope to finish (tokio's
 * JoinSet::join_next). Ready with .task = that task (now out of the scope:
 * its record is free) and its result in .err and as the future's error (so
 * AWAIT_TRY stops at a failed task); or with .task = 0 and no error when
 * the scope has no task left. Cancel-safe: a dropped join_next takes no
 * task out. */
typedef struct exec_scope_next {
    future_t fut;
    exec_scope_t *scope;
    FUTURE_EXT_ union {
        exec_task_t *out;  /* the task that finished, or 0: none left */
        exec_task_t *task; /* the same */
    };
    int err;
    future_waker_t *waiting;
} exec_scope_next_t;

WEFT_API void exec_scope_next_describe_(const future_t *f, future_fmt_t *o) {
    exec_scope_describe_(((const exec_scope_next_t *)(const void *)f)->scope, o);
}

WEFT_API coro_poll_t exec_scope_next_poll_(future_t *self, future_cx_t *cx) {
    exec_scope_next_t *n = (exec_scope_next_t *)(void *)self;
    exec_scope_t *s = n->scope;
    if (s->done.head || !s->nrunning) {
        future_link_t *l;
        if (!future_coop_spend(cx)) return CORO_PENDING;
        exec_scope_forget_(s, &n->waiting);
        if (!(l = future_list_pop(&s->done))) return future_finish(self, 0);
        n->task = FUTURE_CONTAINER_OF(l, exec_task_t, live);
        n->task->state &= ~(unsigned)EXEC_TASK_HELD_;
        s->ndone--;
        n->err = n->task->err;
        return future_finish(self, n->err);
    }
    if (exec_scope_wait_on_(s, &n->waiting, cx->waker)) return future_finish(self, -EBUSY);
    {
        static const future_kind_t kind = {FUTURE_KIND_TAG_, "join_next", exec_scope_next_describe_};
        future_set_kind(self, &kind);
    }
    return CORO_PENDING;
}

WEFT_API void exec_scope_next_drop_(future_t *self) {
    exec_scope_next_t *n = (exec_scope_next_t *)(void *)self;
    exec_scope_forget_(n->scope, &n->waiting);
}

WEFT_API void exec_scope_next_init(exec_scope_next_t *n, exec_scope_t *s) {
    future_init(&n->fut, exec_scope_next_poll_, exec_scope_next_drop_);
    n->scope = s;
    n->task = 0;
    n->err = 0;
    n->waiting = 0;
}

/* wait: ready once the scope is closed and none of its tasks runs
 * (tokio-util's TaskTracker::wait). Put it under a timeout for a
 * shutdown deadline, then exec_scope_abort the rest. */
typedef struct exec_scope_wait {
    future_t fut;
    exec_scope_t *scope;
    future_waker_t *waiting;
} exec_scope_wait_t;

WEFT_API void exec_scope_wait_describe_(const future_t *f, future_fmt_t *o) {
    exec_scope_describe_(((const exec_scope_wait_t *)(const void *)f)->scope, o);
}

WEFT_API coro_poll_t exec_scope_wait_poll_(future_t *self, future_cx_t *cx) {
    exec_scope_wait_t *w = (exec_scope_wait_t *)(void *)self;
    exec_scope_t *s = w->scope;
    if (s->closed && !s->nrunning) {
        if (!future_coop_spend(cx)) return CORO_PENDING;
        exec_scope_forget_(s, &w->waiting);
        return future_finish(self, 0);
    }
    if (exec_scope_wait_on_(s, &w->waiting, cx->waker)) return future_finish(self, -EBUSY);
    {
        static const future_kind_t kind = {FUTURE_KIND_TAG_, "scope wait", exec_scope_wait_describe_};
        future_set_kind(self, &kind);
    }
    return CORO_PENDING;
}

WEFT_API void exec_scope_wait_drop_(future_t *self) {
    exec_scope_wait_t *w = (exec_scope_wait_t *)(void *)self;
    exec_scope_forget_(w->scope, &w->waiting);
}

WEFT_API void exec_scope_wait_init(exec_scope_wait_t *w, exec_scope_t *s) {
    future_init(&w->fut, exec_scope_wait_poll_, exec_scope_wait_drop_);
    w->scope = s;
    w->waiting = 0;
}

/* ---- wakes from other threads ------------------------------------------- */

/* On the executor thread: a handle other threads can wake us through. */
WEFT_API void exec_remote_init(exec_remote_t *r, exec_t *ex) {
#ifdef EXEC_BACKEND_BARE
    exec_remote_t *o;
    for (o = ex->remote; o; o = o->next)
        if (o == r) {
            FUTURE_MISUSE("exec_remote_init of a handle that is open: "
                          "exec_remote_close it first");
            return;
        }
#endif
    r->next = 0;
    r->ex = ex;
    r->waker = 0;
    r->pending = 0;
    r->busy = 0;
    ex->nremote++;
#ifdef EXEC_BACKEND_BARE
    r->next = ex->remote; /* every open handle, for the drain's walk */
    ex->remote = r;
#endif
}

/* Can r be closed? A closed handle points at itself (r->next == r: never
 * so while open, in a queue or a list); one never opened has no
 * executor. Closing either would count an open handle less, and a count
 * wrapped to ~0 hides every stall: reported instead. */
WEFT_API int exec_remote_closable_(const exec_remote_t *r) {
    if (r->next == r || !r->ex) {
        FUTURE_MISUSE("exec_remote_close of a handle that is not open (closed "
                      "twice, or never exec_remote_init'ed): close each once");
        return 0;
    }
    return 1;
}

/* On the executor thread: whom the next wake is for (usually cx->waker). */
WEFT_API void exec_remote_set_waker(exec_remote_t *r, future_waker_t *w) { r->waker = w; }

#ifndef EXEC_BACKEND_BARE
/* Wake the loop out of its wait: one write to the eventfd (the pipe).
 * EAGAIN means it is already readable: as good. */
WEFT_API void exec_backend_notify_(exec_t *ex) {
#ifdef EXEC_BACKEND_EPOLL
    uint64_t one = 1;
    ssize_t n = write(ex->efd, &one, sizeof one);
#else
    char one = 1;
    ssize_t n = write(ex->wake_fds[1], &one, 1);
#endif
    (void)n;
}

#ifndef EXEC_REMOTE_AFTER_PUSH_
#define EXEC_REMOTE_AFTER_PUSH_() ((void)0)
#endif

/* From any thread, or a signal handler: wake the registered waker on the
 * executor's thread. A lock-free push; the eventfd (the pipe) is written
 * only if the executor is asleep, and only once however many threads wake
 * it. Never blocks; async-signal-safe.
 *
 * The push makes the wake visible to the loop, which may deliver it, see
 * exec_remote_close return and free the executor, all before this function
 * has finished with ex. So the whole call counts as busy (as libuv's
 * uv_async_send does): close waits until no wake is inside it, and the
 * busy decrement is the last touch of r or ex. */
WEFT_API void exec_remote_wake(exec_remote_t *r) {
    exec_t *ex;
    exec_remote_t *old;
    EXEC_ADD_(&r->busy, 1);
    ex = r->ex;
    if (!EXEC_XCHG_(&r->pending, 1)) { /* not already on its way */
        old = EXEC_LOAD_(&ex->remote);
        do {
            r->next = old;
        } while (!EXEC_CAS_(&ex->remote, &old, r));
        EXEC_REMOTE_AFTER_PUSH_(); /* a test hook: widens the window below */
        __atomic_thread_fence(__ATOMIC_SEQ_CST); /* push -> load parked */
        /* Seen after our push: if the loop parked before seeing the push,
         * it had set parked first, and we see it here (both seq_cst). */
        if (EXEC_LOAD_(&ex->parked) && !EXEC_XCHG_(&ex->efd_signalled, 1)) {
#if EXEC_STATS
            EXEC_ADD_(&ex->stats.efd_writes, 1);
#endif
            exec_backend_notify_(ex);
        }
    }
    EXEC_ADD_(&r->busy, -1); /* from here r and ex may be gone */
}

/* Deliver every remote wake queued so far, in the order they came. */
WEFT_API void exec_drain_remote_(exec_t *ex) {
    exec_remote_t *l, *fifo = 0;
    if (!EXEC_LOAD_(&ex->remote)) return;
    l = EXEC_XCHG_(&ex->remote, (exec_remote_t *)0);
    while (l) { /* the stack is newest first: reverse it */
        exec_remote_t *next = l->next;
        l->next = fifo;
        fifo = l;
        l = next;
    }
    while (fifo) {
        exec_remote_t *r = fifo;
        future_waker_t *w = r->waker;
        fifo = r->next;
        EXEC_STORE_(&r->pending, 0); /* from here another wake may queue it */
        EXEC_COUNT_(ex, remote);
        future_wake(w);
    }
}

/* On the executor thread, once no other thread will start a wake of r any
 * more: wait for wakes still inside exec_remote_wake, and make sure r is
 * not queued, so that r's memory (and the executor) may go. */
WEFT_API void exec_remote_close(exec_remote_t *r) {
    if (r->ex) {
        r->waker = 0;
        while (EXEC_LOAD_(&r->pending) || EXEC_LOAD_(&r->busy)) {
            exec_drain_remote_(r->ex); /* it may still be mid-push: then retry */
            if (EXEC_LOAD_(&r->pending) || EXEC_LOAD_(&r->busy)) sched_yield();
        }
    }
    /* Only now: a wake still in flight writes r->next (its push). */
    if (!exec_remote_closable_(r)) return;
    r->ex->nremote--;
    r->next = r; /* closed (see exec_remote_closable_) */
}

#else /* EXEC_BACKEND_BARE */

/* From an interrupt handler (or the loop itself): wake the registered
 * waker on the loop. Two word stores, no lock, no read-modify-write (a
 * Cortex-M0+ has no atomic exchange), bounded time: the handle's flag,
 * then the executor's. The loop clears the executor's flag before it
 * looks at the handles' flags, so a wake that lands during the look is
 * seen then or at the next drain, never lost. The rules it relies on:
 *   - exec_remote_set_waker before the event can happen, then re-check
 *     the event in the task, then wait (a wake between the check and the
 *     wait is kept by the flag);
 *   - the idle hook masks interrupts, looks at exec_wake_pending, and
 *     sleeps only if it is 0 (WFI wakes on a pending interrupt even while
 *     they are masked), then unmasks: a wake just before the sleep is not
 *     slept through;
 *   - no interrupt wakes a handle after exec_remote_close began. */
WEFT_API void exec_remote_wake(exec_remote_t *r) {
    exec_t *ex = r->ex;
    EXEC_STORE_(&r->pending, 1);
    EXEC_STORE_(&ex->efd_signalled, 1);
}

/* Deliver the wakes interrupts made since the last drain. O(open
 * handles): a board has a few. */
WEFT_API void exec_drain_remote_(exec_t *ex) {
    exec_remote_t *r, *next;
    if (!EXEC_LOAD_(&ex->efd_signalled)) return;
    EXEC_STORE_(&ex->efd_signalled, 0); /* before the look: see above */
    for (r = ex->remote; r; r = next) {
        next = r->next;
        if (!EXEC_LOAD_(&r->pending)) continue;
        EXEC_STORE_(&r->pending, 0);
        EXEC_COUNT_(ex, remote);
        future_wake(r->waker);
    }
}

/* On the loop, once no interrupt will wake r any more: forget it, so
 * that its memory may go. */
WEFT_API void exec_remote_close(exec_remote_t *r) {
    exec_remote_t **p;
    if (!exec_remote_closable_(r)) return;
    p = &r->ex->remote;
    while (*p && *p != r) p = &(*p)->next;
    if (*p) *p = r->next;
    r->waker = 0;
    r->ex->nremote--;
    r->next = r; /* closed (see exec_remote_closable_) */
}
#endif /* EXEC_BACKEND_BARE */

/* Is a wake from an interrupt (bare) or another thread waiting for the
 * loop? For a bare idle hook, which looks at it with interrupts masked
 * before it sleeps. */
WEFT_API int exec_wake_pending(const exec_t *ex) {
#ifdef EXEC_BACKEND_BARE
    return EXEC_LOAD_(&ex->efd_signalled) != 0;
#else
    return EXEC_LOAD_(&ex->remote) != 0;
#endif
}

/* The name to call it by in an interrupt handler: the same function. */
#define exec_isr_wake(r) exec_remote_wake(r)

/* ---- the reactor -------------------------------------------------------- */
#ifdef EXEC_HAVE_FDS_

WEFT_API int exec_io_add_(exec_t *ex, exec_io_t *io);
WEFT_API int exec_io_del_(exec_t *ex, exec_io_t *io);

/* Register fd for reading and writing, once for its life. Edge-triggered:
 * a direction stays ready until an operation says EAGAIN (exec_io_clear).
 * Returns 0 or -errno (epoll_ctl's; the poll backend: -EMFILE past
 * EXEC_POLL_MAX_FDS fds). */
WEFT_API int exec_io_start(exec_io_t *io, exec_t *ex, int fd) {
    int rc;
    io->fd = fd;
    io->ready = 0;
    io->reader = io->writer = 0;
    io->ex = ex;
    io->hup = 0;
    if ((rc = exec_io_add_(ex, io)) < 0) return rc;
    ex->nio++;
    return 0;
}

/* Deregister (before closing the fd). Anyone still waiting is woken. */
WEFT_API int exec_io_stop(exec_io_t *io) {
    int rc;
    if (!io->ex) return 0;
    rc = exec_io_del_(io->ex, io);
    io->ex->nio--;
    io->ex = 0;
    future_wake(io->reader);
    future_wake(io->writer);
    io->reader = io->writer = 0;
    return rc;
}

/* Is the fd ready in direction dir (EXEC_IO_READ or _WRITE)? If not, the
 * caller's waker is kept and woken at the next edge. */
WEFT_API coro_poll_t exec_io_poll(exec_io_t *io, future_cx_t *cx, unsigned dir) {
    if (io->ready & dir) return CORO_READY;
    if (dir & EXEC_IO_READ) io->reader = cx->waker;
    else io->writer = cx->waker;
    return CORO_PENDING;
}

/* The operation returned EAGAIN: the readiness is used up until next edge. */
WEFT_API void exec_io_clear(exec_io_t *io, unsigned dir) { io->ready &= ~dir; }

/* A future that waited on io is done with it (dropped, or ready): forget
 * its waker w for dir, if w is still the one registered (0: whichever is). */
WEFT_API void exec_io_forget(exec_io_t *io, unsigned dir, const future_waker_t *w) {
    if ((dir & EXEC_IO_READ) && (!w || io->reader == w)) io->reader = 0;
    if ((dir & EXEC_IO_WRITE) && (!w || io->writer == w)) io->writer = 0;
}

/* What the backend saw on io: readable, writable, hung up (or in error:
 * the backend counts those as ready too, so the next operation reports
 * them). */
WEFT_API void exec_io_event_(exec_io_t *io, int rd, int wr, int hup) {
    EXEC_COUNT_(io->ex, io_events);
    if (hup) io->hup = 1;
    if (rd) {
        io->ready |= EXEC_IO_READ;
        future_wake(io->reader);
    }
    if (wr) {
        io->ready |= EXEC_IO_WRITE;
        future_wake(io->writer);
    }
}

/* A wait in whole milliseconds for epoll_wait / poll: rounded up (never
 * early), and clamped to INT_MAX ms (24.8 days; the loop simply waits
 * again), as libuv does. -1 (forever) stays -1. */
WEFT_API int exec_timeout_ms_(int64_t timeout_ns) {
    int64_t ms;
    if (timeout_ns < 0) return -1;
    ms = timeout_ns / 1000000 + (timeout_ns % 1000000 != 0);
    return ms > INT_MAX ? INT_MAX : (int)ms;
}
#endif /* EXEC_HAVE_FDS_ */

/* ---- backend: epoll (Linux) ---------------------------------------------- */
#ifdef EXEC_BACKEND_EPOLL

WEFT_API int exec_io_add_(exec_t *ex, exec_io_t *io) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = io;
    return epoll_ctl(ex->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0 ? -errno : 0;
}

WEFT_API int exec_io_del_(exec_t *ex, exec_io_t *io) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    return epoll_ctl(ex->epfd, EPOLL_CTL_DEL, io->fd, &ev) < 0 ? -errno : 0;
}

WEFT_API void exec_dispatch_(exec_t *ex, struct epoll_event *evs, int n) {
    int i;
    for (i = 0; i < n; i++) {
        uint32_t e = evs[i].events;
        if (evs[i].data.ptr == (void *)&ex->efd) { /* a remote wake */
            uint64_t v;
            ssize_t r = read(ex->efd, &v, sizeof v);
            (void)r;
            EXEC_STORE_(&ex->efd_signalled, 0);
            continue;
        }
        exec_io_event_((exec_io_t *)evs[i].data.ptr,
                       (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0,
                       (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0,
                       (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
    }
}

/* epoll_pwait2 (nanosecond timeouts, Linux 5.11), called through syscall()
 * so that the binary does not need a glibc that wraps it (2.35) and musl
 * gets it too. The kernel's timespec has 64-bit fields on every ABI. */
#if defined(SYS_epoll_pwait2) && !defined(EXEC_NO_EPOLL_PWAIT2)
#define EXEC_HAVE_PWAIT2_ 1
WEFT_API int exec_pwait2_(int epfd, struct epoll_event *evs, int max, int64_t timeout_ns) {
    struct { int64_t tv_sec; long long tv_nsec; } ts;
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    return (int)syscall(SYS_epoll_pwait2, epfd, evs, max, timeout_ns < 0 ? (void *)0 : (void *)&ts,
                        (void *)0, (size_t)0);
}
#endif

/* Wait for events for up to timeout_ns (-1: forever, 0: just look), and
 * dispatch them. 0, or -errno when the wait itself fails for another
 * reason than a signal. */
WEFT_API int exec_backend_wait_(exec_t *ex, int64_t timeout_ns) {
    struct epoll_event evs[EXEC_MAX_EVENTS];
    int n = -1;
#ifdef EXEC_HAVE_PWAIT2_
    if (!ex->no_pwait2) {
        n = exec_pwait2_(ex->epfd, evs, EXEC_MAX_EVENTS, timeout_ns);
        /* ENOSYS (an old kernel), EPERM (a seccomp profile that does not
         * know it), or anything else it should not say: never again, and
         * epoll_wait right now. */
        if (n < 0 && errno != EINTR) ex->no_pwait2 = 1;
    }
    if (ex->no_pwait2)
#endif
        n = epoll_wait(ex->epfd, evs, EXEC_MAX_EVENTS, exec_timeout_ms_(timeout_ns));
    EXEC_STORE_(&ex->parked, 0); /* awake: wakes from here need no write */
    if (n < 0) return errno == EINTR ? 0 : -errno;
    exec_dispatch_(ex, evs, n);
    return 0;
}

/* The epoll instance and the wake eventfd, registered in it. 0 or -errno,
 * with nothing left open. */
WEFT_API int exec_backend_init_(exec_t *ex) {
    struct epoll_event ev;
    int e;
    ex->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ex->epfd < 0) return -errno;
    ex->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ex->efd < 0) {
        e = -errno;
        close(ex->epfd);
        return e;
    }
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = &ex->efd;
    if (epoll_ctl(ex->epfd, EPOLL_CTL_ADD, ex->efd, &ev) < 0) {
        e = -errno;
        close(ex->efd);
        close(ex->epfd);
        return e;
    }
    return 0;
}

WEFT_API void exec_backend_close_(exec_t *ex) {
    close(ex->efd);
    close(ex->epfd);
    ex->efd = ex->epfd = -1;
}
#endif /* EXEC_BACKEND_EPOLL */

/* ---- backend: poll(2) (any POSIX) ---------------------------------------- */
#ifdef EXEC_BACKEND_POLL

/* The registered fds are a list; each wait builds its pollfd array on the
 * stack, asking only for the directions not already ready: that makes
 * level-triggered poll(2) behave as the edge-triggered contract wants (a
 * ready direction is not reported again until an EAGAIN clears it), and
 * an fd ready both ways (or hung up) costs nothing. The knob
 * EXEC_POLL_MAX_FDS (1024) bounds the fds, and the wait's stack use
 * (16 bytes each on 64-bit). */
#ifndef EXEC_POLL_MAX_FDS
#define EXEC_POLL_MAX_FDS 1024
#endif

/* Refused as epoll refuses it: -EBADF for a closed fd, -EPERM for a
 * regular file or a directory (always "ready": waiting on one is a bug). */
WEFT_API int exec_io_add_(exec_t *ex, exec_io_t *io) {
    struct stat st;
    exec_io_t *o;
    if (ex->nio >= EXEC_POLL_MAX_FDS) return -EMFILE; /* raise EXEC_POLL_MAX_FDS */
    if (fstat(io->fd, &st) < 0) return -errno;
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return -EPERM;
    for (o = ex->ios; o; o = o->io_next) /* as epoll_ctl: an fd (an io) once */
        if (o == io || o->fd == io->fd) return -EEXIST;
    io->io_prev = 0;
    io->io_next = ex->ios;
    if (ex->ios) ex->ios->io_prev = io;
    ex->ios = io;
    return 0;
}

WEFT_API int exec_io_del_(exec_t *ex, exec_io_t *io) {
    if (io->io_prev) io->io_prev->io_next = io->io_next;
    else ex->ios = io->io_next;
    if (io->io_next) io->io_next->io_prev = io->io_prev;
    io->io_next = io->io_prev = 0;
    return 0;
}

#ifdef POLLRDHUP
#define EXEC_POLLRDHUP_ POLLRDHUP /* Linux: the peer shut its side */
#else
#define EXEC_POLLRDHUP_ 0
#endif

WEFT_API int exec_backend_wait_(exec_t *ex, int64_t timeout_ns) {
    struct pollfd p[EXEC_POLL_MAX_FDS + 1];
    exec_io_t *who[EXEC_POLL_MAX_FDS + 1];
    exec_io_t *io;
    int i, n = 1, rc;
    p[0].fd = ex->wake_fds[0];
    p[0].events = POLLIN;
    for (io = ex->ios; io; io = io->io_next) {
        short want = 0;
        if (!(io->ready & EXEC_IO_READ)) want |= POLLIN | EXEC_POLLRDHUP_;
        if (!(io->ready & EXEC_IO_WRITE)) want |= POLLOUT;
        if (!want) continue; /* ready both ways: nothing new to learn */
        p[n].fd = io->fd;
        p[n].events = want;
        who[n++] = io;
    }
    rc = poll(p, (nfds_t)n, exec_timeout_ms_(timeout_ns));
    EXEC_STORE_(&ex->parked, 0); /* awake: wakes from here need no write */
    if (rc < 0) return errno == EINTR ? 0 : -errno;
    if (p[0].revents & (POLLNVAL | POLLERR | POLLHUP)) /* the pipe went bad */
        return p[0].revents & POLLNVAL ? -EBADF : -EPIPE;
    if (p[0].revents) { /* a remote wake: empty the pipe */
        char buf[64];
        while (read(ex->wake_fds[0], buf, sizeof buf) > 0) {}
        EXEC_STORE_(&ex->efd_signalled, 0);
    }
    for (i = 1; i < n && rc > 0; i++) {
        short e = p[i].revents;
        if (!e) continue;
        exec_io_event_(who[i], (e & (POLLIN | EXEC_POLLRDHUP_ | POLLHUP | POLLERR | POLLNVAL)) != 0,
                       (e & (POLLOUT | POLLHUP | POLLERR | POLLNVAL)) != 0,
                       (e & (EXEC_POLLRDHUP_ | POLLHUP | POLLERR | POLLNVAL)) != 0);
    }
    return 0;
}

/* An fd made non-blocking and close-on-exec (pipe2 is not everywhere). */
WEFT_API int exec_fd_flags_(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
    return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? -errno : 0;
}

/* The self-pipe. 0 or -errno, with nothing left open. */
WEFT_API int exec_backend_init_(exec_t *ex) {
    int e;
    if (pipe(ex->wake_fds) < 0) return -errno;
    if ((e = exec_fd_flags_(ex->wake_fds[0])) < 0 || (e = exec_fd_flags_(ex->wake_fds[1])) < 0) {
        close(ex->wake_fds[0]);
        close(ex->wake_fds[1]);
        return e;
    }
    return 0;
}

WEFT_API void exec_backend_close_(exec_t *ex) {
    close(ex->wake_fds[0]);
    close(ex->wake_fds[1]);
    ex->wake_fds[0] = ex->wake_fds[1] = -1;
}
#endif /* EXEC_BACKEND_POLL */

/* ---- backend: bare (no OS) ----------------------------------------------- */
#ifdef EXEC_BACKEND_BARE

/* What the loop does when nothing is runnable: call idle(ex, deadline,
 * ctx), deadline being the executor time (ns) of the next timer, or
 * TIMER_NEVER (with EXEC_TICK_TIME: in ticks, and never more than
 * TIMER_TICK_MAX ticks ahead, as a tick clock's is capped at 2^31 ticks). The hook may sleep until an interrupt (and must not sleep
 * past the deadline by much: a periodic tick interrupt does it) and may
 * return early at any time. The rule for a sleep:
 *
 *     static void idle(exec_t *ex, timer_time_t deadline, void *ctx) {
 *         __disable_irq();
 *         if (!exec_wake_pending(ex)) __WFI(); // a pending IRQ ends it
 *         __enable_irq();
 *     }
 *
 * Without a hook (the default) the loop spins, reading the clock. */
WEFT_API void exec_set_idle(exec_t *ex, void (*idle)(exec_t *ex, timer_time_t deadline, void *ctx),
                            void *ctx) {
    ex->idle_fn = idle;
    ex->idle_ctx = ctx;
}

WEFT_API int exec_backend_wait_(exec_t *ex, exec_wait_t_ timeout_ns) {
#ifdef EXEC_TICK_TIME /* forever is at most TIMER_TICK_MAX (exec_idle_ caps it) */
    if (timeout_ns == 0 || !ex->idle_fn) return 0;
    ex->idle_fn(ex, ex->timers.now + (timer_time_t)(timeout_ns < 0 ? INT32_MAX : timeout_ns),
                ex->idle_ctx);
    return 0;
#else
    uint64_t deadline = TIMER_NEVER;
    if (timeout_ns == 0 || !ex->idle_fn) return 0;
    if (timeout_ns > 0 && (uint64_t)timeout_ns < TIMER_NEVER - ex->timers.now)
        deadline = ex->timers.now + (uint64_t)timeout_ns;
    ex->idle_fn(ex, deadline, ex->idle_ctx);
    return 0;
#endif
}

WEFT_API int exec_backend_init_(exec_t *ex) {
    (void)ex;
    return 0;
}

WEFT_API void exec_backend_close_(exec_t *ex) { (void)ex; }
#endif /* EXEC_BACKEND_BARE */

/* Wait in the backend for up to timeout_ns (-1: forever, 0: just look).
 * 0, or -errno when the wait itself fails for another reason than a
 * signal (a closed epoll fd...): the loop then stops with that error,
 * instead of spinning on a wait that cannot work. */
WEFT_API int exec_wait_(exec_t *ex, exec_wait_t_ timeout_ns) {
    int rc;
    if (timeout_ns != 0) {
        EXEC_STORE_(&ex->parked, 1);
        /* Store parked, then load the wakes: the one order seq_cst must
         * keep (store -> load). Spelled out as a fence too, which also
         * holds under emulators that weaken it (qemu-user on an x86 host). */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (exec_wake_pending(ex)) timeout_ns = 0; /* a wake came: don't sleep */
        else EXEC_COUNT_(ex, parks);
    }
    rc = exec_backend_wait_(ex, timeout_ns);
    EXEC_STORE_(&ex->parked, 0);
    return rc;
}

/* ---- the loop ----------------------------------------------------------- */

/* The scope t was spawned into, or 0 (also once the scope let it go). */
WEFT_API const exec_scope_t *exec_task_scope_(const exec_task_t *t) {
    return t->state & EXEC_TASK_SCOPED_ ? t->scope_ : 0;
}

/* The task whose frame owns t (a scope's task: the scope's), or 0. */
WEFT_API const exec_task_t *exec_task_parent_(const exec_task_t *t) {
    return t->state & EXEC_TASK_SCOPED_ ? t->scope_->parent : t->parent_;
}

#ifdef EXEC_HAVE_STDIO_
typedef struct exec_dump_cx_ {
    FILE *out;
    int indent;
} exec_dump_cx_t_;

WEFT_API void exec_trace_line_(void *ctx, int depth, const future_t *f) {
    exec_dump_cx_t_ *d = (exec_dump_cx_t_ *)ctx;
    char buf[160];
    future_fmt_t o;
    o.buf = buf;
    o.cap = sizeof buf;
    o.len = 0;
    o.waker_name = exec_waker_name_;
    o.ctx = 0;
    buf[0] = 0;
    future_describe(f, &o);
    fprintf(d->out, "%*s%s\n", d->indent + 2 + 2 * depth, "", buf);
}

WEFT_API void exec_dump_task_(const exec_t *ex, const exec_task_t *t, FILE *out, int indent);

/* The tasks that t's frames own (parent == t), scope by scope: the tree. */
WEFT_API void exec_dump_children_(const exec_t *ex, const exec_task_t *t, FILE *out,
                                  int indent) {
    const future_link_t *l, *m;
    for (l = ex->live.head; l; l = l->next) {
        const exec_task_t *c = FUTURE_CONTAINER_OF(l, const exec_task_t, live);
        int first = 1;
        const exec_scope_t *cs = exec_task_scope_(c);
        if (exec_task_parent_(c) != t) continue;
        if (!cs) {
            exec_dump_task_(ex, c, out, indent);
            continue;
        }
        /* A scope is shown once, at its first task (newest first). */
        for (m = ex->live.head; m != l; m = m->next) {
            const exec_task_t *e = FUTURE_CONTAINER_OF(m, const exec_task_t, live);
            if (exec_task_parent_(e) == t && exec_task_scope_(e) == cs) first = 0;
        }
        if (!first) continue;
        {
            char buf[128];
            future_fmt_t o = {0, 0, 0, 0, 0};
            o.buf = buf;
            o.cap = sizeof buf;
            buf[0] = 0;
            exec_scope_describe_(cs, &o);
            fprintf(out, "%*s%s\n", indent, "", buf);
        }
        for (m = l; m; m = m->next) {
            const exec_task_t *e = FUTURE_CONTAINER_OF(m, const exec_task_t, live);
            if (exec_task_parent_(e) == t && exec_task_scope_(e) == cs)
                exec_dump_task_(ex, e, out, indent + 2);
        }
    }
}

#if EXEC_METRICS
/* The line under a task in exec_dump while metrics are on. */
WEFT_API void exec_dump_metrics_(const exec_task_t *t, FILE *out, int indent) {
    const exec_task_metrics_t *m = &t->m;
    fprintf(out, "%*s[id %llu: %lu polls, %lu wakes, busy %.3f ms, longest poll %.3f ms, "
                 "queued %.3f ms]\n",
            indent, "", (unsigned long long)m->id, (unsigned long)m->polls,
            (unsigned long)m->wakes, (double)m->busy_ns / 1e6, (double)m->max_poll_ns / 1e6,
            (double)m->queued_ns / 1e6);
}
#endif

WEFT_API void exec_dump_task_(const exec_t *ex, const exec_task_t *t, FILE *out, int indent) {
    char buf[96];
    future_fmt_t o = {0, 0, 0, 0, 0};
    exec_dump_cx_t_ d;
    o.buf = buf;
    o.cap = sizeof buf;
    exec_fmt_task_(&o, t);
    fprintf(out, "%*s%s%s\n", indent, "", buf,
            t == ex->current ? " (running)" : t->state & EXEC_TASK_QUEUED_ ? " (queued)" : "");
#if EXEC_METRICS
    if (ex->instr & EXEC_INSTR_CLOCK_) exec_dump_metrics_(t, out, indent + 2);
#endif
    d.out = out;
    d.indent = indent;
    future_trace(t->fut, 0, exec_trace_line_, &d);
    exec_dump_children_(ex, t, out, indent + 2);
}

/* Print every live task with its async backtrace (where each future in
 * the chain is suspended, outermost first, and what each library future
 * waits for), as a tree: under each task, the tasks its frames own,
 * grouped by scope. While metrics are on, each task's are shown too. */
WEFT_API void exec_dump(const exec_t *ex, FILE *out) {
    exec_dump_children_(ex, 0, out, 2); /* the tasks no task owns, then theirs */
}
#endif /* EXEC_HAVE_STDIO_ */

/* ---- metrics, hooks and the timeline -------------------------------------
 * (-DEXEC_METRICS=1, on every backend; off by default.)
 *
 * Task ids: every spawn gives the task the executor's next id, 1, 2, ...
 * (exec_task_id; a task spawned again gets a new one): tokio's task::Id.
 *
 * Metrics (tokio-metrics' TaskMonitor, per task): exec_set_metrics(&ex, 1)
 * and each task counts its polls, its wakes, its time inside polls (busy
 * and longest poll) and its time queued (woken or spawned, not yet
 * polled): exec_task_metrics(t), and exec_dump shows them under each
 * task. Per executor, exec_t.stats counts polls, turns, parks, io_events,
 * remote wakes and timer_fires, always (unless EXEC_STATS is 0). The
 * time is the executor's clock, read twice a poll and once a wake while metrics are on; paused, it
 * stands still: a test then sees polls of 0 ns, and exact queued times.
 *
 * Hooks (tokio's runtime::Builder on_task_spawn, on_before_task_poll,
 * on_after_task_poll, on_task_terminate; and a wake): exec_set_hooks(&ex,
 * &hooks, ctx) with any callbacks of an exec_hooks_t left 0, to export
 * metrics or count what you like. They run on the loop, inside its
 * bookkeeping: a hook reads (exec_task_id, exec_task_name, the metrics)
 * and must not spawn, wake, abort or poll anything.
 *
 * The timeline: exec_trace_start(&ex, &tr, events, n) records into your
 * buffer of n exec_trace_event_t every poll (when and how long), wake
 * from task to task, spawn, task name and end, until exec_trace_stop; a
 * full buffer counts the rest as dropped. exec_trace_write(&tr, file)
 * writes it as Chrome's trace-event JSON, which chrome://tracing and
 * ui.perfetto.dev open: a row per task (tid = its id, named), a slice
 * ("X") per poll, under a slice "alive" from its spawn to its end (its
 * waits show), an arrow (flow "s" to "f") from the poll that woke or
 * spawned a task to that task's next poll, an instant at its end (err),
 * times in microseconds from the start, and otherData.dropped_events.
 * While recording, metrics are counted too (the same clock reads).
 *
 * Cost: with all of it off a poll tests one word (ex->instr), the test
 * the blocked-executor detector already made; a wake, a spawn and a task's
 * end test it once each; each spawn numbers its task. The task gains its
 * id and metrics: 48 bytes on 64-bit (EXEC_METRICS 0 leaves them out). */
#if EXEC_METRICS
/* The task's id: 1, 2, ... in spawn order on its executor (0: never spawned). */
WEFT_API uint64_t exec_task_id(const exec_task_t *t) { return t->m.id; }

/* Its metrics (see exec_task_metrics_t), counted while metrics (or a
 * trace) are on: from 0 at its spawn, or when they were turned on. */
WEFT_API const exec_task_metrics_t *exec_task_metrics(const exec_task_t *t) { return &t->m; }

/* A clock switch comes on: the live tasks count from zero, from now (a
 * queued one as queued since now). Spawns while it was off left their
 * metrics alone (a spawn with it on zeroes them). */
WEFT_API void exec_metrics_restamp_(exec_t *ex) {
    uint64_t now = exec_metrics_now_(ex);
    future_link_t *l;
    if (ex->instr & EXEC_INSTR_CLOCK_) return; /* already counting */
    for (l = ex->live.head; l; l = l->next) {
        exec_task_t *t = FUTURE_CONTAINER_OF(l, exec_task_t, live);
        exec_metrics_zero_(t);
        t->m.queued_at = now;
    }
}

/* Count per-task metrics (on = 1) or stop (0, the default). From a poll,
 * it takes effect from the next poll. */
WEFT_API void exec_set_metrics(exec_t *ex, int on) {
    if (on) exec_metrics_restamp_(ex);
    exec_instr_set_(ex, EXEC_INSTR_METRICS_, on != 0);
}

WEFT_API int exec_metrics_on(const exec_t *ex) {
    return (ex->instr & EXEC_INSTR_METRICS_) != 0;
}

/* Call hooks (yours, and it must outlive its use) with ctx from now on;
 * hooks = 0 turns them off. */
WEFT_API void exec_set_hooks(exec_t *ex, const exec_hooks_t *hooks, void *ctx) {
    ex->hooks = hooks;
    ex->hooks_ctx = ctx;
    exec_instr_set_(ex, EXEC_INSTR_HOOKS_, hooks != 0);
}

/* Record a timeline into events[0..n) (yours, as tr is: both must live
 * until exec_trace_stop, or exec_destroy, which records the tasks' ends).
 * The names of the tasks alive now are recorded first. 0; -EINVAL (no
 * tr, or no buffer for n > 0); -EBUSY (a trace is recording: stop it). */
WEFT_API int exec_trace_start(exec_t *ex, exec_trace_t *tr, exec_trace_event_t *events,
                              size_t n) {
    const future_link_t *l;
    if (!tr || (!events && n)) {
        FUTURE_MISUSE("exec_trace_start without an exec_trace_t or a buffer: give "
                      "both (caller-owned)");
        return -EINVAL;
    }
    if (ex->trace) {
        FUTURE_MISUSE("exec_trace_start while a trace is recording: "
                      "exec_trace_stop it first");
        return -EBUSY;
    }
    exec_metrics_restamp_(ex);
    tr->ev = events;
    tr->cap = n;
    tr->len = 0;
    tr->dropped = 0;
    tr->t0 = exec_metrics_now_(ex);
    ex->trace = tr;
    exec_instr_set_(ex, EXEC_INSTR_TRACE_, 1);
    for (l = ex->live.head; l; l = l->next) {
        const exec_task_t *t = FUTURE_CONTAINER_OF(l, const exec_task_t, live);
        exec_trace_event_t *e = exec_trace_add_(tr, EXEC_TRACE_NAME, tr->t0, t->m.id, 0);
        if (e) e->name = exec_task_name(t);
    }
    return 0;
}

/* Stop recording: the buffer is yours again, to write or reuse. */
WEFT_API void exec_trace_stop(exec_t *ex) {
    ex->trace = 0;
    exec_instr_set_(ex, EXEC_INSTR_TRACE_, 0);
}

#ifdef EXEC_HAVE_STDIO_
/* s as the contents of a JSON string. */
WEFT_API void exec_json_str_(FILE *out, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c < 0x20) fprintf(out, "\\u%04x", c);
        else fputc(c, out);
    }
}

/* An event's head: phase, name, the task's row, and the time since the
 * trace began in microseconds (exact: ns / 1000, three decimals). */
WEFT_API void exec_json_head_(FILE *out, const exec_trace_t *tr, const char *ph,
                              const char *name, uint64_t tid, uint64_t ts) {
    uint64_t ns = exec_since_(tr->t0, ts);
    fprintf(out, ",\n{\"ph\":\"%s\",\"cat\":\"exec\",\"name\":\"%s\",\"pid\":1,\"tid\":%llu,"
                 "\"ts\":%llu.%03u",
            ph, name, (unsigned long long)tid, (unsigned long long)(ns / 1000),
            (unsigned)(ns % 1000));
}

/* The first poll of task id recorded after event i; 0 if the task ended
 * first, or the buffer did. (A scan: the next poll is usually near.) */
WEFT_API const exec_trace_event_t *exec_trace_next_poll_(const exec_trace_t *tr, size_t i,
                                                         uint64_t id) {
    for (i++; i < tr->len; i++) {
        const exec_trace_event_t *e = &tr->ev[i];
        if (e->task != id || e->kind == EXEC_TRACE_WAKE) continue;
        if (e->kind == EXEC_TRACE_POLL) return e;
        if (e->kind == EXEC_TRACE_FINISH) return 0;
    }
    return 0;
}

/* The poll of task id that event i happened in: its next poll, or, if
 * the task ended first (its end woke its joiner), its last one. */
WEFT_API const exec_trace_event_t *exec_trace_this_poll_(const exec_trace_t *tr, size_t i,
                                                         uint64_t id) {
    size_t j;
    for (j = i + 1; j < tr->len; j++) {
        const exec_trace_event_t *e = &tr->ev[j];
        if (e->task != id || e->kind == EXEC_TRACE_WAKE) continue;
        if (e->kind == EXEC_TRACE_POLL) return e;
        if (e->kind == EXEC_TRACE_FINISH) break;
    }
    if (j == tr->len) return 0; /* the buffer ended first */
    while (i-- > 0)
        if (tr->ev[i].task == id && tr->ev[i].kind == EXEC_TRACE_POLL) return &tr->ev[i];
    return 0;
}

/* An arrow for event i, from the poll of task from that holds it to the
 * next poll of task to; none if either poll is not in the buffer. The
 * ends sit at their polls' starts: every viewer binds them there. */
WEFT_API void exec_json_flow_(FILE *out, const exec_trace_t *tr, size_t i, const char *what,
                              uint64_t from, uint64_t to) {
    const exec_trace_event_t *s = exec_trace_this_poll_(tr, i, from);
    const exec_trace_event_t *f = exec_trace_next_poll_(tr, i, to);
    if (!s || !f) return;
    exec_json_head_(out, tr, "s", what, from, s->ts);
    fprintf(out, ",\"id\":%zu}", i + 1);
    exec_json_head_(out, tr, "f", what, to, f->ts);
    fprintf(out, ",\"bp\":\"e\",\"id\":%zu}", i + 1);
}

/* At the end (event i) of a task whose spawn is in the buffer: a slice
 * "alive" from the spawn to the end, under its polls, so its waits show. */
WEFT_API void exec_json_life_(FILE *out, const exec_trace_t *tr, size_t i) {
    const exec_trace_event_t *end = &tr->ev[i];
    uint64_t d;
    while (i-- > 0) {
        const exec_trace_event_t *e = &tr->ev[i];
        if (e->task != end->task || e->kind != EXEC_TRACE_SPAWN) continue;
        d = exec_since_(e->ts, end->ts);
        exec_json_head_(out, tr, "X", "alive", e->task, e->ts);
        fprintf(out, ",\"dur\":%llu.%03u}", (unsigned long long)(d / 1000), (unsigned)(d % 1000));
        return;
    }
}

/* A task's row name. */
WEFT_API void exec_json_name_(FILE *out, uint64_t tid, const char *name) {
    fprintf(out, ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":%llu,"
                 "\"args\":{\"name\":\"",
            (unsigned long long)tid);
    if (name) exec_json_str_(out, name);
    else fprintf(out, "task %llu", (unsigned long long)tid);
    fputs("\"}}", out);
}

/* Write the timeline as Chrome trace-event JSON (the object form), one
 * event a line. Task names are read now: they must still be valid (string
 * literals are). Any time, also while recording. 0, or -EIO if out
 * failed. */
WEFT_API int exec_trace_write(const exec_trace_t *tr, FILE *out) {
    size_t i;
    fprintf(out, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"generator\":\"weft exec.h\","
                 "\"events\":%zu,\"dropped_events\":%llu},\n\"traceEvents\":[\n"
                 "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"tid\":0,"
                 "\"args\":{\"name\":\"weft executor\"}}",
            tr->len, (unsigned long long)tr->dropped);
    for (i = 0; i < tr->len; i++) {
        const exec_trace_event_t *e = &tr->ev[i];
        switch (e->kind) {
        case EXEC_TRACE_POLL:
            exec_json_head_(out, tr, "X", "poll", e->task, e->ts);
            fprintf(out, ",\"dur\":%llu.%03u}", (unsigned long long)(e->arg / 1000),
                    (unsigned)(e->arg % 1000));
            break;
        case EXEC_TRACE_WAKE:
            exec_json_flow_(out, tr, i, "wake", e->task, e->arg);
            break;
        case EXEC_TRACE_SPAWN:
            exec_json_name_(out, e->task, 0);
            fprintf(out, ",\n{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":1,"
                         "\"tid\":%llu,\"args\":{\"sort_index\":%llu}}",
                    (unsigned long long)e->task, (unsigned long long)e->task);
            if (e->arg) exec_json_flow_(out, tr, i, "spawn", e->arg, e->task);
            break;
        case EXEC_TRACE_NAME:
            exec_json_name_(out, e->task, e->name);
            break;
        default: /* EXEC_TRACE_FINISH */
            exec_json_head_(out, tr, "i", "end", e->task, e->ts);
            fprintf(out, ",\"s\":\"t\",\"args\":{\"err\":%lld}}", (long long)(int64_t)e->arg);
            exec_json_life_(out, tr, i);
        }
    }
    fputs("\n]}\n", out);
    return fflush(out) != 0 || ferror(out) ? -EIO : 0;
}
#endif /* EXEC_HAVE_STDIO_ */
#endif /* EXEC_METRICS */

#ifdef EXEC_TICK_TIME
/* When the wheel next needs advancing, ticks from now (or TIMER_NEVER), and
 * that as a time; without tick time: the time itself. */
#define EXEC_NEXT_(ex) timer_wheel_next_in(&(ex)->timers)
#define EXEC_AT_(ex, next) ((ex)->timers.now + (next))
#else
#define EXEC_NEXT_(ex) timer_wheel_next(&(ex)->timers)
#define EXEC_AT_(ex, next) (next)
/* A tick clock must be read at least every 2^31 ticks (half its wrap): a
 * wait is never longer than that. */
WEFT_API int64_t exec_tick_cap_(const exec_t *ex, int64_t timeout) {
    uint64_t cap = ex->tick_ns > ((uint64_t)INT64_MAX >> 31) ? (uint64_t)INT64_MAX
                                                              : ex->tick_ns << 31;
    return timeout < 0 || (uint64_t)timeout > cap ? (int64_t)cap : timeout;
}
#endif

#ifdef EXEC_BACKEND_BARE
/* Has the bare executor a clock? It has none until exec_set_tick_clock
 * (or exec_set_clock) gives one. */
WEFT_API int exec_has_clock_(const exec_t *ex) {
#ifdef EXEC_TICK_TIME
    return ex->tick_fn != 0;
#else
    return ex->clock_fn != 0;
#endif
}
#endif

/* Nothing is runnable. Wait for I/O, timers or remote wakes, or jump the
 * paused clock. -EDEADLK if nothing could ever wake a task again; -errno if
 * the wait itself failed. */
WEFT_API int exec_idle_(exec_t *ex) {
    timer_time_t next;
    exec_wait_t_ timeout;
    int rc;
    if (ex->paused && !ex->holds) {
        if (EXEC_NIO_(ex) && (rc = exec_wait_(ex, 0)) < 0) return rc; /* I/O first */
        exec_drain_remote_(ex);
        if (ex->head) return 0;
        next = EXEC_NEXT_(ex);
        if (next != TIMER_NEVER) {
            exec_advance_(ex, EXEC_AT_(ex, next)); /* jump to the deadline */
            return 0;
        }
    }
    /* The turn's polls took time: read the clock again before deciding how
     * long to sleep, or a 10 ms timer after a 50 ms poll sleeps 10 ms too
     * many (tokio does the same). Timers now due make tasks runnable. */
    exec_update_time(ex);
    if (ex->head) return 0;
    next = EXEC_NEXT_(ex);
    if (next == TIMER_NEVER && !EXEC_NIO_(ex) && !ex->nremote && !ex->holds) {
#ifdef EXEC_HAVE_STDIO_
        if (ex->log) {
            fprintf(ex->log, "exec: %zu task(s) wait, but nothing can wake them "
                             "(no timer, fd, remote handle or blocking job):\n",
                    ex->nlive);
            exec_dump(ex, ex->log);
        }
#endif
        return -EDEADLK;
    }
#ifdef EXEC_BACKEND_BARE
    if (next != TIMER_NEVER && !ex->paused && !exec_has_clock_(ex)) {
        FUTURE_MISUSE("a timer waits on the bare backend, which has no clock: time "
                      "never moves. Call exec_set_tick_clock (or exec_set_clock) "
                      "after exec_init, or pause the clock");
        return -EINVAL;
    }
#endif
#ifdef EXEC_TICK_TIME /* next is ticks from now; a wait is at most TIMER_TICK_MAX */
    timeout = ex->paused || next > TIMER_TICK_MAX ? INT32_MAX : (exec_wait_t_)next;
#else
    if (ex->paused || next == TIMER_NEVER) timeout = -1;
    else if (next <= ex->timers.now) timeout = 0;
    else timeout = next - ex->timers.now > (uint64_t)INT64_MAX ? INT64_MAX
                                                                 : (int64_t)(next - ex->timers.now);
    if (ex->tick_ns) timeout = exec_tick_cap_(ex, timeout);
#endif
    if ((rc = exec_wait_(ex, timeout)) < 0) return rc;
    exec_update_time(ex);
    exec_drain_remote_(ex);
    return 0;
}

/* One turn: run up to EXEC_POLLS_PER_TURN woken tasks, then look at remote
 * wakes, I/O (only if there are fds: no syscall otherwise) and timers.
 * `until` is exec_block_on's task, or 0: once it has finished, the turn
 * ends without going idle (other tasks may still wait: block_on must not
 * sleep in epoll or jump the paused clock for them). */
WEFT_API int exec_turn_(exec_t *ex, const exec_task_t *until) {
    int n;
    EXEC_COUNT_(ex, turns);
    for (n = 0; n < EXEC_POLLS_PER_TURN && ex->head; n++) exec_poll_task_(ex, exec_pop_(ex));
    exec_drain_remote_(ex);
    if (until && (until->state & EXEC_TASK_DONE_)) return 0;
    if (!ex->head) return ex->nlive ? exec_idle_(ex) : 0;
    if (EXEC_NIO_(ex)) {
        int rc;
        EXEC_COUNT_(ex, io_checks);
        if ((rc = exec_wait_(ex, 0)) < 0) return rc;
    }
    exec_update_time(ex);
    return 0;
}

WEFT_API int exec_enter_(exec_t *ex) {
    if (ex->running) {
        FUTURE_MISUSE("exec_run / exec_block_on called from inside a task: AWAIT "
                      "the future (or spawn it) instead");
        return -EDEADLK;
    }
    ex->running = 1;
#ifdef EXEC_HAVE_THREADS_
    ex->owner = pthread_self();
#endif
    exec_update_time(ex);
    return 0;
}

/* Run until no task is left. 0, or -EDEADLK (see the contract). */
WEFT_API int exec_run(exec_t *ex) {
    int rc = exec_enter_(ex);
    if (rc) return rc;
    while (ex->nlive && !rc) rc = exec_turn_(ex, 0);
    ex->running = 0;
    return rc;
}

/* Run fut to completion on this thread and return its error (the
 * #[tokio::main] of C). Spawned tasks run meanwhile. When fut finishes,
 * the tasks its frames still own are aborted (see "Ownership"); tasks
 * spawned outside any task stay for the next run or for exec_destroy. On
 * a stall fut is dropped and -EDEADLK returned. The task is named "main". */
WEFT_API int exec_block_on(exec_t *ex, future_t *fut) {
    exec_task_t *t = &ex->main_task;
    int rc = exec_enter_(ex);
    if (rc) return rc;
    t->state = 0;
    rc = exec_spawn(t, ex, fut);
    if (!rc) exec_task_set_name(t, "main"); /* just spawned: not joined */
    while (!rc && !(t->state & EXEC_TASK_DONE_)) rc = exec_turn_(ex, t);
    if (rc && (t->state & EXEC_TASK_LIVE_)) { /* a stall, or a failed wait */
        if (t->state & EXEC_TASK_QUEUED_) exec_unqueue_(ex, t);
        exec_cancel_(ex, t);
    }
    ex->running = 0;
    return rc ? rc : t->err;
}
#define exec_block_on(ex, fut) (exec_block_on)((ex), FUTURE_OF(fut))

/* Drop every live task (each finishes with -ECANCELED) and forget pending
 * wakes. Tasks spawned while this runs are dropped at once. The executor
 * stays usable afterwards. */
WEFT_API void exec_shutdown(exec_t *ex) {
    if (ex->current) {
        FUTURE_MISUSE("exec_shutdown from inside a task: return from the task "
                      "and shut down after exec_run / exec_block_on");
        return;
    }
    ex->closing = 1; /* from here wakes queue nothing */
    while (ex->head) exec_pop_(ex);
    while (ex->live.head) exec_cancel_(ex, FUTURE_CONTAINER_OF(ex->live.head, exec_task_t, live));
    exec_drain_remote_(ex);
    ex->closing = 0;
}

/* Set up an executor: its backend (epoll: an epoll instance and an
 * eventfd; poll: a pipe; bare: nothing), its timer wheel. 0, or -errno
 * (EMFILE, ENFILE, ENOMEM) with nothing left open. */
WEFT_API int exec_init(exec_t *ex) {
    int rc;
    memset(ex, 0, sizeof *ex);
    if ((rc = exec_backend_init_(ex)) < 0) return rc;
    timer_wheel_init(&ex->timers, exec_clock_read_(ex));
#ifdef EXEC_HAVE_STDIO_
    ex->log = stderr;
#endif
    return 0;
}

/* Shut down, then release the executor's fds. Not from inside a task (it
 * is refused whole, with a misuse report: the loop still needs its fds). */
WEFT_API void exec_destroy(exec_t *ex) {
    if (ex->current || ex->running) {
        FUTURE_MISUSE("exec_destroy from inside a task (or while exec_run runs): "
                      "return from the task and destroy after exec_run / "
                      "exec_block_on");
        return;
    }
    exec_shutdown(ex);
    exec_backend_close_(ex);
}


#ifdef EXEC_HAVE_FDS_
/* Child processes and signal masks. Pool threads block every signal (the
 * application's handlers belong to its own threads), and io.h's
 * io_signal_open blocks the signals it watches on the loop thread
 * (signalfd) or catches them with a handler that writes to the
 * process's self-pipe (the IO_PORTABLE fallback). A child inherits the
 * mask of the thread that forks it, ignored signals stay ignored across
 * exec(), and a handler still set between fork() and exec() would write
 * into the parent's pipe: a child started from a job or a task would
 * ignore SIGTERM and SIGINT, or worse. Give it a clean start: posix_spawn
 * with attributes from exec_spawnattr_init, or call exec_child_sigreset()
 * in the child between fork() and exec(). */

/* posix_spawn attributes for a child with an empty signal mask and every
 * signal's disposition back to default. 0 or an errno value (posix_spawn's
 * convention); posix_spawnattr_destroy it after the spawn. */
WEFT_API int exec_spawnattr_init(posix_spawnattr_t *attr) {
    sigset_t none, all;
    int rc = posix_spawnattr_init(attr);
    if (rc) return rc;
    sigemptyset(&none);
    sigfillset(&all);
    rc = posix_spawnattr_setsigmask(attr, &none);
    if (!rc) rc = posix_spawnattr_setsigdefault(attr, &all);
    if (!rc) rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc) posix_spawnattr_destroy(attr);
    return rc;
}

/* In a child after fork(), before exec(): every signal's disposition
 * back to the default, then every signal unblocked (in that order, so
 * that no inherited handler runs in the child). Only async-signal-safe
 * calls: fine after fork() in a threaded program. Numbers that are no
 * signal, or that the C library keeps for itself, fail harmlessly. */
#ifdef NSIG
#define EXEC_NSIG_ NSIG
#else
#define EXEC_NSIG_ 65 /* Linux's; POSIX names no limit */
#endif
WEFT_API void exec_child_sigreset(void) {
    struct sigaction dfl;
    sigset_t none;
    int s;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (s = 1; s < EXEC_NSIG_; s++)
        if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, 0);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
}
#endif /* EXEC_HAVE_FDS_ */

/* ---- an entry point (#[tokio::main]) -------------------------------------
 *
 *     ASYNC_FN(app, int argc; char **argv; ...) { ... }
 *     EXEC_MAIN(app, .argc = argc, .argv = argv)
 *
 * defines main(argc, argv): an executor, the frame ASYNC_NEW(app, ...)
 * (static storage: it may be large), exec_block_on, exec_destroy. The exit
 * code is 0 if the future's error is 0; otherwise the error is printed by
 * name ("prog: error: Connection refused (ECONNREFUSED)") and the exit
 * code is 1, as a Rust main returning Err. */
WEFT_API int exec_main_run_(future_t *fut, const char *prog) {
    exec_t ex;
    int err = exec_init(&ex);
    const char *what = "exec_init";
    if (!err) {
        what = "error";
        err = exec_block_on(&ex, fut);
        exec_destroy(&ex);
    }
    if (!err) return 0;
#ifndef EXEC_HAVE_STDIO_
    (void)what;
    (void)prog;
#elif defined(__GLIBC__) && defined(_GNU_SOURCE) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
    fprintf(stderr, "%s: %s: %s (%s)\n", prog, what, strerror(-err),
            strerrorname_np(-err) ? strerrorname_np(-err) : "?");
#else
    fprintf(stderr, "%s: %s: %s (%d)\n", prog, what, strerror(-err), err);
#endif
    return 1;
}

#define EXEC_MAIN(...) EXEC_MAIN_(__VA_ARGS__, )
#define EXEC_MAIN_(name, ...)                                                  \
    int main(int argc, char **argv) {                                          \
        static name##_t exec_main_;                                            \
        (void)argc;                                                            \
        exec_main_ = FUTURE_NEW_(name, __VA_ARGS__);                           \
        return exec_main_run_(&exec_main_.fut, argc > 0 ? argv[0] : #name);    \
    }

/* The short names (see coro.h): WEFT_NO_SHORT_NAMES leaves them out. */
#ifndef WEFT_NO_SHORT_NAMES
#define SPAWN(cx, t, fut) EXEC_SPAWN(cx, t, fut)
#define SCOPE_INIT(cx, s) EXEC_SCOPE_INIT(cx, s)
#endif

#endif /* EXEC_H */
