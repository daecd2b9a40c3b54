/* Shared by the mini_redis fuzz harnesses (tests/fuzz/fuzz_*.c): the real
 * server code, fed the way its connections feed it, and the oracles.
 *
 * feed() hands the bytes to mini_redis in chunks, exactly as conn_read
 * does with what one read returns: conn_room says where the bytes go and
 * how many fit, conn_input runs every complete command, and while the
 * connection has more complete commands than one flush holds (c->more) it
 * runs them before reading again, as conn_poll does. Chunk sizes come from
 * a seed taken from the input, so the fuzzer explores the splits too. The
 * replies are collected instead of written to a socket. The executor's
 * clock is never advanced: nothing expires on its own, and a run is
 * deterministic.
 *
 * The oracles, written apart from the server's code:
 *   resp_check()  the replies are well-formed RESP2 (simple strings and
 *                 errors hold no CR or LF, integers are strict, bulks have
 *                 their length, arrays their count), every error starts
 *                 "-ERR ", and it counts the top-level replies;
 *   ref_ll()      a strict integer as Redis' string2ll reads it, on strtoll;
 *   the same bytes fed in one piece give the same replies (chunking must
 *   never change what the client sees).
 */
#define MINI_REDIS_NO_MAIN
#include "../../examples/mini_redis.c"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <ctype.h>

static exec_t fz_ex;
static server_t fz_srv;

static void fz_setup(void) {
    static int done;
    if (done) return;
    done = 1;
    if (exec_init(&fz_ex) || server_init(&fz_srv, &fz_ex)) {
        fprintf(stderr, "fuzz setup failed\n");
        abort();
    }
}

typedef struct {
    char *p;
    size_t n, cap;
} fz_buf_t;

static void fz_append(fz_buf_t *b, const char *p, size_t n) {
    if (!n) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        b->p = (char *)realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static uint32_t fz_rand(uint32_t *s) { /* xorshift32 */
    uint32_t x = *s ? *s : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* How many bytes the next "read" returns: one, a few, some, or all. */
static size_t fz_chunk(uint32_t *seed, size_t left) {
    uint32_t r = fz_rand(seed);
    size_t k;
    switch (r & 3) {
    case 0: k = 1; break;
    case 1: k = 1 + (r >> 8) % 8; break;
    case 2: k = 1 + (r >> 8) % 64; break;
    default: k = left; break;
    }
    return k < left ? k : left;
}

/* Feed d[0..n) to a fresh connection in chunks (seed 0: in one piece, as
 * far as the buffers take it); the replies go to out. Returns 1 if the
 * server closed the connection (QUIT, protocol error, the query cap).
 * Every key is deleted afterwards: each input starts from an empty table. */
static int feed(const uint8_t *d, size_t n, uint32_t seed, fz_buf_t *out) {
    conn_t *c = (conn_t *)calloc(1, sizeof *c);
    size_t pos = 0;
    int quit;
    if (!c) abort();
    c->srv = &fz_srv;
    while (pos < n && !c->quit) {
        size_t room, k;
        char *at = conn_room(c, &room);
        if (!at) abort();
        k = seed ? fz_chunk(&seed, n - pos) : n - pos;
        if (k > room) k = room;
        memcpy(at, d + pos, k);
        pos += k;
        conn_input(c, k);
        fz_append(out, fz_srv.out, fz_srv.out_len);
        fz_srv.out_len = 0;
        while (c->more && !c->quit) {
            conn_run(c);
            fz_append(out, fz_srv.out, fz_srv.out_len);
            fz_srv.out_len = 0;
        }
    }
    quit = c->quit;
    free(c->in);
    free(c->pend);
    free(c);
    server_clear(&fz_srv);
    return quit;
}

/* ---- oracles -------------------------------------------------------------- */

#define FZ_FAIL(...) do { fprintf(stderr, "ORACLE: " __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)

/* A strict integer (string2ll's rules), on strtoll: digits with an optional
 * '-', no '+' or spaces, no leading zero but "0" itself, no "-0", in range. */
static int ref_ll(const char *p, size_t n, long long *out) {
    char tmp[32], *end;
    size_t i;
    long long v;
    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, p, n);
    tmp[n] = 0;
    i = tmp[0] == '-';
    if (i == n) return -1;
    for (size_t j = i; j < n; j++)
        if (!isdigit((unsigned char)tmp[j])) return -1;
    if (tmp[i] == '0' && !(n == 1)) return -1; /* "0" only: not "-0", not "01" */
    errno = 0;
    v = strtoll(tmp, &end, 10);
    if (errno == ERANGE || *end) return -1;
    *out = v;
    return 0;
}

/* One reply at o[0..n): its length, or 0 if malformed or cut short. */
static size_t resp_one(const char *o, size_t n, int depth) {
    const char *cr;
    long long v;
    size_t used, i;
    if (n < 3 || depth > 4) return 0;
    cr = (const char *)memchr(o, '\r', n);
    if (!cr || (size_t)(cr - o) + 1 >= n || cr[1] != '\n') return 0;
    if (memchr(o, '\n', (size_t)(cr - o))) return 0; /* a bare LF inside */
    used = (size_t)(cr - o) + 2;
    switch (o[0]) {
    case '+': return used;
    case '-': return used >= 7 && memcmp(o, "-ERR ", 5) == 0 ? used : 0;
    case ':': return ref_ll(o + 1, (size_t)(cr - o) - 1, &v) ? 0 : used;
    case '$':
        if (ref_ll(o + 1, (size_t)(cr - o) - 1, &v) || v < -1) return 0;
        if (v == -1) return used;
        if ((unsigned long long)v > n - used || n - used - (size_t)v < 2) return 0;
        if (o[used + (size_t)v] != '\r' || o[used + (size_t)v + 1] != '\n') return 0;
        return used + (size_t)v + 2;
    case '*':
        if (ref_ll(o + 1, (size_t)(cr - o) - 1, &v) || v < -1) return 0;
        for (i = 0; v > 0 && i < (size_t)v; i++) {
            size_t k = resp_one(o + used, n - used, depth + 1);
            if (!k) return 0;
            used += k;
        }
        return used;
    default: return 0;
    }
}

/* The replies must be well-formed and all there; the count of top-level
 * replies goes to *count, each one's start to starts[] (up to max). */
static void resp_check(const fz_buf_t *b, size_t *count, size_t *starts, size_t max) {
    size_t pos = 0;
    *count = 0;
    while (pos < b->n) {
        size_t k = resp_one(b->p + pos, b->n - pos, 0);
        if (!k) FZ_FAIL("malformed reply at byte %zu of %zu: \"%.*s\"", pos, b->n,
                        (int)(b->n - pos > 80 ? 80 : b->n - pos), b->p + pos);
        if (*count < max) starts[*count] = pos;
        ++*count;
        pos += k;
    }
}

static int fz_same(const fz_buf_t *a, const fz_buf_t *b) {
    return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}
