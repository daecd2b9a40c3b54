/* future.h - lazy futures, wakers and combinators for C (Rust's Future, in C).
 *
 * A future is a frame struct that starts with a future_t, plus a poll
 * function. Making one runs nothing: only polling does. Polling returns
 * CORO_READY (the result is in the frame, the error in future_err) or
 * CORO_PENDING, and a pending future has arranged to wake cx->waker when it
 * is worth polling again. Async functions are written with coro.h's macros
 * plus AWAIT, which polls a child future that lives inside the parent's own
 * frame: awaiting allocates nothing.
 *
 *     typedef struct {
 *         future_t fut;            // header first
 *         int n;                   // argument
 *         timer_sleep_t nap;       // a child future (timer.h), in the frame
 *     } twice_t;
 *
 *     static coro_poll_t twice_poll(future_t *self, future_cx_t *cx) {
 *         twice_t *f = (twice_t *)self;
 *         ASYNC_BEGIN(f);
 *         timer_sleep_init(&f->nap, 10 * TIMER_MS);  // lazy: nothing runs
 *         AWAIT(cx, &f->nap);                        // pending until it fires
 *         f->n *= 2;
 *         ASYNC_END();
 *     }
 *     // twice_t t = {0}; future_init(&t, twice_poll, 0); t.n = 21;
 *     // exec_block_on(&ex, &t);                      // t.n == 42
 *
 * The same in one declaration (ASYNC_FN, below), created with named
 * arguments:
 *
 *     ASYNC_FN(twice, int n; timer_sleep_t nap;) {
 *         ASYNC_BEGIN(f);
 *         timer_sleep_init(&f->nap, 10 * TIMER_MS);
 *         AWAIT(cx, &f->nap);
 *         f->n *= 2;
 *         ASYNC_END();
 *     }
 *     // twice_t t = ASYNC_NEW(twice, .n = 21);
 *
 * The contract
 *   Lazy     x_init(&f, args) stores the arguments and does nothing else.
 *   Poll     future_poll returns ready once. Polling a finished future is a
 *            bug: FUTURE_MISUSE reports it (debug) and it stays ready with
 *            its result unchanged (release). A stream-like future (timer.h's
 *            interval) never finishes and may be polled forever.
 *   Wake     A future returns pending only after registering cx->waker with
 *            something that will call it, or because a child it polled did.
 *   Drop     future_drop(f) cancels f at whatever point it is suspended:
 *            it drops the child f is awaiting (and JOIN / SELECT siblings),
 *            then calls f's own drop function for anything else it
 *            registered. Afterwards nothing points into f. A future must
 *            release what it registered before it returns ready, so dropping
 *            a finished future does nothing. A dropped future counts as
 *            finished, with error FUTURE_ECANCELED.
 *   Errors   future_err(f): 0 or a negative errno value. AWAIT_TRY returns a
 *            child's error from the parent, like Rust's `?`.
 *
 * Combinators (inside an async body; children are frames you own)
 *   AWAIT(cx, c)              wait for c
 *   AWAIT_TRY(cx, c)          wait for c; if it failed, return its error
 *   YIELD_NOW(cx)             let every other ready task run first
 *   JOIN(cx, a, b, ...)       wait for all; results stay in the children
 *   TRY_JOIN(cx, a, b, ...)   as JOIN, but the first error drops the rest
 *                             and is returned from the enclosing function
 *   SELECT(cx, i, a, b, ...)  wait for the first; i = its index (0-based);
 *                             the losers are dropped. Fair: the first child
 *                             polled rotates from one poll to the next
 *   SELECT_BIASED(...)        as SELECT, always polling in argument order
 *   SELECT_KEEP(cx, &sel, ...) SELECT in a loop: the losers stay in flight
 *                             for the next round (see below); SELECT_IF
 *                             (cond, c) a branch with a precondition;
 *                             sel.which == SELECT_ELSE when none takes part
 *   future_join_all_t         join over an array of n children in which a
 *                             wake costs O(1): each child gets its own
 *                             waker, and only woken children are re-polled
 *   JOIN, TRY_JOIN and SELECT re-poll every unfinished child on each wake
 *   (as tokio's join!): right for a handful of children, not for thousands.
 *   Their children must be one-shot futures (a stream never finishes).
 *
 * The knobs
 *   FUTURE_MISUSE(msg)   define before including to choose what misuse does
 *                        (a function call, a log line). Default without
 *                        NDEBUG: on a Unix host flush stdout, print the
 *                        message to stderr and abort(); elsewhere trap
 *                        (__builtin_trap: no stdio pulled in). With NDEBUG:
 *                        nothing (the misuse still returns its documented
 *                        error value). The header's includes are the same
 *                        either way.
 *   FUTURE_AWAIT_INLINE  under -Os (__OPTIMIZE_SIZE__) an AWAIT's first
 *                        poll is a call of future_poll (~30 bytes less an
 *                        AWAIT on a Cortex-M0+); elsewhere it is spelled
 *                        out, so that a ready child of known type inlines.
 *                        Define it to spell it out under -Os too.
 *   coro.h's footprint knobs (CORO_PC_T, CORO_RC_T, CORO_NO_TRACE) apply
 *   to every future's header; under CORO_NO_TRACE, future_describe and the
 *   backtrace show no "file:line" and no leaf kinds. A misuse report never
 *   pulls in stdio except on a Unix host (see coro.h's CORO_MISUSE).
 *   Freestanding C99, like coro.h: no libc, no allocation, no global state.
 *   The JOIN / SELECT macros use compound literals: C only (C++ may include
 *   the header and call the functions).
 */
#ifndef FUTURE_H
#define FUTURE_H

#include <stddef.h>
#include "coro.h"

/* Error values: every future's error is 0 or a negative errno value. The
 * headers that also build without an OS (coro, future, timer, sync) name
 * them FUTURE_E*; they are -E* from <errno.h> wherever the compiler finds
 * one (hosted or freestanding, so a hosted newlib build and a freestanding
 * one agree), and the Linux numbers where there is none. */
#if defined(__has_include)
#if __has_include(<errno.h>)
#define FUTURE_ERRNO_H_ 1
#endif
#elif defined(__STDC_HOSTED__) && __STDC_HOSTED__
#define FUTURE_ERRNO_H_ 1
#endif
#ifdef FUTURE_ERRNO_H_
#include <errno.h>
#define FUTURE_ECANCELED (-ECANCELED) /* dropped or aborted */
#define FUTURE_EINVAL (-EINVAL)       /* bad argument, or misuse */
#define FUTURE_ENOSPC (-ENOSPC)       /* no room left in caller storage */
#define FUTURE_EPERM (-EPERM)         /* not yours (a lock you do not hold) */
#define FUTURE_EPIPE (-EPIPE)         /* closed (a channel, a peer) */
#define FUTURE_EAGAIN (-EAGAIN)       /* would wait (try_ operations), full */
#define FUTURE_ETIMEDOUT (-ETIMEDOUT) /* a timeout ran out */
#define FUTURE_EBUSY (-EBUSY)         /* already in use (spawned, waited on) */
#define FUTURE_EDEADLK (-EDEADLK)     /* nothing can ever wake the tasks */
#else
#define FUTURE_ECANCELED (-125)
#define FUTURE_EINVAL (-22)
#define FUTURE_ENOSPC (-28)
#define FUTURE_EPERM (-1)
#define FUTURE_EPIPE (-32)
#define FUTURE_EAGAIN (-11)
#define FUTURE_ETIMEDOUT (-110)
#define FUTURE_EBUSY (-16)
#define FUTURE_EDEADLK (-35)
#endif

