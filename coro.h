/* coro.h - resumable C functions (stackless coroutines) in a few macros.
 *
 * A coroutine is an ordinary C function that can stop half-way, return to
 * its caller, and carry on from the same place when it is called again.
 * Whatever must survive a stop lives in a struct the caller owns (the
 * "frame"); the function's own locals do not survive.
 *
 *     #include "coro.h"
 *
 *     typedef struct { coro_t co; int i; } counter_t;   // coro_t first
 *
 *     static coro_poll_t count_to_3(counter_t *c) {
 *         ASYNC_BEGIN(c);
 *         for (c->i = 1; c->i <= 3; c->i++) {
 *             printf("%d\n", c->i);
 *             YIELD();                   // return CORO_PENDING, resume here
 *         }
 *         ASYNC_END();                   // CORO_READY from now on
 *     }
 *
 *     counter_t c = {0};            // a zeroed coro_t is a fresh one
 *     while (count_to_3(&c) == CORO_PENDING) {}  // prints 1 2 3
 *
 * The contract
 *   - The frame's first member is a coro_t (directly, or as the first member
 *     of its first member: future.h's future_t starts with one). Zero the
 *     frame (`= {0}`), or call coro_init(&frame.co), before the first call;
 *     a lone coro_t may also be initialised with CORO_INIT.
 *   - ASYNC_BEGIN(frame) opens the body, ASYNC_END() closes it. Between them,
 *     AWAIT_UNTIL(cond), YIELD() and ASYNC_RETURN(rc) are suspension or exit
 *     points. Every call after a suspension resumes right after it.
 *   - A finished coroutine returns CORO_READY on every later call and does
 *     nothing; coro_done(&co) tells whether it has finished, co.rc holds the
 *     int it finished with (0 unless ASYNC_RETURN said otherwise; kept
 *     within CORO_RC_T's range, below, when you narrow it).
 *   - Locals do NOT survive a suspension: keep them in the frame. A local
 *     assigned before a suspension point holds garbage after it, and one
 *     declared with an initializer before it is skipped on resume. Compile
 *     async code with -Wall -Wextra at -Og or higher (gcc needs the
 *     optimiser to see it; clang sees it at any level) and, with gcc,
 *     -Wjump-misses-init: see "Mistakes it reports" below.
 *
 * Mistakes it reports (through CORO_MISUSE, below)
 *   - A suspension point inside a switch of the body's own (switch backend):
 *     its resume label belongs to that inner switch, so the next call finds
 *     no place to resume. Reported with the suspension's file:line: use
 *     if/else there, or CORO_USE_LABELS.
 *   - A bare `break` at the top level of the body leaves the body before
 *     ASYNC_END: reported with ASYNC_END's file:line (finish early with
 *     ASYNC_RETURN). With CORO_USE_LABELS such a break does not compile.
 *   Either way, with reports off (NDEBUG), the coroutine finishes with
 *   rc = CORO_EMISUSE instead of silently skipping the rest of its body.
 *   - A local assigned before a suspension and read after it: no runtime
 *     check can see it. The compilers can: clang -Wall at every -O level
 *     (-Wsometimes-uninitialized), gcc -Wall from -Og up
 *     (-Wmaybe-uninitialized needs the optimiser; -O0 says nothing), and
 *     gcc -Wjump-misses-init for a local declared with an initializer
 *     before a suspension. No flag sees a pointer to a local kept in the
 *     frame and used after a suspension (ASan's
 *     detect_stack_use_after_return does, at run time).
 *
 * The knobs
 *   CORO_MISUSE(at, msg) define before including to choose what a reported
 *                    mistake does (at: "file:line" or 0; msg says what to
 *                    do). Default without NDEBUG: on a Unix host flush
 *                    stdout, print "at: misuse: msg" to stderr and abort();
 *                    elsewhere trap (__builtin_trap: no stdio pulled in).
 *                    With NDEBUG: nothing. future.h's FUTURE_MISUSE(msg),
 *                    if you define it, is used for these too.
 *   CORO_USE_LABELS  define to 1 before including (GCC/Clang only) to resume
 *                    through computed goto instead of a switch. Then a
 *                    suspension point may sit inside the user's own switch
 *                    statement. Default: the portable switch backend, in
 *                    which a suspension point must not be inside a switch of
 *                    the coroutine's own body.
 *   The footprint knobs (for microcontrollers; define them the same way in
 *   every file of a program, as they change coro_t's layout):
 *   CORO_PC_T        the integer type of the switch backend's resume point,
 *                    co.pc (default int). Defined, it also numbers resume
 *                    points from the body's ASYNC_BEGIN (by default they
 *                    count through the whole file): one number per
 *                    suspension point (and per other __COUNTER__ use in
 *                    the body), so uint16_t fits any body and uint8_t one
 *                    of up to 254 points. A body with more than the type
 *                    can number does not compile ("resume point does not
 *                    fit CORO_PC_T"). The type's largest value (or -1,
 *                    signed) marks a finished coroutine. The labels
 *                    backend stores an address (void *) and ignores it.
 *   CORO_RC_T        the type of co.rc (default int). int16_t holds every
 *                    negative errno value; a result code is stored in it
 *                    and read back as an int. One out of its range (a
 *                    count of 40000 in ASYNC_RETURN) is a misuse report
 *                    and is kept at the range's nearest end: its sign,
 *                    success or error, stays.
 *   CORO_NO_TRACE    define to leave co.at out of coro_t: one pointer less
 *                    per frame and no "file:line" strings in the binary.
 *                    coro_at() is then 0: misuse reports name no place,
 *                    and future.h's backtraces and descriptions show no
 *                    places and no leaf kinds ("sleep", "chan recv").
 *   CORO_FULL_PATH   co.at names the file as __FILE__ does (the path the
 *                    compiler was given). Default: __FILE_NAME__ where the
 *                    compiler has it (gcc >= 12, clang >= 9), the base name
 *                    alone ("demo.c:42"): shorter strings in the binary.
 *   With the three (uint16_t, int16_t, no trace), coro_t is 4 bytes on any
 *   target (by default 12 on 32-bit, 16 on 64-bit).
 *   Resume labels come from __COUNTER__ where the compiler has it (GCC,
 *   Clang, MSVC), so one source line may hold several suspension points and
 *   one macro may expand to several; __LINE__ is the fallback, with which
 *   each line may hold at most one (and CORO_PC_T numbers lines from
 *   ASYNC_BEGIN's).
 *   co.at (coro_at(&co)) records the "file:line" of the last suspension,
 *   which makes suspended coroutines printable (future.h builds an async
 *   backtrace on it).
 *   One rule follows from __COUNTER__: a coroutine's body must be compiled
 *   once. Define it static, or in one .c file; a body in a header as a
 *   C++ (or C99 extern) inline function is compiled in every file that
 *   includes it, each numbering its resume points differently, and a frame
 *   started by one copy would resume in another at the wrong place. No
 *   compiler flag catches this: keep async bodies out of inline functions.
 *
 * Freestanding C99: no libc, no allocation, no global state.
 */
