/* libFuzzer harness: mini_redis' command dispatch, against a model.
 *
 *   clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
 *         -fno-sanitize-recover=all tests/fuzz/fuzz_dispatch.c -o build/test/fuzz_dispatch
 *   build/test/fuzz_dispatch tests/fuzz/corpus/fuzz_dispatch  (tests/fuzz_redis.sh runs it)
 *
 * Input: byte 0 seeds the chunk splits; the rest is a little program that
 * becomes a pipeline of commands, so that most inputs are commands the
 * server knows, with arguments at the edges: per command an opcode byte
 * (which command), a flags byte (case of the name, inline or multibulk,
 * how many arguments, whether to spoil the name with bytes from the input:
 * NULs, CR, LF...), then per argument a selector (a key from a small pool,
 * an integer from the edges: 0, -0, LLONG_MAX, +5, 007..., an option word,
 * or raw bytes from the input, empty included). The pipeline is fed to
 * the real code (fuzz_common.h) in chunks, then in one piece. Oracles:
 *   - well-formed RESP2 and exactly one reply per command (every command
 *     here is complete and non-empty);
 *   - each reply fits the command, checked against a model of the keys
 *     kept here (the clock stands still, so only DEL and EXPIRE <= 0
 *     remove keys): GET gives the model's value or nil, SET's +OK stores,
 *     DEL / EXISTS count, INCR / DECR add to a strict integer (or fail
 *     exactly when it is not one or would overflow), TTL is -2 exactly for
 *     a missing key, PING / ECHO echo, an unknown name gets
 *     "-ERR unknown command";
 *   - the chunked and the one-piece replies are the same bytes.
 * Sanitizers: ASan, UBSan with no recovery (a report is a crash).
 *
 * Mutation check (the fuzzer is not vacuous): each bug put back into a
 * scratch copy of the fixed mini_redis.c, this harness run as
 * tests/fuzz_redis.sh runs it (from the committed corpus, 30 s at most),
 * libFuzzer seeds 1, 2, 3, on the shared 2-core machine:
 *   bug 20 (add_err copying CR/LF unfiltered): found every time, after
 *     42, 28, 56 inputs ("malformed reply": the CR/LF split the error);
 *   bug 21 (is_cmd reading the name past its NUL): found every time, after
 *     70, 43, 27 inputs (ASan global-buffer-overflow);
 *   bug 22 (memcpy from NULL on SET k "" / GET k): found every time, after
 *     986, 2537, 248 inputs (UBSan "null pointer passed as argument 1").
 * The committed seeds alone pass on every mutant (none is a crash input).
 */
#include "fuzz_common.h"

enum { C_GET, C_SET, C_DEL, C_EXISTS, C_INCR, C_DECR, C_EXPIRE, C_TTL, C_PTTL, C_PING,
       C_ECHO, C_COMMAND, C_CONFIG, C_UNKNOWN, NCMD };
static const char *const names[NCMD] = {"GET", "SET", "DEL", "EXISTS", "INCR", "DECR",
                                        "EXPIRE", "TTL", "PTTL", "PING", "ECHO",
                                        "COMMAND", "CONFIG", "NOPE"};
static const char *const ints[] = {"0", "-0", "1", "-1", "5", "100", "007", "+5", " 5", "",
                                   "9223372036854775807", "-9223372036854775808",
                                   "9223372036854775808", "9223372036854775806",
                                   "-9223372036854775807", "9223372036854", "9223372036854775",
                                   "-9223372036854776", "18446744074", "1x", "-", "3.5"};
static const char *const words[] = {"EX", "PX", "NX", "XX", "KEEPTTL", "ex", "px", "nx",
                                    "GET", "*", "save", "appendonly", "k0", "quit"};

#define MAXARG 8
#define MAXCMD 512

typedef struct {
    int cmd, spoiled, argc;        /* argc counts the name */
    const char *argv[MAXARG + 1];
    size_t argl[MAXARG + 1];
} fcmd_t;

/* ---- the model: a few keys and values ------------------------------------ */

typedef struct {
    char *k, *v;
    size_t kl, vl;
} kv_t;
static kv_t model[MAXCMD * MAXARG];
static size_t nmodel;

static kv_t *m_find(const char *k, size_t n) {
    size_t i;
    for (i = 0; i < nmodel; i++)
        if (model[i].kl == n && (n == 0 || memcmp(model[i].k, k, n) == 0)) return &model[i];
    return 0;
}
static char *m_dup(const char *p, size_t n) {
    char *d = (char *)malloc(n + 1);
    if (!d) abort();
    if (n) memcpy(d, p, n);
    return d;
}
static void m_set(const char *k, size_t kn, const char *v, size_t vn) {
    kv_t *e = m_find(k, kn);
    if (!e) {
        e = &model[nmodel++];
        e->k = m_dup(k, kn);
        e->kl = kn;
    } else {
        free(e->v);
    }
    e->v = m_dup(v, vn);
    e->vl = vn;
}
static void m_del(kv_t *e) {
    free(e->k);
    free(e->v);
    *e = model[--nmodel];
}
static void m_clear(void) {
    while (nmodel) m_del(&model[0]);
}