/* What misuse does: coro.h's CORO_MISUSE (see its knobs), unless you
 * define FUTURE_MISUSE(msg) before including. FUTURE_MISUSE_AT(f, msg)
 * reports with the file:line where future f is suspended, when it has one. */
#ifndef FUTURE_MISUSE
#define FUTURE_MISUSE(msg) CORO_MISUSE((const char *)0, msg)
#endif
#define FUTURE_MISUSE_AT(f, msg) CORO_MISUSE(future_at_(f), msg)

/* ---- wakers and the poll context ----------------------------------------- */

/* A waker is embedded in whatever must be woken (a task, a JOIN slot); wake
 * finds its container from the pointer. Wakes are idempotent and cheap. */
typedef struct future_waker {
    void (*wake)(struct future_waker *self);
} future_waker_t;

WEFT_API void future_wake(future_waker_t *w) {
    if (w) w->wake(w);
}

struct timer_wheel; /* timer.h */

/* What a poll gets besides its frame. Copied freely: combinators hand their
 * children a copy with a different waker. */
typedef struct future_cx {
    future_waker_t *waker;      /* call this when the future can progress */
    struct timer_wheel *timers; /* where timer.h's futures register, or 0 */
    void *exec;                 /* the executor (exec.h), or 0 */
    int *budget;                /* cooperative budget left, or 0: unlimited */
    unsigned *seq;              /* a counter SELECT draws its first branch
                                   from (the executor's), or 0 */
} future_cx_t;

/* A context for a hand-written loop: every field but the waker empty. Set
 * more fields after it if you have them (a timer wheel, a budget). */
WEFT_API void future_cx_init(future_cx_t *cx, future_waker_t *waker) {
    cx->waker = waker;
    cx->timers = 0;
    cx->exec = 0;
    cx->budget = 0;
    cx->seq = 0;
}

/* Cooperative scheduling (tokio's coop): a leaf future about to return ready
 * spends one unit. When the task's budget is spent, it wakes the task and
 * says "not now" (0); the leaf returns pending and the task is re-queued
 * behind the others, so a task whose futures are always ready cannot starve
 * the rest. */
WEFT_API int future_coop_spend(future_cx_t *cx) {
    if (!cx->budget) return 1;
    if (*cx->budget > 0) {
        --*cx->budget;
        return 1;
    }
    future_wake(cx->waker);
    return 0;
}

/* ---- the intrusive list ------------------------------------------------
 * The one doubly linked list every header uses (timer slots, wait queues,
 * the pool's queue, the executor's live tasks): a node lives inside the
 * thing listed, so listing allocates nothing, and unlinking from anywhere
 * is O(1). A zeroed future_list_t is an empty list. */
typedef struct future_link {
    struct future_link *next, *prev;
} future_link_t;

typedef struct future_list {
    future_link_t *head, *tail;
} future_list_t;

/* The struct of type `type` whose member `member` is the node p. */
#define FUTURE_CONTAINER_OF(p, type, member)                                   \
    ((type *)(void *)((char *)(p) - offsetof(type, member)))

WEFT_API void future_list_init(future_list_t *q) { q->head = q->tail = 0; }

/* Link l after at (at == 0: at the front). */
WEFT_API void future_list_insert_after(future_list_t *q, future_link_t *at,
                                            future_link_t *l) {
    l->prev = at;
    l->next = at ? at->next : q->head;
    if (l->next) l->next->prev = l;
    else q->tail = l;
    if (at) at->next = l;
    else q->head = l;
}

/* Link l at the back. */
WEFT_API void future_list_push(future_list_t *q, future_link_t *l) {
    future_list_insert_after(q, q->tail, l);
}

WEFT_API void future_list_unlink(future_list_t *q, future_link_t *l) {
    if (l->prev) l->prev->next = l->next;
    else q->head = l->next;
    if (l->next) l->next->prev = l->prev;
    else q->tail = l->prev;
    l->next = l->prev = 0;
}

/* Unlink and return the front node, or 0 if the list is empty. */
WEFT_API future_link_t *future_list_pop(future_list_t *q) {
    future_link_t *l = q->head;
    if (l) future_list_unlink(q, l);
    return l;
}

/* ---- the future header ------------------------------------------------- */

typedef struct future future_t;
typedef coro_poll_t (*future_poll_fn)(future_t *self, future_cx_t *cx);
typedef void (*future_drop_fn)(future_t *self);

/* What a frame owns besides the children it awaits: tasks it spawned,
 * task scopes, child cancellation tokens (exec.h, sync.h). Each is a node
 * in the owner's list, with what to do when the owner goes: the owner's
 * future_drop, and its finishing (future_poll returning ready), call
 * every node's drop (abort the task, unlink the token), newest first. A
 * node unlinks itself when it goes first (a task that finishes). */
typedef struct future_owned {
    struct future_owned *next;
    struct future_owned **pprev; /* the link that points here; 0: unlinked */
    void (*drop)(struct future_owned *self);
} future_owned_t;

/* Where FUTURE_OF lands when handed a bare future_t * (see below). */
struct future_self_ {
    coro_t co_;
};

/* The header's first member is coro_t co, reachable as `fut` too: an
 * anonymous union (C11, C++, or GNU C99), so that FUTURE_OF(p) reads
 * (p)->fut whether p is a frame or a future_t * itself. */
#if defined(__cplusplus) || (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L)
#define FUTURE_HAVE_ALIAS_ 1
#define FUTURE_EXT_
#elif defined(__GNUC__)
#define FUTURE_HAVE_ALIAS_ 1
#define FUTURE_EXT_ __extension__
#endif

struct future {
#ifdef FUTURE_HAVE_ALIAS_
    FUTURE_EXT_ union {
        coro_t co;                /* resume state; co.rc is the error */
        struct future_self_ fut;  /* the same bytes, for FUTURE_OF */
    };
#else
    coro_t co;
#endif
    future_poll_fn poll;      /* advance the future; 0 before its init */
    future_drop_fn drop;      /* release what it registered besides its child, or 0 */
    future_t *child;          /* the child being awaited, or 0 */
    future_t *sibling;        /* next child of the same parent (JOIN, SELECT) */
    future_owned_t *owned;    /* what the frame owns (see future_owned_t), or 0 */
};

/* Any pointer to a frame whose first member is a future_t, as a future_t
 * (an unchecked cast: prefer FUTURE_OF). */
#define FUTURE(p) ((future_t *)(void *)(p))