#ifndef CORO_H
#define CORO_H

/* How every function of the library is defined: WEFT_API. By default
 * static inline, so the headers are all there is, and each file that
 * includes them compiles its own copy of what it uses. A program of many
 * files that would rather have one copy defines WEFT_EXTERN_INLINE in
 * every file (-DWEFT_EXTERN_INLINE), and WEFT_IMPLEMENTATION in exactly one
 * of them before its first include: the functions become C99 inline
 * definitions, and that one file holds the external copy the others call
 * where they do not inline (stb's pattern, with C99 inline). C++ keeps
 * static inline. */
#ifndef WEFT_API
#if defined(WEFT_EXTERN_INLINE) && !defined(__cplusplus)
#ifdef WEFT_IMPLEMENTATION
#define WEFT_API extern inline
#else
#define WEFT_API inline
#endif
#else
#define WEFT_API static inline
#endif
#endif

/* What a coroutine (and, in future.h, every future) returns from a call. */
typedef enum coro_poll {
    CORO_PENDING = 0, /* suspended: call again later */
    CORO_READY = 1    /* finished: the result is in the frame */
} coro_poll_t;

/* The footprint knobs name <stdint.h> types (uint16_t...): a freestanding
 * header too, so this stays libc-free. */
#if defined(CORO_PC_T) || defined(CORO_RC_T)
#include <stdint.h>
#endif

