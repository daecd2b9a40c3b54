/* fault.h - fault injection for the coverage tests: a switch per faked
 * libc call. A test defines the libc names it fakes as macros calling its
 * wrappers, after every system header and before the library's headers;
 * a wrapper asks fault_hit whether this call fails (with errno set), and
 * otherwise calls the real function.
 *
 *     static fault_t f_malloc;
 *     static void *cover_malloc(size_t n) { return fault_hit(&f_malloc) ? 0 : malloc(n); }
 *     #define malloc(n) cover_malloc(n)
 *     ...
 *     fault_arm(&f_malloc, 1, 1, ENOMEM);   // the 2nd call fails, once
 */
#ifndef TESTS_FAULT_H
#define TESTS_FAULT_H

#include <errno.h>

typedef struct {
    int skip;  /* let this many calls through first */
    int times; /* then fail this many (-1: every call; 0: off) */
    int err;   /* with this errno */
    int hits;  /* calls failed so far */
} fault_t;

static inline void fault_arm(fault_t *f, int skip, int times, int err) {
    f->skip = skip;
    f->times = times;
    f->err = err;
    f->hits = 0;
}

static inline int fault_hit(fault_t *f) {
    if (__atomic_load_n(&f->times, __ATOMIC_SEQ_CST) == 0) return 0;
    if (f->skip > 0) {
        f->skip--;
        return 0;
    }
    if (f->times > 0) f->times--;
    f->hits++;
    errno = f->err;
    return 1;
}

#endif
