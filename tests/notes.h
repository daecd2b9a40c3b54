/* notes.h - a log of what happened, in order, for a test to compare in
 * one CHECK: note("a locked"); ... CHECK(!strcmp(logged(), "a b c")).
 * At most 64 notes of 47 characters; log_[i] is the i-th, nlog how many
 * (a test's setup sets nlog = 0). */
#ifndef NOTES_H
#define NOTES_H

#include <stdio.h>
#include <string.h>

static char log_[64][48];
static int nlog;

static inline void note(const char *s) {
    if (nlog < 64) snprintf(log_[nlog++], sizeof log_[0], "%s", s);
}

/* The notes joined with spaces. */
static inline const char *logged(void) {
    static char out[64 * 49];
    int i;
    out[0] = 0;
    for (i = 0; i < nlog; i++) {
        if (i) strcat(out, " ");
        strcat(out, log_[i]);
    }
    return out;
}

#endif /* NOTES_H */