/* The future in p, checked: p is a frame whose future_t member is named
 * `fut` (every library future, and the convention here), or a future_t *.
 * Anything else does not compile ("has no member named 'fut'", or no
 * _Generic association matches). Every macro and every function that takes
 * a future goes through it, so &x and &x.fut are both fine. */
#if !defined(__cplusplus) && defined(FUTURE_HAVE_ALIAS_)
#define FUTURE_CHECK_(q)                                                       \
    (FUTURE_EXT_ _Generic((q), future_t *: (q), const future_t *: (q),          \
                          struct future_self_ *: (q),                          \
                          const struct future_self_ *: (q)))
#else
#define FUTURE_CHECK_(q) (q)
#endif
#ifdef FUTURE_HAVE_ALIAS_
#define FUTURE_OF(p) ((future_t *)(void *)FUTURE_CHECK_(&(p)->fut))
#else /* a strict C99 compiler: no anonymous union, no check */
#define FUTURE_OF(p) FUTURE(p)
#endif

CORO_ALWAYS_INLINE_ WEFT_API void future_init(future_t *f, future_poll_fn poll,
                                             future_drop_fn drop) {
    coro_init(&f->co);
    f->poll = poll;
    f->drop = drop;
    f->child = 0;
    f->sibling = 0;
    f->owned = 0;
}
#define future_init(f, poll, drop) (future_init)(FUTURE_OF(f), (poll), (drop))

/* Take n out of its owner's list (nothing if it is in none). */
WEFT_API void future_owned_unlink(future_owned_t *n) {
    if (!n->pprev) return;
    *n->pprev = n->next;
    if (n->next) n->next->pprev = n->pprev;
    n->next = 0;
    n->pprev = 0;
}

/* Link n at the front of a list of owned nodes (a frame's, or any
 * owner's that keeps one: a task scope). */
WEFT_API void future_owned_push(future_owned_t **head, future_owned_t *n,
                                void (*drop)(future_owned_t *)) {
    n->drop = drop;
    n->next = *head;
    n->pprev = head;
    if (n->next) n->next->pprev = &n->next;
    *head = n;
}

/* Make n owned by frame f (see future_owned_t): drop(n) runs when f is
 * dropped or finishes, unless n was unlinked first. */
WEFT_API void future_own(future_t *f, future_owned_t *n, void (*drop)(future_owned_t *)) {
    future_owned_push(&f->owned, n, drop);
}
#define future_own(f, n, drop) (future_own)(FUTURE_OF(f), (n), (drop))


/* 1 if n is in frame f's list of owned nodes. Only the list is walked
 * (n is not read: it may be memory not yet initialised), so that an init
 * "owned by this frame" can tell a node made again (FS_DIR_INIT,
 * SYNC_TOKEN_INIT, SYNC_MUTEX_LOCK_INIT run twice on one field) and let go
 * of the old one. O(what f owns): those inits only, never spawn's push. */
WEFT_API int future_owns_(const future_t *f, const future_owned_t *n) {
    const future_owned_t *o;
    for (o = f->owned; o; o = o->next)
        if (o == n) return 1;
    return 0;
}

/* The owner goes: every node's drop, each unlinked first (a drop may
 * unlink others, or add to the list: it runs until the list is empty). */
WEFT_API void future_owned_release_(future_owned_t **head) {
    while (*head) {
        future_owned_t *n = *head;
        future_owned_unlink(n);
        n->drop(n);
    }
}

WEFT_API int future_err(const future_t *f) { return f->co.rc; }
#define future_err(f) (future_err)(FUTURE_OF(f))
WEFT_API int future_done(const future_t *f) { return coro_done(&f->co); }
#define future_done(f) (future_done)(FUTURE_OF(f))

/* ---- what a future is doing, in words (the async backtrace) -------------
 * A coroutine's co.at is the "file:line" where it is suspended. A library
 * leaf future (a sleep, a channel receive) has no line of its own: while
 * it waits, its co.at points at its kind instead (read through coro_at;
 * neither exists under CORO_NO_TRACE), a static
 * future_kind_t whose first byte (FUTURE_KIND_TAG_) no file name starts
 * with. future_describe turns either into text: "sleep 10 ms (3 ms left)",
 * "chan recv (0/4 queued)", "demo.c:42". */
#define FUTURE_KIND_TAG_ '\001'

/* A small text buffer, filled without libc (freestanding builds too). */
typedef struct future_fmt {
    char *buf;
    size_t cap, len; /* len may exceed cap: the text was cut */
    /* The name of the task behind a waker, or 0 (set by the executor). */
    const char *(*waker_name)(void *ctx, const future_waker_t *w);
    void *ctx;
} future_fmt_t;

WEFT_API void future_fmt_str(future_fmt_t *o, const char *s) {
    for (; *s; s++, o->len++)
        if (o->len + 1 < o->cap) o->buf[o->len] = *s;
    if (o->cap) o->buf[o->len < o->cap ? o->len : o->cap - 1] = 0;
}

WEFT_API void future_fmt_u64(future_fmt_t *o, unsigned long long v) {
    char d[24];
    int i = 23;
    d[i] = 0;
    do d[--i] = (char)('0' + v % 10); while ((v /= 10) && i > 0);
    future_fmt_str(o, d + i);
}

typedef struct future_kind {
    char tag;         /* FUTURE_KIND_TAG_ */
    const char *name; /* "sleep" */
    /* Append what this one is waiting for ("10 ms (3 ms left)"), or 0. */
    void (*describe)(const future_t *f, future_fmt_t *out);
} future_kind_t;

/* A waiting library future says what it is (see above). Under
 * CORO_NO_TRACE there is no co.at to hang it on: nothing is kept. */
WEFT_API void future_set_kind(future_t *f, const future_kind_t *k) {
    CORO_SET_AT_(&f->co, &k->tag);
}

WEFT_API const future_kind_t *future_kind_of_(const future_t *f) {
    const char *at = coro_at(&f->co);
    return at && at[0] == FUTURE_KIND_TAG_ ? (const future_kind_t *)(const void *)at : 0;
}

/* The "file:line" f is suspended at, or 0 (not started, a leaf, or
 * CORO_NO_TRACE). */
WEFT_API const char *future_at_(const future_t *f) {
    const char *at = coro_at(&f->co);
    return at && at[0] != FUTURE_KIND_TAG_ ? at : 0;
}

/* Append what f is doing: where it is suspended, or what it waits for.
 * A finished future keeps its kind (a JOIN keeps finished children linked
 * until the last one is done, and a dump may walk them), but what its
 * describe hook reads may be gone by then (a name lookup's request, a
 * caller's string): only its name is told, and that it finished. */
WEFT_API void future_describe(const future_t *f, future_fmt_t *out) {
    const future_kind_t *k = future_kind_of_(f);
    if (k) {
        future_fmt_str(out, k->name);
        if (coro_done(&f->co)) {
            future_fmt_str(out, " (finished)");
        } else if (k->describe) {
            future_fmt_str(out, " ");
            k->describe(f, out);
        }
    } else if (coro_at(&f->co)) {
        future_fmt_str(out, coro_at(&f->co));
    } else {
        future_fmt_str(out, coro_done(&f->co) ? "(finished)"
                            : f->co.pc ? "(running)" : "(not started)");
    }
}
#define future_describe(f, out) (future_describe)(FUTURE_OF(f), (out))