#if defined(CORO_USE_LABELS) && CORO_USE_LABELS
#if !defined(__GNUC__)
#error "CORO_USE_LABELS needs GCC or Clang (labels as values)"
#endif
typedef void *coro_pc_t; /* CORO_PC_T does not apply: an address */
#define CORO_PC_DONE_ ((void *)1)
#define CORO_PC_STARTED_ ((void *)2) /* for hand-written polls (future.h) */
#else
#ifdef CORO_PC_T
typedef CORO_PC_T coro_pc_t;
#else
typedef int coro_pc_t;
#endif
/* -1 converted: -1 for a signed type, the largest value for an unsigned
 * one; never a resume label (CORO_FIT_ sees to it). */
#define CORO_PC_DONE_ ((coro_pc_t)-1)
#define CORO_PC_STARTED_ 1
#endif

#ifdef CORO_RC_T
typedef CORO_RC_T coro_rc_t;
/* Result codes are 0 or negative errno values (up to about -4095): the
 * type must be signed and at least 16 bits, or -ECANCELED would read back
 * as some other number. */
typedef char coro_rc_t_must_be_a_signed_type_of_16_bits_or_more
    [((coro_rc_t)-1 < 0 && sizeof(coro_rc_t) * 8 >= 16) ? 1 : -1];
#else
typedef int coro_rc_t;
#endif

/* The resume state a frame keeps. */
typedef struct coro {
    coro_pc_t pc;   /* where to resume: 0 = start, CORO_PC_DONE_ = finished */
    coro_rc_t rc;   /* the result code (futures: 0 or a negative errno) */
#ifndef CORO_NO_TRACE
    const char *at; /* "file:line" of the last suspension, or 0 */
#endif
} coro_t;

#ifdef CORO_NO_TRACE
#define CORO_INIT {0, 0}
#else
#define CORO_INIT {0, 0, 0}
#endif

/* Always inlined where the compiler can (GCC/Clang): an init must be seen
 * by the first optimisations of its caller, so that the poll function an
 * init just stored is a known, direct call by the time the inliner
 * decides (see AWAIT in future.h). */
#if defined(__GNUC__)
#define CORO_ALWAYS_INLINE_ __attribute__((always_inline))
#else
#define CORO_ALWAYS_INLINE_
#endif

/* Store co->at (nothing under CORO_NO_TRACE). */
#ifdef CORO_NO_TRACE
#define CORO_SET_AT_(co, s) ((void)(co), (void)(s))
#else
#define CORO_SET_AT_(co, s) ((co)->at = (s))
#endif

CORO_ALWAYS_INLINE_ WEFT_API void coro_init(coro_t *co) {
    co->pc = 0;
    co->rc = 0;
    CORO_SET_AT_(co, 0);
}

/* Where the coroutine is suspended ("file:line" of its last suspension;
 * future.h may point it at a leaf's kind instead), or 0: not started, or
 * CORO_NO_TRACE. Read co.at through this, so code builds either way. */
WEFT_API const char *coro_at(const coro_t *co) {
#ifdef CORO_NO_TRACE
    (void)co;
    return 0;
#else
    return co->at;
#endif
}

/* Has the coroutine run to its end (or been stopped)? */
WEFT_API int coro_done(const coro_t *co) { return co->pc == CORO_PC_DONE_; }

WEFT_API coro_rc_t coro_rc_(int rc);

/* Mark a coroutine finished from outside (used when dropping it). */
WEFT_API void coro_finish(coro_t *co, int rc) {
    co->pc = CORO_PC_DONE_;
    co->rc = coro_rc_(rc);
}

/* ---- reporting misuse -------------------------------------------------- */

/* The result code of a coroutine stopped by a reported mistake (-EINVAL on
 * every system this library knows: Linux, the BSDs, macOS, newlib). */
#define CORO_EMISUSE (-22)

/* What a reported mistake does; see "The knobs". The includes do not
 * depend on NDEBUG, so a file builds the same in debug and release. */