/* ---- reading replies ------------------------------------------------------- */

static int r_is(const char *r, const char *lit) { return strncmp(r, lit, strlen(lit)) == 0; }
static int r_int(const char *r, long long *v) { /* ":N\r\n" */
    const char *cr = strchr(r, '\r');
    return r[0] == ':' && cr && !ref_ll(r + 1, (size_t)(cr - r - 1), v);
}
static int r_bulk(const char *r, const char *p, size_t n) { /* "$n\r\n<p>\r\n" */
    char hdr[32];
    int h = snprintf(hdr, sizeof hdr, "$%zu\r\n", n);
    return strncmp(r, hdr, (size_t)h) == 0 && (n == 0 || memcmp(r + h, p, n) == 0) &&
           r[h + n] == '\r';
}

#define WRONG(...) do { \
        fprintf(stderr, "command %zu (%s%s, %d args): ", ci, names[fc->cmd], \
                fc->spoiled ? ", spoiled" : "", fc->argc - 1); \
        FZ_FAIL(__VA_ARGS__); \
    } while (0)

/* Check reply r (NUL-terminated copy) of command fc, and move the model. */
static void check_reply(size_t ci, const fcmd_t *fc, const char *r) {
    const char *const *a = fc->argv;
    const size_t *l = fc->argl;
    int argc = fc->argc, i;
    long long v, t, n;
    kv_t *e;
    if (fc->spoiled || fc->cmd == C_UNKNOWN) {
        if (!r_is(r, "-ERR unknown command '")) WRONG("not an unknown-command error: %.60s", r);
        return;
    }
    switch (fc->cmd) {
    case C_GET:
        if (argc != 2) { if (r[0] != '-') WRONG("arity"); break; }
        e = m_find(a[1], l[1]);
        if (e ? !r_bulk(r, e->v, e->vl) : !r_is(r, "$-1\r\n")) WRONG("GET gave %.40s", r);
        break;
    case C_SET:
        if (r_is(r, "+OK\r\n")) {
            if (argc < 3) WRONG("SET without a value said OK");
            m_set(a[1], l[1], a[2], l[2]);
        } else if (argc == 3) WRONG("plain SET gave %.40s", r);
        else if (!r_is(r, "$-1\r\n") && r[0] != '-') WRONG("SET gave %.40s", r);
        break;
    case C_DEL: case C_EXISTS:
        if (argc < 2) { if (r[0] != '-') WRONG("arity"); break; }
        n = 0;
        for (i = 1; i < argc; i++)
            if ((e = m_find(a[i], l[i]))) {
                n++;
                if (fc->cmd == C_DEL) m_del(e);
            }
        if (!r_int(r, &v) || v != n) WRONG("counted %lld, got %.40s", n, r);
        break;
    case C_INCR: case C_DECR: {
        long long by = fc->cmd == C_INCR ? 1 : -1;
        int ok = 1;
        if (argc != 2) { if (r[0] != '-') WRONG("arity"); break; }
        e = m_find(a[1], l[1]);
        t = 0;
        if (e && ref_ll(e->v, e->vl, &t)) ok = 0;
        if ((by > 0 && t == LLONG_MAX) || (by < 0 && t == LLONG_MIN)) ok = 0;
        if (!ok) { if (r[0] != '-') WRONG("INCR of a non-integer or at the edge gave %.40s", r); break; }
        if (!r_int(r, &v) || v != t + by) WRONG("%lld + %lld gave %.40s", t, by, r);
        else {
            char buf[32];
            int k = snprintf(buf, sizeof buf, "%lld", v);
            m_set(a[1], l[1], buf, (size_t)k);
        }
        break;
    }
    case C_EXPIRE:
        if (argc != 3) { if (r[0] != '-') WRONG("arity"); break; }
        e = m_find(a[1], l[1]);
        if (ref_ll(a[2], l[2], &t)) { if (r[0] != '-') WRONG("EXPIRE of a non-integer"); break; }
        if (r[0] == '-') break; /* a time out of Redis' range */
        if (!r_int(r, &v) || v != (e != 0)) WRONG("EXPIRE on a key %s gave %.40s",
                                                  e ? "there" : "missing", r);
        if (e && t <= 0) m_del(e);
        break;
    case C_TTL: case C_PTTL:
        if (argc != 2) { if (r[0] != '-') WRONG("arity"); break; }
        e = m_find(a[1], l[1]);
        if (!r_int(r, &v) || (v == -2) != (e == 0) || v < -2) WRONG("TTL gave %.40s", r);
        break;
    case C_PING:
        if (argc == 1 ? !r_is(r, "+PONG\r\n") : argc == 2 ? !r_bulk(r, a[1], l[1]) : r[0] != '-')
            WRONG("PING gave %.40s", r);
        break;
    case C_ECHO:
        if (argc == 2 ? !r_bulk(r, a[1], l[1]) : r[0] != '-') WRONG("ECHO gave %.40s", r);
        break;
    case C_COMMAND:
        if (!r_is(r, "*0\r\n")) WRONG("COMMAND gave %.40s", r);
        break;
    case C_CONFIG:
        if (r[0] != '*' && r[0] != '-') WRONG("CONFIG gave %.40s", r);
        break;
    }
}