/* Finish a leaf future with error rc (0 for success). */
WEFT_API coro_poll_t future_finish(future_t *f, int rc) {
    coro_finish(&f->co, rc);
    return CORO_READY;
}

/* A leaf that is ready at once finishes through here, with its result or
 * its error alike: it spends one unit of the budget first. When the budget
 * is spent it returns pending (the task was woken by future_coop_spend),
 * and the leaf's next poll must come to the same answer. So a loop over
 * an operation that fails at once (a closed channel) cannot starve the
 * other tasks either. */
WEFT_API coro_poll_t future_leaf_ready(future_t *f, future_cx_t *cx, int rc) {
    if (!future_coop_spend(cx)) return CORO_PENDING;
    return future_finish(f, rc);
}

/* Cold paths kept out of line, so that future_poll stays small enough to
 * inline, and AWAIT's first poll of a child of known type stays a direct
 * call the compiler may inline in turn. (An inline function may not be
 * noinline: with WEFT_EXTERN_INLINE it is only cold.) */
#if defined(__GNUC__) && defined(WEFT_EXTERN_INLINE) && !defined(__cplusplus)
#define FUTURE_COLD_FN_ WEFT_API __attribute__((cold))
#elif defined(__GNUC__)
#define FUTURE_COLD_FN_ static __attribute__((cold, noinline, unused))
#else
#define FUTURE_COLD_FN_ WEFT_API
#endif

/* The misuse paths of future_poll. */
FUTURE_COLD_FN_ coro_poll_t future_poll_misuse_(future_t *f) {
    if (!f->poll) {
        /* A zeroed frame: calling through poll would jump to address 0. */
        FUTURE_MISUSE("future polled (awaited, joined or spawned) before its "
                      "init: call its x_init(&f, ...) (or future_init) first");
        coro_finish(&f->co, FUTURE_EINVAL);
        return CORO_READY;
    }
    FUTURE_MISUSE_AT(f, "future polled after it finished (an AWAIT of the same "
                        "future twice?): init it again before reusing it");
    return CORO_READY;
}

/* Poll f once. A frame that finishes lets go of what it still owns (the
 * tasks it spawned and did not join are aborted: they must not outlive
 * it). */
WEFT_API void future_drop_children_(future_t *self, const future_t *keep);

/* A future that finished still holding something: what it owns, and any
 * child it was awaiting when it stopped without reaching it (a resume
 * point lost to a mistake coro.h reported: the children are still
 * registered). future_poll looks for the second case by its result code,
 * CORO_EMISUSE, which the finished child's parent reads anyway: one load
 * (owned) on the ready path, not two. */
FUTURE_COLD_FN_ void future_finished_(future_t *f) {
    if (f->child) future_drop_children_(f, 0);
    if (f->owned) future_owned_release_(&f->owned);
}

WEFT_API coro_poll_t future_poll(future_t *f, future_cx_t *cx) {
    coro_poll_t r;
    if (coro_done(&f->co) || !f->poll) return future_poll_misuse_(f);
    r = f->poll(f, cx);
    if (r == CORO_READY && (f->owned || f->co.rc == CORO_EMISUSE)) future_finished_(f);
    return r;
}
#define future_poll(f, cx) (future_poll)(FUTURE_OF(f), (cx))

/* future_poll spelled out as an expression, for AWAIT's first poll (f is
 * a plain variable: it is evaluated more than once). An inline function's
 * body is only seen once the inliner has run; this is seen by the very
 * first optimisations, so a poll pointer just stored by the child's init
 * becomes a direct call early enough for that call to be inlined in turn
 * (gcc resolves it too late for its inlining decisions otherwise). */
#define FUTURE_POLL_NOW_(f, cx)                                                \
    (coro_done(&(f)->co) || !(f)->poll ? future_poll_misuse_(f)                \
     : (f)->poll((f), (cx)) == CORO_PENDING ? CORO_PENDING                     \
     : ((f)->owned || (f)->co.rc == CORO_EMISUSE) ? (future_finished_(f), CORO_READY) \
                                                  : CORO_READY)

/* Cancel f wherever it is suspended; see "Drop" above. */
WEFT_API void future_drop(future_t *f) {
    if (!f || coro_done(&f->co)) return;
    future_drop_children_(f, 0);
    if (f->owned) future_owned_release_(&f->owned);
    if (f->drop) f->drop(f);
    coro_finish(&f->co, FUTURE_ECANCELED);
}
#define future_drop(f) (future_drop)(FUTURE_OF(f))

/* The async backtrace: calls emit for f and every child it awaits, depth
 * first, with the nesting depth. coro_at(&f->co) is where each one is
 * suspended (0 under CORO_NO_TRACE). */
WEFT_API void future_trace(const future_t *f, int depth,
                                void (*emit)(void *ctx, int depth, const future_t *f),
                                void *ctx) {
    const future_t *c;
    emit(ctx, depth, f);
    for (c = f->child; c; c = c->sibling) future_trace(c, depth + 1, emit, ctx);
}
#define future_trace(f, depth, emit, ctx) (future_trace)(FUTURE_OF(f), (depth), (emit), (ctx))

/* ---- AWAIT and friends ------------------------------------------------- */

#define FUTURE_SELF_ ((future_t *)(void *)CORO_SELF_)

/* Start awaiting c: it becomes this frame's (only) child. */
WEFT_API future_t *future_adopt_(future_t *self, future_t *c) {
    self->child = c;
    c->sibling = 0;
    return c;
}

/* Stop awaiting: the child is finished; hand back its error. */
WEFT_API int future_disown_(future_t *self) {
    int rc = self->child->co.rc;
    self->child = 0;
    return rc;
}

/* AWAIT with its resume point numbered n; afterwards future_c_ is the
 * finished child (c is evaluated once, into it).
 *
 * The first poll follows the child's init in straight-line code, so for a
 * child of known type the compiler sees which poll function it calls and
 * can inline it. A child that is ready at once is never linked: this frame
 * adopts it (as its child, for drop and the backtrace) only when it is
 * pending, so awaiting a ready child stores nothing in this frame. Later
 * polls, after a suspension, go through the child's header, and the one
 * that finds it ready unlinks it again.
 *
 * future_c_ is a local of the do-block that the resume jumps into past its
 * assignment (legal C and C++: no initializer), so it is set again there. */
#if defined(__OPTIMIZE_SIZE__) && !defined(FUTURE_AWAIT_INLINE)
/* -Os (or -Oz): the first poll is a call of future_poll, as below. Each
 * AWAIT is then ~30 bytes smaller on a Cortex-M0+, for one call more on
 * a ready child (FUTURE_AWAIT_INLINE keeps the spelled-out poll). */
#define FUTURE_AWAIT_N_(cx, c, n) FUTURE_AWAIT_BY_(cx, c, n, future_poll)
#else
#define FUTURE_AWAIT_N_(cx, c, n) FUTURE_AWAIT_BY_(cx, c, n, FUTURE_POLL_NOW_)
#endif