#if defined(__STDC_HOSTED__) && __STDC_HOSTED__ && defined(__unix__)
#include <stdio.h>
#include <stdlib.h>
#define CORO_HOSTED_UNIX_ 1
#endif
#ifndef CORO_MISUSE
#if defined(FUTURE_MISUSE)
#define CORO_MISUSE(at, msg) ((void)(at), FUTURE_MISUSE(msg))
#elif defined(NDEBUG)
#define CORO_MISUSE(at, msg) ((void)(at), (void)(msg))
#elif defined(CORO_HOSTED_UNIX_)
#define CORO_MISUSE(at, msg) coro_misuse_report_((at), (msg))
#define CORO_MISUSE_REPORT_ 1
#elif defined(__GNUC__)
#define CORO_MISUSE(at, msg) ((void)(at), (void)(msg), __builtin_trap())
#else
#define CORO_MISUSE(at, msg) ((void)(at), (void)(msg))
#endif
#endif

#ifdef CORO_MISUSE_REPORT_
/* The default report: flush first (the program's own output must not be
 * lost), then "file:line: misuse: what to do" on stderr, then abort. */
WEFT_API void coro_misuse_report_(const char *at, const char *msg) {
    fflush(stdout);
    if (at) fprintf(stderr, "%s: misuse: %s\n", at, msg);
    else fprintf(stderr, "misuse: %s\n", msg);
    abort();
}
#endif

/* A result code as co.rc stores it. With a CORO_RC_T narrower than int, a
 * code out of its range is reported and kept at the nearest end of the
 * range, so that its sign stays (40000 as int16_t would read back as
 * -25536: a success turned into an error). Every errno value fits. */
WEFT_API coro_rc_t coro_rc_(int rc) {
#ifdef CORO_RC_T
    if (sizeof(coro_rc_t) < sizeof(int) && rc != (int)(coro_rc_t)rc) {
        int max = (int)((1u << (sizeof(coro_rc_t) * 8 - 1)) - 1u);
        CORO_MISUSE((const char *)0, "a result code out of CORO_RC_T's range "
                                     "(ASYNC_RETURN, future_finish): keep codes "
                                     "within it, or widen CORO_RC_T");
        return (coro_rc_t)(rc < 0 ? -max - 1 : max);
    }
#endif
    return (coro_rc_t)rc;
}

/* ASYNC_END's checks (switch backend), out of line so they cost the normal
 * path one compare. A frame whose resume state matched no label. */
WEFT_API void coro_lost_(coro_t *co) {
    CORO_MISUSE(coro_at(co), "this coroutine cannot resume where it stopped: a "
                             "suspension point (AWAIT, YIELD...) inside a switch "
                             "of your own? Use if/else there, or define "
                             "CORO_USE_LABELS");
    coro_finish(co, CORO_EMISUSE);
}

/* A body that left the switch before ASYNC_END (a bare `break`). */
WEFT_API void coro_broke_(coro_t *co, const char *end) {
    CORO_MISUSE(end, "the coroutine's body was left by a `break` outside any "
                     "loop or switch of its own, skipping the rest of it: "
                     "finish early with ASYNC_RETURN(rc)");
    coro_finish(co, CORO_EMISUSE);
}

/* ---- internals shared by both backends ---------------------------------- */

#define CORO_STR2_(x) #x
#define CORO_STR_(x) CORO_STR2_(x)
#define CORO_CAT2_(a, b) a##b
#define CORO_CAT_(a, b) CORO_CAT2_(a, b)

/* "file:line" of a suspension: the base name where the compiler has
 * __FILE_NAME__ (see CORO_FULL_PATH). */
#if defined(__FILE_NAME__) && !defined(CORO_FULL_PATH)
#define CORO_FILE_ __FILE_NAME__
#else
#define CORO_FILE_ __FILE__
#endif
#define CORO_HERE_ (CORO_FILE_ ":" CORO_STR_(__LINE__))

/* Record where the running body suspends (co.at); what a report names as
 * the place (0 under CORO_NO_TRACE: no string in the binary). */
#ifdef CORO_NO_TRACE
#define CORO_TRACE_HERE_() ((void)0)
#define CORO_WHERE_ ((const char *)0)
#else
#define CORO_TRACE_HERE_() (CORO_SELF_->at = CORO_HERE_)
#define CORO_WHERE_ CORO_HERE_
#endif