/* ---- building the pipeline -------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t n;
} rd_t;
static int rd_byte(rd_t *r, uint8_t *b) {
    if (!r->n) return 0;
    *b = *r->p++, r->n--;
    return 1;
}

static char namebuf[MAXCMD][24];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fcmd_t cmds[MAXCMD];
    fz_buf_t req = {0}, chunked = {0}, whole = {0};
    size_t ncmd = 0, got, i;
    static size_t starts[MAXCMD];
    rd_t rd;
    uint32_t seed;
    uint8_t op, fl, sel;
    if (size < 1) return 0;
    fz_setup();
    seed = 0x01000193u * (data[0] + 1u);
    rd.p = data + 1, rd.n = size - 1;
    while (ncmd < MAXCMD && rd_byte(&rd, &op) && rd_byte(&rd, &fl)) {
        fcmd_t *fc = &cmds[ncmd];
        const char *nm = names[op % NCMD];
        size_t nl = strlen(nm), k;
        int nargs = (fl >> 3) & 7, inl = (fl >> 2) & 1, j;
        fc->cmd = op % NCMD;
        fc->spoiled = 0;
        for (k = 0; k < nl; k++) { /* the name's case: upper, lower, mixed */
            char c = nm[k];
            if ((fl & 3) == 1 || ((fl & 3) == 2 && (k & 1))) c = (char)(c | 32);
            namebuf[ncmd][k] = c;
        }
        if (fl & 0x40) { /* spoil it: a byte from the input, then one more */
            uint8_t b1 = 0, b2 = 'x';
            rd_byte(&rd, &b1);
            rd_byte(&rd, &b2);
            namebuf[ncmd][nl++] = (char)(b1 % 4 == 0 ? 0 : b1 % 4 == 1 ? '\r' : b1 % 4 == 2 ? '\n' : b1);
            namebuf[ncmd][nl++] = (char)b2;
            fc->spoiled = 1;
        }
        fc->argv[0] = namebuf[ncmd];
        fc->argl[0] = nl;
        fc->argc = 1;
        for (j = 0; j < nargs && rd_byte(&rd, &sel); j++) {
            const char *av;
            size_t al;
            switch (sel & 3) {
            case 0: av = &"k0k1k2k3"[2 * ((sel >> 2) % 4)]; al = 2; break; /* a key */
            case 1: av = ints[(sel >> 2) % (sizeof ints / sizeof *ints)]; al = strlen(av); break;
            case 2: av = words[(sel >> 2) % (sizeof words / sizeof *words)]; al = strlen(av); break;
            default: /* raw bytes from the input, 0..15 of them */
                al = (sel >> 2) % 16;
                if (al > rd.n) al = rd.n;
                av = (const char *)rd.p;
                rd.p += al, rd.n -= al;
                break;
            }
            fc->argv[fc->argc] = av;
            fc->argl[fc->argc++] = al;
        }
        for (j = 0; j < fc->argc && inl; j++) { /* inline only if it reads back the same */
            for (k = 0; k < fc->argl[j]; k++)
                if (strchr(" \t\r\n", fc->argv[j][k]) && fc->argv[j][k]) inl = 0;
            if (!fc->argl[j] || (j == 0 && fc->argv[0][0] == '*') ||
                memchr(fc->argv[j], '\n', fc->argl[j]))
                inl = 0;
        }
        if (inl) {
            for (j = 0; j < fc->argc; j++) {
                if (j) fz_append(&req, " ", 1);
                fz_append(&req, fc->argv[j], fc->argl[j]);
            }
            fz_append(&req, "\r\n", 2);
        } else {
            char hdr[32];
            fz_append(&req, hdr, (size_t)snprintf(hdr, sizeof hdr, "*%d\r\n", fc->argc));
            for (j = 0; j < fc->argc; j++) {
                fz_append(&req, hdr, (size_t)snprintf(hdr, sizeof hdr, "$%zu\r\n", fc->argl[j]));
                fz_append(&req, fc->argv[j], fc->argl[j]);
                fz_append(&req, "\r\n", 2);
            }
        }
        ncmd++;
    }
    if (feed((const uint8_t *)req.p, req.n, seed, &chunked)) FZ_FAIL("the connection closed");
    feed((const uint8_t *)req.p, req.n, 0, &whole);
    resp_check(&chunked, &got, starts, MAXCMD);
    if (got != ncmd) FZ_FAIL("%zu replies for %zu commands", got, ncmd);
    fz_append(&chunked, "", 1); /* so a reply can be read as a C string */
    for (i = 0; i < ncmd; i++) check_reply(i, &cmds[i], chunked.p + starts[i]);
    m_clear();
    chunked.n--;
    if (!fz_same(&chunked, &whole)) FZ_FAIL("chunked replies differ from one-piece replies");
    free(req.p);
    free(chunked.p);
    free(whole.p);
    return 0;
}