/* The same with the first poll a call of future_poll: the library's own
 * generators (sync.h) use it, to stay small (one call at each AWAIT, not
 * future_poll's checks spelled out at every site). */
#define FUTURE_AWAIT_CALL_N_(cx, c, n) FUTURE_AWAIT_BY_(cx, c, n, future_poll)

#define FUTURE_AWAIT_BY_(cx, c, n, first_poll)                                 \
    future_t *future_c_;                                                       \
    future_c_ = FUTURE_OF(c);                                                  \
    CORO_WAIT2_(first_poll(future_c_, (cx)) == CORO_READY ||                   \
                    (future_adopt_(FUTURE_SELF_, future_c_), 0),               \
                (future_c_ = FUTURE_SELF_->child,                              \
                 future_poll(future_c_, (cx)) == CORO_READY &&                 \
                     (FUTURE_SELF_->child = 0, 1)),                            \
                n)

/* Wait for child future c (evaluated once). */
#define FUTURE_AWAIT(cx, c)                                                    \
    do {                                                                       \
        FUTURE_AWAIT_N_(cx, c, CORO_NEXT_);                                    \
        (void)future_c_;                                                       \
    } while (0)

/* Wait for c; if it failed, finish this future with its error (Rust's `?`). */
#define FUTURE_AWAIT_TRY(cx, c)                                                \
    do {                                                                       \
        FUTURE_AWAIT_N_(cx, c, CORO_NEXT_);                                    \
        if (future_c_->co.rc < 0) CORO_RETURN(future_c_->co.rc);               \
    } while (0)

/* Give way: wake ourselves and suspend once, so that every task already
 * queued runs before this one continues (tokio's yield_now). */
#define FUTURE_YIELD_NOW(cx)                                                   \
    do {                                                                       \
        future_wake((cx)->waker);                                              \
        CORO_YIELD();                                                          \
    } while (0)

/* ---- ready, pending and yield-now futures ------------------------------ */

/* Ready at once with error rc (std::future::ready). */
typedef struct future_ready {
    future_t fut;
} future_ready_t;

WEFT_API coro_poll_t future_ready_poll_(future_t *self, future_cx_t *cx) {
    (void)cx;
    return future_finish(self, self->co.rc);
}

WEFT_API void future_ready_init(future_ready_t *f, int rc) {
    future_init(&f->fut, future_ready_poll_, 0);
    f->fut.co.rc = coro_rc_(rc);
}

/* Never ready, registers nothing (std::future::pending): for tests, and to
 * be raced against something else in a SELECT or under a timeout. */
typedef struct future_pending {
    future_t fut;
} future_pending_t;

WEFT_API coro_poll_t future_pending_poll_(future_t *self, future_cx_t *cx) {
    (void)self;
    (void)cx;
    return CORO_PENDING;
}

WEFT_API void future_pending_init(future_pending_t *f) {
    future_init(&f->fut, future_pending_poll_, 0);
}

/* Pending once (after waking itself), then ready: YIELD_NOW as a future. */
typedef struct future_yield {
    future_t fut;
} future_yield_t;

WEFT_API coro_poll_t future_yield_poll_(future_t *self, future_cx_t *cx) {
    if (self->co.pc == 0) {
        self->co.pc = CORO_PC_STARTED_; /* a pointer under CORO_USE_LABELS */
        future_wake(cx->waker);
        return CORO_PENDING;
    }
    return future_finish(self, 0);
}

WEFT_API void future_yield_init(future_yield_t *f) {
    future_init(&f->fut, future_yield_poll_, 0);
}

/* ---- JOIN, TRY_JOIN, SELECT over a fixed list -------------------------- */

/* Make kids[0..n) the children of self, chained through their sibling
 * links, so that dropping self drops all of them. */
WEFT_API void future_adopt_list_(future_t *self, future_t *const *kids, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) kids[i]->sibling = i + 1 < n ? kids[i + 1] : 0;
    self->child = n ? kids[0] : 0;
}

/* Drop every child of self except keep (which may be 0), and let go of all. */
WEFT_API void future_drop_children_(future_t *self, const future_t *keep) {
    future_t *c = self->child;
    self->child = 0;
    while (c) {
        future_t *next = c->sibling;
        c->sibling = 0;
        if (c != keep) future_drop(c);
        c = next;
    }
}

/* One JOIN step: poll each unfinished child. Returns 1 when all are done.
 * With try_ set, the first child to fail ends it: its error goes to self's
 * rc and the rest are dropped. */
WEFT_API int future_join_step_(future_t *self, future_cx_t *cx, int try_) {
    future_t *c;
    int all = 1;
    for (c = self->child; c; c = c->sibling) {
        if (!coro_done(&c->co) && future_poll(c, cx) == CORO_PENDING) {
            all = 0;
        } else if (try_ && c->co.rc < 0) {
            self->co.rc = c->co.rc;
            future_drop_children_(self, c);
            return 1;
        }
    }
    if (all) future_drop_children_(self, 0); /* all finished: just let go */
    return all;
}

/* One SELECT step: poll children starting at *which + 1 (fair) or at 0
 * (biased); the first ready one wins, *which becomes its index, the others
 * are dropped. Returns 1 when there is a winner. */
WEFT_API int future_select_step_(future_t *self, future_cx_t *cx, int *which,
                                      size_t n, int biased) {
    size_t start = biased ? 0 : ((unsigned)*which + 1u) % n, k;
    for (k = 0; k < n; k++) {
        size_t i = (start + k) % n, j;
        future_t *c = self->child;
        for (j = 0; j < i; j++) c = c->sibling;
        if (coro_done(&c->co) || future_poll(c, cx) == CORO_READY) {
            *which = (int)i;
            future_drop_children_(self, c);
            return 1;
        }
    }
    if (!biased) *which = (int)start; /* next poll starts one further on */
    return 0;
}

/* The children of a JOIN / SELECT as an array of checked future_t *: each
 * argument goes through FUTURE_OF. Up to 16 children (beyond, use
 * future_join_all_t: its wakes are O(1) too). */