/* A fresh label number per use; __COUNTER__ lets one line hold many. */
#ifdef __COUNTER__
#define CORO_NEXT_ __COUNTER__
#else
#define CORO_NEXT_ __LINE__
#endif

/* What the switch backend's labels count from: a resume point numbered n
 * stores n - base. By default base is -1: the label is the number plus
 * one, file-wide, as it always was. A narrowed CORO_PC_T numbers each
 * body from its ASYNC_BEGIN instead (CORO_BASE_, a number taken there,
 * below every label of the body), so that a small type fits however many
 * bodies came before in the file. A body whose points are numbered by
 * __LINE__ because it is compiled in several files (sync.h's generators:
 * see "the body must be compiled once" above) opens with
 * CORO_BEGIN_LINES_, whose base is a line too: the same in every file. */
#if defined(CORO_PC_T) && defined(__COUNTER__)
#define CORO_BASE_ __COUNTER__
#define CORO_BASE_LINES_ (__LINE__ - 1)
#elif defined(CORO_PC_T)
#define CORO_BASE_ (__LINE__ - 1)
#define CORO_BASE_LINES_ (__LINE__ - 1)
#else
#define CORO_BASE_ (-1)
#define CORO_BASE_LINES_ (-1)
#endif

/* Falling into a case label is the point of Duff's device: tell the
 * compiler (-Wimplicit-fallthrough is part of -Wextra). */
#if defined(__has_attribute)
#if __has_attribute(fallthrough)
#define CORO_FALLTHROUGH_ __attribute__((fallthrough))
#endif
#endif
#ifndef CORO_FALLTHROUGH_
#define CORO_FALLTHROUGH_ ((void)0)
#endif

/* The frame of the coroutine being run, as ASYNC_BEGIN named it. The other
 * macros find it under this name, so they need no frame argument. */
#define CORO_SELF_ coro_self_

/* ---- the switch backend (default): Duff's device ------------------------ */
#if !(defined(CORO_USE_LABELS) && CORO_USE_LABELS)

/* Opens the body: jump to where the last call stopped. coro_base_ is
 * what the body's resume labels count from (see CORO_BASE_). */
