/* check.h - the project's tiny test harness.
 *
 *     #include "check.h"          // first: it sets FUTURE_MISUSE
 *     #include "../exec.h"
 *
 *     static void test_adds(void) {
 *         CHECK(1 + 1 == 2);
 *         CHECK_EQ(2 * 2, 4);
 *     }
 *
 *     int main(void) {
 *         RUN(test_adds);
 *         return check_summary();   // prints "N passed, N failed"
 *     }
 *
 * A failed CHECK prints where and returns from the test. Misuse reports
 * from the library (FUTURE_MISUSE) are counted instead of aborting, so a
 * test can assert that misuse is reported: CHECK_MISUSE(expr, "words").
 * Per-test leak checking comes from running the binaries under ASan and
 * valgrind (the Makefile does both).
 */
#ifndef CHECK_H
#define CHECK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_passed_, check_failed_, check_failed_now_;
static int check_misuses_;
static const char *check_last_misuse_;

static inline void check_misuse(const char *msg) {
    check_misuses_++;
    check_last_misuse_ = msg;
    if (getenv("CHECK_VERBOSE")) fprintf(stderr, "  (misuse reported: %s)\n", msg);
}

#define FUTURE_MISUSE(msg) check_misuse(msg)

/* A slow target: under valgrind, or emulated by qemu-user (tests/matrix.sh
 * defines CHECK_EMULATED for its cross builds). The stress loops run
 * fewer rounds there, so a loaded machine stays inside the time limit. */
#if defined(CHECK_UNDER_VALGRIND) || defined(CHECK_EMULATED)
#define CHECK_SLOW 1
#endif

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("    %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);\
            check_failed_now_ = 1;                                             \
            return;                                                            \
        }                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);        \
        if (check_a_ != check_b_) {                                            \
            printf("    %s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n",       \
                   __FILE__, __LINE__, #a, #b, check_a_, check_b_);            \
            check_failed_now_ = 1;                                             \
            return;                                                            \
        }                                                                      \
    } while (0)

/* expr must report exactly one misuse whose message contains words. */
#define CHECK_MISUSE(expr, words)                                              \
    do {                                                                       \
        int check_before_ = check_misuses_;                                    \
        expr;                                                                  \
        CHECK_EQ(check_misuses_ - check_before_, 1);                           \
        CHECK(strstr(check_last_misuse_, (words)) != NULL);                    \
    } while (0)

/* CHECK_ONLY=name in the environment runs just that test. */
#define RUN(fn)                                                                \
    do {                                                                       \
        if (getenv("CHECK_ONLY") && strcmp(getenv("CHECK_ONLY"), #fn)) break;  \
        check_failed_now_ = 0;                                                 \
        fn();                                                                  \
        if (check_failed_now_) {                                               \
            check_failed_++;                                                   \
            printf("FAIL %s\n", #fn);                                          \
        } else {                                                               \
            check_passed_++;                                                   \
            printf("ok   %s\n", #fn);                                          \
        }                                                                      \
        fflush(stdout);                                                        \
    } while (0)

#include <dirent.h>
/* How many fds this process has open: a leak shows as a larger count. */
static inline int check_open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own fd */
}

static inline int check_summary(void) {
    printf("%d passed, %d failed\n", check_passed_, check_failed_);
    return check_failed_ ? 1 : 0;
}

#endif