#define FUTURE_NARG_(...) FUTURE_NARG2_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define FUTURE_NARG2_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, N, ...) N
#define FUTURE_OF_1_(a) FUTURE_OF(a)
#define FUTURE_OF_2_(a, ...) FUTURE_OF(a), FUTURE_OF_1_(__VA_ARGS__)
#define FUTURE_OF_3_(a, ...) FUTURE_OF(a), FUTURE_OF_2_(__VA_ARGS__)
#define FUTURE_OF_4_(a, ...) FUTURE_OF(a), FUTURE_OF_3_(__VA_ARGS__)
#define FUTURE_OF_5_(a, ...) FUTURE_OF(a), FUTURE_OF_4_(__VA_ARGS__)
#define FUTURE_OF_6_(a, ...) FUTURE_OF(a), FUTURE_OF_5_(__VA_ARGS__)
#define FUTURE_OF_7_(a, ...) FUTURE_OF(a), FUTURE_OF_6_(__VA_ARGS__)
#define FUTURE_OF_8_(a, ...) FUTURE_OF(a), FUTURE_OF_7_(__VA_ARGS__)
#define FUTURE_OF_9_(a, ...) FUTURE_OF(a), FUTURE_OF_8_(__VA_ARGS__)
#define FUTURE_OF_10_(a, ...) FUTURE_OF(a), FUTURE_OF_9_(__VA_ARGS__)
#define FUTURE_OF_11_(a, ...) FUTURE_OF(a), FUTURE_OF_10_(__VA_ARGS__)
#define FUTURE_OF_12_(a, ...) FUTURE_OF(a), FUTURE_OF_11_(__VA_ARGS__)
#define FUTURE_OF_13_(a, ...) FUTURE_OF(a), FUTURE_OF_12_(__VA_ARGS__)
#define FUTURE_OF_14_(a, ...) FUTURE_OF(a), FUTURE_OF_13_(__VA_ARGS__)
#define FUTURE_OF_15_(a, ...) FUTURE_OF(a), FUTURE_OF_14_(__VA_ARGS__)
#define FUTURE_OF_16_(a, ...) FUTURE_OF(a), FUTURE_OF_15_(__VA_ARGS__)
#define FUTURE_OFS_(...) CORO_CAT_(FUTURE_OF_, CORO_CAT_(FUTURE_NARG_(__VA_ARGS__), _))(__VA_ARGS__)
#define FUTURE_LIST_(...) ((future_t *[]){FUTURE_OFS_(__VA_ARGS__)})
#define FUTURE_COUNT_(...) ((size_t)FUTURE_NARG_(__VA_ARGS__))

/* Wait for every child. Results stay in the children. */
#define FUTURE_JOIN(cx, ...)                                                   \
    do {                                                                       \
        future_adopt_list_(FUTURE_SELF_, FUTURE_LIST_(__VA_ARGS__),            \
                           FUTURE_COUNT_(__VA_ARGS__));                        \
        CORO_AWAIT_UNTIL(future_join_step_(FUTURE_SELF_, (cx), 0));            \
    } while (0)

/* Wait for every child; the first error drops the others and is returned
 * from the enclosing async function (try_join!(...)?). */
#define FUTURE_TRY_JOIN(cx, ...)                                               \
    do {                                                                       \
        future_adopt_list_(FUTURE_SELF_, FUTURE_LIST_(__VA_ARGS__),            \
                           FUTURE_COUNT_(__VA_ARGS__));                        \
        CORO_AWAIT_UNTIL(future_join_step_(FUTURE_SELF_, (cx), 1));            \
        if (FUTURE_SELF_->co.rc < 0) CORO_RETURN(FUTURE_SELF_->co.rc);         \
    } while (0)

/* Where a fresh SELECT starts: one further on per SELECT on this executor
 * (tokio starts at a random branch), so that branches which are all ready
 * at once each win in turn, even when every SELECT is a new frame.
 * Without an executor's counter, one after the branch `which` names (the
 * last winner, when a SELECT in a loop keeps it in its frame). */
WEFT_API int future_select_first_(future_cx_t *cx, int which) {
    return cx->seq ? (int)((*cx->seq)++ & 0x7fffu) - 1 : which;
}

#define FUTURE_SELECT_(cx, which, biased, ...)                                 \
    do {                                                                       \
        future_adopt_list_(FUTURE_SELF_, FUTURE_LIST_(__VA_ARGS__),            \
                           FUTURE_COUNT_(__VA_ARGS__));                        \
        (which) = future_select_first_((cx), (which));                         \
        CORO_AWAIT_UNTIL(future_select_step_(FUTURE_SELF_, (cx), &(which),     \
                                        FUTURE_COUNT_(__VA_ARGS__), biased));  \
    } while (0)

/* Wait for the first child; `which` (an int lvalue in the frame) receives
 * its index and the losers are dropped. */
#define FUTURE_SELECT(cx, which, ...) FUTURE_SELECT_(cx, which, 0, __VA_ARGS__)
#define FUTURE_SELECT_BIASED(cx, which, ...) FUTURE_SELECT_(cx, which, 1, __VA_ARGS__)

/* ---- SELECT in a loop, without losing work ------------------------------
 * tokio's `select!` on `&mut fut` inside a loop: the branches that lose
 * stay in flight and are polled again by the next SELECT_KEEP, instead of
 * being dropped; only the winner is done, and only it is made fresh for
 * the next round. The branch futures live in the frame as always; a
 * future_select_t (zeroed, or future_select_init) remembers which are in
 * flight, and belongs to the frame: when the frame is dropped or finishes,
 * the branches still in flight are dropped with it.
 *
 *     sync_chan_recv_init(&f->recv, &ch, &f->v);
 *     timer_sleep_init(&f->deadline, 10 * TIMER_SEC);   // once, before the loop
 *     for (;;) {
 *         SELECT_KEEP(cx, &f->sel, &f->deadline, SELECT_IF(f->open, &f->recv));
 *         if (f->sel.which == 0 || f->sel.which == SELECT_ELSE) break;
 *         ...                                           // use f->v
 *         sync_chan_recv_init(&f->recv, &ch, &f->v);    // the winner, fresh
 *     }
 *
 * SELECT_IF(cond, fut) is a branch that takes part only when cond holds
 * (tokio's `, if cond`); when no branch takes part, which is SELECT_ELSE
 * at once (tokio's `else`). A branch that won an earlier round and was not
 * made fresh is misuse (it would win every round): reported, and left
 * out. A branch in flight that a round leaves out (SELECT_IF false, or
 * another future in its place) is dropped. Never init a branch again
 * while it is in flight: drop it first. future_select_drop(&sel) drops
 * the branches in flight early. */
#define FUTURE_SELECT_MAX 16
#define FUTURE_SELECT_ELSE (-1)

typedef struct future_select {
    future_owned_t own;                   /* in the frame's owned list */
    future_t *kids[FUTURE_SELECT_MAX];    /* the branches in flight (0: none) */
    unsigned n;                           /* branches in the last SELECT_KEEP */
    int which;                            /* the winner, or FUTURE_SELECT_ELSE */
} future_select_t;

WEFT_API void future_select_init(future_select_t *s) {
    s->own.next = 0;
    s->own.pprev = 0;
    s->own.drop = 0;
    s->n = 0;
    s->which = 0;
    {
        unsigned i;
        for (i = 0; i < FUTURE_SELECT_MAX; i++) s->kids[i] = 0;
    }
}

/* Drop every branch still in flight, and let go of the frame. */
WEFT_API void future_select_drop(future_select_t *s) {
    unsigned i;
    future_owned_unlink(&s->own);
    for (i = 0; i < FUTURE_SELECT_MAX; i++)
        if (s->kids[i]) {
            future_t *c = s->kids[i];
            s->kids[i] = 0;
            future_drop(c);
        }
}

WEFT_API void future_select_owner_gone_(future_owned_t *n) {
    future_select_drop(FUTURE_CONTAINER_OF(n, future_select_t, own));
}

/* A branch left out by SELECT_IF: a finished future with no poll, made
 * where the macro stands (it is never stored). */