#define CORO_BEGIN(frame) CORO_BEGIN_FROM_(frame, CORO_BASE_)
#define CORO_BEGIN_LINES_(frame) CORO_BEGIN_FROM_(frame, CORO_BASE_LINES_)
#define CORO_BEGIN_FROM_(frame, base)                                          \
    coro_t *const CORO_SELF_ = (coro_t *)(void *)(frame);                      \
    enum { coro_base_ = base };                                                \
    switch (CORO_SELF_->pc) {                                                  \
    case 0:

/* The resume label (case value) of suspension point n: above 0, which is
 * the start. */
#define CORO_LABEL_(n) ((n) - coro_base_)

/* Does label l fit coro_pc_t, and differ from the "finished" mark? And
 * is it above 0, the start? A label of 0 or below means the point was
 * numbered before its body's ASYNC_BEGIN took the base: a body passed
 * as an argument to some macro whose own text holds the ASYNC_BEGIN (the
 * argument's __COUNTER__s expand first). Only a narrowed CORO_PC_T
 * numbers from ASYNC_BEGIN, and only it can overflow: without it, there
 * is nothing to check. */
#define CORO_FITS_(l)                                                          \
    ((long)(coro_pc_t)(l) == (long)(l) && (coro_pc_t)(l) != CORO_PC_DONE_)
#define CORO_FIT_MSG_                                                          \
    "resume point does not fit CORO_PC_T: this body has more suspension "     \
    "points than CORO_PC_T can number; use a wider CORO_PC_T (uint16_t, int)"
#define CORO_ORDERED_MSG_                                                      \
    "suspension point numbered before its ASYNC_BEGIN: with CORO_PC_T, a "    \
    "body passed as a macro argument must hold its own ASYNC_BEGIN"

/* Declarations that do not compile when label n does not fit: first
 * thing in a block. The C99 form's error names the array. */
#if !defined(CORO_PC_T)
#define CORO_FIT_(n) ((void)0)
#elif defined(__cplusplus) && __cplusplus >= 201103L
#define CORO_FIT_(n)                                                           \
    static_assert(CORO_LABEL_(n) > 0, CORO_ORDERED_MSG_);                      \
    static_assert(CORO_FITS_(CORO_LABEL_(n)), CORO_FIT_MSG_)
#elif !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define CORO_FIT_(n)                                                           \
    _Static_assert(CORO_LABEL_(n) > 0, CORO_ORDERED_MSG_);                     \
    _Static_assert(CORO_FITS_(CORO_LABEL_(n)), CORO_FIT_MSG_)
#else
#define CORO_FIT_(n)                                                           \
    typedef char coro_point_numbered_before_its_ASYNC_BEGIN                    \
        [CORO_LABEL_(n) > 0 ? 1 : -1];                                         \
    typedef char coro_resume_point_does_not_fit_CORO_PC_T                      \
        [CORO_FITS_(CORO_LABEL_(n)) ? 1 : -1];                                 \
    (void)sizeof(coro_point_numbered_before_its_ASYNC_BEGIN);                  \
    (void)sizeof(coro_resume_point_does_not_fit_CORO_PC_T)
#endif

/* Leave through suspension point n: its label stored, and where it is. */
#define CORO_SAVE_(n)                                                          \
    CORO_FIT_(n);                                                              \
    CORO_SELF_->pc = (coro_pc_t)CORO_LABEL_(n);                                \
    CORO_TRACE_HERE_()

/* Suspension point number n: remember n, and resume at its case label.
 * The test runs on the first visit and on every resume. */
#define CORO_WAIT_(cond, n)                                                    \
    do {                                                                       \
        CORO_SAVE_(n);                                                         \
        CORO_FALLTHROUGH_;                                                     \
    case CORO_LABEL_(n):                                                       \
        if (!(cond)) return CORO_PENDING;                                      \
    } while (0)

/* As CORO_WAIT_, but the way in tests `first` instead of cond, and only
 * suspends if it fails; resumes test cond. AWAIT uses it so that its first
 * poll is on the straight path from the child's init, where the compiler
 * knows the poll function and can inline it. */
#define CORO_WAIT2_(first, cond, n)                                            \
    do {                                                                       \
        if (!(first)) {                                                        \
            CORO_SAVE_(n);                                                     \
            return CORO_PENDING;                                               \
        case CORO_LABEL_(n):                                                   \
            if (!(cond)) return CORO_PENDING;                                  \
        }                                                                      \
    } while (0)

/* Closes the body; falling off the end finishes with the current rc. The
 * normal path marks the frame finished before the default label, so any
 * other way here is a mistake: a resume state that matched no case (a
 * suspension inside the user's own switch), or a `break` out of the body.
 * A finished coroutine's pc matches no case and lands here, quietly. */
#define CORO_END()                                                             \
    CORO_SELF_->pc = CORO_PC_DONE_;                                            \
    CORO_FALLTHROUGH_;                                                         \
    default:                                                                   \
        if (CORO_SELF_->pc != CORO_PC_DONE_) coro_lost_(CORO_SELF_);           \
    }                                                                          \
    if (CORO_SELF_->pc != CORO_PC_DONE_) coro_broke_(CORO_SELF_, CORO_WHERE_); \
    return CORO_READY

#define CORO_YIELD_(n)                                                         \
    do {                                                                       \
        CORO_SAVE_(n);                                                         \
        return CORO_PENDING;                                                   \
    case CORO_LABEL_(n):;                                                      \
    } while (0)

/* ---- the labels-as-values backend (GCC/Clang, opt-in) ------------------- */
#else