#define FUTURE_SELECT_OFF_ (&(future_t){.co = {.pc = CORO_PC_DONE_}})
#define FUTURE_SELECT_IF(cond, p) ((cond) ? FUTURE_OF(p) : FUTURE_SELECT_OFF_)

WEFT_API int future_select_is_off_(const future_t *c) { return !c->poll && coro_done(&c->co); }

/* Set up a round: the branches that take part, chained as self's children
 * (drop, backtrace). 0 when none does: which is FUTURE_SELECT_ELSE. */
WEFT_API int future_select_keep_start_(future_t *self, future_select_t *s, future_t *const *kids,
                                       size_t n) {
    future_t *prev = 0;
    size_t i;
    self->child = 0;
    s->n = (unsigned)n;
    for (i = 0; i < FUTURE_SELECT_MAX; i++) {
        future_t *c = i < n ? kids[i] : 0;
        if (c && future_select_is_off_(c)) c = 0;
        if (c && coro_done(&c->co)) {
            FUTURE_MISUSE_AT(self, "SELECT_KEEP: a branch that won before was not made "
                                   "fresh (it would win every round): init it again, "
                                   "or leave it out with SELECT_IF");
            c = 0;
        }
        if (s->kids[i] && s->kids[i] != c) /* in flight, now left out: dropped */
            future_drop(s->kids[i]);
        s->kids[i] = c;
        if (!c) continue;
        c->sibling = 0;
        if (prev) prev->sibling = c;
        else self->child = c;
        prev = c;
    }
    if (!self->child) {
        s->which = FUTURE_SELECT_ELSE;
        return 0;
    }
    if (!s->own.pprev) future_own(self, &s->own, future_select_owner_gone_);
    return 1;
}

/* One round's poll: the first branch ready wins (starting one further on
 * each time, as SELECT); the rest stay in flight, out of the chain. */
WEFT_API int future_select_keep_step_(future_t *self, future_select_t *s, future_cx_t *cx,
                                      int biased) {
    unsigned n = s->n, k;
    unsigned start = biased ? 0 : (unsigned)(future_select_first_(cx, s->which) + 1) % n;
    for (k = 0; k < n; k++) {
        unsigned i = (start + k) % n;
        future_t *c = s->kids[i], *l;
        if (!c || future_poll(c, cx) == CORO_PENDING) continue;
        s->which = (int)i;
        s->kids[i] = 0; /* done: no longer in flight */
        for (l = self->child; l;) { /* the others leave the chain, not the frame */
            future_t *next = l->sibling;
            l->sibling = 0;
            l = next;
        }
        self->child = 0;
        return 1;
    }
    return 0;
}

/* Wait for the first branch to finish; the others go on (see above).
 * sel->which is the winner's index, or FUTURE_SELECT_ELSE. */
#define FUTURE_SELECT_KEEP_(cx, sel, biased, ...)                              \
    do {                                                                       \
        if (future_select_keep_start_(FUTURE_SELF_, (sel), FUTURE_LIST_(__VA_ARGS__), \
                                      FUTURE_COUNT_(__VA_ARGS__)))             \
            CORO_AWAIT_UNTIL(future_select_keep_step_(FUTURE_SELF_, (sel), (cx), biased)); \
    } while (0)
#define FUTURE_SELECT_KEEP(cx, sel, ...) FUTURE_SELECT_KEEP_(cx, sel, 0, __VA_ARGS__)
/* As SELECT_KEEP, always polling in argument order (tokio's `biased;`). */
#define FUTURE_SELECT_KEEP_BIASED(cx, sel, ...) FUTURE_SELECT_KEEP_(cx, sel, 1, __VA_ARGS__)

/* ---- join over an array, O(1) per wake ---------------------------------- */

struct future_join_all;

/* Per-child bookkeeping, in storage the caller provides (one per child). */
typedef struct future_join_slot {
    future_waker_t waker;          /* the child's own waker */
    struct future_join_slot *next; /* in the join's ready list */
    struct future_join_all *join;
    future_t *fut; /* the child; 0 once it has finished */
    int queued;    /* on the ready list */
} future_join_slot_t;

typedef struct future_join_all {
    future_t fut;
    future_join_slot_t *slots;
    size_t cap, n, left;
    future_join_slot_t *head, *tail; /* the children woken since last poll */
    future_waker_t *waker;           /* the parent's, from the latest poll */
    int try_;                        /* stop at the first error */
} future_join_all_t;

WEFT_API void future_join_all_push_(future_join_all_t *j, future_join_slot_t *s) {
    s->queued = 1;
    s->next = 0;
    if (j->tail) j->tail->next = s;
    else j->head = s;
    j->tail = s;
}

WEFT_API void future_join_slot_wake_(future_waker_t *w) {
    future_join_slot_t *s = (future_join_slot_t *)(void *)w;
    if (s->queued || !s->fut) return;
    future_join_all_push_(s->join, s);
    future_wake(s->join->waker);
}

WEFT_API void future_join_all_drop_(future_t *self) {
    future_join_all_t *j = (future_join_all_t *)(void *)self;
    size_t i;
    for (i = 0; i < j->n; i++)
        if (j->slots[i].fut) {
            future_drop(j->slots[i].fut);
            j->slots[i].fut = 0;
        }
    j->head = j->tail = 0;
}

WEFT_API coro_poll_t future_join_all_poll_(future_t *self, future_cx_t *cx) {
    future_join_all_t *j = (future_join_all_t *)(void *)self;
    future_cx_t sub = *cx;
    future_join_slot_t *batch, *batch_tail;
    size_t i;
    j->waker = cx->waker;
    if (self->co.pc == 0) { /* first poll: every child is due once */
        self->co.pc = CORO_PC_STARTED_;
        for (i = 0; i < j->n; i++) future_join_all_push_(j, &j->slots[i]);
    }
    /* Take the list as it is now: a child that wakes itself while being
     * polled goes on the next batch, so one poll always ends. */
    batch = j->head;
    batch_tail = j->tail;
    j->head = j->tail = 0;
    while (batch) {
        future_join_slot_t *s = batch;
        if (cx->budget && *cx->budget <= 0) {
            /* The task's budget is spent: every ready child would only wake
             * itself again. Put the rest of the batch back, first in line,
             * and come back after the other tasks had their turn. */
            batch_tail->next = j->head;
            if (!j->head) j->tail = batch_tail;
            j->head = batch;
            future_wake(cx->waker);
            return CORO_PENDING;
        }
        batch = s->next;
        s->queued = 0;
        /* A child that woke itself in the poll in which it finished was
         * queued again: nothing is left to poll. */
        if (!s->fut) continue;
        sub.waker = &s->waker;
        if (future_poll(s->fut, &sub) == CORO_PENDING) continue;
        j->left--;
        if (j->try_ && s->fut->co.rc < 0) {
            int rc = s->fut->co.rc;
            s->fut = 0;
            future_join_all_drop_(self);
            return future_finish(self, rc);
        }
        s->fut = 0;
    }
    if (j->left == 0) return future_finish(self, 0);
    if (j->head) future_wake(cx->waker); /* woken during this poll */
    return CORO_PENDING;
}

/* A join over up to cap children; slots[0..cap) is the caller's storage.
 * try_ = 1 stops at the first child that fails (its error becomes the
 * join's, the rest are dropped), like futures' try_join_all. */
WEFT_API void future_join_all_init(future_join_all_t *j, future_join_slot_t *slots,
                                        size_t cap, int try_) {
    future_init(&j->fut, future_join_all_poll_, future_join_all_drop_);
    j->slots = slots;
    j->cap = cap;
    j->n = j->left = 0;
    j->head = j->tail = 0;
    j->waker = 0;
    j->try_ = try_;
}

/* Add a child before the first poll. FUTURE_ENOSPC when the slots are full,
 * FUTURE_EINVAL once the join has been polled. */
WEFT_API int future_join_all_add(future_join_all_t *j, future_t *child) {
    future_join_slot_t *s;
    if (j->fut.co.pc != 0) {
        FUTURE_MISUSE("future_join_all_add after the join was polled: add every "
                      "child first");
        return FUTURE_EINVAL;
    }
    if (j->n == j->cap) return FUTURE_ENOSPC;
    s = &j->slots[j->n++];
    s->waker.wake = future_join_slot_wake_;
    s->next = 0;
    s->join = j;
    s->fut = child;
    s->queued = 0;
    j->left++;
    return 0;
}
#define future_join_all_add(j, c) (future_join_all_add)((j), FUTURE_OF(c))

/* ---- an async function in one declaration -----------------------------
 *
 *     ASYNC_FN(fetch, const char *name; uint64_t ms; timer_sleep_t nap;) {
 *         ASYNC_BEGIN(f);                     // f: the frame, cx: the context
 *         timer_sleep_init(&f->nap, f->ms * TIMER_MS);
 *         AWAIT(cx, &f->nap);
 *         ASYNC_END();
 *     }
 *     ...
 *     fetch_t job = ASYNC_NEW(fetch, .name = "users", .ms = 100);
 *
 * FUTURE_FN(name, members) declares the frame, `struct name` / name_t: a
 * future_t fut first, then the members (the arguments and every local
 * that lives across a suspension, in one list: write them as struct
 * members, `;` after each), the poll function name_poll, and opens the
 * body, in which `f` is the frame and `cx` the context. It is all plain C
 * you could write by hand: sizeof(name_t) is the memory it needs, and a
 * hand-written future works beside it. With no members: FUTURE_FN(name, ).
 * FUTURE_NEW(name, .member = value, ...) makes a fresh frame (C99
 * designated initializers: members not named are zero), ready to be
 * awaited, joined or spawned; assign it to caller storage (a local, a
 * member of the parent's frame, an array element). The body is static
 * (one translation unit's: see coro.h on bodies in headers) and inline, a
 * hint: the compiler may inline a small body into the AWAIT that first
 * polls it (gcc does at -O2 where it is small, at -O3 more often). */
#if defined(__GNUC__)
#define FUTURE_MAYBE_UNUSED_ __attribute__((unused))
#else
#define FUTURE_MAYBE_UNUSED_
#endif
#define FUTURE_FN(name, ...) FUTURE_FN_(static inline, name, __VA_ARGS__)

/* FUTURE_FN_INLINE(name, members): the same, for a small async function on
 * a hot path: its poll is inlined into every AWAIT that polls it first (a
 * child of known type), so a chain of them that is ready at once becomes
 * one function, as rustc makes of a chain of async fns. It costs code
 * size at each such AWAIT. The compiler must see which poll function the
 * AWAIT calls: make the child on the straight path before it, with
 * FUTURE_NEW or future_init (gcc and clang alike). Under -Os the first
 * poll is a call of future_poll unless FUTURE_AWAIT_INLINE is defined. */
#if defined(__GNUC__) &&                                                      \
    (defined(__clang__) || !(defined(CORO_USE_LABELS) && CORO_USE_LABELS))
#define FUTURE_INLINE_POLL_ static inline __attribute__((always_inline))
#else
/* gcc never inlines a function that holds a computed goto (the labels
 * backend), and refuses always_inline on one: there it is a hint. */
#define FUTURE_INLINE_POLL_ static inline
#endif
#define FUTURE_FN_INLINE(name, ...) FUTURE_FN_(FUTURE_INLINE_POLL_, name, __VA_ARGS__)

/* Both: the frame, the poll function and the body's opening, declared
 * `storage` (static, or static inline always-inline). */
#define FUTURE_FN_(storage, name, ...)                                         \
    typedef struct name {                                                      \
        future_t fut;                                                          \
        __VA_ARGS__                                                            \
    } name##_t;                                                                \
    storage coro_poll_t name##_body_(name##_t *f, future_cx_t *cx);            \
    storage coro_poll_t name##_poll(future_t *self, future_cx_t *cx) {         \
        return name##_body_((name##_t *)(void *)self, cx);                     \
    }                                                                          \
    storage coro_poll_t name##_body_(name##_t *f, future_cx_t *cx FUTURE_MAYBE_UNUSED_)

/* A future_t initializer: {poll, no drop function, fresh}. */
#define FUTURE_INITIALIZER(poll_fn) {.poll = (poll_fn)}

#define FUTURE_NEW(...) FUTURE_NEW_(__VA_ARGS__, )
#define FUTURE_NEW_(name, ...) ((name##_t){.fut = FUTURE_INITIALIZER(name##_poll), __VA_ARGS__})

/* The short names (see coro.h): WEFT_NO_SHORT_NAMES leaves them out. */
#ifndef WEFT_NO_SHORT_NAMES
#define ASYNC_FN(name, ...) FUTURE_FN(name, __VA_ARGS__)
#define ASYNC_FN_INLINE(name, ...) FUTURE_FN_INLINE(name, __VA_ARGS__)
#define ASYNC_NEW(...) FUTURE_NEW(__VA_ARGS__)
#define AWAIT(cx, c) FUTURE_AWAIT(cx, c)
#define AWAIT_TRY(cx, c) FUTURE_AWAIT_TRY(cx, c)
#define YIELD_NOW(cx) FUTURE_YIELD_NOW(cx)
#define JOIN(cx, ...) FUTURE_JOIN(cx, __VA_ARGS__)
#define TRY_JOIN(cx, ...) FUTURE_TRY_JOIN(cx, __VA_ARGS__)
#define SELECT(cx, which, ...) FUTURE_SELECT(cx, which, __VA_ARGS__)
#define SELECT_BIASED(cx, which, ...) FUTURE_SELECT_BIASED(cx, which, __VA_ARGS__)
#define SELECT_KEEP(cx, sel, ...) FUTURE_SELECT_KEEP(cx, sel, __VA_ARGS__)
#define SELECT_KEEP_BIASED(cx, sel, ...) FUTURE_SELECT_KEEP_BIASED(cx, sel, __VA_ARGS__)
#define SELECT_IF(cond, p) FUTURE_SELECT_IF(cond, p)
#define SELECT_ELSE FUTURE_SELECT_ELSE
#endif

#endif /* FUTURE_H */