/* -Wpedantic rightly calls computed goto an extension; say we know. gcc
 * 12's -Wdangling-pointer takes a label's address stored in the frame for
 * the address of a local (seen under CORO_NO_TRACE, when no co.at store
 * follows it): a label is code, not a local. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#define CORO_PEDANTIC_OFF_                                                     \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wpedantic\"") \
    _Pragma("GCC diagnostic ignored \"-Wdangling-pointer\"")
#else
#define CORO_PEDANTIC_OFF_                                                     \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wpedantic\"")
#endif
#define CORO_PEDANTIC_ON_ _Pragma("GCC diagnostic pop")

#define CORO_BEGIN(frame)                                                      \
    coro_t *const CORO_SELF_ = (coro_t *)(void *)(frame);                      \
    if (CORO_SELF_->pc == CORO_PC_DONE_) return CORO_READY;                    \
    CORO_PEDANTIC_OFF_ if (CORO_SELF_->pc) goto *CORO_SELF_->pc;               \
    CORO_PEDANTIC_ON_ do {                                                     \
    } while (0)
#define CORO_BEGIN_LINES_(frame) CORO_BEGIN(frame) /* a label has no number */

/* Leave through suspension point n: its label's address stored, and
 * where it is. */
#define CORO_SAVE_(n)                                                          \
    CORO_PEDANTIC_OFF_ CORO_SELF_->pc = &&CORO_CAT_(coro_l_, n);               \
    CORO_PEDANTIC_ON_ CORO_TRACE_HERE_()

#define CORO_WAIT_(cond, n)                                                    \
    do {                                                                       \
        CORO_SAVE_(n);                                                         \
        CORO_CAT_(coro_l_, n) :                                                \
            if (!(cond)) return CORO_PENDING;                                  \
    } while (0)

#define CORO_WAIT2_(first, cond, n)                                            \
    do {                                                                       \
        if (!(first)) {                                                        \
            CORO_SAVE_(n);                                                     \
            return CORO_PENDING;                                               \
            CORO_CAT_(coro_l_, n) :                                            \
                if (!(cond)) return CORO_PENDING;                              \
        }                                                                      \
    } while (0)

/* The label's address is taken so that a body with no suspension point
 * still has one: clang refuses ASYNC_BEGIN's indirect goto in a function
 * that takes the address of no label. */
#define CORO_END()                                                             \
    CORO_PEDANTIC_OFF_(void) && coro_end_;                                     \
    CORO_PEDANTIC_ON_ coro_end_ : CORO_SELF_->pc = CORO_PC_DONE_;              \
    return CORO_READY

#define CORO_YIELD_(n)                                                         \
    do {                                                                       \
        CORO_SAVE_(n);                                                         \
        return CORO_PENDING;                                                   \
        CORO_CAT_(coro_l_, n) :;                                               \
    } while (0)

#endif

/* ---- the user-facing suspension and exit points ------------------------- */

/* Suspend until cond is true. cond is tested at once, and again on every
 * later call; the body goes on the first time it holds. */
/* The label number is passed bare (already expanded by CORO_NEXT_), so the
 * labels backend can paste it into a label name; the switch backend counts
 * it from ASYNC_BEGIN's (CORO_LABEL_), which keeps case values off 0, the
 * start. */
#define CORO_AWAIT_UNTIL(cond) CORO_WAIT_(cond, CORO_NEXT_)

/* Suspend once: return CORO_PENDING now, carry on at the next call. */
#define CORO_YIELD() CORO_YIELD_(CORO_NEXT_)

/* Finish now with result code `code` (futures: 0 or a negative errno). */
#define CORO_RETURN(code)                                                      \
    do {                                                                       \
        CORO_SELF_->rc = coro_rc_(code);                                       \
        CORO_SELF_->pc = CORO_PC_DONE_;                                        \
        return CORO_READY;                                                     \
    } while (0)

/* ---- the short names --------------------------------------------------
 * The names above carry the header's prefix; these shorter ones are what
 * the examples use. A project whose other headers already define AWAIT,
 * YIELD or JOIN (Python's token.h, tcl.h) defines WEFT_NO_SHORT_NAMES
 * before including, and writes the prefixed names (stb's convention). */
#ifndef WEFT_NO_SHORT_NAMES
#define ASYNC_BEGIN(frame) CORO_BEGIN(frame)
#define ASYNC_END() CORO_END()
#define AWAIT_UNTIL(cond) CORO_AWAIT_UNTIL(cond)
#define YIELD() CORO_YIELD()
#define ASYNC_RETURN(code) CORO_RETURN(code)
#endif

#endif /* CORO_H */
